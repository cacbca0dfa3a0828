// Package agentauth signs agents in and out: argon2id password hashes,
// server-side sessions behind an opaque cookie token, CSRF tokens, idle and
// absolute timeouts, and a limit on sign-in attempts.
package agentauth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/time/rate"

	"github.com/veiligcontact/veilig"
)

// Params are the argon2id parameters for new hashes: the OWASP-recommended
// 19 MiB, 2 passes, 1 lane. Hashes carry their parameters, so raising these
// later keeps old hashes verifiable.
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// MinPasswordLength follows NIST SP 800-63B for memorised secrets chosen by users.
const MinPasswordLength = 12

// HashPassword returns the argon2id PHC string for password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", veilig.Errorf(veilig.EINVALID, "a password needs at least %d characters", MinPasswordLength)
	}
	if len(password) > 1024 {
		return "", veilig.Errorf(veilig.EINVALID, "a password may have at most 1024 characters")
	}
	return argon2id.CreateHash(password, Params)
}

// Store is what Auth keeps: accounts and their sessions, and the audit
// entries of signing in.
type Store interface {
	veilig.AgentStore
	veilig.AuditLog
}

// Auth authenticates agents against the store.
type Auth struct {
	store Store
	idle  time.Duration
	max   time.Duration
	now   veilig.Clock
	// perMinute failed sign-ins per username (ten times that per address).
	perMinute int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	// dummyHash is verified against when the username does not exist, so a
	// wrong username takes as long as a wrong password.
	dummyHash string
}

// New returns an Auth. idle and max bound a session's life.
func New(store Store, idle, max time.Duration, perMinute int, now veilig.Clock) (*Auth, error) {
	if now == nil {
		now = time.Now
	}
	dummy, err := argon2id.CreateHash(veilig.NewToken(), Params)
	if err != nil {
		return nil, err
	}
	return &Auth{store: store, idle: idle, max: max, now: now, perMinute: perMinute, limiters: map[string]*rate.Limiter{}, dummyHash: dummy}, nil
}

// limiter returns the failure budget of key: per username perMinute, per
// remote address ten times that, since a contact centre's agents often share
// one address behind NAT.
func (a *Auth) limiter(key string, perMinute int) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.limiters[key]
	if !ok {
		if len(a.limiters) > 100_000 {
			// Forget everyone rather than grow without bound under a flood.
			a.limiters = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(rate.Every(time.Minute/time.Duration(perMinute)), perMinute)
		a.limiters[key] = l
	}
	return l
}

// untilAttempt is how long until l allows another failed attempt: the
// budget refills one attempt per minute/perMinute (6 s at the default of
// 10), in whole seconds rounded up.
func untilAttempt(l *rate.Limiter) time.Duration {
	missing := 1 - l.Tokens()
	if missing <= 0 {
		return 0
	}
	d := time.Duration(missing / float64(l.Limit()) * float64(time.Second))
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}

// SignedIn is a successful sign-in: Token goes into the cookie, CSRFToken to
// the page.
type SignedIn struct {
	Agent     *veilig.Agent
	Token     string
	CSRFToken string
	ExpiresAt time.Time
}

// Login checks username and password.
//
// Error codes: EUNAUTHORIZED (the same for unknown user, wrong password and
// disabled account), ERATELIMIT.
func (a *Auth) Login(ctx context.Context, username, password, remoteAddr string) (*SignedIn, error) {
	// Only failures spend the budget: agents signing in correctly, many
	// behind one address, are never limited.
	byUser, byAddr := a.limiter("user:"+username, a.perMinute), a.limiter("addr:"+remoteAddr, 10*a.perMinute)
	if byUser.Tokens() < 1 || byAddr.Tokens() < 1 {
		wait := max(untilAttempt(byUser), untilAttempt(byAddr))
		return nil, &veilig.Error{
			Code:       veilig.ERATELIMIT,
			Message:    fmt.Sprintf("too many failed sign-in attempts; try again in %d s", int(wait/time.Second)),
			RetryAfter: wait,
		}
	}
	failed := func() {
		byUser.Allow()
		byAddr.Allow()
	}
	wrong := veilig.Errorf(veilig.EUNAUTHORIZED, "wrong username or password")
	if len(password) > 1024 {
		failed()
		return nil, wrong
	}
	agent, err := a.store.AgentByUsername(ctx, username)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		_, _ = argon2id.ComparePasswordAndHash(password, a.dummyHash)
		failed()
		return nil, wrong
	} else if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if agent.PasswordHash == "" {
		// An account for single sign-on only: no password opens it.
		_, _ = argon2id.ComparePasswordAndHash(password, a.dummyHash)
		failed()
		return nil, wrong
	}
	ok, err := argon2id.ComparePasswordAndHash(password, agent.PasswordHash)
	if err != nil || !ok || agent.Disabled {
		failed()
		return nil, wrong
	}
	in, err := a.SignIn(ctx, agent, remoteAddr, veilig.AuditAgentSignIn)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return in, nil
}

