package veilig_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/keyring"
	"github.com/veiligcontact/veilig/sqlite"
	"github.com/veiligcontact/veilig/telephony"
)

// scriptedYivi stands in for the Yivi server where a test must deliver an
// outcome a real wallet cannot produce (an invalid proof, a missing
// attribute). The real server and client are exercised end to end in
// cmd/veilig; here only the service's judgement is under test.
type scriptedYivi struct {
	mu       sync.Mutex
	watchers []veilig.DisclosureWatcher
	requests []veilig.DisclosureRequest
}

func (y *scriptedYivi) StartDisclosure(ctx context.Context, req veilig.DisclosureRequest, w veilig.DisclosureWatcher) (*veilig.StartedDisclosure, error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.watchers = append(y.watchers, w)
	y.requests = append(y.requests, req)
	return &veilig.StartedDisclosure{Token: "requestor-token", Client: json.RawMessage(`{"sessionPtr":{"u":"https://x/irma/session/abc","irmaqr":"disclosing"},"frontendRequest":{}}`)}, nil
}

func (y *scriptedYivi) CancelDisclosure(ctx context.Context, token string) error { return nil }

func (y *scriptedYivi) Means() veilig.Means { return veilig.MeansYivi }

func (y *scriptedYivi) MaxAssurance() veilig.Assurance { return veilig.AssuranceSubstantial }

func (y *scriptedYivi) Name() string { return "Yivi" }

func (y *scriptedYivi) last() (veilig.DisclosureWatcher, veilig.DisclosureRequest) {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.watchers[len(y.watchers)-1], y.requests[len(y.requests)-1]
}

func newTestService(t *testing.T) (*veilig.Service, *sqlite.Store, *scriptedYivi) {
	t.Helper()
	y := &scriptedYivi{}
	svc, st := newServiceWith(t, y, nil)
	return svc, st, y
}

