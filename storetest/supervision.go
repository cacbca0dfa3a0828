package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// testAuditSubjectAndFilters: account actions keep their subject and detail,
// and the audit log filters by action, purpose and subject.
func testAuditSubjectAndFilters(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	e1 := &veilig.AuditEntry{At: base, AgentID: "admin", Action: veilig.AuditAccountCreated, Subject: "a1", Detail: "role=agent purposes=p1"}
	e2 := &veilig.AuditEntry{At: base.Add(time.Minute), AgentID: "a1", Action: veilig.AuditContactOpened, SessionID: "s1", PurposeID: "p1", Attributes: []string{"x.y.z.bsn"}}
	e3 := &veilig.AuditEntry{At: base.Add(2 * time.Minute), AgentID: "admin", Action: veilig.AuditAccountUpdated, Subject: "a1", Detail: "disabled=true"}
	e4 := &veilig.AuditEntry{At: base.Add(3 * time.Minute), AgentID: "a2", Action: veilig.AuditContactOpened, SessionID: "s2", PurposeID: "p2"}
	e5 := &veilig.AuditEntry{At: base.Add(4 * time.Minute), AgentID: "admin", Action: veilig.AuditExported, Detail: "format=csv entries=4"}
	for _, e := range []*veilig.AuditEntry{e1, e2, e3, e4, e5} {
		if err := st.AddAudit(ctx, e); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
	}
	// Entries written by a transition keep subject and detail too.
	c := create(t, st, "p3", base)
	e6 := &veilig.AuditEntry{At: base.Add(5 * time.Minute), AgentID: "a3", Action: veilig.AuditContactEnded, Subject: "sub", Detail: "detail"}
	transition(t, st, veilig.Transition{SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled, Event: "cancelled", At: base.Add(5 * time.Minute), Audit: e6})
	if e6.ID == 0 {
		t.Fatal("Transition did not set the audit entry's ID")
	}

	for _, tc := range []struct {
		name string
		f    veilig.AuditFilter
		want []*veilig.AuditEntry
	}{
		{"action", veilig.AuditFilter{Action: veilig.AuditContactOpened}, []*veilig.AuditEntry{e4, e2}},
		{"purpose", veilig.AuditFilter{PurposeID: "p1"}, []*veilig.AuditEntry{e2}},
		{"subject", veilig.AuditFilter{Subject: "a1"}, []*veilig.AuditEntry{e3, e1}},
		{"subject and action", veilig.AuditFilter{Subject: "a1", Action: veilig.AuditAccountUpdated}, []*veilig.AuditEntry{e3}},
		{"agent and action", veilig.AuditFilter{AgentID: "admin", Action: veilig.AuditExported}, []*veilig.AuditEntry{e5}},
		{"transition entry", veilig.AuditFilter{SessionID: c.ID}, []*veilig.AuditEntry{e6}},
		{"unknown action", veilig.AuditFilter{Action: "nothing"}, nil},
	} {
		got, err := st.Audit(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: Audit: %v", tc.name, err)
		}
		if !slices.Equal(auditIDs(got), auditIDs(tc.want)) {
			t.Errorf("%s: Audit = %v, want %v", tc.name, auditIDs(got), auditIDs(tc.want))
			continue
		}
		for i := range got {
			sameAudit(t, got[i], tc.want[i])
		}
	}
}

