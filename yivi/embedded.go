package yivi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"
	"github.com/privacybydesign/irmago/irma/server/irmaserver"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/httpstatus"
)

// EmbeddedConfig configures an embedded Yivi server.
type EmbeddedConfig struct {
	// SchemesPath is a directory with the schemes of every attribute that
	// may be requested (an irma_configuration: one signed scheme per
	// subdirectory). Required: irmago would otherwise download the public
	// schemes, and we never download at run time.
	SchemesPath string

	// IssuerPrivateKeysPath holds issuer private keys, named
	// <scheme>.<issuer>.<counter>.xml. Only needed for StartIssuance (demo
	// credentials); leave empty in production.
	IssuerPrivateKeysPath string

	// URL is where the Yivi app reaches Handler: the public base URL plus
	// "/irma", e.g. https://contact.example.nl/irma. It goes into the QR
	// code, so it must be reachable from phones.
	URL string

	// Production makes requests without devMode, which the real Yivi app
	// requires unless it is in developer mode. An http:// URL is then
	// allowed only because TLS is assumed to end at a reverse proxy (we set
	// irmago's DisableTLS for it). When false, every request carries
	// devMode and only apps in developer mode take part.
	Production bool

	// EnableSSE lets browsers follow the session with server-sent events at
	// <u>/frontend/statusevents; yivi-frontend falls back to polling without
	// it. irmago calls its SSE experimental (it tends to hang behind reverse
	// proxies), so it is off by default.
	EnableSSE bool

	// SessionLifetime bounds a session once the app has connected (irmago's
	// default: 15 minutes). ResultLifetime is how long a finished session's
	// result stays available (default 5 minutes). irmago counts whole
	// minutes; both are rounded up.
	SessionLifetime time.Duration
	ResultLifetime  time.Duration

	// Logger receives irmago's warnings and errors, scrubbed of tokens,
	// tel: URIs and request dumps. Nil discards them. irmago's logger is
	// process-global: the last Embedded (or irmago server) created wins.
	Logger *slog.Logger
}

// Embedded is a Yivi server running in this process (irmago's irmaserver
// library with its in-memory session store). Sessions live in memory: they
// do not survive a restart and are not shared between replicas, so
// replicas behind a load balancer need sticky routing for /irma, or an
// External server.
type Embedded struct {
	srv     *irmaserver.Server
	schemes *irma.Configuration
	log     *slog.Logger

	mu       sync.Mutex
	sessions map[irma.RequestorToken]*followed // unfinished disclosures
	byClient map[irma.ClientToken]*followed    // the same, by the app's token
	stopped  bool
}

// followed is an unfinished disclosure: its watch and the token the app
// knows it by.
type followed struct {
	*watch
	client irma.ClientToken
}

var _ veilig.DisclosureService = (*Embedded)(nil)

// NewEmbedded parses the schemes, loads the issuer keys and starts the
// server's housekeeping. It fails, rather than downloads, when SchemesPath
// is empty or holds no valid scheme.
func NewEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("yivi: URL %q must be an absolute http(s) URL (the public base URL plus /irma)", cfg.URL)
	}
	// Not read-only: irmaserver's per-session Download refuses read-only
	// configurations. checkKnown keeps it from ever downloading.
	schemes, err := loadSchemes(cfg.SchemesPath, false)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conf := &server.Configuration{
		// Passing the parsed configuration keeps irmaserver from parsing
		// SchemesPath itself, and so from downloading when it is empty.
		IrmaConfiguration:     schemes,
		SchemesPath:           cfg.SchemesPath,
		DisableSchemesUpdate:  true,
		IssuerPrivateKeysPath: cfg.IssuerPrivateKeysPath,
		URL:                   cfg.URL,
		Production:            cfg.Production,
		DisableTLS:            cfg.Production && u.Scheme == "http",
		EnableSSE:             cfg.EnableSSE,
		MaxSessionLifetime:    minutes(cfg.SessionLifetime),
		SessionResultLifetime: minutes(cfg.ResultLifetime),
		Logger:                newIrmaLogger(log),
	}
	srv, err := irmaserver.New(conf)
	if err != nil {
		schemes.Scheduler.Stop()
		return nil, fmt.Errorf("yivi: start embedded server: %w", err)
	}
	return &Embedded{
		srv:      srv,
		schemes:  schemes,
		log:      log,
		sessions: map[irma.RequestorToken]*followed{},
		byClient: map[irma.ClientToken]*followed{},
	}, nil
}

