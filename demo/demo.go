// Package demo serves the demo of Veilig Contact: a municipality-like site
// with the widget (/demo), a demo wallet that plays the Yivi app
// (/demo/wallet) and a demo phone that plays the phone network
// (/demo/phone), so that anyone can do the whole flow in one browser without
// a phone, an app or a cloud account.
//
// Everything here exists only in demo mode: the application mounts these
// routes only then, and without them every /demo path is a 404.
//
// The demo wallet is the real irmago client library (yivi/wallet) running in
// this process: it is issued the demo credentials through a real issuance
// session on the embedded Yivi server, and discloses them in the session the
// page hands it, exactly as the Yivi app would. The demo phone reports calls
// to the signed telephony API with the telephony secret, exactly as a
// telephony platform does; the secret never reaches the browser.
package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// PurposeID is the purpose the demo site starts sessions for.
const PurposeID = "demo"

// Credentials are what the demo wallet holds: a fictional person (the BSN
// is the well-known test number 999999990, valid by the eleven-test but
// never issued).
func Credentials() []yivi.Credential {
	return []yivi.Credential{
		{Type: demoscheme.PersonalDataCredential, Attributes: map[string]string{
			"bsn": "999999990", "fullname": "Jan de Vries", "familyname": "Vries",
			"dateofbirth": "1980-04-01", "city": "Utrecht",
		}},
		{Type: demoscheme.MobileNumberCredential, Attributes: map[string]string{"mobilenumber": "+31612345678"}},
	}
}

// Issuer starts issuance sessions: the embedded Yivi server.
type Issuer interface {
	StartIssuance(ctx context.Context, creds []yivi.Credential) (json.RawMessage, error)
}

// Config is what the demo needs from the application.
type Config struct {
	// PublicURL is the base URL of the public listener: the demo pages'
	// origin, and the only Yivi server the demo wallet talks to.
	PublicURL string
	// Pages are the demo pages; nil means the ones embedded in this
	// package (demo/pages: plain HTML, CSS and JavaScript, no build step).
	Pages fs.FS
	// Issuer issues the demo credentials; nil with an external Yivi server,
	// which leaves the demo wallet unavailable.
	Issuer Issuer
	// WalletDir is where the demo wallet keeps its files; it is emptied at
	// start, so the wallet starts without credentials.
	WalletDir string
	// DeveloperMode lets the demo wallet use plain http and accept requests
	// of a Yivi server that is not in production mode, like the Yivi app's
	// developer mode.
	DeveloperMode bool
	// Telephony reports the demo phone's calls to the internal listener.
	Telephony *telephony.Client
	// Municipalities are the demo's organisations, each with its purpose,
	// line and agent; the demo phone network routes their numbers to
	// Veilig Contact, other numbers are "not in service".
	Municipalities []Municipality
	// CallState tells where the session a call was matched to is now (the
	// store's session by provider and call id; an error with code
	// veilig.ENOTFOUND when there is none), so the demo phone hears the
	// call end when the agent ends the contact. Nil: the demo phone only
	// knows what it did itself.
	CallState func(ctx context.Context, provider, callID string) (veilig.SessionState, error)
	// ConsoleURL is the agent console's path, "" when it is not served.
	ConsoleURL string
	Logger     *slog.Logger
}

// Municipality is one demo organisation as its site shows it.
type Municipality struct {
	ID      string            `json:"id"`      // the organisation's id
	Names   map[string]string `json:"names"`   // by language
	Purpose string            `json:"purpose"` // the purpose its site starts sessions for
	Number  string            `json:"number"`  // its line
	// AgentUsername and AgentPasswordFile tell a newcomer how to sign in
	// as its agent (the password itself is never served).
	AgentUsername     string `json:"agentUsername"`
	AgentPasswordFile string `json:"agentPasswordFile"`
}

// phoneNumbers are the lines the demo phone network reaches.
func (c *Config) phoneNumbers() []string {
	var out []string
	for _, m := range c.Municipalities {
		out = append(out, m.Number)
	}
	return out
}

// Demo serves the demo pages and their endpoints.
type Demo struct {
	cfg    Config
	origin string
	log    *slog.Logger
	wallet *demoWallet
}

//go:embed pages
var embeddedPages embed.FS

