package veilig

import (
	"encoding/json"
	"regexp"
)

// Channel is the way the person reaches the organisation after proving who
// they are: the name a channel is registered under (ChannelService.Channel).
// What a channel does is behind that port; the name is all the domain
// knows of it.
type Channel string

// ChannelPhone is the name package telephony registers the phone under.
const ChannelPhone Channel = "phone"

var channelPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Valid reports whether c can name a channel (not whether one is registered).
func (c Channel) Valid() bool { return channelPattern.MatchString(string(c)) }

// ChannelService is a channel: it prepares the person's next step once the
// proof is made, and tells agents what a connection is. The service keeps
// one per channel (ServiceConfig.Channels); every purpose names one of
// them. Package telephony implements the phone.
//
// A connection is bound to its session by the secret Prepare draws: its
// keyed hash is stored with the session, and the connection that brings
// the secret is matched to it by one store transition (Store.MatchCode)
// that every channel shares. A secret a person types (the phone's DTMF
// code) is short, so it goes through ReportCall, which guards against
// guessing; a secret a client carries (a browser's) is long (NewToken) and
// goes through Connect.
type ChannelService interface {
	// Channel is the channel this service is.
	Channel() Channel
	// CheckPurpose returns every problem with purpose p for this channel
	// (its ChannelSettings above all), each prefixed with its key.
	CheckPurpose(p *Purpose) []string
	// Prepare draws what a session of purpose p needs for its connection.
	Prepare(p *Purpose) (Preparation, error)
	// Describe says what an agent sees of a connection: address is what
	// the connection brought (the phone: the caller's number), opened; it
	// is personal data.
	Describe(platform, address string) ConnectionView
}

// Preparation is a session's connection made ready by its channel.
type Preparation struct {
	// Secret is what the connection will bring; only its keyed hash is
	// stored. The service draws a new preparation if another live session
	// holds the same secret.
	Secret string
	// ReturnURL is where the means' app sends the person once the proof
	// is made (the phone: tel:<number>,<code>); "" for none.
	ReturnURL string
	// Next is the person's next step, in the channel's own terms, for the
	// citizen's client (the phone: number, code and tel: URI).
	Next json.RawMessage
}

// ChannelSettings are a purpose's settings for its channel, in the
// channel's own type (telephony.PhoneSettings: the number, the code
// length), which configuration reads from the purpose's section named
// after the channel (phone:).
type ChannelSettings interface {
	// Problems returns every problem with the settings, each prefixed with
	// its key within the section.
	Problems() []string
}

// LineSettings are the ChannelSettings of a channel whose connections come
// in on addresses of the purpose's own (the phone: the number dialled): a
// connection on one of them matches only its organisation's sessions.
type LineSettings interface {
	ChannelSettings
	Lines() []string
}

// ConnectionView is a connection as an agent sees it, as its channel
// describes it.
type ConnectionView struct {
	Channel  Channel `json:"channel"`
	Platform string  `json:"platform"` // what carries it ("connect", "twilio", "asterisk", ...)
	// Label is what Address is, by language ("Caller number").
	Label map[string]string `json:"label"`
	// Address is who is connected, as the channel knows them (the phone:
	// the caller's number); "" when it is not known, and then Missing
	// says why, by language ("Number withheld").
	Address string            `json:"address,omitempty"`
	Missing map[string]string `json:"missing,omitempty"`
}
