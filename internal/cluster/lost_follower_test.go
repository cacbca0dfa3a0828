package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// TestCallAfterLostFollower: the replica following a disclosure is lost
// right after the Yivi app finished, before it recorded the result, and
// the phone calls at once. Another replica must match the call within the
// time a platform gives us (telephony.DefaultTimeout, 6 s: Amazon Connect
// gives its Lambda 8 s, Twilio a webhook 15 s, our Asterisk AGI server
// uses the same bound), by asking the Yivi server for the result itself,
// not after the follow lease (15 s) runs out; and no miss is recorded.
func TestCallAfterLostFollower(t *testing.T) {
	need(t)
	if testing.Short() {
		t.Skip("builds veilig and runs a cluster")
	}
	c := startCluster(t)
	ctx := t.Context()
	victim := c.replicas[1]
	w := c.newWallet(t)

	// The session starts on the victim, which follows its disclosure.
	s, err := NewClient(victim.PublicURL).StartSession(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// The victim hangs, so it records nothing of what follows; the app
	// discloses (to the Yivi server); then the victim dies.
	victim.Freeze()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = w.Disclose(dctx, s.SessionPtr)
	cancel()
	if err != nil {
		t.Fatalf("disclose: %v", err)
	}
	t.Logf("SIGKILL %s right after the app finished", victim.Name)
	victim.Kill()
	c.public.SetBackends(c.replicas[0].PublicURL, c.replicas[2].PublicURL)
	c.internal.SetBackends(c.replicas[0].InternalURL, c.replicas[2].InternalURL)

	state := func() string {
		conn, err := pgx.Connect(ctx, c.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var st string
		if err := conn.QueryRow(ctx, `SELECT state FROM sessions WHERE id = $1`, s.SessionID).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st == string(veilig.StateDisclosed) {
		t.Fatalf("the frozen replica recorded the disclosure (%s): the test did not make the gap it is about", st)
	}

	// The phone calls at once, bounded as the platforms bound it.
	tel := &telephony.Client{BaseURL: c.internURL, Secret: c.telephonySecret}
	callCtx, cancel := context.WithTimeout(ctx, telephony.DefaultTimeout)
	defer cancel()
	start := time.Now()
	m, err := tel.ReportCall(callCtx, veilig.IncomingCall{Provider: "api", CallID: "lost-follower", CallerNumber: "+31201234567", CalledNumber: s.Dial.Number, Code: s.Dial.Code})
	took := time.Since(start)
	if err != nil || !m.Matched || m.ContactRef != s.SessionID {
		t.Fatalf("call after the follower was lost: %+v %v (after %s)", m, err, took)
	}
	t.Logf("matched %s after the call came in", took.Round(time.Millisecond))

	conn, err := pgx.Connect(ctx, c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var misses int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM telephony_misses`).Scan(&misses); err != nil {
		t.Fatal(err)
	}
	if misses != 0 {
		t.Errorf("%d misses recorded for a call with a valid code", misses)
	}
	if st := state(); st != string(veilig.StateMatched) {
		t.Errorf("session is %s, want matched", st)
	}
}
