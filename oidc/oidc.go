// Package oidc signs agents in with OpenID Connect single sign-on: the
// authorization code flow with PKCE (S256), state and nonce, and a verified
// ID token (github.com/coreos/go-oidc, golang.org/x/oauth2). It proves who
// the person is at the identity provider and nothing more: which console
// account that is, and what it may do, is decided by the caller against
// accounts an admin provisioned (see docs/agent-console.md).
//
// The flow keeps no server-side state, so it works across replicas: state,
// nonce and PKCE verifier travel in a short-lived cookie that is
// authenticated with a key every replica shares.
package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/veiligcontact/veilig"
)

// FlowTimeout is how long a person has at the identity provider between
// leaving the console and coming back.
const FlowTimeout = 10 * time.Minute

// Config configures single sign-on with one OpenID provider.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	// RedirectURL is this server's callback, registered at the provider:
	// <public URL>/api/v1/agent/oidc/callback.
	RedirectURL string
	// Scopes asked besides "openid"; default profile and email.
	Scopes []string
	// UsernameClaim names the claim that holds the console username
	// (default preferred_username). With "email" the provider must also
	// say email_verified: true.
	UsernameClaim string
	// Label is the text on the sign-in button ("Sign in with <Label>").
	Label string

	// CookieKey authenticates the flow cookie; every replica must share it.
	CookieKey     []byte
	SecureCookies bool
	// HTTPClient talks to the provider (discovery, token, keys, userinfo);
	// nil for a client with a 10 second timeout.
	HTTPClient *http.Client
	Clock      veilig.Clock
	Logger     *slog.Logger
}

// Identity is who the provider says signed in. Username is the value of
// the configured claim.
type Identity struct {
	Issuer   string
	Subject  string
	Username string
	Email    string
	Name     string
}

// Provider runs the sign-in flow with one OpenID provider. The provider's
// discovery document is fetched on first use (and again after a failure),
// so a provider that is down does not stop the server from starting.
type Provider struct {
	cfg    Config
	client *http.Client
	now    veilig.Clock
	log    *slog.Logger

	mu       sync.Mutex
	provider *gooidc.Provider
}

