// Package keyring seals personal data at rest with AES-256-GCM. It holds
// several keys by id: new data is sealed with the active key and old data
// opens with the key its row names, so a key is rotated by adding a new
// active key and removing the old one once nothing sealed with it can be
// left (personal data never outlives its session).
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/veiligcontact/veilig"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring is a veilig.Sealer.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
}

var _ veilig.Sealer = (*Keyring)(nil)

// New returns a keyring that seals with keys[active].
func New(active string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("keyring: active key %q is not among the keys", active)
	}
	k := &Keyring{active: active, aeads: map[string]cipher.AEAD{}}
	for id, key := range keys {
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("keyring: key id %q must be 1-32 letters, digits, '-' or '_'", id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("keyring: key %q must be %d bytes, not %d", id, KeySize, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// KeyIDs returns the ids of the keys held, sorted.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Seal encrypts plaintext with the active key and a random nonce, bound to aad.
func (k *Keyring) Seal(plaintext, aad []byte) (veilig.Sealed, error) {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return veilig.Sealed{}, fmt.Errorf("keyring: nonce: %w", err)
	}
	return veilig.Sealed{KeyID: k.active, Data: aead.Seal(nonce, nonce, plaintext, aad)}, nil
}

// ErrUnknownKey is returned by Open for data sealed with a key not held.
var ErrUnknownKey = errors.New("keyring: sealed with a key that is not configured")

// Open decrypts s with the key it names; it fails if s was changed or was
// sealed for another aad.
func (k *Keyring) Open(s veilig.Sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[s.KeyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	if len(s.Data) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("keyring: sealed data too short")
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, s.Data[:n], s.Data[n:], aad)
	if err != nil {
		return nil, errors.New("keyring: sealed data does not authenticate")
	}
	return out, nil
}

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	_, err := rand.Read(key)
	return key, err
}

// Derive returns keys of their own for label (an organisation), one per key
// of keys under the same id, by HKDF-SHA256: what one label's keys seal no
// other label's keys open, while whoever holds keys can derive them all.
func Derive(keys map[string][]byte, label string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for id, key := range keys {
		k, err := hkdf.Key(sha256.New, key, nil, "veilig-contact organisation "+label+" key "+id, KeySize)
		if err != nil {
			return nil, fmt.Errorf("keyring: derive %q: %w", id, err)
		}
		out[id] = k
	}
	return out, nil
}
