package asterisk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony/asterisk/agitest"
)

// recorder is the core as these tests need it: it records and answers as
// told. The whole path against the real service is tested in cmd/veilig.
type recorder struct {
	mu     sync.Mutex
	calls  []veilig.IncomingCall
	states []string // "callID state"
	answer func(veilig.IncomingCall) (veilig.CallMatch, error)
}

func (r *recorder) ReportCall(ctx context.Context, c veilig.IncomingCall) (veilig.CallMatch, error) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if r.answer != nil {
		return r.answer(c)
	}
	if c.Code == "12345674" {
		return veilig.CallMatch{Matched: true, ContactRef: "ref42", PurposeID: "demo"}, nil
	}
	return veilig.CallMatch{}, nil
}

func (r *recorder) ReportConnectionState(ctx context.Context, provider, callID string, st veilig.ConnectionState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, callID+" "+string(st))
	return nil
}

func (r *recorder) snapshot() ([]veilig.IncomingCall, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]veilig.IncomingCall(nil), r.calls...), append([]string(nil), r.states...)
}

func serve(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestVerifyWithRead(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core})

	c := &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET VARIABLE VEILIG_CODE",
		`SET VARIABLE VEILIG_CODE ""`,
		`SET VARIABLE VEILIG_RESULT "matched"`,
		`SET VARIABLE VEILIG_CONTACT_REF "ref42"`,
		`SET VARIABLE VEILIG_RETRY "0"`,
		`SET VARIABLE VEILIG_MATCHED "1"`,
	}
	if strings.Join(c.Commands, "\n") != strings.Join(want, "\n") {
		t.Fatalf("commands:\n%s\nwant:\n%s", strings.Join(c.Commands, "\n"), strings.Join(want, "\n"))
	}
	if c.Vars["VEILIG_CODE"] != "" {
		t.Fatal("the digits were left in the channel variable")
	}
	calls, _ := core.snapshot()
	if len(calls) != 1 || calls[0] != (veilig.IncomingCall{Code: "12345674", CallerNumber: "+31612345678", Provider: Provider, CallID: "1700000000.42", CalledNumber: "0850000000"}) {
		t.Fatalf("reported %+v", calls)
	}

	// A miss: retry allowed, no reference.
	c = &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "11111116"}}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if c.Writes["VEILIG_MATCHED"] != "0" || c.Writes["VEILIG_RETRY"] != "1" || c.Writes["VEILIG_RESULT"] != "no_match" || c.Writes["VEILIG_CONTACT_REF"] != "" {
		t.Fatalf("miss: %v", c.Writes)
	}
	// A custom variable name, and a withheld number.
	c = &agitest.Call{Script: "verify?var=CODE", Vars: map[string]string{"CODE": "12345674"}, CallerID: "unknown"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	calls, _ = core.snapshot()
	if c.Commands[0] != "GET VARIABLE CODE" || calls[len(calls)-1].CallerNumber != veilig.AnonymousCaller || c.Writes["VEILIG_MATCHED"] != "1" {
		t.Fatalf("custom variable: %v %+v", c.Commands, calls[len(calls)-1])
	}
}

