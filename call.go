package veilig

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/veiligcontact/veilig/internal/wait"
)

// How calls are matched, and how guessing is kept hopeless without locking
// honest callers out (the arithmetic is in docs/security.md):
//
//   - A code whose check digit is wrong is a slip of the finger: it is
//     answered "no match" without a lookup and costs no attempt.
//   - Every lookup is an attempt of one caller: the caller's number, under
//     a keyed hash, or, when the number is withheld, the call itself (all
//     withheld callers cannot share one bucket: one guesser would block
//     them all). Counting the caller's misses, the lookup and recording
//     the miss are one transaction (Store.LookUpCode): concurrent calls of
//     one caller never get more lookups than the limit allows.
//   - A caller with PerCaller misses within PerCallerWindow has nothing
//     looked up until the oldest of them leaves the window.
//   - Misses of all callers are the guessing signal: when Overall of them
//     fall within OverallWindow, the guessing alarm is raised (a log line,
//     a metric), and while it lasts a caller with any miss in their window
//     has nothing looked up. A caller's first attempt is always looked up,
//     so an honest caller with a valid code matches whatever others do.
//   - A code that belongs to a proof still being made (the app has the
//     request, the result is not recorded yet, or the replica following it
//     was lost) is not a miss: the call asks the means for the result
//     at once and waits for it up to ProofWait.

// MissLimits bound the codes that match nothing. Zero turns a limit off.
type MissLimits struct {
	PerCaller       int           // misses a caller may have within PerCallerWindow
	PerCallerWindow time.Duration // also what "recent" means while the alarm lasts
	Overall         int           // misses of all callers within OverallWindow that raise the guessing alarm
	OverallWindow   time.Duration
}

// DefaultProofWait is how long a call whose code belongs to a proof still
// being made waits for it: within the time every platform gives us (Amazon
// Connect gives its Lambda 8 s in all; telephony.DefaultTimeout is 6 s).
const DefaultProofWait = 4 * time.Second

// alarmRecheck is how long a replica trusts its last count of all misses:
// the count is a signal, and counting at every call would cost the
// database most when guessing is heaviest.
const alarmRecheck = time.Second

var (
	providerPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	callIDPattern   = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	callerPattern   = regexp.MustCompile(`^\+?[0-9]{2,20}$`)
)

// AnonymousCaller is the caller number to report when the network withheld it.
const AnonymousCaller = "anonymous"

// Validate reports the first problem with c as EINVALID. The message names
// the field, never its value.
func (c IncomingCall) Validate() error {
	switch {
	case !providerPattern.MatchString(c.Provider):
		return Errorf(EINVALID, "provider must be 1-32 lower-case letters, digits or '-'")
	case !callIDPattern.MatchString(c.CallID):
		return Errorf(EINVALID, "callId must be 1-128 printable characters without spaces")
	case c.CallerNumber == "":
		return Errorf(EINVALID, "callerNumber is required (%q when withheld)", AnonymousCaller)
	case c.CallerNumber != AnonymousCaller && !callerPattern.MatchString(c.CallerNumber):
		return Errorf(EINVALID, "callerNumber must be digits with an optional leading '+', or %q", AnonymousCaller)
	case len(c.Code) > 64:
		return Errorf(EINVALID, "code is too long")
	case c.CalledNumber != "" && !callerPattern.MatchString(c.CalledNumber):
		return Errorf(EINVALID, "calledNumber must be digits with an optional leading '+'")
	}
	return nil
}

