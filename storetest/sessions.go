package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func testCreateSession(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	if seq := lastSeq(t, st); seq != 0 {
		t.Fatalf("LastEventSeq of an empty store = %d, want 0", seq)
	}
	c := create(t, st, "p1", base)
	if c.State != veilig.StateCreated {
		t.Errorf("State after CreateSession = %q, want created", c.State)
	}
	want := veilig.Event{Seq: c.event.Seq, SessionID: c.ID, PurposeID: "p1", Type: string(veilig.StateCreated), At: base}
	if c.event.Seq <= 0 {
		t.Errorf("created event Seq = %d, want > 0", c.event.Seq)
	}
	sameEvent(t, "created event", c.event, want)
	if seq := lastSeq(t, st); seq != c.event.Seq {
		t.Errorf("LastEventSeq = %d, want %d", seq, c.event.Seq)
	}

	wantSession := &veilig.StoredSession{Session: *c.Session}
	got := session(t, st, c.ID)
	sameSession(t, got, wantSession)
	for _, zero := range []time.Time{got.DisclosedAt, got.MatchedAt, got.AnsweredAt, got.EndedAt} {
		if !zero.IsZero() {
			t.Errorf("unset time came back as %v", zero)
		}
	}
	got, err := st.SessionByStatusToken(ctx, c.status)
	if err != nil {
		t.Fatalf("SessionByStatusToken: %v", err)
	}
	sameSession(t, got, wantSession)

	_, err = st.Session(ctx, "no-such-session")
	wantCode(t, "Session of an unknown id", err, veilig.ENOTFOUND)
	_, err = st.SessionByStatusToken(ctx, randomBytes(32))
	wantCode(t, "SessionByStatusToken of an unknown token", err, veilig.ENOTFOUND)
	_, err = st.SessionByStatusToken(ctx, c.code)
	wantCode(t, "SessionByStatusToken of the code hash", err, veilig.ENOTFOUND)

	es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID})
	if len(es) != 1 {
		t.Fatalf("events after CreateSession = %v, want one", types(es))
	}
	sameEvent(t, "stored created event", es[0], want)
}

func testCreateSessionConflicts(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	before := lastSeq(t, st)

	dup := newSession("p1", base)
	dup.ID = c.ID
	_, err := st.CreateSession(ctx, dup, randomBytes(32), randomBytes(32), base.Add(time.Hour))
	wantCode(t, "CreateSession with a used id", err, veilig.ECONFLICT)

	other := newSession("p1", base)
	_, err = st.CreateSession(ctx, other, randomBytes(32), c.status, base.Add(time.Hour))
	wantCode(t, "CreateSession with a used status token hash", err, veilig.ECONFLICT)
	_, err = st.Session(ctx, other.ID)
	wantCode(t, "Session after a failed CreateSession", err, veilig.ENOTFOUND)

	if seq := lastSeq(t, st); seq != before {
		t.Errorf("failed CreateSession appended events: LastEventSeq %d, want %d", seq, before)
	}
	if got := session(t, st, c.ID); got.PurposeID != "p1" || !got.CreatedAt.Equal(base) {
		t.Errorf("the first session changed: %+v", got.Session)
	}
}

func testCodeHashUnique(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	first := create(t, st, "p1", base)
	before := lastSeq(t, st)

	second := newSession("p1", base.Add(time.Second))
	_, err := st.CreateSession(ctx, second, first.code, randomBytes(32), base.Add(time.Hour))
	wantCode(t, "CreateSession with a code hash in use", err, veilig.ECONFLICT)
	_, err = st.Session(ctx, second.ID)
	wantCode(t, "Session after a code conflict", err, veilig.ENOTFOUND)
	if seq := lastSeq(t, st); seq != before {
		t.Errorf("a code conflict appended events: LastEventSeq %d, want %d", seq, before)
	}

	transition(t, st, veilig.Transition{
		SessionID: first.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(time.Second), ClearCode: true,
	})
	if _, err := st.CreateSession(ctx, second, first.code, randomBytes(32), base.Add(time.Hour)); err != nil {
		t.Fatalf("CreateSession with a cleared code hash: %v", err)
	}

	// Channels without a code store none; "no code" is not a value to clash on.
	for range 2 {
		if _, err := st.CreateSession(ctx, newSession("p1", base), nil, randomBytes(32), base.Add(time.Hour)); err != nil {
			t.Fatalf("CreateSession without a code: %v", err)
		}
	}
}

