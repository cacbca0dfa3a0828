package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/sqlite"
)

// withStdin runs fn with s as standard input.
func withStdin(t *testing.T, s string, fn func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(w, s); w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	fn()
}

// TestUserAddAndMigrate runs the admin commands as an operator would.
func TestUserAddAndMigrate(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VEILIG_DATA_DIR", dir)
	// Before any database exists (an operator who forgot -config), the
	// account is refused, not put into a new local file.
	withStdin(t, "a long enough password\n", func() {
		if err := run([]string{"user", "add", "-username", "ada", "-password-stdin"}); err == nil || !strings.Contains(err.Error(), "-config") {
			t.Fatalf("user add without a database: %v", err)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, "veilig.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("user add created a database: %v", err)
	}
	if err := run([]string{"migrate"}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	// The demo serves two organisations: the account names its own, and
	// only that organisation's purposes.
	for args, want := range map[string]string{
		"":                                      "-org is required: this deployment serves the organisations default, anderdorp",
		"-org ede":                              `-org "ede" is not an organisation this deployment serves`,
		"-org default -purposes demo,tax":       `purpose "tax" is not configured`,
		"-org anderdorp -purposes demo":         `purpose "demo" is not of organisation anderdorp`,
		"-org default -purposes demo-anderdorp": `purpose "demo-anderdorp" is not of organisation default`,
	} {
		withStdin(t, "a long enough password\n", func() {
			err := run(append([]string{"user", "add", "-username", "eve", "-password-stdin"}, strings.Fields(args)...))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("user add %s: %v, want %q", args, err, want)
			}
		})
	}
	withStdin(t, "a long enough password\n", func() {
		if err := run([]string{"user", "add", "-username", "alice", "-role", "supervisor", "-org", "default", "-purposes", "demo", "-password-stdin"}); err != nil {
			t.Fatalf("user add: %v", err)
		}
	})
	withStdin(t, "a long enough password\n", func() {
		if err := run([]string{"user", "add", "-username", "anna", "-org", "anderdorp", "-purposes", "demo-anderdorp", "-password-stdin"}); err != nil {
			t.Fatalf("user add -org anderdorp: %v", err)
		}
	})
	withStdin(t, "another password here\n", func() {
		if err := run([]string{"user", "add", "-username", "alice", "-org", "default", "-password-stdin"}); err == nil || !strings.Contains(err.Error(), "taken") {
			t.Fatalf("duplicate user: %v", err)
		}
	})
	withStdin(t, "short\n", func() {
		if err := run([]string{"user", "add", "-username", "bob", "-org", "default", "-password-stdin"}); err == nil || !strings.Contains(err.Error(), "at least 12") {
			t.Fatalf("short password: %v", err)
		}
	})
	if err := run([]string{"user", "add", "-username", "x y", "-password-stdin"}); err == nil {
		t.Fatal("bad username accepted")
	}
	if err := run([]string{"user", "add", "-username", "carol", "-role", "boss"}); err == nil {
		t.Fatal("bad role accepted")
	}

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "veilig.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.AgentByUsername(context.Background(), "alice")
	if err != nil || a.Role != veilig.RoleSupervisor || strings.Join(a.Purposes, ",") != "demo" || a.OrgID != "default" {
		t.Fatalf("alice: %+v %v", a, err)
	}
	if a, err := st.AgentByUsername(context.Background(), "anna"); err != nil || a.OrgID != "anderdorp" {
		t.Fatalf("anna: %+v %v", a, err)
	}
	if _, err := st.AgentByUsername(context.Background(), "eve"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("a refused account was stored: %v", err)
	}
	auth, _ := agentauth.New(st, 30*time.Minute, 8*time.Hour, 5, nil)
	if _, err := auth.Login(context.Background(), "alice", "a long enough password", "127.0.0.1"); err != nil {
		t.Fatalf("alice cannot sign in with the password given on stdin: %v", err)
	}
	if _, err := st.AgentByUsername(context.Background(), "bob"); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("a refused user was stored: %v", err)
	}
	// A platform operator: of no organisation, no purpose.
	if err := run([]string{"user", "add", "-username", "otto", "-role", "operator", "-org", "default", "-no-password"}); err == nil || !strings.Contains(err.Error(), "leave out -org and -purposes") {
		t.Fatalf("operator with -org: %v", err)
	}
	if err := run([]string{"user", "add", "-username", "otto", "-role", "operator", "-no-password"}); err != nil {
		t.Fatalf("user add -role operator: %v", err)
	}
	if o, err := st.AgentByUsername(context.Background(), "otto"); err != nil || o.OrgID != veilig.PlatformOrganisation || len(o.Purposes) != 0 {
		t.Fatalf("otto: %+v %v", o, err)
	}
	// An account for single sign-on only: no password is asked, none opens it.
	if err := run([]string{"user", "add", "-username", "dora", "-org", "default", "-no-password"}); err != nil {
		t.Fatalf("user add -no-password: %v", err)
	}
	if d, err := st.AgentByUsername(context.Background(), "dora"); err != nil || d.PasswordHash != "" {
		t.Fatalf("dora: %+v %v", d, err)
	}
	if _, err := auth.Login(context.Background(), "dora", "", "127.0.0.1"); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("a single sign-on account opened with an empty password: %v", err)
	}
}

