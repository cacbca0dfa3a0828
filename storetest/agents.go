package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func newAgent(username string) *veilig.Agent {
	return &veilig.Agent{
		ID:           "agent-" + randomID(),
		Username:     username,
		DisplayName:  "Agent " + username,
		Role:         veilig.RoleAgent,
		Purposes:     []string{"p1", "p2"},
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA",
		CreatedAt:    base,
	}
}

func sameAgent(t *testing.T, got, want *veilig.Agent) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.DisplayName != want.DisplayName ||
		got.Role != want.Role || !slices.Equal(got.Purposes, want.Purposes) ||
		got.PasswordHash != want.PasswordHash || got.Disabled != want.Disabled {
		t.Errorf("agent = %+v, want %+v", got, want)
	}
	sameTime(t, "agent CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testAgents(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	if as, err := st.Agents(ctx); err != nil || len(as) != 0 {
		t.Fatalf("Agents of an empty store = %d, %v", len(as), err)
	}
	alice := newAgent("alice")
	if err := st.CreateAgent(ctx, alice); err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	got, err := st.Agent(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Agent: %v", err)
	}
	sameAgent(t, got, alice)
	got, err = st.AgentByUsername(ctx, "alice")
	if err != nil {
		t.Fatalf("AgentByUsername: %v", err)
	}
	sameAgent(t, got, alice)

	err = st.CreateAgent(ctx, newAgent("alice"))
	wantCode(t, "CreateAgent with a taken username", err, veilig.ECONFLICT)
	dup := newAgent("alice2")
	dup.ID = alice.ID
	err = st.CreateAgent(ctx, dup)
	wantCode(t, "CreateAgent with a taken id", err, veilig.ECONFLICT)

	_, err = st.Agent(ctx, "no-such-agent")
	wantCode(t, "Agent of an unknown id", err, veilig.ENOTFOUND)
	_, err = st.AgentByUsername(ctx, "nobody")
	wantCode(t, "AgentByUsername of an unknown name", err, veilig.ENOTFOUND)

	update := *alice
	update.Username = "mallory" // not changed by UpdateAgent
	update.DisplayName = "Alice A."
	update.Role = veilig.RoleSupervisor
	update.Purposes = []string{"*"}
	update.PasswordHash = "$argon2id$v=19$m=65536,t=1,p=2$c2FsdDI$aGFzaDI"
	update.Disabled = true
	if err := st.UpdateAgent(ctx, &update); err != nil {
		t.Fatalf("UpdateAgent: %v", err)
	}
	want := update
	want.Username = "alice"
	got, err = st.Agent(ctx, alice.ID)
	if err != nil {
		t.Fatalf("Agent after update: %v", err)
	}
	sameAgent(t, got, &want)
	if _, err := st.AgentByUsername(ctx, "mallory"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("UpdateAgent renamed the agent: %v", err)
	}
	missing := newAgent("nobody")
	wantCode(t, "UpdateAgent of an unknown agent", st.UpdateAgent(ctx, missing), veilig.ENOTFOUND)

	bob, aaron := newAgent("bob"), newAgent("aaron")
	bob.Purposes = nil
	for _, a := range []*veilig.Agent{bob, aaron} {
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatalf("CreateAgent: %v", err)
		}
	}
	as, err := st.Agents(ctx)
	if err != nil {
		t.Fatalf("Agents: %v", err)
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Username)
	}
	if !slices.Equal(names, []string{"aaron", "alice", "bob"}) {
		t.Errorf("Agents = %v, want by username", names)
	}
	if len(as) == 3 {
		sameAgent(t, as[1], &want)
		sameAgent(t, as[2], bob)
	}
}

