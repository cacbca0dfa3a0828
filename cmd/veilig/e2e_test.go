package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

type startedSession struct {
	SessionPtr      json.RawMessage `json:"sessionPtr"`
	FrontendRequest json.RawMessage `json:"frontendRequest"`
	SessionID       string          `json:"sessionId"`
	StatusToken     string          `json:"statusToken"`
	Token           *string         `json:"token"` // must never be sent
	Dial            struct{ Number, Code, URI string }
	Channel         string `json:"channel"`
	Means           struct {
		Type   string `json:"type"`
		Client struct {
			SessionPtr      json.RawMessage `json:"sessionPtr"`
			FrontendRequest json.RawMessage `json:"frontendRequest"`
		} `json:"client"`
	} `json:"means"`
	Next struct {
		Type  string `json:"type"`
		Phone *struct{ Number, Code, URI string }
	} `json:"next"`
}

// newWallet makes a real irmago client and has the app issue the demo
// credentials to it through a real issuance session.
func (ta *testApp) newWallet(opts ...wallet.Option) *wallet.Wallet {
	ta.t.Helper()
	schemes, _, err := demoscheme.Extract(filepath.Join(ta.t.TempDir(), "assets"))
	if err != nil {
		ta.t.Fatal(err)
	}
	w, err := wallet.New(filepath.Join(ta.t.TempDir(), "wallet"), schemes, opts...)
	if err != nil {
		ta.t.Fatal(err)
	}
	ta.t.Cleanup(func() { w.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ptr, err := ta.embedded.StartIssuance(ctx, demoCredentials())
	if err != nil {
		ta.t.Fatal(err)
	}
	if err := w.Issue(ctx, ptr); err != nil {
		ta.t.Fatalf("issue demo credentials: %v", err)
	}
	return w
}

func (ta *testApp) startSession(purpose string) startedSession {
	ta.t.Helper()
	var s startedSession
	if st := ta.do("POST", "/api/v1/sessions", map[string]string{"purpose": purpose}, map[string]string{"Origin": ta.publicURL}, &s); st != 200 {
		ta.t.Fatalf("start session: %d", st)
	}
	return s
}

// disclose has the wallet disclose s, returning the clientReturnUrl the app would open.
func (ta *testApp) disclose(w *wallet.Wallet, s startedSession) string {
	ta.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ret, err := w.Disclose(ctx, s.SessionPtr)
	if err != nil {
		ta.t.Fatalf("disclose: %v", err)
	}
	ta.waitState(s, veilig.StateDisclosed)
	return ret
}

func (ta *testApp) waitState(s startedSession, want veilig.SessionState) {
	ta.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var v struct{ State veilig.SessionState }
		ta.do("GET", "/api/v1/sessions/"+s.SessionID, nil, map[string]string{"Authorization": "Bearer " + s.StatusToken}, &v)
		if v.State == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ta.t.Fatalf("session never reached %s", want)
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	ID   string
	Type string `json:"type"`
}

// stream opens the session's status stream and delivers its events.
func (ta *testApp) stream(s startedSession, lastEventID string) (<-chan sseEvent, func()) {
	ta.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ta.publicURL+"/api/v1/sessions/"+s.SessionID+"/events?token="+s.StatusToken, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	client := &http.Client{Transport: ta.client.Transport}
	resp, err := client.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		ta.t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev)
			case line == "" && ev.Type != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out, cancel
}

func expectEvents(t *testing.T, ch <-chan sseEvent, want ...string) []sseEvent {
	t.Helper()
	var got []sseEvent
	timeout := time.After(15 * time.Second)
	for _, w := range want {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed; got %v, want %v", got, want)
			}
			got = append(got, e)
			if e.Type != w {
				t.Fatalf("events %v, want %v", got, want)
			}
		case <-timeout:
			t.Fatalf("timed out; got %v, want %v", got, want)
		}
	}
	return got
}

