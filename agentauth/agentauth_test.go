package agentauth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*agentauth.Auth, veilig.Store, *clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/a.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := agentauth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not an argon2id PHC string with OWASP parameters: %s", hash)
	}
	err = st.CreateAgent(context.Background(), &veilig.Agent{ID: "a1", Username: "alice", Role: veilig.RoleAgent, Purposes: []string{"*"}, PasswordHash: hash, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	auth, err := agentauth.New(st, 30*time.Minute, 8*time.Hour, 5, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return auth, st, c
}

func TestLoginAndTimeouts(t *testing.T) {
	auth, st, c := setup(t)
	ctx := context.Background()
	in, err := auth.Login(ctx, "alice", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if in.Token == "" || in.CSRFToken == "" || in.Token == in.CSRFToken {
		t.Fatalf("tokens %+v", in)
	}
	a, s, err := auth.Authenticate(ctx, in.Token)
	if err != nil || a.ID != "a1" || !agentauth.CheckCSRF(s, in.CSRFToken) || agentauth.CheckCSRF(s, "") || agentauth.CheckCSRF(s, in.Token) {
		t.Fatalf("authenticate: %v %v", a, err)
	}
	// Activity keeps the session alive past the idle timeout...
	for range 20 {
		c.add(25 * time.Minute)
		if _, _, err := auth.Authenticate(ctx, in.Token); err != nil {
			if c.now().Sub(in.ExpiresAt) < 0 {
				t.Fatalf("active session ended early: %v", err)
			}
			break
		}
	}
	// ...but never past the absolute limit.
	if _, _, err := auth.Authenticate(ctx, in.Token); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("session past its maximum: %v", err)
	}
	in2, _ := auth.Login(ctx, "alice", "correct horse battery", "127.0.0.1")
	c.add(31 * time.Minute)
	if _, _, err := auth.Authenticate(ctx, in2.Token); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("idle session: %v", err)
	}
	in3, _ := auth.Login(ctx, "alice", "correct horse battery", "127.0.0.1")
	if err := auth.Logout(ctx, in3.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.Authenticate(ctx, in3.Token); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("after logout: %v", err)
	}
	audit, _ := st.Audit(ctx, veilig.AuditFilter{AgentID: "a1"})
	if len(audit) != 3 || audit[0].Action != veilig.AuditAgentSignIn {
		t.Fatalf("sign-ins not audited: %+v", audit)
	}
}

func TestLoginRefusals(t *testing.T) {
	auth, st, _ := setup(t)
	ctx := context.Background()
	for _, tc := range []struct{ user, pass string }{
		{"alice", "wrong password!"}, {"nobody", "correct horse battery"}, {"alice", strings.Repeat("x", 2000)},
	} {
		if _, err := auth.Login(ctx, tc.user, tc.pass, "10.0.0.1"); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED || veilig.ErrorMessage(err) != "wrong username or password" {
			t.Errorf("%s: %v", tc.user, err)
		}
	}
	a, _ := st.AgentByUsername(ctx, "alice")
	a.Disabled = true
	st.UpdateAgent(ctx, a)
	if _, err := auth.Login(ctx, "alice", "correct horse battery", "10.0.0.2"); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("disabled account: %v", err)
	}
	if _, _, err := auth.Authenticate(ctx, "made-up-token"); veilig.ErrorCode(err) != veilig.EUNAUTHORIZED {
		t.Fatalf("made-up token: %v", err)
	}
}

func TestFailuresAreRateLimited(t *testing.T) {
	auth, _, _ := setup(t)
	ctx := context.Background()
	var err error
	for i := 0; i < 10; i++ {
		if _, err = auth.Login(ctx, "alice", "guess", "10.0.0.3"); veilig.ErrorCode(err) == veilig.ERATELIMIT {
			break
		}
	}
	if veilig.ErrorCode(err) != veilig.ERATELIMIT {
		t.Fatalf("no limit after 10 failures: %v", err)
	}
	// Even the right password waits now: the budget is per username. The
	// answer says how long: the budget refills one attempt per
	// minute/perMinute, whole seconds rounded up.
	_, err = auth.Login(ctx, "alice", "correct horse battery", "10.0.0.4")
	if veilig.ErrorCode(err) != veilig.ERATELIMIT {
		t.Fatalf("right password while limited: %v", err)
	}
	const refill = time.Minute / 5 // setup: 5 a minute
	if d := veilig.ErrorRetryAfter(err); d < time.Second || d > refill {
		t.Fatalf("Retry-After %v, want at most one refill (%v)", d, refill)
	}
}

func TestPasswordRules(t *testing.T) {
	if _, err := agentauth.HashPassword("short"); veilig.ErrorCode(err) != veilig.EINVALID {
		t.Fatalf("short password: %v", err)
	}
}
