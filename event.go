package veilig

import (
	"context"
	"time"
)

// Event types. Every session state change is an event named after the new
// state; calls add the queued event. Events carry no personal data, no code
// and no token, because they are stored and replayed to anyone holding the
// session's status token.
const (
	EventQueued = "queued" // the matched caller waits in the platform's queue
)

// Event is one stored, published change. Seq is assigned by the store,
// increases over the whole store and is the SSE event id, so a stream that
// reconnects to any replica resumes with Last-Event-ID.
type Event struct {
	Seq       int64     `json:"seq"`
	SessionID string    `json:"sessionId"`
	PurposeID string    `json:"purpose"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

// EventFilter selects events: by session (citizen streams) or by purposes
// (agent streams). Empty fields match everything.
type EventFilter struct {
	SessionID string
	Purposes  []string
}

// NoPurpose is an id no purpose has (ids start with a letter or digit): a
// filter of only it matches nothing.
const NoPurpose = "-"

// Matches reports whether e passes the filter.
func (f EventFilter) Matches(e Event) bool {
	if f.SessionID != "" && e.SessionID != f.SessionID {
		return false
	}
	if len(f.Purposes) > 0 {
		for _, p := range f.Purposes {
			if p == "*" || p == e.PurposeID {
				return true
			}
		}
		return false
	}
	return true
}

// EventBus tells this process about events appended by any process sharing
// the store. Subscribers get events in Seq order per publisher; a subscriber
// that falls behind, or a bus that lost its connection, is told by a closed
// channel and must catch up from the store (EventStore.EventsSince).
type EventBus interface {
	Subscribe(ctx context.Context, f EventFilter) (<-chan Event, error)
}
