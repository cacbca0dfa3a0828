package veilig

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"
)

// StartedSession is what the citizen API hands back when a session starts.
type StartedSession struct {
	SessionID   string
	StatusToken string // bearer secret for the status stream and cancel
	ExpiresAt   time.Time
	Means       Means           // how they prove who they are
	MeansClient json.RawMessage // what their client needs to start the proof (StartedDisclosure.Client)
	Channel     Channel         // how the person will reach an agent
	Next        json.RawMessage // their step after the proof, in the channel's terms (Preparation.Next)
}

// StartSession starts a session for purpose purposeID, asked from a page at
// origin ("" when not from a browser).
//
// Error codes: ENOTFOUND (unknown purpose), EFORBIDDEN (origin not allowed),
// EUNAVAILABLE (the means' server is down).
func (s *Service) StartSession(ctx context.Context, purposeID, origin string) (*StartedSession, error) {
	p, err := s.Purpose(purposeID)
	if err != nil {
		return nil, err
	}
	if origin != "" && !p.AllowsOrigin(origin) {
		return nil, Errorf(EFORBIDDEN, "this web page may not start sessions for this purpose")
	}
	means := s.meansFor(p)
	channel := s.channels[p.Channel]
	now := s.now()
	sess := &Session{
		ID:        newID(),
		PurposeID: p.ID,
		OrgID:     OrganisationOr(p.OrgID),
		Channel:   p.Channel,
		Means:     means.Means(),
		State:     StateCreated,
		CreatedAt: now,
		ExpiresAt: now.Add(p.SessionTTL),
	}
	statusToken := newToken()
	// The proof starts first and the session row is written once, with
	// its reference, in one transaction: a start costs one commit. The
	// channel's secret may be in the request (the phone's code in Yivi's
	// clientReturnUrl), so if the database finds it held by a live session
	// (rare: 10^(n-1) codes), that proof is cancelled and everything is
	// drawn anew under a new id, so the abandoned attempt's callbacks
	// cannot touch the new session.
	var (
		prep    Preparation
		started *StartedDisclosure
	)
	for attempt := 0; ; attempt++ {
		if prep, err = channel.Prepare(p); err != nil {
			return nil, fmt.Errorf("start session: %w", err)
		}
		gate := newStartGate()
		started, err = means.StartDisclosure(ctx, DisclosureRequest{
			Disclose:        p.Disclose,
			ClientReturnURL: prep.ReturnURL,
			ConnectWithin:   p.SessionTTL,
		}, gate.watcher(s.watcher(sess.ID)))
		if err != nil {
			gate.open(false)
			s.following.remove(sess.ID)
			s.log.Error("start proof", "session", sess.ID, "purpose", p.ID, "means", sess.Means, "err", err)
			return nil, Errorf(EUNAVAILABLE, "the %s server is not available; try again later", means.Name())
		}
		sess.ProofRef = started.Token
		_, err = s.store.CreateSession(ctx, sess, CodeHash(s.codeKey, prep.Secret), TokenHash(statusToken), sess.ExpiresAt.Add(p.Retention))
		gate.open(err == nil)
		if err == nil {
			break
		}
		s.following.remove(sess.ID)
		if cerr := means.CancelDisclosure(context.WithoutCancel(ctx), started.Token); cerr != nil && ErrorCode(cerr) != ENOTFOUND {
			s.log.Warn("cancel abandoned proof", "session", sess.ID, "err", cerr)
		}
		if ErrorCode(err) != ECONFLICT || attempt >= 8 {
			return nil, fmt.Errorf("start session: %w", err)
		}
		sess.ID = newID() // the secret is held by a live session: draw another
	}
	id := sess.ID
	if _, follows := means.(DisclosureFollower); follows && s.follows != nil {
		// Until this is recorded the session counts as followed for a
		// grace period (see FollowDisclosures), so failing here only
		// means another replica takes it over later.
		if err := s.follows.FollowDisclosure(ctx, id, s.replicaID, now.Add(s.followLease)); err != nil {
			s.log.Warn("record disclosure follow", "session", id, "err", err)
		}
	}
	if s.obs.SessionStarted != nil {
		s.obs.SessionStarted(OrganisationOr(p.OrgID), p.ID)
	}
	s.log.Info("session started", "session", id, "purpose", p.ID)
	return &StartedSession{
		SessionID:   id,
		StatusToken: statusToken,
		ExpiresAt:   sess.ExpiresAt,
		Means:       sess.Means,
		MeansClient: started.Client,
		Channel:     sess.Channel,
		Next:        prep.Next,
	}, nil
}

// SessionByStatusToken returns the session the status token belongs to, if
// it is session id. ENOTFOUND for any mismatch, so tokens cannot be probed.
func (s *Service) SessionByStatusToken(ctx context.Context, id, token string) (*Session, error) {
	if token == "" {
		return nil, Errorf(EUNAUTHORIZED, "a status token is required")
	}
	st, err := s.store.SessionByStatusToken(ctx, TokenHash(token))
	if ErrorCode(err) == ENOTFOUND || (err == nil && subtle.ConstantTimeCompare([]byte(st.ID), []byte(id)) != 1) {
		return nil, Errorf(ENOTFOUND, "no session with this id and token")
	} else if err != nil {
		return nil, err
	}
	return &st.Session, nil
}

// CancelSession cancels a session that has no call yet, on behalf of the
// holder of its status token.
//
// Error codes: ENOTFOUND, ECONFLICT (already matched or over).
func (s *Service) CancelSession(ctx context.Context, id, token string) error {
	sess, err := s.SessionByStatusToken(ctx, id, token)
	if err != nil {
		return err
	}
	if !sess.State.CanBecome(StateCancelled) {
		return Errorf(ECONFLICT, "the session can no longer be cancelled (it is %s)", sess.State)
	}
	if err := s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing, StateDisclosed}, StateCancelled, "cancelled by the person", nil); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return Errorf(ECONFLICT, "the session can no longer be cancelled")
		}
		return err
	}
	if means, ok := s.means[sess.Means]; ok && sess.ProofRef != "" && (sess.State == StateCreated || sess.State == StateDisclosing) {
		if err := means.CancelDisclosure(context.WithoutCancel(ctx), sess.ProofRef); err != nil && ErrorCode(err) != ENOTFOUND {
			s.log.Warn("cancel proof", "session", id, "err", err)
		}
	}
	return nil
}

// startGate holds a disclosure's callbacks until its session row is written
// (an app fast enough to connect before that would otherwise find no
// session), and drops them if the start was abandoned.
type startGate struct {
	ready chan struct{}
	ok    bool
}

func newStartGate() *startGate { return &startGate{ready: make(chan struct{})} }

// open lets held and later callbacks through if ok, or drops them.
func (g *startGate) open(ok bool) {
	g.ok = ok
	close(g.ready)
}

func (g *startGate) watcher(w DisclosureWatcher) DisclosureWatcher {
	return DisclosureWatcher{
		Connected: func() {
			if <-g.ready; g.ok {
				w.Connected()
			}
		},
		Finished: func(o ProofResult) {
			if <-g.ready; g.ok {
				w.Finished(o)
			}
		},
	}
}