func testTransitionSetsFields(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	want := &veilig.StoredSession{Session: *c.Session}
	prev := c.event.Seq
	step := func(name string, tr veilig.Transition) veilig.Event {
		t.Helper()
		tr.SessionID = c.ID
		got, ev, err := st.Transition(ctx, tr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameSession(t, got, want)
		sameSession(t, session(t, st, c.ID), want)
		if tr.Event == "" {
			if ev != (veilig.Event{}) {
				t.Errorf("%s: event %+v for a transition without one", name, ev)
			}
			return ev
		}
		if ev.Seq <= prev {
			t.Errorf("%s: Seq %d not after %d", name, ev.Seq, prev)
		}
		prev = ev.Seq
		sameEvent(t, name, ev, veilig.Event{Seq: ev.Seq, SessionID: c.ID, PurposeID: "p1", Type: tr.Event, Reason: tr.Reason, At: tr.At})
		return ev
	}

	at := base.Add(time.Second)
	token := "requestor-token"
	want.State, want.ProofRef = veilig.StateDisclosing, token
	step("to disclosing", veilig.Transition{
		From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: at, ProofRef: &token,
	})

	at = at.Add(time.Second)
	d := sealedDisclosure
	want.State, want.SealedDisclosure, want.DisclosedAt = veilig.StateDisclosed, d, at
	step("to disclosed", veilig.Transition{
		From: states(veilig.StateCreated, veilig.StateDisclosing), To: veilig.StateDisclosed,
		Event: string(veilig.StateDisclosed), At: at, SealedDisclosure: &d,
	})

	at = at.Add(time.Second)
	call := newCall()
	want.State, want.Platform, want.ConnectionID, want.SealedAddress, want.MatchedAt = veilig.StateMatched, call.Platform, call.ID, call.SealedAddress, at
	step("to matched", veilig.Transition{
		From: states(veilig.StateDisclosed), To: veilig.StateMatched,
		Event: string(veilig.StateMatched), At: at, Connection: &call, ClearCode: true,
	})

	at = at.Add(time.Second)
	step("queued", veilig.Transition{
		From: states(veilig.StateMatched), To: veilig.StateMatched, Event: veilig.EventQueued, At: at,
	})
	seqBefore := lastSeq(t, st)
	step("without event", veilig.Transition{
		From: states(veilig.StateMatched), To: veilig.StateMatched, At: at,
	})
	if seq := lastSeq(t, st); seq != seqBefore {
		t.Errorf("a transition without event appended one: LastEventSeq %d, want %d", seq, seqBefore)
	}

	at = at.Add(time.Second)
	agent := "agent-1"
	entry := &veilig.AuditEntry{
		At: at, AgentID: agent, Action: veilig.AuditContactOpened, SessionID: c.ID, PurposeID: "p1",
		Attributes: []string{"pbdf.gemeente.personalData.bsn"}, RemoteAddr: "192.0.2.1",
	}
	want.State, want.TakenBy, want.AnsweredAt = veilig.StateAnswered, agent, at
	step("to answered", veilig.Transition{
		From: states(veilig.StateMatched), To: veilig.StateAnswered,
		Event: string(veilig.StateAnswered), At: at, TakenBy: &agent, Audit: entry,
	})
	if entry.ID == 0 {
		t.Error("the transition's audit entry has no ID")
	}
	audit, err := st.Audit(ctx, veilig.AuditFilter{SessionID: c.ID})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if len(audit) != 1 {
		t.Fatalf("audit entries of the session = %d, want 1", len(audit))
	}
	sameAudit(t, audit[0], entry)

	at = at.Add(time.Second)
	reason := "the agent ended the contact"
	want.State, want.Reason, want.EndedAt = veilig.StateEnded, reason, at
	want.SealedDisclosure, want.SealedAddress, want.ProofRef = veilig.Sealed{}, veilig.Sealed{}, ""
	step("to ended", veilig.Transition{
		From: states(veilig.StateMatched, veilig.StateAnswered), To: veilig.StateEnded,
		Event: string(veilig.StateEnded), Reason: reason, At: at,
		DestroyPersonal: true, RetainUntil: at.Add(time.Hour),
	})

	es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID})
	wantTypes := []string{"created", "disclosing", "disclosed", "matched", "queued", "answered", "ended"}
	if !slices.Equal(types(es), wantTypes) {
		t.Errorf("events = %v, want %v", types(es), wantTypes)
	}
	increasing(t, "session events", es)
	if n := len(es); n > 0 && es[n-1].Reason != reason {
		t.Errorf("ended event reason = %q, want %q", es[n-1].Reason, reason)
	}
}

