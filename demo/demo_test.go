package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// carrier plays the receiving end of the telephony API for the demo phone:
// it checks each request's signature with the real telephony.Verify, as
// veilig's internal listener does, records it, and answers a match for
// goodCode only. (The demo phone against the real API is tested in
// cmd/veilig.)
type carrier struct {
	secret []byte
	mu     sync.Mutex
	calls  []veilig.IncomingCall
	states []telephony.CallStateReport
	bad    int // requests whose signature failed
}

const goodCode = "12345678"

func (c *carrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if _, err := telephony.Verify(c.secret, time.Now(), time.Minute, r.Header.Get(telephony.TimestampHeader), r.Header.Get(telephony.NonceHeader), r.Header.Get(telephony.SignatureHeader), r.Method, r.URL.Path, body); err != nil {
		c.mu.Lock()
		c.bad++
		c.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"bad signature"}}`)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/telephony/v1/calls":
		var call veilig.IncomingCall
		json.Unmarshal(body, &call)
		if call.CallerNumber == "+31699999999" {
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"rate_limited","message":"too many wrong codes from this caller; try again later"}}`)
			return
		}
		c.calls = append(c.calls, call)
		json.NewEncoder(w).Encode(veilig.CallMatch{Matched: call.Code == goodCode, ContactRef: "contact-1", PurposeID: PurposeID})
	case "/telephony/v1/call-states":
		var s telephony.CallStateReport
		json.Unmarshal(body, &s)
		c.states = append(c.states, s)
		io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

var pages = fstest.MapFS{
	"index.html":      {Data: []byte("<!doctype html><title>site</title>")},
	"wallet.html":     {Data: []byte("<!doctype html><title>wallet</title>")},
	"phone.html":      {Data: []byte("<!doctype html><title>phone</title>")},
	"assets/demo.css": {Data: []byte("body{}")},
	"assets/site.js":  {Data: []byte("export {}")},
}

type fixture struct {
	srv     *httptest.Server
	demo    *Demo
	carrier *carrier
	emb     *yivi.Embedded
	logs    *bytes.Buffer
}

// One embedded Yivi server for the package's tests: irmago keeps its logger
// and TLS configuration in package globals, and its client a global per
// session, so tests that use it run one after another.
var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	logMu   sync.Mutex
)

type lockedWriter struct{ b *bytes.Buffer }

func (w lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return w.b.Write(p)
}

func logsString(f *fixture) string {
	logMu.Lock()
	defer logMu.Unlock()
	return f.logs.String()
}

