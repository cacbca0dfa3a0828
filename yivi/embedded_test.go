package yivi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privacybydesign/irmago/irma"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/internal/yivitest"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

// One embedded server, one HTTPS test server and one wallet for the whole
// binary: irmago keeps its loggers and TLS configuration in package globals,
// which a second server (or parallel sessions) would race on. Tests that use
// them run one after another.
var (
	emb     *yivi.Embedded
	web     *httptest.Server
	wal     *wallet.Wallet
	logs    yivitest.SafeLog
	schemes string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "yivi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	defer func() {
		wal.Close()
		emb.Stop()
		web.Close()
	}()
	return m.Run()
}

func setup(dir string) error {
	var keys string
	var err error
	schemes, keys, err = demoscheme.Extract(dir)
	if err != nil {
		return err
	}
	var h yivitest.Handler
	srv, tc := yivitest.TLSServer(&h)
	web = srv
	// The wallet reaches the server over https with the test certificate,
	// like the real app in production mode (no developer mode needed).
	irma.SetTLSClientConfig(tc)

	emb, err = yivi.NewEmbedded(yivi.EmbeddedConfig{
		SchemesPath:           schemes,
		IssuerPrivateKeysPath: keys,
		URL:                   web.URL + "/irma",
		Production:            true,
		Logger:                logs.Logger(),
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/irma/", http.StripPrefix("/irma", emb.Handler()))
	h.Set(mux)
	if raceDetector {
		yivitest.QuietIrmaclientRace()
	}

	wal, err = wallet.New(filepath.Join(dir, "wallet"), schemes)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ptr, err := emb.StartIssuance(ctx, yivitest.Credentials())
	if err != nil {
		return err
	}
	return wal.Issue(ctx, ptr)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestEmbeddedDisclosure(t *testing.T) {
	rec := yivitest.NewRecorder()
	sd, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{
		Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL,
	}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	yivitest.CheckFrontend(t, sd, web.URL)

	start := time.Now()
	returnURL, err := wal.Disclose(ctx(t), yivi.SessionPtr(sd))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("disclosure took %s", time.Since(start).Round(time.Millisecond))
	// Exactly what the purpose asked: irmago must not have appended the
	// session token (augmentReturnUrl).
	if returnURL != yivitest.ReturnURL {
		t.Errorf("wallet saw clientReturnUrl %q, want %q", returnURL, yivitest.ReturnURL)
	}

	o := rec.Outcome(t, 10*time.Second)
	yivitest.CheckDisclosed(t, o, true)
	if got := rec.Events(); len(got) != 2 || got[0] != "connected" || got[1] != "finished" {
		t.Errorf("watcher calls = %v, want [connected finished]", got)
	}

	// Finished sessions cannot be cancelled.
	if err := emb.CancelDisclosure(ctx(t), sd.Token); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("cancel after finish: %v", err)
	}
	yivitest.CheckNoSecrets(t, logs.String(), sd.Token)
}

func TestEmbeddedRefuse(t *testing.T) {
	rec := yivitest.NewRecorder()
	sd, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{
		Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL,
	}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	if err := wal.Refuse(ctx(t), yivi.SessionPtr(sd)); err != nil {
		t.Fatal(err)
	}
	o := rec.Outcome(t, 10*time.Second)
	if o.Outcome != veilig.ProofCancelled || o.Detail != "" || len(o.Attributes) != 0 {
		t.Fatalf("outcome = %+v", o)
	}
	if rec.Connected() != 1 {
		t.Errorf("Connected called %d times, want 1 (the app fetched the request)", rec.Connected())
	}
	if _, state, reason := o.Judge(yivitest.Purpose()); state != veilig.StateCancelled {
		t.Errorf("Judge = %s %q", state, reason)
	}
}

func TestEmbeddedCancel(t *testing.T) {
	rec := yivitest.NewRecorder()
	sd, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	if err := emb.CancelDisclosure(ctx(t), sd.Token); err != nil {
		t.Fatal(err)
	}
	if o := rec.Outcome(t, 10*time.Second); o.Outcome != veilig.ProofCancelled {
		t.Fatalf("outcome = %+v", o)
	}
	if rec.Connected() != 0 {
		t.Errorf("Connected called for a session no app saw")
	}
	if err := emb.CancelDisclosure(ctx(t), sd.Token); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("second cancel: %v", err)
	}
	if err := emb.CancelDisclosure(ctx(t), "nosuchtoken"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("cancel of unknown token: %v", err)
	}
	// The app comes too late.
	if _, err := wal.Disclose(ctx(t), yivi.SessionPtr(sd)); err == nil {
		t.Error("disclosure to a cancelled session succeeded")
	}
}

func TestEmbeddedInvalidRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  veilig.DisclosureRequest
		code string
	}{
		{"empty", veilig.DisclosureRequest{}, veilig.EINVALID},
		{"empty alternative", veilig.DisclosureRequest{Disclose: [][][]string{{{}}}}, veilig.EINVALID},
		{"malformed id", veilig.DisclosureRequest{Disclose: [][][]string{{{"bsn"}}}}, veilig.EINVALID},
		{"bad return url", veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ClientReturnURL: "12345678"}, veilig.EINVALID},
		// A purpose naming an attribute no scheme has is a configuration
		// fault, not the caller's.
		{"unknown attribute", veilig.DisclosureRequest{Disclose: [][][]string{{{demoscheme.PersonalDataCredential + ".shoesize"}}}}, veilig.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := yivitest.NewRecorder()
			_, err := emb.StartDisclosure(ctx(t), tc.req, rec.Watcher())
			if got := veilig.ErrorCode(err); got != tc.code {
				t.Errorf("error %v has code %q, want %q", err, got, tc.code)
			}
		})
	}
}

