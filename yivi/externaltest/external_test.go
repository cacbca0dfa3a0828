package externaltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"
	"github.com/privacybydesign/irmago/irma/server/requestorserver"
	"github.com/sirupsen/logrus"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/internal/yivitest"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

const requestorToken = "veilig-test-requestor-token"

var (
	rs      *requestorserver.Server // started, never stopped: see run
	web     *httptest.Server
	wal     *wallet.Wallet
	schemes string
	logs    yivitest.SafeLog

	// sseOff makes the test server answer status event requests the way
	// irmago does when enable_sse is off, to exercise the polling fallback
	// against the same server.
	sseOff atomic.Bool
	// requests counts status requests (polls and catch-ups).
	statusRequests atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "yivi-external-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	// rs.Stop panics unless rs.Start ran (it closes a channel Start
	// makes); the process ends right after anyway.
	defer func() {
		wal.Close()
		web.Close()
	}()
	return m.Run()
}

func setup(dir string) error {
	var keys string
	var err error
	if schemes, keys, err = demoscheme.Extract(dir); err != nil {
		return err
	}
	var h yivitest.Handler
	srv, tc := yivitest.TLSServer(&h)
	web = srv
	irma.SetTLSClientConfig(tc)

	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	rs, err = requestorserver.New(&requestorserver.Configuration{
		Configuration: &server.Configuration{
			SchemesPath:           schemes,
			IssuerPrivateKeysPath: keys,
			DisableSchemesUpdate:  true,
			URL:                   web.URL + "/irma",
			Production:            true,
			EnableSSE:             true,
			Logger:                quiet,
		},
		// The test server listens, not rs.Start; Port only has to be valid.
		Port: 1,
		Requestors: map[string]requestorserver.Requestor{
			"veilig": {
				AuthenticationMethod: requestorserver.AuthenticationMethodToken,
				AuthenticationKey:    requestorToken,
				Permissions: requestorserver.Permissions{
					Disclosing: []string{demoscheme.SchemeID + ".*"},
					Issuing:    []string{demoscheme.IssuerID + ".*"},
				},
			},
		},
	})
	if err != nil {
		return err
	}
	api := rs.Handler()
	h.Set(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/session/") && strings.HasSuffix(r.URL.Path, "/status") {
			statusRequests.Add(1)
		}
		if sseOff.Load() && strings.HasPrefix(r.URL.Path, "/session/") && strings.HasSuffix(r.URL.Path, "/statusevents") {
			// irmago's answer with enable_sse off.
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"status":500,"error":"SSE_DISABLED","description":"Server sent events disabled"}`)
			return
		}
		api.ServeHTTP(w, r)
	}))

	if raceDetector {
		yivitest.QuietIrmaclientRace()
	}
	if wal, err = wallet.New(filepath.Join(dir, "wallet"), schemes); err != nil {
		return err
	}
	creds := yivitest.Credentials()
	var reqs []*irma.CredentialRequest
	for _, c := range creds {
		reqs = append(reqs, &irma.CredentialRequest{CredentialTypeID: irma.NewCredentialTypeIdentifier(c.Type), Attributes: c.Attributes})
	}
	qr, _, _, err := rs.StartSession(irma.NewIssuanceRequest(reqs), nil, "veilig")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return wal.Issue(ctx, mustJSON(qr))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newExternal(t *testing.T, token string) *yivi.External {
	t.Helper()
	x, err := yivi.NewExternal(yivi.ExternalConfig{
		URL:        web.URL,
		Token:      token,
		HTTPClient: web.Client(),
		Schemes:    schemes,
		Logger:     logs.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Stop)
	return x
}

// subscribeGrace gives the watcher time to open the status stream before
// the wallet, which takes some 20 ms for a whole disclosure, starts. A real
// person takes seconds; without the wait the test could see the session
// finish before the stream is open, which is handled (the catch-up status
// finds it) but then Connected is legitimately skipped.
const subscribeGrace = 500 * time.Millisecond

func TestExternalDisclosure(t *testing.T) {
	x := newExternal(t, requestorToken)
	rec := yivitest.NewRecorder()
	sd, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{
		Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL,
	}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	yivitest.CheckFrontend(t, sd, web.URL)
	time.Sleep(subscribeGrace)

	polls := statusRequests.Load()
	returnURL, err := wal.Disclose(testCtx(t), yivi.SessionPtr(sd))
	if err != nil {
		t.Fatal(err)
	}
	if returnURL != yivitest.ReturnURL {
		t.Errorf("wallet saw clientReturnUrl %q, want %q", returnURL, yivitest.ReturnURL)
	}
	o := rec.Outcome(t, 10*time.Second)
	yivitest.CheckDisclosed(t, o, true)
	if got := rec.Events(); len(got) != 2 || got[0] != "connected" || got[1] != "finished" {
		t.Errorf("watcher calls = %v, want [connected finished]", got)
	}
	// The events came over SSE: no status polling while the session ran.
	if n := statusRequests.Load() - polls; n > 0 {
		t.Errorf("%d status requests during an SSE-followed session", n)
	}
	if err := x.CancelDisclosure(testCtx(t), sd.Token); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("cancel after finish: %v", err)
	}
	yivitest.CheckNoSecrets(t, logs.String(), sd.Token, requestorToken)
}

func TestExternalRefuse(t *testing.T) {
	x := newExternal(t, requestorToken)
	rec := yivitest.NewRecorder()
	sd, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(subscribeGrace)
	if err := wal.Refuse(testCtx(t), yivi.SessionPtr(sd)); err != nil {
		t.Fatal(err)
	}
	o := rec.Outcome(t, 10*time.Second)
	if o.Outcome != veilig.ProofCancelled || o.Detail != "" {
		t.Fatalf("outcome = %+v", o)
	}
	if _, state, _ := o.Judge(yivitest.Purpose()); state != veilig.StateCancelled {
		t.Errorf("Judge = %s", state)
	}
}

func TestExternalCancel(t *testing.T) {
	x := newExternal(t, requestorToken)
	rec := yivitest.NewRecorder()
	sd, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	if err := x.CancelDisclosure(testCtx(t), sd.Token); err != nil {
		t.Fatal(err)
	}
	if o := rec.Outcome(t, 10*time.Second); o.Outcome != veilig.ProofCancelled {
		t.Fatalf("outcome = %+v", o)
	}
	if err := x.CancelDisclosure(testCtx(t), sd.Token); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("second cancel: %v", err)
	}
	if err := x.CancelDisclosure(testCtx(t), "AAAAAAAAAAAAAAAAAAAA"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("cancel of unknown session: %v", err)
	}
	if err := x.CancelDisclosure(testCtx(t), "../../x"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("cancel of malformed token: %v", err)
	}
}

// ConnectWithin reaches the external server as the request's "timeout": a
// session no app fetched in time ends there as TIMEOUT, and we hear it.
func TestExternalConnectWithin(t *testing.T) {
	x := newExternal(t, requestorToken)
	rec := yivitest.NewRecorder()
	if _, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ConnectWithin: time.Second}, rec.Watcher()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if o := rec.Outcome(t, 15*time.Second); o.Outcome != veilig.ProofTimedOut {
		t.Fatalf("outcome = %+v, want TIMEOUT", o)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("the timeout was heard after %s", waited)
	}
}

// With SSE off at the server, the watcher polls the status instead.
func TestExternalPollingFallback(t *testing.T) {
	sseOff.Store(true)
	t.Cleanup(func() { sseOff.Store(false) })
	x := newExternal(t, requestorToken)
	rec := yivitest.NewRecorder()
	sd, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	// While nobody scans, the interval grows: polls at about 0, 0.5, 1.5,
	// 3.5 and 7.5 s, where polling once a second would make 7 or 8.
	before := statusRequests.Load()
	time.Sleep(7 * time.Second)
	if n := statusRequests.Load() - before; n < 3 || n > 5 {
		t.Errorf("%d status polls in 7 s, want 3-5 (a growing interval, not once a second)", n)
	}
	if _, err := wal.Disclose(testCtx(t), yivi.SessionPtr(sd)); err != nil {
		t.Fatal(err)
	}
	// The session went from INITIALIZED to DONE between two polls, so no
	// Connected is expected; the result is.
	yivitest.CheckDisclosed(t, rec.Outcome(t, 10*time.Second), true)
}

func TestExternalWrongToken(t *testing.T) {
	x := newExternal(t, "not-the-token")
	_, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon}, yivitest.NewRecorder().Watcher())
	if !errors.Is(err, yivi.ErrUnauthorized) {
		t.Fatalf("error = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("error shows the token: %v", err)
	}
	t.Logf("wrong token: %v", err)
}

func TestExternalServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	x, err := yivi.NewExternal(yivi.ExternalConfig{URL: "http://" + addr, Token: requestorToken, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	_, err = x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon}, yivitest.NewRecorder().Watcher())
	if veilig.ErrorCode(err) != veilig.EUNAVAILABLE {
		t.Fatalf("error = %v (code %s), want EUNAVAILABLE", err, veilig.ErrorCode(err))
	}
	if err := x.CancelDisclosure(testCtx(t), "AAAAAAAAAAAAAAAAAAAA"); veilig.ErrorCode(err) != veilig.EUNAVAILABLE {
		t.Errorf("cancel: %v", err)
	}
	t.Logf("server down: %v", err)
}

// A server that accepts connections but never answers must not hang
// StartDisclosure beyond RequestTimeout.
func TestExternalServerHangs(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, or net/http does not notice the client leaving.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hang.Close()
	defer hang.CloseClientConnections()
	x, err := yivi.NewExternal(yivi.ExternalConfig{URL: hang.URL, Token: requestorToken, RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	start := time.Now()
	_, err = x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon}, yivitest.NewRecorder().Watcher())
	if veilig.ErrorCode(err) != veilig.EUNAVAILABLE || time.Since(start) > 3*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// TestExternalResolve: any replica may ask the server how far a
// disclosure is, and get the outcome of a finished one, whether or not it
// follows the session.
func TestExternalResolve(t *testing.T) {
	x := newExternal(t, requestorToken)
	other := newExternal(t, requestorToken) // another replica: follows nothing
	rec := yivitest.NewRecorder()
	sd, err := x.StartDisclosure(testCtx(t), veilig.DisclosureRequest{
		Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL,
	}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := other.ResolveDisclosure(testCtx(t), sd.Token); err != nil || p != veilig.ProgressWaiting {
		t.Fatalf("before the app connected: %v %v, want waiting", p, err)
	}
	if _, err := wal.Disclose(testCtx(t), yivi.SessionPtr(sd)); err != nil {
		t.Fatal(err)
	}
	p, o, err := other.ResolveDisclosure(testCtx(t), sd.Token)
	if err != nil || p != veilig.ProgressFinished {
		t.Fatalf("after the disclosure: %v %v, want finished", p, err)
	}
	yivitest.CheckDisclosed(t, o, true)
	rec.Outcome(t, 10*time.Second)
	if p, _, err := other.ResolveDisclosure(testCtx(t), "AbCdEfGhIjKlMnOpQrSt"); err != nil || p != veilig.ProgressUnknown {
		t.Errorf("unknown session: %v %v, want unknown", p, err)
	}
	yivitest.CheckNoSecrets(t, logs.String(), sd.Token, requestorToken)
}
