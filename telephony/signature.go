// Package telephony holds what every telephony platform adapter shares: the
// signed request format of Veilig Contact's telephony API, and a client
// for it. Platform packages (connect, twilio, asterisk) turn their
// platform's requests into these calls.
//
// A request carries two headers:
//
//	Veilig-Timestamp: <unix seconds>
//	Veilig-Signature: v1=<hex HMAC-SHA256(secret, timestamp "\n" method "\n" path "\n" body)>
//
// Method and path are signed too, so a signature for one endpoint cannot be
// replayed against another; the server refuses timestamps outside its replay
// window and any signature it has already seen within it.
package telephony

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	TimestampHeader = "Veilig-Timestamp"
	SignatureHeader = "Veilig-Signature"
)

// Sign returns the Veilig-Signature value for a request.
func Sign(secret []byte, ts time.Time, method, path string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), method, path, body))
}

func mac(secret []byte, ts, method, path string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
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
	ErrMissing   = errors.New("the request is not signed (Veilig-Timestamp and Veilig-Signature are required)")
	ErrTimestamp = errors.New("the request timestamp is malformed or outside the allowed window")
	ErrSignature = errors.New("the request signature is not valid")
)

// Verify checks a request's timestamp and signature headers against secret,
// allowing clock skew of window either way. It returns the raw signature
// bytes, which the caller remembers to refuse replays.
func Verify(secret []byte, now time.Time, window time.Duration, tsHeader, sigHeader, method, path string, body []byte) ([]byte, error) {
	if tsHeader == "" || sigHeader == "" {
		return nil, ErrMissing
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
	if !hmac.Equal(got, mac(secret, tsHeader, method, path, body)) {
		return nil, ErrSignature
	}
	return got, nil
}
