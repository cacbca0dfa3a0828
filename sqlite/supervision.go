package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/veiligcontact/veilig"
)

// DeleteAgentSessions signs every session of agentID out.
func (s *Store) DeleteAgentSessions(ctx context.Context, agentID string) error {
	return s.write(ctx, "delete agent sessions", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE agent_id = ?`, agentID)
		return nil, err
	})
}

// ActiveAgentSessions lists the sessions expiring after now and seen at or
// after seenSince, most recently seen first.
func (s *Store) ActiveAgentSessions(ctx context.Context, seenSince, now time.Time) ([]*veilig.AgentSession, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at
		FROM agent_sessions WHERE last_seen_at >= ? AND expires_at > ?
		ORDER BY last_seen_at DESC, agent_id`, millis(seenSince), millis(now))
	if err != nil {
		return nil, wrap("active agent sessions", err)
	}
	defer rows.Close()
	var out []*veilig.AgentSession
	for rows.Next() {
		var as veilig.AgentSession
		var created, seen, expires int64
		if err := rows.Scan(&as.TokenHash, &as.AgentID, &as.CSRFToken, &created, &seen, &expires); err != nil {
			return nil, wrap("active agent sessions", err)
		}
		as.CreatedAt, as.LastSeenAt, as.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
		out = append(out, &as)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("active agent sessions", err)
	}
	return out, nil
}

// CountMatched counts sessions matched at or after since, by purpose.
func (s *Store) CountMatched(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT purpose_id, count(*) FROM sessions
		WHERE matched_at IS NOT NULL AND matched_at >= ? GROUP BY purpose_id`, millis(since))
	if err != nil {
		return nil, wrap("count matched", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var purpose string
		var n int
		if err := rows.Scan(&purpose, &n); err != nil {
			return nil, wrap("count matched", err)
		}
		out[purpose] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("count matched", err)
	}
	return out, nil
}
