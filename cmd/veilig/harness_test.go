package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/privacybydesign/irmago/irma"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/internal/testpg"
	"github.com/veiligcontact/veilig/telephony"
)

// The test certificate is made once: irma.SetTLSClientConfig is global to
// the process, like the real app's trust store.
var (
	certOnce          sync.Once
	certFile, keyFile string
	certPool          *x509.CertPool
	certDir           string
)

func testCert(t *testing.T) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "veilig test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		certDir, _ = os.MkdirTemp("", "veilig-cert")
		certFile, keyFile = filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
		kder, _ := x509.MarshalECPrivateKey(key)
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
		cert, _ := x509.ParseCertificate(der)
		certPool = x509.NewCertPool()
		certPool.AddCert(cert)
		irma.SetTLSClientConfig(&tls.Config{RootCAs: certPool})
	})
}

// fakeClock is a clock the test moves; the app reads it through `now`.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// syncBuffer collects the app's log so tests can prove nothing personal is in it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testApp struct {
	*app
	t      *testing.T
	clock  *fakeClock
	logs   *syncBuffer
	client *http.Client // TLS to the public listener, with a cookie jar
	tel    *telephony.Client
}

// backends are the databases every end-to-end test runs against.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "veilig.db") },
		"postgres": func(t *testing.T) string { return testpg.URL(t) },
	}
}

// startApp runs the real `veilig serve` wiring on loopback with TLS, the
// embedded Yivi server and the demo scheme, against dbURL.
func startApp(t *testing.T, dbURL string, mutate func(*config.Config)) *testApp {
	t.Helper()
	testCert(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Public.Listen, cfg.Internal.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Public.TLSCert, cfg.Public.TLSKey = certFile, keyFile
	cfg.Database.URL = dbURL
	cfg.Yivi.Production = true // TLS and no developer mode, like the real app
	cfg.Log.Level = "debug"
	if strings.HasPrefix(dbURL, "postgres") {
		cfg.Secrets = config.Secrets{SecretKey: b64(32), EncryptionKeys: map[string]string{"k1": b64(32)}, ActiveKey: "k1"}
		cfg.Telephony.Secret = b64(32)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}

	clock := &fakeClock{}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(context.Background(), &cfg, log, clock.Now)
	if err != nil {
		t.Fatalf("start veilig: %v", err)
	}
	a.start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.shutdown(ctx)
	})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:       jar,
		Timeout:   20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool}},
	}
	return &testApp{
		app: a, t: t, clock: clock, logs: logs, client: client,
		tel: &telephony.Client{BaseURL: a.internalURL(), Secret: a.secrets.telephonySecret, Now: clock.Now},
	}
}

func b64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// do sends a JSON request to the public listener and decodes a JSON answer.
func (ta *testApp) do(method, path string, body any, hdr map[string]string, out any) int {
	ta.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ta.publicURL+path, rd)
	if err != nil {
		ta.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ta.client.Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			ta.t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// addAgent creates an agent account directly in the store, of the
// organisation of its first purpose.
func (ta *testApp) addAgent(username string, purposes ...string) string {
	ta.t.Helper()
	hash, err := agentauth.HashPassword(username + "-password-long")
	if err != nil {
		ta.t.Fatal(err)
	}
	a := &veilig.Agent{ID: veilig.NewID(), Username: username, DisplayName: username, Role: veilig.RoleAgent, Purposes: purposes, PasswordHash: hash, CreatedAt: time.Now(), OrgID: ta.organisationOf(purposes...)}
	if err := ta.store.CreateAgent(context.Background(), a); err != nil {
		ta.t.Fatal(err)
	}
	return a.ID
}

// agentClient signs in as username and returns a client with its cookie and CSRF token.
func (ta *testApp) agentClient(username string) *agentClient {
	ta.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &testApp{app: ta.app, t: ta.t, clock: ta.clock, logs: ta.logs, client: &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: ta.client.Transport}}
	var me struct {
		CSRFToken string `json:"csrfToken"`
		Agent     veilig.Agent
	}
	if st := c.do("POST", "/api/v1/agent/login", map[string]string{"username": username, "password": username + "-password-long"}, nil, &me); st != 200 {
		ta.t.Fatalf("login %s: %d", username, st)
	}
	return &agentClient{testApp: c, csrf: me.CSRFToken, id: me.Agent.ID}
}

type agentClient struct {
	*testApp
	csrf string
	id   string
}

func (ac *agentClient) post(path string, out any) int {
	return ac.do("POST", path, nil, map[string]string{"X-CSRF-Token": ac.csrf, "Origin": ac.publicURL}, out)
}
