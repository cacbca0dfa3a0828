package veilig

import "time"

// SessionState is where a session is in its life:
//
//	created → disclosing → disclosed → matched → answered → ended
//
// with cancelled, expired and failed as the other ends. A phone contact that
// is matched can also go straight to ended (hang-up in the queue).
type SessionState string

const (
	StateCreated    SessionState = "created"    // Yivi session started, nobody scanned yet
	StateDisclosing SessionState = "disclosing" // the Yivi app has connected
	StateDisclosed  SessionState = "disclosed"  // a valid disclosure is stored; waiting for the call
	StateMatched    SessionState = "matched"    // a call brought the code; waiting for an agent
	StateAnswered   SessionState = "answered"   // an agent has the contact
	StateEnded      SessionState = "ended"      // the contact is over; attributes are gone
	StateCancelled  SessionState = "cancelled"  // the person or the app cancelled
	StateExpired    SessionState = "expired"    // the code was not used in time
	StateFailed     SessionState = "failed"     // the disclosure did not prove what was asked
)

// Terminal reports whether no transition leaves s.
func (s SessionState) Terminal() bool {
	switch s {
	case StateEnded, StateCancelled, StateExpired, StateFailed:
		return true
	}
	return false
}

// Valid reports whether s is a known state.
func (s SessionState) Valid() bool {
	_, ok := transitions[s]
	return ok || s.Terminal()
}

var transitions = map[SessionState][]SessionState{
	StateCreated:    {StateDisclosing, StateDisclosed, StateCancelled, StateExpired, StateFailed},
	StateDisclosing: {StateDisclosed, StateCancelled, StateExpired, StateFailed},
	StateDisclosed:  {StateMatched, StateCancelled, StateExpired},
	StateMatched:    {StateAnswered, StateEnded},
	StateAnswered:   {StateEnded},
}

// CanBecome reports whether a session in state s may move to next.
func (s SessionState) CanBecome(next SessionState) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// LiveStates are the states in which a session still holds, or may still
// receive, personal data.
var LiveStates = []SessionState{StateCreated, StateDisclosing, StateDisclosed, StateMatched, StateAnswered}

// Session is one attempt by a person to make a verified contact for a
// purpose. It is created by the citizen API, moved along by the Yivi server's
// result and the telephony platform, and ended by an agent, the platform or
// the retention job. Personal data (attributes, caller number) lives in the
// store sealed and is destroyed when the session ends.
type Session struct {
	ID        string // opaque public reference, also the contact reference
	PurposeID string
	OrgID     string // the organisation of the purpose; its agents alone see the session
	Channel   Channel
	Means     Means
	// Assurance is the level the proof gave, as its means reported it;
	// "" until disclosed.
	Assurance Assurance
	State     SessionState
	Reason    string // why it failed, cancelled or ended; never personal

	// ProofRef is the means' own reference to the proof (for Yivi: the
	// requestor token of the session), with which it is followed, settled
	// or cancelled: a secret, never shown to the citizen or logged. (The
	// column keeps its first name, yivi_token, so that replicas of the
	// previous release keep working during a rolling upgrade.)
	ProofRef string

	CreatedAt   time.Time
	ExpiresAt   time.Time // the code and the disclosure are void after this
	DisclosedAt time.Time // zero until disclosed
	MatchedAt   time.Time
	AnsweredAt  time.Time
	EndedAt     time.Time // zero while live

	// The connection, set when matched: what carries it (for the phone:
	// the telephony platform, "connect", "twilio", "asterisk", "api") and
	// that platform's id of it (the call's).
	Platform     string
	ConnectionID string

	TakenBy string // agent id that opened the contact, "" until then
}

// Attribute is one verified attribute as disclosed. Labels and the issuer's
// name come from the Yivi scheme so agents see words, not ids.
type Attribute struct {
	ID       string            `json:"id"`     // Yivi attribute type id, e.g. pbdf.gemeente.personalData.bsn
	Value    string            `json:"value"`  // raw value as disclosed
	Labels   map[string]string `json:"labels"` // by language
	IssuerID string            `json:"issuer"` // scheme.issuer
	Issuer   map[string]string `json:"issuerLabels"`
	IssuedAt time.Time         `json:"issuedAt"`
}

// Disclosure is a judged proof, as stored with the session (sealed).
type Disclosure struct {
	Means      Means       `json:"means"`
	Assurance  Assurance   `json:"assurance"`
	Attributes []Attribute `json:"attributes"`
	At         time.Time   `json:"at"`
}

// ProofOutcome is how a proof ended, in any means.
type ProofOutcome string

const (
	ProofProven    ProofOutcome = "proven"    // the means verified the attributes it reports
	ProofCancelled ProofOutcome = "cancelled" // the person declined
	ProofTimedOut  ProofOutcome = "timed_out" // nobody finished it in time
	ProofFailed    ProofOutcome = "failed"    // the proof did not hold, or the means failed
)

// ProofResult is what a means reports when a proof ends, in the domain's
// words. The means has checked its own protocol (for Yivi: the session
// status, proofStatus VALID, every attribute PRESENT: package yivi); Judge
// checks what the purpose asks of it.
type ProofResult struct {
	Means   Means
	Outcome ProofOutcome
	// Assurance is the level the means reports for this proof: the same
	// means may give different levels.
	Assurance  Assurance
	Attributes []Attribute // the attributes proven, when proven
	// Reason says why a proof was not proven; it is shown, so it names no
	// value. Detail is what the means said of a failure, for the log only.
	Reason, Detail string
}

// Judge decides whether r proves what purpose p asks: a proof by a means
// the purpose accepts, at its least assurance, and every requested
// attribute (one full alternative of each disjunction). It returns the
// disclosure to store, or the state the session must end in and a reason
// that is safe to show (it names no value).
func (r ProofResult) Judge(p *Purpose) (*Disclosure, SessionState, string) {
	reason := func(fallback string) string {
		if r.Reason != "" {
			return r.Reason
		}
		return fallback
	}
	switch r.Outcome {
	case ProofProven:
	case ProofCancelled:
		return nil, StateCancelled, reason("cancelled by the person")
	case ProofTimedOut:
		return nil, StateExpired, reason("the proof timed out")
	default:
		return nil, StateFailed, reason("the proof failed")
	}
	if !p.AcceptsMeans(r.Means) {
		return nil, StateFailed, "this purpose does not accept this means of proof"
	}
	if !r.Assurance.AtLeast(p.MinAssurance) {
		return nil, StateFailed, "assurance too low"
	}
	if len(r.Attributes) == 0 {
		return nil, StateFailed, "no attributes disclosed"
	}
	got := map[string]bool{}
	for _, a := range r.Attributes {
		got[a.ID] = true
	}
	// Every disjunction must be satisfied by one of its alternatives in full;
	// the means checks this too, but we do not trust a single check for
	// what decides who is on the phone.
	for _, discon := range p.Disclose {
		ok := false
		for _, con := range discon {
			all := true
			for _, id := range con {
				if !got[id] {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if !ok {
			return nil, StateFailed, "a requested attribute is missing"
		}
	}
	return &Disclosure{Means: r.Means, Assurance: r.Assurance, Attributes: r.Attributes}, StateDisclosed, ""
}
