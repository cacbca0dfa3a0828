package veilig

import "time"

// Audit actions.
const (
	AuditContactOpened   = "contact.opened" // an agent saw the attributes of a contact
	AuditContactEnded    = "contact.ended"  // an agent ended a contact
	AuditAgentSignIn     = "agent.signin"   // with a password
	AuditAgentSignInOIDC = "agent.signin.oidc"
	AuditAgentSignOut    = "agent.signout"

	// Account management by an admin; Subject is the account.
	AuditAccountCreated  = "account.created"
	AuditAccountUpdated  = "account.updated"
	AuditAccountPassword = "account.password_reset"

	AuditExported = "audit.exported" // someone exported the audit log; Detail says what
)

// AuditActions lists every action, for filters and documentation.
var AuditActions = []string{
	AuditContactOpened, AuditContactEnded, AuditAgentSignIn, AuditAgentSignInOIDC, AuditAgentSignOut,
	AuditAccountCreated, AuditAccountUpdated, AuditAccountPassword, AuditExported,
}

// AuditEntry records who did what to which contact, as the NEN 7513 logging
// norm asks: never the values, only which attributes were shown. Entries of
// acts on contacts and accounts are written in the same transaction as the
// act (Transition.Audit, Store.ChangeAccount); a sign-in's right after its
// session is made, and an export's before the export is sent. Entries are
// never changed; the retention job removes them after the audit retention.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	AgentID    string    `json:"agentId"`
	Action     string    `json:"action"`
	SessionID  string    `json:"contactId,omitempty"`
	PurposeID  string    `json:"purpose,omitempty"`
	Attributes []string  `json:"attributes,omitempty"` // attribute type ids shown
	RemoteAddr string    `json:"remoteAddr,omitempty"`
	// Subject is the account an account action was about.
	Subject string `json:"subject,omitempty"`
	// Detail says more in words and ids, never personal values: what an
	// account change set, or which selection an export held.
	Detail string `json:"detail,omitempty"`
	// OrgID is the organisation the entry is of: the contact's, or the
	// account's; "" is stored as DefaultOrganisation. Its admins alone
	// read it.
	OrgID string `json:"organisation"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	OrgID     string // the organisation whose entries are read; "" reads every organisation's (operations only)
	AgentID   string
	SessionID string
	Action    string
	PurposeID string
	Subject   string
	Since     time.Time
	Until     time.Time
	Limit     int
}
