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
func (s *Store) RecordMiss(ctx context.Context, callerKey []byte, orgID string, at time.Time) error {
	return s.write(ctx, "record miss", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO telephony_misses (caller_key, at, org_id) VALUES (?, ?, ?)`,
			nullBytes(callerKey), millis(at), veilig.OrganisationOr(orgID))
		return nil, err
	})
}

// CountOrgMisses counts the misses at or after since on orgID's lines.
func (s *Store) CountOrgMisses(ctx context.Context, orgID string, since time.Time) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM telephony_misses WHERE org_id = ? AND at >= ?`,
		veilig.OrganisationOr(orgID), millis(since)).Scan(&n); err != nil {
		return 0, wrap("count misses", err)
	}
	return n, nil
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

// LookUpCode counts the caller's misses, matches the code and records a
// miss in one write transaction: writes are serialized, so no other
// attempt can count in between.
func (s *Store) LookUpCode(ctx context.Context, a veilig.Attempt, codeHash []byte, call veilig.Connection) (veilig.CodeLookup, error) {
	at := norm(a.At)
	var l veilig.CodeLookup
	err := s.write(ctx, "look up code", func(tx *sql.Tx) ([]veilig.Event, error) {
		l = veilig.CodeLookup{}
		rows, err := tx.QueryContext(ctx, `SELECT at FROM telephony_misses WHERE caller_key = ? AND at >= ? ORDER BY at, id`,
			a.CallerKey, millis(a.Since))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			l.Misses = append(l.Misses, fromMillis(v))
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if a.Max > 0 && len(l.Misses) >= a.Max {
			return nil, nil
		}
		l.Allowed = true
		if len(codeHash) > 0 {
			sess, ev, err := matchCode(ctx, tx, codeHash, call, at)
			if err != nil && veilig.ErrorCode(err) != veilig.ENOMATCH {
				return nil, err
			}
			if err == nil {
				l.Session, l.Event = sess, ev
				return []veilig.Event{ev}, nil
			}
		}
		return nil, tx.QueryRowContext(ctx, `INSERT INTO telephony_misses (caller_key, at, org_id) VALUES (?, ?, ?) RETURNING id`,
			a.CallerKey, millis(at), veilig.OrganisationOr(a.OrgID)).Scan(&l.MissID)
	})
	if err != nil {
		return veilig.CodeLookup{}, err
	}
	return l, nil
}

// ForgiveMiss deletes a miss recorded in advance.
func (s *Store) ForgiveMiss(ctx context.Context, missID int64) error {
	return s.write(ctx, "forgive miss", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `DELETE FROM telephony_misses WHERE id = ?`, missID)
		return nil, err
	})
}
