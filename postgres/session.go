package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

const sessionColumns = `id, purpose_id, channel, means, state, reason, yivi_token,
	disclosure_key_id, disclosure, caller_key_id, caller, provider, call_id, taken_by,
	created_at, expires_at, disclosed_at, matched_at, answered_at, ended_at`

// expiredReason is the reason of sessions ExpireSessions ends. It must stay
// equal to the one of package sqlite: both pass the same contract.
const expiredReason = "not completed in time"

func scanSession(row pgx.Row) (*veilig.StoredSession, error) {
	var s veilig.StoredSession
	var channel, means, state string
	var disclosed, matched, answered, ended *time.Time
	err := row.Scan(&s.ID, &s.PurposeID, &channel, &means, &state, &s.Reason, &s.YiviToken,
		&s.SealedDisclosure.KeyID, &s.SealedDisclosure.Data, &s.SealedCaller.KeyID, &s.SealedCaller.Data,
		&s.Provider, &s.CallID, &s.TakenBy,
		&s.CreatedAt, &s.ExpiresAt, &disclosed, &matched, &answered, &ended)
	if err != nil {
		return nil, err
	}
	s.Channel, s.Means, s.State = veilig.Channel(channel), veilig.Means(means), veilig.SessionState(state)
	s.CreatedAt, s.ExpiresAt = fromDB(s.CreatedAt), fromDB(s.ExpiresAt)
	s.DisclosedAt, s.MatchedAt = fromNull(disclosed), fromNull(matched)
	s.AnsweredAt, s.EndedAt = fromNull(answered), fromNull(ended)
	return &s, nil
}

// sessionConflict turns a uniqueness violation on sessions into ECONFLICT,
// saying which kind without naming any value.
func sessionConflict(err error) error {
	c, ok := isUnique(err)
	if !ok {
		return err
	}
	switch c {
	case "sessions_code_hash_key":
		return veilig.Errorf(veilig.ECONFLICT, "the code is in use")
	case "sessions_call":
		return veilig.Errorf(veilig.ECONFLICT, "the call is matched to another session")
	case "sessions_status_token_hash_key":
		return veilig.Errorf(veilig.ECONFLICT, "the status token is in use")
	}
	return veilig.Errorf(veilig.ECONFLICT, "the session exists")
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
	var ev []veilig.Event
	err := s.inTx(ctx, "create session", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (
			id, purpose_id, channel, means, state, reason, yivi_token, code_hash, status_token_hash,
			provider, call_id, taken_by, created_at, expires_at, retain_until
		) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			sess.ID, sess.PurposeID, string(sess.Channel), string(sess.Means), string(sess.State), sess.Reason, sess.YiviToken,
			nullBytes(codeHash), statusTokenHash, sess.Provider, sess.CallID, sess.TakenBy,
			sess.CreatedAt, sess.ExpiresAt, retainUntil)
		if err != nil {
			return sessionConflict(err)
		}
		ev = []veilig.Event{{SessionID: sess.ID, PurposeID: sess.PurposeID, Type: string(veilig.StateCreated), At: sess.CreatedAt}}
		return appendEvents(ctx, tx, ev)
	})
	if err != nil {
		return veilig.Event{}, err
	}
	return ev[0], nil
}

// Session returns a session by id.
func (s *Store) Session(ctx context.Context, id string) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("session", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByStatusToken returns a session by the hash of its status token.
func (s *Store) SessionByStatusToken(ctx context.Context, tokenHash []byte) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE status_token_hash = $1`, tokenHash))
	if err != nil {
		return nil, wrap("session by status token", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByCall returns the session a platform's call was matched to.
func (s *Store) SessionByCall(ctx context.Context, provider, callID string) (*veilig.StoredSession, error) {
	// call_id <> '' lets the planner use the partial unique index.
	sess, err := scanSession(s.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE provider = $1 AND call_id = $2 AND call_id <> ''`, provider, callID))
	if err != nil {
		return nil, wrap("session by call", notFound(err, "session"))
	}
	return sess, nil
}

