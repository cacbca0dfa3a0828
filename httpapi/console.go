package httpapi

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/oidc"
)

// ConsolePath is where the agent console lives; sign-in redirects end there.
const ConsolePath = "/agent/"

// attributeView is an attribute as the console shows it, with the link to
// another system when a URL template is configured for it.
type attributeView struct {
	veilig.Attribute
	Link string `json:"link,omitempty"`
}

// contactView is a contact as the agent API answers it: with the
// attributes' links once opened, and for phone contacts the first
// release's provider and callerNumber (the same as connection.platform
// and connection.address, "anonymous" when withheld), which softphone
// integrations written for it read.
type contactView struct {
	*veilig.Contact
	Attributes   []attributeView `json:"attributes,omitempty"`
	Provider     string          `json:"provider,omitempty"`
	CallerNumber string          `json:"callerNumber,omitempty"`
}

func newContactView(c *veilig.Contact) contactView {
	v := contactView{Contact: c}
	if c.Channel == veilig.ChannelPhone {
		v.Provider, v.CallerNumber = c.Connection.Platform, c.Connection.Address
		if v.CallerNumber == "" {
			v.CallerNumber = veilig.AnonymousCaller
		}
	}
	return v
}

func contactViews(list []*veilig.Contact) []contactView {
	out := make([]contactView, len(list))
	for i, c := range list {
		out[i] = newContactView(c)
	}
	return out
}

func (s *server) openedContact(c *veilig.Contact) contactView {
	v := newContactView(c)
	v.Attributes = make([]attributeView, len(c.Attributes))
	for i, a := range c.Attributes {
		v.Attributes[i] = attributeView{Attribute: a, Link: s.AttributeLinks.Link(a.ID, a.Value)}
	}
	return v
}

// StreamCheck is how often an agent's event stream checks that the session
// behind it is still valid (tests shorten it).
var StreamCheck = 30 * time.Second

// endWithSession cancels an agent's stream when the session behind it ends
// (signed out, timed out, account disabled) or the account's role or
// purposes change, so a stream never outlives what allowed it; the
// console's EventSource then reconnects with what holds now, or stops.
func (s *server) endWithSession(ctx context.Context, cancel context.CancelFunc, a *agentCtx) {
	defer cancel()
	left := a.session.ExpiresAt.Sub(s.Clock())
	if left <= 0 {
		return
	}
	expiry := time.NewTimer(left)
	defer expiry.Stop()
	check := time.NewTicker(StreamCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			return
		case <-check.C:
		}
		agent, _, err := s.Auth.Peek(ctx, a.token)
		if err != nil && veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
			continue // the database is briefly away: not the session's end
		}
		if err != nil || agent.Role != a.agent.Role || !slices.Equal(agent.Purposes, a.agent.Purposes) {
			return
		}
	}
}

// agentPurposes lists the configured purposes with their labels, so the
// console names queues in the agent's language.
func (s *server) agentPurposes(w http.ResponseWriter, r *http.Request) {
	out := []purposeView{}
	for _, p := range s.Service.OrganisationPurposes(agentFrom(r).agent.OrgID) {
		out = append(out, purposeView{ID: p.ID, Labels: p.Labels})
	}
	writeJSON(w, http.StatusOK, map[string]any{"purposes": out})
}

// signInMethods tells the sign-in page what to offer.
func (s *server) signInMethods(w http.ResponseWriter, r *http.Request) {
	type oidcMethod struct {
		Label        string `json:"label"`
		URL          string `json:"url"`
		Organisation string `json:"organisation,omitempty"` // an organisation's own: its accounts only
	}
	// oidc is the platform's provider, as the first release's console
	// reads it; providers are every one, the platform's first.
	out := struct {
		Password  bool         `json:"password"`
		OIDC      *oidcMethod  `json:"oidc,omitempty"`
		Providers []oidcMethod `json:"providers"`
	}{Password: true, Providers: []oidcMethod{}}
	if s.OIDC != nil {
		out.OIDC = &oidcMethod{Label: s.OIDC.Label(), URL: "/api/v1/agent/oidc/login"}
		out.Providers = append(out.Providers, *out.OIDC)
	}
	for _, org := range slices.Sorted(maps.Keys(s.OrgOIDC)) {
		out.Providers = append(out.Providers, oidcMethod{Label: s.OrgOIDC[org].Label(), URL: "/api/v1/agent/oidc/" + org + "/login", Organisation: org})
	}
	writeJSON(w, http.StatusOK, out)
}

