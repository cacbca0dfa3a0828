package keyring

import (
	"bytes"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenAndRotate(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	old, err := New("2025", map[string][]byte{"2025": k1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := old.Seal([]byte("Jan de Vries"), []byte("session-1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != "2025" || bytes.Contains(s.Data, []byte("Jan")) {
		t.Fatalf("sealed %+v leaks or has the wrong key id", s)
	}
	// After rotation new data uses the new key and old data still opens.
	rotated, err := New("2026", map[string][]byte{"2025": k1, "2026": k2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(s, []byte("session-1"))
	if err != nil || string(got) != "Jan de Vries" {
		t.Fatalf("open after rotation: %q, %v", got, err)
	}
	s2, _ := rotated.Seal([]byte("x"), nil)
	if s2.KeyID != "2026" {
		t.Fatalf("sealed with %q, want the active key", s2.KeyID)
	}
	// Once the old key is removed, its data no longer opens.
	retired, _ := New("2026", map[string][]byte{"2026": k2})
	if _, err := retired.Open(s, []byte("session-1")); err != ErrUnknownKey {
		t.Fatalf("open with removed key: %v", err)
	}
}

func TestOpenRefusesTamperingAndOtherRows(t *testing.T) {
	k, _ := New("a", map[string][]byte{"a": mustKey(t)})
	s, _ := k.Seal([]byte("999999990"), []byte("session-1"))
	if _, err := k.Open(s, []byte("session-2")); err == nil {
		t.Fatal("data sealed for one session opened for another")
	}
	s.Data[len(s.Data)-1] ^= 1
	if _, err := k.Open(s, []byte("session-1")); err == nil {
		t.Fatal("tampered data opened")
	}
	s.Data = s.Data[:5]
	if _, err := k.Open(s, []byte("session-1")); err == nil {
		t.Fatal("truncated data opened")
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for name, tc := range map[string]struct {
		active string
		keys   map[string][]byte
	}{
		"missing active": {"b", map[string][]byte{"a": make([]byte, 32)}},
		"short key":      {"a", map[string][]byte{"a": make([]byte, 16)}},
		"bad id":         {"a b", map[string][]byte{"a b": make([]byte, 32)}},
	} {
		if _, err := New(tc.active, tc.keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Derived keys are stable (every replica derives the same), their own per
// label and per key id, and open nothing sealed with another label's.
func TestDerive(t *testing.T) {
	base := map[string][]byte{"k1": mustKey(t), "k2": mustKey(t)}
	a1, _ := Derive(base, "arnhem")
	a2, _ := Derive(base, "arnhem")
	b, _ := Derive(base, "nijmegen")
	if string(a1["k1"]) != string(a2["k1"]) || len(a1["k1"]) != KeySize {
		t.Fatal("derivation is not stable")
	}
	if string(a1["k1"]) == string(b["k1"]) || string(a1["k1"]) == string(a1["k2"]) || string(a1["k1"]) == string(base["k1"]) {
		t.Fatal("derived keys are shared between labels, ids or with the base")
	}
	ka, _ := New("k1", a1)
	kb, _ := New("k1", b)
	kbase, _ := New("k1", base)
	s, err := ka.Seal([]byte("attributes"), []byte("s1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Open(s, []byte("s1")); err == nil {
		t.Fatal("another label's keys opened the data")
	}
	if _, err := kbase.Open(s, []byte("s1")); err == nil {
		t.Fatal("the base keys opened derived-key data")
	}
	if got, err := ka.Open(s, []byte("s1")); err != nil || string(got) != "attributes" {
		t.Fatalf("own keys: %q %v", got, err)
	}
}
