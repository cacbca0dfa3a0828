package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
)

// CSRFHeader carries the CSRF token on every state-changing agent request.
const CSRFHeader = "X-CSRF-Token"

// cookieName is __Host- prefixed when cookies are Secure, so the browser
// pins it to this origin and path and no subdomain can set it.
func (s *server) cookieName() string {
	if s.SecureCookies {
		return "__Host-veilig_agent"
	}
	return "veilig_agent"
}

type agentKey struct{}

type agentCtx struct {
	agent   *veilig.Agent
	session *veilig.AgentSession
	token   string
}

func agentFrom(r *http.Request) *agentCtx { return r.Context().Value(agentKey{}).(*agentCtx) }

// sameOrigin refuses browser requests from another origin: with SameSite
// cookies and the CSRF token this is the third fence.
func (s *server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin" || r.Header.Get("Sec-Fetch-Site") == "none"
	}
	u, err := url.Parse(s.PublicURL)
	return err == nil && origin == u.Scheme+"://"+u.Host
}

// BackgroundHeader marks a GET the console makes by itself (refreshing a
// list after an event, polling the supervisor view): it does not count as
// the agent being active, so an unattended console still times out.
const BackgroundHeader = "X-Veilig-Background"

// agentOnly requires a signed-in agent and, for anything but GET, the CSRF
// token of the agent's session and a same-origin request. Every request but
// a background one refreshes the session's idle timer.
func (s *server) agentOnly(next http.HandlerFunc) http.HandlerFunc {
	return s.agentAuth(next, false, false)
}

// signedIn is agentOnly that lets a platform operator in too: signing out
// and saying who is signed in.
func (s *server) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return s.agentAuth(next, false, true)
}

// operatorOnly is for platform operators alone.
func (s *server) operatorOnly(next http.HandlerFunc) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if agentFrom(r).agent.Role != veilig.RoleOperator {
			writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "this needs the operator role"))
			return
		}
		next(w, r)
	})
}

// agentQuiet is agentOnly for requests that never refresh the idle timer
// (the event stream: an open console is not an active agent).
func (s *server) agentQuiet(next http.HandlerFunc) http.HandlerFunc {
	return s.agentAuth(next, true, false)
}

// role is agentOnly for agents with at least role min.
func (s *server) role(min veilig.Role, next http.HandlerFunc) http.HandlerFunc {
	return s.agentOnly(func(w http.ResponseWriter, r *http.Request) {
		if !agentFrom(r).agent.Role.AtLeast(min) {
			writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "this needs the %s role", min))
			return
		}
		next(w, r)
	})
}

// agentAuth authenticates the account; a platform operator only where
// operator is true (it sees no contact, account or audit entry).
func (s *server) agentAuth(next http.HandlerFunc, quiet, operator bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.cookieName())
		if err != nil {
			writeError(w, r, s.log, veilig.Errorf(veilig.EUNAUTHORIZED, "sign in first"))
			return
		}
		authenticate := s.Auth.Authenticate
		if quiet || (r.Method == http.MethodGet && r.Header.Get(BackgroundHeader) == "1") {
			authenticate = s.Auth.Peek
		}
		agent, sess, err := authenticate(r.Context(), c.Value)
		if err != nil {
			// Only a session that is gone ends the cookie; a database
			// that is briefly away must not sign every agent out.
			if veilig.ErrorCode(err) == veilig.EUNAUTHORIZED {
				s.clearCookie(w)
			}
			writeError(w, r, s.log, err)
			return
		}
		if agent.Role == veilig.RoleOperator && !operator {
			writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "a platform operator sees no contacts, accounts or audit entries"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.sameOrigin(r) || !agentauth.CheckCSRF(sess, r.Header.Get(CSRFHeader)) {
				writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "missing or wrong CSRF token"))
				return
			}
		}
		ctx := context.WithValue(r.Context(), agentKey{}, &agentCtx{agent: agent, session: sess, token: c.Value})
		next(w, r.WithContext(ctx))
	}
}

