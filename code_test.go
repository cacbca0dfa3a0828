package veilig

import (
	"bytes"
	"testing"
)

func TestNewCodeIsWellFormed(t *testing.T) {
	for n := MinCodeLength; n <= MaxCodeLength; n++ {
		for range 200 {
			c, err := NewCode(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(c) != n || !CodeWellFormed(c) {
				t.Fatalf("NewCode(%d) = %q is not well formed", n, c)
			}
		}
	}
	if _, err := NewCode(3); ErrorCode(err) != EINVALID {
		t.Fatalf("NewCode(3) = %v, want EINVALID", err)
	}
}

// The check digit must catch every single-digit slip and every swap of two
// adjacent different digits: that is why Damm was chosen over Luhn.
func TestCheckDigitCatchesTypos(t *testing.T) {
	for range 300 {
		c, _ := NewCode(8)
		b := []byte(c)
		for i := range b {
			for d := byte('0'); d <= '9'; d++ {
				if d == c[i] {
					continue
				}
				typo := bytes.Clone(b)
				typo[i] = d
				if CodeWellFormed(string(typo)) {
					t.Fatalf("%q accepted as %q", typo, c)
				}
			}
			if i+1 < len(b) && b[i] != b[i+1] {
				swap := bytes.Clone(b)
				swap[i], swap[i+1] = swap[i+1], swap[i]
				if CodeWellFormed(string(swap)) {
					t.Fatalf("swap %q accepted as %q", swap, c)
				}
			}
		}
	}
}

func TestCodeWellFormedRefusesGarbage(t *testing.T) {
	for _, c := range []string{"", "12345", "1234567a", "12345678901234567", "１２３４５６７８"} {
		if CodeWellFormed(c) {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestCodeHashIsKeyed(t *testing.T) {
	a := CodeHash([]byte("key-a"), "12345674")
	b := CodeHash([]byte("key-b"), "12345674")
	if bytes.Equal(a, b) || len(a) != 32 {
		t.Fatal("code hash does not depend on the key")
	}
	if !bytes.Equal(a, CodeHash([]byte("key-a"), "12345674")) {
		t.Fatal("code hash is not deterministic")
	}
}

func FuzzCodeWellFormed(f *testing.F) {
	f.Add("12345674")
	f.Add("")
	f.Add("9999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		if CodeWellFormed(s) && dammInterim(s) != 0 {
			t.Fatal("accepted a code with a bad check digit")
		}
	})
}
