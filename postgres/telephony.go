package postgres

import (
	"context"
	"time"

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
