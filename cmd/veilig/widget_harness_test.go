package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// Helpers of the widget and demo tests.

// startDemoApp runs veilig as `make run` does: plain http, the embedded
// Yivi server not in production mode (so the demo wallet is in developer
// mode, like the Yivi app must be for it), demo on, SQLite.
func startDemoApp(t *testing.T, mutate func(*config.Config)) *testApp {
	t.Helper()
	return startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), func(c *config.Config) {
		c.Public.TLSCert, c.Public.TLSKey = "", ""
		c.Yivi.Production = false
		if mutate != nil {
			mutate(c)
		}
	})
}

// demoOff configures a production-like veilig: demo off, the demo scheme
// as its (only) scheme, one purpose of its own.
func demoOff(t *testing.T) func(*config.Config) {
	return func(c *config.Config) {
		schemes, _, err := demoscheme.Extract(filepath.Join(t.TempDir(), "yivi"))
		if err != nil {
			t.Fatal(err)
		}
		c.Demo = false
		c.Yivi.SchemesPath = schemes
		c.Purposes = append(c.Purposes, elsewherePurpose("https://www.gemeente.example"))
	}
}

// elsewherePurpose is a purpose for pages at origin.
func elsewherePurpose(origin string) config.Purpose {
	return config.Purpose{
		ID:             "elsewhere",
		Labels:         map[string]string{"nl": "Vraag over parkeren (test)", "en": "Question about parking (test)"},
		Disclose:       [][][]string{{{demoscheme.FullName}}},
		PhoneNumber:    "+31850000001",
		AllowedOrigins: []string{origin},
	}
}

// startSessionFrom starts a session as a page at origin does.
func (ta *testApp) startSessionFrom(purpose, origin string) startedSession {
	ta.t.Helper()
	var s startedSession
	if st := ta.do("POST", "/api/v1/sessions", map[string]string{"purpose": purpose}, map[string]string{"Origin": origin}, &s); st != 200 {
		ta.t.Fatalf("start session for %s from %s: %d", purpose, origin, st)
	}
	return s
}

// raw sends a request to the public listener and returns the answer with
// its body read.
func (ta *testApp) raw(method, path string, hdr map[string]string) *http.Response {
	ta.t.Helper()
	req, err := http.NewRequest(method, ta.publicURL+path, nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ta.client.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func jsonUnmarshal(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
}
