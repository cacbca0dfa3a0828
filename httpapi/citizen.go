package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// startSessionRequest is the body of POST /api/v1/sessions.
type startSessionRequest struct {
	Purpose string `json:"purpose"`
}

// startSessionResponse says how the person proves who they are (means:
// its type and the object the means' client needs) and how they reach an
// agent afterwards (channel, and next: the channel's step, under the
// channel's name). sessionPtr, frontendRequest and dial are the same Yivi
// and phone details at the top level, as yivi-client maps them by default
// and as embedders of the first release read them; they are there only for
// Yivi proofs and phone sessions. The requestor token is never sent.
// statusToken opens the status stream and cancels.
type startSessionResponse struct {
	SessionID   string         `json:"sessionId"`
	StatusToken string         `json:"statusToken"`
	Purpose     purposeView    `json:"purpose"`
	Channel     veilig.Channel `json:"channel"`
	Means       meansView      `json:"means"`
	Next        map[string]any `json:"next"`
	ExpiresAt   time.Time      `json:"expiresAt"`

	SessionPtr      json.RawMessage `json:"sessionPtr,omitempty"`
	FrontendRequest json.RawMessage `json:"frontendRequest,omitempty"`
	Dial            json.RawMessage `json:"dial,omitempty"`
}

// meansView is the means of proof and what its client needs, in its terms.
type meansView struct {
	Type   veilig.Means    `json:"type"`
	Client json.RawMessage `json:"client"`
}

type purposeView struct {
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels"`
	// Organisation is whose purpose it is, as the widget shows it; absent
	// for a deployment that names no organisations.
	Organisation *organisationView `json:"organisation,omitempty"`
}

// organisationView is an organisation's public face: its names and the
// widget's branding.
type organisationView struct {
	ID     string            `json:"id"`
	Names  map[string]string `json:"names"`
	Logo   string            `json:"logo,omitempty"`
	Colour string            `json:"colour,omitempty"`
}

// citizenPurpose is what a page learns of purpose p.
func (s *server) citizenPurpose(p *veilig.Purpose) purposeView {
	v := purposeView{ID: p.ID, Labels: p.Labels}
	if o, ok := s.Service.OrganisationByID(p.OrgID); ok && len(o.Names) > 0 {
		v.Organisation = &organisationView{ID: o.ID, Names: o.Names, Logo: o.Branding.Logo, Colour: o.Branding.Colour}
	}
	return v
}

type sessionView struct {
	ID        string              `json:"id"`
	Purpose   string              `json:"purpose"`
	State     veilig.SessionState `json:"state"`
	Reason    string              `json:"reason,omitempty"`
	ExpiresAt time.Time           `json:"expiresAt"`
}

// cors answers the CORS headers of the citizen API. Purposes list the origins
// that may use it; the purpose itself is checked again by the service when a
// session starts.
func (s *server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin != "" && s.Service.OriginAllowedAnywhere(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	}
}

func (s *server) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !s.Service.OriginAllowedAnywhere(origin) {
		writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "this web page may not use the Veilig Contact API"))
		return
	}
	s.cors(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Last-Event-ID")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) startSession(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	var req startSessionRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.Purpose == "" {
		writeError(w, r, s.log, veilig.Errorf(veilig.EINVALID, "purpose is required"))
		return
	}
	started, err := s.Service.StartSession(r.Context(), req.Purpose, r.Header.Get("Origin"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p, _ := s.Service.Purpose(req.Purpose)
	resp := startSessionResponse{
		SessionID:   started.SessionID,
		StatusToken: started.StatusToken,
		Purpose:     s.citizenPurpose(p),
		Channel:     started.Channel,
		Means:       meansView{Type: started.Means, Client: started.MeansClient},
		Next:        map[string]any{"type": started.Channel, string(started.Channel): started.Next},
		ExpiresAt:   started.ExpiresAt,
	}
	if started.Means == veilig.MeansYivi {
		var client struct{ SessionPtr, FrontendRequest json.RawMessage }
		if err := json.Unmarshal(started.MeansClient, &client); err != nil {
			writeError(w, r, s.log, fmt.Errorf("start session: read the Yivi client object: %w", err))
			return
		}
		resp.SessionPtr, resp.FrontendRequest = client.SessionPtr, client.FrontendRequest
	}
	if started.Channel == veilig.ChannelPhone {
		resp.Dial = started.Next
	}
	// yivi-frontend treats anything but 200 as an error, so 200 it is.
	writeJSON(w, http.StatusOK, resp)
}

// statusToken reads the bearer status token from the Authorization header
// or, for EventSource which cannot set headers, the token query parameter.
func statusToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return strings.TrimPrefix(a, "Bearer ")
	}
	return r.URL.Query().Get("token")
}

func (s *server) getSession(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	sess, err := s.Service.SessionByStatusToken(r.Context(), r.PathValue("id"), statusToken(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionView{ID: sess.ID, Purpose: sess.PurposeID, State: sess.State, Reason: sess.Reason, ExpiresAt: sess.ExpiresAt})
}

func (s *server) cancelSession(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	if err := s.Service.CancelSession(r.Context(), r.PathValue("id"), statusToken(r)); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) sessionEvents(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	sess, err := s.Service.SessionByStatusToken(r.Context(), r.PathValue("id"), statusToken(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	after, err := lastEventID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.stream(w, r, veilig.EventFilter{SessionID: sess.ID}, after, true)
}

// purposeInfo is the answer of GET /api/v1/purposes/{id}.
type purposeInfo struct {
	purposeView
	// OriginAllowed says whether the asking page may start sessions for the
	// purpose; absent when the request named no origin.
	OriginAllowed *bool `json:"originAllowed,omitempty"`
}

// getPurpose tells a page about a purpose: its labels, and whether the
// page's origin may use it. A browser cannot read the answer of a refused
// CORS request, so after a failed start the widget asks here to tell "this
// site may not use this purpose" apart from "unreachable". The answer is
// readable from any origin: it grants nothing, and purposes and their labels
// are on the embedding pages anyway. The origin is the request's Origin
// header, or the origin query parameter (browsers send no Origin on a
// same-origin GET).
func (s *server) getPurpose(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	p, err := s.Service.Purpose(r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	info := purposeInfo{purposeView: s.citizenPurpose(p)}
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.URL.Query().Get("origin")
	}
	if origin != "" {
		allowed := p.AllowsOrigin(origin)
		info.OriginAllowed = &allowed
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// yiviCORS lets pages embedding the widget follow a Yivi session on the
// embedded Yivi server (yivi-client polls <u>/frontend/status with an
// Authorization header, and cancels with DELETE <u>), from the origins the
// purposes allow. The Yivi app is not a browser and sends no Origin.
func (s *server) yiviCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && s.Service.OriginAllowedAnywhere(origin)
		w.Header().Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				writeError(w, r, s.log, veilig.Errorf(veilig.EFORBIDDEN, "this web page may not use this Yivi server"))
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Cache-Control, Accept")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		next.ServeHTTP(w, r)
	})
}
