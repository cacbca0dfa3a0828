package yivi

import (
	"net/http/httptest"
	"testing"
)

func TestSessionGetToken(t *testing.T) {
	for _, c := range []struct {
		method, path string
		token        string
		ok           bool
	}{
		{"GET", "/session/abc123/", "abc123", true},
		{"GET", "/session/abc123", "abc123", true},
		{"GET", "/session/abc123/status", "", false},
		{"GET", "/session/abc123/frontend/status", "", false},
		{"POST", "/session/abc123/", "", false},
		{"DELETE", "/session/abc123/", "", false},
		{"GET", "/session/", "", false},
		{"GET", "/session//", "", false},
		{"GET", "/revocation/x/updateevents", "", false},
		{"GET", "/", "", false},
	} {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		token, ok := sessionGetToken(r)
		if ok != c.ok || string(token) != c.token {
			t.Errorf("%s %s = %q, %v; want %q, %v", c.method, c.path, token, ok, c.token, c.ok)
		}
	}
}
