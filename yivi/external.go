package yivi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"

	"github.com/veiligcontact/veilig"
)

// ExternalConfig configures the use of a separate Yivi server (`irma server`
// or `yivi irma server`) over its requestor API.
type ExternalConfig struct {
	// URL is the base of the requestor API: sessions start with
	// POST {URL}/session. With the server's api_prefix, include it.
	URL string

	// Token is this requestor's key for the server's "token"
	// authentication (requestors.<name>.auth_method = token). It is sent
	// only when starting sessions. Empty only for a server that runs with
	// requestor authentication disabled.
	Token string

	// HTTPClient is used for all calls; nil means a client with dial, TLS
	// and header timeouts. Its Timeout must be zero: the status stream is
	// long-lived (each call is bounded by RequestTimeout instead).
	HTTPClient *http.Client

	// Schemes optionally points to an irma_configuration with the schemes
	// of the requested attributes, read only for the labels of disclosed
	// attributes and issuers. Without it outcomes carry ids and values but
	// no labels.
	Schemes string

	// RequestTimeout bounds each request, and the wait for the status
	// stream's response headers. Default 10 s.
	RequestTimeout time.Duration

	// WatchLimit is how long a session is followed before we give up and
	// finish it as failed. It must exceed the server's session
	// lifetime (irmago: up to 15 minutes waiting for the app, then 15 more
	// once connected). Default 45 minutes.
	WatchLimit time.Duration

	// Logger receives problems reaching the server. Nil discards them.
	Logger *slog.Logger
}

// ErrUnauthorized is returned (wrapped) when the Yivi server refuses our
// requestor token, or refuses this requestor the requested attributes.
var ErrUnauthorized = errors.New("the Yivi server refused the requestor token or its permissions")

// External is a veilig.DisclosureService on an external Yivi server. Each
// started session is followed by one goroutine that listens to the server's
// status events (SSE) and fetches the result when the session ends; see
// watchSession for the fallbacks.
type External struct {
	base    string
	token   string
	client  *http.Client
	timeout time.Duration
	limit   time.Duration
	schemes *irma.Configuration
	log     *slog.Logger

	mu     sync.Mutex      // orders wg.Add after Stop's cancel
	ctx    context.Context // canceled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ veilig.DisclosureService = (*External)(nil)

// NewExternal checks the configuration and reads the optional schemes. It
// does not contact the server.
func NewExternal(cfg ExternalConfig) (*External, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("yivi: external server URL %q must be an absolute http(s) URL", cfg.URL)
	}
	x := &External{
		base:    strings.TrimRight(cfg.URL, "/"),
		token:   cfg.Token,
		client:  cfg.HTTPClient,
		timeout: cfg.RequestTimeout,
		limit:   cfg.WatchLimit,
		log:     cfg.Logger,
	}
	if x.client == nil {
		x.client = defaultHTTPClient()
	}
	if x.client.Timeout != 0 {
		return nil, errors.New("yivi: ExternalConfig.HTTPClient must not set Timeout (the status stream is long-lived; use RequestTimeout)")
	}
	if x.timeout <= 0 {
		x.timeout = 10 * time.Second
	}
	if x.limit <= 0 {
		x.limit = 45 * time.Minute
	}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Schemes != "" {
		if x.schemes, err = loadSchemes(cfg.Schemes, true); err != nil {
			return nil, err
		}
		// Only the descriptions are needed: no revocation jobs.
		x.schemes.Scheduler.Stop()
	}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	return x, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 10 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

// StartDisclosure starts a session with POST {URL}/session and follows it in
// the background. Errors: EUNAVAILABLE when the server cannot be reached or
// answers 5xx; ErrUnauthorized (wrapped) when it refuses the token; EINVALID
// for a malformed request.
func (x *External) StartDisclosure(ctx context.Context, req veilig.DisclosureRequest, w veilig.DisclosureWatcher) (*veilig.StartedDisclosure, error) {
	r, err := disclosureRequest(req)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("yivi: encode request: %w", err)
	}
	if x.ctx.Err() != nil {
		return nil, veilig.Errorf(veilig.EUNAVAILABLE, "the Yivi client is stopped")
	}

	var pkg struct {
		SessionPtr      json.RawMessage `json:"sessionPtr"`
		Token           string          `json:"token"`
		FrontendRequest json.RawMessage `json:"frontendRequest"`
	}
	if err := x.call(ctx, http.MethodPost, "/session", body, true, &pkg); err != nil {
		var re *remoteError
		if errors.As(err, &re) && (re.status == http.StatusUnauthorized || re.status == http.StatusForbidden ||
			(re.status == http.StatusBadRequest && strings.Contains(re.message, "could not be authenticated"))) {
			return nil, fmt.Errorf("yivi: start session: %w: %w", ErrUnauthorized, err)
		}
		return nil, fmt.Errorf("yivi: start session: %w", err)
	}

	// Re-encode what the server sent in the shapes yivi-frontend reads,
	// checking it on the way: it goes to browsers.
	token, err := parseToken(pkg.Token)
	if err != nil {
		return nil, errors.New("yivi: start session: the server returned no valid session token")
	}
	var qr irma.Qr
	if err := json.Unmarshal(pkg.SessionPtr, &qr); err != nil || qr.Validate() != nil || qr.Type != irma.ActionDisclosing {
		return nil, errors.New("yivi: start session: the server returned no valid disclosure session pointer")
	}
	var fr *irma.FrontendSessionRequest
	if len(pkg.FrontendRequest) > 0 && string(pkg.FrontendRequest) != "null" {
		fr = &irma.FrontendSessionRequest{}
		if err := json.Unmarshal(pkg.FrontendRequest, fr); err != nil || fr.Authorization == "" {
			return nil, errors.New("yivi: start session: the server returned an invalid frontend request")
		}
	}
	ptr, front, err := frontendJSON(&qr, fr)
	if err != nil {
		return nil, err
	}
	sd, err := started(token, ptr, front)
	if err != nil {
		return nil, err
	}
	x.Watch(token, w)
	return sd, nil
}

