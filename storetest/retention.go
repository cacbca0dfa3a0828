package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func sameAudit(t *testing.T, got, want *veilig.AuditEntry) {
	t.Helper()
	if got.ID != want.ID || got.AgentID != want.AgentID || got.Action != want.Action ||
		got.SessionID != want.SessionID || got.PurposeID != want.PurposeID ||
		!slices.Equal(got.Attributes, want.Attributes) || got.RemoteAddr != want.RemoteAddr ||
		got.Subject != want.Subject || got.Detail != want.Detail {
		t.Errorf("audit entry = %+v, want %+v", got, want)
	}
	sameTime(t, "audit At", got.At, want.At)
}

func auditIDs(es []*veilig.AuditEntry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testAudit(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	e1 := &veilig.AuditEntry{At: base, AgentID: "a1", Action: veilig.AuditContactOpened, SessionID: "s1", PurposeID: "p1",
		Attributes: []string{"pbdf.gemeente.personalData.bsn", "pbdf.gemeente.personalData.fullname"}, RemoteAddr: "192.0.2.1"}
	e2 := &veilig.AuditEntry{At: base.Add(time.Minute), AgentID: "a2", Action: veilig.AuditContactOpened, SessionID: "s1", PurposeID: "p1"}
	e3 := &veilig.AuditEntry{At: base.Add(2 * time.Minute), AgentID: "a1", Action: veilig.AuditContactEnded, SessionID: "s2", PurposeID: "p2"}
	e4 := &veilig.AuditEntry{At: base.Add(3 * time.Minute), AgentID: "a1", Action: veilig.AuditAgentSignIn, RemoteAddr: "2001:db8::1"}
	// Same instant as e4: the later entry is the newer one.
	e5 := &veilig.AuditEntry{At: base.Add(3 * time.Minute), AgentID: "a3", Action: veilig.AuditAgentSignIn}
	for _, e := range []*veilig.AuditEntry{e1, e2, e3, e4, e5} {
		if err := st.AddAudit(ctx, e); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
		if e.ID == 0 {
			t.Fatal("AddAudit did not set ID")
		}
	}

	for _, tc := range []struct {
		name string
		f    veilig.AuditFilter
		want []*veilig.AuditEntry
	}{
		{"all", veilig.AuditFilter{}, []*veilig.AuditEntry{e5, e4, e3, e2, e1}},
		{"agent", veilig.AuditFilter{AgentID: "a1"}, []*veilig.AuditEntry{e4, e3, e1}},
		{"session", veilig.AuditFilter{SessionID: "s1"}, []*veilig.AuditEntry{e2, e1}},
		{"agent and session", veilig.AuditFilter{AgentID: "a1", SessionID: "s1"}, []*veilig.AuditEntry{e1}},
		{"since (inclusive)", veilig.AuditFilter{Since: e2.At}, []*veilig.AuditEntry{e5, e4, e3, e2}},
		{"until (exclusive)", veilig.AuditFilter{Until: e3.At}, []*veilig.AuditEntry{e2, e1}},
		{"since and until", veilig.AuditFilter{Since: e2.At, Until: e4.At}, []*veilig.AuditEntry{e3, e2}},
		{"limit", veilig.AuditFilter{Limit: 2}, []*veilig.AuditEntry{e5, e4}},
		{"unknown agent", veilig.AuditFilter{AgentID: "nobody"}, nil},
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

func testRememberSignature(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	sig := randomBytes(32)
	if err := st.RememberSignature(ctx, sig, base.Add(5*time.Minute)); err != nil {
		t.Fatalf("RememberSignature: %v", err)
	}
	wantCode(t, "RememberSignature replay", st.RememberSignature(ctx, sig, base.Add(5*time.Minute)), veilig.ECONFLICT)
	wantCode(t, "RememberSignature replay with another expiry", st.RememberSignature(ctx, sig, base.Add(time.Hour)), veilig.ECONFLICT)
	if err := st.RememberSignature(ctx, randomBytes(32), base.Add(5*time.Minute)); err != nil {
		t.Errorf("RememberSignature of another signature: %v", err)
	}
}

func testMisses(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	k1, k2 := randomBytes(32), randomBytes(32)
	for _, m := range []struct {
		key []byte
		at  time.Time
	}{
		{k1, base}, {k1, base.Add(time.Minute)}, {k2, base.Add(2 * time.Minute)}, {nil, base.Add(3 * time.Minute)},
	} {
		if err := st.RecordMiss(ctx, m.key, "", m.at); err != nil {
			t.Fatalf("RecordMiss: %v", err)
		}
	}
	for _, tc := range []struct {
		name  string
		key   []byte
		since time.Time
		want  int
	}{
		{"k1", k1, base, 2},
		{"k1 since a later time", k1, base.Add(30 * time.Second), 1},
		{"k1 since its last miss (inclusive)", k1, base.Add(time.Minute), 1},
		{"k2 since ever", k2, time.Time{}, 1},
		{"unknown key", randomBytes(32), time.Time{}, 0},
		{"all", nil, base, 4},
		{"all since a later time", nil, base.Add(90 * time.Second), 2},
		{"all in the future", nil, base.Add(time.Hour), 0},
	} {
		got, err := st.CountMisses(ctx, tc.key, tc.since)
		if err != nil {
			t.Fatalf("%s: CountMisses: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: CountMisses = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func testPurge(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	now := base.Add(time.Hour)

	// Sessions: one whose retention ended (with two events), one retained
	// until exactly now (kept: "ended before now"), one retained for
	// long, and one whose retention an ending transition shortened.
	s := func(retain time.Time) created {
		sess := newSession("p1", base)
		c := created{Session: sess, code: randomBytes(32), status: randomBytes(32)}
		ev, err := st.CreateSession(ctx, sess, c.code, c.status, retain)
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		c.event = ev
		return c
	}
	old := s(now.Add(-time.Millisecond))
	transition(t, st, veilig.Transition{
		SessionID: old.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: base.Add(time.Second),
	})
	boundary := s(now)
	kept := s(now.Add(48 * time.Hour))
	ended := s(now.Add(48 * time.Hour))
	transition(t, st, veilig.Transition{
		SessionID: ended.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(time.Second), ClearCode: true, DestroyPersonal: true,
		RetainUntil: base.Add(30 * time.Minute),
		Audit:       &veilig.AuditEntry{At: base.Add(time.Second), Action: veilig.AuditContactEnded, SessionID: ended.ID},
	})

	a := newAgent("alice")
	if err := st.CreateAgent(ctx, a); err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	agentSession := func(expires time.Time) []byte {
		as := &veilig.AgentSession{TokenHash: randomBytes(32), AgentID: a.ID, CSRFToken: "csrf",
			CreatedAt: base, LastSeenAt: base, ExpiresAt: expires}
		if err := st.CreateAgentSession(ctx, as); err != nil {
			t.Fatalf("CreateAgentSession: %v", err)
		}
		return as.TokenHash
	}
	expiredAgent := agentSession(base.Add(30 * time.Minute))
	liveAgent := agentSession(now.Add(time.Hour))

	oldSig, liveSig := randomBytes(32), randomBytes(32)
	for sig, exp := range map[*[]byte]time.Time{&oldSig: base.Add(30 * time.Minute), &liveSig: now.Add(time.Hour)} {
		if err := st.RememberSignature(ctx, *sig, exp); err != nil {
			t.Fatalf("RememberSignature: %v", err)
		}
	}

	for _, at := range []time.Time{now.Add(-25 * time.Hour), now.Add(-23 * time.Hour), now} {
		if err := st.RecordMiss(ctx, randomBytes(32), "", at); err != nil {
			t.Fatalf("RecordMiss: %v", err)
		}
	}

	auditBefore := base.Add(-24 * time.Hour)
	if err := st.AddAudit(ctx, &veilig.AuditEntry{At: auditBefore.Add(-time.Hour), AgentID: a.ID, Action: veilig.AuditAgentSignIn}); err != nil {
		t.Fatalf("AddAudit: %v", err)
	}
	if err := st.AddAudit(ctx, &veilig.AuditEntry{At: auditBefore, AgentID: a.ID, Action: veilig.AuditAgentSignIn}); err != nil {
		t.Fatalf("AddAudit: %v", err)
	}

	maxSeq := lastSeq(t, st)
	res, err := st.Purge(ctx, now, veilig.AuditCutoffs{Before: auditBefore})
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	want := veilig.PurgeResult{Sessions: 2, Events: 4, AgentSessions: 1, Signatures: 1, Misses: 1, AuditEntries: 1}
	if res != want {
		t.Errorf("Purge = %+v, want %+v", res, want)
	}

	for _, c := range []created{old, ended} {
		_, err := st.Session(ctx, c.ID)
		wantCode(t, "Session after Purge", err, veilig.ENOTFOUND)
		if es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID}); len(es) != 0 {
			t.Errorf("Purge left %d events of a removed session", len(es))
		}
	}
	for _, c := range []created{boundary, kept} {
		if _, err := st.Session(ctx, c.ID); err != nil {
			t.Errorf("Purge removed a retained session: %v", err)
		}
		if es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID}); len(es) != 1 {
			t.Errorf("retained session has %d events, want 1", len(es))
		}
	}
	_, err = st.AgentSession(ctx, expiredAgent)
	wantCode(t, "AgentSession after Purge", err, veilig.ENOTFOUND)
	if _, err := st.AgentSession(ctx, liveAgent); err != nil {
		t.Errorf("Purge removed a live agent session: %v", err)
	}
	if err := st.RememberSignature(ctx, oldSig, now.Add(time.Hour)); err != nil {
		t.Errorf("RememberSignature of a purged signature: %v", err)
	}
	wantCode(t, "RememberSignature of a live signature", st.RememberSignature(ctx, liveSig, now.Add(time.Hour)), veilig.ECONFLICT)
	if n, err := st.CountMisses(ctx, nil, time.Time{}); err != nil || n != 2 {
		t.Errorf("misses after Purge = %d, %v; want 2", n, err)
	}
	audit, err := st.Audit(ctx, veilig.AuditFilter{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	// The entry at auditBefore and the one of the ended session remain:
	// audit entries outlive the sessions they are about.
	if len(audit) != 2 {
		t.Errorf("audit entries after Purge = %d, want 2", len(audit))
	}

	if res, err := st.Purge(ctx, now, veilig.AuditCutoffs{Before: auditBefore}); err != nil || res != (veilig.PurgeResult{}) {
		t.Errorf("second Purge = %+v, %v; want nothing removed", res, err)
	}

	// The highest Seq was purged; it must not be handed out again, or a
	// stream resuming from it would skip the new event.
	if c := create(t, st, "p1", now); c.event.Seq <= maxSeq {
		t.Errorf("Seq %d after Purge reuses a number up to %d", c.event.Seq, maxSeq)
	}
}
