package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
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

	if hcfg.OIDC, err = a.ssoProvider(a.cfg.Agents.OIDC, "", "/api/v1/agent/oidc/callback", hcfg); err != nil {
		return fmt.Errorf("agents.oidc: %w", err)
	}
	hcfg.OrgOIDC = map[string]*oidc.Provider{}
	for _, org := range a.cfg.Organisations {
		o := org.OIDC
		if o.Label == "" {
			o.Label = org.Names["nl"] // the button names whose sign-in it is
		}
		p, err := a.ssoProvider(o, org.ID, "/api/v1/agent/oidc/"+org.ID+"/callback", hcfg)
		if err != nil {
			return fmt.Errorf("organisations.%s.oidc: %w", org.ID, err)
		}
		if p != nil {
			hcfg.OrgOIDC[org.ID] = p
		}
	}
	return nil
}

// ssoProvider makes a single sign-on provider (org "": the platform's);
// nil while it has no issuer.
func (a *app) ssoProvider(o config.OIDC, org, callback string, hcfg *httpapi.Config) (*oidc.Provider, error) {
	if o.Issuer == "" {
		return nil, nil
	}
	redirect := o.RedirectURL
	if redirect == "" {
		redirect = a.publicURL + callback
	}
	// The flow cookie's key comes from the secret key every replica
	// shares, so the browser may come back to any of them; each provider
	// has its own, so a flow begun with one is not finished with another.
	m := hmac.New(sha256.New, a.secrets.secretKey)
	m.Write([]byte("veilig-key\x00oidc-flow"))
	if org != "" {
		m.Write([]byte("\x00" + org))
	}
	p, err := oidc.New(oidc.Config{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: redirect,
		Scopes: o.Scopes, UsernameClaim: o.UsernameClaim, Label: o.Label,
		CookieKey: m.Sum(nil), SecureCookies: hcfg.SecureCookies, Clock: hcfg.Clock,
		Logger: a.log.With("component", "oidc", "organisation", org),
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("single sign-on for the agent console", "issuer", o.Issuer, "organisation", org)
	return p, nil
}