// Watch follows a session started earlier, for instance by a previous run
// of this process: sessions on an external server outlive us, and Stop
// leaves their watchers uncalled so they can be picked up again.
func (x *External) Watch(token string, w veilig.DisclosureWatcher) {
	st := &watch{w: w}
	if _, err := parseToken(token); err != nil {
		st.finish(failed("not a Yivi session token"))
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ctx.Err() != nil {
		return // stopped
	}
	ctx, cancel := context.WithTimeout(x.ctx, x.limit)
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer cancel()
		x.watchSession(ctx, token, st)
	}()
}

// CancelDisclosure cancels a session with DELETE {URL}/session/{token}.
// Errors: ENOTFOUND for an unknown or finished session (the server itself
// accepts a DELETE of a finished session, so we ask its status first),
// EUNAVAILABLE when the server cannot be reached.
func (x *External) CancelDisclosure(ctx context.Context, token string) error {
	if _, err := parseToken(token); err != nil {
		return veilig.Errorf(veilig.ENOTFOUND, "no unfinished Yivi session with this token")
	}
	s, err := x.status(ctx, token)
	if err != nil {
		return fmt.Errorf("yivi: cancel session: %w", err)
	}
	if s.Finished() {
		return veilig.Errorf(veilig.ENOTFOUND, "no unfinished Yivi session with this token")
	}
	if err := x.call(ctx, http.MethodDelete, "/session/"+token, nil, false, nil); err != nil {
		return fmt.Errorf("yivi: cancel session: %w", err)
	}
	return nil
}

// Stop ends all watchers and waits for them. Their watchers are not called:
// the sessions go on at the server (see Watch).
func (x *External) Stop() {
	x.mu.Lock()
	x.cancel()
	x.mu.Unlock()
	x.wg.Wait()
}

func (x *External) status(ctx context.Context, token string) (irma.ServerStatus, error) {
	var s irma.ServerStatus
	err := x.call(ctx, http.MethodGet, "/session/"+token+"/status", nil, false, &s)
	return s, err
}

