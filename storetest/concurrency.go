package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

// Writers racing each other: transitions out of one state, transitions
// that keep it, and subscribers that must see every event in Seq order.

// testTransitionRace checks that a transition sees the state it changes:
// of concurrent transitions out of the same state, exactly one wins. Races
// need luck to show, so it runs a few rounds.
func testTransitionRace(t *testing.T, st veilig.Store) {
	for range 10 {
		transitionRace(t, st)
	}
}

func transitionRace(t *testing.T, st veilig.Store) {
	t.Helper()
	c := create(t, st, "p1", base)
	const n = 8
	wins := 0
	for _, err := range concurrently(t, n, "Transition", func(i int) error {
		agent := fmt.Sprintf("agent-%d", i)
		_, _, err := st.Transition(t.Context(), veilig.Transition{
			SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
			Event: string(veilig.StateDisclosing), At: base.Add(time.Second), TakenBy: &agent,
		})
		return err
	}) {
		switch veilig.ErrorCode(err) {
		case "":
			wins++
		case veilig.ECONFLICT:
		default:
			t.Errorf("concurrent Transition: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent transitions out of created won, want exactly 1", wins, n)
	}
	if es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID}); len(es) != 2 {
		t.Errorf("events = %v, want created and one disclosing", types(es))
	}
}

// testConcurrentSameState has writers race with transitions that keep the
// state (as "queued" does) and each add an event: none may be lost or
// refused, since each is valid whatever the others did. A store that
// writes optimistically must retry, not give up or overwrite.
func testConcurrentSameState(t *testing.T, st veilig.Store) {
	c := create(t, st, "p1", base)
	const n = 8
	for _, err := range concurrently(t, n, "same-state Transition", func(i int) error {
		_, _, err := st.Transition(t.Context(), veilig.Transition{
			SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateCreated,
			Event: fmt.Sprintf("note-%d", i), At: base.Add(time.Second),
		})
		return err
	}) {
		if err != nil {
			t.Errorf("concurrent same-state Transition: %v", err)
		}
	}
	es := eventsOf(t, st, veilig.EventFilter{SessionID: c.ID})
	if len(es) != 1+n {
		t.Errorf("events = %v, want created and %d notes", types(es), n)
	}
	increasing(t, "session events", es)
}

// concurrently runs fn(0) … fn(n-1) at once, released together, and
// returns their errors; it fails the test if they take longer than wait.
func concurrently(t *testing.T, n int, what string, fn func(i int) error) []error {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			errs <- fn(i)
		}()
	}
	close(start)
	out := make([]error, 0, n)
	timeout := time.After(wait)
	for range n {
		select {
		case err := <-errs:
			out = append(out, err)
		case <-timeout:
			t.Fatalf("concurrent %s did not return within %s", what, wait)
		}
	}
	return out
}

// testConcurrentWrites checks that writers do not fail each other and that
// subscribers get every event in Seq order even when transactions race.
func testConcurrentWrites(t *testing.T, st veilig.Store) {
	const workers, each = 8, 10
	ch := subscribe(t, st, t.Context(), veilig.EventFilter{})
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				s := newSession("p1", base.Add(time.Duration(w*each+i)*time.Millisecond))
				if _, err := st.CreateSession(t.Context(), s, randomBytes(32), randomBytes(32), base.Add(time.Hour)); err != nil {
					errs <- err
					return
				}
				if _, _, err := st.Transition(t.Context(), veilig.Transition{
					SessionID: s.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
					Event: string(veilig.StateCancelled), At: s.CreatedAt, ClearCode: true,
				}); err != nil {
					errs <- err
					return
				}
				if _, err := st.Sessions(t.Context(), veilig.SessionFilter{Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	timeout := time.After(4 * wait)
	for range workers {
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("concurrent writes: %v", err)
			}
		case <-timeout:
			t.Fatal("concurrent writes did not finish in time")
		}
	}
	es := eventsOf(t, st, veilig.EventFilter{})
	if len(es) != 2*workers*each {
		t.Errorf("%d events, want %d", len(es), 2*workers*each)
	}
	increasing(t, "all events", es)
	var published []veilig.Event
	for range es {
		published = append(published, recv(t, ch))
	}
	if !slices.Equal(seqs(published), seqs(es)) {
		t.Errorf("published Seqs differ from stored ones:\n%v\n%v", seqs(published), seqs(es))
	}
}
