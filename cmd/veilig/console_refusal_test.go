package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// consoleRoutes are the agent, supervisor and admin routes with the least
// role each needs; every one is refused to anyone less.
var consoleRoutes = []struct {
	method, path string
	role         veilig.Role
}{
	{"GET", "/api/v1/agent/me", veilig.RoleAgent},
	{"GET", "/api/v1/agent/contacts", veilig.RoleAgent},
	{"GET", "/api/v1/agent/purposes", veilig.RoleAgent},
	{"GET", "/api/v1/agent/events", veilig.RoleAgent},
	{"POST", "/api/v1/agent/logout", veilig.RoleAgent},
	{"GET", "/api/v1/supervisor/overview", veilig.RoleSupervisor},
	{"GET", "/api/v1/admin/agents", veilig.RoleAdmin},
	{"POST", "/api/v1/admin/agents", veilig.RoleAdmin},
	{"PATCH", "/api/v1/admin/agents/x", veilig.RoleAdmin},
	{"POST", "/api/v1/admin/agents/x/password", veilig.RoleAdmin},
	{"GET", "/api/v1/admin/audit", veilig.RoleAdmin},
	{"GET", "/api/v1/admin/audit/export?format=csv", veilig.RoleAdmin},
	{"GET", "/api/v1/operator/overview", veilig.RoleOperator},
}