// Without schemes the server must refuse to start, not download.
func TestNewEmbeddedNeedsSchemes(t *testing.T) {
	for name, path := range map[string]string{"unset": "", "empty dir": t.TempDir()} {
		_, err := yivi.NewEmbedded(yivi.EmbeddedConfig{SchemesPath: path, URL: "https://example.invalid/irma"})
		if err == nil || !strings.Contains(err.Error(), "scheme") {
			t.Errorf("%s: NewEmbedded error = %v", name, err)
		}
	}
	if _, err := yivi.NewEmbedded(yivi.EmbeddedConfig{SchemesPath: schemes, URL: "/irma"}); err == nil {
		t.Error("relative URL accepted")
	}
}

// ConnectWithin is irmago's client timeout: a session no app fetched in
// time ends as TIMEOUT (so the Yivi server lets go of it when the session
// itself would expire), and an app that comes later is refused.
func TestEmbeddedConnectWithin(t *testing.T) {
	rec := yivitest.NewRecorder()
	sd, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ConnectWithin: 1500 * time.Millisecond}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	o := rec.Outcome(t, 15*time.Second)
	if o.Outcome != veilig.ProofTimedOut {
		t.Fatalf("outcome = %+v, want TIMEOUT", o)
	}
	// Whole seconds, rounded up: 2 s.
	if waited := time.Since(start); waited < 1900*time.Millisecond {
		t.Errorf("timed out after %s, before the 2 s the app was given", waited)
	}
	if _, err := wal.Disclose(ctx(t), yivi.SessionPtr(sd)); err == nil {
		t.Error("an app connecting after the timeout was served")
	}
	if rec.Connected() != 0 {
		t.Error("Connected called for a session that timed out")
	}
	if _, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{Disclose: yivitest.Condiscon, ConnectWithin: -time.Second}, yivitest.NewRecorder().Watcher()); veilig.ErrorCode(err) != veilig.EINVALID {
		t.Errorf("negative ConnectWithin: %v, want EINVALID", err)
	}
}

// TestEmbeddedResolve: asked at any moment, the embedded server says how
// far a disclosure is, and hands the outcome of a finished one.
func TestEmbeddedResolve(t *testing.T) {
	rec := yivitest.NewRecorder()
	sd, err := emb.StartDisclosure(ctx(t), veilig.DisclosureRequest{
		Disclose: yivitest.Condiscon, ClientReturnURL: yivitest.ReturnURL,
	}, rec.Watcher())
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := emb.ResolveDisclosure(ctx(t), sd.Token); err != nil || p != veilig.ProgressWaiting {
		t.Fatalf("before the app connected: %v %v, want waiting", p, err)
	}
	if _, err := wal.Disclose(ctx(t), yivi.SessionPtr(sd)); err != nil {
		t.Fatal(err)
	}
	rec.Outcome(t, 10*time.Second)
	p, o, err := emb.ResolveDisclosure(ctx(t), sd.Token)
	if err != nil || p != veilig.ProgressFinished {
		t.Fatalf("after the disclosure: %v %v, want finished", p, err)
	}
	yivitest.CheckDisclosed(t, o, true)
	if p, _, err := emb.ResolveDisclosure(ctx(t), "no-such-token"); err != nil || p != veilig.ProgressUnknown {
		t.Errorf("unknown session: %v %v, want unknown", p, err)
	}
}
