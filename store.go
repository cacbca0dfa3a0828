package veilig

import (
	"context"
	"slices"
	"time"
)

// Sealed is data encrypted at rest (AES-256-GCM by package keyring) with the
// id of the key that sealed it, so keys can be rotated: new data is sealed
// with the active key, old data opens with the key it names. The zero value
// means "nothing stored".
type Sealed struct {
	KeyID string
	Data  []byte
}

// IsZero reports whether nothing is stored.
func (s Sealed) IsZero() bool { return s.KeyID == "" && len(s.Data) == 0 }

// Sealer seals and opens personal data. aad binds the ciphertext to its row
// (the session id), so a sealed value copied to another row does not open.
type Sealer interface {
	Seal(plaintext, aad []byte) (Sealed, error)
	Open(s Sealed, aad []byte) ([]byte, error)
}

// StoredSession is a session row with what the domain type leaves out: the
// sealed personal data. Only the service opens them.
type StoredSession struct {
	Session
	SealedDisclosure Sealed // JSON of Disclosure, aad = session id
	SealedAddress    Sealed // caller number, aad = "caller\x00" provider "\x00" call id
}

// Transition changes one session atomically: it checks the session is in one
// of From, applies every set field, appends the event and writes the audit
// entry, all in one transaction, and publishes the event after commit.
type Transition struct {
	SessionID string
	From      []SessionState // allowed current states; ECONFLICT otherwise
	To        SessionState   // may equal the current state (no state change)
	Event     string         // event type to append; "" for no event
	Reason    string         // stored as the session's reason and in the event
	At        time.Time

	ProofRef         *string     // set the means' reference to the proof
	SealedDisclosure *Sealed     // set the disclosure (DisclosedAt = At)
	Assurance        Assurance   // with SealedDisclosure: the level the proof gave
	Connection       *Connection // set when matched (MatchedAt = At)
	TakenBy          *string     // set the agent that took the contact; ECONFLICT (and nothing changed) if another agent already took it
	ClearCode        bool        // the code can never match again
	DestroyPersonal  bool        // attributes, caller number and proof reference are erased
	RetainUntil      time.Time
	Audit            *AuditEntry // written in the same transaction, if set
}

// Check reports ECONFLICT unless a session in state cur may take t. Both
// stores call it inside the transaction, on the row they locked.
func (t Transition) Check(cur SessionState) error {
	if !slices.Contains(t.From, cur) {
		return Errorf(ECONFLICT, "the session is %s", cur)
	}
	if t.To != cur && !cur.CanBecome(t.To) {
		return Errorf(ECONFLICT, "a %s session cannot become %s", cur, t.To)
	}
	return nil
}

// Apply returns cur as t changes it at at; the stores write the result.
func (t Transition) Apply(cur *StoredSession, at time.Time) *StoredSession {
	n := *cur
	n.State = t.To
	// A transition that only adds an event (queued) or erases data keeps
	// the reason the session ended with.
	if t.Reason != "" || t.To != cur.State {
		n.Reason = t.Reason
	}
	if t.ProofRef != nil {
		n.ProofRef = *t.ProofRef
	}
	if t.SealedDisclosure != nil {
		n.SealedDisclosure, n.DisclosedAt, n.Assurance = *t.SealedDisclosure, at, t.Assurance
	}
	if t.Connection != nil {
		n.Platform, n.ConnectionID, n.SealedAddress, n.MatchedAt = t.Connection.Platform, t.Connection.ID, t.Connection.SealedAddress, at
	}
	if t.TakenBy != nil {
		n.TakenBy = *t.TakenBy
	}
	if t.To != cur.State {
		if t.To == StateAnswered {
			n.AnsweredAt = at
		}
		if t.To.Terminal() {
			n.EndedAt = at
		}
	}
	if t.DestroyPersonal {
		n.SealedDisclosure, n.SealedAddress, n.ProofRef = Sealed{}, Sealed{}, ""
	}
	return &n
}

// Connection is what a matched call adds to a session.
type Connection struct {
	Platform      string
	ID            string
	SealedAddress Sealed
	// OrgID is the organisation whose line the connection came in on (the
	// number the caller dialled): only a session of that organisation
	// matches. "" when the line is not known: any organisation's.
	OrgID string
}

// Attempt is a caller asking for a code to be looked up (see
// Store.LookUpCode).
type Attempt struct {
	CallerKey []byte    // keyed hash of the caller number, or of the call when the number is withheld
	Since     time.Time // misses before this no longer count
	Max       int       // refuse when the caller has this many misses since Since; 0: no limit
	At        time.Time
	OrgID     string // the organisation whose line the call came in on: its miss is counted there
}

