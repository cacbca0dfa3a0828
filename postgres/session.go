package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

const sessionColumns = `id, purpose_id, org_id, channel, means, assurance, state, reason, yivi_token,
	disclosure_key_id, disclosure, caller_key_id, caller, provider, call_id, taken_by,
	created_at, expires_at, disclosed_at, matched_at, answered_at, ended_at`

// expiredReason is the reason of sessions ExpireSessions ends. It must stay
// equal to the one of package sqlite: both pass the same contract.
const expiredReason = "not completed in time"

// scanSession scans sessionColumns and then, into extra, whatever columns
// follow them.
func scanSession(row pgx.Row, extra ...any) (*veilig.StoredSession, error) {
	var s veilig.StoredSession
	var channel, means, assurance, state string
	var disclosed, matched, answered, ended *time.Time
	err := row.Scan(append([]any{&s.ID, &s.PurposeID, &s.OrgID, &channel, &means, &assurance, &state, &s.Reason, &s.ProofRef,
		&s.SealedDisclosure.KeyID, &s.SealedDisclosure.Data, &s.SealedAddress.KeyID, &s.SealedAddress.Data,
		&s.Platform, &s.ConnectionID, &s.TakenBy,
		&s.CreatedAt, &s.ExpiresAt, &disclosed, &matched, &answered, &ended}, extra...)...)
	if err != nil {
		return nil, err
	}
	s.Channel, s.Means, s.Assurance, s.State = veilig.Channel(channel), veilig.Means(means), veilig.Assurance(assurance), veilig.SessionState(state)
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

// CreateSession inserts sess in state created and appends its created
// event, in one statement.
func (s *Store) CreateSession(ctx context.Context, sess *veilig.Session, codeHash, statusTokenHash []byte, retainUntil time.Time) (veilig.Event, error) {
	if sess.ID == "" || len(statusTokenHash) == 0 {
		return veilig.Event{}, veilig.Errorf(veilig.EINVALID, "a session needs an id and a status token")
	}
	sess.State = veilig.StateCreated
	sess.CreatedAt, sess.ExpiresAt = norm(sess.CreatedAt), norm(sess.ExpiresAt)
	ev := veilig.Event{SessionID: sess.ID, PurposeID: sess.PurposeID, Type: string(veilig.StateCreated), At: sess.CreatedAt}
	var p params
	ins := fmt.Sprintf(`ins AS (INSERT INTO sessions (
			id, purpose_id, org_id, channel, means, state, reason, yivi_token, code_hash, status_token_hash,
			provider, call_id, taken_by, created_at, expires_at, retain_until
		) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, purpose_id)`,
		p.add(sess.ID), p.add(sess.PurposeID), p.add(veilig.OrganisationOr(sess.OrgID)), p.add(string(sess.Channel)), p.add(string(sess.Means)), p.add(string(sess.State)),
		p.add(sess.Reason), p.add(sess.ProofRef), p.add(nullBytes(codeHash)), p.add(statusTokenHash), p.add(sess.Platform),
		p.add(sess.ConnectionID), p.add(sess.TakenBy), p.add(sess.CreatedAt), p.add(sess.ExpiresAt), p.add(retainUntil))
	events, err := eventCTEs(&p, "ins", ev)
	if err != nil {
		return veilig.Event{}, wrap("create session", err)
	}
	if err := s.db.QueryRow(ctx, "WITH "+ins+",\n"+events+"\nSELECT seq FROM note", p...).Scan(&ev.Seq); err != nil {
		return veilig.Event{}, wrap("create session", sessionConflict(err))
	}
	return ev, nil
}

// Session returns a session by id.
func (s *Store) Session(ctx context.Context, id string) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("session", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByStatusToken returns a session by the hash of its status token.
func (s *Store) SessionByStatusToken(ctx context.Context, tokenHash []byte) (*veilig.StoredSession, error) {
	sess, err := scanSession(s.db.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE status_token_hash = $1`, tokenHash))
	if err != nil {
		return nil, wrap("session by status token", notFound(err, "session"))
	}
	return sess, nil
}

// SessionByConnection returns the session a platform's call was matched to.
func (s *Store) SessionByConnection(ctx context.Context, provider, callID string) (*veilig.StoredSession, error) {
	// call_id <> '' lets the planner use the partial unique index.
	sess, err := scanSession(s.db.QueryRow(ctx,
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
	rows, err := s.db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
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

// Transition applies t: it reads the session, checks and applies t in Go
// (veilig.Transition.Check and Apply, shared with package sqlite) and
// writes the result, its audit entry and its event in one statement that
// only applies if the row's version is still the one read (a trigger bumps
// it on every UPDATE of the row, by whoever: migration 0004). A session
// changed in between is read again: optimistic, since a session has few
// writers at once, and two round trips instead of a transaction's six.
func (s *Store) Transition(ctx context.Context, t veilig.Transition) (*veilig.StoredSession, veilig.Event, error) {
	if !t.To.Valid() {
		return nil, veilig.Event{}, veilig.Errorf(veilig.EINVALID, "unknown target state")
	}
	at := norm(t.At)
	for range maxTransitionAttempts {
		var version int64
		cur, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+`, version FROM sessions WHERE id = $1`, t.SessionID), &version)
		if err != nil {
			return nil, veilig.Event{}, wrap("transition", notFound(err, "session"))
		}
		if err := t.Check(cur.State); err != nil {
			return nil, veilig.Event{}, err
		}
		out, ev, err := s.writeTransition(ctx, t, cur, version, at)
		if errors.Is(err, errStale) {
			continue
		}
		return out, ev, err
	}
	return nil, veilig.Event{}, veilig.Errorf(veilig.ECONFLICT, "the session kept changing; try again")
}

// maxTransitionAttempts bounds the re-reads of a session that others keep
// changing.
const maxTransitionAttempts = 16

var errStale = errors.New("the session changed since it was read")

func (s *Store) writeTransition(ctx context.Context, t veilig.Transition, cur *veilig.StoredSession, version int64, at time.Time) (*veilig.StoredSession, veilig.Event, error) {
	n := t.Apply(cur, at)
	var p params
	var b strings.Builder
	fmt.Fprintf(&b, `WITH upd AS (UPDATE sessions SET
			state = %s, assurance = %s, reason = %s, yivi_token = %s,
			code_hash = CASE WHEN %s THEN NULL ELSE code_hash END,
			disclosure_key_id = %s, disclosure = %s, caller_key_id = %s, caller = %s,
			provider = %s, call_id = %s, taken_by = %s,
			disclosed_at = %s, matched_at = %s, answered_at = %s, ended_at = %s,
			retain_until = COALESCE(%s, retain_until)
			WHERE id = %s AND version = %s
			RETURNING `+sessionColumns+`)`,
		p.add(string(n.State)), p.add(string(n.Assurance)), p.add(n.Reason), p.add(n.ProofRef), p.add(t.ClearCode),
		p.add(n.SealedDisclosure.KeyID), p.add(sealedData(n.SealedDisclosure)), p.add(n.SealedAddress.KeyID), p.add(sealedData(n.SealedAddress)),
		p.add(n.Platform), p.add(n.ConnectionID), p.add(n.TakenBy),
		p.add(nullTime(n.DisclosedAt)), p.add(nullTime(n.MatchedAt)), p.add(nullTime(n.AnsweredAt)), p.add(nullTime(n.EndedAt)),
		p.add(nullTime(t.RetainUntil)), p.add(t.SessionID), p.add(version))
	audit := "NULL::bigint"
	if t.Audit != nil {
		e := *t.Audit
		if e.At.IsZero() {
			e.At = at
		}
		if e.SessionID == "" {
			e.SessionID = cur.ID
		}
		if e.PurposeID == "" {
			e.PurposeID = cur.PurposeID
		}
		e.At = norm(e.At)
		attrs, err := auditAttributes(e.Attributes)
		if err != nil {
			return nil, veilig.Event{}, err
		}
		fmt.Fprintf(&b, `,
		aud AS (INSERT INTO audit_log (at, agent_id, action, session_id, purpose_id, attributes, remote_addr, subject, detail, org_id)
			SELECT %s::timestamptz, %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, %s::text, upd.org_id FROM upd
			RETURNING id)`,
			p.add(e.At), p.add(e.AgentID), p.add(e.Action), p.add(e.SessionID), p.add(e.PurposeID), p.add(attrs),
			p.add(e.RemoteAddr), p.add(e.Subject), p.add(e.Detail))
		audit = "(SELECT id FROM aud)"
		t.Audit.At, t.Audit.SessionID, t.Audit.PurposeID, t.Audit.OrgID = e.At, e.SessionID, e.PurposeID, cur.OrgID
	}
	seq := "NULL::bigint"
	if t.Event != "" {
		events, err := eventCTEs(&p, "upd", veilig.Event{Type: t.Event, Reason: t.Reason, At: at})
		if err != nil {
			return nil, veilig.Event{}, wrap("transition", err)
		}
		b.WriteString(",\n" + events)
		seq = "(SELECT seq FROM note)"
	}
	fmt.Fprintf(&b, "\nSELECT %s, %s, %s FROM upd", sessionColumnsOf("upd"), audit, seq)

	var auditID, eventSeq *int64
	out, err := scanSession(s.db.QueryRow(ctx, b.String(), p...), &auditID, &eventSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, veilig.Event{}, errStale
	}
	if err != nil {
		return nil, veilig.Event{}, wrap("transition", sessionConflict(err))
	}
	if t.Audit != nil && auditID != nil {
		t.Audit.ID = *auditID
	}
	if t.Event == "" || eventSeq == nil {
		return out, veilig.Event{}, nil
	}
	return out, eventOf(out, t.Event, t.Reason, at, *eventSeq), nil
}

// sessionColumnsOf is sessionColumns qualified by a table or CTE name.
func sessionColumnsOf(table string) string {
	cols := strings.Split(sessionColumns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// MatchCode matches a call to the disclosed, unexpired session holding
// codeHash. It is one statement: of concurrent calls with the same code,
// one updates the row and the others, once its lock is released, re-check
// the row, find the code gone and match nothing.
func (s *Store) MatchCode(ctx context.Context, codeHash []byte, call veilig.Connection, at time.Time, forgive int64) (*veilig.StoredSession, veilig.Event, error) {
	if len(codeHash) == 0 {
		return nil, veilig.Event{}, veilig.Errorf(veilig.ENOMATCH, "no session matches")
	}
	at = norm(at)
	q, p, err := matchSQL(codeHash, call, at, forgive, false)
	if err != nil {
		return nil, veilig.Event{}, wrap("match code", err)
	}
	var seq int64
	out, err := scanSession(s.db.QueryRow(ctx, q, p...), &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, veilig.Event{}, veilig.Errorf(veilig.ENOMATCH, "no session matches")
	} else if err != nil {
		return nil, veilig.Event{}, wrap("match code", sessionConflict(err))
	}
	return out, eventOf(out, string(veilig.StateMatched), "", at, seq), nil
}

// matchSQL is the statement of a match: the session row, the deletion of
// the attempt's miss recorded in advance when the code matched (a
// data-modifying CTE runs whether referenced or not), and the event. With
// reserved, the attempt is the one ReserveAttempt's statement recorded
// earlier in the same transaction (the transaction-local setting
// veilig.attempt; empty when the caller was refused, and then nothing
// matches); otherwise it is forgive.
func matchSQL(codeHash []byte, call veilig.Connection, at time.Time, forgive int64, reserved bool) (string, []any, error) {
	var p params
	allowed, attempt := ` AND current_setting('veilig.attempt', true) <> ''`, `NULLIF(current_setting('veilig.attempt', true), '')::bigint`
	if !reserved {
		allowed, attempt = "", p.add(forgive)+"::bigint"
	}
	upd := fmt.Sprintf(`upd AS (UPDATE sessions SET
			state = %s, reason = '', code_hash = NULL,
			provider = %s, call_id = %s, caller_key_id = %s, caller = %s, matched_at = %s
			WHERE code_hash = %s AND state = %s AND expires_at > %[6]s AND (%[9]s::text = '' OR org_id = %[9]s::text)`+allowed+`
			RETURNING `+sessionColumns+`)`,
		p.add(string(veilig.StateMatched)), p.add(call.Platform), p.add(call.ID), p.add(call.SealedAddress.KeyID),
		p.add(sealedData(call.SealedAddress)), p.add(at), p.add(codeHash), p.add(string(veilig.StateDisclosed)), p.add(call.OrgID))
	events, err := eventCTEs(&p, "upd", veilig.Event{Type: string(veilig.StateMatched), At: at})
	if err != nil {
		return "", nil, err
	}
	forgiven := `fg AS (DELETE FROM telephony_misses WHERE id = ` + attempt + ` AND EXISTS (SELECT 1 FROM upd))`
	return "WITH " + upd + ",\n" + forgiven + ",\n" + events + "\nSELECT " + sessionColumnsOf("upd") + ", note.seq FROM upd, note", p, nil
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
func (s *Store) Purge(ctx context.Context, now time.Time, audit veilig.AuditCutoffs) (veilig.PurgeResult, error) {
	var res veilig.PurgeResult
	own := append([]string{}, slices.Sorted(maps.Keys(audit.ByOrg))...) // never NULL: ANY(NULL) matches nothing
	err := s.inTx(ctx, "purge", func(tx pgx.Tx) error {
		res = veilig.PurgeResult{}
		ds := []deletion{
			// Events first, to count them; the foreign key cascades to any
			// appended meanwhile.
			{&res.Events, `DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE retain_until < $1)`, []any{now}},
			{&res.Sessions, `DELETE FROM sessions WHERE retain_until < $1`, []any{now}},
			{&res.AgentSessions, `DELETE FROM agent_sessions WHERE expires_at <= $1`, []any{now}},
			{&res.Signatures, `DELETE FROM telephony_signatures WHERE expires_at <= $1`, []any{now}},
			{&res.Misses, `DELETE FROM telephony_misses WHERE at < $1`, []any{now.Add(-missWindow)}},
			{&res.AuditEntries, `DELETE FROM audit_log WHERE at < $1 AND NOT (org_id = ANY($2))`, []any{audit.Before, own}},
		}
		for _, org := range own {
			ds = append(ds, deletion{&res.AuditEntries, `DELETE FROM audit_log WHERE org_id = $1 AND at < $2`, []any{org, audit.ByOrg[org]}})
		}
		return deleteAll(ctx, tx, ds)
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
func deleteAll(ctx context.Context, tx pgx.Tx, ds []deletion) error {
	for _, d := range ds {
		tag, err := tx.Exec(ctx, d.query, d.args...)
		if err != nil {
			return err
		}
		*d.n += tag.RowsAffected()
	}
	return nil
}

// SessionByCode returns the live session holding codeHash.
func (s *Store) SessionByCode(ctx context.Context, codeHash []byte, at time.Time) (*veilig.StoredSession, error) {
	if len(codeHash) == 0 {
		return nil, veilig.Errorf(veilig.ENOTFOUND, "no session holds this code")
	}
	sess, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE code_hash = $1 AND state = ANY($2) AND expires_at > $3`,
		codeHash, []string{string(veilig.StateCreated), string(veilig.StateDisclosing), string(veilig.StateDisclosed)}, norm(at)))
	if err != nil {
		return nil, wrap("session by code", notFound(err, "session"))
	}
	return sess, nil
}

// RemoveOrganisation deletes everything of organisation orgID.
func (s *Store) RemoveOrganisation(ctx context.Context, orgID string, keepAudit bool) (veilig.PurgeResult, error) {
	var res veilig.PurgeResult
	err := s.inTx(ctx, "remove organisation", func(tx pgx.Tx) error {
		res = veilig.PurgeResult{}
		ds := []deletion{
			{&res.Events, `DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE org_id = $1)`, []any{orgID}},
			{&res.Sessions, `DELETE FROM sessions WHERE org_id = $1`, []any{orgID}},
			{&res.AgentSessions, `DELETE FROM agent_sessions WHERE agent_id IN (SELECT id FROM agents WHERE org_id = $1)`, []any{orgID}},
			{&res.Agents, `DELETE FROM agents WHERE org_id = $1`, []any{orgID}},
		}
		if !keepAudit {
			ds = append(ds, deletion{&res.AuditEntries, `DELETE FROM audit_log WHERE org_id = $1`, []any{orgID}})
		}
		return deleteAll(ctx, tx, ds)
	})
	if err != nil {
		return veilig.PurgeResult{}, err
	}
	return res, nil
}
