package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// send sends a JSON request with the agent's CSRF token from its own origin.
func (ac *agentClient) send(method, path string, body, out any) int {
	ac.t.Helper()
	return ac.do(method, path, body, map[string]string{"X-CSRF-Token": ac.csrf, "Origin": ac.publicURL}, out)
}

// raw GETs path and returns status, headers and body as they are.
func (ac *agentClient) raw(path string, hdr map[string]string) (int, http.Header, []byte) {
	ac.t.Helper()
	req, _ := http.NewRequest("GET", ac.publicURL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ac.client.Do(req)
	if err != nil {
		ac.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type account struct {
	veilig.Agent
	HasPassword bool `json:"hasPassword"`
}

// auditOf reads the audit log straight from the store.
func (ta *testApp) auditOf(f veilig.AuditFilter) []*veilig.AuditEntry {
	ta.t.Helper()
	es, err := ta.store.Audit(context.Background(), f)
	if err != nil {
		ta.t.Fatal(err)
	}
	return es
}

// TestAdminAccounts: admins manage accounts (create, roles, purposes,
// disable, new password), every change is audited and takes effect at
// once; nobody else may.
func TestAdminAccounts(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	adaID := ta.addAccount("ada", veilig.RoleAdmin, "*")
	ta.addAccount("alice", veilig.RoleAgent, "demo")
	ta.addAccount("sam", veilig.RoleSupervisor, "demo")
	ada, alice, sam := ta.agentClient("ada"), ta.agentClient("alice"), ta.agentClient("sam")

	t.Run("only admins", func(t *testing.T) {
		for _, c := range []*agentClient{alice, sam} {
			var e apiError
			if st := c.do("GET", "/api/v1/admin/agents", nil, nil, &e); st != 403 || e.Error.Code != "forbidden" {
				t.Errorf("GET accounts as %s: %d %+v", c.id, st, e)
			}
			if st := c.send("POST", "/api/v1/admin/agents", map[string]any{"username": "mallory", "role": "admin", "purposes": []string{"*"}, "password": "mallory-password"}, &e); st != 403 {
				t.Errorf("create as %s: %d", c.id, st)
			}
			if st := c.send("PATCH", "/api/v1/admin/agents/"+c.id, map[string]any{"role": "admin"}, &e); st != 403 {
				t.Errorf("promote self as %s: %d", c.id, st)
			}
		}
		if _, err := ta.store.AgentByUsername(context.Background(), "mallory"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
			t.Fatal("a refused request created an account")
		}
	})

	var dave account
	t.Run("create", func(t *testing.T) {
		if st := ada.send("POST", "/api/v1/admin/agents", map[string]any{"username": "dave", "displayName": "Dave D.", "role": "agent", "purposes": []string{"demo"}, "password": "dave-password-long"}, &dave); st != 201 {
			t.Fatalf("create: %d", st)
		}
		if dave.ID == "" || dave.Username != "dave" || dave.Role != veilig.RoleAgent || !dave.HasPassword || dave.Disabled {
			t.Fatalf("created %+v", dave)
		}
		d := ta.agentClient("dave")
		if d.id != dave.ID {
			t.Fatal("dave signs in as someone else")
		}
		es := ta.auditOf(veilig.AuditFilter{Action: veilig.AuditAccountCreated, Subject: dave.ID})
		if len(es) != 1 || es[0].AgentID != adaID || !strings.Contains(es[0].Detail, "role=agent") || !strings.Contains(es[0].Detail, "purposes=demo") || strings.Contains(es[0].Detail, "dave-password") {
			t.Fatalf("audit %s", auditJSON(es))
		}

		var raw bytes.Buffer
		st, _, body := ada.raw("/api/v1/admin/agents", nil)
		raw.Write(body)
		if st != 200 || strings.Contains(raw.String(), "argon2") || strings.Contains(strings.ToLower(raw.String()), "passwordhash") {
			t.Fatalf("the account list shows password hashes: %s", raw.String())
		}
		var list struct{ Agents []account }
		json.Unmarshal(body, &list)
		all, _ := ta.store.Agents(context.Background())
		// Stored: with both demo municipalities' agents; listed: the
		// admin's organisation's only (not Anderdorp's demo agent).
		if len(list.Agents) != 5 || len(all) != 6 {
			t.Fatalf("%d accounts listed, %d stored", len(list.Agents), len(all))
		}
		for _, a := range list.Agents {
			if a.Username == demoOtherAgentUsername {
				t.Fatal("an admin lists another organisation's account")
			}
		}
	})

	t.Run("bad input changes nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body any
			code int
		}{
			{"unknown purpose", map[string]any{"username": "x1", "role": "agent", "purposes": []string{"nope"}}, 400},
			{"no purpose", map[string]any{"username": "x2", "role": "agent", "purposes": []string{}}, 400},
			{"bad role", map[string]any{"username": "x3", "role": "root", "purposes": []string{"*"}}, 400},
			{"bad username", map[string]any{"username": "x y", "role": "agent", "purposes": []string{"*"}}, 400},
			{"short password", map[string]any{"username": "x4", "role": "agent", "purposes": []string{"*"}, "password": "short"}, 400},
			{"unknown field", map[string]any{"username": "x5", "role": "agent", "purposes": []string{"*"}, "admin": true}, 400},
			{"taken username", map[string]any{"username": "dave", "role": "agent", "purposes": []string{"*"}}, 409},
		} {
			var e apiError
			if st := ada.send("POST", "/api/v1/admin/agents", tc.body, &e); st != tc.code || e.Error.Message == "" {
				t.Errorf("%s: %d %+v, want %d", tc.name, st, e, tc.code)
			}
		}
		if st := ada.send("PATCH", "/api/v1/admin/agents/no-such-account", map[string]any{"disabled": true}, nil); st != 404 {
			t.Errorf("unknown account: %d", st)
		}
		if n := len(ta.auditOf(veilig.AuditFilter{Action: veilig.AuditAccountCreated})); n != 1 {
			t.Errorf("%d creations audited, want 1", n)
		}
	})

	t.Run("single sign-on only account", func(t *testing.T) {
		var erin account
		if st := ada.send("POST", "/api/v1/admin/agents", map[string]any{"username": "erin@example.nl", "role": "agent", "purposes": []string{"*"}}, &erin); st != 201 || erin.HasPassword {
			t.Fatalf("create: %d %+v", st, erin)
		}
		for _, pw := range []string{"", "erin@example.nl-password-long", "anything-at-all-12"} {
			if st := ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "erin@example.nl", "password": pw}, map[string]string{"Origin": ta.publicURL}, nil); st != 401 {
				t.Errorf("password sign-in of a single sign-on account: %d", st)
			}
		}
	})

	t.Run("role and purposes take effect at once", func(t *testing.T) {
		d := ta.agentClient("dave")
		if st := d.do("GET", "/api/v1/supervisor/overview", nil, nil, nil); st != 403 {
			t.Fatalf("agent overview: %d", st)
		}
		var got account
		if st := ada.send("PATCH", "/api/v1/admin/agents/"+dave.ID, map[string]any{"role": "supervisor", "purposes": []string{"*"}, "displayName": "Dave Supervisor"}, &got); st != 200 || got.Role != veilig.RoleSupervisor || got.Purposes[0] != "*" || got.DisplayName != "Dave Supervisor" {
			t.Fatalf("update: %d %+v", st, got)
		}
		if st := d.do("GET", "/api/v1/supervisor/overview", nil, nil, nil); st != 200 {
			t.Fatalf("overview after promotion: %d", st)
		}
		es := ta.auditOf(veilig.AuditFilter{Action: veilig.AuditAccountUpdated, Subject: dave.ID})
		if len(es) != 1 || !strings.Contains(es[0].Detail, "role=supervisor") || !strings.Contains(es[0].Detail, "purposes=*") {
			t.Fatalf("audit %s", auditJSON(es))
		}
	})

	t.Run("disable signs out everywhere", func(t *testing.T) {
		d := ta.agentClient("dave")
		if st := ada.send("PATCH", "/api/v1/admin/agents/"+dave.ID, map[string]any{"disabled": true}, nil); st != 200 {
			t.Fatalf("disable: %d", st)
		}
		if st := d.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
			t.Fatalf("a disabled account's session: %d", st)
		}
		if st := ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "dave", "password": "dave-password-long"}, map[string]string{"Origin": ta.publicURL}, nil); st != 401 {
			t.Fatalf("a disabled account signs in: %d", st)
		}
		if st := ada.send("PATCH", "/api/v1/admin/agents/"+dave.ID, map[string]any{"disabled": false}, nil); st != 200 {
			t.Fatalf("enable: %d", st)
		}
		ta.agentClient("dave")
	})

	t.Run("admins cannot lock themselves out", func(t *testing.T) {
		var e apiError
		for _, body := range []map[string]any{{"disabled": true}, {"role": "supervisor"}} {
			if st := ada.send("PATCH", "/api/v1/admin/agents/"+adaID, body, &e); st != 409 {
				t.Errorf("%v on self: %d", body, st)
			}
		}
		if a, _ := ta.store.Agent(context.Background(), adaID); a.Disabled || a.Role != veilig.RoleAdmin {
			t.Fatalf("ada is now %+v", a)
		}
	})

	t.Run("new password", func(t *testing.T) {
		old := ta.agentClient("alice")
		if st := ada.send("POST", "/api/v1/admin/agents/"+alice.id+"/password", map[string]string{"password": "short"}, nil); st != 400 {
			t.Fatalf("short password: %d", st)
		}
		if st := ada.send("POST", "/api/v1/admin/agents/"+alice.id+"/password", map[string]string{"password": "a-brand-new-password"}, nil); st != 204 {
			t.Fatalf("set password: %d", st)
		}
		if st := old.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
			t.Fatalf("the session from the old password lives on: %d", st)
		}
		login := func(pw string) int {
			return ta.do("POST", "/api/v1/agent/login", map[string]string{"username": "alice", "password": pw}, map[string]string{"Origin": ta.publicURL}, nil)
		}
		if login("alice-password-long") != 401 || login("a-brand-new-password") != 200 {
			t.Fatal("the password did not change")
		}
		es := ta.auditOf(veilig.AuditFilter{Action: veilig.AuditAccountPassword, Subject: alice.id})
		if len(es) != 1 || es[0].AgentID != adaID || es[0].Detail != "" {
			t.Fatalf("audit %s", auditJSON(es))
		}
	})

	t.Run("CSRF and origin", func(t *testing.T) {
		body := map[string]any{"username": "zed", "role": "admin", "purposes": []string{"*"}, "password": "zed-password-long"}
		for name, hdr := range map[string]map[string]string{
			"no token":     {"Origin": ta.publicURL},
			"wrong token":  {"Origin": ta.publicURL, "X-CSRF-Token": "x" + ada.csrf},
			"other origin": {"Origin": "https://evil.example", "X-CSRF-Token": ada.csrf},
		} {
			var e apiError
			if st := ada.do("POST", "/api/v1/admin/agents", body, hdr, &e); st != 403 || e.Error.Code != "forbidden" {
				t.Errorf("%s: %d %+v", name, st, e)
			}
		}
		if _, err := ta.store.AgentByUsername(context.Background(), "zed"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
			t.Fatal("a request without CSRF token created an account")
		}
	})
}

