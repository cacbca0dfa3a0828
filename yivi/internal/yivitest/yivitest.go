// Package yivitest holds what the tests of package yivi and of its external
// mode share: the demo person, a watcher that records what it is told, and
// the checks of a disclosure outcome. It is a normal package (not _test) so
// both test binaries can import it; only tests do.
package yivitest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// The demo person.
const (
	BSN          = "999999990"
	FullName     = "Jan de Vries"
	FamilyName   = "De Vries"
	DateOfBirth  = "1980-04-01"
	City         = "Utrecht"
	MobileNumber = "+31612345678"

	// ReturnURL is a phone purpose's clientReturnUrl: the number, a pause
	// and the code the phone types.
	ReturnURL = "tel:+31201234567,12345678"
	Code      = "12345678"
)

// Credentials are the demo person's credentials.
func Credentials() []yivi.Credential {
	return []yivi.Credential{
		{Type: demoscheme.PersonalDataCredential, Attributes: map[string]string{
			"bsn": BSN, "fullname": FullName, "familyname": FamilyName, "dateofbirth": DateOfBirth, "city": City,
		}},
		{Type: demoscheme.MobileNumberCredential, Attributes: map[string]string{"mobilenumber": MobileNumber}},
	}
}

// Condiscon asks BSN and full name, and the mobile number or else the city:
// the wallet, holding both, picks the first alternative.
var Condiscon = [][][]string{
	{{demoscheme.BSN, demoscheme.FullName}},
	{{demoscheme.MobileNumber}, {demoscheme.City}},
}

// Purpose is a phone purpose asking Condiscon.
func Purpose() *veilig.Purpose {
	return &veilig.Purpose{
		ID: "test", Disclose: Condiscon, Channel: veilig.ChannelPhone,
		MinAssurance: veilig.AssuranceSubstantial,
	}
}

// Recorder is a veilig.DisclosureWatcher that records its calls.
type Recorder struct {
	mu        sync.Mutex
	events    []string
	connected atomic.Int32
	finished  chan veilig.ProofResult
}

func NewRecorder() *Recorder {
	return &Recorder{finished: make(chan veilig.ProofResult, 2)}
}

func (r *Recorder) Watcher() veilig.DisclosureWatcher {
	return veilig.DisclosureWatcher{
		Connected: func() {
			r.connected.Add(1)
			r.add("connected")
		},
		Finished: func(o veilig.ProofResult) {
			r.add("finished")
			r.finished <- o
		},
	}
}