func testTransitionWrongState(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	want := session(t, st, c.ID)
	before := lastSeq(t, st)
	token := "requestor-token"
	d := sealedDisclosure
	agent := "agent-1"
	call := newCall()

	fail := func(what string, tr veilig.Transition) {
		t.Helper()
		tr.SessionID = c.ID
		tr.Event = string(tr.To)
		tr.At = base.Add(time.Minute)
		tr.Reason = "should not be stored"
		tr.ProofRef, tr.SealedDisclosure, tr.Connection, tr.TakenBy = &token, &d, &call, &agent
		tr.ClearCode, tr.DestroyPersonal = true, true
		tr.Audit = &veilig.AuditEntry{At: tr.At, AgentID: agent, Action: veilig.AuditContactOpened, SessionID: c.ID}
		_, _, err := st.Transition(ctx, tr)
		wantCode(t, what, err, veilig.ECONFLICT)
		sameSession(t, session(t, st, c.ID), want)
		if seq := lastSeq(t, st); seq != before {
			t.Errorf("%s appended events: LastEventSeq %d, want %d", what, seq, before)
		}
		if audit, err := st.Audit(ctx, veilig.AuditFilter{}); err != nil || len(audit) != 0 {
			t.Errorf("%s wrote audit entries: %d, %v", what, len(audit), err)
		}
	}
	fail("Transition from a state the session is not in", veilig.Transition{
		From: states(veilig.StateDisclosed), To: veilig.StateMatched,
	})
	fail("Transition with no allowed state", veilig.Transition{To: veilig.StateDisclosing})
	fail("Transition the state machine does not allow", veilig.Transition{
		From: states(veilig.StateCreated), To: veilig.StateAnswered,
	})

	// The code is still held: the failed transitions did not clear it.
	_, err := st.CreateSession(ctx, newSession("p1", base), c.code, randomBytes(32), base.Add(time.Hour))
	wantCode(t, "CreateSession with the code after failed transitions", err, veilig.ECONFLICT)

	cancelled, _ := transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(time.Second), ClearCode: true,
	})
	sameTime(t, "EndedAt of a cancelled session", cancelled.EndedAt, base.Add(time.Second))
	_, _, err = st.Transition(ctx, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated, veilig.StateCancelled), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: base.Add(2 * time.Second),
	})
	wantCode(t, "Transition out of a terminal state", err, veilig.ECONFLICT)
}

func testTransitionNotFound(t *testing.T, st veilig.Store) {
	_, _, err := st.Transition(t.Context(), veilig.Transition{
		SessionID: "no-such-session", From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base,
		Audit: &veilig.AuditEntry{At: base, Action: veilig.AuditContactEnded},
	})
	wantCode(t, "Transition of an unknown session", err, veilig.ENOTFOUND)
	if seq := lastSeq(t, st); seq != 0 {
		t.Errorf("LastEventSeq = %d, want 0", seq)
	}
	if audit, err := st.Audit(t.Context(), veilig.AuditFilter{}); err != nil || len(audit) != 0 {
		t.Errorf("a failed transition wrote audit entries: %d, %v", len(audit), err)
	}
}