func TestVerifyWithGetData(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core})
	c := &agitest.Call{Script: "verify?prompt=veilig/enter-code&maxdigits=8&timeout=8000", Digits: "12345674"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if len(c.Commands) < 2 || c.Commands[0] != "GET VARIABLE VEILIG_CODE" || c.Commands[1] != "GET DATA veilig/enter-code 8000 8" || c.Writes["VEILIG_MATCHED"] != "1" {
		t.Fatalf("commands %v, writes %v", c.Commands, c.Writes)
	}
	// Nothing typed: no lookup, no miss counted.
	c = &agitest.Call{Script: "verify?prompt=veilig/enter-code"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	calls, _ := core.snapshot()
	if c.Writes["VEILIG_RESULT"] != "no_code" || c.Writes["VEILIG_RETRY"] != "1" || len(calls) != 1 {
		t.Fatalf("no digits: %v %v", c.Writes, calls)
	}
	// A prompt that is not a sound name is not played.
	c = &agitest.Call{Script: "verify?prompt=a%20b"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range c.Commands {
		if strings.HasPrefix(cmd, "GET DATA") {
			t.Fatalf("played %q", cmd)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core})

	// No caller id line at all: unverified without a lookup.
	c := &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}, CallerID: "-"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if c.Writes["VEILIG_RESULT"] != "invalid" || c.Writes["VEILIG_MATCHED"] != "0" || c.Writes["VEILIG_CODE"] != "" {
		t.Fatalf("no caller: %v", c.Writes)
	}
	// A bad variable name.
	c = &agitest.Call{Script: "verify?var=A%20B"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if c.Writes["VEILIG_RESULT"] != "invalid" {
		t.Fatalf("bad var: %v", c.Writes)
	}
	// An unknown script: closed without a command.
	c = &agitest.Call{Script: "format-disk"}
	if err := c.Run(addr); err != nil || len(c.Commands) != 0 {
		t.Fatalf("unknown script: %v %v", c.Commands, err)
	}
	// A caller refused by the miss limits: unverified, no retry.
	core.answer = func(veilig.IncomingCall) (veilig.CallMatch, error) {
		return veilig.CallMatch{}, veilig.Errorf(veilig.ERATELIMIT, "slow down")
	}
	c = &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if c.Writes["VEILIG_RESULT"] != "rate_limited" || c.Writes["VEILIG_RETRY"] != "0" || c.Writes["VEILIG_MATCHED"] != "0" {
		t.Fatalf("rate limited: %v", c.Writes)
	}
	// veilig failing: unverified, no retry.
	core.answer = func(veilig.IncomingCall) (veilig.CallMatch, error) {
		return veilig.CallMatch{}, errors.New("database down")
	}
	c = &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if c.Writes["VEILIG_RESULT"] != "unavailable" || c.Writes["VEILIG_RETRY"] != "0" || c.Writes["VEILIG_MATCHED"] != "0" {
		t.Fatalf("down: %v", c.Writes)
	}
	calls, _ := core.snapshot()
	if len(calls) != 2 {
		t.Fatalf("lookups %+v", calls)
	}
}

func TestHangup(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core})
	// The caller hangs up while the result is written: the match is ended
	// here, since the channel is gone.
	c := &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}, HangupAt: 3}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	_, states := core.snapshot()
	if len(states) != 1 || states[0] != "1700000000.42 ended" {
		t.Fatalf("states %v", states)
	}
	// The hangup handler / h extension.
	for _, tc := range []struct {
		call agitest.Call
		want string
	}{
		{agitest.Call{Script: "ended"}, "1700000000.42 ended"},
		{agitest.Call{Script: "hangup", UniqueID: "1700000000.43"}, "1700000000.43 ended"},
		{agitest.Call{Script: "answered", Args: []string{"1700000000.44"}}, "1700000000.44 answered"},
		{agitest.Call{Script: "unavailable"}, "1700000000.42 unavailable"},
	} {
		if err := tc.call.Run(addr); err != nil || len(tc.call.Commands) != 0 {
			t.Fatalf("%s: %v %v", tc.call.Script, tc.call.Commands, err)
		}
		_, states := core.snapshot()
		if states[len(states)-1] != tc.want {
			t.Errorf("%s: %v, want %s", tc.call.Script, states, tc.want)
		}
	}
}

// raw sends data as Asterisk and returns what the server wrote before it
// closed the connection, and how long that took.
func raw(t *testing.T, addr, data string) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	io.WriteString(conn, data)
	out, err := io.ReadAll(conn)
	// Closing with unread input makes the kernel send a reset: still closed.
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the server did not close the connection: %v", err)
	}
	return string(out), time.Since(start)
}

func TestGarbage(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core, ReadTimeout: 300 * time.Millisecond})
	env := "agi_network: yes\nagi_network_script: verify\nagi_uniqueid: 1.2\nagi_callerid: 0612345678\n"
	for name, data := range map[string]string{
		"http":             "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"not agi_":         "agi_network: yes\nfoo: bar\n\n",
		"no colon":         "agi_network yes\n\n",
		"binary":           "agi_network: \x00\x01\n\n",
		"long line":        "agi_network: " + strings.Repeat("y", 2*maxLine) + "\n\n",
		"endless env":      strings.Repeat("agi_arg_1: x\n", maxEnvLines+1),
		"silence":          "",
		"half a line":      "agi_netw",
		"env, then stalls": env + "\n",
		"garbage reply":    env + "\n" + "hello\n",
		"bad code":         env + "\n" + "2x0 result=1\n",
		"endless usage":    env + "\n" + strings.Repeat("520-usage\n", maxUsageLine+1),
		"huge reply":       env + "\n" + "200 result=1 (" + strings.Repeat("9", 2*maxLine) + ")\n",
	} {
		out, took := raw(t, addr, data)
		// Nothing but the one command the verify script begins with.
		if out != "" && out != "GET VARIABLE VEILIG_CODE\n" {
			t.Errorf("%s: the server wrote %q", name, out)
		}
		if took > 5*time.Second {
			t.Errorf("%s: closed after %v", name, took)
		}
	}
	if calls, states := core.snapshot(); len(calls) != 0 || len(states) != 0 {
		t.Fatalf("garbage reached the core: %v %v", calls, states)
	}
	// The server still works.
	c := &agitest.Call{Script: "verify", Vars: map[string]string{"VEILIG_CODE": "12345674"}}
	if err := c.Run(addr); err != nil || c.Writes["VEILIG_MATCHED"] != "1" {
		t.Fatalf("after the garbage: %v %v", c.Writes, err)
	}
}