func (x *External) result(ctx context.Context, token string) (*server.SessionResult, error) {
	var res server.SessionResult
	if err := x.call(ctx, http.MethodGet, "/session/"+token+"/result", nil, false, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// maxBody bounds what we read from the server: a session result with a few
// attributes is a few kB.
const maxBody = 1 << 20

// call does one request of the requestor API, bounded by RequestTimeout. The
// requestor token goes only with POST /session (auth); session tokens in
// paths are kept out of errors.
func (x *External) call(parent context.Context, method, path string, body []byte, auth bool, out any) error {
	ctx, cancel := context.WithTimeout(parent, x.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, x.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		// The token authenticator only looks at JSON requests.
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth && x.token != "" {
		req.Header.Set("Authorization", x.token)
	}
	resp, err := x.client.Do(req)
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return perr // the caller gave up; the server may be fine
		}
		return unavailable(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return unavailable(err)
	}
	if resp.StatusCode/100 != 2 {
		return newRemoteError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode %s response: %w", method, err)
	}
	return nil
}

// unavailable reports a failure to reach the server. *url.Error is unwrapped
// because its text holds the URL, and with it a session token.
func unavailable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w: %s", veilig.Errorf(veilig.EUNAVAILABLE, "the Yivi server cannot be reached"), err)
}

// remoteError is an error answer of the Yivi server (irma.RemoteError).
type remoteError struct {
	status  int
	name    string // SESSION_UNKNOWN, UNAUTHORIZED, SSE_DISABLED, ...
	message string
	code    *veilig.Error
}

func newRemoteError(status int, body []byte) *remoteError {
	var re irma.RemoteError
	_ = json.Unmarshal(body, &re) // a proxy's HTML error page has none of it
	e := &remoteError{status: status, name: re.ErrorName, message: scrub(re.Message)}
	switch {
	case status >= 500 && re.ErrorName != "SSE_DISABLED":
		e.code = veilig.Errorf(veilig.EUNAVAILABLE, "the Yivi server is failing")
	case re.ErrorName == "SESSION_UNKNOWN" || status == http.StatusNotFound:
		e.code = veilig.Errorf(veilig.ENOTFOUND, "no such Yivi session")
	default:
		e.code = veilig.Errorf(veilig.EINTERNAL, "the Yivi server refused the request")
	}
	return e
}

func (e *remoteError) Error() string {
	s := fmt.Sprintf("yivi server answered %d", e.status)
	if e.name != "" {
		s += " " + e.name
	}
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

func (e *remoteError) Unwrap() error { return e.code }

var tokenFormat = regexp.MustCompile(`^[0-9A-Za-z]{20}$`)

// parseToken checks a requestor token before it goes into a URL path.
func parseToken(t string) (string, error) {
	if !tokenFormat.MatchString(t) {
		return "", errors.New("not a Yivi session token")
	}
	return t, nil
}

// ResolveDisclosure asks the server's status and, for a finished session,
// its result. Any replica can ask: the server keeps finished results for
// its session_result_lifetime.
func (x *External) ResolveDisclosure(ctx context.Context, token string) (veilig.DisclosureProgress, veilig.ProofResult, error) {
	if _, err := parseToken(token); err != nil {
		return veilig.ProgressUnknown, veilig.ProofResult{}, nil
	}
	s, err := x.status(ctx, token)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		return veilig.ProgressUnknown, veilig.ProofResult{}, nil
	} else if err != nil {
		return veilig.ProgressUnknown, veilig.ProofResult{}, fmt.Errorf("yivi: resolve disclosure: %w", err)
	}
	p := progress(s)
	if p != veilig.ProgressFinished {
		return p, veilig.ProofResult{}, nil
	}
	res, err := x.result(ctx, token)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		return veilig.ProgressUnknown, veilig.ProofResult{}, nil
	} else if err != nil {
		return veilig.ProgressUnknown, veilig.ProofResult{}, fmt.Errorf("yivi: resolve disclosure: %w", err)
	}
	return p, Outcome(res, x.schemes), nil
}

// progress maps a Yivi server status to how far the disclosure is.
func progress(s irma.ServerStatus) veilig.DisclosureProgress {
	switch s {
	case irma.ServerStatusInitialized, irma.ServerStatusPairing:
		return veilig.ProgressWaiting
	case irma.ServerStatusConnected:
		return veilig.ProgressConnected
	case irma.ServerStatusDone, irma.ServerStatusCancelled, irma.ServerStatusTimeout:
		return veilig.ProgressFinished
	}
	return veilig.ProgressUnknown
}

// Means is Yivi.
func (*External) Means() veilig.Means { return veilig.MeansYivi }

// Name is the means' name in messages.
func (*External) Name() string { return "Yivi" }

// MaxAssurance is the level a Yivi proof gives (Outcome).
func (*External) MaxAssurance() veilig.Assurance { return Assurance }
