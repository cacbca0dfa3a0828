package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/telephony"
)

// signedPost sends body to the telephony API with the given headers as is.
func (ta *testApp) rawTelephony(path string, body []byte, hdr map[string]string) (int, string) {
	ta.t.Helper()
	req, _ := http.NewRequest("POST", ta.internalURL()+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (ta *testApp) sign(path string, body []byte, at time.Time) map[string]string {
	return signWith(ta.secrets.telephonySecret, "POST", path, body, at)
}

func signWith(secret []byte, method, path string, body []byte, at time.Time) map[string]string {
	nonce := telephony.NewNonce()
	return map[string]string{
		telephony.TimestampHeader: strconv.FormatInt(at.Unix(), 10),
		telephony.NonceHeader:     nonce,
		telephony.SignatureHeader: telephony.Sign(secret, at, nonce, method, path, body),
	}
}

// call reports a call to the demo purpose's line (the demo serves two
// organisations: a call names the line it came in on).
func (ta *testApp) call(code, caller, callID string) (veilig.CallMatch, error) {
	return ta.tel.ReportCall(context.Background(), veilig.IncomingCall{Code: code, CallerNumber: caller, CalledNumber: demoPhoneNumber, Provider: "asterisk", CallID: callID})
}

func retryAfter(err error) time.Duration { return veilig.ErrorRetryAfter(err) }

// apiCode is the error code of an answer of the telephony API ("" for none).
func apiCode(err error) string { return veilig.ErrorCode(err) }

// TestRefusals runs every refusal against one server. Each gets a clear
// error and changes nothing.
func TestRefusals(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Telephony.MissPerCaller = 5
		c.Telephony.MissOverall = 50
	})
	ctx := context.Background()
	w := ta.newWallet()

	t.Run("unknown purpose", func(t *testing.T) {
		var e apiError
		if st := ta.do("POST", "/api/v1/sessions", map[string]string{"purpose": "nope"}, nil, &e); st != 404 || e.Error.Code != "not_found" {
			t.Fatalf("%d %+v", st, e)
		}
	})
	t.Run("disallowed origin", func(t *testing.T) {
		var e apiError
		if st := ta.do("POST", "/api/v1/sessions", map[string]string{"purpose": "demo"}, map[string]string{"Origin": "https://evil.example"}, &e); st != 403 || e.Error.Code != "forbidden" {
			t.Fatalf("%d %+v", st, e)
		}
		if st := ta.do("OPTIONS", "/api/v1/sessions", nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, &e); st != 403 {
			t.Fatalf("preflight from a disallowed origin: %d", st)
		}
		req, _ := http.NewRequest("OPTIONS", ta.publicURL+"/api/v1/sessions", nil)
		req.Header.Set("Origin", ta.publicURL)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := ta.client.Do(req)
		if err != nil || resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != ta.publicURL {
			t.Fatalf("preflight from the allowed origin: %v %v", resp, err)
		}
	})
	t.Run("malformed and oversized bodies", func(t *testing.T) {
		for body, want := range map[string]int{
			`{"purpose":`:                     400,
			`{"purpose":"demo","extra":1}`:    400,
			`{"purpose":42}`:                  400,
			`{"purpose":"demo"}{"purpose":1}`: 400,
			`[]`:                              400,
			`{"purpose":"` + strings.Repeat("a", 20000) + `"}`: 413,
		} {
			var e apiError
			if st := ta.do("POST", "/api/v1/sessions", body, nil, &e); st != want || e.Error.Message == "" {
				t.Errorf("body %.40q: %d %+v, want %d", body, st, e, want)
			}
		}
		req, _ := http.NewRequest("POST", ta.publicURL+"/api/v1/sessions", strings.NewReader(`purpose=demo`))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := ta.client.Do(req); err != nil || resp.StatusCode != 400 {
			t.Fatalf("form body: %v %v", resp, err)
		}
	})

	s := ta.startSession("demo")
	ta.disclose(w, s)

	t.Run("bad signature", func(t *testing.T) {
		body := []byte(`{"code":"` + s.Dial.Code + `","callerNumber":"+31611111111","provider":"asterisk","callId":"x1"}`)
		now := ta.clock.Now()
		cases := map[string]map[string]string{
			"unsigned":        nil,
			"wrong secret":    signWith([]byte("another secret of thirty-two bytes!"), "POST", "/telephony/v1/calls", body, now),
			"other path":      signWith(ta.secrets.telephonySecret, "POST", "/telephony/v1/call-states", body, now),
			"too old":         ta.sign("/telephony/v1/calls", body, now.Add(-10*time.Minute)),
			"from the future": ta.sign("/telephony/v1/calls", body, now.Add(10*time.Minute)),
			"garbage":         {telephony.TimestampHeader: "soon", telephony.NonceHeader: "x", telephony.SignatureHeader: "v1=zz"},
		}
		for name, hdr := range cases {
			if st, raw := ta.rawTelephony("/telephony/v1/calls", body, hdr); st != 401 || !strings.Contains(raw, "unauthorized") {
				t.Errorf("%s: %d %s", name, st, raw)
			}
		}
		// A body changed after signing.
		hdr := ta.sign("/telephony/v1/calls", body, now)
		tampered := bytes.Replace(body, []byte("+31611111111"), []byte("+31622222222"), 1)
		if st, _ := ta.rawTelephony("/telephony/v1/calls", tampered, hdr); st != 401 {
			t.Errorf("tampered body: %d", st)
		}
		ta.waitState(s, veilig.StateDisclosed) // nothing changed
	})
	t.Run("replayed signature", func(t *testing.T) {
		body := []byte(`{"code":"00000000","callerNumber":"+31633333333","provider":"asterisk","callId":"r1"}`)
		hdr := ta.sign("/telephony/v1/calls", body, ta.clock.Now())
		if st, raw := ta.rawTelephony("/telephony/v1/calls", body, hdr); st != 200 {
			t.Fatalf("first: %d %s", st, raw)
		}
		if st, raw := ta.rawTelephony("/telephony/v1/calls", body, hdr); st != 401 || !strings.Contains(raw, "replay") {
			t.Fatalf("replay: %d %s", st, raw)
		}
		// The same request signed anew in the same second, with its own
		// nonce, is a new request, not a replay.
		if st, raw := ta.rawTelephony("/telephony/v1/calls", body, ta.sign("/telephony/v1/calls", body, ta.clock.Now())); st != 200 {
			t.Fatalf("a fresh nonce: %d %s", st, raw)
		}
		// A replay with another nonce put in does not authenticate.
		hdr[telephony.NonceHeader] = telephony.NewNonce()
		if st, _ := ta.rawTelephony("/telephony/v1/calls", body, hdr); st != 401 {
			t.Fatalf("swapped nonce: %d", st)
		}
	})
	t.Run("malformed telephony bodies", func(t *testing.T) {
		for name, body := range map[string]string{
			"missing caller": `{"code":"12345674","provider":"asterisk","callId":"m1"}`,
			"bad caller":     `{"code":"12345674","callerNumber":"call me","provider":"asterisk","callId":"m2"}`,
			"unknown field":  `{"code":"12345674","callerNumber":"+31611111111","provider":"asterisk","callId":"m3","dtmf":"1"}`,
			"bad provider":   `{"code":"12345674","callerNumber":"+31611111111","provider":"Amazon Connect","callId":"m4"}`,
			"not json":       `code=12345674`,
		} {
			if st, raw := ta.rawTelephony("/telephony/v1/calls", []byte(body), ta.sign("/telephony/v1/calls", []byte(body), ta.clock.Now())); st != 400 || strings.Contains(raw, "12345674") {
				t.Errorf("%s: %d %s", name, st, raw)
			}
		}
		big := []byte(`{"code":"` + strings.Repeat("1", 20000) + `"}`)
		if st, _ := ta.rawTelephony("/telephony/v1/calls", big, ta.sign("/telephony/v1/calls", big, ta.clock.Now())); st != 413 {
			t.Errorf("oversized: %d", st)
		}
		ta.waitState(s, veilig.StateDisclosed)
	})
	t.Run("wrong code, then the right one, then reused", func(t *testing.T) {
		wrong := []byte(s.Dial.Code)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10 // a typo the check digit catches
		m, err := ta.call(string(wrong), "+31644444444", "w1")
		if err != nil || m.Matched || m.ContactRef != "" {
			t.Fatalf("wrong code: %+v %v", m, err)
		}
		m, err = ta.call(s.Dial.Code, "+31644444444", "w2")
		if err != nil || !m.Matched {
			t.Fatalf("right code: %+v %v", m, err)
		}
		// The platform retrying the same call (signed anew) gets the same match.
		if m2, err := ta.call(s.Dial.Code, "+31644444444", "w2"); err != nil || m2 != m {
			t.Fatalf("retry: %+v %v", m2, err)
		}
		// Another call with the used code: the same answer as any unknown code.
		if m, err := ta.call(s.Dial.Code, "+31655555555", "w3"); err != nil || m.Matched || m.ContactRef != "" {
			t.Fatalf("reused code: %+v %v", m, err)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		s2 := ta.startSession("demo")
		ta.disclose(w, s2)
		ta.clock.Advance(16 * time.Minute)
		if m, err := ta.call(s2.Dial.Code, "+31666666666", "e1"); err != nil || m.Matched {
			t.Fatalf("expired code: %+v %v", m, err)
		}
		if err := ta.service.RunMaintenance(ctx); err != nil {
			t.Fatal(err)
		}
		ta.waitState(s2, veilig.StateExpired)
	})
	t.Run("too many misses", func(t *testing.T) {
		s3 := ta.startSession("demo")
		ta.disclose(w, s3)
		// A mistyped check digit is not looked up and costs no attempt.
		for i := range 8 {
			if m, err := ta.call(wrongCode(s3.Dial.Code), "+31677777777", fmt.Sprint("typo", i)); err != nil || m.Matched {
				t.Fatalf("typo %d: %+v %v", i, m, err)
			}
		}
		for i := range 5 {
			if m, err := ta.call(wellFormedCode(1000+i), "+31677777777", fmt.Sprint("t", i)); err != nil || m.Matched {
				t.Fatalf("miss %d: %+v %v", i, m, err)
			}
		}
		// Limited: even the right code is not looked up for this caller,
		// and Retry-After says when the first miss leaves the 15 minutes.
		ta.clock.Advance(time.Minute)
		_, err := ta.call(s3.Dial.Code, "+31677777777", "t9")
		if apiCode(err) != veilig.ERATELIMIT {
			t.Fatalf("sixth attempt: %v", err)
		}
		if ra := retryAfter(err); ra != 14*time.Minute {
			t.Errorf("Retry-After %s, want 14m (when the first miss leaves the window)", ra)
		}
		// On the wire: 429 with the code, never the code typed.
		body := []byte(`{"code":"` + s3.Dial.Code + `","callerNumber":"+31677777777","calledNumber":"` + demoPhoneNumber + `","provider":"asterisk","callId":"t9-raw"}`)
		if st, raw := ta.rawTelephony("/telephony/v1/calls", body, ta.sign("/telephony/v1/calls", body, ta.clock.Now())); st != 429 || !strings.Contains(raw, `"rate_limited"`) || strings.Contains(raw, s3.Dial.Code) {
			t.Errorf("raw refused call: %d %s", st, raw)
		}
		ta.waitState(s3, veilig.StateDisclosed)
		// ...while another caller is not limited.
		if m, err := ta.call(s3.Dial.Code, "+31688888888", "t10"); err != nil || !m.Matched {
			t.Fatalf("other caller: %+v %v", m, err)
		}
	})
	t.Run("guessing alarm", func(t *testing.T) {
		// 50 misses a minute raise the alarm (this test's miss_overall);
		// every caller's first attempt is still looked up.
		for i := range 60 {
			if m, err := ta.call(wellFormedCode(2000+i), fmt.Sprintf("+3169%07d", i), fmt.Sprint("o", i)); err != nil || m.Matched {
				t.Fatalf("miss %d, each from another caller: %+v %v", i, m, err)
			}
		}
		ta.clock.Advance(2 * time.Second) // replicas recount at most once a second
		// A caller with a recent miss is refused while it lasts, until
		// the alarm is over at the latest (a minute, if guessing stops).
		_, err := ta.call(wellFormedCode(2100), "+31690000001", "o-again")
		if apiCode(err) != veilig.ERATELIMIT {
			t.Fatalf("second attempt during the alarm: %v", err)
		}
		if ra := retryAfter(err); ra != time.Minute {
			t.Errorf("Retry-After %s during the alarm, want 1m (when it is over if guessing stops)", ra)
		}
		// A fresh caller with a valid code matches.
		s4 := ta.startSession("demo")
		ta.disclose(w, s4)
		if m, err := ta.call(s4.Dial.Code, "+31612121212", "o-honest"); err != nil || !m.Matched {
			t.Fatalf("honest caller during the alarm: %+v %v", m, err)
		}
		ta.clock.Advance(2 * time.Minute) // the window passes
	})
	t.Run("call states", func(t *testing.T) {
		if err := ta.tel.ReportConnectionState(ctx, "asterisk", "nope", veilig.ConnectionEnded); apiCode(err) != veilig.ENOTFOUND {
			t.Fatalf("unknown call: %v", err)
		}
		if err := ta.tel.ReportConnectionState(ctx, "asterisk", "w2", "exploded"); apiCode(err) != veilig.EINVALID {
			t.Fatalf("bad state: %v", err)
		}
	})

	ta.addAgent("bob", "demo")
	ta.addAgent("carol", "demo")
	ta.addAgent("dave", "other-purpose")
	t.Run("agent without a session", func(t *testing.T) {
		var e apiError
		if st := ta.do("GET", "/api/v1/agent/contacts", nil, nil, &e); st != 401 || e.Error.Code != "unauthorized" {
			t.Fatalf("%d %+v", st, e)
		}
		if st := ta.do("POST", "/api/v1/agent/contacts/"+s.SessionID+"/open", nil, nil, &e); st != 401 {
			t.Fatalf("open: %d", st)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		var e apiError
		if st := ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "bob", "password": "not-the-password"}, nil, &e); st != 401 || e.Error.Message != "wrong username or password" {
			t.Fatalf("%d %+v", st, e)
		}
		if st := ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "nobody", "password": "not-the-password"}, nil, &e); st != 401 || e.Error.Message != "wrong username or password" {
			t.Fatalf("unknown user: %d %+v", st, e)
		}
	})
	t.Run("wrong passwords are rate limited", func(t *testing.T) {
		var st int
		for i := 0; i < 15; i++ {
			st = ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "carol", "password": fmt.Sprint("guess-", i)}, nil, nil)
			if st == 429 {
				break
			}
		}
		if st != 429 {
			t.Fatalf("no limit after 15 wrong passwords: %d", st)
		}
	})
	t.Run("tampered or expired session cookie", func(t *testing.T) {
		bob := ta.agentClient("bob")
		req, _ := http.NewRequest("GET", ta.publicURL+"/api/v1/agent/me", nil)
		for _, c := range bob.client.Jar.Cookies(req.URL) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value[:len(c.Value)-2] + "xx"})
		}
		resp, err := (&http.Client{Transport: ta.client.Transport}).Do(req)
		if err != nil || resp.StatusCode != 401 {
			t.Fatalf("tampered cookie: %v %v", resp, err)
		}
		if st := bob.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 200 {
			t.Fatalf("good cookie: %d", st)
		}
		ta.clock.Advance(31 * time.Minute) // idle timeout
		if st := bob.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
			t.Fatalf("idle session: %d", st)
		}
	})

	// A fresh matched contact for the agent refusals.
	s4 := ta.startSession("demo")
	ta.disclose(w, s4)
	if m, err := ta.call(s4.Dial.Code, "+31699999999", "a1"); err != nil || !m.Matched {
		t.Fatalf("match: %+v %v", m, err)
	}
	t.Run("no CSRF token", func(t *testing.T) {
		bob := ta.agentClient("bob")
		var e apiError
		if st := bob.do("POST", "/api/v1/agent/contacts/"+s4.SessionID+"/open", nil, map[string]string{"Origin": ta.publicURL}, &e); st != 403 || e.Error.Code != "forbidden" {
			t.Fatalf("%d %+v", st, e)
		}
		if st := bob.do("POST", "/api/v1/agent/contacts/"+s4.SessionID+"/open", nil, map[string]string{"X-CSRF-Token": bob.csrf, "Origin": "https://evil.example"}, &e); st != 403 {
			t.Fatalf("cross-origin: %d", st)
		}
		if audit, _ := ta.store.Audit(ctx, veilig.AuditFilter{SessionID: s4.SessionID}); len(audit) != 0 {
			t.Fatalf("refused requests wrote audit entries: %+v", audit)
		}
	})
	t.Run("purpose not served", func(t *testing.T) {
		dave := ta.agentClient("dave")
		var list struct{ Contacts []veilig.Contact }
		dave.do("GET", "/api/v1/agent/contacts", nil, nil, &list)
		if len(list.Contacts) != 0 {
			t.Fatalf("dave sees contacts of another purpose: %+v", list)
		}
		var e apiError
		if st := dave.post("/api/v1/agent/contacts/"+s4.SessionID+"/open", &e); st != 403 {
			t.Fatalf("%d %+v", st, e)
		}
	})
	t.Run("second agent never sees the attributes", func(t *testing.T) {
		bob := ta.agentClient("bob")
		if st := bob.post("/api/v1/agent/contacts/"+s4.SessionID+"/open", nil); st != 200 {
			t.Fatalf("bob opens: %d", st)
		}
		ta.clock.Advance(time.Minute)
		// carol is rate-limited on passwords above; a fresh agent then.
		ta.addAgent("erin", "demo")
		erin := ta.agentClient("erin")
		var e apiError
		if st := erin.post("/api/v1/agent/contacts/"+s4.SessionID+"/open", &e); st != 409 || strings.Contains(fmt.Sprint(e), "999999990") {
			t.Fatalf("erin opens bob's contact: %d %+v", st, e)
		}
		if st := erin.post("/api/v1/agent/contacts/"+s4.SessionID+"/end", &e); st != 409 {
			t.Fatalf("erin ends bob's contact: %d", st)
		}
		var list struct{ Contacts []veilig.Contact }
		erin.do("GET", "/api/v1/agent/contacts", nil, nil, &list)
		for _, c := range list.Contacts {
			if c.ID == s4.SessionID {
				t.Fatal("bob's contact is in erin's list")
			}
		}
		// The platform's hang-up ends it and destroys the attributes.
		if err := ta.tel.ReportConnectionState(ctx, "asterisk", "a1", veilig.ConnectionEnded); err != nil {
			t.Fatal(err)
		}
		st, err := ta.store.Session(ctx, s4.SessionID)
		if err != nil || st.State != veilig.StateEnded || !st.SealedDisclosure.IsZero() || !st.SealedAddress.IsZero() {
			t.Fatalf("after hang-up: %+v %v", st, err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s5 := ta.startSession("demo")
		if st := ta.do("DELETE", "/api/v1/sessions/"+s5.SessionID, nil, map[string]string{"Authorization": "Bearer wrong"}, nil); st != 404 {
			t.Fatalf("cancel with a wrong token: %d", st)
		}
		if st := ta.do("DELETE", "/api/v1/sessions/"+s5.SessionID, nil, map[string]string{"Authorization": "Bearer " + s5.StatusToken}, nil); st != 204 {
			t.Fatalf("cancel: %d", st)
		}
		ta.waitState(s5, veilig.StateCancelled)
		if st := ta.do("DELETE", "/api/v1/sessions/"+s5.SessionID, nil, map[string]string{"Authorization": "Bearer " + s5.StatusToken}, nil); st != 409 {
			t.Fatalf("cancel twice: %d", st)
		}
	})
	t.Run("unknown endpoints answer JSON", func(t *testing.T) {
		var e apiError
		if st := ta.do("GET", "/api/v1/nothing", nil, nil, &e); st != 404 || e.Error.Code != "not_found" {
			t.Fatalf("%d %+v", st, e)
		}
	})
}