// TestVerifiedPhoneContact is the whole phone flow on the real stack: the
// real irmago client is issued demo credentials and discloses them in a
// session started through our API; the status stream reports every state; a
// signed telephony request with the code matches the call; the agent API
// returns exactly the disclosed values; ending the contact destroys them.
func TestVerifiedPhoneContact(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := db(t)
			ta := startApp(t, dbURL, nil)
			w := ta.newWallet()

			s := ta.startSession("demo")
			if s.Token != nil {
				t.Fatal("the start answer leaks the Yivi requestor token")
			}
			var ptr struct{ U, Irmaqr string }
			json.Unmarshal(s.SessionPtr, &ptr)
			if !strings.HasPrefix(ptr.U, ta.publicURL+"/irma/session/") || ptr.Irmaqr != "disclosing" {
				t.Fatalf("sessionPtr %s", s.SessionPtr)
			}
			var fr struct {
				Authorization      string `json:"authorization"`
				MinProtocolVersion string `json:"minProtocolVersion"`
			}
			json.Unmarshal(s.FrontendRequest, &fr)
			if fr.Authorization == "" || fr.MinProtocolVersion == "" {
				t.Fatalf("frontendRequest %s", s.FrontendRequest)
			}
			if len(s.Dial.Code) != veilig.DefaultCodeLength || !veilig.CodeWellFormed(s.Dial.Code) || s.Dial.Number != demoPhoneNumber {
				t.Fatalf("dial %+v", s.Dial)
			}
			// The same, by channel and means.
			if s.Channel != "phone" || s.Next.Type != "phone" || s.Next.Phone == nil || *s.Next.Phone != s.Dial {
				t.Fatalf("channel %q, next %+v, want the phone and the dial details", s.Channel, s.Next)
			}
			if s.Means.Type != "yivi" || !bytes.Equal(s.Means.Client.SessionPtr, s.SessionPtr) || !bytes.Equal(s.Means.Client.FrontendRequest, s.FrontendRequest) {
				t.Fatalf("means %+v, want yivi with the session pointer and frontend request", s.Means)
			}

			events, stop := ta.stream(s, "")
			defer stop()
			expectEvents(t, events, "created")

			ret := ta.disclose(w, s)
			if want := "tel:" + demoPhoneNumber + "," + s.Dial.Code; ret != want {
				t.Fatalf("the Yivi app would open %q, want %q", ret, want)
			}
			expectEvents(t, events, "disclosing", "disclosed")

			ctx := context.Background()
			m, err := ta.tel.ReportCall(ctx, veilig.IncomingCall{Code: s.Dial.Code, CallerNumber: "+31687654321", CalledNumber: s.Dial.Number, Provider: "asterisk", CallID: "1700000000.1"})
			if err != nil || !m.Matched || m.ContactRef != s.SessionID || m.PurposeID != "demo" {
				t.Fatalf("report call: %+v %v", m, err)
			}
			expectEvents(t, events, "matched")

			ta.addAgent("alice", "demo")
			alice := ta.agentClient("alice")
			var list struct{ Contacts []phoneContact }
			if st := alice.do("GET", "/api/v1/agent/contacts", nil, nil, &list); st != 200 || len(list.Contacts) != 1 {
				t.Fatalf("contacts: %d %+v", st, list)
			}
			if c := list.Contacts[0]; c.ID != s.SessionID || c.CallerNumber != "+31687654321" || c.Connection.Address != c.CallerNumber || c.Attributes != nil || c.State != veilig.StateMatched {
				t.Fatalf("waiting contact %+v", c)
			}

			var c veilig.Contact
			if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", &c); st != 200 {
				t.Fatalf("open: %d", st)
			}
			got := map[string]string{}
			for _, a := range c.Attributes {
				got[a.ID] = a.Value
				if a.Labels["en"] == "" || a.Labels["nl"] == "" || a.IssuerID != demoscheme.IssuerID || a.IssuedAt.IsZero() {
					t.Errorf("attribute %s lacks labels, issuer or issuance time: %+v", a.ID, a)
				}
			}
			want := map[string]string{demoscheme.BSN: "999999990", demoscheme.FullName: "Jan de Vries", demoscheme.DateOfBirth: "1980-04-01"}
			if len(got) != len(want) {
				t.Fatalf("attributes %v, want exactly %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("attribute %s = %q, want %q", k, got[k], v)
				}
			}
			if c.Means != veilig.MeansYivi || c.Assurance != veilig.AssuranceSubstantial || c.State != veilig.StateAnswered || c.TakenBy != alice.id {
				t.Fatalf("contact %+v", c)
			}
			expectEvents(t, events, "answered")

			audit, err := ta.store.Audit(ctx, veilig.AuditFilter{SessionID: s.SessionID})
			if err != nil || len(audit) != 1 || audit[0].Action != veilig.AuditContactOpened || audit[0].AgentID != alice.id || len(audit[0].Attributes) != 3 {
				t.Fatalf("audit %+v %v", audit, err)
			}

			if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/end", nil); st != 204 {
				t.Fatalf("end: %d", st)
			}
			expectEvents(t, events, "ended")
			select {
			case e, ok := <-events:
				if ok {
					t.Fatalf("event after the end: %+v", e)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream did not close after the final state")
			}

			checkDestroyed(t, dbURL, s.SessionID)
			if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", nil); st != 409 {
				t.Fatalf("open after end: %d, want 409", st)
			}

			// A stream that reconnects (to any replica) with Last-Event-ID
			// gets exactly the later events.
			resumed, stop2 := ta.stream(s, "0")
			defer stop2()
			all := expectEvents(t, resumed, "created", "disclosing", "disclosed", "matched", "answered", "ended")
			later, stop3 := ta.stream(s, all[2].ID)
			defer stop3()
			expectEvents(t, later, "matched", "answered", "ended")

			assertNoSecretsLogged(t, ta, s, "999999990", "Jan de Vries", "+31687654321")
		})
	}
}