func testTransitionCallConflict(t *testing.T, st veilig.Store) {
	a := create(t, st, "p1", base)
	b := create(t, st, "p1", base)
	disclose(t, st, a.ID, base.Add(time.Second))
	disclose(t, st, b.ID, base.Add(time.Second))
	call := newCall()
	matched := func(id string) veilig.Transition {
		return veilig.Transition{
			SessionID: id, From: states(veilig.StateDisclosed), To: veilig.StateMatched,
			Event: string(veilig.StateMatched), At: base.Add(time.Minute), Connection: &call, ClearCode: true,
		}
	}
	transition(t, st, matched(a.ID))
	want := session(t, st, b.ID)
	before := lastSeq(t, st)
	_, _, err := st.Transition(t.Context(), matched(b.ID))
	wantCode(t, "Transition to a call matched to another session", err, veilig.ECONFLICT)
	sameSession(t, session(t, st, b.ID), want)
	if seq := lastSeq(t, st); seq != before {
		t.Errorf("a call conflict appended events: LastEventSeq %d, want %d", seq, before)
	}
}

func testDestroyPersonal(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	disclose(t, st, c.ID, base.Add(time.Second))
	if _, _, err := st.MatchCode(ctx, c.code, newCall(), base.Add(time.Minute), 0); err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	got := session(t, st, c.ID)
	if got.SealedDisclosure.IsZero() || got.SealedAddress.IsZero() || got.ProofRef == "" {
		t.Fatalf("the session holds no personal data to destroy: %+v", got)
	}

	// DestroyPersonal without a state change: a contact whose attributes
	// are gone, for instance once the agent has seen them.
	s, _ := transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateMatched), To: veilig.StateMatched,
		At: base.Add(2 * time.Minute), DestroyPersonal: true,
	})
	for _, s := range []*veilig.StoredSession{s, session(t, st, c.ID)} {
		if !s.SealedDisclosure.IsZero() || !s.SealedAddress.IsZero() || s.ProofRef != "" {
			t.Errorf("personal data left after DestroyPersonal: disclosure %v, caller %v, token set %v",
				!s.SealedDisclosure.IsZero(), !s.SealedAddress.IsZero(), s.ProofRef != "")
		}
		if s.State != veilig.StateMatched || s.ConnectionID != got.ConnectionID || !s.DisclosedAt.Equal(got.DisclosedAt) {
			t.Errorf("DestroyPersonal changed more than personal data: %+v", s.Session)
		}
	}

	// Erasing wins over setting in the same transition.
	d := create(t, st, "p1", base)
	sealed := sealedDisclosure
	token := "requestor-token"
	s, _ = transition(t, st, veilig.Transition{
		SessionID: d.ID, From: states(veilig.StateCreated), To: veilig.StateFailed,
		Event: string(veilig.StateFailed), Reason: "proof status INVALID", At: base.Add(time.Second),
		SealedDisclosure: &sealed, ProofRef: &token, DestroyPersonal: true, ClearCode: true,
	})
	if !s.SealedDisclosure.IsZero() || s.ProofRef != "" {
		t.Error("DestroyPersonal kept data set in the same transition (as returned)")
	}
	if s = session(t, st, d.ID); !s.SealedDisclosure.IsZero() || s.ProofRef != "" {
		t.Error("DestroyPersonal kept data set in the same transition")
	}
	sameTime(t, "EndedAt of a failed session", s.EndedAt, base.Add(time.Second))

	// A later transition without a state change and without a reason
	// keeps the reason the session ended with.
	s, _ = transition(t, st, veilig.Transition{
		SessionID: d.ID, From: states(veilig.StateFailed), To: veilig.StateFailed,
		At: base.Add(time.Minute), DestroyPersonal: true,
	})
	if s.Reason != "proof status INVALID" || !s.EndedAt.Equal(base.Add(time.Second)) {
		t.Errorf("a transition within a terminal state changed reason %q or EndedAt %v", s.Reason, s.EndedAt)
	}
}

