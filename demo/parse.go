package demo

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// maxInput bounds what the demo pages may paste: a session pointer or a
// dial string is far smaller.
const maxInput = 8 << 10

// SessionPointer is what a Yivi QR code holds: where the session is and
// what kind it is.
type SessionPointer struct {
	U      string `json:"u"`
	Irmaqr string `json:"irmaqr"`
}

var errNotSession = errors.New("this is not a Yivi session: paste the link the QR code holds (https://open.yivi.app/-/session#…) or the session pointer ({\"u\":…,\"irmaqr\":…})")

// ParseSessionPointer reads a session pointer in any form a person can copy
// it in: the JSON pointer itself, the universal link the QR code holds
// (https://open.yivi.app/-/session#<JSON>, also the older irma.app host), an
// Android intent:// or irma:// link (intent://qr/json/<JSON>#Intent;…).
func ParseSessionPointer(input string) (SessionPointer, error) {
	var p SessionPointer
	s := strings.TrimSpace(input)
	if len(s) > maxInput || s == "" {
		return p, errNotSession
	}
	if !strings.HasPrefix(s, "{") {
		var enc string
		switch {
		case strings.HasPrefix(s, "intent://qr/json/"), strings.HasPrefix(s, "irma://qr/json/"):
			enc = s[strings.Index(s, "/qr/json/")+len("/qr/json/"):]
			enc, _, _ = strings.Cut(enc, "#")
		case strings.HasPrefix(s, "https://"):
			u, err := url.Parse(s)
			if err != nil || !strings.HasSuffix(u.Path, "/session") {
				return p, errNotSession
			}
			enc = u.EscapedFragment()
		default:
			return p, errNotSession
		}
		dec, err := url.PathUnescape(enc)
		if err != nil {
			return p, errNotSession
		}
		s = strings.TrimSpace(dec)
	}
	if json.Unmarshal([]byte(s), &p) != nil {
		return SessionPointer{}, errNotSession
	}
	u, err := url.Parse(p.U)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return SessionPointer{}, errNotSession
	}
	switch p.Irmaqr {
	case "disclosing", "issuing", "signing":
	default:
		return SessionPointer{}, errNotSession
	}
	return p, nil
}

// JSON is the pointer as a wallet takes it, with nothing but u and irmaqr.
func (p SessionPointer) JSON() json.RawMessage {
	b, _ := json.Marshal(p)
	return b
}

// Dial is what a phone dials: a number, then (after a pause) DTMF digits.
type Dial struct {
	Number string // E.164
	Digits string // typed after the pause: 0-9, * and #
}

var (
	dialNumber = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	dialDigits = regexp.MustCompile(`^[0-9*#]{0,32}$`)
	dialNoise  = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "", "\u00a0", "")
)

var errNotDial = errors.New("dial a number and, after a comma, the code: +31850000000,12345678 (or a tel: link)")

// ParseDial reads what a person types into a phone, or a tel: URI as the
// Yivi app opens it ("tel:+31850000000,12345678"): the number, a pause (',',
// ';', 'p' or 'w'), then the digits the phone types as tones. Spaces and
// dashes are ignored; a national number (0…) is read as Dutch, 00… as
// international, as a Dutch phone would.
func ParseDial(input string) (Dial, error) {
	s := strings.TrimSpace(input)
	if len(s) > 256 {
		return Dial{}, errNotDial
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
		if dec, err := url.PathUnescape(s); err == nil {
			s = dec
		}
	}
	s = dialNoise.Replace(s)
	number, digits := s, ""
	if i := strings.IndexAny(s, ",;pPwW"); i >= 0 {
		number, digits = s[:i], strings.Map(func(r rune) rune {
			if strings.ContainsRune(",;pPwW", r) {
				return -1 // more pauses
			}
			return r
		}, s[i+1:])
	}
	switch {
	case strings.HasPrefix(number, "00"):
		number = "+" + number[2:]
	case strings.HasPrefix(number, "0"):
		number = "+31" + number[1:]
	}
	if !dialNumber.MatchString(number) || !dialDigits.MatchString(digits) {
		return Dial{}, errNotDial
	}
	return Dial{Number: number, Digits: digits}, nil
}

// URI is the dial as a tel: URI.
func (d Dial) URI() string {
	if d.Digits == "" {
		return "tel:" + d.Number
	}
	return "tel:" + d.Number + "," + d.Digits
}