func testActiveAgentSessions(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	now := base.Add(time.Hour)
	alice, bob := newAgent("alice"), newAgent("bob")
	for _, a := range []*veilig.Agent{alice, bob} {
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatalf("CreateAgent: %v", err)
		}
	}
	mk := func(agent string, seen, expires time.Time) *veilig.AgentSession {
		s := &veilig.AgentSession{TokenHash: randomBytes(32), AgentID: agent, CSRFToken: "csrf-" + randomID(),
			CreatedAt: base, LastSeenAt: seen, ExpiresAt: expires}
		if err := st.CreateAgentSession(ctx, s); err != nil {
			t.Fatalf("CreateAgentSession: %v", err)
		}
		return s
	}
	recent := mk(alice.ID, now.Add(-time.Minute), now.Add(time.Hour))
	edge := mk(bob.ID, now.Add(-30*time.Minute), now.Add(time.Hour)) // seen exactly at seenSince: online
	mk(bob.ID, now.Add(-31*time.Minute), now.Add(time.Hour))         // idle too long
	mk(alice.ID, now.Add(-time.Second), now)                         // expires at now: gone

	got, err := st.ActiveAgentSessions(ctx, now.Add(-30*time.Minute), now)
	if err != nil {
		t.Fatalf("ActiveAgentSessions: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("ActiveAgentSessions = %d sessions, want 2", len(got))
	}
	sameAgentSession(t, got[0], recent)
	sameAgentSession(t, got[1], edge)

	got, err = st.ActiveAgentSessions(ctx, now.Add(time.Minute), now)
	if err != nil || len(got) != 0 {
		t.Fatalf("ActiveAgentSessions seen in the future = %d, %v; want none", len(got), err)
	}
}

func testDeleteAgentSessions(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	alice, bob := newAgent("alice"), newAgent("bob")
	for _, a := range []*veilig.Agent{alice, bob} {
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatalf("CreateAgent: %v", err)
		}
	}
	var aliceTokens [][]byte
	var bobToken []byte
	for i, agent := range []string{alice.ID, alice.ID, bob.ID} {
		s := &veilig.AgentSession{TokenHash: randomBytes(32), AgentID: agent, CSRFToken: "c", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := st.CreateAgentSession(ctx, s); err != nil {
			t.Fatalf("CreateAgentSession: %v", err)
		}
		if i < 2 {
			aliceTokens = append(aliceTokens, s.TokenHash)
		} else {
			bobToken = s.TokenHash
		}
	}
	if err := st.DeleteAgentSessions(ctx, alice.ID); err != nil {
		t.Fatalf("DeleteAgentSessions: %v", err)
	}
	for _, tok := range aliceTokens {
		_, err := st.AgentSession(ctx, tok)
		wantCode(t, "AgentSession after DeleteAgentSessions", err, veilig.ENOTFOUND)
	}
	if _, err := st.AgentSession(ctx, bobToken); err != nil {
		t.Errorf("DeleteAgentSessions removed another agent's session: %v", err)
	}
	if err := st.DeleteAgentSessions(ctx, "no-such-agent"); err != nil {
		t.Errorf("DeleteAgentSessions of an agent without sessions: %v", err)
	}
}

func testCountMatched(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	if got, err := st.CountMatched(ctx, base); err != nil || len(got) != 0 {
		t.Fatalf("CountMatched of an empty store = %v, %v", got, err)
	}
	match := func(purpose string, at time.Time) *veilig.StoredSession {
		c := create(t, st, purpose, at.Add(-time.Minute))
		disclose(t, st, c.ID, at.Add(-30*time.Second))
		s, _, err := st.MatchCode(ctx, c.code, newCall(), at, 0)
		if err != nil {
			t.Fatalf("MatchCode: %v", err)
		}
		return s
	}
	match("p1", base.Add(-time.Second)) // before since: not counted
	match("p1", base)                   // at since: counted
	s := match("p1", base.Add(time.Hour))
	match("p2", base.Add(2*time.Hour))
	create(t, st, "p3", base.Add(time.Hour)) // never matched
	// A contact that ended still counts: it was matched today.
	transition(t, st, veilig.Transition{SessionID: s.ID, From: states(veilig.StateMatched), To: veilig.StateEnded, Event: "ended",
		At: base.Add(90 * time.Minute), DestroyPersonal: true, ClearCode: true, RetainUntil: base.Add(1000 * time.Hour)})

	got, err := st.CountMatched(ctx, base)
	if err != nil {
		t.Fatalf("CountMatched: %v", err)
	}
	if want := map[string]int{"p1": 2, "p2": 1}; !maps.Equal(got, want) {
		t.Errorf("CountMatched = %v, want %v", got, want)
	}
	got, err = st.CountMatched(ctx, base.Add(3*time.Hour))
	if err != nil || len(got) != 0 {
		t.Errorf("CountMatched after every match = %v, %v; want none", got, err)
	}
}
