package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

// DeleteAgentSessions signs every session of agentID out.
func (s *Store) DeleteAgentSessions(ctx context.Context, agentID string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM agent_sessions WHERE agent_id = $1`, agentID)
	return wrap("delete agent sessions", err)
}

// ActiveAgentSessions lists the sessions expiring after now and seen at or
// after seenSince, most recently seen first.
func (s *Store) ActiveAgentSessions(ctx context.Context, seenSince, now time.Time) ([]*veilig.AgentSession, error) {
	rows, err := s.db.Query(ctx, `SELECT token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at
		FROM agent_sessions WHERE last_seen_at >= $1 AND expires_at > $2
		ORDER BY last_seen_at DESC, agent_id`, norm(seenSince), norm(now))
	if err != nil {
		return nil, wrap("active agent sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*veilig.AgentSession, error) {
		var as veilig.AgentSession
		if err := row.Scan(&as.TokenHash, &as.AgentID, &as.CSRFToken, &as.CreatedAt, &as.LastSeenAt, &as.ExpiresAt); err != nil {
			return nil, err
		}
		as.CreatedAt, as.LastSeenAt, as.ExpiresAt = fromDB(as.CreatedAt), fromDB(as.LastSeenAt), fromDB(as.ExpiresAt)
		return &as, nil
	})
	if err != nil {
		return nil, wrap("active agent sessions", err)
	}
	return out, nil
}

// CountMatched counts sessions matched at or after since, by purpose.
func (s *Store) CountMatched(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT purpose_id, count(*) FROM sessions
		WHERE matched_at IS NOT NULL AND matched_at >= $1 GROUP BY purpose_id`, norm(since))
	if err != nil {
		return nil, wrap("count matched", err)
	}
	out := map[string]int{}
	var purpose string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&purpose, &n}, func() error {
		out[purpose] = n
		return nil
	})
	if err != nil {
		return nil, wrap("count matched", err)
	}
	return out, nil
}
