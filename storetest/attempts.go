package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// testLookUpCodeLimits checks the per-caller limit: attempts count as
// misses until forgiven, the window and the limit are respected, and
// callers are kept apart.
func testLookUpCodeLimits(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	k1, k2 := randomBytes(32), randomBytes(32)
	// An attempt with a code that matches nothing: a miss when allowed.
	reserve := func(key []byte, at time.Time, max int) (int64, []time.Time) {
		t.Helper()
		l, err := st.LookUpCode(ctx, veilig.Attempt{CallerKey: key, Since: at.Add(-15 * time.Minute), Max: max, At: at}, randomBytes(32), newCall())
		if err != nil {
			t.Fatalf("LookUpCode: %v", err)
		}
		if l.Allowed != (l.MissID > 0) || l.Session != nil {
			t.Fatalf("LookUpCode of an unknown code = %+v", l)
		}
		return l.MissID, l.Misses
	}
	var ids []int64
	for i := range 3 {
		id, misses := reserve(k1, base.Add(time.Duration(i)*time.Minute), 3)
		if id <= 0 || len(misses) != i {
			t.Fatalf("reservation %d = %d with %d misses; want an id and %d misses", i, id, len(misses), i)
		}
		ids = append(ids, id)
	}
	if slices.Contains(ids[1:], ids[0]) || ids[1] == ids[2] {
		t.Errorf("reservation ids repeat: %v", ids)
	}
	// The limit is reached: nothing recorded, the misses oldest first.
	id, misses := reserve(k1, base.Add(3*time.Minute), 3)
	if id != 0 || len(misses) != 3 {
		t.Fatalf("reservation over the limit = %d with %d misses; want 0 and 3", id, len(misses))
	}
	for i, m := range misses {
		sameTime(t, "miss time", m, base.Add(time.Duration(i)*time.Minute))
	}
	if n, _ := st.CountMisses(ctx, k1, time.Time{}); n != 3 {
		t.Errorf("a refused reservation recorded a miss: %d misses, want 3", n)
	}
	// Another caller is not affected; no limit (0) always reserves.
	if id, _ := reserve(k2, base.Add(3*time.Minute), 1); id <= 0 {
		t.Errorf("another caller's first reservation was refused")
	}
	if id, misses := reserve(k1, base.Add(3*time.Minute), 0); id <= 0 || len(misses) != 3 {
		t.Errorf("a reservation without a limit = %d with %d misses", id, len(misses))
	}
	// Forgiving one makes room; forgiving it again is no error.
	for range 2 {
		if err := st.ForgiveMiss(ctx, ids[1]); err != nil {
			t.Fatalf("ForgiveMiss: %v", err)
		}
	}
	if n, _ := st.CountMisses(ctx, k1, time.Time{}); n != 3 {
		t.Errorf("after forgiving one of four: %d misses, want 3", n)
	}
	// Misses leave the window: 16 minutes after the first, it no longer counts.
	if id, misses := reserve(k1, base.Add(16*time.Minute), 3); id <= 0 || len(misses) != 2 {
		t.Errorf("reservation after the first miss left the window = %d with %d misses; want an id and 2", id, len(misses))
	}
}

// testMatchCodeForgives: a match deletes the attempt's miss recorded in
// advance, in the same transaction; a code that matches nothing keeps it.
func testMatchCodeForgives(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	key := randomBytes(32)
	at := base.Add(time.Minute)
	c := create(t, st, "p1", base)
	disclose(t, st, c.ID, base)
	reserve := func() int64 {
		t.Helper()
		l, err := st.LookUpCode(ctx, veilig.Attempt{CallerKey: key, Since: base, Max: 5, At: at}, randomBytes(32), newCall())
		if err != nil || l.MissID <= 0 {
			t.Fatalf("LookUpCode: %+v %v", l, err)
		}
		return l.MissID
	}
	_, _, err := st.MatchCode(ctx, randomBytes(32), newCall(), at, reserve())
	wantCode(t, "MatchCode of an unknown code", err, veilig.ENOMATCH)
	if _, _, err := st.MatchCode(ctx, c.code, newCall(), at, reserve()); err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	if n, _ := st.CountMisses(ctx, key, time.Time{}); n != 1 {
		t.Errorf("%d misses after a miss and a match, want 1", n)
	}
}

