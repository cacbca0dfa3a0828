package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/veiligcontact/veilig"
)

var (
	_ veilig.Locker            = (*Store)(nil)
	_ veilig.DisclosureFollows = (*Store)(nil)
)

// locks are the locks of TryLock. A SQLite database belongs to one process,
// so a lock in memory is a lock across everything sharing the store.
var locks = struct {
	sync.Mutex
	held map[*Store]map[string]bool
}{held: map[*Store]map[string]bool{}}

// TryLock takes the named lock of this store if nobody holds it.
func (s *Store) TryLock(ctx context.Context, name string) (veilig.Lock, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	locks.Lock()
	defer locks.Unlock()
	if locks.held[s] == nil {
		locks.held[s] = map[string]bool{}
	}
	if locks.held[s][name] {
		return nil, false, nil
	}
	locks.held[s][name] = true
	return &memLock{s: s, name: name}, true, nil
}

// memLock is a lock of TryLock; in one process it cannot be lost.
type memLock struct {
	s        *Store
	name     string
	released bool // under locks
}

func (l *memLock) Held(context.Context) bool {
	locks.Lock()
	defer locks.Unlock()
	return !l.released
}

func (l *memLock) Unlock() {
	locks.Lock()
	defer locks.Unlock()
	if l.released {
		return
	}
	l.released = true
	delete(locks.held[l.s], l.name)
	if len(locks.held[l.s]) == 0 {
		delete(locks.held, l.s)
	}
}

// FollowDisclosure records that owner follows session id until until.
func (s *Store) FollowDisclosure(ctx context.Context, id, owner string, until time.Time) error {
	return s.write(ctx, "follow disclosure", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO disclosure_follows (session_id, owner, until) VALUES (?, ?, ?)
			ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, until = excluded.until`, id, owner, millis(until))
		if kind, _, ok := constraint(err); ok && kind == "foreign key" {
			return nil, veilig.Errorf(veilig.ENOTFOUND, "session not found")
		}
		return nil, err
	})
}

// RenewFollows renews owner's follows of unfinished sessions and drops the
// rest.
func (s *Store) RenewFollows(ctx context.Context, owner string, until time.Time) (int, error) {
	var n int64
	err := s.write(ctx, "renew follows", func(tx *sql.Tx) ([]veilig.Event, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM disclosure_follows WHERE owner = ? AND session_id IN
			(SELECT id FROM sessions WHERE state NOT IN ('created', 'disclosing'))`, owner); err != nil {
			return nil, err
		}
		r, err := tx.ExecContext(ctx, `UPDATE disclosure_follows SET until = ? WHERE owner = ?`, millis(until), owner)
		if err != nil {
			return nil, err
		}
		n, err = r.RowsAffected()
		return nil, err
	})
	return int(n), err
}

// ClaimOrphans takes over unfinished disclosures nobody follows. Writes
// are serialized, so the select and the upserts cannot race another claim.
func (s *Store) ClaimOrphans(ctx context.Context, owner string, now, unfollowedBefore, until time.Time, limit int) ([]veilig.FollowClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	var claims []veilig.FollowClaim
	err := s.write(ctx, "claim orphans", func(tx *sql.Tx) ([]veilig.Event, error) {
		rows, err := tx.QueryContext(ctx, `SELECT s.id, s.means, s.yivi_token FROM sessions s
			LEFT JOIN disclosure_follows f ON f.session_id = s.id
			WHERE s.state IN ('created', 'disclosing') AND s.yivi_token <> ''
			  AND ((f.session_id IS NULL AND s.created_at < ?) OR f.until < ?)
			ORDER BY s.created_at LIMIT ?`, millis(unfollowedBefore), millis(now), limit)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c veilig.FollowClaim
			if err := rows.Scan(&c.SessionID, &c.Means, &c.ProofRef); err != nil {
				rows.Close()
				return nil, err
			}
			claims = append(claims, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, c := range claims {
			if _, err := tx.ExecContext(ctx, `INSERT INTO disclosure_follows (session_id, owner, until) VALUES (?, ?, ?)
				ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, until = excluded.until`,
				c.SessionID, owner, millis(until)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		claims = nil
	}
	return claims, err
}
