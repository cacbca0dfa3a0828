package telephony

import (
	"errors"
	"strings"

	"github.com/veiligcontact/veilig"
)

// ErrNoCaller means the platform's request carried no caller number at all
// (not even a marker that it was withheld). Adapters route such a call to
// the unverified path without looking a code up: a real call always has
// one, so the request is malformed.
var ErrNoCaller = errors.New("the request has no caller number")

// withheld are the words platforms put where a number was withheld
// (Asterisk's "unknown", carriers' "anonymous", "restricted", ...).
var withheld = map[string]bool{
	"anonymous": true, "restricted": true, "private": true, "unknown": true,
	"unavailable": true, "withheld": true, "blocked": true,
}

// CallerNumber turns a platform's caller id into what the core accepts:
// digits with an optional leading '+', or veilig.AnonymousCaller when the
// number was withheld or is not a phone number (a SIP URI, a Twilio
// "client:" identity). A withheld number still gets matched: people who
// hide their number are not kept from a verified contact; they share one
// bucket of the per-caller miss limit.
func CallerNumber(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrNoCaller
	}
	if withheld[strings.ToLower(s)] {
		return veilig.AnonymousCaller, nil
	}
	// Carriers and PBXs format numbers for people; the core wants digits.
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return veilig.AnonymousCaller, nil
		}
	}
	n := b.String()
	if digits := strings.TrimPrefix(n, "+"); len(digits) < 2 || len(digits) > 20 {
		return veilig.AnonymousCaller, nil
	}
	return n, nil
}

// CalledNumber turns the number a platform says the caller dialled into
// what the core takes as IncomingCall.CalledNumber: the digits with an
// optional leading '+', or "" when it is absent or not a phone number (the
// call then names no line).
func CalledNumber(raw string) string {
	n, err := CallerNumber(raw)
	if err != nil || n == veilig.AnonymousCaller {
		return ""
	}
	return n
}
