package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/privacybydesign/irmago/irma"

	"github.com/veiligcontact/veilig/internal/cluster"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

// modeResult is what one mode measured.
type modeResult struct {
	mode string

	starts, startErrors int
	startDur            time.Duration
	idleFor             time.Duration
	idleCPU, heldCPU    time.Duration // server CPU over idleFor, before and after the starts
	held                int           // sessions held during heldCPU

	matchRate   int
	matchLat    []time.Duration // telephony request to answer
	eventLat    []time.Duration // telephony request to the event on another replica's agent stream
	matchRunP99 []time.Duration // each run's p99 of matchLat
	// matchLat apart: requests sent in each run's first coldFor, to
	// replicas just started, and the rest.
	matchColdLat, matchWarmLat []time.Duration
	eventRunP99                []time.Duration
	matchErrors                int
	eventsMissing              int
	contacts                   int
	contactServerCPU           time.Duration // replicas + Yivi server
	contactPGCPU               time.Duration
	contactErrors              int
	streams                    int
	streamRSS                  int64 // bytes, delta
	streamHeap                 int64 // heap in use, delta
	streamStacks               int64 // goroutine stacks in use, delta
	streamsConnected           int
	disclosurePrepDur          time.Duration
}

// system is one cluster: three replicas in one mode on their own database.
type system struct {
	e        *env
	mode     string
	replicas []*cluster.Replica
	wallets  chan *wallet.Wallet
	password string
}

// startSystem starts three replicas in a mode on a database of their own,
// for one step: no step inherits another's sessions. In external mode the
// Yivi server is restarted too.
func (e *env) startSystem(ctx context.Context, mode, step string, wallets chan *wallet.Wallet) (*system, error) {
	db := "bench_" + mode + "_" + step
	if err := e.pg.CreateDatabase(ctx, db); err != nil {
		return nil, err
	}
	if mode == "external" {
		if err := e.restartYivi(ctx); err != nil {
			return nil, err
		}
	}
	yivi := fmt.Sprintf("yivi:\n  mode: embedded\n  schemes_path: %q\n  issuer_private_keys_path: %q\n", e.schemes, e.keys)
	if mode == "external" {
		yivi = fmt.Sprintf("yivi:\n  mode: external\n  url: %q\n  token: %q\n  schemes_path: %q\n", e.yiviURL, e.token, e.schemes)
	}
	common := fmt.Sprintf(`demo: true
database:
  url: %q
%ssecrets:
  secret_key: %q
  encryption_keys: {k1: %q}
  active_key: k1
telephony:
  secret: %q
agents:
  login_per_minute: 1000
log:
  format: json
  level: info
`, e.pg.PoolURL(db, 24), yivi, b64(32), b64(32), base64.StdEncoding.EncodeToString(e.telecret))
	s := &system{e: e, mode: mode, wallets: wallets}
	for i := range 3 {
		pp, _ := cluster.FreePort()
		ip, _ := cluster.FreePort()
		// Each replica is its own public URL: the bench balances over them
		// itself, and in embedded mode the wallet must reach the replica
		// that holds its Yivi session.
		r, err := cluster.StartReplica(ctx, cluster.ReplicaConfig{
			Bin: e.bin, Dir: filepath.Join(e.dir, mode, step, fmt.Sprint("r", i+1)), Name: fmt.Sprintf("%s-%s-r%d", mode, step, i+1),
			Public: pp, Intern: ip, PublicURL: fmt.Sprintf("http://127.0.0.1:%d", pp), Common: common,
			PProf: true, // loopback only: -profile and collectGarbage
		})
		if err != nil {
			s.stop()
			return nil, err
		}
		s.replicas = append(s.replicas, r)
	}
	pw, err := os.ReadFile(filepath.Join(s.replicas[0].Dir, "data", "demo-agent-password"))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.password = strings.TrimSpace(string(pw))
	return s, nil
}

// newWallets issues the demo credentials to the wallets of one mode.
func (e *env) newWallets(ctx context.Context, mode string) (chan *wallet.Wallet, error) {
	wallets := make(chan *wallet.Wallet, e.o.wallets)
	for i := range e.o.wallets {
		w, err := cluster.NewWallet(ctx, filepath.Join(e.dir, mode, fmt.Sprint("wallet", i)), e.schemes, e.yiviURL, e.token)
		if err != nil {
			closeWallets(wallets)
			return nil, fmt.Errorf("wallet: %w", err)
		}
		wallets <- w
	}
	return wallets, nil
}

func closeWallets(wallets chan *wallet.Wallet) {
	close(wallets)
	for w := range wallets {
		w.Close()
	}
}

func (s *system) stop() {
	for _, r := range s.replicas {
		r.Stop(10 * time.Second)
	}
}