var claimPattern = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,64}$`)

// New checks cfg and returns a Provider. It does not contact the provider.
func New(cfg Config) (*Provider, error) {
	var problems []string
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, "issuer must be an http(s) URL")
	}
	if cfg.ClientID == "" {
		problems = append(problems, "client_id is required")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, "redirect_url must be an http(s) URL")
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if !claimPattern.MatchString(cfg.UsernameClaim) {
		problems = append(problems, "username_claim is not a claim name")
	}
	if len(cfg.CookieKey) < 32 {
		problems = append(problems, "the cookie key must have at least 32 bytes")
	}
	if len(problems) > 0 {
		return nil, errors.New("oidc: " + strings.Join(problems, "; "))
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email"}
	}
	if cfg.Label == "" {
		cfg.Label = "single sign-on"
	}
	p := &Provider{cfg: cfg, client: cfg.HTTPClient, now: cfg.Clock, log: cfg.Logger}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Label is the provider's name for the sign-in button.
func (p *Provider) Label() string { return p.cfg.Label }

func (p *Provider) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	ctx, cancel := context.WithTimeout(gooidc.ClientContext(ctx, p.client), 15*time.Second)
	defer cancel()
	prov, err := gooidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		p.log.Warn("oidc discovery failed", "issuer", p.cfg.Issuer, "err", err)
		return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the identity provider cannot be reached; try again later")
	}
	// Later requests (keys, token, userinfo) use our client too.
	p.provider = prov
	return prov, nil
}

func (p *Provider) oauth2Config(prov *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		RedirectURL:  p.cfg.RedirectURL,
		Endpoint:     prov.Endpoint(),
		Scopes:       append([]string{gooidc.ScopeOpenID}, p.cfg.Scopes...),
	}
}

// flow is what the cookie carries from Begin to Complete.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Created  int64  `json:"t"` // unix seconds
}

func (p *Provider) cookieName() string {
	if p.cfg.SecureCookies {
		return "__Host-veilig_oidc"
	}
	return "veilig_oidc"
}

func (p *Provider) mac(payload string) string {
	m := hmac.New(sha256.New, p.cfg.CookieKey)
	m.Write([]byte("veilig-oidc-flow\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *Provider) setFlowCookie(w http.ResponseWriter, value string, maxAge int) {
	// SameSite=Lax, not Strict: the provider sends the browser back with a
	// cross-site top-level GET, and the cookie must come along.
	http.SetCookie(w, &http.Cookie{
		Name: p.cookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: p.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// Begin starts a sign-in: it sets the flow cookie and redirects the browser
// to the provider.
//
// Error codes: EUNAVAILABLE (the provider cannot be reached).
func (p *Provider) Begin(w http.ResponseWriter, r *http.Request) error {
	prov, err := p.discover(r.Context())
	if err != nil {
		return err
	}
	f := flow{State: veilig.NewToken(), Nonce: veilig.NewToken(), Verifier: oauth2.GenerateVerifier(), Created: p.now().Unix()}
	raw, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	p.setFlowCookie(w, payload+"."+p.mac(payload), int(FlowTimeout/time.Second))
	u := p.oauth2Config(prov).AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// readFlow returns the flow of the cookie, if it is ours and fresh.
func (p *Provider) readFlow(r *http.Request) (*flow, bool) {
	c, err := r.Cookie(p.cookieName())
	if err != nil || len(c.Value) > 1024 {
		return nil, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(p.mac(payload))) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, false
	}
	var f flow
	if json.Unmarshal(raw, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return nil, false
	}
	age := p.now().Sub(time.Unix(f.Created, 0))
	if age < -time.Minute || age > FlowTimeout {
		return nil, false
	}
	return &f, true
}

var providerErrorPattern = regexp.MustCompile(`^[a-z_]{1,40}$`)

// Complete finishes a sign-in on the redirect back from the provider: it
// checks the state against the cookie, redeems the code with the PKCE
// verifier, verifies the ID token (signature, issuer, audience, expiry)
// and its nonce, and reads the username claim, from the ID token or else
// from the userinfo endpoint. The flow cookie is cleared whatever happens,
// so a callback URL cannot be used twice.
//
// Error codes: EUNAUTHORIZED (refused at the provider, or anything that
// does not check out), EUNAVAILABLE (the provider cannot be reached).
func (p *Provider) Complete(w http.ResponseWriter, r *http.Request) (*Identity, error) {
	p.setFlowCookie(w, "", -1)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		if !providerErrorPattern.MatchString(e) {
			e = "an error"
		}
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider answered %s", e)
	}
	f, ok := p.readFlow(r)
	if !ok {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the sign-in took too long or was started elsewhere; start again")
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the sign-in does not match the one this browser started; start again")
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider sent no code")
	}
	prov, err := p.discover(r.Context())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(gooidc.ClientContext(r.Context(), p.client), 20*time.Second)
	defer cancel()
	tok, err := p.oauth2Config(prov).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			p.log.Warn("oidc code exchange refused", "status", re.Response.StatusCode, "error", re.ErrorCode)
			return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider did not accept the sign-in")
		}
		p.log.Warn("oidc code exchange failed", "err", err)
		return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the identity provider cannot be reached; try again later")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider sent no ID token")
	}
	idt, err := prov.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		p.log.Warn("oidc ID token refused", "err", err)
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the ID token does not verify")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the ID token was not issued for this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the ID token's claims cannot be read")
	}
	if _, ok := claims[p.cfg.UsernameClaim]; !ok {
		// Many providers put profile claims only in the userinfo answer.
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			p.log.Warn("oidc userinfo failed", "err", err)
			return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the identity provider's userinfo cannot be read; try again later")
		}
		// OpenID Connect Core 5.3.2: the sub must be the ID token's.
		if ui.Subject != idt.Subject {
			return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the userinfo answer is about someone else")
		}
		var more map[string]any
		if err := ui.Claims(&more); err != nil {
			return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the userinfo claims cannot be read")
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	username, _ := claims[p.cfg.UsernameClaim].(string)
	if username == "" {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider did not say the %s claim", p.cfg.UsernameClaim)
	}
	if p.cfg.UsernameClaim == "email" && !isTrue(claims["email_verified"]) {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "the identity provider has not verified this email address")
	}
	id := &Identity{Issuer: idt.Issuer, Subject: idt.Subject, Username: username}
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	return id, nil
}

// isTrue reads a boolean claim; some providers send "true" as a string.
func isTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

// String describes the configuration for logs, without the secret.
func (p *Provider) String() string {
	return fmt.Sprintf("oidc issuer %s client %s", p.cfg.Issuer, p.cfg.ClientID)
}