// newServiceWith is a service on a fresh SQLite store with y as its Yivi
// server; mutate may change its configuration.
func newServiceWith(t *testing.T, y veilig.DisclosureService, mutate func(*veilig.ServiceConfig)) (*veilig.Service, *sqlite.Store) {
	t.Helper()
	st := newStore(t)
	cfg := baseConfig(t, st)
	cfg.Means = []veilig.DisclosureService{y}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := veilig.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/test.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// baseConfig is a service with one phone purpose proven by Yivi (a
// scriptedYivi) on store st.
func baseConfig(t *testing.T, st *sqlite.Store) veilig.ServiceConfig {
	t.Helper()
	key, _ := keyring.NewKey()
	kr, _ := keyring.New("k", map[string][]byte{"k": key})
	return veilig.ServiceConfig{
		Store: st, Bus: st, Means: []veilig.DisclosureService{&scriptedYivi{}}, Channels: []veilig.ChannelService{telephony.Phone{}},
		Sealer: kr, SecretKey: make([]byte, 32),
		Purposes: []*veilig.Purpose{{
			ID: "tax", Labels: map[string]string{"nl": "Belasting", "en": "Tax"},
			Disclose: [][][]string{{{"s.i.c.bsn"}}, {{"s.i.c.a"}, {"s.i.c.b"}}},
			Channel:  veilig.ChannelPhone, MinAssurance: veilig.AssuranceSubstantial,
			ChannelSettings: &telephony.PhoneSettings{Number: "+31201234567", CodeLength: veilig.DefaultCodeLength},
			SessionTTL:      15 * time.Minute, Retention: time.Hour,
		}},
		MissLimits: veilig.MissLimits{PerCaller: 5, PerCallerWindow: 15 * time.Minute, Overall: 60, OverallWindow: time.Minute},
	}
}

// phoneCode is the code a phone session's next step gives the person.
func phoneCode(t *testing.T, s *veilig.StartedSession) string {
	t.Helper()
	var d telephony.Dial
	if err := json.Unmarshal(s.Next, &d); err != nil || d.Code == "" {
		t.Fatalf("next step %s: %v", s.Next, err)
	}
	return d.Code
}

func attr(id string) veilig.Attribute {
	return veilig.Attribute{ID: id, Value: "v-" + id}
}

// TestDisclosureJudgement: the domain judges a means' neutral result
// against the purpose: outcome, means, assurance and the condiscon. (How
// Yivi's statuses become a result is tested in package yivi.)
func TestDisclosureJudgement(t *testing.T) {
	proven := func(a veilig.Assurance, attrs ...veilig.Attribute) veilig.ProofResult {
		return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofProven, Assurance: a, Attributes: attrs}
	}
	other := proven(veilig.AssuranceHigh, attr("s.i.c.bsn"), attr("s.i.c.a"))
	other.Means = "employee-id"
	cases := []struct {
		name    string
		outcome veilig.ProofResult
		want    veilig.SessionState
	}{
		{"valid", proven(veilig.AssuranceSubstantial, attr("s.i.c.bsn"), attr("s.i.c.b")), veilig.StateDisclosed},
		{"higher assurance", proven(veilig.AssuranceHigh, attr("s.i.c.bsn"), attr("s.i.c.a")), veilig.StateDisclosed},
		{"assurance too low", proven(veilig.AssuranceLow, attr("s.i.c.bsn"), attr("s.i.c.a")), veilig.StateFailed},
		{"no assurance", proven("", attr("s.i.c.bsn"), attr("s.i.c.a")), veilig.StateFailed},
		{"a means the purpose does not accept", other, veilig.StateFailed},
		{"attribute missing", proven(veilig.AssuranceSubstantial, attr("s.i.c.bsn")), veilig.StateFailed},
		{"only one of a conjunction", proven(veilig.AssuranceSubstantial, attr("s.i.c.a"), attr("s.i.c.b")), veilig.StateFailed},
		{"nothing proven", proven(veilig.AssuranceSubstantial), veilig.StateFailed},
		{"cancelled", veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofCancelled, Reason: "cancelled in the Yivi app"}, veilig.StateCancelled},
		{"timed out", veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofTimedOut}, veilig.StateExpired},
		{"failed", veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofFailed, Reason: "proof status INVALID"}, veilig.StateFailed},
		{"no outcome", veilig.ProofResult{Means: veilig.MeansYivi}, veilig.StateFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, st, y := newTestService(t)
			ctx := context.Background()
			started, err := svc.StartSession(ctx, "tax", "")
			if err != nil {
				t.Fatal(err)
			}
			w, req := y.last()
			if req.ClientReturnURL != "tel:+31201234567,"+phoneCode(t, started) {
				t.Fatalf("clientReturnUrl %q", req.ClientReturnURL)
			}
			w.Connected()
			w.Finished(tc.outcome)
			s, err := st.Session(ctx, started.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			if s.State != tc.want {
				t.Fatalf("state %s (%s), want %s", s.State, s.Reason, tc.want)
			}
			if tc.want != veilig.StateDisclosed {
				if !s.SealedDisclosure.IsZero() || s.Reason == "" {
					t.Fatalf("refused disclosure stored data or gave no reason: %+v", s)
				}
				// Its code must not match a call.
				m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: phoneCode(t, started), CallerNumber: "+31600000000", Provider: "test", CallID: "c1"})
				if err != nil || m.Matched {
					t.Fatalf("code of a refused disclosure matched: %+v %v", m, err)
				}
			} else if s.SealedDisclosure.IsZero() {
				t.Fatal("valid disclosure not stored")
			}
		})
	}
}

func TestStartSessionRefusals(t *testing.T) {
	svc, _, _ := newTestService(t)
	ctx := context.Background()
	if _, err := svc.StartSession(ctx, "nope", ""); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("unknown purpose: %v", err)
	}
	if _, err := svc.StartSession(ctx, "tax", "https://evil.example"); veilig.ErrorCode(err) != veilig.EFORBIDDEN {
		t.Fatalf("disallowed origin: %v", err)
	}
}