// SignIn starts a session for an agent whose identity was proven some other
// way (single sign-on), recording action in the audit log.
//
// Error codes: EUNAUTHORIZED (disabled account).
func (a *Auth) SignIn(ctx context.Context, agent *veilig.Agent, remoteAddr, action string) (*SignedIn, error) {
	if agent.Disabled {
		return nil, veilig.Errorf(veilig.EUNAUTHORIZED, "this account is disabled")
	}
	now := a.now()
	token := veilig.NewToken()
	s := &veilig.AgentSession{
		TokenHash: veilig.TokenHash(token), AgentID: agent.ID, CSRFToken: veilig.NewToken(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.max),
	}
	if err := a.store.CreateAgentSession(ctx, s); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if err := a.store.AddAudit(ctx, &veilig.AuditEntry{At: now, AgentID: agent.ID, Action: action, RemoteAddr: remoteAddr, OrgID: agent.OrgID}); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	return &SignedIn{Agent: agent, Token: token, CSRFToken: s.CSRFToken, ExpiresAt: s.ExpiresAt}, nil
}

// IdleTimeout is how long a session lives without activity.
func (a *Auth) IdleTimeout() time.Duration { return a.idle }

// Authenticate returns the agent behind a cookie token and refreshes the
// idle timer.
//
// Error codes: EUNAUTHORIZED (unknown, expired or idle session, disabled agent).
func (a *Auth) Authenticate(ctx context.Context, token string) (*veilig.Agent, *veilig.AgentSession, error) {
	return a.authenticate(ctx, token, true)
}

// Peek is Authenticate without refreshing the idle timer: for what the
// console does by itself (refreshing lists, keeping a stream open), which
// must not keep an unattended console signed in.
func (a *Auth) Peek(ctx context.Context, token string) (*veilig.Agent, *veilig.AgentSession, error) {
	return a.authenticate(ctx, token, false)
}

func (a *Auth) authenticate(ctx context.Context, token string, touch bool) (*veilig.Agent, *veilig.AgentSession, error) {
	denied := veilig.Errorf(veilig.EUNAUTHORIZED, "sign in first (your session is missing or has expired)")
	if token == "" || len(token) > 256 {
		return nil, nil, denied
	}
	hash := veilig.TokenHash(token)
	s, err := a.store.AgentSession(ctx, hash)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		return nil, nil, denied
	} else if err != nil {
		return nil, nil, fmt.Errorf("authenticate: %w", err)
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.idle {
		_ = a.store.DeleteAgentSession(ctx, hash)
		return nil, nil, denied
	}
	agent, err := a.store.Agent(ctx, s.AgentID)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND || (err == nil && agent.Disabled) {
		return nil, nil, denied
	} else if err != nil {
		// The database is away (a restart, a failover): not a reason to
		// sign the agent out.
		return nil, nil, fmt.Errorf("authenticate: %w", err)
	}
	// Touch at most every few seconds: a busy console polls and streams.
	if touch && now.Sub(s.LastSeenAt) > 5*time.Second {
		if err := a.store.TouchAgentSession(ctx, hash, now); err != nil {
			return nil, nil, fmt.Errorf("authenticate: %w", err)
		}
		s.LastSeenAt = now
	}
	return agent, s, nil
}

// CheckCSRF reports whether got is the session's CSRF token.
func CheckCSRF(s *veilig.AgentSession, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(s.CSRFToken), []byte(got)) == 1
}

// Logout ends the session behind token.
func (a *Auth) Logout(ctx context.Context, token string) error {
	return a.store.DeleteAgentSession(ctx, veilig.TokenHash(token))
}
