package oidc

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzFlowCookie: whatever comes back as the flow cookie, only one this
// provider made (with its key) and that is fresh is taken; nothing panics.
func FuzzFlowCookie(f *testing.F) {
	p, err := New(Config{Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://rp.example/cb", CookieKey: make([]byte, 32)})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	p.now = func() time.Time { return now }
	raw, _ := json.Marshal(flow{State: "s", Nonce: "n", Verifier: "v", Created: now.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(raw)
	good := payload + "." + p.mac(payload)
	f.Add(good)
	f.Add(payload + ".")
	f.Add("." + p.mac(""))
	f.Add("%%%.###")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest("GET", "/cb", nil)
		r.Header.Set("Cookie", p.cookieName()+"="+value)
		fl, ok := p.readFlow(r)
		if !ok {
			return
		}
		c, err := r.Cookie(p.cookieName())
		if err != nil {
			t.Fatalf("accepted a cookie the request does not have: %q", value)
		}
		pl, sig, _ := strings.Cut(c.Value, ".")
		if sig != p.mac(pl) || fl.State == "" || fl.Nonce == "" || fl.Verifier == "" {
			t.Fatalf("accepted %q", value)
		}
	})
}