func (r *Recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns the calls in order.
func (r *Recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// Connected returns how often Connected was called.
func (r *Recorder) Connected() int { return int(r.connected.Load()) }

// Outcome waits for Finished, and checks it comes once.
func (r *Recorder) Outcome(t testing.TB, timeout time.Duration) veilig.ProofResult {
	t.Helper()
	select {
	case o := <-r.finished:
		select {
		case <-r.finished:
			t.Fatal("Finished called twice")
		case <-time.After(50 * time.Millisecond):
		}
		return o
	case <-time.After(timeout):
		t.Fatalf("no Finished within %s (events %v)", timeout, r.Events())
		return veilig.ProofResult{}
	}
}

// CheckDisclosed checks a successful disclosure of Condiscon by the demo
// person, with the labels and issuer from the demo scheme (when labels is
// true), and that Judge accepts it.
func CheckDisclosed(t testing.TB, o veilig.ProofResult, labels bool) {
	t.Helper()
	if o.Means != veilig.MeansYivi || o.Outcome != veilig.ProofProven || o.Assurance != veilig.AssuranceSubstantial || o.Reason != "" || o.Detail != "" {
		t.Fatalf("result %s %s %s %q %q", o.Means, o.Outcome, o.Assurance, o.Reason, o.Detail)
	}
	want := []struct {
		id, value, nl, en string
	}{
		{demoscheme.BSN, BSN, "BSN", "Citizen service number (BSN)"},
		{demoscheme.FullName, FullName, "Volledige naam", "Full name"},
		{demoscheme.MobileNumber, MobileNumber, "Mobiel telefoonnummer", "Mobile phone number"},
	}
	if len(o.Attributes) != len(want) {
		t.Fatalf("disclosed %d attributes, want %d: %+v", len(o.Attributes), len(want), o.Attributes)
	}
	for i, w := range want {
		a := o.Attributes[i]
		if a.ID != w.id || a.Value != w.value {
			t.Errorf("attribute %d = %s %q, want %s %q", i, a.ID, a.Value, w.id, w.value)
		}
		if a.IssuerID != demoscheme.IssuerID {
			t.Errorf("%s issuer = %q", a.ID, a.IssuerID)
		}
		// irmago floors issuance times to its epoch (a week), so "recent".
		if a.IssuedAt.IsZero() || time.Since(a.IssuedAt) > 8*24*time.Hour || a.IssuedAt.After(time.Now()) {
			t.Errorf("%s issued at %v", a.ID, a.IssuedAt)
		}
		if !labels {
			continue
		}
		if a.Labels["nl"] != w.nl || a.Labels["en"] != w.en {
			t.Errorf("%s labels = %v", a.ID, a.Labels)
		}
		if a.Issuer["nl"] != "Demo gemeente" || a.Issuer["en"] != "Demo municipality" {
			t.Errorf("%s issuer labels = %v", a.ID, a.Issuer)
		}
	}
	d, state, reason := o.Judge(Purpose())
	if d == nil || state != veilig.StateDisclosed {
		t.Fatalf("Judge = %v %q %q", d, state, reason)
	}
}

// CheckFrontend checks a started session's pointer and frontend request
// against what yivi-frontend reads, and that the pointer leads to base.
func CheckFrontend(t testing.TB, sd *veilig.StartedDisclosure, base string) {
	t.Helper()
	var client map[string]json.RawMessage
	if err := json.Unmarshal(sd.Client, &client); err != nil || len(client) != 2 {
		t.Fatalf("client object %s: %v; want sessionPtr and frontendRequest", sd.Client, err)
	}
	sessionPtr, frontendRequest := client["sessionPtr"], client["frontendRequest"]
	var ptr map[string]any
	if err := json.Unmarshal(sessionPtr, &ptr); err != nil {
		t.Fatalf("session pointer %s: %v", sessionPtr, err)
	}
	u, _ := ptr["u"].(string)
	if len(ptr) != 2 || ptr["irmaqr"] != "disclosing" || !strings.HasPrefix(u, base+"/irma/session/") {
		t.Errorf("session pointer = %s", sessionPtr)
	}
	var fr map[string]any
	if err := json.Unmarshal(frontendRequest, &fr); err != nil {
		t.Fatalf("frontend request %s: %v", frontendRequest, err)
	}
	if a, _ := fr["authorization"].(string); a == "" || fr["minProtocolVersion"] != "1.0" || fr["maxProtocolVersion"] == nil {
		t.Errorf("frontend request = %s", frontendRequest)
	}
	for k := range fr {
		switch k {
		case "authorization", "minProtocolVersion", "maxProtocolVersion", "pairingHint":
		default:
			t.Errorf("frontend request has unexpected field %q", k)
		}
	}
	if len(sd.Token) != 20 || strings.Contains(string(sessionPtr), sd.Token) || strings.Contains(string(frontendRequest), sd.Token) {
		t.Errorf("requestor token %q malformed or leaked to the browser", sd.Token)
	}
}

// Handler lets a test server start before the handler it serves exists: the
// Yivi server needs the test server's URL to be created.
type Handler struct{ h atomic.Pointer[http.Handler] }

func (d *Handler) Set(h http.Handler) { d.h.Store(&h) }

func (d *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := d.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "not ready", http.StatusServiceUnavailable)
}

// TLSServer starts an httptest TLS server around h and returns a TLS
// configuration trusting it, for irma.SetTLSClientConfig.
func TLSServer(h http.Handler) (*httptest.Server, *tls.Config) {
	srv := httptest.NewTLSServer(h)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// SafeLog is a concurrency-safe log buffer for checking what reached the
// logs.
type SafeLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *SafeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *SafeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a debug-level slog logger writing to l.
func (l *SafeLog) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// CheckNoSecrets fails when the log holds an attribute value, the phone
// code or one of the tokens.
func CheckNoSecrets(t testing.TB, log string, tokens ...string) {
	t.Helper()
	for _, s := range append([]string{BSN, FullName, MobileNumber, DateOfBirth, Code}, tokens...) {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("log contains %q:\n%s", s, log)
		}
	}
}