// ssoProvider is the single sign-on provider a request is for: the
// platform's (org ""), or organisation org's under
// /api/v1/agent/oidc/{organisation}/; nil when there is none.
func (s *server) ssoProvider(r *http.Request) (p *oidc.Provider, org string) {
	org = r.PathValue("organisation")
	if org == "" {
		return s.OIDC, ""
	}
	return s.OrgOIDC[org], org
}

// Sign-in failures are told to the console by a fixed code in the query,
// never by a message from elsewhere.
const (
	signInFailed      = "failed"      // refused at the provider or did not verify
	signInUnavailable = "unavailable" // the provider cannot be reached
	signInNoAccount   = "no_account"  // proven, but no enabled console account has this name
)

func (s *server) signInError(w http.ResponseWriter, r *http.Request, code string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ConsolePath+"?signin_error="+code, http.StatusSeeOther)
}

// oidcLogin starts single sign-on: a redirect to the provider.
func (s *server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	p, _ := s.ssoProvider(r)
	if p == nil {
		writeError(w, r, s.log, veilig.Errorf(veilig.ENOTFOUND, "single sign-on is not configured"))
		return
	}
	if err := p.Begin(w, r); err != nil {
		s.signInError(w, r, signInUnavailable)
	}
}

// oidcCallback finishes single sign-on. The provider proves who the person
// is; the account, its role and its purposes are the ones an admin made
// with that username (the configured claim), so signing in with the
// provider grants nothing by itself. An organisation's own provider signs
// in that organisation's accounts only: usernames are unique on the
// platform, and its provider must not vouch for another's people.
func (s *server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	p, org := s.ssoProvider(r)
	if p == nil {
		writeError(w, r, s.log, veilig.Errorf(veilig.ENOTFOUND, "single sign-on is not configured"))
		return
	}
	id, err := p.Complete(w, r)
	if err != nil {
		s.log.Warn("single sign-on refused", "reason", veilig.ErrorMessage(err))
		if veilig.ErrorCode(err) == veilig.EUNAVAILABLE {
			s.signInError(w, r, signInUnavailable)
		} else {
			s.signInError(w, r, signInFailed)
		}
		return
	}
	agent, err := s.Store.AgentByUsername(r.Context(), id.Username)
	if err == nil && org != "" && veilig.OrganisationOr(agent.OrgID) != org {
		err = veilig.Errorf(veilig.ENOTFOUND, "no such account") // another organisation's
	}
	if veilig.ErrorCode(err) == veilig.ENOTFOUND || (err == nil && agent.Disabled) {
		// The subject is the provider's opaque id, not the username.
		s.log.Warn("single sign-on for no enabled account", "issuer", id.Issuer, "subject", id.Subject)
		s.signInError(w, r, signInNoAccount)
		return
	} else if err != nil {
		s.log.Error("single sign-on: look up account", "err", err)
		s.signInError(w, r, signInUnavailable)
		return
	}
	in, err := s.Auth.SignIn(r.Context(), agent, clientAddr(r, s.TrustedProxies), veilig.AuditAgentSignInOIDC)
	if err != nil {
		s.log.Error("single sign-on: start session", "agent", agent.ID, "err", err)
		s.signInError(w, r, signInUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: in.Token, Path: "/", Expires: in.ExpiresAt,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("agent signed in with single sign-on", "agent", agent.ID)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ConsolePath, http.StatusSeeOther)
}
