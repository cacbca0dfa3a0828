package veilig_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/keyring"
	"github.com/veiligcontact/veilig/telephony"
)

// resolvingYivi is a scripted Yivi server that also answers
// ResolveDisclosure, with whatever progress the test sets.
type resolvingYivi struct {
	scriptedYivi
	mu       sync.Mutex
	progress func() (veilig.DisclosureProgress, veilig.ProofResult)
	asked    int
}

func (y *resolvingYivi) ResolveDisclosure(ctx context.Context, token string) (veilig.DisclosureProgress, veilig.ProofResult, error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.asked++
	p, o := y.progress()
	return p, o, nil
}

func (y *resolvingYivi) set(f func() (veilig.DisclosureProgress, veilig.ProofResult)) {
	y.mu.Lock()
	y.progress = f
	y.mu.Unlock()
}

var validOutcome = veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofProven, Assurance: veilig.AssuranceSubstantial, Attributes: []veilig.Attribute{attr("s.i.c.bsn"), attr("s.i.c.a")}}

// TestCallDuringProof: a call whose code belongs to a session whose proof
// is not recorded yet is never a miss. Finished at the Yivi server, it
// matches at once; finishing while the call waits, it matches then; still
// being decided after the wait, the call is not matched and not counted;
// a session whose app never fetched the request is like any other miss.
func TestCallDuringProof(t *testing.T) {
	cases := []struct {
		name      string
		connected bool // the watcher heard the app connect
		progress  func(since time.Duration) (veilig.DisclosureProgress, veilig.ProofResult)
		matched   bool
		misses    int
		minWait   time.Duration
	}{
		{"finished, not yet told", true, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressFinished, validOutcome
		}, true, 0, 0},
		{"finished, connect not heard either", false, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressFinished, validOutcome
		}, true, 0, 0},
		{"finishes while the call waits", true, func(since time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			if since < 600*time.Millisecond {
				return veilig.ProgressConnected, veilig.ProofResult{}
			}
			return veilig.ProgressFinished, validOutcome
		}, true, 0, 500 * time.Millisecond},
		{"still deciding", false, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressConnected, veilig.ProofResult{}
		}, false, 0, time.Second},
		{"refused in the app meanwhile", true, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressFinished, veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofCancelled}
		}, false, 1, 0},
		{"nobody is proving", false, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressWaiting, veilig.ProofResult{}
		}, false, 1, 0},
		{"unknown to the Yivi server", false, func(time.Duration) (veilig.DisclosureProgress, veilig.ProofResult) {
			return veilig.ProgressUnknown, veilig.ProofResult{}
		}, false, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := &resolvingYivi{}
			var results []string
			svc, st := newServiceWith(t, y, func(c *veilig.ServiceConfig) {
				c.ProofWait = time.Second
				c.Observer.Call = func(_, r string) { results = append(results, r) }
			})
			ctx := context.Background()
			started, err := svc.StartSession(ctx, "tax", "")
			if err != nil {
				t.Fatal(err)
			}
			if tc.connected {
				w, _ := y.last()
				w.Connected()
			}
			begin := time.Now()
			y.set(func() (veilig.DisclosureProgress, veilig.ProofResult) { return tc.progress(time.Since(begin)) })
			m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: phoneCode(t, started), CallerNumber: "+31600000000", Provider: "test", CallID: "c1"})
			took := time.Since(begin)
			if err != nil || m.Matched != tc.matched {
				t.Fatalf("call: %+v %v, want matched=%v", m, err, tc.matched)
			}
			if took < tc.minWait || took > 3*time.Second {
				t.Errorf("the call took %s, want at least %s and within the wait", took, tc.minWait)
			}
			if n, _ := st.CountMisses(ctx, nil, time.Time{}); n != tc.misses {
				t.Errorf("%d misses recorded, want %d (results %v)", n, tc.misses, results)
			}
			if tc.matched {
				s, _ := st.Session(ctx, started.SessionID)
				if s.State != veilig.StateMatched || s.SealedDisclosure.IsZero() {
					t.Errorf("session %s, disclosure stored %v", s.State, !s.SealedDisclosure.IsZero())
				}
			}
		})
	}
}

