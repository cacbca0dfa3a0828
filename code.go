package veilig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"math/big"
)

// Codes are secrets a person types (the phone types them as DTMF tones
// after the pause), short enough to be guessed, so a connection that
// brings one goes through ReportCall and its guessing limits. The last
// digit is a Damm check digit: it catches every single mistyped digit and
// every swap of two adjacent digits, so a slip of the finger (when someone
// types the code by hand) is answered "no match" without a lookup
// (ReportCall checks CodeWellFormed first) and without spending one of the
// caller's attempts. It adds nothing against guessing: a guesser computes
// it too, so only the n-1 random digits count (see GuessesPerHit).

// Lengths of typed codes, check digit included.
const (
	DefaultCodeLength = 10
	MinCodeLength     = 6
	MaxCodeLength     = 16
)

// TypedCodeSettings are the ChannelSettings of a channel whose secret a
// person types: the guessing goal applies to them (GuessingWarnings).
type TypedCodeSettings interface {
	ChannelSettings
	TypedCodeLength() int
}

// dammTable is the totally anti-symmetric quasigroup of order 10 from H. Michael
// Damm's 2004 thesis, the one used by every implementation of the algorithm.
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

func dammInterim(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = dammTable[interim][digits[i]-'0']
	}
	return interim
}

// NewCode returns a fresh code of n digits: n-1 uniformly random digits from
// crypto/rand followed by their Damm check digit.
func NewCode(n int) (string, error) {
	if n < MinCodeLength || n > MaxCodeLength {
		return "", Errorf(EINVALID, "code length must be between %d and %d", MinCodeLength, MaxCodeLength)
	}
	buf := make([]byte, n)
	ten := big.NewInt(10)
	for i := 0; i < n-1; i++ {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			return "", err
		}
		buf[i] = '0' + byte(d.Int64())
	}
	buf[n-1] = '0' + dammInterim(string(buf[:n-1]))
	return string(buf), nil
}

// CodeWellFormed reports whether code is all digits, of a length a purpose
// may use, and carries a correct check digit.
func CodeWellFormed(code string) bool {
	if len(code) < MinCodeLength || len(code) > MaxCodeLength {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return dammInterim(code) == 0
}

// CodeHash returns the keyed hash under which a code is stored and looked up.
// Keyed, because the code space is small: a plain hash in a database dump
// would be reversed by trying every code; without the key it cannot be.
func CodeHash(key []byte, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("veilig-code\x00"))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// The guessing goal (docs/security.md): with LiveSessionsAssumed sessions
// holding a code at once, a guess with a valid check digit must hit one of
// them at most once in GuessesPerHitGoal, whatever the limits do.
const (
	LiveSessionsAssumed = 1000
	GuessesPerHitGoal   = 1e6
)

// GuessesPerHit is the expected number of lookups of well-formed guesses
// per hit for codes of codeLength digits with live sessions holding one:
// 10^(codeLength-1) possible codes, live of them taken.
func GuessesPerHit(codeLength, live int) float64 {
	return math.Pow10(codeLength-1) / float64(max(live, 1))
}

// GuessingWarnings says where a configuration falls below the guessing
// goal, for the operator to read at start-up. Nothing in it is secret.
func GuessingWarnings(purposes []*Purpose, l MissLimits) []string {
	var w []string
	for _, p := range purposes {
		typed, ok := p.ChannelSettings.(TypedCodeSettings)
		if !ok {
			continue
		}
		if n := typed.TypedCodeLength(); GuessesPerHit(n, LiveSessionsAssumed) < GuessesPerHitGoal {
			w = append(w, fmt.Sprintf("purpose %q: %s.code_length %d gives %.0f guesses per hit at %d live sessions, below the goal of %.0f; use code_length %d or more (docs/security.md)",
				p.ID, p.Channel, n, GuessesPerHit(n, LiveSessionsAssumed), LiveSessionsAssumed, GuessesPerHitGoal, DefaultCodeLength))
		}
	}
	if l.PerCaller <= 0 {
		w = append(w, "telephony.miss_per_caller is 0: one caller may guess codes without limit (docs/security.md)")
	}
	if l.Overall <= 0 {
		w = append(w, "telephony.miss_overall is 0: guessing from many numbers raises no alarm (docs/security.md)")
	}
	return w
}
