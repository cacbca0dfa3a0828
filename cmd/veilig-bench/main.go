// Command veilig-bench measures a running Veilig Contact cluster with real
// HTTP: it starts PostgreSQL of its own, irmago's requestor server as a
// separate process, and three `veilig serve` replicas, once with the
// embedded Yivi server and once with the external one, and drives them
// with real wallets (irmago's client), real telephony requests and real
// agent streams. It writes docs/benchmarks.md with the command that
// reproduces it.
//
//	go run ./cmd/veilig-bench -out docs/benchmarks.md   # full run, a few minutes
//	go run ./cmd/veilig-bench -short                    # seconds; what CI runs
//
// Figures are measured side by side in one run on one machine; compare
// the ratios, not the absolute numbers.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/veiligcontact/veilig/internal/cluster"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

type options struct {
	short      bool
	out        string
	veilig     string
	root       string
	keep       bool
	startFor   time.Duration
	workers    int
	rate       int
	matchFor   time.Duration
	contacts   int
	streams    int
	wallets    int
	command    string
	only       string
	modes      string
	latOut     string
	profile    string
	profileFor time.Duration
	keyBits    int
	idleFor    time.Duration
	matchRuns  int
	schemeDir  string
	startedAt  time.Time
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "yivi-server" {
		if err := yiviServer(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "yivi-server:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	fs := flag.NewFlagSet("veilig-bench", flag.ExitOnError)
	fs.BoolVar(&o.short, "short", false, "a run of seconds with small numbers (CI): checks the tool works, measures little")
	fs.StringVar(&o.out, "out", "", "write the report (Markdown) here, e.g. docs/benchmarks.md; default: stdout only")
	fs.StringVar(&o.veilig, "veilig", "", "the veilig binary to run (default: build ./cmd/veilig of -root)")
	fs.StringVar(&o.root, "root", ".", "the module root (to build veilig)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (logs) afterwards")
	fs.DurationVar(&o.startFor, "start-for", 10*time.Second, "how long to measure session starts")
	fs.IntVar(&o.workers, "workers", 32, "concurrent clients starting sessions")
	fs.IntVar(&o.rate, "rate", 300, "telephony match requests per second (open loop)")
	fs.DurationVar(&o.matchFor, "match-for", 5*time.Second, "how long to send telephony requests at -rate, per run")
	fs.IntVar(&o.matchRuns, "match-runs", 3, "telephony match runs, each on fresh replicas")
	fs.IntVar(&o.contacts, "contacts", 200, "complete verified contacts for the CPU measurement")
	fs.IntVar(&o.streams, "streams", 10000, "idle status streams for the memory measurement")
	fs.IntVar(&o.wallets, "wallets", 4, "wallets disclosing in parallel")
	fs.StringVar(&o.only, "only", "", "run only this step: starts, match, contacts or streams (diagnosis)")
	fs.StringVar(&o.modes, "modes", "embedded,external", "modes to run")
	fs.StringVar(&o.latOut, "lat-out", "", "write per-request match latencies (CSV) to this file prefix")
	fs.StringVar(&o.profile, "profile", "", "write each replica's CPU profile of each step to this directory (diagnosis; turns on internal.pprof)")
	fs.DurationVar(&o.idleFor, "idle-for", 10*time.Second, "how long to measure idle servers, before and after the session starts (irmago scans its sessions every 10 s)")
	fs.IntVar(&o.keyBits, "key-bits", 1024, "issuer key size of the demo scheme: 1024 (the bundled one) or 2048 (production's size; generated once, minutes, and cached)")
	fs.StringVar(&o.schemeDir, "scheme-cache", defaultSchemeCache(), "where generated demo schemes are kept between runs")
	fs.DurationVar(&o.profileFor, "profile-for", 5*time.Second, "how long each -profile profile runs, from the start of its step")
	_ = fs.Parse(os.Args[1:])
	if o.only != "" && !slices.Contains(stepNames, o.only) {
		fmt.Fprintf(os.Stderr, "veilig-bench: -only takes one of %s (or nothing for every step)\n", strings.Join(stepNames, ", "))
		os.Exit(2)
	}
	for _, m := range strings.Split(o.modes, ",") {
		if m != "embedded" && m != "external" {
			fmt.Fprintf(os.Stderr, "veilig-bench: -modes lists embedded and/or external, not %q\n", m)
			os.Exit(2)
		}
	}
	if o.keyBits != 1024 && o.keyBits != 2048 {
		fmt.Fprintln(os.Stderr, "veilig-bench: -key-bits takes 1024 or 2048")
		os.Exit(2)
	}
	if o.short {
		o.startFor, o.rate, o.matchFor, o.contacts, o.streams, o.workers, o.idleFor, o.matchRuns = 2*time.Second, 30, time.Second, 8, 200, 8, time.Second, 1
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "veilig-bench:", err)
			os.Exit(1)
		}
	}
	o.command = "go run ./cmd/veilig-bench " + strings.Join(os.Args[1:], " ")
	o.startedAt = time.Now().UTC()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, o)
	if report != "" {
		fmt.Print(report)
		if o.out != "" {
			if werr := os.WriteFile(o.out, []byte(report+handWritten(o.out)), 0o644); werr != nil {
				fmt.Fprintln(os.Stderr, "veilig-bench:", werr)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "veilig-bench:", err)
		os.Exit(1)
	}
}

