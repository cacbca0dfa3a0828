// Package asterisk plugs Asterisk into Veilig Contact: a FastAGI server that
// the dialplan calls with AGI(agi://veilig:4573/<script>). It is the one
// place where Asterisk's requests become telephony.Core calls.
//
// Scripts:
//
//	verify[?var=VEILIG_CODE&prompt=<sound>&maxdigits=10&timeout=10000]
//	    reads the digits Read() stored in the channel variable (var,
//	    default VEILIG_CODE) with GET VARIABLE and blanks it with SET
//	    VARIABLE, or, when it is empty and a prompt is given, collects them
//	    with GET DATA; reports the call (call id agi_uniqueid, caller
//	    agi_callerid) and answers with channel variables: VEILIG_MATCHED
//	    (1/0), VEILIG_CONTACT_REF, VEILIG_RESULT (a telephony.Result) and
//	    VEILIG_RETRY (1 when asking again can help).
//	answered, ended (alias hangup), queued, unavailable
//	    report that call state; the call id is agi_arg_1 when given, else
//	    agi_uniqueid. Run "ended" from a hangup handler or the h extension,
//	    so the attributes are destroyed when the call ends.
//
// FastAGI has no authentication: the server accepts connections only from
// the configured networks (loopback by default). Every read has a deadline
// and a length limit; a line that is not AGI ends the session cleanly.
package asterisk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// Provider is the provider name Asterisk calls are reported under; the call
// id is the channel's unique id.
const Provider = "asterisk"

// Channel variables the verify script sets.
const (
	VarMatched     = "VEILIG_MATCHED"
	VarContactRef  = "VEILIG_CONTACT_REF"
	VarResult      = "VEILIG_RESULT"
	VarRetry       = "VEILIG_RETRY"
	DefaultCodeVar = "VEILIG_CODE"
)

// Server is a FastAGI server.
type Server struct {
	Core   telephony.Core
	Logger *slog.Logger
	// Allow lists the networks Asterisk connects from; empty: loopback only.
	Allow []netip.Prefix
	// Timeout bounds each call to the core (telephony.DefaultTimeout when zero).
	Timeout time.Duration
	// ReadTimeout bounds the wait for each line from Asterisk (default 10s);
	// SessionTimeout a whole session (default 1m).
	ReadTimeout, SessionTimeout time.Duration
	// MaxSessions bounds concurrent sessions (default 128); more are closed
	// at once.
	MaxSessions int

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	closed   bool
	sessions sync.WaitGroup
}

// Serve accepts connections on ln until Close or Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = ln
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait, bounded.
			s.log().Error("FastAGI accept", "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.track(c) {
			_ = c.Close()
			continue
		}
		go s.serveConn(c)
	}
}

// track registers c, refusing it past MaxSessions or after Close.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.MaxSessions
	if limit <= 0 {
		limit = 128
	}
	if s.closed || len(s.conns) >= limit {
		s.log().Warn("FastAGI connection refused: too many sessions")
		return false
	}
	s.conns[c] = struct{}{}
	s.sessions.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.sessions.Done()
}

// Shutdown stops accepting, lets running sessions finish until ctx is done,
// then cuts the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		<-done
	}
	return err
}

