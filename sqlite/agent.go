package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

const agentColumns = `id, username, display_name, role, purposes, password_hash, disabled, created_at, org_id`

func scanAgent(row scanner) (*veilig.Agent, error) {
	var a veilig.Agent
	var purposes string
	var created int64
	if err := row.Scan(&a.ID, &a.Username, &a.DisplayName, &a.Role, &purposes, &a.PasswordHash, &a.Disabled, &created, &a.OrgID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(purposes), &a.Purposes); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMillis(created)
	return &a, nil
}

func purposesJSON(ps []string) (string, error) {
	if ps == nil {
		ps = []string{}
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// CreateAgent inserts a.
func (s *Store) CreateAgent(ctx context.Context, a *veilig.Agent) error {
	return s.write(ctx, "create agent", func(tx *sql.Tx) ([]veilig.Event, error) {
		return nil, createAgent(ctx, tx, a)
	})
}

func createAgent(ctx context.Context, tx *sql.Tx, a *veilig.Agent) error {
	if a.ID == "" {
		return veilig.Errorf(veilig.EINVALID, "an agent needs an id")
	}
	purposes, err := purposesJSON(a.Purposes)
	if err != nil {
		return err
	}
	a.CreatedAt = norm(a.CreatedAt)
	_, err = tx.ExecContext(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Username, a.DisplayName, a.Role, purposes, a.PasswordHash, a.Disabled, millis(a.CreatedAt), veilig.OrganisationOr(a.OrgID))
	if msg, ok := isUnique(err); ok {
		if strings.Contains(msg, "agents.username") {
			return veilig.Errorf(veilig.ECONFLICT, "the username is taken")
		}
		return veilig.Errorf(veilig.ECONFLICT, "the agent exists")
	}
	return err
}

// UpdateAgent replaces what may change of an agent; the username and id stay.
func (s *Store) UpdateAgent(ctx context.Context, a *veilig.Agent) error {
	return s.write(ctx, "update agent", func(tx *sql.Tx) ([]veilig.Event, error) {
		return nil, updateAgent(ctx, tx, a)
	})
}

func updateAgent(ctx context.Context, tx *sql.Tx, a *veilig.Agent) error {
	purposes, err := purposesJSON(a.Purposes)
	if err != nil {
		return err
	}
	r, err := tx.ExecContext(ctx, `UPDATE agents SET display_name = ?, role = ?, purposes = ?, password_hash = ?, disabled = ?
		WHERE id = ?`, a.DisplayName, a.Role, purposes, a.PasswordHash, a.Disabled, a.ID)
	if err != nil {
		return err
	}
	return mustAffect(r, "agent")
}

// ChangeAccount creates or updates an account, signs it out if asked, and
// writes the audit entry, in one transaction.
func (s *Store) ChangeAccount(ctx context.Context, c veilig.AccountChange) error {
	return s.write(ctx, "change account", func(tx *sql.Tx) ([]veilig.Event, error) {
		var err error
		if c.Create {
			err = createAgent(ctx, tx, c.Agent)
		} else {
			err = updateAgent(ctx, tx, c.Agent)
		}
		if err != nil {
			return nil, err
		}
		if c.SignOut {
			if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE agent_id = ?`, c.Agent.ID); err != nil {
				return nil, err
			}
		}
		if c.Audit == nil {
			return nil, veilig.Errorf(veilig.EINVALID, "an account change needs its audit entry")
		}
		return nil, insertAudit(ctx, tx, c.Audit)
	})
}

func mustAffect(r sql.Result, what string) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return veilig.Errorf(veilig.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// Agent returns an agent by id.
func (s *Store) Agent(ctx context.Context, id string) (*veilig.Agent, error) {
	a, err := scanAgent(s.rdb.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = ?`, id))
	if err != nil {
		return nil, wrap("agent", notFound(err, "agent"))
	}
	return a, nil
}

// AgentByUsername returns an agent by username.
func (s *Store) AgentByUsername(ctx context.Context, username string) (*veilig.Agent, error) {
	a, err := scanAgent(s.rdb.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE username = ?`, username))
	if err != nil {
		return nil, wrap("agent by username", notFound(err, "agent"))
	}
	return a, nil
}

// Agents lists every agent by username.
func (s *Store) Agents(ctx context.Context) ([]*veilig.Agent, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY username`)
	if err != nil {
		return nil, wrap("agents", err)
	}
	defer rows.Close()
	var out []*veilig.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, wrap("agents", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("agents", err)
	}
	return out, nil
}

// CreateAgentSession inserts a signed-in agent's session.
func (s *Store) CreateAgentSession(ctx context.Context, as *veilig.AgentSession) error {
	as.CreatedAt, as.LastSeenAt, as.ExpiresAt = norm(as.CreatedAt), norm(as.LastSeenAt), norm(as.ExpiresAt)
	return s.write(ctx, "create agent session", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			as.TokenHash, as.AgentID, as.CSRFToken, millis(as.CreatedAt), millis(as.LastSeenAt), millis(as.ExpiresAt))
		if kind, _, ok := constraint(err); ok {
			if kind == "foreign key" {
				return nil, veilig.Errorf(veilig.ENOTFOUND, "agent not found")
			}
			return nil, veilig.Errorf(veilig.ECONFLICT, "the agent session exists")
		}
		return nil, err
	})
}

// AgentSession returns an agent session by the hash of its token.
func (s *Store) AgentSession(ctx context.Context, tokenHash []byte) (*veilig.AgentSession, error) {
	var as veilig.AgentSession
	var created, seen, expires int64
	err := s.rdb.QueryRowContext(ctx, `SELECT token_hash, agent_id, csrf_token, created_at, last_seen_at, expires_at
		FROM agent_sessions WHERE token_hash = ?`, tokenHash).
		Scan(&as.TokenHash, &as.AgentID, &as.CSRFToken, &created, &seen, &expires)
	if err != nil {
		return nil, wrap("agent session", notFound(err, "agent session"))
	}
	as.CreatedAt, as.LastSeenAt, as.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
	return &as, nil
}

// TouchAgentSession records activity at at; ENOTFOUND if the session is gone.
func (s *Store) TouchAgentSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return s.write(ctx, "touch agent session", func(tx *sql.Tx) ([]veilig.Event, error) {
		r, err := tx.ExecContext(ctx, `UPDATE agent_sessions SET last_seen_at = ? WHERE token_hash = ?`, millis(at), tokenHash)
		if err != nil {
			return nil, err
		}
		return nil, mustAffect(r, "agent session")
	})
}

// DeleteAgentSession signs an agent out; deleting a missing session is no error.
func (s *Store) DeleteAgentSession(ctx context.Context, tokenHash []byte) error {
	return s.write(ctx, "delete agent session", func(tx *sql.Tx) ([]veilig.Event, error) {
		_, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE token_hash = ?`, tokenHash)
		return nil, err
	})
}
