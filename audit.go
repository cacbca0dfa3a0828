package veilig

import "time"

// Audit actions.
const (
	AuditContactOpened = "contact.opened" // an agent saw the attributes of a contact
	AuditContactEnded  = "contact.ended"  // an agent ended a contact
	AuditAgentSignIn   = "agent.signin"
)

// AuditEntry records who did what to which contact, as the NEN 7513 logging
// norm asks: never the values, only which attributes were shown. Entries are
// written in the same transaction as the act they record and are never
// changed; the retention job removes them after the audit retention.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	AgentID    string    `json:"agentId"`
	Action     string    `json:"action"`
	SessionID  string    `json:"contactId,omitempty"`
	PurposeID  string    `json:"purpose,omitempty"`
	Attributes []string  `json:"attributes,omitempty"` // attribute type ids shown
	RemoteAddr string    `json:"remoteAddr,omitempty"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	AgentID   string
	SessionID string
	Since     time.Time
	Until     time.Time
	Limit     int
}