// TestRetryAfter: a refused caller is told when a retry is looked up.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc, _ := newServiceWith(t, &scriptedYivi{}, func(c *veilig.ServiceConfig) { c.Clock = clock })
	ctx := context.Background()
	call := func(caller, id string) error {
		_, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: "0000000000", CallerNumber: caller, Provider: "test", CallID: id})
		return err
	}
	for i := range 5 {
		if err := call("+31600000001", "a"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	// Misses at 0..4 minutes, now at 5: the first leaves right after 15.
	err := call("+31600000001", "a9")
	if want := 10*time.Minute + time.Second; veilig.ErrorCode(err) != veilig.ERATELIMIT || veilig.ErrorRetryAfter(err) != want {
		t.Fatalf("refused: %v, Retry-After %s; want %s", err, veilig.ErrorRetryAfter(err), want)
	}
	now = now.Add(10*time.Minute - time.Millisecond)
	if err := call("+31600000001", "a10"); veilig.ErrorCode(err) != veilig.ERATELIMIT {
		t.Fatalf("before the first miss left: %v", err)
	}
	now = now.Add(time.Second + time.Millisecond)
	if err := call("+31600000001", "a11"); err != nil {
		t.Fatalf("at Retry-After: %v", err)
	}
}

// otherMeans is a means of proof that exists only in this test.
type otherMeans struct{ scriptedYivi }

func (*otherMeans) Means() veilig.Means { return "test-means" }

// TestMeansRegistry: a purpose starts its proofs with the first means it
// accepts that is configured; a purpose no configured means serves is a
// configuration error, and so is a means configured twice.
func TestMeansRegistry(t *testing.T) {
	other := &otherMeans{}
	svc, st := newServiceWith(t, &scriptedYivi{}, func(c *veilig.ServiceConfig) {
		c.Means = append(c.Means, other)
		c.Purposes[0].Means = []veilig.Means{"test-means", veilig.MeansYivi}
		c.Purposes[0].MinAssurance = veilig.AssuranceLow
	})
	ctx := context.Background()
	started, err := svc.StartSession(ctx, "tax", "")
	if err != nil {
		t.Fatal(err)
	}
	if started.Means != "test-means" {
		t.Fatalf("started with %q, want the purpose's first means", started.Means)
	}
	w, req := other.last()
	if req.ClientReturnURL == "" {
		t.Fatal("the test means was not asked to start the proof")
	}
	w.Finished(veilig.ProofResult{Means: "test-means", Outcome: veilig.ProofProven, Assurance: veilig.AssuranceLow, Attributes: []veilig.Attribute{attr("s.i.c.bsn"), attr("s.i.c.a")}})
	if s, _ := st.Session(ctx, started.SessionID); s.State != veilig.StateDisclosed || s.Means != "test-means" {
		t.Fatalf("session %s by %q, want disclosed by the test means", s.State, s.Means)
	}

	for name, mutate := range map[string]func(*veilig.ServiceConfig){
		"no configured means the purpose accepts": func(c *veilig.ServiceConfig) { c.Purposes[0].Means = []veilig.Means{"test-means"} },
		"a means twice": func(c *veilig.ServiceConfig) { c.Means = append(c.Means, &scriptedYivi{}) },
		"no means":      func(c *veilig.ServiceConfig) { c.Means = nil },
	} {
		key, _ := keyring.NewKey()
		kr, _ := keyring.New("k", map[string][]byte{"k": key})
		cfg := veilig.ServiceConfig{
			Store: st, Bus: st, Means: []veilig.DisclosureService{&scriptedYivi{}}, Channels: []veilig.ChannelService{telephony.Phone{}},
			Sealer: kr, SecretKey: make([]byte, 32),
			Purposes: []*veilig.Purpose{{ID: "tax", Labels: map[string]string{"nl": "B", "en": "T"}, Disclose: [][][]string{{{"s.i.c.bsn"}}},
				Channel: veilig.ChannelPhone, MinAssurance: veilig.AssuranceSubstantial, SessionTTL: time.Minute,
				ChannelSettings: &telephony.PhoneSettings{Number: "+31201234567", CodeLength: veilig.DefaultCodeLength}}},
		}
		mutate(&cfg)
		if _, err := veilig.NewService(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