// ReportCall matches a call to the session whose code the caller typed.
// Unknown, used, expired and malformed codes give the same answer
// (Matched=false); a platform that retries a report of a call already
// matched gets the same match again.
//
// Error codes: EINVALID, ERATELIMIT (nothing was looked up; the error's
// RetryAfter says when a retry would be).
func (s *Service) ReportCall(ctx context.Context, c IncomingCall) (CallMatch, error) {
	org := s.callOrganisation(c)
	if err := c.Validate(); err != nil {
		s.observeCall(org, "invalid")
		return CallMatch{}, err
	}
	if !CodeWellFormed(c.Code) {
		s.observeCall(org, "malformed")
		s.log.Info("call's code is malformed; not looked up", "provider", c.Provider)
		return CallMatch{}, nil
	}
	now := s.now()
	alarm := s.guessingAlarm(ctx, now)
	limit, window := s.limits.PerCaller, s.limits.PerCallerWindow
	if window <= 0 {
		window = s.limits.OverallWindow
	}
	if alarm {
		limit = 1 // only a caller without a recent miss
	}
	// The caller number is personal data, sealed before it is stored. It is
	// bound to the call (provider and call id), which is stored in the same
	// row, so the match and the number are one transaction.
	call := Connection{Platform: c.Provider, ID: c.CallID, OrgID: s.lineOrgs[c.CalledNumber]}
	if call.OrgID == "" && len(s.orgs) > 1 {
		// With several organisations a code must come in on one of
		// theirs: a call on no known line looks nothing up.
		s.observeCall(org, "no_line")
		s.log.Info("call on a line of no organisation; not looked up", "provider", c.Provider)
		return CallMatch{}, nil
	}
	// Sealed with the keys of the organisation whose line it came in on
	// (with one organisation, its own), the only one it can match.
	lineOrg := call.OrgID
	if lineOrg == "" {
		lineOrg = s.soleOrg
	}
	sealed, err := s.sealerFor(lineOrg).Seal([]byte(c.CallerNumber), addressAAD(c.Provider, c.CallID))
	if err != nil {
		return CallMatch{}, fmt.Errorf("report call: %w", err)
	}
	call.SealedAddress = sealed
	codeHash := CodeHash(s.codeKey, c.Code)
	key := s.attemptKey(c)
	l, err := s.store.LookUpCode(ctx, Attempt{CallerKey: key, Since: now.Add(-window), Max: limit, At: now, OrgID: lineOrg}, codeHash, call)
	conflict := ErrorCode(err) == ECONFLICT // this call id is taken: nothing was recorded
	if err != nil && !conflict {
		return CallMatch{}, fmt.Errorf("report call: %w", err)
	}
	if !conflict && !l.Allowed {
		s.observeCall(org, "rate_limited")
		s.log.Info("call refused: too many codes that matched nothing", "provider", c.Provider, "alarm", alarm, "misses", len(l.Misses))
		return CallMatch{}, &Error{
			Code:       ERATELIMIT,
			Message:    "too many codes from this caller matched nothing; try again later",
			RetryAfter: s.retryAfter(now, l.Misses, window, alarm),
		}
	}
	if l.Session != nil {
		return s.matched(l.Session, c.Provider), nil
	}
	return s.noMatch(ctx, c, call, codeHash, key, now, l.MissID)
}

