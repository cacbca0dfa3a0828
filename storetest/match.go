package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// The match of a call to a session by its code (MatchCode, SessionByCall):
// single use, only disclosed and unexpired sessions, one winner of a race.

func testMatchCode(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	disclosed := disclose(t, st, c.ID, base.Add(time.Second))
	before := lastSeq(t, st)

	_, _, err := st.MatchCode(ctx, randomBytes(32), newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of an unknown code", err, veilig.ENOMATCH)
	_, _, err = st.MatchCode(ctx, c.status, newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of the status token hash", err, veilig.ENOMATCH)
	if seq := lastSeq(t, st); seq != before {
		t.Fatalf("failed MatchCode appended events")
	}

	call := newCall()
	at := base.Add(time.Minute)
	got, ev, err := st.MatchCode(ctx, c.code, call, at, 0)
	if err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	want := *disclosed
	want.State, want.Platform, want.ConnectionID, want.SealedAddress, want.MatchedAt = veilig.StateMatched, call.Platform, call.ID, call.SealedAddress, at
	sameSession(t, got, &want)
	sameSession(t, session(t, st, c.ID), &want)
	if ev.Seq <= before {
		t.Errorf("matched event Seq %d not after %d", ev.Seq, before)
	}
	sameEvent(t, "matched event", ev, veilig.Event{Seq: ev.Seq, SessionID: c.ID, PurposeID: "p1", Type: string(veilig.StateMatched), At: at})
	es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID})
	if len(es) != 3 {
		t.Fatalf("events = %v, want created, disclosed, matched", types(es))
	}
	sameEvent(t, "stored matched event", es[2], ev)

	before = lastSeq(t, st)
	_, _, err = st.MatchCode(ctx, c.code, newCall(), at.Add(time.Second), 0)
	wantCode(t, "second MatchCode of a code", err, veilig.ENOMATCH)
	if seq := lastSeq(t, st); seq != before {
		t.Errorf("a second MatchCode appended events")
	}
	sameSession(t, session(t, st, c.ID), &want)

	// Matching cleared the code, so it may be drawn again.
	if _, err := st.CreateSession(ctx, newSession("p1", at), c.code, randomBytes(32), at.Add(time.Hour)); err != nil {
		t.Errorf("CreateSession with a matched session's code: %v", err)
	}
}

func testMatchCodeNotDisclosed(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	_, _, err := st.MatchCode(ctx, c.code, newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of a created session", err, veilig.ENOMATCH)

	transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: base.Add(time.Second),
	})
	_, _, err = st.MatchCode(ctx, c.code, newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of a disclosing session", err, veilig.ENOMATCH)

	// A cancelled session whose code was (wrongly) not cleared still does
	// not match: only disclosed sessions do.
	transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateDisclosing), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(2 * time.Second),
	})
	_, _, err = st.MatchCode(ctx, c.code, newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of a cancelled session", err, veilig.ENOMATCH)
	if s := session(t, st, c.ID); s.State != veilig.StateCancelled || s.ConnectionID != "" {
		t.Errorf("a failed MatchCode changed the session: %+v", s.Session)
	}
	_, _, err = st.MatchCode(ctx, nil, newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of no code", err, veilig.ENOMATCH)
}

func testMatchCodeExpired(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	disclose(t, st, c.ID, base.Add(time.Second))
	for _, at := range []time.Time{c.ExpiresAt, c.ExpiresAt.Add(time.Millisecond), c.ExpiresAt.Add(time.Hour)} {
		_, _, err := st.MatchCode(ctx, c.code, newCall(), at, 0)
		wantCode(t, "MatchCode at or after ExpiresAt", err, veilig.ENOMATCH)
	}
	if s := session(t, st, c.ID); s.State != veilig.StateDisclosed {
		t.Fatalf("a failed MatchCode changed the state to %s", s.State)
	}
	if _, _, err := st.MatchCode(ctx, c.code, newCall(), c.ExpiresAt.Add(-time.Millisecond), 0); err != nil {
		t.Errorf("MatchCode just before ExpiresAt: %v", err)
	}
}

func testMatchCodeRace(t *testing.T, st veilig.Store) {
	for range 5 {
		matchCodeRace(t, st)
	}
}

func matchCodeRace(t *testing.T, st veilig.Store) {
	t.Helper()
	c := create(t, st, "p1", base)
	disclose(t, st, c.ID, base.Add(time.Second))
	const n = 8
	wins := 0
	for _, err := range concurrently(t, n, "MatchCode", func(int) error {
		_, _, err := st.MatchCode(t.Context(), c.code, newCall(), base.Add(time.Minute), 0)
		return err
	}) {
		switch veilig.ErrorCode(err) {
		case "":
			wins++
		case veilig.ENOMATCH:
		default:
			t.Errorf("concurrent MatchCode: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent MatchCode calls won, want exactly 1", wins, n)
	}
	es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID})
	if !slices.Equal(types(es), []string{"created", "disclosed", "matched"}) {
		t.Errorf("events = %v, want one matched event", types(es))
	}
}

func testMatchCodeCallConflict(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	a := create(t, st, "p1", base)
	b := create(t, st, "p1", base)
	disclose(t, st, a.ID, base.Add(time.Second))
	disclose(t, st, b.ID, base.Add(time.Second))
	call := newCall()
	if _, _, err := st.MatchCode(ctx, a.code, call, base.Add(time.Minute), 0); err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	_, _, err := st.MatchCode(ctx, b.code, call, base.Add(time.Minute), 0)
	wantCode(t, "MatchCode with a call matched to another session", err, veilig.ECONFLICT)
	if s := session(t, st, b.ID); s.State != veilig.StateDisclosed {
		t.Fatalf("a conflicting MatchCode changed the state to %s", s.State)
	}
	// The conflict rolled back: b's code still matches another call.
	if _, _, err := st.MatchCode(ctx, b.code, newCall(), base.Add(time.Minute), 0); err != nil {
		t.Errorf("MatchCode after a call conflict: %v", err)
	}
}

func testSessionByCall(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	other := create(t, st, "p1", base)
	disclose(t, st, c.ID, base.Add(time.Second))
	call := newCall()
	matched, _, err := st.MatchCode(ctx, c.code, call, base.Add(time.Minute), 0)
	if err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	got, err := st.SessionByConnection(ctx, call.Platform, call.ID)
	if err != nil {
		t.Fatalf("SessionByCall: %v", err)
	}
	sameSession(t, got, matched)

	for _, tc := range []struct{ provider, callID string }{
		{call.Platform, "no-such-call"},
		{"twilio", call.ID},
		{"", ""},
		{other.Platform, other.ConnectionID}, // an unmatched session has no call
	} {
		_, err := st.SessionByConnection(ctx, tc.provider, tc.callID)
		wantCode(t, "SessionByCall("+tc.provider+", "+tc.callID+")", err, veilig.ENOTFOUND)
	}
}
