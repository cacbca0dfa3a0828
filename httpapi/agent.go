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

// agentOnly requires a signed-in agent and, for anything but GET, the CSRF
// token of the agent's session and a same-origin request.
func (s *server) agentOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.cookieName())
		if err != nil {
			writeError(w, r, s.log, veilig.Errorf(veilig.EUNAUTHORIZED, "sign in first"))
			return
		}
		agent, sess, err := s.Auth.Authenticate(r.Context(), c.Value)
		if err != nil {
			s.clearCookie(w)
			writeError(w, r, s.log, err)
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
}

func (s *server) agentLogin(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "sign in from the console's own origin"))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var req loginRequest
	if err := decodeJSON(r, body, &req); err != nil {
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
	writeJSON(w, http.StatusOK, meResponse{Agent: in.Agent, CSRFToken: in.CSRFToken, ExpiresAt: in.ExpiresAt})
}

func (s *server) agentLogout(w http.ResponseWriter, r *http.Request) {
	a := agentFrom(r)
	if err := s.Auth.Logout(r.Context(), a.token); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) agentMe(w http.ResponseWriter, r *http.Request) {
	a := agentFrom(r)
	writeJSON(w, http.StatusOK, meResponse{Agent: a.agent, CSRFToken: a.session.CSRFToken, ExpiresAt: a.session.ExpiresAt})
}

func (s *server) agentContacts(w http.ResponseWriter, r *http.Request) {
	list, err := s.Service.WaitingContacts(r.Context(), agentFrom(r).agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": list})
}

func (s *server) agentOpen(w http.ResponseWriter, r *http.Request) {
	c, err := s.Service.OpenContact(r.Context(), agentFrom(r).agent, r.PathValue("id"), clientAddr(r, s.TrustedProxies))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
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
	s.stream(w, r, veilig.EventFilter{Purposes: agentFrom(r).agent.Purposes}, after, false)
}