// setup runs the demo as `make run` does: plain http, the embedded Yivi
// server not in production mode, the demo wallet in developer mode.
func setup(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir := testDir
		schemes, keys, err := demoscheme.Extract(filepath.Join(dir, "yivi"))
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{carrier: &carrier{secret: []byte("a telephony secret of at least thirty-two bytes")}, logs: &bytes.Buffer{}}
		log := slog.New(slog.NewTextHandler(lockedWriter{f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		mux := http.NewServeMux()
		f.srv = httptest.NewServer(mux)
		tel := httptest.NewServer(f.carrier)
		f.emb, err = yivi.NewEmbedded(yivi.EmbeddedConfig{
			SchemesPath: schemes, IssuerPrivateKeysPath: keys, URL: f.srv.URL + "/irma", Logger: log,
		})
		if err != nil {
			fixErr = err
			return
		}
		f.demo, err = New(Config{
			PublicURL: f.srv.URL, Pages: pages, Issuer: f.emb,
			WalletDir: filepath.Join(dir, "wallet"), DeveloperMode: true,
			Telephony: &telephony.Client{BaseURL: tel.URL, Secret: f.carrier.secret},
			Municipalities: []Municipality{
				{ID: "default", Names: map[string]string{"nl": "Gemeente Voorbeeldstad", "en": "Voorbeeldstad"}, Purpose: PurposeID, Number: "+31850000000", AgentUsername: "demo", AgentPasswordFile: "/data/demo-agent-password"},
				{ID: "anderdorp", Names: map[string]string{"nl": "Gemeente Anderdorp", "en": "Anderdorp"}, Purpose: "demo-anderdorp", Number: "+31850000001", AgentUsername: "demo-anderdorp", AgentPasswordFile: "/data/demo-anderdorp-agent-password"},
			},
			CallState: fakeCallState,
			Logger:    log,
		})
		if err != nil {
			fixErr = err
			return
		}
		mux.Handle("/irma/", http.StripPrefix("/irma", f.emb.Handler()))
		for pattern, h := range f.demo.Routes() {
			mux.Handle(pattern, h)
		}
		fix = f
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

var testDir string

// callStates is what the fixture's store says of the demo phone's calls:
// call id → veilig.SessionState, or an error.
var callStates sync.Map

func fakeCallState(_ context.Context, provider, callID string) (veilig.SessionState, error) {
	if provider != Provider {
		return "", veilig.Errorf(veilig.EINVALID, "provider %s", provider)
	}
	v, ok := callStates.Load(callID)
	if !ok {
		return "", veilig.Errorf(veilig.ENOTFOUND, "no session for this call")
	}
	if err, ok := v.(error); ok {
		return "", err
	}
	return v.(veilig.SessionState), nil
}

func TestMain(m *testing.M) {
	var err error
	if testDir, err = os.MkdirTemp("", "veilig-demo-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	if fix != nil {
		fix.demo.Close()
		fix.emb.Stop()
		fix.srv.Close()
	}
	os.RemoveAll(testDir)
	os.Exit(code)
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPages(t *testing.T) {
	f := setup(t)
	for path, title := range map[string]string{"/demo": "site", "/demo/wallet": "wallet", "/demo/phone": "phone"} {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(raw), "<title>"+title+"</title>") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, raw)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: content type %q", path, resp.Header.Get("Content-Type"))
		}
	}
	if st, h, _ := f.do(t, "GET", "/demo/assets/demo.css", "", nil); st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %s", st, h.Get("Content-Type"))
	}
	if st, h, _ := f.do(t, "GET", "/demo/assets/site.js", "", nil); st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
		t.Errorf("js: %d %s", st, h.Get("Content-Type"))
	}
	for _, p := range []string{"/demo/assets/nope.css", "/demo/assets/..%2Findex.html", "/demo/assets/.hidden", "/demo/other"} {
		if st, _, _ := f.do(t, "GET", p, "", nil); st != 404 {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/demo/", nil)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil || resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/demo" {
		t.Errorf("/demo/: %v %v", resp, err)
	}

	st, _, info := f.do(t, "GET", "/demo/api/info", "", nil)
	if st != 200 || info["purpose"] != PurposeID || info["walletAvailable"] != true || info["callerNumber"] != DefaultCaller || info["agentUsername"] != "demo" {
		t.Errorf("info: %d %v", st, info)
	}
	if ms, _ := info["municipalities"].([]any); len(ms) != 2 || ms[1].(map[string]any)["purpose"] != "demo-anderdorp" || ms[1].(map[string]any)["agentUsername"] != "demo-anderdorp" {
		t.Errorf("info municipalities: %v", info["municipalities"])
	}
}

// TestSameSite: the endpoints that act answer the demo pages (and tools
// without an Origin), never another site's page.
func TestSameSite(t *testing.T) {
	f := setup(t)
	f.carrier.mu.Lock()
	before := len(f.carrier.calls)
	f.carrier.mu.Unlock()
	body := jsonBody(map[string]string{"dial": "tel:+31850000000," + goodCode})
	for name, hdr := range map[string]map[string]string{
		"other origin":    {"Origin": "https://evil.example"},
		"cross-site":      {"Sec-Fetch-Site": "cross-site"},
		"same-site other": {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.127.0.0.1"},
	} {
		for _, path := range []string{"/demo/api/phone/calls", "/demo/api/wallet/disclose", "/demo/api/wallet/credentials", "/demo/issue"} {
			if st, _, e := f.do(t, "POST", path, body, hdr); st != 403 || e["error"] == nil {
				t.Errorf("%s %s: %d %v", name, path, st, e)
			}
		}
	}
	f.carrier.mu.Lock()
	after := len(f.carrier.calls)
	f.carrier.mu.Unlock()
	if after != before {
		t.Fatal("a refused request reached the telephony API")
	}
	// The page itself is let through.
	if st, _, out := f.do(t, "POST", "/demo/api/phone/calls", body, map[string]string{"Origin": f.srv.URL, "Sec-Fetch-Site": "same-origin"}); st != 200 || out["result"] != "connected" {
		t.Fatalf("same origin: %d %v", st, out)
	}
}

// TestIcon: every demo page names an icon the demo serves, so a browser
// asks for no /favicon.ico (which would be a 404).
func TestIcon(t *testing.T) {
	d, err := New(Config{PublicURL: "http://127.0.0.1:8080", Telephony: &telephony.Client{BaseURL: "http://127.0.0.1:1"}, Municipalities: []Municipality{{ID: "default", Purpose: PurposeID, Number: "+31850000000"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range d.Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	icon := regexp.MustCompile(`<link rel="icon" href="([^"]+)" type="image/svg\+xml">`)
	for _, page := range []string{"/demo", "/demo/wallet", "/demo/phone"} {
		resp, err := http.Get(srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := icon.FindSubmatch(body)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("%s: %d, links no SVG icon", page, resp.StatusCode)
		}
		resp, err = http.Get(srv.URL + string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		svg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(svg, []byte("<svg ")) {
			t.Fatalf("%s: icon %s: %d %s", page, m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestWallet: the demo wallet is issued the demo credentials in a real
// issuance session and discloses them, with irmago's real client, in a
// session the embedded server started; the page gets what the Yivi app
// would open.
func TestWallet(t *testing.T) {
	f := setup(t)
	st, _, v := f.do(t, "GET", "/demo/api/wallet", "", nil)
	if st != 200 || v["available"] != true || len(v["credentials"].([]any)) != 0 {
		t.Fatalf("fresh wallet: %d %v", st, v)
	}

	outcome := make(chan veilig.ProofResult, 1)
	const ret = "tel:+31850000000,87654321"
	started, err := f.emb.StartDisclosure(context.Background(), veilig.DisclosureRequest{
		Disclose:        [][][]string{{{demoscheme.FullName, demoscheme.BSN}}},
		ClientReturnURL: ret,
	}, veilig.DisclosureWatcher{Finished: func(o veilig.ProofResult) { outcome <- o }})
	if err != nil {
		t.Fatal(err)
	}
	// Handed over as the QR code holds it.
	var ptr SessionPointer
	json.Unmarshal(yivi.SessionPtr(started), &ptr)
	qr := jsonBody(map[string]any{"u": ptr.U, "irmaqr": ptr.Irmaqr, "continueOnSecondDevice": true})
	link := "https://open.yivi.app/-/session#" + url.QueryEscape(qr)

	st, _, out := f.do(t, "POST", "/demo/api/wallet/disclose", jsonBody(map[string]string{"session": link}), nil)
	if st != 200 {
		t.Fatalf("disclose: %d %v", st, out)
	}
	d, _ := out["disclosed"].(map[string]any)
	if d["clientReturnUrl"] != ret || d["number"] != "+31850000000" || d["code"] != "87654321" || out["issuedNow"] != true {
		t.Fatalf("disclose answer %v", out)
	}
	if len(out["credentials"].([]any)) != 2 {
		t.Fatalf("credentials %v", out["credentials"])
	}
	select {
	case o := <-outcome:
		got := map[string]string{}
		for _, a := range o.Attributes {
			got[a.ID] = a.Value
		}
		if o.Outcome != veilig.ProofProven || got[demoscheme.FullName] != "Jan de Vries" || got[demoscheme.BSN] != "999999990" {
			t.Fatalf("the Yivi server saw %+v", o)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the disclosure never finished")
	}

	// The same session again: it is over.
	if st, _, e := f.do(t, "POST", "/demo/api/wallet/disclose", jsonBody(map[string]string{"session": string(yivi.SessionPtr(started))}), nil); st != 409 || e["error"] == nil {
		t.Fatalf("used session: %d %v", st, e)
	}
	// Only sessions of this server, and only disclosures.
	other := jsonBody(map[string]string{"u": "https://elsewhere.example/irma/session/abc", "irmaqr": "disclosing"})
	issuing := jsonBody(map[string]string{"u": f.srv.URL + "/irma/session/abc", "irmaqr": "issuing"})
	for name, s := range map[string]string{"other server": other, "issuance": issuing, "garbage": "hello", "empty": ""} {
		if st, _, e := f.do(t, "POST", "/demo/api/wallet/disclose", jsonBody(map[string]string{"session": s}), nil); st != 400 || e["error"] == nil {
			t.Errorf("%s: %d %v", name, st, e)
		}
	}

	// The wallet holds what it was issued; asking again reissues.
	st, _, v = f.do(t, "POST", "/demo/api/wallet/credentials", "", nil)
	if st != 200 || v["issuedNow"] != true || len(v["credentials"].([]any)) != 2 || v["issuedAt"] == nil {
		t.Fatalf("reissue: %d %v", st, v)
	}

	// POST /demo/issue hands a session pointer to a wallet elsewhere.
	st, _, p := f.do(t, "POST", "/demo/issue", "", nil)
	sp, _ := p["sessionPtr"].(map[string]any)
	if st != 200 || sp["irmaqr"] != "issuing" || !strings.HasPrefix(sp["u"].(string), f.srv.URL+"/irma/session/") {
		t.Fatalf("issue: %d %v", st, p)
	}

	logs := logsString(f)
	for _, secret := range []string{"87654321", "Jan de Vries", "999999990", ptr.U} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	tel := &telephony.Client{BaseURL: "http://127.0.0.1:1"}
	ms := []Municipality{{ID: "default", Purpose: PurposeID, Number: "+31850000000"}}
	for name, cfg := range map[string]Config{
		"no url":          {Pages: pages, Telephony: tel, Municipalities: ms},
		"relative url":    {PublicURL: "/x", Pages: pages, Telephony: tel, Municipalities: ms},
		"no telephony":    {PublicURL: "http://127.0.0.1:8080", Pages: pages, Municipalities: ms},
		"no municipality": {PublicURL: "http://127.0.0.1:8080", Pages: pages, Telephony: tel},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Without an issuer (an external Yivi server) the wallet is
	// unavailable, and says so.
	d, err := New(Config{PublicURL: "http://127.0.0.1:8080", Pages: pages, Telephony: tel, Municipalities: ms})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux := http.NewServeMux()
		for p, h := range d.Routes() {
			mux.Handle(p, h)
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/demo/api/wallet/disclose", "application/json", strings.NewReader(`{"session":"x"}`))
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("wallet without issuer: %v %v", resp, err)
	}
}

// TestWalletTurn: a request waits for the wallet's turn only as long as it
// may; the demo wallet is one irmago client, one session at a time.
func TestWalletTurn(t *testing.T) {
	f := setup(t)
	dw := f.demo.wallet
	if !dw.lock(context.Background()) {
		t.Fatal("the free wallet is busy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if dw.lock(ctx) {
		t.Fatal("two turns at once")
	}
	dw.unlock()
	if !dw.lock(context.Background()) {
		t.Fatal("the turn was not given back")
	}
	dw.unlock()
}

// TestEmbeddedPagesComplete: every asset a page links is embedded, so the
// demo served from the binary has no broken link.
func TestEmbeddedPagesComplete(t *testing.T) {
	ref := regexp.MustCompile(`(?:src|href)="/demo/(assets/[^"]+)"`)
	for _, page := range []string{"index.html", "wallet.html", "phone.html"} {
		body, err := fs.ReadFile(Pages(), page)
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		links := ref.FindAllStringSubmatch(string(body), -1)
		if len(links) == 0 {
			t.Fatalf("%s links no asset: the check below would prove nothing", page)
		}
		for _, m := range links {
			if _, err := fs.Stat(Pages(), m[1]); err != nil {
				t.Errorf("%s links %s, which is not embedded", page, m[1])
			}
		}
	}
}