func (s *server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode})
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type meResponse struct {
	Agent     *veilig.Agent `json:"agent"`
	CSRFToken string        `json:"csrfToken"`
	ExpiresAt time.Time     `json:"expiresAt"`
	// IdleExpiresAt is when the session ends unless the agent does
	// something; Now is the server's time, so the console can count down
	// whatever its own clock says.
	IdleExpiresAt time.Time `json:"idleExpiresAt"`
	IdleTimeout   int       `json:"idleTimeoutSeconds"`
	Now           time.Time `json:"now"`
	// OrganisationNames name the account's organisation on a shared
	// platform (the console shows whose it is); absent where the
	// deployment names no organisations, and for an operator.
	OrganisationNames map[string]string `json:"organisationNames,omitempty"`
}

func (s *server) me(a *veilig.Agent, csrf string, expires, lastSeen time.Time) meResponse {
	idle := s.Auth.IdleTimeout()
	out := meResponse{
		Agent: a, CSRFToken: csrf, ExpiresAt: expires,
		IdleExpiresAt: lastSeen.Add(idle), IdleTimeout: int(idle / time.Second), Now: s.Clock(),
	}
	if o, ok := s.Service.OrganisationByID(a.OrgID); ok && len(o.Names) > 0 {
		out.OrganisationNames = o.Names
	}
	return out
}

func (s *server) agentLogin(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "sign in from the console's own origin"))
		return
	}
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	in, err := s.Auth.Login(r.Context(), req.Username, req.Password, clientAddr(r, s.TrustedProxies))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: in.Token, Path: "/", Expires: in.ExpiresAt,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("agent signed in", "agent", in.Agent.ID)
	writeJSON(w, http.StatusOK, s.me(in.Agent, in.CSRFToken, in.ExpiresAt, s.Clock()))
}

func (s *server) agentLogout(w http.ResponseWriter, r *http.Request) {
	a := agentFrom(r)
	if err := s.Auth.Logout(r.Context(), a.token); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.Store.AddAudit(r.Context(), &veilig.AuditEntry{At: s.Clock(), AgentID: a.agent.ID, Action: veilig.AuditAgentSignOut, RemoteAddr: clientAddr(r, s.TrustedProxies), OrgID: a.agent.OrgID}); err != nil {
		s.log.Error("audit sign-out", "agent", a.agent.ID, "err", err)
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) agentMe(w http.ResponseWriter, r *http.Request) {
	a := agentFrom(r)
	writeJSON(w, http.StatusOK, s.me(a.agent, a.session.CSRFToken, a.session.ExpiresAt, a.session.LastSeenAt))
}

func (s *server) agentContacts(w http.ResponseWriter, r *http.Request) {
	list, err := s.Service.WaitingContacts(r.Context(), agentFrom(r).agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": contactViews(list)})
}

// agentContactByConnection finds the contact of the connection the
// agent's tool shows (the softphone's call: an Amazon Connect ContactId, a
// Twilio CallSid); no attributes until the agent opens it. by-call/ is
// the first release's path of the same.
func (s *server) agentContactByConnection(w http.ResponseWriter, r *http.Request) {
	c, err := s.Service.ContactByConnection(r.Context(), agentFrom(r).agent, r.PathValue("platform"), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, newContactView(c))
}

func (s *server) agentOpen(w http.ResponseWriter, r *http.Request) {
	c, err := s.Service.OpenContact(r.Context(), agentFrom(r).agent, r.PathValue("id"), clientAddr(r, s.TrustedProxies))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.openedContact(c))
}

func (s *server) agentEnd(w http.ResponseWriter, r *http.Request) {
	if err := s.Service.EndContact(r.Context(), agentFrom(r).agent, r.PathValue("id"), clientAddr(r, s.TrustedProxies)); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// agentEvents streams the events of the agent's purposes: new matched
// contacts, answers, ends. No personal data is in events.
func (s *server) agentEvents(w http.ResponseWriter, r *http.Request) {
	after, err := lastEventID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if after == 0 {
		// A new console starts from now; the contact list gives the present.
		if after, err = s.Store.LastEventSeq(r.Context()); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	a := agentFrom(r)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go s.endWithSession(ctx, cancel, a)
	// Its organisation's purposes it serves, never "*": that would be every
	// organisation's.
	s.stream(w, r.WithContext(ctx), veilig.EventFilter{Purposes: s.Service.EventPurposes(a.agent)}, after, false)
}
