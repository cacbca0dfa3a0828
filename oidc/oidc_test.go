package oidc_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/testoidc"
	"github.com/veiligcontact/veilig/oidc"
)

// relyingParty is a minimal site using a Provider: /login begins, /callback
// completes and answers the identity or the error as JSON.
type relyingParty struct {
	url string
	p   *oidc.Provider
	idp *testoidc.Server
	// clock moves the relying party's time (the flow cookie's age).
	offset time.Duration
}

type result struct {
	Username, Subject, Email, Name, Issuer string
	Code, Message                          string
}

var users = []testoidc.User{
	{ID: "u1", Username: "alice.sso", Password: "alice-secret-pw", FirstName: "Alice", LastName: "Sso", Email: "alice@example.nl", EmailVerified: true},
	{ID: "u2", Username: "bob.sso", Password: "bob-secret-pw", FirstName: "Bob", LastName: "Sso", Email: "bob@example.nl", EmailVerified: false},
}

func key() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func newRelyingParty(t *testing.T, mutate func(*oidc.Config)) *relyingParty {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp := &relyingParty{url: "http://" + ln.Addr().String()}
	rp.idp = testoidc.Start(t, rp.url+"/callback", users...)
	cfg := oidc.Config{
		Issuer: rp.idp.Issuer, ClientID: rp.idp.ClientID, ClientSecret: rp.idp.ClientSecret,
		RedirectURL: rp.url + "/callback", CookieKey: key(), Label: "Test IdP",
		Clock: func() time.Time { return time.Now().Add(rp.offset) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if rp.p, err = oidc.New(cfg); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		if err := rp.p.Begin(w, r); err != nil {
			writeResult(w, result{Code: veilig.ErrorCode(err), Message: veilig.ErrorMessage(err)})
		}
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		id, err := rp.p.Complete(w, r)
		if err != nil {
			writeResult(w, result{Code: veilig.ErrorCode(err), Message: veilig.ErrorMessage(err)})
			return
		}
		writeResult(w, result{Username: id.Username, Subject: id.Subject, Email: id.Email, Name: id.Name, Issuer: id.Issuer})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rp
}

func writeResult(w http.ResponseWriter, r result) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(r)
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func read(t *testing.T, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	var r result
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("answer %d at %s is not ours: %.300s", resp.StatusCode, resp.Request.URL, raw)
	}
	return r
}

func TestSignIn(t *testing.T) {
	rp := newRelyingParty(t, nil)
	resp, err := rp.idp.Login(browser(), rp.url+"/login", "alice.sso", "alice-secret-pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := read(t, resp)
	if r.Code != "" || r.Username != "alice.sso" || r.Subject != "u1" || r.Issuer != rp.idp.Issuer || r.Email != "alice@example.nl" || r.Name != "Alice Sso" {
		t.Fatalf("identity %+v", r)
	}
}

func TestAuthorizationRequest(t *testing.T) {
	rp := newRelyingParty(t, nil)
	c := browser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(rp.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), rp.idp.Issuer+"/") {
		t.Fatalf("begin: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 || q.Get("client_id") != rp.idp.ClientID ||
		q.Get("redirect_uri") != rp.url+"/callback" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization request %v", q)
	}
	var flow *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "veilig_oidc" {
			flow = ck
		}
	}
	if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge <= 0 || flow.MaxAge > 600 {
		t.Fatalf("flow cookie %+v", flow)
	}
	if strings.Contains(flow.Value, q.Get("code_challenge")) {
		t.Fatal("the cookie should carry the verifier, not the challenge")
	}
}

// TestRefusals: every way the way back can be wrong is refused, and nothing
// about it is trusted.
func TestRefusals(t *testing.T) {
	// stopAtCallback lets the test take the provider's redirect to the
	// callback and change it before sending it.
	stopAtCallback := func(rp *relyingParty) func(*url.URL) bool {
		return func(u *url.URL) bool { return strings.HasPrefix(u.String(), rp.url+"/callback") }
	}
	callbackURL := func(t *testing.T, rp *relyingParty, c *http.Client) *url.URL {
		t.Helper()
		resp, err := rp.idp.Login(c, rp.url+"/login", "alice.sso", "alice-secret-pw", stopAtCallback(rp))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || u.Query().Get("code") == "" {
			t.Fatalf("no code in the redirect to the callback: %q", resp.Header.Get("Location"))
		}
		return u
	}
	get := func(t *testing.T, c *http.Client, u string) result {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		return read(t, resp)
	}
	refused := func(t *testing.T, r result, code, msg string) {
		t.Helper()
		if r.Code != code || !strings.Contains(r.Message, msg) || r.Username != "" {
			t.Fatalf("got %+v, want %s containing %q", r, code, msg)
		}
	}

	t.Run("wrong state", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		c := browser()
		u := callbackURL(t, rp, c)
		q := u.Query()
		q.Set("state", veilig.NewToken())
		u.RawQuery = q.Encode()
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "does not match")
	})
	t.Run("callback in another browser", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		u := callbackURL(t, rp, browser())
		refused(t, get(t, browser(), u.String()), veilig.EUNAUTHORIZED, "started elsewhere")
	})
	t.Run("tampered flow cookie", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		c := browser()
		u := callbackURL(t, rp, c)
		base, _ := url.Parse(rp.url)
		for _, ck := range c.Jar.Cookies(base) {
			if ck.Name == "veilig_oidc" {
				payload, sig, _ := strings.Cut(ck.Value, ".")
				ck.Value = payload + "x." + sig
				c.Jar.SetCookies(base, []*http.Cookie{ck})
			}
		}
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "started elsewhere")
	})
	t.Run("cookie of another server", func(t *testing.T) {
		// Same provider and client, another cookie key: a cookie made
		// elsewhere does not pass.
		rp := newRelyingParty(t, nil)
		other, err := oidc.New(oidc.Config{Issuer: rp.idp.Issuer, ClientID: rp.idp.ClientID, RedirectURL: rp.url + "/callback", CookieKey: key()})
		if err != nil {
			t.Fatal(err)
		}
		rp.p = other
		c := browser()
		u := callbackURL(t, rp, c)
		rp.p, _ = oidc.New(oidc.Config{Issuer: rp.idp.Issuer, ClientID: rp.idp.ClientID, ClientSecret: rp.idp.ClientSecret, RedirectURL: rp.url + "/callback", CookieKey: key()})
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "started elsewhere")
	})
	t.Run("too slow", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		c := browser()
		u := callbackURL(t, rp, c)
		rp.offset = oidc.FlowTimeout + time.Minute
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "too long")
	})
	t.Run("callback used twice", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		c := browser()
		u := callbackURL(t, rp, c)
		if r := get(t, c, u.String()); r.Username != "alice.sso" {
			t.Fatalf("first use: %+v", r)
		}
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "started elsewhere")
	})
	t.Run("code replayed with a new flow", func(t *testing.T) {
		// The attacker has a code but not the victim's PKCE verifier: a
		// fresh flow in the attacker's browser with the victim's code fails
		// at the provider.
		rp := newRelyingParty(t, nil)
		victim := callbackURL(t, rp, browser())
		attacker := browser()
		noFollow := *attacker
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noFollow.Get(rp.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := victim.Query()
		q.Set("state", loc.Query().Get("state"))
		victim.RawQuery = q.Encode()
		refused(t, get(t, attacker, victim.String()), veilig.EUNAUTHORIZED, "did not accept")
	})
	t.Run("provider error", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		refused(t, get(t, browser(), rp.url+"/callback?error=access_denied&state=x"), veilig.EUNAUTHORIZED, "answered access_denied")
		refused(t, get(t, browser(), rp.url+"/callback?error=%3Cscript%3E"), veilig.EUNAUTHORIZED, "answered an error")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		rp := newRelyingParty(t, func(c *oidc.Config) { c.ClientSecret = "wrong" })
		c := browser()
		u := callbackURL(t, rp, c)
		refused(t, get(t, c, u.String()), veilig.EUNAUTHORIZED, "did not accept")
	})
	t.Run("email not verified", func(t *testing.T) {
		rp := newRelyingParty(t, func(c *oidc.Config) { c.UsernameClaim = "email" })
		resp, err := rp.idp.Login(browser(), rp.url+"/login", "bob.sso", "bob-secret-pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, read(t, resp), veilig.EUNAUTHORIZED, "not verified")
		resp, err = rp.idp.Login(browser(), rp.url+"/login", "alice.sso", "alice-secret-pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := read(t, resp); r.Username != "alice@example.nl" {
			t.Fatalf("verified email: %+v", r)
		}
	})
	t.Run("missing claim", func(t *testing.T) {
		rp := newRelyingParty(t, func(c *oidc.Config) { c.UsernameClaim = "employee_number" })
		resp, err := rp.idp.Login(browser(), rp.url+"/login", "alice.sso", "alice-secret-pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, read(t, resp), veilig.EUNAUTHORIZED, "employee_number claim")
	})
	t.Run("provider down", func(t *testing.T) {
		rp := newRelyingParty(t, nil)
		rp.idp.Stop()
		refused(t, get(t, browser(), rp.url+"/login"), veilig.EUNAVAILABLE, "cannot be reached")
	})
}

func TestNewChecksConfig(t *testing.T) {
	_, err := oidc.New(oidc.Config{Issuer: "ftp://x", RedirectURL: "/cb", UsernameClaim: "a b", CookieKey: []byte("short")})
	if err == nil {
		t.Fatal("a bad configuration was accepted")
	}
	for _, want := range []string{"issuer", "client_id", "redirect_url", "username_claim", "cookie key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
