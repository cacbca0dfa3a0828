package postgres

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/veiligcontact/veilig"
)

var (
	_ veilig.Locker            = (*Store)(nil)
	_ veilig.DisclosureFollows = (*Store)(nil)
)

// lockClass is the first key of the two-key advisory locks TryLock takes.
// PostgreSQL keeps two-key locks apart from the one-key locks of
// migrations and event order, so no name can collide with those.
const lockClass int32 = 0x76656c67 // "velg"

func lockKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// TryLock takes a session-level advisory lock on a connection of its own,
// held until Unlock. If the replica dies, PostgreSQL ends the connection and
// with it the lock, so a lost replica never keeps a job from running.
func (s *Store) TryLock(ctx context.Context, name string) (veilig.Lock, bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, wrap("lock "+name, err)
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockClass, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, wrap("lock "+name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &advisoryLock{conn: conn, key: key}, true, nil
}

// advisoryLock is a held advisory lock and the connection that holds it.
type advisoryLock struct {
	mu   sync.Mutex
	conn *pgxpool.Conn // nil once unlocked
	key  int32
}

// Held asks the database whether the connection still holds the lock: if
// the connection broke, the lock went with it.
func (l *advisoryLock) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return false
	}
	var held bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
		AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2 AND pid = pg_backend_pid() AND granted)`,
		lockClass, l.key).Scan(&held)
	return err == nil && held
}

func (l *advisoryLock) Unlock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var released bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1, $2)`, lockClass, l.key).Scan(&released); err != nil || !released {
		// Closing the connection is what certainly releases it; the pool
		// replaces the connection.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	l.conn = nil
}

// FollowDisclosure records that owner follows session id until until.
func (s *Store) FollowDisclosure(ctx context.Context, id, owner string, until time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO disclosure_follows (session_id, owner, until) VALUES ($1, $2, $3)
		ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, until = excluded.until`, id, owner, until)
	if kind, _, ok := violation(err); ok && kind == "foreign key" {
		return veilig.Errorf(veilig.ENOTFOUND, "session not found")
	}
	return wrap("follow disclosure", err)
}

// RenewFollows renews owner's follows of unfinished sessions and drops the
// rest.
func (s *Store) RenewFollows(ctx context.Context, owner string, until time.Time) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM disclosure_follows f USING sessions s
			WHERE f.owner = $1 AND s.id = f.session_id AND s.state NOT IN ('created', 'disclosing')`, owner); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE disclosure_follows f SET until = $2 FROM sessions s
			WHERE f.owner = $1 AND s.id = f.session_id AND s.state IN ('created', 'disclosing')`, owner, until)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap("renew follows", err)
	}
	return int(n), nil
}

// ClaimOrphans takes over unfinished disclosures nobody follows. It is one
// statement: when two replicas claim the same session at once, the upsert
// of the second waits for the first and then finds the follow current, so
// it skips the session.
func (s *Store) ClaimOrphans(ctx context.Context, owner string, now, unfollowedBefore, until time.Time, limit int) ([]veilig.FollowClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `WITH orphans AS (
			SELECT s.id FROM sessions s LEFT JOIN disclosure_follows f ON f.session_id = s.id
			WHERE s.state IN ('created', 'disclosing') AND s.yivi_token <> ''
			  AND ((f.session_id IS NULL AND s.created_at < $2) OR f.until < $1)
			ORDER BY s.created_at LIMIT $5
		), claimed AS (
			INSERT INTO disclosure_follows (session_id, owner, until)
			SELECT id, $3, $4 FROM orphans
			ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
			WHERE disclosure_follows.until < $1
			RETURNING session_id
		)
		SELECT s.id, s.means, s.yivi_token FROM claimed c JOIN sessions s ON s.id = c.session_id`,
		now, unfollowedBefore, owner, until, limit)
	if err != nil {
		return nil, wrap("claim orphans", err)
	}
	claims, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (veilig.FollowClaim, error) {
		var c veilig.FollowClaim
		var means string
		err := r.Scan(&c.SessionID, &means, &c.ProofRef)
		c.Means = veilig.Means(means)
		return c, err
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, wrap("claim orphans", err)
	}
	return claims, nil
}