// loadSchemes parses an irma_configuration read-only. It insists on at
// least one scheme and on every scheme being valid: irmaserver would
// download the public schemes into an empty directory, and a scheme that
// fails to verify would only show up later as "unknown attribute".
func loadSchemes(path string, readOnly bool) (*irma.Configuration, error) {
	if path == "" {
		return nil, errors.New("yivi: no schemes path configured (schemes are never downloaded; for the demo use the bundled demo scheme)")
	}
	conf, err := irma.NewConfiguration(path, irma.ConfigurationOptions{ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("yivi: schemes path %s: %w", path, err)
	}
	if err := conf.ParseFolder(); err != nil {
		if conf.Scheduler != nil {
			conf.Scheduler.Stop()
		}
		return nil, fmt.Errorf("yivi: parse schemes in %s: %w", path, err)
	}
	if len(conf.SchemeManagers) == 0 || len(conf.DisabledSchemeManagers) > 0 {
		conf.Scheduler.Stop()
		return nil, fmt.Errorf("yivi: schemes path %s holds no valid scheme", path)
	}
	return conf, nil
}

func minutes(d time.Duration) int {
	if d <= 0 {
		return 0 // irmago's default
	}
	return int((d + time.Minute - 1) / time.Minute)
}

// Handler serves the protocol the Yivi app (and yivi-frontend's status and
// cancel calls) speak. Mount it under the path of EmbeddedConfig.URL with
// the prefix stripped:
//
//	mux.Handle("/irma/", http.StripPrefix("/irma", e.Handler()))
//
// It sets no CORS headers; wrap it if the widget runs on other origins.
//
// The app connecting is learnt here: its first request, GET
// /session/{clientToken}/, answered 200, is what moves irmago's session to
// CONNECTED (or PAIRING). Watching the request costs a map lookup; the
// alternative, a status subscription per session (irmaserver's
// SessionStatus), deep-copies the session through JSON at every start,
// a fifth of a start's CPU in the profile.
func (e *Embedded) Handler() http.Handler {
	irmaHandler := e.srv.HandlerFunc()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, ok := sessionGetToken(r)
		if !ok {
			irmaHandler(w, r)
			return
		}
		sw := &httpstatus.Recorder{ResponseWriter: w}
		irmaHandler(sw, r)
		if sw.Status != http.StatusOK {
			return
		}
		e.mu.Lock()
		f := e.byClient[client]
		e.mu.Unlock()
		if f != nil {
			f.connect()
		}
	})
}

// sessionGetToken recognises the app's GET /session/{clientToken}/ (the
// path as Handler sees it, prefix stripped) and returns the token.
func sessionGetToken(r *http.Request) (irma.ClientToken, bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/session/")
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return irma.ClientToken(rest), true
}

// StartDisclosure starts a disclosure session. The watcher hears when the
// app connects (Handler sees it fetch the request) and, exactly once, how
// the session ended (irmago's session handler, or CancelDisclosure).
//
// Errors: EINVALID for a malformed request, EUNAVAILABLE after Stop; a
// request irmago refuses (an attribute no scheme knows) is an internal
// error, since purposes come from configuration.
func (e *Embedded) StartDisclosure(ctx context.Context, req veilig.DisclosureRequest, w veilig.DisclosureWatcher) (*veilig.StartedDisclosure, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := disclosureRequest(req)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	stopped := e.stopped
	e.mu.Unlock()
	if stopped {
		return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the Yivi server is stopped")
	}

	if err := checkKnown(e.schemes, r.Request); err != nil {
		return nil, err
	}
	// irmaserver runs the handler when the session finishes, from a status
	// subscription it makes in a goroutine of its own. A session that
	// ended before that goroutine subscribed would reach the handler only
	// at its timeout; the one way that can happen before anyone outside
	// knows the session is CancelDisclosure, which finishes the watch
	// itself.
	f := &followed{watch: &watch{w: w}}
	qr, token, fr, err := e.srv.StartSession(r, func(res *server.SessionResult) {
		e.forget(res.Token)
		f.finish(Outcome(res, e.schemes))
	}, "")
	if err != nil {
		return nil, fmt.Errorf("yivi: start disclosure: %s", scrub(err.Error()))
	}
	ptr, front, err := frontendJSON(qr, fr)
	if err == nil {
		f.client, err = clientToken(qr)
	}
	if err != nil {
		f.discard()
		_ = e.srv.CancelSession(token)
		return nil, err
	}

	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		f.discard()
		return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the Yivi server is stopped")
	}
	if !f.done() {
		e.sessions[token] = f
		e.byClient[f.client] = f
	}
	e.mu.Unlock()
	return started(string(token), ptr, front)
}

// clientToken is the last path segment of the session pointer's URL
// (<URL>/session/<clientToken>), the token the app's requests carry.
func clientToken(qr *irma.Qr) (irma.ClientToken, error) {
	u, err := url.Parse(qr.URL)
	if err != nil {
		return "", fmt.Errorf("yivi: the session pointer's URL does not parse")
	}
	dir, token := path.Split(u.Path)
	if token == "" || path.Base(dir) != "session" {
		return "", fmt.Errorf("yivi: the session pointer's URL has no client token")
	}
	return irma.ClientToken(token), nil
}

