// Package eventhub fans events out to the subscribers of one process. The
// stores publish to it after a commit (sqlite) or when PostgreSQL notifies
// (postgres); streams subscribe to it. A subscriber that cannot keep up is
// dropped rather than allowed to block everyone: its channel is closed and it
// catches up from the store, which holds every event.
package eventhub

import (
	"context"
	"sync"

	"github.com/veiligcontact/veilig"
)

// Buffer is how many events a subscriber may fall behind before it is dropped.
const Buffer = 256

// SessionBuffer is Buffer for a subscriber of one session (a citizen's
// status stream): a session has at most seven events in its life, seconds
// apart but for a pair or two, and there may be tens of thousands of such
// streams open, each holding its buffer (an event is about 100 bytes). A
// stream that falls behind anyway is dropped and catches up from the store.
const SessionBuffer = 4

type subscriber struct {
	filter veilig.EventFilter
	ch     chan veilig.Event
}

// Hub is a veilig.EventBus for one process. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

var _ veilig.EventBus = (*Hub)(nil)

// Subscribe returns a channel of the events matching f, closed when ctx ends,
// when the subscriber falls behind, or on Reset.
func (h *Hub) Subscribe(ctx context.Context, f veilig.EventFilter) (<-chan veilig.Event, error) {
	n := Buffer
	if f.SessionID != "" {
		n = SessionBuffer
	}
	s := &subscriber{filter: f, ch: make(chan veilig.Event, n)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	// AfterFunc rather than a goroutine waiting on ctx: idle streams are
	// many, and each goroutine would hold a stack.
	context.AfterFunc(ctx, func() { h.drop(s) })
	return s.ch, nil
}

func (h *Hub) drop(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Publish hands e to every matching subscriber without blocking.
func (h *Hub) Publish(e veilig.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !s.filter.Matches(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// Reset drops every subscriber, telling them to catch up from the store. The
// postgres bus calls it when its listening connection was lost, because
// notifications sent meanwhile are gone.
func (h *Hub) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Len returns the number of subscribers (for metrics).
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
