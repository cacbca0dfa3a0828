// Package httpapi serves Veilig Contact over HTTP: the citizen API, the
// agent API and the embedded Yivi server on the public listener; the signed
// telephony API, metrics and health on the internal one. Plain net/http.
package httpapi

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/oidc"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI document served at /api/v1/openapi.yaml.
func OpenAPI() []byte { return openAPI }

// Store is the slice of the store the handlers read themselves; all else
// goes through the service. Ping answers /readyz.
type Store interface {
	veilig.AgentStore
	veilig.AuditLog
	veilig.CallGuard
	veilig.EventLog
	Ping(ctx context.Context) error
}

// Config is what the handlers need.
type Config struct {
	Service *veilig.Service
	Store   Store
	Auth    *agentauth.Auth
	// Yivi is the embedded Yivi server's app-facing handler, mounted at
	// /irma/; nil with an external Yivi server.
	Yivi http.Handler
	// Pages are extra public routes (the console, the widget, demo pages)
	// mounted by later packages; path pattern to handler.
	Pages map[string]http.Handler
	// OIDC is single sign-on for the agent console; nil when off.
	OIDC *oidc.Provider
	// OrgOIDC are organisations' own single sign-on providers, by
	// organisation; each signs in its organisation's accounts only.
	OrgOIDC map[string]*oidc.Provider
	// AttributeLinks turn attributes into links in the console.
	AttributeLinks veilig.LinkTemplates

	PublicURL       string // base URL of the public listener
	TelephonySecret []byte
	// OrgTelephonySecrets are organisations' own telephony API secrets, by
	// organisation: a request signed with one reports that organisation's
	// calls only (veilig.Reporter).
	OrgTelephonySecrets map[string][]byte
	ReplayWindow        time.Duration
	SecureCookies       bool
	TrustedProxies      []netip.Prefix
	Logger              *slog.Logger
	Registry            *prometheus.Registry
	Metrics             *Metrics
	Clock               veilig.Clock
	PProf               bool // serve /debug/pprof/ on the internal listener
}

type server struct {
	Config
	log *slog.Logger
}

func newServer(cfg Config) *server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &server{Config: cfg, log: cfg.Logger}
}

// route is one registered route, listed so the OpenAPI test can check the
// document against what is really served.
type route struct {
	method, path string
	h            http.HandlerFunc
}

func (s *server) publicRoutes() []route {
	return []route{
		{"GET", "/healthz", s.healthz},
		{"GET", "/readyz", s.readyz},
		{"GET", "/api/v1/openapi.yaml", s.openapi},
		{"GET", "/api/v1/purposes/{id}", s.getPurpose},
		{"POST", "/api/v1/sessions", s.startSession},
		{"OPTIONS", "/api/v1/sessions", s.preflight},
		{"GET", "/api/v1/sessions/{id}", s.getSession},
		{"DELETE", "/api/v1/sessions/{id}", s.cancelSession},
		{"OPTIONS", "/api/v1/sessions/{id}", s.preflight},
		{"GET", "/api/v1/sessions/{id}/events", s.sessionEvents},
		{"OPTIONS", "/api/v1/sessions/{id}/events", s.preflight},
		{"POST", "/api/v1/agent/login", s.agentLogin},
		{"POST", "/api/v1/agent/logout", s.signedIn(s.agentLogout)},
		{"GET", "/api/v1/agent/me", s.signedIn(s.agentMe)},
		{"GET", "/api/v1/agent/contacts", s.agentOnly(s.agentContacts)},
		{"GET", "/api/v1/agent/contacts/by-connection/{platform}/{id}", s.agentOnly(s.agentContactByConnection)},
		{"GET", "/api/v1/agent/contacts/by-call/{platform}/{id}", s.agentOnly(s.agentContactByConnection)},
		{"POST", "/api/v1/agent/contacts/{id}/open", s.agentOnly(s.agentOpen)},
		{"POST", "/api/v1/agent/contacts/{id}/end", s.agentOnly(s.agentEnd)},
		{"GET", "/api/v1/agent/events", s.agentQuiet(s.agentEvents)},
		{"GET", "/api/v1/agent/purposes", s.agentOnly(s.agentPurposes)},
		{"GET", "/api/v1/agent/sign-in-methods", s.signInMethods},
		{"GET", "/api/v1/agent/oidc/login", s.oidcLogin},
		{"GET", "/api/v1/agent/oidc/callback", s.oidcCallback},
		{"GET", "/api/v1/agent/oidc/{organisation}/login", s.oidcLogin},
		{"GET", "/api/v1/agent/oidc/{organisation}/callback", s.oidcCallback},
		{"GET", "/api/v1/supervisor/overview", s.role(veilig.RoleSupervisor, s.supervisorOverview)},
		{"GET", "/api/v1/admin/agents", s.role(veilig.RoleAdmin, s.adminAgents)},
		{"POST", "/api/v1/admin/agents", s.role(veilig.RoleAdmin, s.adminCreateAgent)},
		{"PATCH", "/api/v1/admin/agents/{id}", s.role(veilig.RoleAdmin, s.adminUpdateAgent)},
		{"POST", "/api/v1/admin/agents/{id}/password", s.role(veilig.RoleAdmin, s.adminSetPassword)},
		{"GET", "/api/v1/admin/audit", s.role(veilig.RoleAdmin, s.adminAudit)},
		{"GET", "/api/v1/admin/audit/export", s.role(veilig.RoleAdmin, s.adminAuditExport)},
		{"GET", "/api/v1/operator/overview", s.operatorOnly(s.operatorOverview)},
	}
}

