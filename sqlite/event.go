package sqlite

import (
	"context"
	"database/sql"

	"github.com/veiligcontact/veilig"
)

// appendEvent inserts e and returns it with its Seq.
func appendEvent(ctx context.Context, tx *sql.Tx, e veilig.Event) (veilig.Event, error) {
	e.At = norm(e.At)
	err := tx.QueryRowContext(ctx, `INSERT INTO events (session_id, purpose_id, type, reason, at)
		VALUES (?, ?, ?, ?, ?) RETURNING seq`,
		e.SessionID, e.PurposeID, e.Type, e.Reason, millis(e.At)).Scan(&e.Seq)
	return e, err
}

// EventsSince returns the events after Seq after that match f, at most
// limit (no limit when limit <= 0).
func (s *Store) EventsSince(ctx context.Context, f veilig.EventFilter, after int64, limit int) ([]veilig.Event, error) {
	q := `SELECT seq, session_id, purpose_id, type, reason, at FROM events WHERE seq > ?`
	args := []any{after}
	if f.SessionID != "" {
		q += ` AND session_id = ?`
		args = append(args, f.SessionID)
	}
	if !allPurposes(f.Purposes) {
		q += ` AND purpose_id IN (` + placeholders(len(f.Purposes)) + `)`
		for _, p := range f.Purposes {
			args = append(args, p)
		}
	}
	q += ` ORDER BY seq`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("events since", err)
	}
	defer rows.Close()
	var out []veilig.Event
	for rows.Next() {
		var e veilig.Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.SessionID, &e.PurposeID, &e.Type, &e.Reason, &at); err != nil {
			return nil, wrap("events since", err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("events since", err)
	}
	return out, nil
}

// LastEventSeq returns the highest Seq stored, 0 if none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq); err != nil {
		return 0, wrap("last event seq", err)
	}
	return seq, nil
}
