package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

// EventsSince returns the events after Seq after that match f, at most
// limit (no limit when limit <= 0).
func (s *Store) EventsSince(ctx context.Context, f veilig.EventFilter, after int64, limit int) ([]veilig.Event, error) {
	var sessionID, lim any
	if f.SessionID != "" {
		sessionID = f.SessionID
	}
	if limit > 0 {
		lim = limit
	}
	rows, err := s.db.Query(ctx, `SELECT seq, session_id, purpose_id, type, reason, at FROM events
		WHERE seq > $1
		AND ($2::text IS NULL OR session_id = $2)
		AND ($3::text[] IS NULL OR purpose_id = ANY($3))
		ORDER BY seq
		LIMIT $4`, after, sessionID, purposeFilter(f.Purposes), lim)
	if err != nil {
		return nil, wrap("events since", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (veilig.Event, error) {
		var e veilig.Event
		err := row.Scan(&e.Seq, &e.SessionID, &e.PurposeID, &e.Type, &e.Reason, &e.At)
		e.At = fromDB(e.At)
		return e, err
	})
	if err != nil {
		return nil, wrap("events since", err)
	}
	return out, nil
}

// LastEventSeq returns the highest Seq stored, 0 if none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq); err != nil {
		return 0, wrap("last event seq", err)
	}
	return seq, nil
}