// handWrittenMark starts the part of the report that people write (what
// bounds a figure, conditions of the run): a new run keeps it.
const handWrittenMark = "<!-- Written by hand from here on; veilig-bench keeps it. -->"

// handWritten is the hand-written part of the report at path, mark
// included, or "".
func handWritten(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(b), handWrittenMark); i >= 0 {
		return "\n" + string(b[i:])
	}
	return ""
}

// yiviServer runs irmago's requestor server as its own process, so its
// CPU can be measured apart from the replicas and from the wallets.
func yiviServer(args []string) error {
	fs := flag.NewFlagSet("yivi-server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address")
	schemes := fs.String("schemes", "", "irma_configuration")
	keys := fs.String("keys", "", "issuer private keys")
	token := fs.String("token", "", "requestor token")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if _, err := cluster.StartYiviServer(ln, *schemes, *keys, *token); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

func b64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// env is what both modes share: PostgreSQL, the Yivi server process (the
// external server; in embedded mode it only issues the wallets'
// credentials), the demo scheme.
type env struct {
	o        options
	dir      string
	bin      string
	pg       *cluster.Postgres
	pgPID    int
	schemes  string
	keys     string
	yiviURL  string
	token    string
	yiviCmd  *exec.Cmd
	fdLimit  uint64
	capture  *capture
	capLn    net.Listener
	telecret []byte
}

func run(ctx context.Context, o options) (string, error) {
	e := &env{o: o}
	var err error
	if e.fdLimit, err = raiseFileLimit(); err != nil {
		return "", fmt.Errorf("raise the open files limit: %w", err)
	}
	if e.fdLimit < uint64(2*o.streams+1000) {
		fmt.Fprintf(os.Stderr, "veilig-bench: the open files limit is %d; %d streams need about %d (raise the hard limit: ulimit -Hn)\n", e.fdLimit, o.streams, 2*o.streams+1000)
	}
	if e.dir, err = os.MkdirTemp("", "veilig-bench-"); err != nil {
		return "", err
	}
	if !o.keep {
		defer os.RemoveAll(e.dir)
	} else {
		fmt.Fprintln(os.Stderr, "veilig-bench: working directory", e.dir)
	}
	e.bin = o.veilig
	if e.bin == "" {
		e.bin = filepath.Join(e.dir, "veilig")
		fmt.Fprintln(os.Stderr, "veilig-bench: building veilig")
		if err := cluster.Build(ctx, o.root, e.bin); err != nil {
			return "", err
		}
	}
	fmt.Fprintln(os.Stderr, "veilig-bench: starting PostgreSQL")
	if e.pg, err = cluster.StartPostgres(ctx, filepath.Join(e.dir, "pg"), ""); err != nil {
		return "", err
	}
	defer e.pg.Stop(context.Background(), "immediate")
	e.pgPID = postmasterPID(filepath.Join(e.dir, "pg", "data"))

	if e.schemes, e.keys, err = demoScheme(o, filepath.Join(e.dir, "yivi")); err != nil {
		return "", err
	}
	if err := e.startYivi(ctx); err != nil {
		return "", err
	}
	defer e.stopYivi()
	e.telecret = make([]byte, 32)
	rand.Read(e.telecret)

	if e.capLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return "", err
	}
	e.capture = newCapture("http://" + e.capLn.Addr().String())
	go http.Serve(e.capLn, e.capture)

	res := &results{o: o, fdLimit: e.fdLimit, load: loadAverage()}
	for _, mode := range strings.Split(o.modes, ",") {
		fmt.Fprintf(os.Stderr, "veilig-bench: %s mode\n", mode)
		m, err := e.measure(ctx, mode)
		if m != nil {
			res.modes = append(res.modes, m)
		}
		if err != nil {
			return res.markdown(), fmt.Errorf("%s mode: %w", mode, err)
		}
	}
	res.verify = e.verifyFloor()
	res.loadAfter = loadAverage()
	return res.markdown(), nil
}

