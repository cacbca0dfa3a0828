package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

const sessionColumns = `id, purpose_id, org_id, channel, means, assurance, state, reason, yivi_token,
	disclosure_key_id, disclosure, caller_key_id, caller, provider, call_id, taken_by,
	created_at, expires_at, disclosed_at, matched_at, answered_at, ended_at`

// expiredReason is the reason of sessions ExpireSessions ends. It must stay
// equal to the one of package postgres: both pass the same contract.
const expiredReason = "not completed in time"

type scanner interface{ Scan(dest ...any) error }

func scanSession(row scanner) (*veilig.StoredSession, error) {
	var s veilig.StoredSession
	var created, expires int64
	var disclosed, matched, answered, ended sql.NullInt64
	err := row.Scan(&s.ID, &s.PurposeID, &s.OrgID, &s.Channel, &s.Means, &s.Assurance, &s.State, &s.Reason, &s.ProofRef,
		&s.SealedDisclosure.KeyID, &s.SealedDisclosure.Data, &s.SealedAddress.KeyID, &s.SealedAddress.Data,
		&s.Platform, &s.ConnectionID, &s.TakenBy,
		&created, &expires, &disclosed, &matched, &answered, &ended)
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = fromMillis(created), fromMillis(expires)
	s.DisclosedAt, s.MatchedAt = fromNullMillis(disclosed), fromNullMillis(matched)
	s.AnsweredAt, s.EndedAt = fromNullMillis(answered), fromNullMillis(ended)
	return &s, nil
}

// sessionConflict turns a uniqueness violation on sessions into ECONFLICT,
// saying which kind without naming any value.
func sessionConflict(err error) error {
	msg, ok := isUnique(err)
	if !ok {
		return err
	}
	switch {
	case strings.Contains(msg, "sessions.code_hash"):
		return veilig.Errorf(veilig.ECONFLICT, "the code is in use")
	case strings.Contains(msg, "sessions.call_id"):
		return veilig.Errorf(veilig.ECONFLICT, "the call is matched to another session")
	case strings.Contains(msg, "sessions.status_token_hash"):
		return veilig.Errorf(veilig.ECONFLICT, "the status token is in use")
	}
	return veilig.Errorf(veilig.ECONFLICT, "the session exists")
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return veilig.Errorf(veilig.ENOTFOUND, "%s not found", what)
	}
	return err
}

func sealedData(s veilig.Sealed) any {
	if s.IsZero() {
		return nil
	}
	if s.Data == nil {
		return []byte{}
	}
	return s.Data
}

// CreateSession inserts sess in state created and appends its created event.
func (s *Store) CreateSession(ctx context.Context, sess *veilig.Session, codeHash, statusTokenHash []byte, retainUntil time.Time) (veilig.Event, error) {
	if sess.ID == "" || len(statusTokenHash) == 0 {
		return veilig.Event{}, veilig.Errorf(veilig.EINVALID, "a session needs an id and a status token")
	}
	sess.State = veilig.StateCreated
	sess.CreatedAt, sess.ExpiresAt = norm(sess.CreatedAt), norm(sess.ExpiresAt)
	var ev veilig.Event
	err := s.write(ctx, "create session", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (
			id, purpose_id, org_id, channel, means, state, reason, yivi_token, code_hash, status_token_hash,
			provider, call_id, taken_by, created_at, expires_at, retain_until
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.PurposeID, veilig.OrganisationOr(sess.OrgID), sess.Channel, sess.Means, sess.State, sess.Reason, sess.ProofRef,
			nullBytes(codeHash), statusTokenHash, sess.Platform, sess.ConnectionID, sess.TakenBy,
			millis(sess.CreatedAt), millis(sess.ExpiresAt), millis(retainUntil))
		if err != nil {
			return nil, sessionConflict(err)
		}
		ev, err = appendEvent(ctx, tx, veilig.Event{
			SessionID: sess.ID, PurposeID: sess.PurposeID, Type: string(veilig.StateCreated), At: sess.CreatedAt,
		})
		return []veilig.Event{ev}, err
	})
	if err != nil {
		return veilig.Event{}, err
	}
	return ev, nil
}

