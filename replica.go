package veilig

import (
	"context"
	"time"
)

// Coordination between replicas. Stores that several processes share
// (package postgres) implement these interfaces; the service uses them when
// they are there. A store for one process (package sqlite) implements them
// too, trivially, so the same code runs everywhere.

// Locker runs background jobs once across replicas instead of once per
// replica.
type Locker interface {
	// TryLock takes the lock called name if no process (this one
	// included) holds it, and reports ok=false without waiting when one
	// does. A lock whose holder died (its database connection closed) is
	// free again: it cannot be left held by a replica that is gone.
	TryLock(ctx context.Context, name string) (l Lock, ok bool, err error)
}

// Lock is a lock taken with Locker.TryLock.
type Lock interface {
	// Held reports whether the lock is still ours. It can be lost without
	// Unlock: when the database connection holding it breaks, PostgreSQL
	// releases it, and another replica may take it.
	Held(ctx context.Context) bool
	// Unlock releases the lock; later calls do nothing.
	Unlock()
}

// FollowClaim is an unfinished disclosure that a replica took over from a
// replica that stopped following it.
type FollowClaim struct {
	SessionID string
	Means     Means
	ProofRef  string
}

// DisclosureFollows records which replica follows which unfinished
// disclosure (a session in created or disclosing with a proof reference), so
// that when a replica is lost another takes over what it was waiting for.
// A follow is a lease: it holds until its time, and the owner renews all of
// its follows together.
type DisclosureFollows interface {
	// FollowDisclosure records that owner follows session id until until,
	// whoever followed it before. ENOTFOUND for an unknown session.
	FollowDisclosure(ctx context.Context, id, owner string, until time.Time) error
	// RenewFollows extends to until every follow of owner whose session is
	// still unfinished, forgets its follows of sessions that moved on, and
	// returns how many it renewed.
	RenewFollows(ctx context.Context, owner string, until time.Time) (int, error)
	// ClaimOrphans gives owner, until until, at most limit unfinished
	// disclosures nobody follows: those whose follow ran out before now,
	// and those never followed that were created before unfollowedBefore
	// (the replica that started them died before recording its follow).
	// Two replicas claiming at once never get the same session.
	ClaimOrphans(ctx context.Context, owner string, now, unfollowedBefore, until time.Time, limit int) ([]FollowClaim, error)
}

// DisclosureFollower is a DisclosureService whose sessions outlive the
// process that started them (an external Yivi server), so that another
// replica can follow one it did not start.
type DisclosureFollower interface {
	// Watch follows the started session with requestor token token; w is
	// called as for StartDisclosure.
	Watch(token string, w DisclosureWatcher)
}
