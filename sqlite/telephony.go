package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/veiligcontact/veilig"
)

// RememberSignature records sigHash until expiresAt; ECONFLICT on a replay.
func (s *Store) RememberSignature(ctx context.Context, sigHash []byte, expiresAt time.Time) error {
	return s.write(ctx, "remember signature", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO telephony_signatures (sig_hash, expires_at) VALUES (?, ?)`,
			sigHash, millis(expiresAt))
		if _, ok := isUnique(err); ok {
			return nil, veilig.Errorf(veilig.ECONFLICT, "the request was seen before")
		}
		return nil, err
	})
}

// RecordMiss records a code that matched nothing, under a keyed hash of
// the caller number; nil when the number was withheld.
func (s *Store) RecordMiss(ctx context.Context, callerKey []byte, at time.Time) error {
	return s.write(ctx, "record miss", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO telephony_misses (caller_key, at) VALUES (?, ?)`,
			nullBytes(callerKey), millis(at))
		return nil, err
	})
}

// CountMisses counts misses at or after since, of callerKey or of everyone
// when callerKey is nil.
func (s *Store) CountMisses(ctx context.Context, callerKey []byte, since time.Time) (int, error) {
	var n int
	var err error
	if callerKey == nil {
		err = s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM telephony_misses WHERE at >= ?`, millis(since)).Scan(&n)
	} else {
		err = s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM telephony_misses WHERE caller_key = ? AND at >= ?`,
			callerKey, millis(since)).Scan(&n)
	}
	if err != nil {
		return 0, wrap("count misses", err)
	}
	return n, nil
}