func TestAllowAndLimits(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	c := &agitest.Call{Script: "ended"}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	if _, states := core.snapshot(); len(states) != 0 {
		t.Fatalf("a connection from outside fastagi_allow was served: %v", states)
	}

	// MaxSessions: a second connection while one is open is closed at once.
	srv := &Server{Core: core, MaxSessions: 1, ReadTimeout: 5 * time.Second}
	addr = serve(t, srv)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, func() bool { srv.mu.Lock(); defer srv.mu.Unlock(); return len(srv.conns) == 1 })
	out, _ := raw(t, addr, "agi_network: yes\nagi_network_script: ended\n\n")
	if out != "" {
		t.Fatalf("over the limit: %q", out)
	}
	if _, states := core.snapshot(); len(states) != 0 {
		t.Fatalf("served over the limit: %v", states)
	}

	// Shutdown cuts a session that does not finish.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	srv.Shutdown(ctx)
	first.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(first); err != nil {
		t.Fatalf("shutdown left the session open: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

func TestParseReply(t *testing.T) {
	for line, want := range map[string]Reply{
		"200 result=1":                                {200, "1", ""},
		"200 result=1 (12345674)":                     {200, "1", "12345674"},
		"200 result=0":                                {200, "0", ""},
		"200 result= (timeout)":                       {200, "", "timeout"},
		"200 result=123 (timeout)":                    {200, "123", "timeout"},
		"200 result=-1":                               {200, "-1", ""},
		"200 result=0 endpos=8000":                    {200, "0", ""},
		"200 result=1 (a (b) c)":                      {200, "1", "a (b) c"},
		"510 Invalid or unknown command":              {510, "", "Invalid or unknown command"},
		"511 Command Not Permitted on a dead channel": {511, "", "Command Not Permitted on a dead channel"},
		"520 End of proper usage.":                    {520, "", "End of proper usage."},
	} {
		got, err := ParseReply(line)
		if err != nil || got != want {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	}
	for _, line := range []string{"", "20", "abc result=1", "200result=1", "200 res=1", "200 result=1 (open", "099 x", "600 x", "+20 result=1", "-20 x"} {
		if _, err := ParseReply(line); err == nil {
			t.Errorf("ParseReply(%q) accepted", line)
		}
	}
}

// fakeConn is a connection whose far side is fixed bytes: what the fuzzer
// sends as Asterisk.
type fakeConn struct {
	io.Reader
	out bytes.Buffer
}

func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzSession: whatever Asterisk (or anyone) sends, a session ends without
// a panic, sends at most a bounded number of commands, and never sends a
// variable value that is not plain.
func FuzzSession(f *testing.F) {
	env := "agi_network: yes\nagi_network_script: verify\nagi_uniqueid: 1700000000.42\nagi_callerid: +31612345678\n\n"
	f.Add([]byte(env + "200 result=1 (12345674)\n200 result=1\n200 result=1\n200 result=1\n200 result=1\n200 result=1\n"))
	f.Add([]byte(env + "HANGUP\n511 dead\n"))
	f.Add([]byte(env + "520-usage\n520 end\n"))
	f.Add([]byte("agi_network: yes\nagi_network_script: verify?prompt=x&maxdigits=99\n\n200 result=0\n200 result=1234 (timeout)\n"))
	f.Add([]byte("agi_network: yes\nagi_network_script: ended\nagi_arg_1: 1.2\n\n"))
	f.Add([]byte("\x00\xff\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		srv := &Server{Core: &recorder{}}
		c := &fakeConn{Reader: bytes.NewReader(data)}
		srv.session(context.Background(), c)
		cmds := strings.Split(strings.TrimSuffix(c.out.String(), "\n"), "\n")
		if len(cmds) > 10 {
			t.Fatalf("%d commands", len(cmds))
		}
		for _, cmd := range cmds {
			if v, ok := strings.CutPrefix(cmd, "SET VARIABLE "); ok {
				_, val, _ := strings.Cut(v, " ")
				if !safeValue.MatchString(strings.Trim(val, `"`)) || strings.Count(val, `"`) != 2 {
					t.Fatalf("sent %q", cmd)
				}
			}
		}
	})
}

// FuzzParseReply: never panics; what it accepts has a status code.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"200 result=1 (x)", "510 Invalid", "200 result= (timeout)", "", "200 result=1 (", "9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReply(s)
		if err == nil && (r.Code < 100 || r.Code > 599) {
			t.Fatalf("accepted %q as %+v", s, r)
		}
	})
}

// TestVerifyReportsTheLine: the line the dialplan names (verify?line=...)
// is reported as the number dialled, before the trunk's DNID.
func TestVerifyReportsTheLine(t *testing.T) {
	core := &recorder{}
	addr := serve(t, &Server{Core: core})
	c := &agitest.Call{Script: "verify?line=%2B31201234567", Vars: map[string]string{"VEILIG_CODE": "12345674"}}
	if err := c.Run(addr); err != nil {
		t.Fatal(err)
	}
	calls, _ := core.snapshot()
	if len(calls) != 1 || calls[0].CalledNumber != "+31201234567" {
		t.Fatalf("reported %+v", calls)
	}
}
