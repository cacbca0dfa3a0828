package veilig

import (
	"regexp"
	"slices"
	"time"
)

// Role is what an agent account may do.
type Role string

const (
	RoleAgent      Role = "agent"      // takes contacts of its purposes
	RoleSupervisor Role = "supervisor" // and sees the queue of all purposes
	RoleAdmin      Role = "admin"      // and manages accounts and reads the audit log
	// RoleOperator runs a shared platform: it sees the organisations, their
	// health and totals, never a contact, an attribute, an account or an
	// audit entry of one. It is of no organisation (PlatformOrganisation)
	// and outside the other roles' order: it is not an agent.
	RoleOperator Role = "operator"
)

// PlatformOrganisation is what a platform operator's account has for an
// organisation: no organisation can have this id (ids start with a letter
// or digit), so no organisation's admin lists or changes it.
const PlatformOrganisation = "_platform"

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin || r == RoleOperator
}

// AtLeast reports whether r may do what min may: roles are cumulative, a
// supervisor is also an agent and an admin also a supervisor. The operator
// is none of them, and only an operator is at least an operator.
func (r Role) AtLeast(min Role) bool {
	if r == RoleOperator || min == RoleOperator {
		return r == min
	}
	return r.rank() >= min.rank() && r.Valid()
}

func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Agent is an account of a person who takes contacts. Accounts are made with
// `veilig user add` (and later by admins); PasswordHash is an argon2id PHC
// string and is never sent anywhere.
type Agent struct {
	ID          string   `json:"id"`
	Username    string   `json:"username"`
	DisplayName string   `json:"displayName"`
	Role        Role     `json:"role"`
	Purposes    []string `json:"purposes"` // purpose ids this agent serves; "*" for all of its organisation's
	// OrgID is the organisation the account is of; "" is
	// DefaultOrganisation. It sees nothing of another organisation.
	OrgID        string    `json:"organisation"`
	PasswordHash string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
}

var usernamePattern = regexp.MustCompile(`^[a-zA-Z0-9._@-]{2,64}$`)

// Validate reports the first problem with a, as an EINVALID error.
func (a *Agent) Validate() error {
	if !usernamePattern.MatchString(a.Username) {
		return Errorf(EINVALID, "username must be 2-64 letters, digits or . _ @ -")
	}
	if !a.Role.Valid() {
		return Errorf(EINVALID, "role must be agent, supervisor or admin")
	}
	if (a.Role == RoleOperator) != (a.OrgID == PlatformOrganisation) {
		return Errorf(EINVALID, "a platform operator is of no organisation, and only an operator")
	}
	if a.Role == RoleOperator {
		if len(a.Purposes) > 0 {
			return Errorf(EINVALID, "a platform operator serves no purpose")
		}
		return nil
	}
	if len(a.Purposes) == 0 {
		return Errorf(EINVALID, "an agent serves at least one purpose (or \"*\")")
	}
	return nil
}

// Serves reports whether the agent may take contacts for purpose id.
func (a *Agent) Serves(purposeID string) bool {
	return slices.Contains(a.Purposes, "*") || slices.Contains(a.Purposes, purposeID)
}

// AgentSession is a signed-in agent. The token itself is only in the agent's
// cookie; the store keeps its hash. CSRFToken must come back in a header with
// every state-changing request.
type AgentSession struct {
	TokenHash  []byte
	AgentID    string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end; idle timeout is checked against LastSeenAt
}