// Pages returns the demo pages embedded in the binary.
func Pages() fs.FS {
	sub, err := fs.Sub(embeddedPages, "pages")
	if err != nil {
		panic(err) // embedded above; cannot fail
	}
	return sub
}

// New prepares the demo. The wallet is created on first use.
func New(cfg Config) (*Demo, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("demo: the public URL must be an absolute http(s) URL")
	}
	if cfg.Pages == nil {
		cfg.Pages = Pages()
	}
	if cfg.Telephony == nil {
		return nil, errors.New("demo: no telephony client")
	}
	if len(cfg.Municipalities) == 0 {
		return nil, errors.New("demo: no municipality")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Demo{cfg: cfg, origin: u.Scheme + "://" + u.Host, log: log.With("component", "demo")}
	if cfg.Issuer != nil {
		if d.wallet, err = newDemoWallet(cfg, d.log); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Close closes the demo wallet.
func (d *Demo) Close() error {
	if d.wallet != nil {
		return d.wallet.close()
	}
	return nil
}

// Routes returns the demo's routes, as patterns for http.ServeMux.
func (d *Demo) Routes() map[string]http.Handler {
	page := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.servePage(w, r, name) })
	}
	return map[string]http.Handler{
		"GET /demo":                              page("index.html"),
		"GET /demo/{$}":                          http.RedirectHandler("/demo", http.StatusMovedPermanently),
		"GET /demo/wallet":                       page("wallet.html"),
		"GET /demo/phone":                        page("phone.html"),
		"GET /demo/assets/{file}":                http.HandlerFunc(d.serveAsset),
		"GET /demo/api/info":                     http.HandlerFunc(d.info),
		"POST /demo/issue":                       d.sameSite(d.issue),
		"GET /demo/api/wallet":                   http.HandlerFunc(d.walletState),
		"POST /demo/api/wallet/credentials":      d.sameSite(d.walletCredentials),
		"POST /demo/api/wallet/disclose":         d.sameSite(d.walletDisclose),
		"POST /demo/api/phone/calls":             d.sameSite(d.phoneCall),
		"GET /demo/api/phone/calls/{id}":         http.HandlerFunc(d.phoneCallState),
		"POST /demo/api/phone/calls/{id}/hangup": d.sameSite(d.phoneHangup),
	}
}

// pageCSP allows the pages nothing but their own origin: the widget, the
// demo scripts and styles, and the APIs all come from here. data: images
// are yivi-css's inline SVG icons.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (d *Demo) servePage(w http.ResponseWriter, r *http.Request, name string) {
	body, err := fs.ReadFile(d.cfg.Pages, name)
	if err != nil {
		d.log.Error("demo page missing (run make web)", "page", name)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the demo pages are not built (run make web)")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

func (d *Demo) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name != path.Base(name) || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(d.cfg.Pages, "assets/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// info tells the pages what they show: the municipalities (each with its
// purpose, number and agent), where the agent console is and how to sign
// in to it. purpose, agentUsername and agentPasswordFile are the first
// municipality's, as the first release's pages read them.
func (d *Demo) info(w http.ResponseWriter, r *http.Request) {
	home := d.cfg.Municipalities[0]
	writeJSON(w, http.StatusOK, map[string]any{
		"municipalities":    d.cfg.Municipalities,
		"purpose":           home.Purpose,
		"phoneNumbers":      d.cfg.phoneNumbers(),
		"callerNumber":      callerNumber(),
		"consoleUrl":        d.cfg.ConsoleURL,
		"agentUsername":     home.AgentUsername,
		"agentPasswordFile": home.AgentPasswordFile,
		"walletAvailable":   d.wallet != nil,
		"publicUrl":         d.cfg.PublicURL,
	})
}

// sameSite refuses requests another site's page makes (cross-site request
// forgery): the demo endpoints act (issue, disclose, call) without signing
// in. Tools such as curl send neither header and are let through.
func (d *Demo) sameSite(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			writeError(w, http.StatusForbidden, "forbidden", "the demo endpoints only answer the demo pages")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != d.origin {
			writeError(w, http.StatusForbidden, "forbidden", "the demo endpoints only answer the demo pages")
			return
		}
		h(w, r)
	})
}

// decodeBody reads a small JSON object into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusBadRequest, "invalid", "the request body must be JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxInput*2))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		writeError(w, http.StatusBadRequest, "invalid", "the request body is not the expected JSON object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the API's error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
