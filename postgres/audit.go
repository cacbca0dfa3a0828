package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
)

// insertAudit appends e and sets its ID.
func insertAudit(ctx context.Context, q querier, e *veilig.AuditEntry) error {
	attrs, err := auditAttributes(e.Attributes)
	if err != nil {
		return err
	}
	e.At, e.OrgID = norm(e.At), veilig.OrganisationOr(e.OrgID)
	return q.QueryRow(ctx, `INSERT INTO audit_log (at, agent_id, action, session_id, purpose_id, attributes, remote_addr, subject, detail, org_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		e.At, e.AgentID, e.Action, e.SessionID, e.PurposeID, attrs, e.RemoteAddr, e.Subject, e.Detail, e.OrgID).Scan(&e.ID)
}

// auditAttributes is the attributes column: a JSON array of attribute ids.
func auditAttributes(ids []string) (string, error) {
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	return string(b), err
}

// AddAudit appends an entry that belongs to no transition and sets its ID.
func (s *Store) AddAudit(ctx context.Context, e *veilig.AuditEntry) error {
	return wrap("add audit", insertAudit(ctx, s.pool, e))
}

// Audit lists the entries matching f, newest first. Since is inclusive,
// Until exclusive.
func (s *Store) Audit(ctx context.Context, f veilig.AuditFilter) ([]*veilig.AuditEntry, error) {
	var agent, session, action, purpose, subject, org, since, until, limit any
	for _, c := range []struct {
		dst *any
		v   string
	}{{&agent, f.AgentID}, {&session, f.SessionID}, {&action, f.Action}, {&purpose, f.PurposeID}, {&subject, f.Subject}, {&org, f.OrgID}} {
		if c.v != "" {
			*c.dst = c.v
		}
	}
	if !f.Since.IsZero() {
		since = f.Since
	}
	if !f.Until.IsZero() {
		until = f.Until
	}
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, agent_id, action, session_id, purpose_id, attributes, remote_addr, subject, detail, org_id
		FROM audit_log
		WHERE ($1::text IS NULL OR agent_id = $1)
		AND ($2::text IS NULL OR session_id = $2)
		AND ($3::timestamptz IS NULL OR at >= $3)
		AND ($4::timestamptz IS NULL OR at < $4)
		AND ($6::text IS NULL OR action = $6)
		AND ($7::text IS NULL OR purpose_id = $7)
		AND ($8::text IS NULL OR subject = $8)
		AND ($9::text IS NULL OR org_id = $9)
		ORDER BY at DESC, id DESC
		LIMIT $5`, agent, session, since, until, limit, action, purpose, subject, org)
	if err != nil {
		return nil, wrap("audit", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*veilig.AuditEntry, error) {
		var e veilig.AuditEntry
		var attrs string
		if err := row.Scan(&e.ID, &e.At, &e.AgentID, &e.Action, &e.SessionID, &e.PurposeID, &attrs, &e.RemoteAddr, &e.Subject, &e.Detail, &e.OrgID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(attrs), &e.Attributes); err != nil {
			return nil, err
		}
		if len(e.Attributes) == 0 {
			e.Attributes = nil
		}
		e.At = fromDB(e.At)
		return &e, nil
	})
	if err != nil {
		return nil, wrap("audit", err)
	}
	return out, nil
}
