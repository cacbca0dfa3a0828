package postgres

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

// RememberSignature records sigHash until expiresAt; ECONFLICT on a replay.
func (s *Store) RememberSignature(ctx context.Context, sigHash []byte, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO telephony_signatures (sig_hash, expires_at) VALUES ($1, $2)`, sigHash, expiresAt)
	if _, ok := isUnique(err); ok {
		return veilig.Errorf(veilig.ECONFLICT, "the request was seen before")
	}
	return wrap("remember signature", err)
}

// RecordMiss records a code that matched nothing, under a keyed hash of
// the caller number; nil when the number was withheld.
func (s *Store) RecordMiss(ctx context.Context, callerKey []byte, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO telephony_misses (caller_key, at) VALUES ($1, $2)`, nullBytes(callerKey), at)
	return wrap("record miss", err)
}

// CountMisses counts misses at or after since, of callerKey or of everyone
// when callerKey is nil.
func (s *Store) CountMisses(ctx context.Context, callerKey []byte, since time.Time) (int, error) {
	var key any
	if callerKey != nil {
		key = callerKey
	}
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM telephony_misses
		WHERE ($1::bytea IS NULL OR caller_key = $1) AND at >= $2`, key, since).Scan(&n)
	if err != nil {
		return 0, wrap("count misses", err)
	}
	return n, nil
}

// missLockClass is the first key of the two-key advisory locks that
// serialize one caller's reservations; the second is taken from the
// caller key. Two callers whose keys share 32 bits only wait for each
// other.
const missLockClass int32 = 0x7663_6d73 // "vcms"

// ReserveAttempt sends two statements in one round trip, which PostgreSQL
// runs as one implicit transaction: the first takes the caller's advisory
// lock, the second (under READ COMMITTED, with a snapshot taken after the
// lock, so it sees every reservation committed before) counts and records.
// Counting in the statement that takes the lock would count from a
// snapshot older than the lock.
func (s *Store) ReserveAttempt(ctx context.Context, a veilig.Attempt) (int64, []time.Time, error) {
	var objID int32
	if len(a.CallerKey) >= 4 {
		objID = int32(binary.BigEndian.Uint32(a.CallerKey))
	}
	var b pgx.Batch
	b.Queue(`SELECT pg_advisory_xact_lock($1, $2)`, missLockClass, objID)
	var (
		id     *int64
		misses []time.Time
	)
	b.Queue(`WITH recent AS (
			SELECT at, id FROM telephony_misses WHERE caller_key = $1 AND at >= $2),
		ins AS (
			INSERT INTO telephony_misses (caller_key, at)
			SELECT $1, $3 WHERE $4 = 0 OR (SELECT COUNT(*) FROM recent) < $4
			RETURNING id)
		SELECT (SELECT id FROM ins), COALESCE(ARRAY(SELECT at FROM recent ORDER BY at, id), '{}')`,
		a.CallerKey, a.Since, a.At, a.Max).QueryRow(func(row pgx.Row) error {
		return row.Scan(&id, &misses)
	})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return 0, nil, wrap("reserve attempt", err)
	}
	for i := range misses {
		misses[i] = fromDB(misses[i])
	}
	if id == nil {
		return 0, misses, nil
	}
	return *id, misses, nil
}

// ForgiveMiss deletes a miss recorded in advance.
func (s *Store) ForgiveMiss(ctx context.Context, missID int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM telephony_misses WHERE id = $1`, missID)
	return wrap("forgive miss", err)
}