func sameAgentSession(t *testing.T, got, want *veilig.AgentSession) {
	t.Helper()
	if !bytes.Equal(got.TokenHash, want.TokenHash) || got.AgentID != want.AgentID || got.CSRFToken != want.CSRFToken {
		t.Errorf("agent session = %+v, want %+v", got, want)
	}
	sameTime(t, "agent session CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "agent session LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, "agent session ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func testAgentSessions(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	a := newAgent("alice")
	if err := st.CreateAgent(ctx, a); err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	s := &veilig.AgentSession{
		TokenHash: randomBytes(32), AgentID: a.ID, CSRFToken: "csrf-" + randomID(),
		CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(12 * time.Hour),
	}
	if err := st.CreateAgentSession(ctx, s); err != nil {
		t.Fatalf("CreateAgentSession: %v", err)
	}
	got, err := st.AgentSession(ctx, s.TokenHash)
	if err != nil {
		t.Fatalf("AgentSession: %v", err)
	}
	sameAgentSession(t, got, s)

	dup := *s
	dup.CSRFToken = "other"
	wantCode(t, "CreateAgentSession with a used token", st.CreateAgentSession(ctx, &dup), veilig.ECONFLICT)
	orphan := *s
	orphan.TokenHash, orphan.AgentID = randomBytes(32), "no-such-agent"
	wantCode(t, "CreateAgentSession for an unknown agent", st.CreateAgentSession(ctx, &orphan), veilig.ENOTFOUND)

	seen := base.Add(5 * time.Minute)
	if err := st.TouchAgentSession(ctx, s.TokenHash, seen); err != nil {
		t.Fatalf("TouchAgentSession: %v", err)
	}
	want := *s
	want.LastSeenAt = seen
	if got, err = st.AgentSession(ctx, s.TokenHash); err != nil {
		t.Fatalf("AgentSession after touch: %v", err)
	}
	sameAgentSession(t, got, &want)
	wantCode(t, "TouchAgentSession of an unknown token", st.TouchAgentSession(ctx, randomBytes(32), seen), veilig.ENOTFOUND)

	other := *s
	other.TokenHash = randomBytes(32)
	if err := st.CreateAgentSession(ctx, &other); err != nil {
		t.Fatalf("CreateAgentSession: %v", err)
	}
	if err := st.DeleteAgentSession(ctx, s.TokenHash); err != nil {
		t.Fatalf("DeleteAgentSession: %v", err)
	}
	_, err = st.AgentSession(ctx, s.TokenHash)
	wantCode(t, "AgentSession after delete", err, veilig.ENOTFOUND)
	if err := st.DeleteAgentSession(ctx, s.TokenHash); err != nil {
		t.Errorf("second DeleteAgentSession: %v", err)
	}
	if _, err := st.AgentSession(ctx, other.TokenHash); err != nil {
		t.Errorf("DeleteAgentSession removed another session: %v", err)
	}
	_, err = st.AgentSession(ctx, randomBytes(32))
	wantCode(t, "AgentSession of an unknown token", err, veilig.ENOTFOUND)
}

// testChangeAccount: an account change, its sign-out and its audit entry
// happen together or not at all.
func testChangeAccount(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	audit := func(action, subject string) *veilig.AuditEntry {
		return &veilig.AuditEntry{At: base, AgentID: "admin", Action: action, Subject: subject, RemoteAddr: "192.0.2.1"}
	}
	entries := func(subject string) int {
		t.Helper()
		es, err := st.Audit(ctx, veilig.AuditFilter{Subject: subject})
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		return len(es)
	}
	bob := newAgent("bob")
	if err := st.ChangeAccount(ctx, veilig.AccountChange{Agent: bob, Create: true, Audit: audit(veilig.AuditAccountCreated, bob.ID)}); err != nil {
		t.Fatalf("ChangeAccount create: %v", err)
	}
	got, err := st.Agent(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameAgent(t, got, bob)
	if entries(bob.ID) != 1 {
		t.Errorf("no audit entry with the new account")
	}
	// A taken username: nothing written, the entry neither.
	dup := newAgent("bob")
	err = st.ChangeAccount(ctx, veilig.AccountChange{Agent: dup, Create: true, Audit: audit(veilig.AuditAccountCreated, dup.ID)})
	wantCode(t, "ChangeAccount with a taken username", err, veilig.ECONFLICT)
	if entries(dup.ID) != 0 {
		t.Errorf("a refused change left its audit entry")
	}
	// Disabling with a sign-out: the sessions go with it.
	sess := &veilig.AgentSession{TokenHash: randomBytes(32), AgentID: bob.ID, CSRFToken: "c", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := st.CreateAgentSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	bob.Disabled = true
	if err := st.ChangeAccount(ctx, veilig.AccountChange{Agent: bob, SignOut: true, Audit: audit(veilig.AuditAccountUpdated, bob.ID)}); err != nil {
		t.Fatalf("ChangeAccount update: %v", err)
	}
	if got, _ := st.Agent(ctx, bob.ID); !got.Disabled {
		t.Error("the account was not disabled")
	}
	_, err = st.AgentSession(ctx, sess.TokenHash)
	wantCode(t, "the session of a signed-out account", err, veilig.ENOTFOUND)
	if entries(bob.ID) != 2 {
		t.Errorf("%d audit entries, want 2", entries(bob.ID))
	}
	// A vanished account: nothing written.
	gone := newAgent("gone")
	err = st.ChangeAccount(ctx, veilig.AccountChange{Agent: gone, Audit: audit(veilig.AuditAccountUpdated, gone.ID)})
	wantCode(t, "ChangeAccount of an unknown account", err, veilig.ENOTFOUND)
	if entries(gone.ID) != 0 {
		t.Errorf("a refused change left its audit entry")
	}
	err = st.ChangeAccount(ctx, veilig.AccountChange{Agent: newAgent("x"), Create: true})
	wantCode(t, "ChangeAccount without an audit entry", err, veilig.EINVALID)
}

// testOrganisations: a session and an agent keep the organisation they
// were stored with, and those stored without one are the default
// organisation's.
func testOrganisations(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	s := newSession("p1", base)
	s.OrgID = "gemeente-b"
	if _, err := st.CreateSession(ctx, s, randomBytes(32), randomBytes(32), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	plain := create(t, st, "p1", base)
	for id, want := range map[string]string{s.ID: "gemeente-b", plain.ID: veilig.DefaultOrganisation} {
		got, err := st.Session(ctx, id)
		if err != nil || got.OrgID != want {
			t.Fatalf("session %s: organisation %q (%v), want %q", id, got.OrgID, err, want)
		}
	}
	b := newAgent("bea")
	b.OrgID = "gemeente-b"
	d := newAgent("dirk")
	for _, a := range []*veilig.Agent{b, d} {
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for username, want := range map[string]string{"bea": "gemeente-b", "dirk": veilig.DefaultOrganisation} {
		got, err := st.AgentByUsername(ctx, username)
		if err != nil || got.OrgID != want {
			t.Fatalf("agent %s: organisation %q (%v), want %q", username, got.OrgID, err, want)
		}
	}

	// Audit entries: a transition's is its session's organisation's,
	// another's what it says (none: the default organisation's), and a
	// filter by organisation reads only that organisation's.
	transition(t, st, veilig.Transition{SessionID: s.ID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateCreated, At: base,
		Audit: &veilig.AuditEntry{AgentID: b.ID, Action: veilig.AuditContactOpened}})
	if err := st.AddAudit(ctx, &veilig.AuditEntry{At: base, AgentID: b.ID, Action: veilig.AuditAgentSignIn, OrgID: "gemeente-b"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddAudit(ctx, &veilig.AuditEntry{At: base, AgentID: d.ID, Action: veilig.AuditAgentSignIn}); err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string][]string{"gemeente-b": {b.ID, b.ID}, veilig.DefaultOrganisation: {d.ID}, "gemeente-c": nil} {
		entries, err := st.Audit(ctx, veilig.AuditFilter{OrgID: org})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if e.OrgID != org {
				t.Errorf("filter %s read an entry of %s", org, e.OrgID)
			}
			got = append(got, e.AgentID)
		}
		if len(got) != len(want) {
			t.Errorf("organisation %s: entries of %v, want %v", org, got, want)
		}
	}
}

// testMatchByLine: a connection that came in on an organisation's line
// matches only that organisation's sessions; one on no known line any.
func testMatchByLine(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	s := newSession("p1", base)
	s.OrgID = "gemeente-a"
	code := randomBytes(32)
	if _, err := st.CreateSession(ctx, s, code, randomBytes(32), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	transition(t, st, veilig.Transition{SessionID: s.ID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateDisclosed, At: base,
		SealedDisclosure: &veilig.Sealed{KeyID: "k", Data: []byte("d")}})
	at := base.Add(time.Minute)
	_, _, err := st.MatchCode(ctx, code, veilig.Connection{Platform: "p", ID: "line-b", OrgID: "gemeente-b"}, at, 0)
	wantCode(t, "a code on another organisation's line", err, veilig.ENOMATCH)
	l, err := st.LookUpCode(ctx, veilig.Attempt{CallerKey: randomBytes(32), Since: base, Max: 5, At: at}, code, veilig.Connection{Platform: "p", ID: "line-b2", OrgID: "gemeente-b"})
	if err != nil || l.Session != nil {
		t.Fatalf("LookUpCode on another organisation's line: %+v %v", l, err)
	}
	got, _, err := st.MatchCode(ctx, code, veilig.Connection{Platform: "p", ID: "line-a", OrgID: "gemeente-a"}, at, 0)
	if err != nil || got.ID != s.ID {
		t.Fatalf("a code on its organisation's line: %v %v", got, err)
	}
}

// testRemoveOrganisation: removing an organisation deletes its sessions
// (with their events), its accounts (with their sign-ins) and its audit
// trail, and nothing of another organisation; keepAudit keeps the trail.
func testRemoveOrganisation(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	type org struct {
		session *veilig.Session
		agent   *veilig.Agent
	}
	orgs := map[string]*org{}
	for _, id := range []string{"gemeente-a", "gemeente-b"} {
		s := newSession("p-"+id, base)
		s.OrgID = id
		if _, err := st.CreateSession(ctx, s, randomBytes(32), randomBytes(32), base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		a := newAgent("agent-" + id)
		a.OrgID = id
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAgentSession(ctx, &veilig.AgentSession{TokenHash: randomBytes(32), AgentID: a.ID, CSRFToken: "c", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		transition(t, st, veilig.Transition{SessionID: s.ID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateCreated, At: base,
			Audit: &veilig.AuditEntry{AgentID: a.ID, Action: veilig.AuditContactOpened}})
		orgs[id] = &org{s, a}
	}
	res, err := st.RemoveOrganisation(ctx, "gemeente-a", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sessions != 1 || res.Events < 1 || res.AgentSessions != 1 || res.Agents != 1 || res.AuditEntries != 1 {
		t.Errorf("removed %+v, want A's session, its events, sign-in and audit entry", res)
	}
	a, b := orgs["gemeente-a"], orgs["gemeente-b"]
	if _, err := st.Session(ctx, a.session.ID); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("A's session after the removal: %v", err)
	}
	if _, err := st.Agent(ctx, a.agent.ID); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("A's account after the removal: %v", err)
	}
	if evs, err := st.EventsSince(ctx, veilig.EventFilter{SessionID: a.session.ID}, 0, 0); err != nil || len(evs) != 0 {
		t.Errorf("A's events after the removal: %v %v", evs, err)
	}
	if es, err := st.Audit(ctx, veilig.AuditFilter{OrgID: "gemeente-a"}); err != nil || len(es) != 0 {
		t.Errorf("A's audit trail after the removal: %v %v", es, err)
	}
	if _, err := st.Session(ctx, b.session.ID); err != nil {
		t.Errorf("B's session: %v", err)
	}
	if _, err := st.Agent(ctx, b.agent.ID); err != nil {
		t.Errorf("B's account: %v", err)
	}
	if es, err := st.Audit(ctx, veilig.AuditFilter{OrgID: "gemeente-b"}); err != nil || len(es) != 1 {
		t.Errorf("B's audit trail: %v %v", es, err)
	}
	// Keeping the trail (an organisation's retention setting) keeps it.
	res, err = st.RemoveOrganisation(ctx, "gemeente-b", true)
	if err != nil || res.Sessions != 1 || res.AuditEntries != 0 {
		t.Fatalf("removing B keeping its trail: %+v %v", res, err)
	}
	if es, err := st.Audit(ctx, veilig.AuditFilter{OrgID: "gemeente-b"}); err != nil || len(es) != 1 {
		t.Errorf("B's kept audit trail: %v %v", es, err)
	}
}

// testMissesByOrganisation: a miss is counted for the organisation whose
// line it came in on, and in the deployment's total.
func testMissesByOrganisation(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	l, err := st.LookUpCode(ctx, veilig.Attempt{CallerKey: randomBytes(32), Since: base.Add(-time.Hour), At: base, OrgID: "gemeente-a"}, randomBytes(32), veilig.Connection{Platform: "p", ID: "miss-a", OrgID: "gemeente-a"})
	if err != nil || !l.Allowed || l.MissID == 0 {
		t.Fatalf("look up: %+v %v", l, err)
	}
	if err := st.RecordMiss(ctx, randomBytes(32), "gemeente-b", base); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordMiss(ctx, nil, "gemeente-b", base); err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]int{"gemeente-a": 1, "gemeente-b": 2, "gemeente-c": 0} {
		if n, err := st.CountOrgMisses(ctx, org, base.Add(-time.Minute)); err != nil || n != want {
			t.Errorf("%s's misses: %d %v, want %d", org, n, err, want)
		}
	}
	if n, err := st.CountMisses(ctx, nil, base.Add(-time.Minute)); err != nil || n != 3 {
		t.Errorf("all misses: %d %v, want 3", n, err)
	}
	if n, err := st.CountOrgMisses(ctx, "gemeente-a", base.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("misses after they happened: %d %v", n, err)
	}
}

// testAuditCutoffs: a purge keeps each organisation's audit trail as long
// as its own retention says, everyone else's as long as the deployment's.
func testAuditCutoffs(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	a := newAgent("auditor")
	if err := st.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Entries 10 and 40 days old, of three organisations.
	for _, org := range []string{"short", "long", "plain"} {
		for _, age := range []int{10, 40} {
			e := &veilig.AuditEntry{At: base.Add(-time.Duration(age) * 24 * time.Hour), AgentID: a.ID, Action: veilig.AuditAgentSignIn, OrgID: org}
			if err := st.AddAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The deployment keeps 30 days; "short" 7, "long" 60.
	res, err := st.Purge(ctx, base, veilig.AuditCutoffs{Before: base.Add(-30 * 24 * time.Hour), ByOrg: map[string]time.Time{
		"short": base.Add(-7 * 24 * time.Hour), "long": base.Add(-60 * 24 * time.Hour),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.AuditEntries != 3 {
		t.Errorf("purged %d audit entries, want 3 (short's two, plain's old one)", res.AuditEntries)
	}
	for org, want := range map[string]int{"short": 0, "long": 2, "plain": 1} {
		if es, err := st.Audit(ctx, veilig.AuditFilter{OrgID: org}); err != nil || len(es) != want {
			t.Errorf("%s keeps %d audit entries (%v), want %d", org, len(es), err, want)
		}
	}
}
