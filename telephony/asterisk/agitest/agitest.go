// Package agitest plays Asterisk's side of FastAGI for tests: it connects
// to a FastAGI server, sends the agi_* block the way Asterisk's res_agi
// does for AGI(agi://host:port/<script>,<args>), and answers every command
// the server sends the way Asterisk answers it. Asterisk is not packaged in
// Debian bookworm, so this is what the tests talk to instead.
package agitest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// Call is one AGI() call from the dialplan.
type Call struct {
	Script   string            // what follows host:port/ in the AGI() URL, e.g. "verify" or "ended"
	Args     []string          // agi_arg_1, ...
	Vars     map[string]string // the channel's variables, read and written by the server
	Digits   string            // what the caller types when the server sends GET DATA
	CallerID string            // agi_callerid; "-" leaves the line out; default +31612345678
	UniqueID string            // agi_uniqueid; default 1700000000.42
	// HangupAt makes the caller hang up before the reply to the n-th
	// command (1-based): Asterisk then writes "HANGUP" and answers 511.
	HangupAt int

	// Commands are the command lines the server sent, in order; Writes the
	// variables it set.
	Commands []string
	Writes   map[string]string
}

// Run plays the call against the server at addr until the server closes
// the connection (as the dialplan would then go on).
func (c *Call) Run(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	c.Writes = map[string]string{}
	if _, err := io.WriteString(conn, c.env()); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	for n := 1; n <= 100; n++ {
		line, err := r.ReadString('\n')
		if (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && line == "" {
			// The server hung up (with unread input: a reset).
			return nil
		} else if err != nil {
			return fmt.Errorf("agitest: read command: %w", err)
		}
		cmd := strings.TrimSuffix(line, "\n")
		c.Commands = append(c.Commands, cmd)
		dead := c.HangupAt > 0 && n >= c.HangupAt
		if n == c.HangupAt {
			if _, err := io.WriteString(conn, "HANGUP\n"); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(conn, c.reply(cmd, dead)+"\n"); err != nil {
			return err
		}
	}
	return errors.New("agitest: the server sent more than 100 commands")
}

// env is the block res_agi sends for a FastAGI call.
func (c *Call) env() string {
	uid := c.UniqueID
	if uid == "" {
		uid = "1700000000.42"
	}
	var b strings.Builder
	b.WriteString("agi_network: yes\n")
	fmt.Fprintf(&b, "agi_network_script: %s\n", c.Script)
	fmt.Fprintf(&b, "agi_request: agi://127.0.0.1:4573/%s\n", c.Script)
	b.WriteString("agi_channel: PJSIP/trunk-00000007\nagi_language: nl\nagi_type: PJSIP\n")
	fmt.Fprintf(&b, "agi_uniqueid: %s\nagi_version: 20.5.0\n", uid)
	switch c.CallerID {
	case "-":
	case "":
		b.WriteString("agi_callerid: +31612345678\n")
	default:
		fmt.Fprintf(&b, "agi_callerid: %s\n", c.CallerID)
	}
	b.WriteString("agi_calleridname: unknown\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n")
	b.WriteString("agi_dnid: 0850000000\nagi_rdnis: unknown\nagi_context: veilig-inbound\nagi_extension: 0850000000\n")
	b.WriteString("agi_priority: 4\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140234\n")
	for i, a := range c.Args {
		fmt.Fprintf(&b, "agi_arg_%d: %s\n", i+1, a)
	}
	b.WriteString("\n")
	return b.String()
}

// reply answers one command as Asterisk does.
func (c *Call) reply(cmd string, dead bool) string {
	if dead {
		return "511 Command Not Permitted on a dead channel or intercept routine"
	}
	f := strings.Fields(cmd)
	switch {
	case len(f) == 3 && f[0] == "GET" && f[1] == "VARIABLE":
		if v, ok := c.Vars[f[2]]; ok {
			return "200 result=1 (" + v + ")"
		}
		return "200 result=0"
	case len(f) >= 3 && f[0] == "SET" && f[1] == "VARIABLE":
		name, value, _ := strings.Cut(strings.TrimPrefix(cmd, "SET VARIABLE "), " ")
		value = strings.TrimSuffix(strings.TrimPrefix(value, `"`), `"`)
		c.Vars[name] = value
		c.Writes[name] = value
		return "200 result=1"
	case len(f) == 5 && f[0] == "GET" && f[1] == "DATA":
		if c.Digits == "" {
			return "200 result= (timeout)"
		}
		return "200 result=" + c.Digits
	case len(f) >= 2 && f[0] == "VERBOSE":
		return "200 result=1"
	}
	return "510 Invalid or unknown command"
}
