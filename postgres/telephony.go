package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

// RememberSignature records sigHash until expiresAt; ECONFLICT on a replay.
func (s *Store) RememberSignature(ctx context.Context, sigHash []byte, expiresAt time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO telephony_signatures (sig_hash, expires_at) VALUES ($1, $2)`, sigHash, expiresAt)
	if _, ok := isUnique(err); ok {
		return veilig.Errorf(veilig.ECONFLICT, "the request was seen before")
	}
	return wrap("remember signature", err)
}

// RecordMiss records a code that matched nothing, under a keyed hash of
// the caller number; nil when the number was withheld.
func (s *Store) RecordMiss(ctx context.Context, callerKey []byte, orgID string, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO telephony_misses (caller_key, at, org_id) VALUES ($1, $2, $3)`, nullBytes(callerKey), at, veilig.OrganisationOr(orgID))
	return wrap("record miss", err)
}

// CountOrgMisses counts the misses at or after since on orgID's lines.
func (s *Store) CountOrgMisses(ctx context.Context, orgID string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM telephony_misses WHERE org_id = $1 AND at >= $2`, veilig.OrganisationOr(orgID), since).Scan(&n)
	if err != nil {
		return 0, wrap("count misses", err)
	}
	return n, nil
}

// CountMisses counts misses at or after since, of callerKey or of everyone
// when callerKey is nil.
func (s *Store) CountMisses(ctx context.Context, callerKey []byte, since time.Time) (int, error) {
	var key any
	if callerKey != nil {
		key = callerKey
	}
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM telephony_misses
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

// LookUpCode sends three statements in one round trip, which PostgreSQL
// runs as one implicit transaction, so a call costs one commit: the first
// takes the caller's advisory lock; the second (under READ COMMITTED, with
// a snapshot taken after the lock, so it sees every attempt committed
// before) counts the caller's misses and, when allowed, records this
// attempt as a miss in advance, noting its id in a transaction-local
// setting; the third is the match, which requires that setting and
// deletes the miss when the code matched. Counting in the statement that
// takes the lock would count from a snapshot older than the lock.
func (s *Store) LookUpCode(ctx context.Context, a veilig.Attempt, codeHash []byte, call veilig.Connection) (veilig.CodeLookup, error) {
	var objID int32
	if len(a.CallerKey) >= 4 {
		objID = int32(binary.BigEndian.Uint32(a.CallerKey))
	}
	at := norm(a.At)
	var (
		b      pgx.Batch
		id     *int64
		misses []time.Time
		out    *veilig.StoredSession
		seq    int64
	)
	b.Queue(`SELECT pg_advisory_xact_lock($1, $2)`, missLockClass, objID)
	b.Queue(`WITH recent AS (
			SELECT at, id FROM telephony_misses WHERE caller_key = $1 AND at >= $2),
		ins AS (
			INSERT INTO telephony_misses (caller_key, at, org_id)
			SELECT $1, $3, $5 WHERE $4 = 0 OR (SELECT COUNT(*) FROM recent) < $4
			RETURNING id)
		SELECT (SELECT id FROM ins), COALESCE(ARRAY(SELECT at FROM recent ORDER BY at, id), '{}'),
			set_config('veilig.attempt', COALESCE((SELECT id FROM ins)::text, ''), true)`,
		a.CallerKey, a.Since, at, a.Max, veilig.OrganisationOr(a.OrgID)).QueryRow(func(row pgx.Row) error {
		var setting string
		return row.Scan(&id, &misses, &setting)
	})
	if len(codeHash) > 0 {
		q, p, err := matchSQL(codeHash, call, at, 0, true)
		if err != nil {
			return veilig.CodeLookup{}, wrap("look up code", err)
		}
		b.Queue(q, p...).QueryRow(func(row pgx.Row) error {
			var err error
			if out, err = scanSession(row, &seq); errors.Is(err, pgx.ErrNoRows) {
				out, err = nil, nil
			}
			return err
		})
	}
	if err := s.db.SendBatch(ctx, &b).Close(); err != nil {
		return veilig.CodeLookup{}, wrap("look up code", sessionConflict(err))
	}
	for i := range misses {
		misses[i] = fromDB(misses[i])
	}
	l := veilig.CodeLookup{Allowed: id != nil, Misses: misses}
	switch {
	case out != nil:
		l.Session = out
		l.Event = eventOf(out, string(veilig.StateMatched), "", at, seq)
	case id != nil:
		l.MissID = *id
	}
	return l, nil
}

// ForgiveMiss deletes a miss recorded in advance.
func (s *Store) ForgiveMiss(ctx context.Context, missID int64) error {
	_, err := s.db.Exec(ctx, `DELETE FROM telephony_misses WHERE id = $1`, missID)
	return wrap("forgive miss", err)
}