// openContact runs one verified call to the end of opening: a wallet
// discloses, the call is matched, agent opens the contact.
func (ta *testApp) openContact(w interface {
	Disclose(context.Context, json.RawMessage) (string, error)
}, agent *agentClient, callID string) startedSession {
	ta.t.Helper()
	s := ta.startSession("demo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := w.Disclose(ctx, s.SessionPtr); err != nil {
		ta.t.Fatal(err)
	}
	ta.waitState(s, veilig.StateDisclosed)
	if m, err := ta.call(s.Dial.Code, "+31611111111", callID); err != nil || !m.Matched {
		ta.t.Fatalf("call: %+v %v", m, err)
	}
	if agent != nil {
		if st := agent.post("/api/v1/agent/contacts/"+s.SessionID+"/open", nil); st != 200 {
			ta.t.Fatalf("open: %d", st)
		}
	}
	return s
}

// TestAdminAudit: the audit log shows every view with its attributes,
// filters, and exports as CSV and JSON with the export itself audited; on
// both stores.
func TestAdminAudit(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ta := startApp(t, db(t), nil)
			adaID := ta.addAccount("ada", veilig.RoleAdmin, "*")
			aliceID := ta.addAccount("alice", veilig.RoleAgent, "demo")
			ta.addAccount("sam", veilig.RoleSupervisor, "*")
			ta.addAccount("@evil", veilig.RoleAgent, "demo")
			ada, alice, sam := ta.agentClient("ada"), ta.agentClient("alice"), ta.agentClient("sam")
			ta.agentClient("@evil")
			w := ta.newWallet()
			s1 := ta.openContact(w, alice, "audit-1")
			if st := alice.post("/api/v1/agent/contacts/"+s1.SessionID+"/end", nil); st != 204 {
				t.Fatalf("end: %d", st)
			}
			s2 := ta.openContact(w, alice, "audit-2")

			type page struct {
				Entries []veilig.AuditEntry
				More    bool
			}
			get := func(q url.Values) page {
				t.Helper()
				var p page
				if st := ada.do("GET", "/api/v1/admin/audit?"+q.Encode(), nil, nil, &p); st != 200 {
					t.Fatalf("audit %v: %d", q, st)
				}
				return p
			}

			p := get(url.Values{"action": {"contact.opened"}})
			if len(p.Entries) != 2 || p.More {
				t.Fatalf("views: %+v", p)
			}
			for i, s := range []startedSession{s2, s1} { // newest first
				e := p.Entries[i]
				if e.SessionID != s.SessionID || e.AgentID != aliceID || e.PurposeID != "demo" || len(e.Attributes) != 3 || e.RemoteAddr != "127.0.0.1" {
					t.Errorf("view %d: %+v", i, e)
				}
			}
			if p := get(url.Values{"contact": {s1.SessionID}}); len(p.Entries) != 2 || p.Entries[0].Action != veilig.AuditContactEnded || p.Entries[1].Action != veilig.AuditContactOpened {
				t.Errorf("by contact: %+v", p.Entries)
			}
			if p := get(url.Values{"agent": {aliceID}}); len(p.Entries) != 4 { // signin, opened, ended, opened
				t.Errorf("by agent: %d entries", len(p.Entries))
			}
			if p := get(url.Values{"purpose": {"demo"}, "action": {"contact.ended"}}); len(p.Entries) != 1 {
				t.Errorf("by purpose and action: %d entries", len(p.Entries))
			}
			future := ta.clock.Now().Add(time.Hour).Format(time.RFC3339)
			if p := get(url.Values{"since": {future}}); len(p.Entries) != 0 {
				t.Errorf("since the future: %d entries", len(p.Entries))
			}
			if p := get(url.Values{"until": {future}, "limit": {"2"}}); len(p.Entries) != 2 || !p.More {
				t.Errorf("limit 2: %d entries, more %v", len(p.Entries), p.More)
			}
			for _, q := range []string{"action=nothing", "since=yesterday", "until=2020-01-01", "limit=0", "limit=5000", "agent=%3Cscript%3E", "since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z"} {
				var e apiError
				if st := ada.do("GET", "/api/v1/admin/audit?"+q, nil, nil, &e); st != 400 || e.Error.Code != "invalid" {
					t.Errorf("%s: %d %+v", q, st, e)
				}
			}
			for _, c := range []*agentClient{alice, sam} {
				for _, path := range []string{"/api/v1/admin/audit", "/api/v1/admin/audit/export?format=csv"} {
					if st := c.do("GET", path, nil, nil, nil); st != 403 {
						t.Errorf("%s as %s: %d", path, c.id, st)
					}
				}
			}
			if n := len(ta.auditOf(veilig.AuditFilter{Action: veilig.AuditExported})); n != 0 {
				t.Fatalf("refused exports were audited: %d", n)
			}

			// CSV export of alice's views.
			st, hdr, body := ada.raw("/api/v1/admin/audit/export?format=csv&action=contact.opened", nil)
			if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="veilig-audit-`) || hdr.Get("Cache-Control") != "no-store" {
				t.Fatalf("csv: %d %v", st, hdr)
			}
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("csv: %v\n%s", err, body)
			}
			if len(rows) != 3 || strings.Join(rows[0], ",") != "id,at,agent_id,agent_username,action,contact_id,purpose,attributes,remote_addr,subject,subject_username,detail" {
				t.Fatalf("csv rows:\n%s", body)
			}
			for i, s := range []startedSession{s2, s1} {
				r := rows[i+1]
				at, err := time.Parse(time.RFC3339Nano, r[1])
				if err != nil || r[2] != aliceID || r[3] != "alice" || r[4] != "contact.opened" || r[5] != s.SessionID || r[6] != "demo" || r[8] != "127.0.0.1" || ta.clock.Now().Sub(at) > time.Minute {
					t.Errorf("csv row %v", r)
				}
				attrs := strings.Fields(r[7])
				if len(attrs) != 3 || !strings.Contains(r[7], demoscheme.BSN) {
					t.Errorf("csv attributes %q", r[7])
				}
			}
			for _, v := range []string{"999999990", "Jan de Vries", "+31611111111"} {
				if bytes.Contains(body, []byte(v)) {
					t.Errorf("the export holds a personal value")
				}
			}
			es := ta.auditOf(veilig.AuditFilter{Action: veilig.AuditExported})
			if len(es) != 1 || es[0].AgentID != adaID || es[0].Detail != "format=csv entries=2 filter: action=contact.opened" {
				t.Fatalf("the export was not audited as such: %s", auditJSON(es))
			}

			// JSON export of everything, and a spreadsheet-safe CSV.
			st, hdr, body = ada.raw("/api/v1/admin/audit/export?format=json", nil)
			var doc struct {
				ExportedBy string
				Filter     string
				Count      int
				Entries    []struct {
					veilig.AuditEntry
					AgentUsername   string `json:"agentUsername"`
					SubjectUsername string `json:"subjectUsername"`
				}
			}
			if err := json.Unmarshal(body, &doc); st != 200 || err != nil || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("json: %d %v %s", st, err, body)
			}
			// Everything before this export: 4 sign-ins, 2 views, 1 end, 1 export.
			if doc.ExportedBy != "ada" || doc.Filter != "all" || doc.Count != 8 || len(doc.Entries) != 8 {
				t.Fatalf("json export: by %q filter %q count %d entries %d", doc.ExportedBy, doc.Filter, doc.Count, len(doc.Entries))
			}
			if e := doc.Entries[0]; e.Action != veilig.AuditExported || e.AgentUsername != "ada" {
				t.Errorf("newest entry %+v", e)
			}
			if len(ta.auditOf(veilig.AuditFilter{Action: veilig.AuditExported})) != 2 {
				t.Error("the second export was not audited")
			}
			_, _, body = ada.raw("/api/v1/admin/audit/export?format=csv&action=agent.signin", nil)
			if !bytes.Contains(body, []byte(",'@evil,")) || bytes.Contains(body, []byte(",@evil,")) {
				t.Errorf("a cell a spreadsheet would run is not defused:\n%s", body)
			}
			var e apiError
			if st := ada.do("GET", "/api/v1/admin/audit/export?format=xml", nil, nil, &e); st != 400 {
				t.Errorf("format xml: %d", st)
			}
		})
	}
}