// CodeLookup is what became of an attempt (Store.LookUpCode).
type CodeLookup struct {
	Allowed bool           // false: the caller's limit was reached; nothing was looked up or recorded
	Misses  []time.Time    // the caller's misses before this attempt, in the window, oldest first
	Session *StoredSession // the session the code matched, now matched; nil when none
	Event   Event          // the matched event, with Session
	MissID  int64          // the miss recorded for this attempt when nothing matched
}

// AccountChange is an admin's change to an account (Store.ChangeAccount).
type AccountChange struct {
	Agent   *Agent      // the account as it is to be
	Create  bool        // insert it; otherwise update what may change (not id or username)
	SignOut bool        // end every session of the account
	Audit   *AuditEntry // required: the entry that records the change
}

// SessionFilter selects sessions for lists.
type SessionFilter struct {
	States   []SessionState
	Purposes []string // "*" or empty for all
	Limit    int
}

// PurgeResult counts what a purge removed.
// AuditCutoffs say which audit entries a purge deletes: an organisation's
// in ByOrg older than its time there, every other older than Before.
type AuditCutoffs struct {
	Before time.Time
	ByOrg  map[string]time.Time
}

// PurgeResult counts what a purge deleted.
type PurgeResult struct {
	Sessions, Events, AgentSessions, Signatures, Misses, AuditEntries int64
	Agents                                                            int64 // accounts (RemoveOrganisation)
}