// TestConsoleRefusals: every refusal the console relies on, each with a
// clear error and no effect.
func TestConsoleRefusals(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Agents.LoginPerMinute = 3
		c.Agents.SessionIdle = 10 * time.Minute
		c.Agents.SessionMax = time.Hour
		c.Purposes = append(c.Purposes, config.Purpose{
			ID: "other", Labels: map[string]string{"nl": "Ander", "en": "Other"},
			Disclose: [][][]string{{{"veilig-demo.gemeente.personalData.fullname"}}}, PhoneNumber: "+31850000001",
		})
	})
	ta.addAccount("alice", veilig.RoleAgent, "demo")
	ta.addAccount("olaf", veilig.RoleAgent, "other")
	ta.addAccount("sam", veilig.RoleSupervisor, "*")
	ta.addAccount("ada", veilig.RoleAdmin, "*")
	ta.addAccount("rita", veilig.RoleAgent, "demo")

	t.Run("not signed in", func(t *testing.T) {
		for _, r := range consoleRoutes {
			var e apiError
			if st := ta.do(r.method, r.path, nil, map[string]string{"Origin": ta.publicURL}, &e); st != 401 || e.Error.Code != "unauthorized" {
				t.Errorf("%s %s: %d %+v", r.method, r.path, st, e)
			}
		}
	})

	t.Run("role too low", func(t *testing.T) {
		clients := map[veilig.Role]*agentClient{veilig.RoleAgent: ta.agentClient("alice"), veilig.RoleSupervisor: ta.agentClient("sam"), veilig.RoleAdmin: ta.agentClient("ada")}
		for _, r := range consoleRoutes {
			for role, c := range clients {
				if role.AtLeast(r.role) {
					continue
				}
				var e apiError
				if st := c.send(r.method, r.path, map[string]any{}, &e); st != 403 || e.Error.Code != "forbidden" || !strings.Contains(e.Error.Message, string(r.role)) {
					t.Errorf("%s %s as %s: %d %+v", r.method, r.path, role, st, e)
				}
			}
		}
	})

	// A platform operator signs in and out, and sees the organisations'
	// totals; every route of agents, supervisors and admins refuses it.
	t.Run("platform operator", func(t *testing.T) {
		ta.addAccountIn(veilig.PlatformOrganisation, "otto", veilig.RoleOperator)
		s := ta.startSession("demo")
		ta.disclose(ta.newDevWallet(), s)
		if m, err := ta.call(s.Dial.Code, "+31612340001", "operator-1"); err != nil || !m.Matched {
			t.Fatalf("call: %+v %v", m, err)
		}
		otto := ta.agentClient("otto")
		for _, r := range consoleRoutes {
			if r.path == "/api/v1/agent/logout" {
				continue // last
			}
			var e apiError
			st := otto.send(r.method, r.path, map[string]any{}, &e)
			switch r.path {
			case "/api/v1/agent/me", "/api/v1/operator/overview":
				if st != 200 {
					t.Errorf("%s %s as operator: %d %+v", r.method, r.path, st, e)
				}
			default:
				if st != 403 || !strings.Contains(e.Error.Message, "platform operator sees no contacts") {
					t.Errorf("%s %s as operator: %d %+v", r.method, r.path, st, e)
				}
			}
		}
		for _, since := range []string{"yesterday", "2020-01-01T00:00:00Z"} {
			var e apiError
			if st := otto.send("GET", "/api/v1/operator/overview?since="+since, nil, &e); st != 400 || !strings.Contains(e.Error.Message, "since must be") {
				t.Errorf("operator overview since %s: %d %+v", since, st, e)
			}
		}
		var o struct {
			Database      string
			Organisations []veilig.OrganisationTotals
		}
		_, _, raw := otto.raw("/api/v1/operator/overview", nil)
		if err := json.Unmarshal(raw, &o); err != nil || o.Database != "ok" || len(o.Organisations) != 2 {
			t.Fatalf("overview: %s %v", raw, err)
		}
		// By id: anderdorp, default (alice, olaf, sam, ada, rita and the demo agent).
		home, other := o.Organisations[1], o.Organisations[0]
		if home.ID != "default" || home.Live != 1 || home.Matched != 1 || home.Accounts != 6 || home.Purposes != 2 || other.ID != demoOtherOrganisation || other.Live != 0 || other.Accounts != 1 {
			t.Errorf("totals %+v %+v", home, other)
		}
		for _, secret := range []string{s.SessionID, "alice", "+31612340001", demoscheme.FullName} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("the operator's overview holds %q: %s", secret, raw)
			}
		}
		// Operators are made on the command line: an admin cannot make one
		// or make an account one.
		ada := ta.agentClient("ada")
		var e apiError
		if st := ada.send("POST", "/api/v1/admin/agents", map[string]any{"username": "oscar", "displayName": "O", "role": "operator", "purposes": []string{}, "password": "oscar-password-long"}, &e); st != 400 {
			t.Errorf("an admin made an operator: %d %+v", st, e)
		}
		var list struct {
			Agents []struct{ ID, Username string }
		}
		ada.send("GET", "/api/v1/admin/agents", nil, &list)
		for _, a := range list.Agents {
			if a.Username == "otto" {
				t.Error("an admin lists the platform operator")
			}
			if a.Username == "alice" {
				if st := ada.send("PATCH", "/api/v1/admin/agents/"+a.ID, map[string]any{"role": "operator"}, &e); st != 400 {
					t.Errorf("an admin made an agent an operator: %d %+v", st, e)
				}
			}
		}
		if st := otto.post("/api/v1/agent/logout", nil); st != 204 {
			t.Errorf("the operator signs out: %d", st)
		}
		if err := ta.tel.ReportConnectionState(context.Background(), "asterisk", "operator-1", veilig.ConnectionEnded); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong password is rate limited", func(t *testing.T) {
		login := func(pw string) (int, apiError, http.Header) {
			var e apiError
			req, _ := http.NewRequest("POST", ta.publicURL+"/api/v1/agent/login", strings.NewReader(`{"username":"rita","password":"`+pw+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", ta.publicURL)
			resp, err := ta.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			jsonDecode(resp, &e)
			return resp.StatusCode, e, resp.Header
		}
		for i := range 3 {
			if st, e, _ := login("wrong-password-" + string(rune('a'+i))); st != 401 || e.Error.Message != "wrong username or password" {
				t.Fatalf("wrong password %d: %d %+v", i, st, e)
			}
		}
		st, e, hdr := login("wrong-password-d")
		if st != 429 || e.Error.Code != "rate_limited" || hdr.Get("Retry-After") == "" {
			t.Fatalf("fourth wrong password: %d %+v", st, e)
		}
		// While limited, even the right password waits: guessing cannot
		// be told apart from knowing.
		if st, _, _ := login("rita-password-long"); st != 429 {
			t.Fatalf("right password while limited: %d", st)
		}
	})

	t.Run("tampered cookie", func(t *testing.T) {
		c := ta.agentClient("alice")
		u, _ := url.Parse(ta.publicURL)
		for _, ck := range c.client.Jar.Cookies(u) {
			if ck.Name == "__Host-veilig_agent" {
				b := []byte(ck.Value)
				b[len(b)/2] ^= 1
				ck.Value = string(b)
				ck.Path, ck.Secure = "/", true
				c.client.Jar.SetCookies(u, []*http.Cookie{ck})
			}
		}
		req, _ := http.NewRequest("GET", ta.publicURL+"/api/v1/agent/contacts", nil)
		resp, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("tampered cookie: %d", resp.StatusCode)
		}
		cleared := false
		for _, ck := range resp.Cookies() {
			cleared = cleared || (ck.Name == "__Host-veilig_agent" && ck.MaxAge < 0)
		}
		if !cleared {
			t.Error("the bad cookie was not cleared")
		}
	})

	w := ta.newWallet()
	s := ta.openContact(w, nil, "refusal-1")

	t.Run("CSRF", func(t *testing.T) {
		c := ta.agentClient("alice")
		for _, path := range []string{"/api/v1/agent/contacts/" + s.SessionID + "/open", "/api/v1/agent/contacts/" + s.SessionID + "/end", "/api/v1/agent/logout"} {
			for name, hdr := range map[string]map[string]string{
				"no token":     {"Origin": ta.publicURL},
				"wrong token":  {"Origin": ta.publicURL, "X-CSRF-Token": "not-" + c.csrf},
				"cross origin": {"Origin": "https://evil.example", "X-CSRF-Token": c.csrf},
				"cross site":   {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": c.csrf},
			} {
				var e apiError
				if st := c.do("POST", path, nil, hdr, &e); st != 403 || e.Error.Code != "forbidden" {
					t.Errorf("%s %s: %d %+v", path, name, st, e)
				}
			}
		}
		if n := len(ta.auditOf(veilig.AuditFilter{SessionID: s.SessionID})); n != 0 {
			t.Fatalf("a refused request was audited as a view (%d entries)", n)
		}
		if st := c.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 200 {
			t.Fatalf("logout without CSRF token signed out: %d", st)
		}
	})

	t.Run("purpose not served", func(t *testing.T) {
		olaf := ta.agentClient("olaf")
		var list struct{ Contacts []veilig.Contact }
		if st := olaf.do("GET", "/api/v1/agent/contacts", nil, nil, &list); st != 200 || len(list.Contacts) != 0 {
			t.Fatalf("olaf's queue: %d %+v", st, list)
		}
		var e apiError
		if st := olaf.post("/api/v1/agent/contacts/"+s.SessionID+"/open", &e); st != 403 || e.Error.Code != "forbidden" {
			t.Fatalf("open another purpose's contact: %d %+v", st, e)
		}
		if st := olaf.post("/api/v1/agent/contacts/"+s.SessionID+"/end", &e); st != 403 {
			t.Fatalf("end another purpose's contact: %d", st)
		}
		if n := len(ta.auditOf(veilig.AuditFilter{SessionID: s.SessionID})); n != 0 {
			t.Fatalf("the refusal left %d audit entries", n)
		}
		alice := ta.agentClient("alice")
		if st := alice.do("GET", "/api/v1/agent/contacts", nil, nil, &list); st != 200 || len(list.Contacts) != 1 || list.Contacts[0].State != veilig.StateMatched {
			t.Fatalf("the contact no longer waits: %+v", list)
		}
	})

	t.Run("idle timeout, and the console's own requests do not count", func(t *testing.T) {
		active, quiet := ta.agentClient("alice"), ta.agentClient("alice")
		bg := map[string]string{"X-Veilig-Background": "1"}
		for range 3 {
			ta.clock.Advance(3 * time.Minute)
			if st := active.do("GET", "/api/v1/agent/contacts", nil, nil, nil); st != 200 {
				t.Fatalf("active agent: %d", st)
			}
			if st := quiet.do("GET", "/api/v1/agent/contacts", nil, bg, nil); st != 200 {
				t.Fatalf("background refresh within the idle timeout: %d", st)
			}
		}
		// 11 minutes: the quiet console's last activity was its sign-in.
		ta.clock.Advance(2 * time.Minute)
		var e apiError
		if st := quiet.do("GET", "/api/v1/agent/contacts", nil, bg, &e); st != 401 || e.Error.Code != "unauthorized" {
			t.Fatalf("a console left alone past the idle timeout: %d %+v", st, e)
		}
		var me struct {
			IdleExpiresAt, Now, ExpiresAt time.Time
			IdleTimeoutSeconds            int
		}
		if st := active.do("GET", "/api/v1/agent/me", nil, nil, &me); st != 200 {
			t.Fatalf("the active agent: %d", st)
		}
		if me.IdleTimeoutSeconds != 600 || me.IdleExpiresAt.Sub(me.Now) < 9*time.Minute || me.IdleExpiresAt.Sub(me.Now) > 10*time.Minute || !me.ExpiresAt.After(me.IdleExpiresAt) {
			t.Fatalf("me tells the console %+v", me)
		}
	})

	t.Run("absolute timeout", func(t *testing.T) {
		c := ta.agentClient("alice")
		for range 7 { // active every 9 minutes, an hour and 3 minutes in all
			ta.clock.Advance(9 * time.Minute)
			c.do("GET", "/api/v1/agent/me", nil, nil, nil)
		}
		if st := c.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
			t.Fatalf("a session past its maximum: %d", st)
		}
		for _, r := range consoleRoutes {
			if st := c.send(r.method, r.path, nil, nil); st != 401 {
				t.Errorf("%s %s after the maximum: %d", r.method, r.path, st)
			}
		}
	})

	t.Run("sign-out ends the session and is audited", func(t *testing.T) {
		c := ta.agentClient("alice")
		if st := c.send("POST", "/api/v1/agent/logout", nil, nil); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		if st := c.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
			t.Fatalf("after logout: %d", st)
		}
		if es := ta.auditOf(veilig.AuditFilter{AgentID: c.id, Action: veilig.AuditAgentSignOut}); len(es) != 1 {
			t.Fatalf("sign-outs audited: %d", len(es))
		}
	})

	t.Run("the event stream needs a session", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: ta.client.Transport, Timeout: 5 * time.Second}
		resp, err := c.Get(ta.publicURL + "/api/v1/agent/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events without a session: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

func jsonDecode(resp *http.Response, v any) {
	_ = json.NewDecoder(resp.Body).Decode(v)
}

// TestConsoleStreamEnds: an agent's event stream does not outlive what
// allowed it: it ends when the session is signed out or the account is
// disabled, and when the account's purposes change (the console's
// EventSource then reconnects with the new ones).
func TestConsoleStreamEnds(t *testing.T) {
	old := httpapi.StreamCheck
	httpapi.StreamCheck = 100 * time.Millisecond
	t.Cleanup(func() { httpapi.StreamCheck = old })
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	ta.addAccount("ada", veilig.RoleAdmin, "*")
	aliceID := ta.addAccount("alice", veilig.RoleAgent, "demo")
	ada := ta.agentClient("ada")

	// open starts alice's stream; the returned channel closes when it ends.
	open := func(c *agentClient) <-chan struct{} {
		t.Helper()
		req, _ := http.NewRequest("GET", ta.publicURL+"/api/v1/agent/events", nil)
		resp, err := (&http.Client{Jar: c.client.Jar, Transport: c.client.Transport}).Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", resp, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
		}()
		return done
	}
	ended := func(what string, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the stream lives on after %s", what)
		}
	}
	stillOpen := func(done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
			t.Fatal("the stream ended by itself")
		case <-time.After(500 * time.Millisecond):
		}
	}

	c := ta.agentClient("alice")
	done := open(c)
	stillOpen(done)
	if st := c.send("POST", "/api/v1/agent/logout", nil, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	ended("sign-out", done)

	c = ta.agentClient("alice")
	done = open(c)
	if st := ada.send("PATCH", "/api/v1/admin/agents/"+aliceID, map[string]any{"purposes": []string{"demo", "other-purpose-not-configured"}}, nil); st != 400 {
		t.Fatalf("bad purposes: %d", st)
	}
	stillOpen(done)
	if st := ada.send("PATCH", "/api/v1/admin/agents/"+aliceID, map[string]any{"purposes": []string{"*"}}, nil); st != 200 {
		t.Fatalf("new purposes: %d", st)
	}
	ended("a change of purposes", done)
	done = open(c) // the reconnect, with the new purposes
	stillOpen(done)
	if st := ada.send("PATCH", "/api/v1/admin/agents/"+aliceID, map[string]any{"disabled": true}, nil); st != 200 {
		t.Fatalf("disable: %d", st)
	}
	ended("the account was disabled", done)
}
