package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/internal/testoidc"
)

var ssoUsers = []testoidc.User{
	{ID: "u-olga", Username: "olga.sso", Password: "olga-idp-password", FirstName: "Olga", LastName: "Sso", Email: "olga@example.nl", EmailVerified: true},
	{ID: "u-dora", Username: "dora.sso", Password: "dora-idp-password", FirstName: "Dora", LastName: "Sso", Email: "dora@example.nl", EmailVerified: true},
	{ID: "u-nina", Username: "nina.sso", Password: "nina-idp-password", FirstName: "Nina", LastName: "Sso", Email: "nina@example.nl", EmailVerified: true},
}

// startOIDCApp runs the console with single sign-on against a real OpenID
// provider (zitadel/oidc's OP) on loopback. Accounts: olga.sso (single
// sign-on only), dora.sso (disabled); nina.sso is known to the provider
// only.
func startOIDCApp(t *testing.T) (*testApp, *testoidc.Server, string) {
	t.Helper()
	idp := testoidc.New(t)
	ta := startConsoleApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Agents.OIDC = config.OIDC{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, Label: "Test IdP"}
	})
	idp.Serve(ta.publicURL+"/api/v1/agent/oidc/callback", ssoUsers...)
	olga := &veilig.Agent{ID: veilig.NewID(), Username: "olga.sso", DisplayName: "Olga via SSO", Role: veilig.RoleSupervisor, Purposes: []string{"demo"}, CreatedAt: time.Now()}
	dora := &veilig.Agent{ID: veilig.NewID(), Username: "dora.sso", Role: veilig.RoleAgent, Purposes: []string{"demo"}, Disabled: true, CreatedAt: time.Now()}
	for _, a := range []*veilig.Agent{olga, dora} {
		if err := ta.store.CreateAgent(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	return ta, idp, olga.ID
}

// TestConsoleOIDC signs in through the provider's own login page, in
// headless Chromium and with a plain HTTP client, and checks every way it
// is refused.
func TestConsoleOIDC(t *testing.T) {
	ta, idp, olgaID := startOIDCApp(t)

	var methods struct {
		Password bool
		OIDC     struct{ Label, URL string }
	}
	if st := ta.do("GET", "/api/v1/agent/sign-in-methods", nil, nil, &methods); st != 200 || !methods.Password || methods.OIDC.Label != "Test IdP" || methods.OIDC.URL != "/api/v1/agent/oidc/login" {
		t.Fatalf("sign-in methods: %d %+v", st, methods)
	}

	// login signs in at the provider and stops at the redirect back to the console.
	login := func(t *testing.T, user, password string) (*http.Client, *url.URL) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
		resp, err := idp.Login(c, ta.publicURL+"/api/v1/agent/oidc/login", user, password, func(u *url.URL) bool { return u.Path == "/agent/" })
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Request.URL.String(), ta.publicURL+"/api/v1/agent/oidc/callback?") {
			t.Fatalf("the way back: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return c, loc
	}
	me := func(c *http.Client) int {
		resp, err := c.Get(ta.publicURL + "/api/v1/agent/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("provisioned account", func(t *testing.T) {
		c, loc := login(t, "olga.sso", "olga-idp-password")
		if loc.String() != "/agent/" {
			t.Fatalf("redirected to %s", loc)
		}
		if st := me(c); st != 200 {
			t.Fatalf("me after single sign-on: %d", st)
		}
		es := ta.auditOf(veilig.AuditFilter{AgentID: olgaID, Action: veilig.AuditAgentSignInOIDC})
		if len(es) != 1 || es[0].RemoteAddr != "127.0.0.1" {
			t.Fatalf("audit %s", auditJSON(es))
		}
		// The role is the account's, not anything the provider said.
		req, _ := http.NewRequest("GET", ta.publicURL+"/api/v1/admin/agents", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("a supervisor signed in with single sign-on reads accounts: %d", resp.StatusCode)
		}
	})
	for _, tc := range []struct{ name, user, password, code string }{
		{"account not provisioned", "nina.sso", "nina-idp-password", "no_account"},
		{"account disabled", "dora.sso", "dora-idp-password", "no_account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, loc := login(t, tc.user, tc.password)
			if loc.Path != "/agent/" || loc.Query().Get("signin_error") != tc.code {
				t.Fatalf("redirected to %s, want signin_error=%s", loc, tc.code)
			}
			if st := me(c); st != 401 {
				t.Fatalf("signed in anyway: %d", st)
			}
		})
	}
	t.Run("tampered way back", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := idp.Login(c, ta.publicURL+"/api/v1/agent/oidc/login", "olga.sso", "olga-idp-password", func(u *url.URL) bool { return u.Path == "/api/v1/agent/oidc/callback" })
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		q := back.Query()
		q.Set("state", "forged")
		back.RawQuery = q.Encode()
		resp, err = c.Get(back.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/agent/?signin_error=failed" {
			t.Fatalf("forged state: %d to %q", resp.StatusCode, loc)
		}
		if st := me(c); st != 401 {
			t.Fatalf("signed in with a forged state: %d", st)
		}
	})

	t.Run("browser", func(t *testing.T) {
		hs, finish := startNode(t, "console", "test/oidc.test.mjs", map[string]string{"BASE_URL": ta.publicURL, "IDP_URL": idp.Issuer}, 2*time.Minute)
		hs.wait("done", time.Minute)
		finish()
		if n := len(ta.auditOf(veilig.AuditFilter{AgentID: olgaID, Action: veilig.AuditAgentSignInOIDC})); n != 2 {
			t.Fatalf("%d single sign-ons of olga audited, want 2", n)
		}
	})

	t.Run("provider down", func(t *testing.T) {
		idp.Stop()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(ta.publicURL + "/api/v1/agent/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Discovery was cached, so the redirect still goes out; the way
		// back fails at the token endpoint, which is down.
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login with the provider down: %d", resp.StatusCode)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		cb := ta.publicURL + "/api/v1/agent/oidc/callback?code=x&state=" + url.QueryEscape(loc.Query().Get("state"))
		resp, err = c.Get(cb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if l := resp.Header.Get("Location"); l != "/agent/?signin_error=unavailable" {
			t.Fatalf("callback with the provider down: %d to %q", resp.StatusCode, l)
		}
	})
}

// TestConsoleWithoutOIDC: without configuration there is no single sign-on.
func TestConsoleWithoutOIDC(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	var methods map[string]any
	if st := ta.do("GET", "/api/v1/agent/sign-in-methods", nil, nil, &methods); st != 200 || methods["oidc"] != nil || methods["password"] != true {
		t.Fatalf("sign-in methods: %d %v", st, methods)
	}
	for _, p := range []string{"/api/v1/agent/oidc/login", "/api/v1/agent/oidc/callback?code=x&state=y"} {
		var e apiError
		if st := ta.do("GET", p, nil, nil, &e); st != 404 {
			t.Errorf("%s: %d", p, st)
		}
	}
}

// TestConsoleOrganisationOIDC: an organisation's own OpenID provider signs
// in that organisation's accounts and no other's (usernames are unique on
// the platform: its provider must not vouch for another's people), while
// the platform's provider signs in any organisation's. Both are offered on
// the sign-in page.
func TestConsoleOrganisationOIDC(t *testing.T) {
	platformIdP, arnhemIdP := testoidc.New(t), testoidc.New(t)
	ta := startConsoleApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Agents.OIDC = config.OIDC{Issuer: platformIdP.Issuer, ClientID: platformIdP.ClientID, ClientSecret: platformIdP.ClientSecret, Label: "Platform IdP"}
		c.Organisations = []config.Organisation{{ID: "arnhem", Names: map[string]string{"nl": "Gemeente Arnhem", "en": "Arnhem"},
			OIDC: config.OIDC{Issuer: arnhemIdP.Issuer, ClientID: arnhemIdP.ClientID, ClientSecret: arnhemIdP.ClientSecret}}}
		for i := range c.Purposes {
			c.Purposes[i].Organisation = "arnhem"
		}
	})
	users := []testoidc.User{
		{ID: "u-arno", Username: "arno.sso", Password: "arno-idp-password", FirstName: "Arno", LastName: "Sso", Email: "arno@example.nl", EmailVerified: true},
		{ID: "u-anna", Username: "anna.sso", Password: "anna-idp-password", FirstName: "Anna", LastName: "Sso", Email: "anna@example.nl", EmailVerified: true},
	}
	platformIdP.Serve(ta.publicURL+"/api/v1/agent/oidc/callback", users...)
	arnhemIdP.Serve(ta.publicURL+"/api/v1/agent/oidc/arnhem/callback", users...)
	ta.addAccountIn("arnhem", "arno.sso", veilig.RoleAgent, "*")
	ta.addAccountIn(demoOtherOrganisation, "anna.sso", veilig.RoleAgent, demoOtherPurposeID)

	var methods struct {
		OIDC      struct{ Label, URL string }
		Providers []struct{ Label, URL, Organisation string }
	}
	if st := ta.do("GET", "/api/v1/agent/sign-in-methods", nil, nil, &methods); st != 200 || methods.OIDC.Label != "Platform IdP" || len(methods.Providers) != 2 ||
		methods.Providers[1].URL != "/api/v1/agent/oidc/arnhem/login" || methods.Providers[1].Label != "Gemeente Arnhem" || methods.Providers[1].Organisation != "arnhem" {
		t.Fatalf("sign-in methods: %d %+v", st, methods)
	}
	signIn := func(idp *testoidc.Server, start, callback, user, password string) (int, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
		resp, err := idp.Login(c, ta.publicURL+start, user, password, func(u *url.URL) bool { return u.Path == "/agent/" })
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Request.URL.String(), ta.publicURL+callback+"?") {
			t.Fatalf("the way back went to %s", resp.Request.URL)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		me, err := c.Get(ta.publicURL + "/api/v1/agent/me")
		if err != nil {
			t.Fatal(err)
		}
		me.Body.Close()
		return me.StatusCode, loc.Query().Get("signin_error")
	}
	if st, e := signIn(arnhemIdP, "/api/v1/agent/oidc/arnhem/login", "/api/v1/agent/oidc/arnhem/callback", "arno.sso", "arno-idp-password"); st != 200 || e != "" {
		t.Errorf("Arnhem's account through Arnhem's provider: %d %q", st, e)
	}
	if st, e := signIn(arnhemIdP, "/api/v1/agent/oidc/arnhem/login", "/api/v1/agent/oidc/arnhem/callback", "anna.sso", "anna-idp-password"); st != 401 || e != "no_account" {
		t.Errorf("Anderdorp's account through Arnhem's provider: %d %q", st, e)
	}
	if st, e := signIn(platformIdP, "/api/v1/agent/oidc/login", "/api/v1/agent/oidc/callback", "anna.sso", "anna-idp-password"); st != 200 || e != "" {
		t.Errorf("Anderdorp's account through the platform's provider: %d %q", st, e)
	}
	var e apiError
	if st := ta.do("GET", "/api/v1/agent/oidc/tiel/login", nil, nil, &e); st != 404 {
		t.Errorf("an organisation without a provider: %d %+v", st, e)
	}
}
