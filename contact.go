package veilig

import "time"

// Contact is a session as an agent sees it once a connection has been matched:
// who is waiting, for what, and (only after the agent opens it) what they
// proved. Attributes is nil in lists; it is filled only by OpenContact.
type Contact struct {
	ID           string       `json:"id"` // the session id, also the contact reference
	PurposeID    string       `json:"purpose"`
	PurposeLabel string       `json:"purposeLabel"`
	Channel      Channel      `json:"channel"`
	State        SessionState `json:"state"`
	// Connection is the connection as its channel describes it (the
	// phone: the platform and the caller's number).
	Connection  ConnectionView `json:"connection"`
	Means       Means          `json:"means"`
	Assurance   Assurance      `json:"assurance"`
	MatchedAt   time.Time      `json:"matchedAt"`
	DisclosedAt time.Time      `json:"disclosedAt"`
	TakenBy     string         `json:"takenBy,omitempty"`
	Attributes  []Attribute    `json:"attributes,omitempty"`
}

// ConnectionState is a state of a call reported by the telephony platform.
type ConnectionState string

const (
	ConnectionQueued      ConnectionState = "queued"      // the caller waits in the queue
	ConnectionAnswered    ConnectionState = "answered"    // an agent picked up
	ConnectionEnded       ConnectionState = "ended"       // hang-up by either side
	ConnectionUnavailable ConnectionState = "unavailable" // the centre could not take it (closed, queue full)
)

// Valid reports whether c is a known call state.
func (c ConnectionState) Valid() bool {
	switch c {
	case ConnectionQueued, ConnectionAnswered, ConnectionEnded, ConnectionUnavailable:
		return true
	}
	return false
}

// IncomingCall is what a telephony platform reports when a caller has typed
// a code. Code and CallerNumber are personal or secret: never log them.
type IncomingCall struct {
	Code         string `json:"code"`
	CallerNumber string `json:"callerNumber"`
	Provider     string `json:"provider"`
	CallID       string `json:"callId"`
	// CalledNumber is the number the caller dialled, E.164, when the
	// platform says it: the code then matches only a session of the
	// organisation whose number it is. Optional.
	CalledNumber string `json:"calledNumber,omitempty"`
}

// CallMatch is the answer to an incoming call.
type CallMatch struct {
	Matched    bool   `json:"matched"`
	ContactRef string `json:"contactRef,omitempty"` // opaque: the session id
	PurposeID  string `json:"purpose,omitempty"`
}