// TestOrgRemove: an operator removes an organisation that no longer has
// purposes; its accounts go, another's stay, and a live one is refused.
func TestOrgRemove(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "veilig.yaml")
	os.WriteFile(cfgFile, []byte(`
data_dir: `+dir+`
demo: false
yivi: {schemes_path: `+dir+`}
organisations:
  - {id: arnhem, names: {nl: Arnhem, en: Arnhem}}
  - {id: tiel, names: {nl: Tiel, en: Tiel}, retention: {keep_audit_on_removal: true}}
  - {id: ede, names: {nl: Ede, en: Ede}}
purposes:
  - id: arnhem-belastingen
    organisation: arnhem
    labels: {nl: Belastingen, en: Taxes}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234567"}
`), 0o600)
	if err := run([]string{"migrate", "-config", cfgFile}); err != nil {
		t.Fatal(err)
	}
	for _, u := range [][2]string{{"ada", "arnhem"}, {"tom", "tiel"}, {"eef", "ede"}} {
		if err := run([]string{"user", "add", "-config", cfgFile, "-username", u[0], "-org", u[1], "-no-password"}); err != nil {
			t.Fatalf("user add %v: %v", u, err)
		}
	}
	if err := run([]string{"org", "remove", "-config", cfgFile, "-org", "arnhem", "-yes"}); err == nil || !strings.Contains(err.Error(), `still has purpose "arnhem-belastingen"`) {
		t.Fatalf("live organisation removed: %v", err)
	}
	if err := run([]string{"org", "remove", "-config", cfgFile, "-org", "ede"}); err == nil || !strings.Contains(err.Error(), "add -yes to confirm") {
		t.Fatalf("removal without -yes: %v", err)
	}
	if err := run([]string{"org", "remove", "-config", cfgFile, "-org", "ede", "-yes"}); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"org", "remove", "-config", cfgFile, "-org", "tiel", "-yes"}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "veilig.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]bool{"ada": true, "tom": false, "eef": false} {
		_, err := st.AgentByUsername(context.Background(), name)
		if (err == nil) != want {
			t.Errorf("%s present %v after removals, want %v", name, err == nil, want)
		}
	}
}

// TestConfigurationProblemsStopServe: serve refuses a bad configuration
// with every problem, and starts nothing.
func TestConfigurationProblemsStopServe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("database: {url: mysql://x}\nlog: {level: loud}\n"), 0o600)
	err := run([]string{"serve", "-config", p})
	if err == nil || !strings.Contains(err.Error(), "database.url") || !strings.Contains(err.Error(), "log.level") {
		t.Fatalf("serve with a bad configuration: %v", err)
	}
}