func testSessions(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	// Each session is created a second after the previous; matched ones are
	// matched in a different order, so the two orderings can be told apart.
	mk := func(purpose string, i int) created {
		return create(t, st, purpose, base.Add(time.Duration(i)*time.Second))
	}
	matchAt := func(c created, d time.Duration) {
		disclose(t, st, c.ID, c.CreatedAt.Add(time.Millisecond))
		if _, _, err := st.MatchCode(ctx, c.code, newCall(), base.Add(d), 0); err != nil {
			t.Fatalf("MatchCode: %v", err)
		}
	}
	a := mk("p1", 0)
	matchAt(a, time.Minute+10*time.Second)
	b := mk("p1", 1)
	matchAt(b, time.Minute+5*time.Second)
	c := mk("p2", 2)
	matchAt(c, time.Minute+7*time.Second)
	agent := "agent-1"
	transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateMatched), To: veilig.StateAnswered,
		Event: string(veilig.StateAnswered), At: base.Add(2 * time.Minute), TakenBy: &agent,
	})
	d := mk("p1", 3)
	e := mk("p2", 4)
	disclose(t, st, e.ID, e.CreatedAt.Add(time.Millisecond))
	f := mk("p1", 5)
	transition(t, st, veilig.Transition{
		SessionID: f.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(2 * time.Minute),
	})
	queue := states(veilig.StateMatched, veilig.StateAnswered)

	for _, tc := range []struct {
		name string
		f    veilig.SessionFilter
		want []created
	}{
		{"queue", veilig.SessionFilter{States: queue}, []created{b, c, a}},
		{"queue of p1", veilig.SessionFilter{States: queue, Purposes: []string{"p1"}}, []created{b, a}},
		{"queue of *", veilig.SessionFilter{States: queue, Purposes: []string{"*"}}, []created{b, c, a}},
		{"queue limited", veilig.SessionFilter{States: queue, Limit: 2}, []created{b, c}},
		{"all", veilig.SessionFilter{}, []created{b, c, a, d, e, f}},
		{"all of p2, p3", veilig.SessionFilter{Purposes: []string{"p2", "p3"}}, []created{c, e}},
		{"live", veilig.SessionFilter{States: veilig.LiveStates}, []created{b, c, a, d, e}},
		{"disclosed", veilig.SessionFilter{States: states(veilig.StateDisclosed)}, []created{e}},
		{"expired", veilig.SessionFilter{States: states(veilig.StateExpired)}, nil},
		{"unknown purpose", veilig.SessionFilter{Purposes: []string{"p9"}}, nil},
	} {
		got, err := st.Sessions(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: Sessions: %v", tc.name, err)
		}
		var want []string
		for _, c := range tc.want {
			want = append(want, c.ID)
		}
		if !slices.Equal(ids(got), want) {
			t.Errorf("%s: Sessions = %v, want %v", tc.name, ids(got), want)
		}
	}

	all, err := st.Sessions(ctx, veilig.SessionFilter{States: states(veilig.StateAnswered)})
	if err != nil || len(all) != 1 {
		t.Fatalf("Sessions(answered) = %d, %v", len(all), err)
	}
	sameSession(t, all[0], session(t, st, c.ID))
}