// noMatch handles a code that matched nothing at once. The attempt's miss
// (missID; 0 when none was recorded because the call id was taken) stays
// when it is one; a retried report of a matched call and a code whose
// proof is still being made are forgiven.
func (s *Service) noMatch(ctx context.Context, c IncomingCall, call Connection, codeHash, key []byte, now time.Time, missID int64) (CallMatch, error) {
	forgive := func() {
		if missID == 0 {
			return
		}
		if err := s.store.ForgiveMiss(context.WithoutCancel(ctx), missID); err != nil {
			s.log.Warn("forgive a miss recorded in advance", "err", err)
		}
	}
	fail := func(err error) (CallMatch, error) {
		forgive()
		return CallMatch{}, fmt.Errorf("report call: %w", err)
	}
	// A platform retrying the report of a call that already matched (its
	// code is used up, or this call id is taken) gets the same match again.
	if prev, err := s.store.SessionByConnection(ctx, c.Provider, c.CallID); err == nil && (prev.State == StateMatched || prev.State == StateAnswered) {
		forgive()
		s.observeCall(OrganisationOr(prev.OrgID), "matched")
		return CallMatch{Matched: true, ContactRef: prev.ID, PurposeID: prev.PurposeID}, nil
	} else if err != nil && ErrorCode(err) != ENOTFOUND {
		return fail(err)
	}
	pending, err := s.store.SessionByCode(ctx, codeHash, now)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return fail(err)
	}
	if err == nil && call.OrgID != "" && OrganisationOr(pending.OrgID) != call.OrgID {
		err = Errorf(ENOTFOUND, "another organisation's") // on another's line, a code is no proof of its
	}
	if err == nil {
		switch s.awaitProof(ctx, pending) {
		case proofRecorded:
			sess, _, err := s.store.MatchCode(ctx, codeHash, call, s.now(), missID)
			if err == nil {
				s.log.Info("call matched once its proof was recorded", "session", sess.ID, "provider", c.Provider)
				return s.matched(sess, c.Provider), nil
			}
			if code := ErrorCode(err); code != ENOMATCH && code != ECONFLICT {
				return fail(err)
			}
		case proofBeingMade:
			forgive()
			s.observeCall(s.callOrganisation(c), "proof_pending")
			s.log.Info("call's proof is still being made; not a miss", "session", pending.ID, "provider", c.Provider)
			return CallMatch{Matched: false}, nil
		}
	}
	if missID == 0 {
		// The call id was another session's: nothing was recorded.
		if err := s.store.RecordMiss(ctx, key, s.callOrganisation(c), now); err != nil {
			return CallMatch{}, fmt.Errorf("report call: %w", err)
		}
	}
	s.observeCall(s.callOrganisation(c), "no_match")
	s.log.Info("call did not match", "provider", c.Provider)
	return CallMatch{Matched: false}, nil
}

func (s *Service) matched(sess *StoredSession, provider string) CallMatch {
	s.observeCall(OrganisationOr(sess.OrgID), "matched")
	s.log.Info("call matched", "session", sess.ID, "purpose", sess.PurposeID, "provider", provider)
	return CallMatch{Matched: true, ContactRef: sess.ID, PurposeID: sess.PurposeID}
}

type proofState int

const (
	proofNotStarted proofState = iota // the app never fetched the request: the code is no proof's
	proofRecorded                     // the session is disclosed now
	proofBeingMade                    // the person is still deciding, or the result could not be had in time
	proofOver                         // refused, cancelled, expired
)

// awaitProof settles the proof of sess, a session whose code a call typed
// before its disclosure was recorded. It asks the means' server at once
// (the app may have finished a moment ago, or the replica following the
// session may be gone), stores a finished result itself, and otherwise
// asks again until ProofWait has passed. Only a session whose app fetched
// the request is waited for: a code of a session nobody is proving is a
// miss, as any other.
func (s *Service) awaitProof(ctx context.Context, sess *StoredSession) proofState {
	resolver, _ := s.means[sess.Means].(DisclosureResolver)
	deadline := time.Now().Add(s.proofWait)
	if d, ok := ctx.Deadline(); ok && d.Add(-500*time.Millisecond).Before(deadline) {
		deadline = d.Add(-500 * time.Millisecond)
	}
	connected := sess.State == StateDisclosing
	for i := 0; i < 100; i++ {
		if resolver != nil && sess.ProofRef != "" {
			progress, outcome, err := resolver.ResolveDisclosure(ctx, sess.ProofRef)
			switch {
			case err != nil:
				s.log.Warn("ask the means about a call's proof", "session", sess.ID, "err", err)
			case progress == ProgressFinished:
				if err := s.finishDisclosure(ctx, sess.ID, outcome); err != nil {
					s.log.Warn("store a call's proof", "session", sess.ID, "err", err)
				}
			case progress == ProgressConnected:
				connected = true
			}
		}
		cur, err := s.store.Session(ctx, sess.ID)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return proofOver
			}
			s.log.Warn("read a call's session", "session", sess.ID, "err", err)
		} else {
			switch cur.State {
			case StateDisclosed:
				return proofRecorded
			case StateDisclosing:
				connected = true
			case StateCreated:
			default:
				return proofOver
			}
		}
		if !connected {
			return proofNotStarted
		}
		left := time.Until(deadline)
		if left <= 0 || !wait.Sleep(ctx, min(proofPoll, left)) {
			return proofBeingMade
		}
	}
	return proofBeingMade
}

