package veilig

import (
	"context"
	"time"

	"github.com/veiligcontact/veilig/internal/wait"
)

// EventStream reads the events matching a filter with Seq above a point:
// first those stored, then live ones from the bus, without gaps or repeats.
// When the bus drops the subscription (slow consumer, lost database
// connection) it subscribes again and catches up from the store. It runs in
// the caller's goroutine: a stream costs no goroutine of its own, which
// matters with ten thousand idle citizens waiting for their call.
type EventStream struct {
	s       *Service
	f       EventFilter
	last    int64
	live    <-chan Event
	pending []Event
	backoff time.Duration
}

// Stream opens a stream of the events matching f with Seq > after.
func (s *Service) Stream(f EventFilter, after int64) *EventStream {
	return &EventStream{s: s, f: f, last: after}
}

// Next returns the next event. It returns ticked=true when tick fires first
// (for keep-alives; tick may be nil) and ctx's error when ctx ends.
func (es *EventStream) Next(ctx context.Context, tick <-chan time.Time) (e Event, ticked bool, err error) {
	for {
		for len(es.pending) > 0 {
			e, es.pending = es.pending[0], es.pending[1:]
			if e.Seq > es.last {
				es.last = e.Seq
				return e, false, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return Event{}, false, err
		}
		if es.live == nil {
			// Subscribe before reading the store, so nothing committed in
			// between is missed; duplicates are dropped by Seq.
			live, err := es.s.bus.Subscribe(ctx, es.f)
			if err != nil {
				es.s.log.Warn("subscribe to events", "err", err)
				es.backoff = min(max(es.backoff*2, 100*time.Millisecond), 5*time.Second)
				if !wait.Sleep(ctx, es.backoff) {
					return Event{}, false, ctx.Err()
				}
				continue
			}
			es.live, es.backoff = live, 0
			if err := es.catchUp(ctx); err != nil {
				return Event{}, false, err
			}
			continue
		}
		select {
		case e, ok := <-es.live:
			if !ok {
				es.live = nil // dropped: subscribe again and catch up
				continue
			}
			es.pending = append(es.pending[:0], e)
		case <-tick:
			return Event{}, true, nil
		case <-ctx.Done():
			return Event{}, false, ctx.Err()
		}
	}
}

// catchUp loads what the store holds after the last event returned.
func (es *EventStream) catchUp(ctx context.Context) error {
	after := es.last
	for {
		evs, err := es.s.store.EventsSince(ctx, es.f, after, 500)
		if err != nil {
			es.s.log.Warn("read events", "err", err)
			if !wait.Sleep(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		es.pending = append(es.pending, evs...)
		if len(evs) < 500 {
			return nil
		}
		after = evs[len(evs)-1].Seq
	}
}
