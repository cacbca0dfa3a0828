package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/veiligcontact/veilig"
)

// insertAudit appends e within tx and sets its ID.
func insertAudit(ctx context.Context, tx *sql.Tx, e *veilig.AuditEntry) error {
	attrs := e.Attributes
	if attrs == nil {
		attrs = []string{}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	e.At = norm(e.At)
	e.OrgID = veilig.OrganisationOr(e.OrgID)
	return tx.QueryRowContext(ctx, `INSERT INTO audit_log (at, agent_id, action, session_id, purpose_id, attributes, remote_addr, subject, detail, org_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		millis(e.At), e.AgentID, e.Action, e.SessionID, e.PurposeID, string(b), e.RemoteAddr, e.Subject, e.Detail, e.OrgID).Scan(&e.ID)
}

// AddAudit appends an entry that belongs to no transition and sets its ID.
func (s *Store) AddAudit(ctx context.Context, e *veilig.AuditEntry) error {
	return s.write(ctx, "add audit", func(tx *sql.Tx) ([]veilig.Event, error) {
		return nil, insertAudit(ctx, tx, e)
	})
}

// Audit lists the entries matching f, newest first. Since is inclusive,
// Until exclusive.
func (s *Store) Audit(ctx context.Context, f veilig.AuditFilter) ([]*veilig.AuditEntry, error) {
	q := `SELECT id, at, agent_id, action, session_id, purpose_id, attributes, remote_addr, subject, detail, org_id FROM audit_log WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ column, value string }{
		{"agent_id", f.AgentID}, {"session_id", f.SessionID}, {"action", f.Action},
		{"purpose_id", f.PurposeID}, {"subject", f.Subject}, {"org_id", f.OrgID},
	} {
		if c.value != "" {
			q += ` AND ` + c.column + ` = ?`
			args = append(args, c.value)
		}
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, millis(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, millis(f.Until))
	}
	q += ` ORDER BY at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("audit", err)
	}
	defer rows.Close()
	var out []*veilig.AuditEntry
	for rows.Next() {
		var e veilig.AuditEntry
		var at int64
		var attrs string
		if err := rows.Scan(&e.ID, &at, &e.AgentID, &e.Action, &e.SessionID, &e.PurposeID, &attrs, &e.RemoteAddr, &e.Subject, &e.Detail, &e.OrgID); err != nil {
			return nil, wrap("audit", err)
		}
		if err := json.Unmarshal([]byte(attrs), &e.Attributes); err != nil {
			return nil, wrap("audit", err)
		}
		if len(e.Attributes) == 0 {
			e.Attributes = nil
		}
		e.At = fromMillis(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("audit", err)
	}
	return out, nil
}
