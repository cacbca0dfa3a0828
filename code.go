package veilig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
)

// Codes are what the phone types as DTMF tones after the pause. The last
// digit is a Damm check digit: it catches every single mistyped digit and
// every swap of two adjacent digits, so a slip of the finger (when someone
// types the code by hand) is refused locally as "no match" without spending
// one of the caller's attempts on a guess that could hit another session.

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