// Session returns a session by id.
func (s *Store) Session(ctx context.Context, id string) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.rdb.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return nil, wrap("session", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByStatusToken returns a session by the hash of its status token.
func (s *Store) SessionByStatusToken(ctx context.Context, tokenHash []byte) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.rdb.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE status_token_hash = ?`, tokenHash))
	if err != nil {
		return nil, wrap("session by status token", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByConnection returns the session a platform's call was matched to.
func (s *Store) SessionByConnection(ctx context.Context, provider, callID string) (*veilig.StoredSession, error) {
	// call_id <> '' lets SQLite use the partial unique index.
	sess, err := scanSession(s.rdb.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE provider = ? AND call_id = ? AND call_id <> ''`, provider, callID))
	if err != nil {
		return nil, wrap("session by call", notFound(err, "session"))
	}
	return sess, nil
}

// Sessions lists sessions by MatchedAt, never matched ones last, then by CreatedAt.
func (s *Store) Sessions(ctx context.Context, f veilig.SessionFilter) ([]*veilig.StoredSession, error) {
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE 1 = 1`
	var args []any
	if len(f.States) > 0 {
		q += ` AND state IN (` + placeholders(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if !allPurposes(f.Purposes) {
		q += ` AND purpose_id IN (` + placeholders(len(f.Purposes)) + `)`
		for _, p := range f.Purposes {
			args = append(args, p)
		}
	}
	q += ` ORDER BY matched_at IS NULL, matched_at, created_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("sessions", err)
	}
	defer rows.Close()
	var out []*veilig.StoredSession
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, wrap("sessions", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("sessions", err)
	}
	return out, nil
}

// Transition applies t in one transaction.
func (s *Store) Transition(ctx context.Context, t veilig.Transition) (*veilig.StoredSession, veilig.Event, error) {
	if !t.To.Valid() {
		return nil, veilig.Event{}, veilig.Errorf(veilig.EINVALID, "unknown target state")
	}
	at := norm(t.At)
	var out *veilig.StoredSession
	var ev veilig.Event
	err := s.write(ctx, "transition", func(tx *sql.Tx) ([]veilig.Event, error) {
		cur, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, t.SessionID))
		if err != nil {
			return nil, notFound(err, "session")
		}
		if err := t.Check(cur.State); err != nil {
			return nil, err
		}
		n := t.Apply(cur, at)
		var retain any
		if !t.RetainUntil.IsZero() {
			retain = millis(t.RetainUntil)
		}
		out, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET
			state = ?, assurance = ?, reason = ?, yivi_token = ?,
			code_hash = CASE WHEN ? THEN NULL ELSE code_hash END,
			disclosure_key_id = ?, disclosure = ?, caller_key_id = ?, caller = ?,
			provider = ?, call_id = ?, taken_by = ?,
			disclosed_at = ?, matched_at = ?, answered_at = ?, ended_at = ?,
			retain_until = COALESCE(?, retain_until)
			WHERE id = ?
			RETURNING `+sessionColumns,
			n.State, n.Assurance, n.Reason, n.ProofRef, t.ClearCode,
			n.SealedDisclosure.KeyID, sealedData(n.SealedDisclosure), n.SealedAddress.KeyID, sealedData(n.SealedAddress),
			n.Platform, n.ConnectionID, n.TakenBy,
			nullMillis(n.DisclosedAt), nullMillis(n.MatchedAt), nullMillis(n.AnsweredAt), nullMillis(n.EndedAt),
			retain, t.SessionID))
		if err != nil {
			return nil, sessionConflict(err)
		}
		if t.Audit != nil {
			e := t.Audit
			if e.At.IsZero() {
				e.At = at
			}
			if e.SessionID == "" {
				e.SessionID = cur.ID
			}
			if e.PurposeID == "" {
				e.PurposeID = cur.PurposeID
			}
			e.OrgID = cur.OrgID // a contact's entry is its organisation's
			if err := insertAudit(ctx, tx, e); err != nil {
				return nil, err
			}
		}
		if t.Event == "" {
			return nil, nil
		}
		ev, err = appendEvent(ctx, tx, veilig.Event{
			SessionID: cur.ID, PurposeID: cur.PurposeID, Type: t.Event, Reason: t.Reason, At: at,
		})
		return []veilig.Event{ev}, err
	})
	if err != nil {
		return nil, veilig.Event{}, err
	}
	return out, ev, nil
}

// MatchCode matches a call to the disclosed, unexpired session holding codeHash.
func (s *Store) MatchCode(ctx context.Context, codeHash []byte, call veilig.Connection, at time.Time, forgive int64) (*veilig.StoredSession, veilig.Event, error) {
	if len(codeHash) == 0 {
		return nil, veilig.Event{}, veilig.Errorf(veilig.ENOMATCH, "no session matches")
	}
	at = norm(at)
	var out *veilig.StoredSession
	var ev veilig.Event
	err := s.write(ctx, "match code", func(tx *sql.Tx) ([]veilig.Event, error) {
		var err error
		if out, ev, err = matchCode(ctx, tx, codeHash, call, at); err != nil {
			return nil, err
		}
		if forgive != 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM telephony_misses WHERE id = ?`, forgive); err != nil {
				return nil, err
			}
		}
		return []veilig.Event{ev}, nil
	})
	if err != nil {
		return nil, veilig.Event{}, err
	}
	return out, ev, nil
}

