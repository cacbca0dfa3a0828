package veilig

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// newID returns an opaque identifier: 128 random bits in lower-case base32.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewID returns a fresh opaque identifier (sessions, agents).
func NewID() string { return newID() }

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns a fresh 256-bit bearer secret, URL-safe.
func NewToken() string { return newToken() }

// TokenHash is how bearer secrets are stored: they are random and long, so
// an unkeyed hash is enough to make a dump useless.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
