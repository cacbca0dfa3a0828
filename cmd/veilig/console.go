package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/console"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/oidc"
	"github.com/veiligcontact/veilig/web"
)

// setupConsole mounts the agent console at /agent/ and configures what it
// needs from the API: attribute links and, when configured, single sign-on.
func (a *app) setupConsole(hcfg *httpapi.Config) error {
	dist, err := fs.Sub(web.Dist(), "console")
	if err != nil {
		return fmt.Errorf("agent console: %w", err)
	}
	c, err := console.New(dist)
	if err != nil {
		return fmt.Errorf("agent console: %w", err)
	}
	if hcfg.Pages == nil {
		hcfg.Pages = map[string]http.Handler{}
	}
	for pattern, h := range c.Routes() {
		hcfg.Pages[pattern] = h
	}
	hcfg.AttributeLinks = veilig.LinkTemplates(a.cfg.Agents.URLTemplates)

	o := a.cfg.Agents.OIDC
	if o.Issuer == "" {
		return nil
	}
	redirect := o.RedirectURL
	if redirect == "" {
		redirect = a.publicURL + "/api/v1/agent/oidc/callback"
	}
	// The flow cookie's key comes from the secret key every replica
	// shares, so the browser may come back to any of them.
	m := hmac.New(sha256.New, a.secrets.secretKey)
	m.Write([]byte("veilig-key\x00oidc-flow"))
	hcfg.OIDC, err = oidc.New(oidc.Config{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: redirect,
		Scopes: o.Scopes, UsernameClaim: o.UsernameClaim, Label: o.Label,
		CookieKey: m.Sum(nil), SecureCookies: hcfg.SecureCookies, Clock: hcfg.Clock,
		Logger: a.log.With("component", "oidc"),
	})
	if err != nil {
		return fmt.Errorf("agents.oidc: %w", err)
	}
	a.log.Info("single sign-on for the agent console", "issuer", o.Issuer)
	return nil
}