// Sessions lists sessions by MatchedAt, never matched ones last, then by CreatedAt.
func (s *Store) Sessions(ctx context.Context, f veilig.SessionFilter) ([]*veilig.StoredSession, error) {
	var states []string
	for _, st := range f.States {
		states = append(states, string(st))
	}
	var limit any
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE ($1::text[] IS NULL OR state = ANY($1))
		AND ($2::text[] IS NULL OR purpose_id = ANY($2))
		ORDER BY matched_at ASC NULLS LAST, created_at, id
		LIMIT $3`, states, purposeFilter(f.Purposes), limit)
	if err != nil {
		return nil, wrap("sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*veilig.StoredSession, error) { return scanSession(row) })
	if err != nil {
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
	var ev []veilig.Event
	err := s.inTx(ctx, "transition", func(tx pgx.Tx) error {
		ev = nil
		cur, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1 FOR UPDATE`, t.SessionID))
		if err != nil {
			return notFound(err, "session")
		}
		if err := t.Check(cur.State); err != nil {
			return err
		}
		n := t.Apply(cur, at)
		out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions SET
			state = $1, reason = $2, yivi_token = $3,
			code_hash = CASE WHEN $4 THEN NULL ELSE code_hash END,
			disclosure_key_id = $5, disclosure = $6, caller_key_id = $7, caller = $8,
			provider = $9, call_id = $10, taken_by = $11,
			disclosed_at = $12, matched_at = $13, answered_at = $14, ended_at = $15,
			retain_until = COALESCE($16, retain_until)
			WHERE id = $17
			RETURNING `+sessionColumns,
			string(n.State), n.Reason, n.YiviToken, t.ClearCode,
			n.SealedDisclosure.KeyID, sealedData(n.SealedDisclosure), n.SealedCaller.KeyID, sealedData(n.SealedCaller),
			n.Provider, n.CallID, n.TakenBy,
			nullTime(n.DisclosedAt), nullTime(n.MatchedAt), nullTime(n.AnsweredAt), nullTime(n.EndedAt),
			nullTime(t.RetainUntil), t.SessionID))
		if err != nil {
			return sessionConflict(err)
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
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		if t.Event == "" {
			return nil
		}
		ev = []veilig.Event{{SessionID: cur.ID, PurposeID: cur.PurposeID, Type: t.Event, Reason: t.Reason, At: at}}
		return appendEvents(ctx, tx, ev)
	})
	if err != nil {
		return nil, veilig.Event{}, err
	}
	if len(ev) == 0 {
		return out, veilig.Event{}, nil
	}
	return out, ev[0], nil
}

// MatchCode matches a call to the disclosed, unexpired session holding
// codeHash. It is one UPDATE: of concurrent calls with the same code, one
// updates the row and the others, once its lock is released, re-check the
// row, find the code gone and match nothing.
func (s *Store) MatchCode(ctx context.Context, codeHash []byte, call veilig.Call, at time.Time) (*veilig.StoredSession, veilig.Event, error) {
	if len(codeHash) == 0 {
		return nil, veilig.Event{}, veilig.Errorf(veilig.ENOMATCH, "no session matches")
	}
	at = norm(at)
	var out *veilig.StoredSession
	var ev []veilig.Event
	err := s.inTx(ctx, "match code", func(tx pgx.Tx) error {
		var err error
		out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions SET
			state = $1, reason = '', code_hash = NULL,
			provider = $2, call_id = $3, caller_key_id = $4, caller = $5, matched_at = $6
			WHERE code_hash = $7 AND state = $8 AND expires_at > $6
			RETURNING `+sessionColumns,
			string(veilig.StateMatched), call.Provider, call.CallID, call.SealedCaller.KeyID, sealedData(call.SealedCaller),
			at, codeHash, string(veilig.StateDisclosed)))
		if errors.Is(err, pgx.ErrNoRows) {
			return veilig.Errorf(veilig.ENOMATCH, "no session matches")
		} else if err != nil {
			return sessionConflict(err)
		}
		ev = []veilig.Event{{SessionID: out.ID, PurposeID: out.PurposeID, Type: string(veilig.StateMatched), At: at}}
		return appendEvents(ctx, tx, ev)
	})
	if err != nil {
		return nil, veilig.Event{}, err
	}
	return out, ev[0], nil
}

// ExpireSessions ends the sessions of purposeID that were not matched
// before their ExpiresAt. Replicas may run it at the same time: a row one
// of them expired no longer qualifies for the others.
func (s *Store) ExpireSessions(ctx context.Context, purposeID string, now, retainUntil time.Time) ([]veilig.Event, error) {
	now = norm(now)
	var events []veilig.Event
	err := s.inTx(ctx, "expire sessions", func(tx pgx.Tx) error {
		events = nil
		// RETURNING has no order; events follow the order the codes ran out.
		rows, err := tx.Query(ctx, `WITH expired AS (
				UPDATE sessions SET
				state = $1, reason = $2, code_hash = NULL, yivi_token = '',
				disclosure_key_id = '', disclosure = NULL, caller_key_id = '', caller = NULL,
				ended_at = $3, retain_until = $4
				WHERE purpose_id = $5 AND state = ANY($6) AND expires_at <= $3
				RETURNING id, expires_at
			)
			SELECT id FROM expired ORDER BY expires_at, id`,
			string(veilig.StateExpired), expiredReason, now, retainUntil, purposeID,
			[]string{string(veilig.StateCreated), string(veilig.StateDisclosing), string(veilig.StateDisclosed)})
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			events = append(events, veilig.Event{
				SessionID: id, PurposeID: purposeID, Type: string(veilig.StateExpired), Reason: expiredReason, At: now,
			})
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// missWindow is how long misses are kept: the rate limits look back less.
const missWindow = 24 * time.Hour

// Purge deletes what is past its retention.
func (s *Store) Purge(ctx context.Context, now, auditBefore time.Time) (veilig.PurgeResult, error) {
	var res veilig.PurgeResult
	err := s.inTx(ctx, "purge", func(tx pgx.Tx) error {
		res = veilig.PurgeResult{}
		for _, d := range []struct {
			n     *int64
			query string
			arg   time.Time
		}{
			// Events first, to count them; the foreign key cascades to any
			// appended meanwhile.
			{&res.Events, `DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE retain_until < $1)`, now},
			{&res.Sessions, `DELETE FROM sessions WHERE retain_until < $1`, now},
			{&res.AgentSessions, `DELETE FROM agent_sessions WHERE expires_at <= $1`, now},
			{&res.Signatures, `DELETE FROM telephony_signatures WHERE expires_at <= $1`, now},
			{&res.Misses, `DELETE FROM telephony_misses WHERE at < $1`, now.Add(-missWindow)},
			{&res.AuditEntries, `DELETE FROM audit_log WHERE at < $1`, auditBefore},
		} {
			tag, err := tx.Exec(ctx, d.query, d.arg)
			if err != nil {
				return err
			}
			*d.n = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return veilig.PurgeResult{}, err
	}
	return res, nil
}