func postmasterPID(data string) int {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(strings.SplitN(string(b), "\n", 2)[0], &pid)
	return pid
}

// demoScheme puts the demo scheme under dir: the bundled one (1024-bit
// issuer key), or one with a bigger key, generated once into the cache
// (safe primes take minutes) and copied from there.
func demoScheme(o options, dir string) (schemes, keys string, err error) {
	if o.keyBits == 1024 {
		return demoscheme.Extract(dir)
	}
	cache := filepath.Join(o.schemeDir, fmt.Sprintf("demo-scheme-%d", o.keyBits))
	cSchemes, cKeys := filepath.Join(cache, demoscheme.SchemesDir), filepath.Join(cache, demoscheme.PrivateKeysDir)
	if err := demoscheme.Verify(cSchemes, cKeys); err != nil {
		fmt.Fprintf(os.Stderr, "veilig-bench: generating a demo scheme with a %d-bit issuer key into %s (minutes; once)\n", o.keyBits, cache)
		tmp := fmt.Sprintf("%s.tmp%d", cache, os.Getpid())
		if err := demoscheme.Generate(tmp, o.keyBits, 365*24*time.Hour); err != nil {
			os.RemoveAll(tmp)
			return "", "", err
		}
		_ = os.RemoveAll(cache)
		if err := os.Rename(tmp, cache); err != nil {
			return "", "", err
		}
	}
	if err := os.CopyFS(dir, os.DirFS(cache)); err != nil {
		return "", "", fmt.Errorf("copy the cached demo scheme: %w", err)
	}
	return filepath.Join(dir, demoscheme.SchemesDir), filepath.Join(dir, demoscheme.PrivateKeysDir), nil
}

func defaultSchemeCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "veilig-bench")
	}
	return filepath.Join(d, "veilig-bench")
}

// restartYivi gives the next step a Yivi server that holds no session of
// an earlier step (irmago's expiry scan costs CPU per session held).
func (e *env) restartYivi(ctx context.Context) error {
	e.stopYivi()
	return e.startYivi(ctx)
}

func (e *env) stopYivi() {
	if e.yiviCmd != nil {
		_ = e.yiviCmd.Process.Kill()
		_ = e.yiviCmd.Wait()
		e.yiviCmd = nil
	}
}

func (e *env) startYivi(ctx context.Context) error {
	port, err := cluster.FreePort()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	e.token = "bench-" + b64(18)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	e.yiviCmd = exec.Command(self, "yivi-server", "-listen", addr, "-schemes", e.schemes, "-keys", e.keys, "-token", e.token)
	e.yiviCmd.Stderr = os.Stderr
	e.yiviCmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.yiviCmd.Start(); err != nil {
		return err
	}
	e.yiviURL = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the Yivi server did not start")
}

var _ = runtime.NumCPU