// TestHealthAndMetrics: the internal listener answers health, readiness and
// Prometheus metrics that count what happened, without personal data.
func TestHealthAndMetrics(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", nil)
	// A code with a wrong check digit is not looked up; a well-formed one is.
	for i, code := range []string{"12345674", "0000000000"} {
		if m, err := ta.call(code, "+31611112222", "h"+strconv.Itoa(i)); err != nil || m.Matched {
			t.Fatalf("call: %+v %v", m, err)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/healthz", `"ok"`}, {"/readyz", `"ready"`},
		{"/metrics", `veilig_calls_total{organisation="default",result="no_match"} 1`},
		{"/metrics", `veilig_calls_total{organisation="default",result="malformed"} 1`},
		{"/metrics", "veilig_guessing_alarm 0"},
	} {
		path, want := c.path, c.want
		resp, err := http.Get(ta.internalURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, want %q in:\n%.400s", path, resp.StatusCode, want, body)
		}
		if path == "/metrics" && strings.Contains(string(body), "31611112222") {
			t.Fatal("metrics contain a caller number")
		}
	}
	// The public listener serves health too, but never metrics.
	if st := ta.do("GET", "/healthz", nil, nil, nil); st != 200 {
		t.Fatalf("public /healthz: %d", st)
	}
	if st := ta.do("GET", "/metrics", nil, nil, nil); st == 200 {
		t.Fatal("metrics on the public listener")
	}
}

// TestHealthCommand: veilig health exits 0 only when the URL answers 200.
func TestHealthCommand(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ready.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if err := run([]string{"health", "-url", ready.URL + "/readyz"}); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if err := run([]string{"health", "-url", down.URL + "/readyz"}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("not ready: %v", err)
	}
	if err := run([]string{"health", "-url", "http://127.0.0.1:1/readyz", "-timeout", "1s"}); err == nil {
		t.Fatal("nothing listening: no error")
	}
}

// TestHelpAndUsageExitCodes: help asked for exits 0, for every command; a
// command line veilig does not understand exits 2; a failure exits 1.
func TestHelpAndUsageExitCodes(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"help"}, {"serve", "-h"}, {"migrate", "-h"}, {"health", "-h"}, {"user", "-h"}, {"user", "add", "-h"},
		{"org", "-h"}, {"org", "remove", "-h"}, {"demo", "-h"}, {"demo", "wallet", "-h"}, {"demo", "call", "-h"}, {"demo-scheme", "-h"},
	} {
		if code := exitCode(run(args)); code != 0 {
			t.Errorf("veilig %s: exit %d, want 0", strings.Join(args, " "), code)
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"user"}, {"user", "remove"}, {"org"}, {"org", "add"}, {"demo"}, {"demo", "nope"}} {
		if code := exitCode(run(args)); code != 2 {
			t.Errorf("veilig %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	if code := exitCode(run([]string{"health", "-url", "http://127.0.0.1:1/readyz", "-timeout", "1s"})); code != 1 {
		t.Errorf("a failing health check: exit %d, want 1", code)
	}
}

// TestDemoCallOverTLS: with TLS on the internal listener, veilig demo call
// speaks https to it and trusts its certificate (it answered "telephony
// API: 400" in plain http before).
func TestDemoCallOverTLS(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "veilig.db")
	ta := startApp(t, db, func(c *config.Config) {
		c.Internal.TLSCert, c.Internal.TLSKey = certFile, keyFile
	})
	if !strings.HasPrefix(ta.internalURL(), "https://") {
		t.Fatalf("internal listener %s", ta.internalURL())
	}
	for k, v := range map[string]string{
		"VEILIG_DATA_DIR": ta.cfg.DataDir, "VEILIG_DATABASE_URL": db,
		"VEILIG_INTERNAL_LISTEN":   strings.TrimPrefix(ta.internalURL(), "https://"),
		"VEILIG_INTERNAL_TLS_CERT": certFile, "VEILIG_INTERNAL_TLS_KEY": keyFile,
	} {
		t.Setenv(k, v)
	}
	// A code no session holds: answered, not matched, and no error.
	if err := run([]string{"demo", "call", "-code", "0000000000", "-caller", "+31612345678"}); err != nil {
		t.Fatalf("demo call over TLS: %v", err)
	}
}
