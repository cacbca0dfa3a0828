package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/veiligcontact/veilig"
)

const agentColumns = `id, username, display_name, role, purposes, password_hash, disabled, created_at, org_id`

func scanAgent(row pgx.Row) (*veilig.Agent, error) {
	var a veilig.Agent
	var role, purposes string
	if err := row.Scan(&a.ID, &a.Username, &a.DisplayName, &role, &purposes, &a.PasswordHash, &a.Disabled, &a.CreatedAt, &a.OrgID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(purposes), &a.Purposes); err != nil {
		return nil, err
	}
	a.Role = veilig.Role(role)
	a.CreatedAt = fromDB(a.CreatedAt)
	return &a, nil
}

func purposesJSON(ps []string) (string, error) {
	if ps == nil {
		ps = []string{}
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// execer runs a statement on the pool or in a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// CreateAgent inserts a.
func (s *Store) CreateAgent(ctx context.Context, a *veilig.Agent) error {
	return wrap("create agent", createAgent(ctx, s.pool, a))
}

func createAgent(ctx context.Context, q execer, a *veilig.Agent) error {
	if a.ID == "" {
		return veilig.Errorf(veilig.EINVALID, "an agent needs an id")
	}
	purposes, err := purposesJSON(a.Purposes)
	if err != nil {
		return err
	}
	a.CreatedAt = norm(a.CreatedAt)
	_, err = q.Exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.Username, a.DisplayName, string(a.Role), purposes, a.PasswordHash, a.Disabled, a.CreatedAt, veilig.OrganisationOr(a.OrgID))
	if c, ok := isUnique(err); ok {
		if c == "agents_username_key" {
			return veilig.Errorf(veilig.ECONFLICT, "the username is taken")
		}
		return veilig.Errorf(veilig.ECONFLICT, "the agent exists")
	}
	return err
}

// UpdateAgent replaces what may change of an agent; the username and id stay.
func (s *Store) UpdateAgent(ctx context.Context, a *veilig.Agent) error {
	return wrap("update agent", updateAgent(ctx, s.pool, a))
}

func updateAgent(ctx context.Context, q execer, a *veilig.Agent) error {
	purposes, err := purposesJSON(a.Purposes)
	if err != nil {
		return err
	}
	tag, err := q.Exec(ctx, `UPDATE agents SET display_name = $1, role = $2, purposes = $3, password_hash = $4, disabled = $5
		WHERE id = $6`, a.DisplayName, string(a.Role), purposes, a.PasswordHash, a.Disabled, a.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return veilig.Errorf(veilig.ENOTFOUND, "agent not found")
	}
	return nil
}

// ChangeAccount creates or updates an account, signs it out if asked, and
// writes the audit entry, in one transaction.
func (s *Store) ChangeAccount(ctx context.Context, c veilig.AccountChange) error {
	if c.Audit == nil {
		return veilig.Errorf(veilig.EINVALID, "an account change needs its audit entry")
	}
	return s.inTx(ctx, "change account", func(tx pgx.Tx) error {
		var err error
		if c.Create {
			err = createAgent(ctx, tx, c.Agent)
		} else {
			err = updateAgent(ctx, tx, c.Agent)
		}
		if err != nil {
			return err
		}
		if c.SignOut {
			if _, err := tx.Exec(ctx, `DELETE FROM agent_sessions WHERE agent_id = $1`, c.Agent.ID); err != nil {
				return err
			}
		}
		return insertAudit(ctx, tx, c.Audit)
	})
}

// Agent returns an agent by id.
func (s *Store) Agent(ctx context.Context, id string) (*veilig.Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = $1`, id))
	if err != nil {
		return nil, wrap("agent", notFound(err, "agent"))
	}
	return a, nil
}

// AgentByUsername returns an agent by username.
func (s *Store) AgentByUsername(ctx context.Context, username string) (*veilig.Agent, error) {
	a, err := scanAgent(s.db.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE username = $1`, username))
	if err != nil {
		return nil, wrap("agent by username", notFound(err, "agent"))
	}
	return a, nil
}

// Agents lists every agent by username.
func (s *Store) Agents(ctx context.Context) ([]*veilig.Agent, error) {
	rows, err := s.db.Query(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY username`)
	if err != nil {
		return nil, wrap("agents", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*veilig.Agent, error) { return scanAgent(row) })
	if err != nil {
		return nil, wrap("agents", err)
	}
	return out, nil
}

// CreateAgentSession inserts a signed-in agent's session.
func (s *Store) CreateAgentSession(ctx context.Context, as *veilig.AgentSession) error {
	as.CreatedAt, as.LastSeenAt, as.ExpiresAt = norm(as.CreatedAt), norm(as.LastSeenAt), norm(as.ExpiresAt)
	_, err := s.db.Exec(ctx, `INSERT INTO agent_sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		as.TokenHash, as.AgentID, as.CSRFToken, as.CreatedAt, as.LastSeenAt, as.ExpiresAt)
	if kind, _, ok := violation(err); ok {
		if kind == "foreign key" {
			return veilig.Errorf(veilig.ENOTFOUND, "agent not found")
		}
		return veilig.Errorf(veilig.ECONFLICT, "the agent session exists")
	}
	return wrap("create agent session", err)
}

// AgentSession returns an agent session by the hash of its token.
func (s *Store) AgentSession(ctx context.Context, tokenHash []byte) (*veilig.AgentSession, error) {
	var as veilig.AgentSession
	err := s.db.QueryRow(ctx, `SELECT token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at
		FROM agent_sessions WHERE token_hash = $1`, tokenHash).
		Scan(&as.TokenHash, &as.AgentID, &as.CSRFToken, &as.CreatedAt, &as.LastSeenAt, &as.ExpiresAt)
	if err != nil {
		return nil, wrap("agent session", notFound(err, "agent session"))
	}
	as.CreatedAt, as.LastSeenAt, as.ExpiresAt = fromDB(as.CreatedAt), fromDB(as.LastSeenAt), fromDB(as.ExpiresAt)
	return &as, nil
}

// TouchAgentSession records activity at at; ENOTFOUND if the session is gone.
func (s *Store) TouchAgentSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE agent_sessions SET last_seen_at = $1 WHERE token_hash = $2`, at, tokenHash)
	if err != nil {
		return wrap("touch agent session", err)
	}
	if tag.RowsAffected() == 0 {
		return veilig.Errorf(veilig.ENOTFOUND, "agent session not found")
	}
	return nil
}

// DeleteAgentSession signs an agent out; deleting a missing session is no error.
func (s *Store) DeleteAgentSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.Exec(ctx, `DELETE FROM agent_sessions WHERE token_hash = $1`, tokenHash)
	return wrap("delete agent session", err)
}