func (s *Server) allowed(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	if len(s.Allow) == 0 {
		return a.IsLoopback()
	}
	for _, p := range s.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	defer func() {
		// A bug here must not take veilig down with it.
		if v := recover(); v != nil {
			s.log().Error("FastAGI session panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	if !s.allowed(c.RemoteAddr()) {
		s.log().Warn("FastAGI connection refused: not from an allowed network", "remote", c.RemoteAddr().String())
		return
	}
	s.session(context.Background(), c)
}

// conn is what a session needs of a connection (a net.Conn; tests and the
// fuzzer give it other things).
type conn interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// session runs one AGI session: the env block, then the script.
func (s *Server) session(ctx context.Context, c conn) {
	sessionTimeout := s.SessionTimeout
	if sessionTimeout <= 0 {
		sessionTimeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	a := &agi{c: c, r: newLineReader(c), deadline: deadline, readTimeout: s.ReadTimeout}
	if a.readTimeout <= 0 {
		a.readTimeout = 10 * time.Second
	}
	if err := a.setReadDeadline(0); err != nil {
		return
	}
	env, err := readEnv(a.r)
	if err != nil {
		s.log().Warn("closing FastAGI session: bad environment block", "err", err)
		return
	}
	script, query := scriptOf(env)
	q, err := url.ParseQuery(query)
	if err != nil {
		s.log().Warn("closing FastAGI session: malformed script parameters")
		return
	}
	switch script {
	case "verify":
		err = s.verify(ctx, a, env, q)
	case "answered", "ended", "hangup", "queued", "unavailable":
		st := veilig.ConnectionState(script)
		if script == "hangup" {
			st = veilig.ConnectionEnded
		}
		err = s.callState(ctx, env, st)
	default:
		s.log().Warn("closing FastAGI session: unknown script", "script", truncate(script, 32))
		return
	}
	if err != nil {
		s.log().Warn("FastAGI session ended early", "script", script, "err", err)
	}
}

// scriptOf returns the script name and its query: agi_network_script is
// what follows host:port/ in the AGI() URL.
func scriptOf(env Env) (name, query string) {
	script, ok := env["network_script"]
	if !ok {
		if u, err := url.Parse(env["request"]); err == nil && u.Scheme == "agi" {
			script = strings.TrimPrefix(u.Path, "/")
			if u.RawQuery != "" {
				script += "?" + u.RawQuery
			}
		}
	}
	name, query, _ = strings.Cut(script, "?")
	return strings.Trim(name, "/"), query
}

var (
	varName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	soundName = regexp.MustCompile(`^[A-Za-z0-9_/-]{1,128}$`)
)

func (s *Server) verify(ctx context.Context, a *agi, env Env, q url.Values) error {
	callID := env["uniqueid"]
	codeVar := DefaultCodeVar
	if v := q.Get("var"); v != "" {
		if !varName.MatchString(v) {
			return a.answer(telephony.Outcome{Result: telephony.ResultInvalid})
		}
		codeVar = v
	}
	code, set, err := a.getVariable(codeVar)
	if err != nil {
		return err
	}
	if set {
		// Blank the digits at once: nothing later in the dialplan, the CDR
		// or a channel dump should still hold them.
		if err := a.setVariable(codeVar, ""); err != nil {
			return err
		}
	}
	if code == "" && q.Get("prompt") != "" {
		if code, err = a.getData(q.Get("prompt"), q.Get("timeout"), q.Get("maxdigits")); err != nil {
			return err
		}
	}
	var o telephony.Outcome
	raw, hasCaller := env["callerid"]
	caller, cerr := telephony.CallerNumber(raw)
	if !hasCaller || cerr != nil {
		s.log().Warn("AGI call without a caller id; routed unverified without a lookup", "provider", Provider, "call", callID)
		o.Result = telephony.ResultInvalid
	} else {
		// The line: what the dialplan names (verify?line=+31201234567, as a
		// purpose's phone.number), else the number the trunk delivered.
		line := q.Get("line")
		if line == "" {
			line = env["dnid"]
		}
		o, err = telephony.Match(ctx, s.Core, veilig.IncomingCall{
			Code: code, CallerNumber: caller, Provider: Provider, CallID: callID, CalledNumber: telephony.CalledNumber(line),
		}, s.Timeout)
		if err != nil {
			s.log().Error("report call", "provider", Provider, "call", callID, "result", o.Result, "err", err)
		} else {
			s.log().Info("call reported", "provider", Provider, "call", callID, "result", o.Result, "contactRef", o.ContactRef)
		}
	}
	err = a.answer(o)
	if o.Matched() && (a.hungUp || errors.Is(err, errHangup)) {
		// The caller hung up while we matched: no hangup handler may run
		// for a channel that is already gone, so end the contact here.
		if _, serr := telephony.ReportState(ctx, s.Core, Provider, callID, veilig.ConnectionEnded, s.Timeout); serr != nil {
			s.log().Error("report call state", "provider", Provider, "call", callID, "state", veilig.ConnectionEnded, "err", serr)
		}
	}
	return err
}

func (s *Server) callState(ctx context.Context, env Env, st veilig.ConnectionState) error {
	callID := env["uniqueid"]
	if arg := env["arg_1"]; arg != "" {
		callID = arg
	}
	found, err := telephony.ReportState(ctx, s.Core, Provider, callID, st, s.Timeout)
	if err != nil {
		return fmt.Errorf("report %s: %w", st, err)
	}
	if found {
		s.log().Info("call state reported", "provider", Provider, "call", callID, "state", st)
	}
	return nil
}

// agi is one session's side of the protocol.
type agi struct {
	c           conn
	r           *lineReader
	deadline    time.Time // of the whole session
	readTimeout time.Duration
	hungUp      bool
}

// setReadDeadline allows extra beyond the read timeout (GET DATA waits for
// the caller), never past the session's deadline.
func (a *agi) setReadDeadline(extra time.Duration) error {
	d := time.Now().Add(a.readTimeout + extra)
	if d.After(a.deadline) {
		d = a.deadline
	}
	return a.c.SetReadDeadline(d)
}

// command sends one command line and reads its reply. A "HANGUP" line
// before the reply is noted; a "520-" usage text is skipped up to its
// "520 " end.
func (a *agi) command(extra time.Duration, cmd string) (Reply, error) {
	if err := a.c.SetWriteDeadline(a.deadline); err != nil {
		return Reply{}, err
	}
	if _, err := io.WriteString(a.c, cmd+"\n"); err != nil {
		return Reply{}, err
	}
	if err := a.setReadDeadline(extra); err != nil {
		return Reply{}, err
	}
	for range maxUsageLine {
		line, err := a.r.line()
		if err != nil {
			return Reply{}, err
		}
		if line == "HANGUP" {
			a.hungUp = true
			continue
		}
		if strings.HasPrefix(line, "520-") {
			continue
		}
		r, err := ParseReply(line)
		if err != nil {
			return Reply{}, err
		}
		if r.Code == 511 {
			return r, errHangup
		}
		return r, nil
	}
	return Reply{}, errBadReply
}

// getVariable returns a channel variable and whether it is set.
func (a *agi) getVariable(name string) (string, bool, error) {
	r, err := a.command(0, "GET VARIABLE "+name)
	if err != nil {
		return "", false, err
	}
	if r.Code != 200 {
		return "", false, fmt.Errorf("agi: GET VARIABLE answered %d", r.Code)
	}
	return r.Data, r.Result == "1", nil
}

// setVariable sets a channel variable; values are checked by the caller to
// hold no quotes or backslashes.
func (a *agi) setVariable(name, value string) error {
	r, err := a.command(0, "SET VARIABLE "+name+` "`+value+`"`)
	if err != nil {
		return err
	}
	if r.Code != 200 || r.Result != "1" {
		return fmt.Errorf("agi: SET VARIABLE answered %d", r.Code)
	}
	return nil
}

// getData plays prompt and collects up to maxDigits digits ('#' ends early).
func (a *agi) getData(prompt, timeoutMS, maxDigits string) (string, error) {
	if !soundName.MatchString(prompt) {
		return "", nil
	}
	ms, err := strconv.Atoi(timeoutMS)
	if err != nil || ms < 1000 || ms > 30000 {
		ms = 10000
	}
	n, err := strconv.Atoi(maxDigits)
	if err != nil || n < 1 || n > veilig.MaxCodeLength {
		n = veilig.DefaultCodeLength
	}
	// The prompt plays before the timeout starts: allow for it.
	r, err := a.command(time.Duration(ms)*time.Millisecond+20*time.Second,
		fmt.Sprintf("GET DATA %s %d %d", prompt, ms, n))
	if err != nil {
		return "", err
	}
	if r.Code != 200 || r.Result == "-1" {
		return "", nil
	}
	return r.Result, nil
}

// safeValue is what the answer variables may hold.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// answer sets the result variables; the contact reference only on a match.
func (a *agi) answer(o telephony.Outcome) error {
	matched, retry := "0", "0"
	if o.Matched() {
		matched = "1"
	}
	if o.Result.Retry() {
		retry = "1"
	}
	ref := ""
	if o.Matched() && safeValue.MatchString(o.ContactRef) {
		ref = o.ContactRef
	}
	for _, kv := range [][2]string{{VarResult, string(o.Result)}, {VarContactRef, ref}, {VarRetry, retry}, {VarMatched, matched}} {
		if err := a.setVariable(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
