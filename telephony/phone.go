package telephony

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/veiligcontact/veilig"
)

// Phone is the phone channel: once the proof is made the person's phone
// dials the purpose's number and types the session's code as DTMF tones,
// and the platform that answers (Amazon Connect, Twilio, Asterisk, through
// Core) reports the call with the code, which binds it to the session.
// cmd/veilig registers it in veilig.ServiceConfig.Channels.
type Phone struct{}

var _ veilig.ChannelService = Phone{}

// PhoneSettings are a purpose's settings for the phone (the purpose's
// phone: section).
type PhoneSettings struct {
	Number     string // the number to dial, E.164 ("+31201234567")
	CodeLength int    // digits in the DTMF code including the check digit
}

var _ veilig.TypedCodeSettings = (*PhoneSettings)(nil)

var phoneNumberPattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Problems returns every problem with s, each prefixed with its key.
func (s *PhoneSettings) Problems() []string {
	var p []string
	if !phoneNumberPattern.MatchString(s.Number) {
		p = append(p, "number: must be an E.164 number such as +31201234567")
	}
	if s.CodeLength < veilig.MinCodeLength || s.CodeLength > veilig.MaxCodeLength {
		p = append(p, fmt.Sprintf("code_length: must be between %d and %d", veilig.MinCodeLength, veilig.MaxCodeLength))
	}
	return p
}

// Lines is the number callers dial for the purpose.
func (s *PhoneSettings) Lines() []string { return []string{s.Number} }

// TypedCodeLength is the length of the code the phone types: the guessing
// goal applies to it.
func (s *PhoneSettings) TypedCodeLength() int { return s.CodeLength }

// SettingsOf returns the phone settings of purpose p; nil when p is not a
// phone purpose.
func SettingsOf(p *veilig.Purpose) *PhoneSettings {
	s, _ := p.ChannelSettings.(*PhoneSettings)
	return s
}

// Channel is the phone's name.
func (Phone) Channel() veilig.Channel { return veilig.ChannelPhone }

// CheckPurpose requires phone settings that hold.
func (Phone) CheckPurpose(p *veilig.Purpose) []string {
	s := SettingsOf(p)
	if s == nil {
		return []string{"phone: the number to dial is required"}
	}
	var problems []string
	for _, msg := range s.Problems() {
		problems = append(problems, "phone."+msg)
	}
	return problems
}

// DialURI is the tel: URI the means' app opens after the proof: the
// number, a pause (","), then the code as DTMF tones.
func DialURI(number, code string) string { return "tel:" + number + "," + code }

// Dial is the phone's next step, as the citizen's client gets it: for
// phones that cannot open tel: links, the number and the code to type by
// hand, and the URI.
type Dial struct {
	Number string `json:"number"`
	Code   string `json:"code"`
	URI    string `json:"uri"`
}

// Prepare draws the session's code.
func (Phone) Prepare(p *veilig.Purpose) (veilig.Preparation, error) {
	s := SettingsOf(p)
	if s == nil {
		return veilig.Preparation{}, fmt.Errorf("phone: purpose %q has no phone settings", p.ID)
	}
	code, err := veilig.NewCode(s.CodeLength)
	if err != nil {
		return veilig.Preparation{}, err
	}
	uri := DialURI(s.Number, code)
	next, err := json.Marshal(Dial{Number: s.Number, Code: code, URI: uri})
	if err != nil {
		return veilig.Preparation{}, err
	}
	return veilig.Preparation{Secret: code, ReturnURL: uri, Next: next}, nil
}

// Describe shows the caller's number, or that it was withheld.
func (Phone) Describe(platform, address string) veilig.ConnectionView {
	v := veilig.ConnectionView{
		Channel: veilig.ChannelPhone, Platform: platform,
		Label: map[string]string{"nl": "Telefoonnummer", "en": "Phone number"},
	}
	if address == "" || address == veilig.AnonymousCaller {
		v.Missing = map[string]string{"nl": "afgeschermd", "en": "withheld"}
	} else {
		v.Address = address
	}
	return v
}