func (s *system) serverCPU() time.Duration {
	var t time.Duration
	for _, r := range s.replicas {
		t += cpuTime(r.PID(), false)
	}
	if s.mode == "external" {
		t += cpuTime(s.e.yiviCmd.Process.Pid, false)
	}
	return t
}

// stepNames are the steps of a mode, in order, as -only names them.
var stepNames = []string{"starts", "match", "contacts", "streams"}

func (e *env) measure(ctx context.Context, mode string) (*modeResult, error) {
	wallets, err := e.newWallets(ctx, mode)
	if err != nil {
		return nil, err
	}
	defer closeWallets(wallets)
	m := &modeResult{mode: mode}
	for _, name := range stepNames {
		if (e.o.only != "" && e.o.only != name) || (name == "streams" && mode != "external") {
			// One mode is enough for streams: a status stream is ours in both.
			continue
		}
		runs := 1
		if name == "match" {
			// One short CPU stall decides the p99 of a run, so the tail
			// is reported over several.
			runs = e.o.matchRuns
		}
		for run := range runs {
			fmt.Fprintf(os.Stderr, "veilig-bench:   %s\n", name)
			step := name
			if runs > 1 {
				step = fmt.Sprintf("%s%d", name, run+1)
			}
			s, err := e.startSystem(ctx, mode, step, wallets)
			if err != nil {
				return m, fmt.Errorf("%s: %w", name, err)
			}
			fn := map[string]func(context.Context, *modeResult) error{
				"starts": s.sessionStarts, "match": s.matches, "contacts": s.verifiedContacts, "streams": s.idleStreams,
			}[name]
			stopProfile := s.profile(ctx, mode+"-"+step)
			err = fn(ctx, m)
			stopProfile()
			s.stop()
			if err != nil {
				return m, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return m, nil
}

// profile collects every replica's CPU profile while a step runs (with
// -profile), into DIR/<mode>-<step>-r<N>.pprof. net/http/pprof profiles
// for a fixed time and a cancelled request gets nothing, so each profile
// covers -profile-for from the start of the step, and stop waits for it.
func (s *system) profile(ctx context.Context, name string) (stop func()) {
	if s.e.o.profile == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	for i, r := range s.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", r.InternalURL, int(s.e.o.profileFor.Seconds()))
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				fmt.Fprintln(os.Stderr, "veilig-bench: profile:", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(s.e.o.profile, fmt.Sprintf("%s-r%d.pprof", name, i+1)))
			if err != nil {
				fmt.Fprintln(os.Stderr, "veilig-bench: profile:", err)
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
	}
	return wg.Wait
}

// save writes what a GET of url answers to file (diagnosis).
func (e *env) save(url, file string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "veilig-bench:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "veilig-bench:", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// collectGarbage has a replica run a garbage collection: net/http/pprof's
// heap profile does one first when asked with gc=1.
func collectGarbage(internalURL string) {
	resp, err := http.Get(internalURL + "/debug/pprof/heap?gc=1")
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// heapInUse reads heap and goroutine stack bytes in use from the replica's
// Prometheus metrics.
func heapInUse(internalURL string) (heap, stacks int64) {
	resp, err := http.Get(internalURL + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			heap = int64(f)
		}
		if v, ok := strings.CutPrefix(line, "go_memstats_stack_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			stacks = int64(f)
		}
	}
	return heap, stacks
}

// verifyFloor verifies the captured disclosures again with irmago alone,
// on one locked thread, and returns the median CPU of one verification.
func (e *env) verifyFloor() verifyResult {
	reqs, proofs := e.capture.pairs()
	if len(proofs) == 0 {
		return verifyResult{}
	}
	conf, err := irma.NewConfiguration(e.schemes, irma.ConfigurationOptions{ReadOnly: true})
	if err == nil {
		err = conf.ParseFolder()
	}
	if err != nil {
		return verifyResult{err: err}
	}
	if conf.Scheduler != nil {
		conf.Scheduler.Stop()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus []time.Duration
	valid := 0
	for round := range 3 {
		for i, d := range proofs {
			t0 := threadCPU()
			_, status, err := d.Verify(conf, reqs[i])
			t := threadCPU() - t0
			if round > 0 { // the first round warms caches up
				cpus = append(cpus, t)
				if err == nil && status == irma.ProofStatusValid {
					valid++
				}
			}
		}
	}
	slices.Sort(cpus)
	return verifyResult{n: len(cpus), valid: valid, median: cpus[len(cpus)/2], mean: mean(cpus)}
}

type verifyResult struct {
	n, valid     int
	median, mean time.Duration
	err          error
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t / time.Duration(len(ds))
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}