// Store persists everything Veilig Contact keeps. It is implemented by
// package sqlite (the embedded default) and package postgres (replicas), and
// both pass the same contract tests in package storetest. It is made of one
// interface per kind of reader, so that a package depends on the slice it
// uses (httpapi on agents, audit and call guards; agentauth on agents).
//
// Error codes: methods return ENOTFOUND for a missing row, ECONFLICT for a
// uniqueness or state conflict, and wrap anything else as internal.
type Store interface {
	SessionStore
	EventLog
	AgentStore
	AuditLog
	CallGuard
	// Purge deletes sessions (and their events) whose retention ended before
	// now, expired agent sessions and signatures, misses older than 24 hours
	// before now, and audit entries older than audit says.
	Purge(ctx context.Context, now time.Time, audit AuditCutoffs) (PurgeResult, error)
	// RemoveOrganisation deletes everything of organisation orgID, in one
	// transaction: its sessions with their events and personal data, its
	// accounts with their sign-ins, and (unless keepAudit) its audit
	// trail. Nothing of another organisation changes.
	RemoveOrganisation(ctx context.Context, orgID string, keepAudit bool) (PurgeResult, error)

	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// SessionStore keeps sessions and their transitions.
type SessionStore interface {
	// CreateSession inserts s (State created) with its keyed code hash and
	// status-token hash, and appends the "created" event. ECONFLICT if the
	// code hash is in use by another session: the caller draws a new code.
	CreateSession(ctx context.Context, s *Session, codeHash, statusTokenHash []byte, retainUntil time.Time) (Event, error)
	// Session returns a session by id; ENOTFOUND.
	Session(ctx context.Context, id string) (*StoredSession, error)
	// SessionByStatusToken returns a session by the hash of its status token; ENOTFOUND.
	SessionByStatusToken(ctx context.Context, tokenHash []byte) (*StoredSession, error)
	// SessionByConnection returns the session a platform's call was matched to; ENOTFOUND.
	SessionByConnection(ctx context.Context, provider, callID string) (*StoredSession, error)
	// Sessions lists sessions, oldest MatchedAt (then CreatedAt) first;
	// sessions never matched come after the matched ones. Limit <= 0 means
	// no limit.
	Sessions(ctx context.Context, f SessionFilter) ([]*StoredSession, error)
	// Transition applies t; ENOTFOUND if no session, ECONFLICT if not in
	// t.From or if the current state cannot become t.To (CanBecome; To may
	// equal the current state).
	Transition(ctx context.Context, t Transition) (*StoredSession, Event, error)
	// MatchCode atomically finds the disclosed, unexpired session whose code
	// hash is codeHash, clears the code, sets the call and moves it to
	// matched, appending the event, and deletes the miss forgive (the one
	// LookUpCode recorded for the attempt; 0 for none). ENOMATCH when there is
	// none (unknown, used and expired codes are indistinguishable), and
	// the miss stays.
	MatchCode(ctx context.Context, codeHash []byte, call Connection, at time.Time, forgive int64) (*StoredSession, Event, error)
	// LookUpCode is a caller's attempt with a code, in one transaction and
	// atomic across replicas: it counts the caller's misses at or after
	// a.Since; with a.Max or more (a.Max 0: no limit) it stops there
	// (Allowed false, nothing recorded). Otherwise it matches the code as
	// MatchCode does and, when nothing matched, records the attempt as a
	// miss at a.At (MissID). Concurrent attempts of one caller never
	// together pass a.Max. Misses are the caller's before this attempt,
	// oldest first. ECONFLICT (and nothing recorded) when the call id is
	// taken by another session.
	LookUpCode(ctx context.Context, a Attempt, codeHash []byte, call Connection) (CodeLookup, error)
	// SessionByCode returns the unexpired session in created, disclosing
	// or disclosed that holds codeHash; ENOTFOUND. A call whose code
	// matched nothing uses it to learn whether the code belongs to a
	// proof still being made.
	SessionByCode(ctx context.Context, codeHash []byte, at time.Time) (*StoredSession, error)
	// ExpireSessions moves every session of purposeID in created, disclosing
	// or disclosed whose ExpiresAt is not after now to expired, clearing
	// code and personal data and appending events.
	ExpireSessions(ctx context.Context, purposeID string, now, retainUntil time.Time) ([]Event, error)

	// CountMatched counts the sessions matched to a call at or after since,
	// by purpose id (purposes without any are left out). Sessions already
	// purged are not counted.
	CountMatched(ctx context.Context, since time.Time) (map[string]int, error)
}

// EventLog reads the stored events; the store appends them with the
// transitions and publishes them as an EventBus.
type EventLog interface {
	// EventsSince returns events with Seq > after that match f, in Seq order,
	// at most limit (no limit when limit <= 0). Seq is never reused, even
	// after a purge.
	EventsSince(ctx context.Context, f EventFilter, after int64, limit int) ([]Event, error)
	// LastEventSeq returns the highest Seq stored (0 if none).
	LastEventSeq(ctx context.Context) (int64, error)
}

// AgentStore keeps the accounts of agents and their signed-in sessions.
type AgentStore interface {
	// ChangeAccount applies c in one transaction: the account, the
	// sign-out and the audit entry all happen or none does. ECONFLICT if a
	// new account's username is taken, ENOTFOUND if an updated one is gone.
	ChangeAccount(ctx context.Context, c AccountChange) error
	// CreateAgent inserts a; ECONFLICT if the username is taken.
	CreateAgent(ctx context.Context, a *Agent) error
	// UpdateAgent replaces display name, role, purposes, password hash and disabled; ENOTFOUND.
	UpdateAgent(ctx context.Context, a *Agent) error
	Agent(ctx context.Context, id string) (*Agent, error)                 // ENOTFOUND
	AgentByUsername(ctx context.Context, username string) (*Agent, error) // ENOTFOUND
	Agents(ctx context.Context) ([]*Agent, error)

	CreateAgentSession(ctx context.Context, s *AgentSession) error
	AgentSession(ctx context.Context, tokenHash []byte) (*AgentSession, error) // ENOTFOUND
	TouchAgentSession(ctx context.Context, tokenHash []byte, at time.Time) error
	DeleteAgentSession(ctx context.Context, tokenHash []byte) error
	// DeleteAgentSessions signs every session of one agent out (the account
	// was disabled or got a new password); none is no error.
	DeleteAgentSessions(ctx context.Context, agentID string) error
	// ActiveAgentSessions lists the agent sessions that expire after now
	// and were last seen at or after seenSince, most recently seen first:
	// the agents online.
	ActiveAgentSessions(ctx context.Context, seenSince, now time.Time) ([]*AgentSession, error)
}

// AuditLog keeps the audit log (NEN 7513).
type AuditLog interface {
	// AddAudit appends an entry outside a transition (sign-in).
	AddAudit(ctx context.Context, e *AuditEntry) error
	// Audit lists entries matching f, newest first (Since inclusive, Until
	// exclusive).
	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}

// CallGuard keeps what guards the telephony API: request signatures seen
// (replays) and misses (guessing).
type CallGuard interface {
	// RememberSignature records a telephony request signature until
	// expiresAt; ECONFLICT if it was seen before (a replay).
	RememberSignature(ctx context.Context, sigHash []byte, expiresAt time.Time) error
	// ForgiveMiss deletes the miss LookUpCode recorded for an attempt that
	// turned out not to be one (a retried report of a matched call, a code
	// whose proof is still being made). Deleting one that is gone is no
	// error.
	ForgiveMiss(ctx context.Context, missID int64) error
	// RecordMiss records a code that matched nothing, under a keyed hash of
	// the caller number (never the number itself).
	// orgID is the organisation whose line the call came in on.
	RecordMiss(ctx context.Context, callerKey []byte, orgID string, at time.Time) error
	// CountMisses counts misses since since, for callerKey, or all callers when callerKey is nil.
	CountMisses(ctx context.Context, callerKey []byte, since time.Time) (int, error)
	// CountOrgMisses counts the misses since since on organisation orgID's lines.
	CountOrgMisses(ctx context.Context, orgID string, since time.Time) (int, error)
}