// matchCode is a match within a write transaction; ENOMATCH when the code
// matches nothing.
func matchCode(ctx context.Context, tx *sql.Tx, codeHash []byte, call veilig.Connection, at time.Time) (*veilig.StoredSession, veilig.Event, error) {
	out, err := scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET
		state = ?, reason = '', code_hash = NULL,
		provider = ?, call_id = ?, caller_key_id = ?, caller = ?, matched_at = ?
		WHERE code_hash = ? AND state = ? AND expires_at > ? AND (? = '' OR org_id = ?)
		RETURNING `+sessionColumns,
		veilig.StateMatched, call.Platform, call.ID, call.SealedAddress.KeyID, sealedData(call.SealedAddress),
		millis(at), codeHash, veilig.StateDisclosed, millis(at), call.OrgID, call.OrgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veilig.Event{}, veilig.Errorf(veilig.ENOMATCH, "no session matches")
	} else if err != nil {
		return nil, veilig.Event{}, sessionConflict(err)
	}
	ev, err := appendEvent(ctx, tx, veilig.Event{
		SessionID: out.ID, PurposeID: out.PurposeID, Type: string(veilig.StateMatched), At: at,
	})
	return out, ev, err
}

// ExpireSessions ends the sessions of purposeID that were not matched
// before their ExpiresAt.
func (s *Store) ExpireSessions(ctx context.Context, purposeID string, now, retainUntil time.Time) ([]veilig.Event, error) {
	now = norm(now)
	var events []veilig.Event
	err := s.write(ctx, "expire sessions", func(tx *sql.Tx) ([]veilig.Event, error) {
		events = nil
		rows, err := tx.QueryContext(ctx, `UPDATE sessions SET
			state = ?, reason = ?, code_hash = NULL, yivi_token = '',
			disclosure_key_id = '', disclosure = NULL, caller_key_id = '', caller = NULL,
			ended_at = ?, retain_until = ?
			WHERE purpose_id = ? AND state IN (?, ?, ?) AND expires_at <= ?
			RETURNING id, expires_at`,
			veilig.StateExpired, expiredReason, millis(now), millis(retainUntil),
			purposeID, veilig.StateCreated, veilig.StateDisclosing, veilig.StateDisclosed, millis(now))
		if err != nil {
			return nil, err
		}
		type expired struct {
			id      string
			expires int64
		}
		var ended []expired
		for rows.Next() {
			var e expired
			if err := rows.Scan(&e.id, &e.expires); err != nil {
				rows.Close()
				return nil, err
			}
			ended = append(ended, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// RETURNING has no order; events follow the order the codes ran out.
		slices.SortFunc(ended, func(a, b expired) int {
			return cmp.Or(cmp.Compare(a.expires, b.expires), strings.Compare(a.id, b.id))
		})
		for _, e := range ended {
			ev, err := appendEvent(ctx, tx, veilig.Event{
				SessionID: e.id, PurposeID: purposeID, Type: string(veilig.StateExpired), Reason: expiredReason, At: now,
			})
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		}
		return events, nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// missWindow is how long misses are kept: the rate limits look back less.
const missWindow = 24 * time.Hour

// Purge deletes what is past its retention.
func (s *Store) Purge(ctx context.Context, now time.Time, audit veilig.AuditCutoffs) (veilig.PurgeResult, error) {
	var res veilig.PurgeResult
	own, _ := json.Marshal(append([]string{}, slices.Sorted(maps.Keys(audit.ByOrg))...)) // [], not null: NOT IN (NULL) matches nothing
	err := s.write(ctx, "purge", func(tx *sql.Tx) ([]veilig.Event, error) {
		res = veilig.PurgeResult{}
		ds := []deletion{
			// Events first, to count them; the foreign key would cascade.
			{&res.Events, `DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE retain_until < ?)`, []any{millis(now)}},
			{&res.Sessions, `DELETE FROM sessions WHERE retain_until < ?`, []any{millis(now)}},
			{&res.AgentSessions, `DELETE FROM agent_sessions WHERE expires_at <= ?`, []any{millis(now)}},
			{&res.Signatures, `DELETE FROM telephony_signatures WHERE expires_at <= ?`, []any{millis(now)}},
			{&res.Misses, `DELETE FROM telephony_misses WHERE at < ?`, []any{millis(now.Add(-missWindow))}},
			{&res.AuditEntries, `DELETE FROM audit_log WHERE at < ? AND org_id NOT IN (SELECT value FROM json_each(?))`, []any{millis(audit.Before), string(own)}},
		}
		for _, org := range slices.Sorted(maps.Keys(audit.ByOrg)) {
			ds = append(ds, deletion{&res.AuditEntries, `DELETE FROM audit_log WHERE org_id = ? AND at < ?`, []any{org, millis(audit.ByOrg[org])}})
		}
		return nil, deleteAll(ctx, tx, ds)
	})
	if err != nil {
		return veilig.PurgeResult{}, err
	}
	return res, nil
}

// deletion is one DELETE of a purge, counted into n (added: several may
// count into one).
type deletion struct {
	n     *int64
	query string
	args  []any
}

// deleteAll runs ds in order within tx.
func deleteAll(ctx context.Context, tx *sql.Tx, ds []deletion) error {
	for _, d := range ds {
		r, err := tx.ExecContext(ctx, d.query, d.args...)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		*d.n += n
	}
	return nil
}

// SessionByCode returns the live session holding codeHash.
func (s *Store) SessionByCode(ctx context.Context, codeHash []byte, at time.Time) (*veilig.StoredSession, error) {
	if len(codeHash) == 0 {
		return nil, veilig.Errorf(veilig.ENOTFOUND, "no session holds this code")
	}
	sess, err := scanSession(s.rdb.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE code_hash = ? AND state IN (?, ?, ?) AND expires_at > ?`,
		codeHash, veilig.StateCreated, veilig.StateDisclosing, veilig.StateDisclosed, millis(norm(at))))
	if err != nil {
		return nil, wrap("session by code", notFound(err, "session"))
	}
	return sess, nil
}

// RemoveOrganisation deletes everything of organisation orgID.
func (s *Store) RemoveOrganisation(ctx context.Context, orgID string, keepAudit bool) (veilig.PurgeResult, error) {
	var res veilig.PurgeResult
	err := s.write(ctx, "remove organisation", func(tx *sql.Tx) ([]veilig.Event, error) {
		res = veilig.PurgeResult{}
		ds := []deletion{
			{&res.Events, `DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE org_id = ?)`, []any{orgID}},
			{&res.Sessions, `DELETE FROM sessions WHERE org_id = ?`, []any{orgID}},
			{&res.AgentSessions, `DELETE FROM agent_sessions WHERE agent_id IN (SELECT id FROM agents WHERE org_id = ?)`, []any{orgID}},
			{&res.Agents, `DELETE FROM agents WHERE org_id = ?`, []any{orgID}},
		}
		if !keepAudit {
			ds = append(ds, deletion{&res.AuditEntries, `DELETE FROM audit_log WHERE org_id = ?`, []any{orgID}})
		}
		return nil, deleteAll(ctx, tx, ds)
	})
	if err != nil {
		return veilig.PurgeResult{}, err
	}
	return res, nil
}
