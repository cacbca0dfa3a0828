package postgres_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/testpg"
	"github.com/veiligcontact/veilig/postgres"
	"github.com/veiligcontact/veilig/storetest"
)

const wait = 10 * time.Second

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) veilig.Store { return open(t, testpg.URL(t)) })
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func createSession(t *testing.T, st veilig.Store) veilig.Event {
	t.Helper()
	now := time.Now().UTC()
	s := &veilig.Session{
		ID: rand.Text(), PurposeID: "p1", Channel: veilig.ChannelPhone, Means: veilig.MeansYivi,
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute),
	}
	ev, err := st.CreateSession(t.Context(), s, randomBytes(32), randomBytes(32), now.Add(time.Hour))
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ev
}

// next returns the next event on ch; ok is false if ch was closed.
func next(t *testing.T, ch <-chan veilig.Event) (e veilig.Event, ok bool) {
	t.Helper()
	select {
	case e, ok = <-ch:
		return e, ok
	case <-time.After(wait):
		t.Fatal("no event within", wait)
	}
	return veilig.Event{}, false
}

func sameEvent(t *testing.T, got, want veilig.Event) {
	t.Helper()
	if got.Seq != want.Seq || got.SessionID != want.SessionID || got.Type != want.Type || !got.At.Equal(want.At) {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}

func TestCrossReplica(t *testing.T) {
	url := testpg.URL(t)
	a, b := open(t, url), open(t, url)
	fromA, err := b.Subscribe(t.Context(), veilig.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := a.Subscribe(t.Context(), veilig.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}

	ev := createSession(t, a)
	got, ok := next(t, fromA)
	if !ok {
		t.Fatal("subscription on the other replica closed")
	}
	sameEvent(t, got, ev)
	if got, _ := next(t, fromB); got.Seq != ev.Seq {
		t.Errorf("the committing replica saw Seq %d, want %d", got.Seq, ev.Seq)
	}

	_, ev, err = b.Transition(t.Context(), veilig.Transition{
		SessionID: ev.SessionID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateCancelled,
		Event: string(veilig.StateCancelled), Reason: "cancelled in the Yivi app", At: time.Now(), ClearCode: true,
	})
	if err != nil {
		t.Fatalf("Transition: %v", err)
	}
	if got, _ := next(t, fromB); got.Seq != ev.Seq || got.Reason != ev.Reason {
		t.Errorf("event from the other replica = %+v, want %+v", got, ev)
	}
}

func listenerPIDs(t *testing.T, url string) []int32 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'veilig-listener'`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func terminate(t *testing.T, url string, pid int32) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend: %v, %v", ok, err)
	}
}

func TestListenerReconnects(t *testing.T) {
	url := testpg.URL(t)
	st := open(t, url)
	ch, err := st.Subscribe(t.Context(), veilig.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	pids := listenerPIDs(t, url)
	if len(pids) != 1 {
		t.Fatalf("%d listener connections, want 1", len(pids))
	}
	terminate(t, url, pids[0])

	// The subscriber is told to catch up from the store.
	timeout := time.After(wait)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-timeout:
			t.Fatal("subscription not closed after the listener lost its connection")
		}
	}

	// Events flow again once the listener is back. A subscription made
	// while it is down is closed again when it returns, as events may have
	// been missed; like any subscriber, resubscribe then.
	deadline := time.Now().Add(3 * wait)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no event after the listener reconnected")
		}
		ch, err := st.Subscribe(t.Context(), veilig.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ev := createSession(t, st)
		got, ok := next(t, ch)
		if !ok {
			continue
		}
		sameEvent(t, got, ev)
		break
	}
	if now := listenerPIDs(t, url); len(now) != 1 || now[0] == pids[0] {
		t.Errorf("listener backends after reconnect = %v, want one other than %d", now, pids[0])
	}
}

func TestListenerSurvivesQuiet(t *testing.T) {
	defer postgres.SetPingInterval(20 * time.Millisecond)()
	url := testpg.URL(t)
	st := open(t, url)
	ch, err := st.Subscribe(t.Context(), veilig.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	pids := listenerPIDs(t, url)
	time.Sleep(200 * time.Millisecond) // several timed-out waits and pings
	ev := createSession(t, st)
	got, ok := next(t, ch)
	if !ok {
		t.Fatal("subscription closed while the connection was quiet")
	}
	sameEvent(t, got, ev)
	if now := listenerPIDs(t, url); len(now) != 1 || now[0] != pids[0] {
		t.Errorf("listener reconnected while quiet: %v, was %v", now, pids)
	}
}

func TestConcurrentOpen(t *testing.T) {
	url := testpg.URL(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := postgres.Open(t.Context(), url)
			if err == nil {
				err = st.Ping(t.Context())
				st.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions int
	files, _ := filepath.Glob("migrations/*.sql")
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != len(files) || len(files) == 0 {
		t.Errorf("schema_migrations has %d rows (%v), want one per file in migrations/ (%d)", versions, err, len(files))
	}
}

func TestCloseStopsListener(t *testing.T) {
	url := testpg.URL(t)
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.Subscribe(t.Context(), veilig.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok := next(t, ch); ok {
		t.Error("subscription still open after Close")
	}
	deadline := time.Now().Add(wait)
	for len(listenerPIDs(t, url)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("listener connection still open after Close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A replica of an older release locks the row and updates it without
// knowing the version column; the trigger bumps the version for it, so a
// transition that read the row before that update does not overwrite it:
// it reads again and finds the state it expected gone.
func TestTransitionSeesOlderWriters(t *testing.T) {
	url := testpg.URL(t)
	st := open(t, url)
	ev := createSession(t, st)

	old, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(context.Background())
	tx, err := old.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var before int64
	if err := tx.QueryRow(t.Context(), `SELECT version FROM sessions WHERE id = $1 FOR UPDATE`, ev.SessionID).Scan(&before); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, _, err := st.Transition(context.Background(), veilig.Transition{
			SessionID: ev.SessionID, From: []veilig.SessionState{veilig.StateCreated}, To: veilig.StateCancelled,
			Event: string(veilig.StateCancelled), At: time.Now(),
		})
		done <- err
	}()
	// Wait until the transition has read the row and waits for the lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := tx.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE NOT l.granted AND a.datname = current_database()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the transition never waited for the row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := tx.Exec(t.Context(), `UPDATE sessions SET state = 'disclosing' WHERE id = $1`, ev.SessionID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if veilig.ErrorCode(err) != veilig.ECONFLICT {
			t.Fatalf("transition from created after another writer moved the session on: %v, want ECONFLICT", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the transition did not return")
	}
	cur, err := st.Session(t.Context(), ev.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != veilig.StateDisclosing {
		t.Errorf("state = %s, want the other writer's disclosing", cur.State)
	}
	var after int64
	if err := old.QueryRow(t.Context(), `SELECT version FROM sessions WHERE id = $1`, ev.SessionID).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Errorf("version %d → %d after one UPDATE that did not set it, want +1", before, after)
	}
}

// TestPoolOpensWarm: Open leaves the whole pool open, and every connection
// has the statements of the telephony match path prepared, so a fresh
// replica's first calls do not open and warm connections (warm.go).
func TestPoolOpensWarm(t *testing.T) {
	url := testpg.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	st := open(t, url+sep+"pool_max_conns=6")
	counts, err := postgres.PreparedPerConn(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("statements prepared per connection: %v", counts)
	if len(counts) != 6 {
		t.Fatalf("%d idle connections after Open, want the pool's 6", len(counts))
	}
	for i, n := range counts {
		// The signature, the count, the lookup's three, the reads, the forgiveness.
		if n < 8 {
			t.Errorf("connection %d has %d statements prepared, want the match path's", i, n)
		}
	}
	// And it works as before: nothing the warm-up did is left.
	if n, err := st.CountMisses(t.Context(), nil, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("misses after the warm-up: %d %v", n, err)
	}
}

// TestRemoveOrganisationRaw: after removing an organisation no row names
// it or one of its sessions or accounts (read with SQL, past the store),
// and the other organisation's rows are all there.
func TestRemoveOrganisationRaw(t *testing.T) {
	url := testpg.URL(t)
	st := open(t, url)
	ctx := t.Context()
	now := time.Now()
	suffix := rand.Text()[:8]
	for _, org := range []string{"gemeente-a", "gemeente-b"} {
		s := &veilig.Session{ID: "s-" + org + suffix, PurposeID: "p", OrgID: org + suffix, Channel: veilig.ChannelPhone, Means: veilig.MeansYivi, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := st.CreateSession(ctx, s, []byte("code-"+org+suffix), []byte("status-"+org+suffix), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAgent(ctx, &veilig.Agent{ID: "a-" + org + suffix, Username: "u-" + org + suffix, Role: veilig.RoleAgent, Purposes: []string{"*"}, OrgID: org + suffix, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddAudit(ctx, &veilig.AuditEntry{At: now, AgentID: "a-" + org + suffix, Action: veilig.AuditAgentSignIn, OrgID: org + suffix}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RemoveOrganisation(ctx, "gemeente-a"+suffix, false); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	a, b := "gemeente-a"+suffix, "gemeente-b"+suffix
	for _, c := range []struct {
		query string
		arg   string
		want  int
	}{
		{`SELECT COUNT(*) FROM sessions WHERE org_id = $1 OR id = 's-' || $1`, a, 0},
		{`SELECT COUNT(*) FROM events WHERE session_id = 's-' || $1`, a, 0},
		{`SELECT COUNT(*) FROM agents WHERE org_id = $1`, a, 0},
		{`SELECT COUNT(*) FROM audit_log WHERE org_id = $1 OR agent_id = 'a-' || $1`, a, 0},
		{`SELECT COUNT(*) FROM sessions WHERE org_id = $1`, b, 1},
		{`SELECT COUNT(*) FROM events WHERE session_id = 's-' || $1`, b, 1},
		{`SELECT COUNT(*) FROM agents WHERE org_id = $1`, b, 1},
		{`SELECT COUNT(*) FROM audit_log WHERE org_id = $1`, b, 1},
	} {
		var n int
		if err := conn.QueryRow(ctx, c.query, c.arg).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s (%s): %d (%v), want %d", c.query, c.arg, n, err, c.want)
		}
	}
}
