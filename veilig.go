// Package veilig holds the domain of Veilig Contact: sessions in which a
// person proves attributes before contacting an organisation, the purposes
// that say what must be proven, the contacts agents take, and the audit trail
// of who saw what. It imports no adapter; the packages below it (sqlite,
// postgres, yivi, httpapi, ...) implement its interfaces and cmd/veilig wires
// them together.
package veilig

import "time"

// Channel is the way the person reaches the organisation after proving who
// they are. Only the phone channel is served now; video and chat are the
// names kept for the channels to come.
type Channel string

const (
	ChannelPhone Channel = "phone" // a call over the phone network, matched by a DTMF code
	ChannelVideo Channel = "video" // a browser call (WebRTC or a Jitsi meeting)
	ChannelChat  Channel = "chat"  // a verified chat
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelPhone, ChannelVideo, ChannelChat:
		return true
	}
	return false
}

// Means is how the person proved their attributes.
type Means string

const (
	MeansYivi Means = "yivi" // a Yivi (IRMA) disclosure; assurance substantial
)

// Assurance is a level of assurance in the sense of eIDAS. Levels are ordered:
// a purpose states the least level it accepts.
type Assurance string

const (
	AssuranceLow         Assurance = "low"
	AssuranceSubstantial Assurance = "substantial"
	AssuranceHigh        Assurance = "high"
)

func (a Assurance) rank() int {
	switch a {
	case AssuranceLow:
		return 1
	case AssuranceSubstantial:
		return 2
	case AssuranceHigh:
		return 3
	}
	return 0
}

// Valid reports whether a is a known level.
func (a Assurance) Valid() bool { return a.rank() > 0 }

// AtLeast reports whether a is the same as or higher than min.
func (a Assurance) AtLeast(min Assurance) bool { return a.rank() >= min.rank() && a.Valid() }

// Name is how people call the means ("Yivi").
func (m Means) Name() string {
	switch m {
	case MeansYivi:
		return "Yivi"
	}
	return string(m)
}

// Assurance returns the level of assurance a means gives.
func (m Means) Assurance() Assurance {
	switch m {
	case MeansYivi:
		return AssuranceSubstantial
	}
	return ""
}

// Clock returns the current time; tests replace it to move time forward.
type Clock func() time.Time