func testExpireSessions(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	s1 := create(t, st, "px", base) // created
	s2 := create(t, st, "px", base) // disclosing
	transition(t, st, veilig.Transition{
		SessionID: s2.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: base.Add(time.Second),
	})
	s3 := create(t, st, "px", base) // disclosed
	disclose(t, st, s3.ID, base.Add(time.Second))
	later := create(t, st, "px", base.Add(10*time.Minute))
	disclose(t, st, later.ID, base.Add(11*time.Minute))
	matched := create(t, st, "px", base)
	disclose(t, st, matched.ID, base.Add(time.Second))
	if _, _, err := st.MatchCode(ctx, matched.code, newCall(), base.Add(time.Minute), 0); err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	other := create(t, st, "py", base)
	untouched := map[string]*veilig.StoredSession{}
	for _, c := range []created{later, matched, other} {
		untouched[c.ID] = session(t, st, c.ID)
	}
	before := lastSeq(t, st)

	now := base.Add(ttl) // exactly ExpiresAt of s1, s2 and s3: "not after now"
	retain := now.Add(24 * time.Hour)
	es, err := st.ExpireSessions(ctx, "px", now, retain)
	if err != nil {
		t.Fatalf("ExpireSessions: %v", err)
	}
	if len(es) != 3 {
		t.Fatalf("ExpireSessions returned %d events, want 3", len(es))
	}
	increasing(t, "expired events", es)
	if es[0].Seq <= before {
		t.Errorf("expired events start at Seq %d, not after %d", es[0].Seq, before)
	}
	got := map[string]bool{}
	for _, e := range es {
		got[e.SessionID] = true
		if e.Type != string(veilig.StateExpired) || e.PurposeID != "px" || !e.At.Equal(now) {
			t.Errorf("expired event = %+v", e)
		}
	}
	stored, err := st.EventsSince(ctx, veilig.EventFilter{}, before, 0)
	if err != nil {
		t.Fatalf("EventsSince: %v", err)
	}
	if len(stored) != 3 {
		t.Fatalf("stored %d events, want 3", len(stored))
	}
	for i := range es {
		sameEvent(t, "stored expired event", stored[i], es[i])
	}
	for _, c := range []created{s1, s2, s3} {
		if !got[c.ID] {
			t.Errorf("session %s did not expire", c.ID)
		}
		s := session(t, st, c.ID)
		if s.State != veilig.StateExpired || !s.EndedAt.Equal(now) {
			t.Errorf("expired session: state %s, EndedAt %v", s.State, s.EndedAt)
		}
		if !s.SealedDisclosure.IsZero() || !s.SealedAddress.IsZero() || s.ProofRef != "" {
			t.Errorf("expired session %s kept personal data", c.ID)
		}
		if s.Reason != eventFor(es, c.ID).Reason {
			t.Errorf("session reason %q differs from the event's %q", s.Reason, eventFor(es, c.ID).Reason)
		}
		if _, err := st.CreateSession(ctx, newSession("px", now), c.code, randomBytes(32), retain.Add(time.Hour)); err != nil {
			t.Errorf("CreateSession with an expired session's code: %v", err)
		}
	}
	for id, want := range untouched {
		sameSession(t, session(t, st, id), want)
	}

	if es, err := st.ExpireSessions(ctx, "px", now, retain); err != nil || len(es) != 0 {
		t.Errorf("second ExpireSessions = %d events, %v; want none", len(es), err)
	}

	// The retention given to ExpireSessions is the one Purge honours.
	if res, err := st.Purge(ctx, retain, veilig.AuditCutoffs{}); err != nil || res.Sessions != 0 {
		t.Errorf("Purge at the end of retention = %+v, %v; want nothing removed", res, err)
	}
	res, err := st.Purge(ctx, retain.Add(time.Millisecond), veilig.AuditCutoffs{})
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if res.Sessions != 3 {
		t.Errorf("Purge after retention removed %d sessions, want the 3 expired", res.Sessions)
	}
	for _, c := range []created{s1, s2, s3} {
		_, err := st.Session(ctx, c.ID)
		wantCode(t, "Session after Purge", err, veilig.ENOTFOUND)
	}
}

func eventFor(es []veilig.Event, sessionID string) veilig.Event {
	for _, e := range es {
		if e.SessionID == sessionID {
			return e
		}
	}
	return veilig.Event{}
}