// checkDestroyed reads the session row straight from the database: after
// the end, no attribute, caller number, code or Yivi token is left.
func checkDestroyed(t *testing.T, dbURL, id string) {
	t.Helper()
	const q = `SELECT state, disclosure IS NULL, caller IS NULL, code_hash IS NULL, yivi_token FROM sessions WHERE id = `
	var state, token string
	var noDisclosure, noCaller, noCode bool
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(q+"?", id).Scan(&state, &noDisclosure, &noCaller, &noCode, &token); err != nil {
			t.Fatal(err)
		}
		// Sealed at rest: no plaintext value ever reached the files.
		for _, f := range []string{path, path + "-wal"} {
			raw, _ := os.ReadFile(f)
			for _, v := range []string{"999999990", "Jan de Vries", "+31687654321"} {
				if strings.Contains(string(raw), v) {
					t.Errorf("%s contains %q in plaintext", filepath.Base(f), v)
				}
			}
		}
	} else {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), q+"$1", id).Scan(&state, &noDisclosure, &noCaller, &noCode, &token); err != nil {
			t.Fatal(err)
		}
	}
	if state != "ended" || !noDisclosure || !noCaller || !noCode || token != "" {
		t.Fatalf("after the end: state %s, disclosure gone %v, caller gone %v, code gone %v, yivi token gone %v", state, noDisclosure, noCaller, noCode, token == "")
	}
}

// assertNoSecretsLogged proves the log never held the code, tokens or values.
func assertNoSecretsLogged(t *testing.T, ta *testApp, s startedSession, values ...string) {
	t.Helper()
	logs := ta.logs.String()
	if !strings.Contains(logs, s.SessionID) {
		t.Fatal("the log is empty or does not mention the session: the check below would prove nothing")
	}
	secrets := append([]string{s.Dial.Code, s.StatusToken, s.Dial.URI}, values...)
	var fr struct{ Authorization string }
	json.Unmarshal(s.FrontendRequest, &fr)
	secrets = append(secrets, fr.Authorization)
	for _, v := range secrets {
		if v != "" && strings.Contains(logs, v) {
			t.Errorf("the log contains a secret or personal value (%d characters)", len(v))
		}
	}
}
