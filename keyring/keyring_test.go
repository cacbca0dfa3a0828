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