func (s *server) internalRoutes() []route {
	return []route{
		{"GET", "/healthz", s.healthz},
		{"GET", "/readyz", s.readyz},
		{"POST", "/telephony/v1/calls", s.signed(s.reportCall)},
		{"POST", "/telephony/v1/call-states", s.signed(s.reportCallState)},
	}
}

// PublicRoutes and InternalRoutes list "METHOD /path" of every API route
// (for the OpenAPI test).
func PublicRoutes() []string   { return routeNames(newServer(Config{}).publicRoutes()) }
func InternalRoutes() []string { return routeNames(newServer(Config{}).internalRoutes()) }

func routeNames(rs []route) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.method + " " + r.path
	}
	return out
}

// NewPublic returns the handler of the public listener.
func NewPublic(cfg Config) http.Handler {
	s := newServer(cfg)
	return s.recoverer(securityHeaders(muxOf(s.publicHandlers())))
}

// NewInternal returns the handler of the internal listener.
func NewInternal(cfg Config) http.Handler {
	s := newServer(cfg)
	return s.recoverer(securityHeaders(muxOf(s.internalHandlers())))
}

// Patterns returns every pattern the two listeners serve with cfg, the
// API's routes and the rest (the Yivi server, pages, metrics, profiler,
// the catch-alls), as NewPublic and NewInternal register them.
func Patterns(cfg Config) (public, internal []string) {
	s := newServer(cfg)
	for _, h := range s.publicHandlers() {
		public = append(public, h.pattern)
	}
	for _, h := range s.internalHandlers() {
		internal = append(internal, h.pattern)
	}
	return public, internal
}

type handler struct {
	pattern string
	h       http.Handler
}

func muxOf(hs []handler) *http.ServeMux {
	mux := http.NewServeMux()
	for _, h := range hs {
		mux.Handle(h.pattern, h.h)
	}
	return mux
}

func (s *server) publicHandlers() []handler {
	var hs []handler
	for _, r := range s.publicRoutes() {
		hs = append(hs, handler{r.method + " " + r.path, s.Metrics.instrument(r.path, r.h)})
	}
	if s.Yivi != nil {
		hs = append(hs, handler{"/irma/", s.Metrics.instrument("/irma/", s.yiviCORS(http.StripPrefix("/irma", s.Yivi)))})
	}
	for pattern, h := range s.Pages {
		hs = append(hs, handler{pattern, h})
	}
	if _, ok := s.Pages["GET /{$}"]; !ok {
		hs = append(hs, handler{"GET /{$}", http.HandlerFunc(s.index)})
	}
	hs = append(hs, handler{"/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, veilig.Errorf(veilig.ENOTFOUND, "no such endpoint"))
	})})
	return hs
}

func (s *server) internalHandlers() []handler {
	var hs []handler
	for _, r := range s.internalRoutes() {
		hs = append(hs, handler{r.method + " " + r.path, s.Metrics.instrument(r.path, r.h)})
	}
	if s.Registry != nil {
		hs = append(hs, handler{"GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})})
	}
	if s.PProf {
		hs = append(hs,
			handler{"GET /debug/pprof/", http.HandlerFunc(pprof.Index)},
			handler{"GET /debug/pprof/profile", http.HandlerFunc(pprof.Profile)},
			handler{"GET /debug/pprof/trace", http.HandlerFunc(pprof.Trace)})
	}
	hs = append(hs, handler{"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, veilig.Errorf(veilig.ENOTFOUND, "no such endpoint"))
	})})
	return hs
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a 500 without a stack trace in the answer.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, s.log, veilig.Errorf(veilig.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(openAPI)
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	fmt.Fprint(w, `<!doctype html><html lang="en"><meta charset="utf-8"><title>Veilig Contact</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}</style>
<h1>Veilig Contact</h1><p>This server is running. The API is described at <a href="/api/v1/openapi.yaml">/api/v1/openapi.yaml</a>.</p></html>`)
}
