package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

func b64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// need skips the test when the machine lacks PostgreSQL's programs, and
// fails it under CI, where they must be there.
func need(t *testing.T) {
	if _, err := os.Stat(filepath.Join(PostgresBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL server programs missing: %v", err)
		}
		t.Skipf("PostgreSQL server programs missing: %v", err)
	}
}

// needTool returns the path of program, or skips the test when the
// machine lacks it and fails it under CI (scripts/test-deps.sh installs
// what hint names).
func needTool(t *testing.T, program, hint string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing (%s)", program, hint)
		}
		t.Skipf("%s missing", program)
	}
	return path
}

// newWallet is a real irmago client issued the demo credentials by the
// cluster's Yivi server, closed with the test.
func (c *testCluster) newWallet(t *testing.T) *wallet.Wallet {
	t.Helper()
	w, err := NewWallet(t.Context(), filepath.Join(t.TempDir(), "wallet"), c.schemes, c.yivi.URL, c.yivi.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// testCluster is the production topology on loopback: PostgreSQL of our
// own, irmago's requestor server as the external Yivi server, three
// replicas and a proxy for each listener.
type testCluster struct {
	pg                   *Postgres
	dbURL                string
	yivi                 *YiviServer
	schemes              string
	replicas             []*Replica
	public, internal     *Proxy
	publicURL, internURL string
	telephonySecret      []byte
	agentPassword        string
	// otherAgentPassword is the demo's second municipality's agent's
	// (demo-anderdorp): the faults hit two organisations live at once.
	otherAgentPassword string
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	c := &testCluster{}

	// VEILIG_BIN runs a veilig built elsewhere instead of this tree's.
	bin := os.Getenv("VEILIG_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "veilig")
		if err := Build(ctx, "../..", bin); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := StartPostgres(ctx, filepath.Join(dir, "pg"), "")
	if err != nil {
		t.Fatal(err)
	}
	c.pg = pg
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres log:\n%s", tail(pg.Log(), 4000))
		}
		_ = pg.Stop(context.Background(), "immediate")
	})
	if err := pg.CreateDatabase(ctx, "veilig"); err != nil {
		t.Fatal(err)
	}
	c.dbURL = pg.URL("veilig")

	var keys string
	if c.schemes, keys, err = demoscheme.Extract(filepath.Join(dir, "yivi")); err != nil {
		t.Fatal(err)
	}
	yln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if c.yivi, err = StartYiviServer(yln, c.schemes, keys, "fault-test-requestor-"+b64(12)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.yivi.Close)

	// The proxies listen first: their URL is the replicas' public URL.
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.publicURL, c.internURL = "http://"+pln.Addr().String(), "http://"+iln.Addr().String()
	c.public, _ = NewProxy()
	c.internal, _ = NewProxy()
	ps, is := &http.Server{Handler: c.public}, &http.Server{Handler: c.internal}
	go ps.Serve(pln)
	go is.Serve(iln)
	t.Cleanup(func() { ps.Close(); is.Close() })

	tel := make([]byte, 32)
	rand.Read(tel)
	c.telephonySecret = tel
	common := fmt.Sprintf(`demo: true
database:
  url: %q
yivi:
  mode: external
  url: %q
  token: %q
secrets:
  secret_key: %q
  encryption_keys: {k1: %q}
  active_key: k1
telephony:
  secret: %q
retention:
  interval: 2s
log:
  format: json
  level: debug
`, pg.PoolURL("veilig", 16), c.yivi.URL, c.yivi.Token, b64(32), b64(32), base64.StdEncoding.EncodeToString(tel))
	var pubs, ints []string
	for i := range 3 {
		pp, _ := FreePort()
		ip, _ := FreePort()
		r, err := StartReplica(ctx, ReplicaConfig{
			Bin: bin, Dir: filepath.Join(dir, fmt.Sprintf("r%d", i+1)), Name: fmt.Sprintf("r%d", i+1),
			Public: pp, Intern: ip, PublicURL: c.publicURL, Common: common,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.replicas = append(c.replicas, r)
		pubs, ints = append(pubs, r.PublicURL), append(ints, r.InternalURL)
		t.Cleanup(func() {
			if !r.Exited() {
				r.Stop(10 * time.Second)
			}
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", r.Name, tail(r.Log(), 6000))
			}
		})
	}
	c.public.SetBackends(pubs...)
	c.internal.SetBackends(ints...)
	pw, err := os.ReadFile(filepath.Join(c.replicas[0].Dir, "data", "demo-agent-password"))
	if err != nil {
		t.Fatal(err)
	}
	c.agentPassword = strings.TrimSpace(string(pw))
	if pw, err = os.ReadFile(filepath.Join(c.replicas[0].Dir, "data", "demo-anderdorp-agent-password")); err != nil {
		t.Fatal(err)
	}
	c.otherAgentPassword = strings.TrimSpace(string(pw))
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// storedEvents reads the events straight from the database, of one
// session or of every session of purposes (all: none named).
func (c *testCluster) storedEvents(t *testing.T, sessionID string, after int64, purposes ...string) []int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT seq FROM events WHERE ($1 = '' OR session_id = $1) AND seq > $2
		AND (cardinality($3::text[]) = 0 OR purpose_id = ANY($3)) ORDER BY seq`, sessionID, after, append([]string{}, purposes...))
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func seqs(evs []Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func sameSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// contact is one person's way through the system, checked at each step.
type contact struct {
	id     string
	events *Stream
}

// run takes one contact from start to end through the proxies, retrying
// what a client would retry while replicas die and the database restarts.
// firstOn, when set, is a replica to start the session on (and to open the
// status stream on first): then the killing is done by kill, after the
// session started and before the person discloses.
func (c *testCluster) run(t *testing.T, w *wallet.Wallet, agent *Client, purpose string, n int, firstOn *Replica, kill func()) *contact {
	ctx := t.Context()
	limit := 90 * time.Second
	citizen := NewClient(c.publicURL)
	if firstOn != nil {
		citizen = NewClient(firstOn.PublicURL)
	}
	var s *Started
	if err := Retry(ctx, limit, func() (err error) { s, err = citizen.StartSession(ctx, purpose); return err }); err != nil {
		t.Errorf("contact %d: start session: %v", n, err)
		return nil
	}
	hdr := http.Header{"Authorization": {"Bearer " + s.StatusToken}}
	first := citizen.Base
	ct := &contact{id: s.SessionID}
	ct.events = Follow(ctx, citizen.HTTP, StreamConfig{
		URL: func(attempt int) string {
			if attempt == 0 {
				return first + "/api/v1/sessions/" + s.SessionID + "/events"
			}
			return c.publicURL + "/api/v1/sessions/" + s.SessionID + "/events"
		},
		Header: hdr,
		EndAt:  func(e Event) bool { return veilig.SessionState(e.Type).Terminal() },
	})
	if _, ok := ct.events.Wait(Type("created", ""), limit); !ok {
		t.Errorf("contact %d: no created event", n)
		return ct
	}
	if kill != nil {
		kill()
	}
	dctx, cancel := context.WithTimeout(ctx, limit)
	ret, err := w.Disclose(dctx, s.SessionPtr)
	cancel()
	if err != nil {
		t.Errorf("contact %d: disclose: %v", n, err)
		return ct
	}
	if !strings.HasSuffix(ret, ","+s.Dial.Code) {
		t.Errorf("contact %d: clientReturnUrl does not end in the code", n)
	}
	if _, ok := ct.events.Wait(Type("disclosed", ""), limit); !ok {
		t.Errorf("contact %d: never disclosed (events %v)", n, ct.events.Events())
		return ct
	}
	tel := &telephony.Client{BaseURL: c.internURL, Secret: c.telephonySecret}
	call := veilig.IncomingCall{Provider: "api", CallID: "fault-call-" + s.SessionID, CallerNumber: "+31201234567", CalledNumber: s.Dial.Number, Code: s.Dial.Code}
	var m veilig.CallMatch
	if err := Retry(ctx, limit, func() error {
		var err error
		m, err = tel.ReportCall(ctx, call)
		if veilig.ErrorCode(err) == veilig.EUNAVAILABLE {
			return &StatusError{Status: http.StatusBadGateway}
		}
		return err
	}); err != nil || !m.Matched || m.ContactRef != s.SessionID {
		t.Errorf("contact %d: report call = %+v, %v", n, m, err)
		return ct
	}
	var opened *veilig.Contact
	if err := Retry(ctx, limit, func() (err error) { opened, err = agent.OpenContact(ctx, s.SessionID); return err }); err != nil {
		t.Errorf("contact %d: open: %v", n, err)
		return ct
	}
	checkAttributes(t, n, opened.Attributes)
	if err := Retry(ctx, limit, func() error {
		err := agent.EndContact(ctx, s.SessionID)
		if se, ok := err.(*StatusError); ok && se.Status == http.StatusConflict {
			return nil // an earlier try ended it, its answer was lost
		}
		return err
	}); err != nil {
		t.Errorf("contact %d: end: %v", n, err)
	}
	if _, ok := ct.events.Wait(Type("ended", ""), limit); !ok {
		t.Errorf("contact %d: no ended event (events %v)", n, ct.events.Events())
	}
	return ct
}

// checkAttributes: exactly what the demo purpose asks, each once, with the
// values the wallet was issued.
func checkAttributes(t *testing.T, n int, attrs []veilig.Attribute) {
	want := []string{demoscheme.BSN, demoscheme.FullName, demoscheme.DateOfBirth}
	got := map[string]int{}
	for _, a := range attrs {
		got[a.ID]++
		if a.Value != Person[a.ID] {
			t.Errorf("contact %d: attribute %s has another value than issued", n, a.ID)
		}
	}
	if len(attrs) != len(want) {
		t.Errorf("contact %d: %d attributes, want %d", n, len(attrs), len(want))
	}
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("contact %d: attribute %s seen %d times, want once", n, id, got[id])
		}
	}
}

// TestFaultTolerance runs contacts through three replicas on one
// PostgreSQL with an external Yivi server, the documented production
// setup, and meanwhile kills a replica with SIGKILL and restarts
// PostgreSQL. Every contact must complete, every stream must resume on
// another replica and hold every stored event exactly once, and the agent
// must see each attribute once with its issued value.
func TestFaultTolerance(t *testing.T) {
	need(t)
	if testing.Short() {
		t.Skip("builds veilig and runs a cluster")
	}
	c := startCluster(t)
	ctx := t.Context()
	victim := c.replicas[1]

	var wallets []*wallet.Wallet
	for range 3 {
		wallets = append(wallets, c.newWallet(t))
	}
	agent := NewClient(c.publicURL)
	if err := agent.Login(ctx, "demo", c.agentPassword); err != nil {
		t.Fatal(err)
	}
	// Lane 2 is the other demo municipality's: its own purpose, line and
	// agent, through the same faults.
	otherAgent := NewClient(c.publicURL)
	if err := otherAgent.Login(ctx, "demo-anderdorp", c.otherAgentPassword); err != nil {
		t.Fatal(err)
	}

	// The agent console's stream starts on the replica that will die,
	// from the last event stored now: it must get every later event. (A
	// session started first, so that there is one: with none, the console
	// starts from "now".)
	if _, err := NewClient(c.publicURL).StartSession(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	var start int64
	if s := c.storedEvents(t, "", 0); len(s) > 0 {
		start = s[len(s)-1]
	}
	agentStream := Follow(ctx, agent.HTTP, StreamConfig{
		URL: func(attempt int) string {
			if attempt == 0 {
				return victim.PublicURL + "/api/v1/agent/events"
			}
			return c.publicURL + "/api/v1/agent/events"
		},
		After: start, Buffer: 4096,
	})

	// Three lanes of contacts, one wallet each. Lane 0 starts its first
	// contacts on the victim and kills it after the sessions exist and
	// before the person discloses: the Yivi sessions it started, and the
	// streams it served, must carry on elsewhere.
	var (
		mu       sync.Mutex
		contacts []*contact
		wg       sync.WaitGroup
		killOnce sync.Once
		killed   = make(chan struct{})
		pgDone   = make(chan struct{})
	)
	kill := func() {
		killOnce.Do(func() {
			t.Logf("SIGKILL %s (pid %d)", victim.Name, victim.PID())
			victim.Kill()
			c.public.SetBackends(c.replicas[0].PublicURL, c.replicas[2].PublicURL)
			c.internal.SetBackends(c.replicas[0].InternalURL, c.replicas[2].InternalURL)
			close(killed)
		})
	}
	const perLane = 6
	for lane := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perLane {
				n := lane*perLane + i
				var first *Replica
				var k func()
				if lane == 0 && i == 1 {
					first, k = victim, kill
				}
				if lane == 1 && i == 2 {
					<-killed // the database restarts while lanes run
					go func() {
						defer close(pgDone)
						t.Log("restarting PostgreSQL")
						if err := c.pg.Restart(context.Background(), "fast"); err != nil {
							t.Errorf("restart postgres: %v", err)
						}
						t.Log("PostgreSQL is back")
					}()
				}
				purpose, laneAgent := "demo", agent
				if lane == 2 {
					purpose, laneAgent = "demo-anderdorp", otherAgent
				}
				ct := c.run(t, wallets[lane], laneAgent, purpose, n, first, k)
				mu.Lock()
				contacts = append(contacts, ct)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-pgDone
	if t.Failed() {
		return
	}

	// Every citizen stream holds its session's stored events exactly once,
	// in order, however often it reconnected.
	reconnected := 0
	for _, ct := range contacts {
		want := c.storedEvents(t, ct.id, 0)
		got := seqs(ct.events.Events())
		if !sameSeqs(got, want) {
			t.Errorf("session %s: stream events %v, stored %v", ct.id, got, want)
		}
		if ct.events.Connects() > 1 {
			reconnected++
		}
	}
	if reconnected == 0 {
		t.Error("no citizen stream had to reconnect: the faults missed the streams")
	}
	// The agent stream too: everything of its organisation's purpose after
	// start, once, in order, and nothing of the other organisation's.
	want := c.storedEvents(t, "", start, "demo")
	if other := c.storedEvents(t, "", start, "demo-anderdorp"); len(other) == 0 {
		t.Error("the other organisation's lane stored no events")
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(agentStream.Events()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := seqs(agentStream.Events()); !sameSeqs(got, want) {
		t.Errorf("agent stream events (%d) %v, stored (%d) %v", len(got), got, len(want), want)
	}
	if agentStream.Connects() < 2 {
		t.Errorf("agent stream connected %d times; it started on the killed replica", agentStream.Connects())
	}

	// Nothing is left half-way: every session is ended, or (a start whose
	// answer was lost) never got past created.
	conn, err := pgx.Connect(ctx, c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT state, count(*) FROM sessions GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	states, _ := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var s string
		var n int
		err := r.Scan(&s, &n)
		return fmt.Sprintf("%s=%d", s, n), err
	})
	t.Logf("sessions by state: %v", states)
	for _, s := range states {
		if !strings.HasPrefix(s, "ended=") && !strings.HasPrefix(s, "created=") {
			t.Errorf("sessions left in an unclear state: %s", s)
		}
	}
	var ended int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE state = 'ended' AND disclosure IS NULL AND caller IS NULL`).Scan(&ended)
	if ended != len(contacts) {
		t.Errorf("%d sessions ended with personal data erased, want %d", ended, len(contacts))
	}
	// The disclosures the victim had started were finished by a survivor.
	var takenOver bool
	for _, r := range []*Replica{c.replicas[0], c.replicas[2]} {
		if strings.Contains(r.Log(), "following a disclosure another replica left") {
			takenOver = true
		}
	}
	if !takenOver {
		t.Error("no surviving replica took over a disclosure of the killed one")
	}
}