// testLookUpCodeConcurrent has many reservations of one caller race:
// together they must never pass the limit (the check and the record are
// one atomic step), while another caller's reservations all pass. Races
// are rare per round (a pool has few connections), so there are many.
func testLookUpCodeConcurrent(t *testing.T, st veilig.Store) {
	const rounds, n, limit = 10, 40, 5
	at := base.Add(time.Hour)
	for round := range rounds {
		key, other := randomBytes(32), randomBytes(32)
		errs := concurrently(t, n, "reservations", func(i int) error {
			a := veilig.Attempt{CallerKey: key, Since: at.Add(-time.Minute), Max: limit, At: at}
			if i%2 == 1 {
				a.CallerKey, a.Max = other, 0
			}
			_, err := st.LookUpCode(t.Context(), a, randomBytes(32), newCall())
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("ReserveAttempt: %v", err)
			}
		}
		if got, _ := st.CountMisses(t.Context(), key, time.Time{}); got != limit {
			t.Fatalf("round %d: %d concurrent reservations of one caller recorded %d misses; the limit is %d", round, n/2, got, limit)
		}
		if got, _ := st.CountMisses(t.Context(), other, time.Time{}); got != n/2 {
			t.Fatalf("round %d: the unlimited caller recorded %d misses, want %d", round, got, n/2)
		}
	}
}

// testSessionByCode checks that the live session holding a code is found
// whatever its proof's progress, and nothing else is.
func testSessionByCode(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	c := create(t, st, "p1", base)
	at := base.Add(time.Minute)
	if s, err := st.SessionByCode(ctx, c.code, at); err != nil || s.ID != c.ID || s.State != veilig.StateCreated {
		t.Fatalf("SessionByCode of a created session = %+v, %v", s, err)
	}
	transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: at,
	})
	if s, err := st.SessionByCode(ctx, c.code, at); err != nil || s.State != veilig.StateDisclosing {
		t.Fatalf("SessionByCode of a disclosing session = %+v, %v", s, err)
	}
	_, err := st.SessionByCode(ctx, c.code, base.Add(ttl))
	wantCode(t, "SessionByCode after the session expired", err, veilig.ENOTFOUND)
	_, err = st.SessionByCode(ctx, randomBytes(32), at)
	wantCode(t, "SessionByCode of an unknown code", err, veilig.ENOTFOUND)
	_, err = st.SessionByCode(ctx, nil, at)
	wantCode(t, "SessionByCode of no code", err, veilig.ENOTFOUND)

	disclose(t, st, c.ID, at)
	if _, _, err := st.MatchCode(ctx, c.code, newCall(), at, 0); err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	_, err = st.SessionByCode(ctx, c.code, at)
	wantCode(t, "SessionByCode of a used code", err, veilig.ENOTFOUND)
}

// testLookUpCodeMatches: an allowed attempt with a live code matches it
// and records no miss; a refused one looks nothing up.
func testLookUpCodeMatches(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	key := randomBytes(32)
	at := base.Add(time.Minute)
	c := create(t, st, "p1", base)
	disclose(t, st, c.ID, base)
	attempt := veilig.Attempt{CallerKey: key, Since: base, Max: 1, At: at}
	// The caller's one miss: the next attempt is refused, even with the right code.
	if l, err := st.LookUpCode(ctx, attempt, randomBytes(32), newCall()); err != nil || l.MissID == 0 {
		t.Fatalf("first attempt: %+v %v", l, err)
	}
	l, err := st.LookUpCode(ctx, attempt, c.code, newCall())
	if err != nil || l.Allowed || l.Session != nil || len(l.Misses) != 1 {
		t.Fatalf("refused attempt: %+v %v", l, err)
	}
	if s := session(t, st, c.ID); s.State != veilig.StateDisclosed {
		t.Fatalf("a refused attempt matched: %s", s.State)
	}
	// Another caller matches; the match is stored with its event, no miss.
	other := veilig.Attempt{CallerKey: randomBytes(32), Since: base, Max: 1, At: at}
	call := newCall()
	l, err = st.LookUpCode(ctx, other, c.code, call)
	if err != nil || !l.Allowed || l.Session == nil || l.Session.ID != c.ID || l.MissID != 0 {
		t.Fatalf("matching attempt: %+v %v", l, err)
	}
	if l.Event.Type != string(veilig.StateMatched) || l.Event.Seq == 0 || l.Event.SessionID != c.ID {
		t.Errorf("event = %+v", l.Event)
	}
	if s := session(t, st, c.ID); s.State != veilig.StateMatched || s.ConnectionID != call.ID {
		t.Errorf("session after the match: %s %q", s.State, s.ConnectionID)
	}
	if n, _ := st.CountMisses(ctx, other.CallerKey, time.Time{}); n != 0 {
		t.Errorf("a match recorded %d misses", n)
	}
	// The same call id with another live code: ECONFLICT, nothing recorded.
	d := create(t, st, "p1", base)
	disclose(t, st, d.ID, base)
	_, err = st.LookUpCode(ctx, other, d.code, call)
	wantCode(t, "LookUpCode with a taken call id", err, veilig.ECONFLICT)
	if n, _ := st.CountMisses(ctx, other.CallerKey, time.Time{}); n != 0 {
		t.Errorf("a conflicting attempt recorded %d misses", n)
	}
	if s := session(t, st, d.ID); s.State != veilig.StateDisclosed {
		t.Errorf("a conflicting attempt changed the session: %s", s.State)
	}
}