func (e *Embedded) forget(token irma.RequestorToken) {
	e.mu.Lock()
	if f := e.sessions[token]; f != nil {
		delete(e.byClient, f.client)
		delete(e.sessions, token)
	}
	e.mu.Unlock()
}

// CancelDisclosure cancels an unfinished disclosure; its watcher then gets
// Finished with status CANCELLED. Errors: ENOTFOUND for an unknown or
// finished session.
func (e *Embedded) CancelDisclosure(ctx context.Context, token string) error {
	e.mu.Lock()
	f := e.sessions[irma.RequestorToken(token)]
	e.mu.Unlock()
	if f == nil {
		return veilig.Errorf(veilig.ENOTFOUND, "no unfinished Yivi session with this token")
	}
	if err := e.srv.CancelSession(irma.RequestorToken(token)); err != nil {
		var unknown *irmaserver.UnknownSessionError
		if errors.As(err, &unknown) {
			return veilig.Errorf(veilig.ENOTFOUND, "no unfinished Yivi session with this token")
		}
		return fmt.Errorf("yivi: cancel session: %s", scrub(err.Error()))
	}
	// irmago's handler reports the same, unless the session was cancelled
	// before its subscription began (see StartDisclosure); the watch keeps
	// whichever comes first.
	e.forget(irma.RequestorToken(token))
	f.finish(Outcome(&server.SessionResult{Token: irma.RequestorToken(token), Status: irma.ServerStatusCancelled}, e.schemes))
	return nil
}

// StartIssuance starts an issuance session for demo credentials and returns
// its session pointer ({"u": ..., "irmaqr": "issuing"}) for a wallet. It
// needs the issuers' private keys (EmbeddedConfig.IssuerPrivateKeysPath).
func (e *Embedded) StartIssuance(ctx context.Context, creds []Credential) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := issuanceRequest(creds)
	if err != nil {
		return nil, err
	}
	// irmaserver sets the key counter too, but only after its Download
	// looked for the public key of the counter in the request.
	for _, cr := range r.Credentials {
		sk, err := e.schemes.PrivateKeys.Latest(cr.CredentialTypeID.IssuerIdentifier())
		if err != nil || sk == nil {
			return nil, fmt.Errorf("yivi: no private key for issuer %s", cr.CredentialTypeID.IssuerIdentifier())
		}
		cr.KeyCounter = sk.Counter
	}
	if err := checkKnown(e.schemes, r); err != nil {
		return nil, err
	}
	qr, _, _, err := e.srv.StartSession(r, nil, "")
	if err != nil {
		return nil, fmt.Errorf("yivi: start issuance: %s", scrub(err.Error()))
	}
	ptr, _, err := frontendJSON(qr, nil)
	return ptr, err
}

// Stop stops the server. Its sessions lived in memory and are gone, so every
// unfinished disclosure is finished as failed ("the Yivi server
// stopped") and the service can end it instead of leaving it waiting.
func (e *Embedded) Stop() {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return
	}
	e.stopped = true
	pending := e.sessions
	e.sessions, e.byClient = nil, nil
	e.mu.Unlock()

	e.srv.Stop()
	e.schemes.Scheduler.Stop()
	for _, st := range pending {
		st.finish(failed("the Yivi server stopped"))
	}
}

// ResolveDisclosure reads the session from irmago in this process. The
// finished session's result is the one irmago also hands the session
// handler; the service stores whichever comes first.
func (e *Embedded) ResolveDisclosure(ctx context.Context, token string) (veilig.DisclosureProgress, veilig.ProofResult, error) {
	res, err := e.srv.GetSessionResult(irma.RequestorToken(token))
	var unknown *irmaserver.UnknownSessionError
	if errors.As(err, &unknown) || (err == nil && res == nil) {
		return veilig.ProgressUnknown, veilig.ProofResult{}, nil
	} else if err != nil {
		return veilig.ProgressUnknown, veilig.ProofResult{}, fmt.Errorf("yivi: resolve disclosure: %s", scrub(err.Error()))
	}
	p := progress(res.Status)
	if p != veilig.ProgressFinished {
		return p, veilig.ProofResult{}, nil
	}
	return p, Outcome(res, e.schemes), nil
}

// Means is Yivi.
func (*Embedded) Means() veilig.Means { return veilig.MeansYivi }

// Name is the means' name in messages.
func (*Embedded) Name() string { return "Yivi" }

// MaxAssurance is the level a Yivi proof gives (Outcome).
func (*Embedded) MaxAssurance() veilig.Assurance { return Assurance }