// proofPoll is how often a waiting call asks again.
const proofPoll = 250 * time.Millisecond

// addressAAD binds a sealed caller number to the call it came with.
func addressAAD(provider, callID string) []byte {
	return []byte("caller\x00" + provider + "\x00" + callID)
}

// callOrganisation is the organisation whose line call c came in on: the
// sole one of a deployment that serves one, "" when no organisation's.
func (s *Service) callOrganisation(c IncomingCall) string {
	if org, ok := s.lineOrgs[c.CalledNumber]; ok {
		return org
	}
	return s.soleOrg
}

func (s *Service) observeCall(org, result string) {
	if s.obs.Call != nil {
		s.obs.Call(org, result)
	}
}

// attemptKey is whose attempt a call is: a keyed hash of the caller number,
// or of the call itself when the number is withheld, so that one withheld
// guesser cannot use up the attempts of every withheld caller.
func (s *Service) attemptKey(c IncomingCall) []byte {
	m := hmac.New(sha256.New, s.callerKey)
	if c.CallerNumber == AnonymousCaller {
		m.Write([]byte("withheld\x00" + c.Provider + "\x00" + c.CallID))
	} else {
		m.Write([]byte(c.CallerNumber))
	}
	return m.Sum(nil)
}

// retryAfter is when a refused caller's next code would be looked up, if
// no more misses come: once enough of their misses have left the window
// for the limit to let them through, or, during the alarm, once all of
// them have, or the alarm is over (at the latest one OverallWindow from
// now, unless guessing goes on) and the ordinary limit lets them through.
func (s *Service) retryAfter(now time.Time, misses []time.Time, window time.Duration, alarm bool) time.Duration {
	// freeAt is when fewer than limit misses remain in the window: just
	// after the miss that must go has been in it for a whole window.
	freeAt := func(limit int) time.Time {
		if limit <= 0 || len(misses) < limit {
			return now
		}
		return misses[len(misses)-limit].Add(window + time.Millisecond)
	}
	at := freeAt(s.limits.PerCaller)
	if alarm {
		at = freeAt(1)
		if afterAlarm := later(now.Add(s.limits.OverallWindow), freeAt(s.limits.PerCaller)); afterAlarm.Before(at) {
			at = afterAlarm
		}
	}
	d := at.Sub(now)
	// Whole seconds, rounded up, at least one.
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// guessing is a replica's view of the guessing alarm.
type guessing struct {
	mu      sync.Mutex
	checked time.Time
	raised  bool
}

// guessingAlarm reports whether the misses of all callers within
// OverallWindow have reached Overall, counting at most once per
// alarmRecheck. Raising and lowering it is logged (counts only) and told
// to the observer.
func (s *Service) guessingAlarm(ctx context.Context, now time.Time) bool {
	if s.limits.Overall <= 0 || s.limits.OverallWindow <= 0 {
		return false
	}
	g := &s.guessing
	g.mu.Lock()
	if !g.checked.IsZero() && !now.Before(g.checked) && now.Sub(g.checked) < alarmRecheck {
		raised := g.raised
		g.mu.Unlock()
		return raised
	}
	was := g.raised
	g.mu.Unlock()
	n, err := s.store.CountMisses(ctx, nil, now.Add(-s.limits.OverallWindow))
	if err != nil {
		s.log.Warn("count misses for the guessing alarm", "err", err)
		return was
	}
	raised := n >= s.limits.Overall
	g.mu.Lock()
	changed := raised != g.raised
	g.raised, g.checked = raised, now
	g.mu.Unlock()
	if changed {
		if raised {
			s.log.Warn("guessing suspected: codes that matched nothing reached the alarm level; callers with a recent miss are refused while it lasts",
				"misses", n, "window", s.limits.OverallWindow.String(), "level", s.limits.Overall)
		} else {
			s.log.Info("guessing alarm over", "misses", n, "window", s.limits.OverallWindow.String())
		}
		if s.obs.GuessingAlarm != nil {
			s.obs.GuessingAlarm(raised)
		}
	}
	return raised
}
