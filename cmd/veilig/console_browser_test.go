package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/internal/testpg"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// TestConsoleBrowser runs web/console/test/queue.test.mjs in headless
// Chromium against the real server, and plays the caller while the
// browser watches: a real Yivi wallet discloses, a signed telephony
// request matches the call, a signed call-state report hangs up. Then it
// checks in the database that every view was audited and that nothing
// personal is left.
func TestConsoleBrowser(t *testing.T) {
	requireBrowser(t, "console")
	dbURL := "sqlite:" + t.TempDir() + "/veilig.db"
	ta := startConsoleApp(t, dbURL, nil)
	aliceID := ta.addAccount("alice", veilig.RoleAgent, "demo")
	ta.addAccount("bob", veilig.RoleAgent, "demo")
	ta.addAccount("carol", veilig.RoleAgent, "other")
	w := ta.newDevWallet()

	hs, finish := startNode(t, "console", "test/queue.test.mjs", map[string]string{"BASE_URL": ta.publicURL}, 4*time.Minute)

	want := map[string]string{demoscheme.BSN: "999999990", demoscheme.FullName: "Jan de Vries", demoscheme.DateOfBirth: "1980-04-01"}
	values := []string{"999999990", "Jan de Vries", "1980-04-01"}
	call := func(caller, callID string) startedSession {
		s := ta.startSession("demo")
		ta.disclose(w, s)
		m, err := ta.tel.ReportCall(context.Background(), veilig.IncomingCall{Code: s.Dial.Code, CallerNumber: caller, CalledNumber: s.Dial.Number, Provider: "asterisk", CallID: callID})
		if err != nil || !m.Matched {
			t.Fatalf("report call: %+v %v", m, err)
		}
		return s
	}

	hs.wait("ready", time.Minute)
	s1 := call("+31612345678", "call-1")
	hs.answer("ready", map[string]any{
		"contact": s1.SessionID, "caller": "+31612345678", "attributes": want, "values": values,
		"linked": demoscheme.BSN, "link": "https://zaken.example.test/persoon/999999990?bron=veilig",
	})

	hs.wait("ended", 2*time.Minute)
	checkDestroyed(t, dbURL, s1.SessionID)
	audit, err := ta.store.Audit(context.Background(), veilig.AuditFilter{SessionID: s1.SessionID})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: alice ended it after she opened it, and nobody else
	// (bob, carol) ever opened it.
	if len(audit) != 2 || audit[1].Action != veilig.AuditContactOpened || audit[1].AgentID != aliceID || audit[0].Action != veilig.AuditContactEnded || audit[0].AgentID != aliceID {
		t.Fatalf("audit of the first contact: %s", auditJSON(audit))
	}
	if got, want := slices.Sorted(slices.Values(audit[1].Attributes)), slices.Sorted(slices.Values([]string{demoscheme.DateOfBirth, demoscheme.FullName, demoscheme.BSN})); !slices.Equal(got, want) {
		t.Fatalf("the audit entry names attributes %v", got)
	}
	if audit[1].PurposeID != "demo" || audit[1].RemoteAddr != "127.0.0.1" {
		t.Fatalf("audit entry %s", auditJSON(audit[1:]))
	}
	hs.answer("ended", nil)

	hs.wait("call2", time.Minute)
	s2 := call("+31687654321", "call-2")
	hs.answer("call2", map[string]any{"contact": s2.SessionID, "values": append(values, "+31687654321")})
	hs.wait("taken2", time.Minute)
	if err := ta.tel.ReportConnectionState(context.Background(), "asterisk", "call-2", veilig.ConnectionEnded); err != nil {
		t.Fatal(err)
	}
	hs.wait("expire", time.Minute)
	checkDestroyed(t, dbURL, s2.SessionID)
	audit, err = ta.store.Audit(context.Background(), veilig.AuditFilter{SessionID: s2.SessionID})
	if err != nil || len(audit) != 1 || audit[0].Action != veilig.AuditContactOpened || audit[0].AgentID != aliceID || len(audit[0].Attributes) != 3 {
		t.Fatalf("audit of the second contact (hung up): %s %v", auditJSON(audit), err)
	}

	// Past the idle timeout the console must sign out by itself.
	ta.clock.Advance(ta.cfg.Agents.SessionIdle + time.Minute)
	hs.answer("expire", nil)
	hs.wait("done", time.Minute)
	finish()
	assertNoSecretsLogged(t, ta, s1, values...)
}

func auditJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestConsoleAdminBrowser runs web/console/test/admin.test.mjs: the
// supervisor overview, account administration and the audit log with its
// exports, in headless Chromium; then checks the audit log in the database.
func TestConsoleAdminBrowser(t *testing.T) {
	requireBrowser(t, "console")
	ta := startConsoleApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	adaID := ta.addAccount("ada", veilig.RoleAdmin, "*")
	ta.addAccount("alice", veilig.RoleAgent, "demo")
	alice := ta.agentClient("alice")
	w := ta.newDevWallet()
	opened := ta.openContact(w, alice, "admin-1")
	ta.openContact(w, nil, "admin-2")
	if m, err := ta.call("0000000", "+31600000009", "admin-miss"); err != nil || m.Matched {
		t.Fatalf("miss: %+v %v", m, err)
	}

	hs, finish := startNode(t, "console", "test/admin.test.mjs", map[string]string{"BASE_URL": ta.publicURL}, 3*time.Minute)
	hs.answer("start", map[string]any{
		"contact":    opened.SessionID,
		"attributes": []string{demoscheme.BSN, demoscheme.FullName, demoscheme.DateOfBirth},
		"personal":   []string{"999999990", "Jan de Vries", "+31611111111", "+31600000009"},
	})
	hs.wait("done", 2*time.Minute)
	finish()

	bea, err := ta.store.AgentByUsername(context.Background(), "bea")
	if err != nil {
		t.Fatal(err)
	}
	if !bea.Disabled || bea.Role != veilig.RoleAgent || !slices.Equal(bea.Purposes, []string{"*"}) || bea.DisplayName != "Bea Backoffice" {
		t.Fatalf("bea is %+v", bea)
	}
	var actions []string
	for _, e := range ta.auditOf(veilig.AuditFilter{Subject: bea.ID}) {
		if e.AgentID != adaID {
			t.Errorf("entry by %s: %+v", e.AgentID, e)
		}
		actions = append(actions, e.Action)
	}
	if want := []string{veilig.AuditAccountUpdated, veilig.AuditAccountPassword, veilig.AuditAccountUpdated, veilig.AuditAccountCreated}; !slices.Equal(actions, want) {
		t.Fatalf("account actions %v, want %v", actions, want)
	}
	es := ta.auditOf(veilig.AuditFilter{Action: veilig.AuditExported})
	if len(es) != 2 || es[0].Detail != "format=json entries=1 filter: action=contact.opened" || es[1].Detail != "format=csv entries=1 filter: action=contact.opened" {
		t.Fatalf("exports %s", auditJSON(es))
	}
}

// TestConsoleStrings keeps the console's Dutch and English complete
// (web/console/test/i18n.test.mjs; no browser needed, but the same setup).
func TestConsoleStrings(t *testing.T) {
	runNode(t, "console", "test/i18n.test.mjs", nil, time.Minute)
}

// TestConsoleOperatorBrowser: a platform operator's console shows the
// organisations' totals and health, and nothing of their contacts or
// accounts (web/console/test/operator.test.mjs).
func TestConsoleOperatorBrowser(t *testing.T) {
	requireBrowser(t, "console")
	ta := startConsoleApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	ta.addAccountIn(veilig.PlatformOrganisation, "otto", veilig.RoleOperator)
	ta.addAccount("alice", veilig.RoleAgent, "demo")
	opened := ta.openContact(ta.newDevWallet(), ta.agentClient("alice"), "operator-1")
	if m, err := ta.call("0000000", "+31600000009", "operator-miss"); err != nil || m.Matched {
		t.Fatalf("miss: %+v %v", m, err)
	}
	hs, finish := startNode(t, "console", "test/operator.test.mjs", map[string]string{"BASE_URL": ta.publicURL}, 2*time.Minute)
	hs.answer("start", map[string]any{
		"personal": []string{opened.SessionID, "999999990", "Jan de Vries", "+31611111111", "+31600000009", "alice"},
	})
	hs.wait("done", time.Minute)
	finish()
}

// TestConsoleReplicas: the console on one replica, the telephony platform
// on another, one PostgreSQL database between them.
func TestConsoleReplicas(t *testing.T) {
	requireBrowser(t, "console")
	dbURL := testpg.URL(t)
	shared := config.Secrets{SecretKey: b64(32), EncryptionKeys: map[string]string{"k1": b64(32)}, ActiveKey: "k1"}
	telSecret := b64(32)
	same := func(c *config.Config) { c.Secrets, c.Telephony.Secret = shared, telSecret }
	a := startConsoleApp(t, dbURL, same)
	b := startConsoleApp(t, dbURL, same)
	a.addAccount("alice", veilig.RoleAgent, "demo")
	w := a.newDevWallet()

	hs, finish := startNode(t, "console", "test/replica.test.mjs", map[string]string{"BASE_URL": a.publicURL}, 2*time.Minute)
	hs.wait("ready", time.Minute)
	s := a.startSession("demo")
	a.disclose(w, s)
	if m, err := b.tel.ReportCall(context.Background(), veilig.IncomingCall{Code: s.Dial.Code, CallerNumber: "+31612340000", CalledNumber: s.Dial.Number, Provider: "asterisk", CallID: "replica-1"}); err != nil || !m.Matched {
		t.Fatalf("call on replica B: %+v %v", m, err)
	}
	hs.answer("ready", map[string]string{"contact": s.SessionID})
	hs.wait("taken", time.Minute)
	if err := b.tel.ReportConnectionState(context.Background(), "asterisk", "replica-1", veilig.ConnectionEnded); err != nil {
		t.Fatal(err)
	}
	hs.wait("done", time.Minute)
	finish()
	checkDestroyed(t, dbURL, s.SessionID)
}
