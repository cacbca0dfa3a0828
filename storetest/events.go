package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func testEventsSince(t *testing.T, st veilig.Store) {
	ctx := t.Context()
	a := create(t, st, "p1", base)
	b := create(t, st, "p2", base.Add(time.Second))
	c := create(t, st, "p1", base.Add(2*time.Second))
	_, ea := transition(t, st, veilig.Transition{
		SessionID: a.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosing,
		Event: string(veilig.StateDisclosing), At: base.Add(3 * time.Second),
	})
	_, eb := transition(t, st, veilig.Transition{
		SessionID: b.ID, From: states(veilig.StateCreated), To: veilig.StateFailed,
		Event: string(veilig.StateFailed), Reason: "proof status INVALID", At: base.Add(4 * time.Second),
	})
	all := []veilig.Event{a.event, b.event, c.event, ea, eb}

	got := eventsOf(t, st, veilig.EventFilter{})
	if len(got) != len(all) {
		t.Fatalf("EventsSince(0) = %d events, want %d", len(got), len(all))
	}
	for i := range all {
		sameEvent(t, "event", got[i], all[i])
	}
	increasing(t, "all events", got)
	if seq := lastSeq(t, st); seq != eb.Seq {
		t.Errorf("LastEventSeq = %d, want %d", seq, eb.Seq)
	}

	for _, tc := range []struct {
		name  string
		f     veilig.EventFilter
		after int64
		limit int
		want  []veilig.Event
	}{
		{"session a", veilig.EventFilter{SessionID: a.ID}, 0, 0, []veilig.Event{a.event, ea}},
		{"purpose p2", veilig.EventFilter{Purposes: []string{"p2"}}, 0, 0, []veilig.Event{b.event, eb}},
		{"purposes p1, p3", veilig.EventFilter{Purposes: []string{"p1", "p3"}}, 0, 0, []veilig.Event{a.event, c.event, ea}},
		{"purpose *", veilig.EventFilter{Purposes: []string{"*"}}, 0, 0, all},
		{"session and purpose", veilig.EventFilter{SessionID: a.ID, Purposes: []string{"p2"}}, 0, 0, nil},
		{"after", veilig.EventFilter{}, b.event.Seq, 0, all[2:]},
		{"after, p1", veilig.EventFilter{Purposes: []string{"p1"}}, a.event.Seq, 0, []veilig.Event{c.event, ea}},
		{"limit", veilig.EventFilter{}, 0, 2, all[:2]},
		{"after and limit", veilig.EventFilter{}, a.event.Seq, 3, all[1:4]},
		{"after the last", veilig.EventFilter{}, eb.Seq, 0, nil},
		{"unknown session", veilig.EventFilter{SessionID: "no-such-session"}, 0, 0, nil},
	} {
		got, err := st.EventsSince(ctx, tc.f, tc.after, tc.limit)
		if err != nil {
			t.Fatalf("%s: EventsSince: %v", tc.name, err)
		}
		if !slices.Equal(seqs(got), seqs(tc.want)) {
			t.Errorf("%s: EventsSince = %v, want %v", tc.name, seqs(got), seqs(tc.want))
		}
	}
	if got := eventsOf(t, st, veilig.EventFilter{SessionID: b.ID}); len(got) == 2 && got[1].Reason != "proof status INVALID" {
		t.Errorf("event reason = %q", got[1].Reason)
	}
}

// testSubscribe checks that every method that appends events publishes
// them after commit, in order, filtered, and that a failed transition
// publishes nothing: the next event a subscriber sees is the next one
// committed.
func testSubscribe(t *testing.T, st veilig.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := subscribe(t, st, ctx, veilig.EventFilter{Purposes: []string{"bus"}})
	everything := subscribe(t, st, t.Context(), veilig.EventFilter{})

	var want, wantAll []veilig.Event
	add := func(es ...veilig.Event) {
		want = append(want, es...)
		wantAll = append(wantAll, es...)
	}
	c := create(t, st, "bus", base)
	add(c.event)
	other := create(t, st, "other", base)
	wantAll = append(wantAll, other.event)
	d := sealedDisclosure
	_, ev := transition(t, st, veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateDisclosed,
		Event: string(veilig.StateDisclosed), At: base.Add(time.Second), SealedDisclosure: &d,
	})
	add(ev)
	_, _, err := st.Transition(t.Context(), veilig.Transition{
		SessionID: c.ID, From: states(veilig.StateCreated), To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), At: base.Add(time.Second),
	})
	wantCode(t, "Transition from the wrong state", err, veilig.ECONFLICT)
	_, _, err = st.MatchCode(t.Context(), randomBytes(32), newCall(), base.Add(time.Minute), 0)
	wantCode(t, "MatchCode of an unknown code", err, veilig.ENOMATCH)
	_, ev, err = st.MatchCode(t.Context(), c.code, newCall(), base.Add(time.Minute), 0)
	if err != nil {
		t.Fatalf("MatchCode: %v", err)
	}
	add(ev)
	x := create(t, st, "bus", base)
	add(x.event)
	es, err := st.ExpireSessions(t.Context(), "bus", base.Add(ttl), base.Add(48*time.Hour))
	if err != nil {
		t.Fatalf("ExpireSessions: %v", err)
	}
	if len(es) != 1 {
		t.Fatalf("ExpireSessions = %d events, want 1", len(es))
	}
	add(es...)
	last := create(t, st, "bus", base.Add(ttl))
	add(last.event)

	for i, w := range want {
		sameEvent(t, fmt.Sprintf("published event %d", i), recv(t, ch), w)
	}
	for _, w := range wantAll {
		sameEvent(t, "event published to an unfiltered subscriber", recv(t, everything), w)
	}

	cancel()
	closed(t, ch)
}

func testSubscribeSessionFilter(t *testing.T, st veilig.Store) {
	a := create(t, st, "p1", base)
	b := create(t, st, "p1", base)
	ch := subscribe(t, st, t.Context(), veilig.EventFilter{SessionID: a.ID})
	var want []veilig.Event
	for i, c := range []created{b, a, b, a} {
		to := veilig.StateDisclosing
		from := states(veilig.StateCreated)
		if i >= 2 {
			from, to = states(veilig.StateDisclosing), veilig.StateCancelled
		}
		_, ev := transition(t, st, veilig.Transition{
			SessionID: c.ID, From: from, To: to, Event: string(to), At: base.Add(time.Duration(i) * time.Second),
		})
		if c.ID == a.ID {
			want = append(want, ev)
		}
	}
	for _, w := range want {
		got := recv(t, ch)
		// A notification of an event committed before Subscribe may still
		// arrive (PostgreSQL delivers NOTIFY asynchronously); streams drop
		// such repeats by Seq, and so does this test.
		for got.Seq <= b.event.Seq {
			got = recv(t, ch)
		}
		sameEvent(t, "event of the session", got, w)
	}
}
