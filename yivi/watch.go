package yivi

import (
	"sync"

	"github.com/veiligcontact/veilig"
)

// watch delivers one session's events to its veilig.DisclosureWatcher:
// Connected at most once and never after Finished, Finished exactly once.
// Status updates and the final result reach us on different goroutines (in
// irmago as well as in our own External watcher), so without this a late
// Connected could follow Finished and move a session backwards. Callbacks
// run under the mutex, which is what orders them.
type watch struct {
	mu        sync.Mutex
	w         veilig.DisclosureWatcher
	connected bool
	finished  bool
}

func (s *watch) connect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected || s.finished {
		return
	}
	s.connected = true
	if s.w.Connected != nil {
		s.w.Connected()
	}
}

func (s *watch) finish(o veilig.ProofResult) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return false
	}
	s.finished = true
	if s.w.Finished != nil {
		s.w.Finished(o)
	}
	return true
}

// discard ends the watch without telling the watcher: for a session whose
// start failed after all, which the caller never learnt about.
func (s *watch) discard() {
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
}

func (s *watch) done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}
