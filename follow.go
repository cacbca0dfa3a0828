package veilig

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// following is the set of sessions whose disclosure this process follows
// (a Yivi watcher is running for them), so that a claim of a session it
// already follows starts no second watcher.
type following struct {
	mu  sync.Mutex
	ids map[string]bool
}

// add reports whether id was new.
func (f *following) add(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids == nil {
		f.ids = map[string]bool{}
	}
	if f.ids[id] {
		return false
	}
	f.ids[id] = true
	return true
}

func (f *following) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ids, id)
}

// watcher is what hears about session id's disclosure, in whichever
// replica follows it.
func (s *Service) watcher(id string) DisclosureWatcher {
	s.following.add(id)
	return DisclosureWatcher{
		Connected: func() { s.disclosureConnected(id) },
		Finished: func(o ProofResult) {
			s.following.remove(id)
			s.disclosureFinished(id, o)
		},
	}
}

// maxClaims bounds the disclosures one FollowDisclosures call takes over:
// a replica that survives a lost one should not take all its work at once
// when there are others to share it.
const maxClaims = 200

// FollowDisclosures keeps the disclosures of lost replicas followed. Every
// replica calls it every few seconds (Maintain does): it renews its own
// follows, then takes over the unfinished disclosures whose follow ran
// out, because the replica that followed them stopped renewing, and
// follows them from here. A session that a replica started but never
// recorded a follow for (it died in between) counts as followed for one
// lease after its creation.
//
// It does nothing unless the store records follows and the Yivi server
// keeps sessions outside this process (an external Yivi server): the
// embedded server's sessions die with the replica that started them, and
// those end as expired.
func (s *Service) FollowDisclosures(ctx context.Context) error {
	if s.follows == nil {
		return nil
	}
	now := s.now()
	if _, err := s.follows.RenewFollows(ctx, s.replicaID, now.Add(s.followLease)); err != nil {
		return fmt.Errorf("renew disclosure follows: %w", err)
	}
	claims, err := s.follows.ClaimOrphans(ctx, s.replicaID, now, now.Add(-s.followLease), now.Add(s.followLease), maxClaims)
	if err != nil {
		return fmt.Errorf("claim disclosures: %w", err)
	}
	for _, c := range claims {
		if !s.following.add(c.SessionID) {
			continue // ours all along: our follow ran out while the database was away
		}
		s.following.remove(c.SessionID) // watcher adds it again
		follower, ok := s.means[c.Means].(DisclosureFollower)
		if !ok {
			s.log.Warn("cannot follow a disclosure another replica left: its means is not configured here, or cannot be followed", "session", c.SessionID, "means", c.Means)
			continue
		}
		s.log.Info("following a disclosure another replica left", "session", c.SessionID)
		follower.Watch(c.ProofRef, s.watcher(c.SessionID))
	}
	return nil
}

// MaintainConfig says how often Maintain works.
type MaintainConfig struct {
	// Interval between maintenance runs (expiry, retention); default 1 m.
	Interval time.Duration
	// FollowInterval between FollowDisclosures calls; default a fifth of
	// the follow lease, so a follow is renewed several times before it
	// runs out.
	FollowInterval time.Duration
}

// Maintain runs the background jobs until ctx ends. Every replica runs it.
// FollowDisclosures runs on every replica; RunMaintenance on one replica
// at a time: the one holding the "maintenance" lock (when the store is a
// Locker). The holder keeps the lock while it lives and checks before each
// run that it still has it; when it dies or loses its database connection,
// the lock is free and the next replica to try takes over.
func (s *Service) Maintain(ctx context.Context, cfg MaintainConfig) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.FollowInterval <= 0 {
		cfg.FollowInterval = s.followLease / 5
	}
	locker, _ := s.store.(Locker)
	var lock Lock
	defer func() {
		if lock != nil {
			lock.Unlock()
		}
	}()
	maintain := func() {
		if locker != nil {
			if lock != nil && !lock.Held(ctx) {
				s.log.Warn("lost the maintenance lock; another replica may run maintenance")
				lock.Unlock()
				lock = nil
			}
			if lock == nil {
				l, ok, err := locker.TryLock(ctx, "maintenance")
				if err != nil {
					if ctx.Err() == nil {
						s.log.Warn("take the maintenance lock", "err", err)
					}
					return
				}
				if !ok {
					return // another replica maintains
				}
				lock = l
				s.log.Info("this replica runs maintenance")
			}
		}
		if err := s.RunMaintenance(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("maintenance", "err", err)
		}
	}
	follow := func() {
		if err := s.FollowDisclosures(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("follow disclosures", "err", err)
		}
	}

	maintain()
	follow()
	mt := time.NewTicker(cfg.Interval)
	defer mt.Stop()
	var fc <-chan time.Time
	if s.follows != nil {
		ft := time.NewTicker(cfg.FollowInterval)
		defer ft.Stop()
		fc = ft.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-mt.C:
			maintain()
		case <-fc:
			follow()
		}
	}
}
