// Package telephony holds what every telephony platform adapter shares: the
// signed request format of Veilig Contact's telephony API, and a client
// for it. Platform packages (connect, twilio, asterisk) turn their
// platform's requests into these calls.
//
// A request carries three headers:
//
//	Veilig-Timestamp: <unix seconds>
//	Veilig-Nonce:     <16 to 64 characters [A-Za-z0-9_-], fresh for every request>
//	Veilig-Signature: v1=<hex HMAC-SHA256(secret, timestamp "\n" nonce "\n" method "\n" path "\n" body)>
//
// Method and path are signed too, so a signature for one endpoint cannot be
// replayed against another; the server refuses timestamps outside its replay
// window and any signature it has already seen within it. The nonce makes
// two requests that happen to be alike (the same call-state report from two
// Lambda instances in one second) two requests, so only a true replay is
// refused.
package telephony

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	TimestampHeader = "Veilig-Timestamp"
	NonceHeader     = "Veilig-Nonce"
	SignatureHeader = "Veilig-Signature"
)

// Sign returns the Veilig-Signature value for a request.
func Sign(secret []byte, ts time.Time, nonce, method, path string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), nonce, method, path, body))
}

// NewNonce returns a fresh Veilig-Nonce value.
func NewNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var noncePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

func mac(secret []byte, ts, nonce, method, path string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'\n'})
	m.Write([]byte(nonce))
	m.Write([]byte{'\n'})
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(path))
	m.Write([]byte{'\n'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors from Verify; deliberately terse, they are shown to callers.
var (
	ErrMissing   = errors.New("the request is not signed (Veilig-Timestamp, Veilig-Nonce and Veilig-Signature are required)")
	ErrNonce     = errors.New("the request nonce must be 16 to 64 letters, digits, '-' or '_'")
	ErrTimestamp = errors.New("the request timestamp is malformed or outside the allowed window")
	ErrSignature = errors.New("the request signature is not valid")
)

// Verify checks a request's timestamp and signature headers against secret,
// allowing clock skew of window either way. It returns the raw signature
// bytes, which the caller remembers to refuse replays.
func Verify(secret []byte, now time.Time, window time.Duration, tsHeader, nonceHeader, sigHeader, method, path string, body []byte) ([]byte, error) {
	if tsHeader == "" || nonceHeader == "" || sigHeader == "" {
		return nil, ErrMissing
	}
	if !noncePattern.MatchString(nonceHeader) {
		return nil, ErrNonce
	}
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || len(tsHeader) > 12 {
		return nil, ErrTimestamp
	}
	ts := time.Unix(sec, 0)
	if ts.Before(now.Add(-window)) || ts.After(now.Add(window)) {
		return nil, ErrTimestamp
	}
	hexSig, ok := strings.CutPrefix(sigHeader, "v1=")
	if !ok || len(hexSig) != 64 {
		return nil, ErrSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return nil, ErrSignature
	}
	if !hmac.Equal(got, mac(secret, tsHeader, nonceHeader, method, path, body)) {
		return nil, ErrSignature
	}
	return got, nil
}
