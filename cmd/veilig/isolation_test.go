package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/internal/testpg"
	"github.com/veiligcontact/veilig/keyring"
)

// TestOrganisationIsolation is the isolation matrix over the HTTP API: two
// organisations live at once (the demo's Voorbeeldstad, A, and Anderdorp,
// B); for every agent-, supervisor- and admin-facing operation, B's agent,
// supervisor and admin get for A's contact and accounts exactly the answer
// of ones that do not exist, and see and count nothing of A. On SQLite,
// and on PostgreSQL with A's resources made on one replica and B's people
// on the other.
func TestOrganisationIsolation(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		a := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
		isolationMatrix(t, a, a)
	})
	t.Run("postgres, two replicas", func(t *testing.T) {
		dbURL := testpg.URL(t)
		shared := config.Secrets{SecretKey: b64(32), EncryptionKeys: map[string]string{"k1": b64(32)}, ActiveKey: "k1"}
		telSecret := b64(32)
		same := func(c *config.Config) { c.Secrets, c.Telephony.Secret = shared, telSecret }
		isolationMatrix(t, startApp(t, dbURL, same), startApp(t, dbURL, same))
	})
}

// isolationMatrix makes A's resources through replica ra and asks for them
// as B's people through replica rb.
func isolationMatrix(t *testing.T, ra, rb *testApp) {
	ctx := context.Background()
	// A: a waiting contact, an agent (signed in: an audit entry) and an admin.
	aliceID := ra.addAccount("alice", veilig.RoleAgent, demoPurposeID)
	ra.addAccount("adam", veilig.RoleAdmin, demoPurposeID)
	s := ra.startSession(demoPurposeID)
	ra.disclose(ra.newDevWallet(), s)
	const callID = "isolation-a-1"
	if m, err := ra.call(s.Dial.Code, "+31611110000", callID); err != nil || !m.Matched {
		t.Fatalf("A's call: %+v %v", m, err)
	}
	alice := ra.agentClient("alice")
	// A code on A's line that matched nothing: one of A's unverified calls.
	if m, err := ra.call(wellFormedCode(4242), "+31611110001", "isolation-a-miss"); err != nil || m.Matched {
		t.Fatalf("A's miss: %+v %v", m, err)
	}

	// B: an agent, a supervisor and an admin of Anderdorp.
	rb.addAccount("bea", veilig.RoleAgent, demoOtherPurposeID)
	rb.addAccount("bob", veilig.RoleSupervisor, demoOtherPurposeID)
	rb.addAccountIn(demoOtherOrganisation, "bert", veilig.RoleAdmin, "*")
	bea, bob, bert := rb.agentClient("bea"), rb.agentClient("bob"), rb.agentClient("bert")
	var me struct{ OrganisationNames map[string]string }
	if st := bea.send("GET", "/api/v1/agent/me", nil, &me); st != 200 || me.OrganisationNames["nl"] != "Gemeente Anderdorp (demo)" {
		t.Errorf("B's agent is told of organisation %v (%d)", me.OrganisationNames, st)
	}

	missing := veilig.NewID()
	// sameAsMissing: the answer for A's resource is the answer for one
	// that does not exist, status and body.
	sameAsMissing := func(who *agentClient, method, pathA, pathMissing string, body any) {
		t.Helper()
		var gotA, gotMissing json.RawMessage
		stA := who.send(method, pathA, body, &gotA)
		stM := who.send(method, pathMissing, body, &gotMissing)
		if stA != stM || string(gotA) != string(gotMissing) || stA != http.StatusNotFound {
			t.Errorf("%s %s: %d %s; for a missing one %d %s", method, pathA, stA, gotA, stM, gotMissing)
		}
	}

	// B's admin serves every purpose ("*") of B: a live stream of its, open
	// while A's contact changes, must carry none of A's events.
	events, stop := bert.agentEvents()
	defer stop()
	var list struct{ Contacts []struct{ ID string } }
	if st := bea.send("GET", "/api/v1/agent/contacts", nil, &list); st != 200 || len(list.Contacts) != 0 {
		t.Errorf("B's agent lists %d contacts (%d): %+v", len(list.Contacts), st, list)
	}
	sameAsMissing(bea, "GET", "/api/v1/agent/contacts/by-connection/asterisk/"+callID, "/api/v1/agent/contacts/by-connection/asterisk/no-such-call", nil)
	sameAsMissing(bea, "GET", "/api/v1/agent/contacts/by-call/asterisk/"+callID, "/api/v1/agent/contacts/by-call/asterisk/no-such-call", nil)
	sameAsMissing(bea, "POST", "/api/v1/agent/contacts/"+s.SessionID+"/open", "/api/v1/agent/contacts/"+missing+"/open", nil)
	sameAsMissing(bea, "POST", "/api/v1/agent/contacts/"+s.SessionID+"/end", "/api/v1/agent/contacts/"+missing+"/end", nil)
	var purposes struct{ Purposes []struct{ ID string } }
	if st := bea.send("GET", "/api/v1/agent/purposes", nil, &purposes); st != 200 || len(purposes.Purposes) != 1 || purposes.Purposes[0].ID != demoOtherPurposeID {
		t.Errorf("B's agent is told of purposes %+v (%d)", purposes, st)
	}

	// A's agent takes A's contact: an event of A's that B's stream must
	// not carry; then a session of B's own, whose event it must.
	if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", nil); st != 200 {
		t.Fatalf("A's agent opens A's contact: %d", st)
	}
	own := rb.startSession(demoOtherPurposeID)
	rb.disclose(rb.newDevWallet(), own)
	if m, err := rb.tel.ReportCall(ctx, veilig.IncomingCall{Code: own.Dial.Code, CallerNumber: "+31622220000", CalledNumber: demoOtherPhoneNumber, Provider: "asterisk", CallID: "isolation-b-1"}); err != nil || !m.Matched {
		t.Fatalf("B's call: %+v %v", m, err)
	}
	deadline := time.After(15 * time.Second)
	for seenOwn := false; !seenOwn; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("B's stream closed")
			}
			if e.Contact == s.SessionID || e.Purpose == demoPurposeID {
				t.Errorf("B's stream carries A's event %+v", e)
			}
			seenOwn = e.Contact == own.SessionID && e.Type == string(veilig.StateMatched)
		case <-deadline:
			t.Fatal("B's stream never carried B's own contact")
		}
	}

	// B's supervisor counts nothing of A: no matched call of A's purpose,
	// no A agent online.
	var o veilig.Overview
	if st := bob.send("GET", "/api/v1/supervisor/overview", nil, &o); st != 200 {
		t.Fatalf("overview: %d", st)
	}
	if _, counted := o.Matched[demoPurposeID]; counted || o.Matched[demoOtherPurposeID] != 1 || o.Unverified != 0 {
		t.Errorf("B's supervisor counts matched %v, unverified %d (A's miss)", o.Matched, o.Unverified)
	}
	for _, ag := range o.Agents {
		if ag.ID == aliceID || ag.Username == "alice" {
			t.Errorf("B's supervisor sees A's agent online: %+v", ag)
		}
	}
	for _, q := range o.Waiting {
		if q.PurposeID == demoPurposeID {
			t.Errorf("B's supervisor sees A's contact waiting: %+v", q)
		}
	}

	// B's admin: A's accounts are not listed and answer as missing ones;
	// an account for A's purpose is refused; A's audit trail is not read.
	var accounts struct {
		Agents []struct{ ID, Username string }
	}
	if st := bert.send("GET", "/api/v1/admin/agents", nil, &accounts); st != 200 {
		t.Fatalf("accounts: %d", st)
	}
	for _, acc := range accounts.Agents {
		if acc.Username == "alice" || acc.Username == "adam" || acc.Username == demoAgentUsername {
			t.Errorf("B's admin lists A's account %s", acc.Username)
		}
	}
	sameAsMissing(bert, "PATCH", "/api/v1/admin/agents/"+aliceID, "/api/v1/admin/agents/"+missing, map[string]any{"disabled": true})
	sameAsMissing(bert, "POST", "/api/v1/admin/agents/"+aliceID+"/password", "/api/v1/admin/agents/"+missing+"/password", map[string]any{"password": "a new long password"})
	var refused apiError
	if st := bert.send("POST", "/api/v1/admin/agents", map[string]any{"username": "mallory", "displayName": "M", "role": "agent", "purposes": []string{demoPurposeID}, "password": "mallory-password-long"}, &refused); st != 400 {
		t.Errorf("B's admin made an account for A's purpose: %d %+v", st, refused)
	}
	if _, err := rb.store.AgentByUsername(ctx, "mallory"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("the refused account was stored: %v", err)
	}
	var audit struct {
		Entries []veilig.AuditEntry `json:"entries"`
	}
	if st := bert.send("GET", "/api/v1/admin/audit", nil, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	for _, e := range audit.Entries {
		if e.AgentID == aliceID || e.SessionID == s.SessionID || e.OrgID != demoOtherOrganisation {
			t.Errorf("B's admin reads an audit entry of A's: %+v", e)
		}
	}
	if len(audit.Entries) == 0 {
		t.Error("B's admin reads no audit entries at all: the check above proves nothing")
	}
	if st := bert.send("GET", "/api/v1/admin/audit?purpose="+demoPurposeID, nil, &audit); st != 200 || len(audit.Entries) != 0 {
		t.Errorf("B's admin reads A's purpose's audit trail: %d %+v", st, audit.Entries)
	}
	_, _, csv := bert.raw("/api/v1/admin/audit/export?format=csv", nil)
	if strings.Contains(string(csv), aliceID) || strings.Contains(string(csv), s.SessionID) || !strings.Contains(string(csv), "bea") && !strings.Contains(string(csv), "bert") {
		t.Errorf("B's admin's export: %s", csv)
	}

	// What B's contact disclosed is sealed with B's keys (derived from the
	// deployment's for Anderdorp): read from the database, A's keys (the
	// deployment's own, the default organisation's) open none of it.
	ownStored, err := rb.store.Session(ctx, own.SessionID)
	if err != nil || len(ownStored.SealedDisclosure.Data) == 0 {
		t.Fatalf("B's stored contact: %+v %v", ownStored, err)
	}
	keysA, _ := keyring.New(rb.secrets.activeKey, rb.secrets.encryptionKeys)
	derivedB, _ := keyring.Derive(rb.secrets.encryptionKeys, demoOtherOrganisation)
	keysB, _ := keyring.New(rb.secrets.activeKey, derivedB)
	if _, err := keysA.Open(ownStored.SealedDisclosure, []byte(own.SessionID)); err == nil {
		t.Error("A's keys open B's sealed attributes")
	}
	if plain, err := keysB.Open(ownStored.SealedDisclosure, []byte(own.SessionID)); err != nil || !strings.Contains(string(plain), "Jan de Vries") {
		t.Errorf("B's keys do not open B's sealed attributes: %v", err)
	}
	aStored, _ := ra.store.Session(ctx, s.SessionID)
	if _, err := keysB.Open(aStored.SealedDisclosure, []byte(s.SessionID)); err == nil {
		t.Error("B's keys open A's sealed attributes")
	}

	// Nothing B did changed A's things.
	if st, err := ra.store.Session(ctx, s.SessionID); err != nil || st.State != veilig.StateAnswered {
		t.Errorf("A's contact after B's attempts: %+v %v", st, err)
	}
	if acc, err := ra.store.Agent(ctx, aliceID); err != nil || acc.Disabled {
		t.Errorf("A's agent after B's attempts: %+v %v", acc, err)
	}
	if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/end", nil); st != 204 {
		t.Errorf("A's agent ends A's contact: %d", st)
	}
}

// agentEvent is an event of an agent stream.
type agentEvent struct {
	Type    string `json:"type"`
	Contact string `json:"contact"`
	Purpose string `json:"purpose"`
}

// agentEvents opens the agent's event stream (from now) and delivers its
// events until stopped.
func (ac *agentClient) agentEvents() (<-chan agentEvent, func()) {
	ac.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ac.publicURL+"/api/v1/agent/events", nil)
	client := &http.Client{Transport: ac.client.Transport, Jar: ac.client.Jar}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		ac.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		ac.t.Fatalf("agent events: %d", resp.StatusCode)
	}
	out := make(chan agentEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e agentEvent
				if json.Unmarshal([]byte(data), &e) == nil && e.Contact != "" {
					out <- e
				}
			}
		}
	}()
	return out, cancel
}
