package veilig

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Observer is told what happened, for metrics. Every field may be nil.
type Observer struct {
	SessionStarted func(purposeID string)
	Disclosure     func(purposeID string, outcome SessionState)
	Call           func(result string) // matched, no_match, malformed, proof_pending, rate_limited, invalid
	// GuessingAlarm is told when this replica sees the guessing alarm
	// raised (true) or lowered (false).
	GuessingAlarm func(raised bool)
	ContactOpened func(purposeID string)
}

// ServiceConfig holds what a Service needs.
type ServiceConfig struct {
	Store    Store
	Bus      EventBus
	Yivi     DisclosureService
	Sealer   Sealer
	Purposes []*Purpose
	// SecretKey derives the keys for code hashes and caller hashes: it must
	// stay the same across replicas and restarts while sessions live.
	SecretKey      []byte
	MissLimits     MissLimits
	MaxContact     time.Duration // a matched contact never reported ended is ended after this
	AuditRetention time.Duration
	Clock          Clock
	Logger         *slog.Logger
	Observer       Observer
	// ReplicaID names this process among the replicas sharing the store,
	// in the follows of unfinished disclosures; "" draws a random one.
	// It must differ between processes, and should between restarts.
	ReplicaID string
	// FollowLease is how long a replica's follow of a disclosure lasts
	// without renewal, so about how long a lost replica's disclosures wait
	// for another replica to take them over. Default 15 s.
	FollowLease time.Duration
	// ProofWait bounds how long a call whose code belongs to a proof still
	// being made waits for it; default DefaultProofWait.
	ProofWait time.Duration
}

// Service is the core of Veilig Contact: it starts sessions, judges
// disclosures, matches calls to sessions, hands contacts to agents and
// destroys what they saw. It is safe for concurrent use; all state is in the
// store, so any number of replicas may run one each.
type Service struct {
	store          Store
	bus            EventBus
	yivi           DisclosureService
	sealer         Sealer
	purposes       map[string]*Purpose
	purposeOrder   []*Purpose
	codeKey        []byte
	callerKey      []byte
	limits         MissLimits
	maxContact     time.Duration
	auditRetention time.Duration
	now            Clock
	log            *slog.Logger
	obs            Observer
	proofWait      time.Duration
	guessing       guessing

	// Following disclosures across replicas: set only when the store
	// records follows and the Yivi server lets another process follow a
	// session (an external Yivi server).
	replicaID   string
	follows     DisclosureFollows
	follower    DisclosureFollower
	followLease time.Duration
	following   following
}

// NewService checks cfg and returns a Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil || cfg.Bus == nil || cfg.Yivi == nil || cfg.Sealer == nil {
		return nil, errors.New("service: store, bus, yivi and sealer are required")
	}
	if len(cfg.SecretKey) < 32 {
		return nil, errors.New("service: secret key must be at least 32 bytes")
	}
	s := &Service{
		store: cfg.Store, bus: cfg.Bus, yivi: cfg.Yivi, sealer: cfg.Sealer,
		purposes:       map[string]*Purpose{},
		codeKey:        deriveKey(cfg.SecretKey, "code"),
		callerKey:      deriveKey(cfg.SecretKey, "caller"),
		limits:         cfg.MissLimits,
		maxContact:     cfg.MaxContact,
		auditRetention: cfg.AuditRetention,
		now:            cfg.Clock,
		log:            cfg.Logger,
		obs:            cfg.Observer,
	}
	for _, p := range cfg.Purposes {
		if _, dup := s.purposes[p.ID]; dup {
			return nil, fmt.Errorf("service: purpose %q configured twice", p.ID)
		}
		s.purposes[p.ID] = p
		s.purposeOrder = append(s.purposeOrder, p)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxContact <= 0 {
		s.maxContact = 12 * time.Hour
	}
	if s.auditRetention <= 0 {
		s.auditRetention = 366 * 24 * time.Hour
	}
	s.proofWait = cfg.ProofWait
	if s.proofWait <= 0 {
		s.proofWait = DefaultProofWait
	}
	s.replicaID = cfg.ReplicaID
	if s.replicaID == "" {
		s.replicaID = newID()
	}
	s.followLease = cfg.FollowLease
	if s.followLease <= 0 {
		s.followLease = 15 * time.Second
	}
	follows, ok1 := cfg.Store.(DisclosureFollows)
	follower, ok2 := cfg.Yivi.(DisclosureFollower)
	if ok1 && ok2 {
		s.follows, s.follower = follows, follower
	}
	return s, nil
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("veilig-key\x00" + purpose))
	return m.Sum(nil)
}

// Purpose returns a configured purpose; ENOTFOUND.
func (s *Service) Purpose(id string) (*Purpose, error) {
	if p, ok := s.purposes[id]; ok {
		return p, nil
	}
	return nil, Errorf(ENOTFOUND, "unknown purpose")
}

// Purposes returns the configured purposes in configuration order.
func (s *Service) Purposes() []*Purpose { return s.purposeOrder }

// OriginAllowedAnywhere reports whether any purpose allows origin; used to
// answer CORS preflights, which do not say which purpose they are for.
func (s *Service) OriginAllowedAnywhere(origin string) bool {
	for _, p := range s.purposeOrder {
		if p.AllowsOrigin(origin) {
			return true
		}
	}
	return false
}

// StartedSession is what the citizen API hands back when a session starts.
type StartedSession struct {
	SessionID       string
	StatusToken     string // bearer secret for the status stream and cancel
	SessionPtr      json.RawMessage
	FrontendRequest json.RawMessage
	PhoneNumber     string
	Code            string // to dial by hand when the phone cannot open tel: links
	ExpiresAt       time.Time
}

// DialURI is the tel: URI the Yivi app opens after a successful disclosure:
// the number, a pause (","), then the code as DTMF tones.
func DialURI(number, code string) string { return "tel:" + number + "," + code }

// StartSession starts a session for purpose purposeID, asked from a page at
// origin ("" when not from a browser).
//
// Error codes: ENOTFOUND (unknown purpose), EFORBIDDEN (origin not allowed),
// EUNAVAILABLE (Yivi server down).
func (s *Service) StartSession(ctx context.Context, purposeID, origin string) (*StartedSession, error) {
	p, err := s.Purpose(purposeID)
	if err != nil {
		return nil, err
	}
	if origin != "" && !p.AllowsOrigin(origin) {
		return nil, Errorf(EFORBIDDEN, "this web page may not start sessions for this purpose")
	}
	now := s.now()
	sess := &Session{
		ID:        newID(),
		PurposeID: p.ID,
		Channel:   p.Channel,
		Means:     MeansYivi,
		State:     StateCreated,
		CreatedAt: now,
		ExpiresAt: now.Add(p.SessionTTL),
	}
	statusToken := newToken()
	// The Yivi session starts first and the session row is written once,
	// with its token, in one transaction: a start costs one commit. The
	// code is in the Yivi request (clientReturnUrl), so if the database
	// finds it held by a live session (rare: 10^(n-1) codes), that Yivi
	// session is cancelled and everything is drawn anew under a new id, so
	// the abandoned attempt's callbacks cannot touch the new session.
	var (
		code    string
		started *StartedDisclosure
	)
	for attempt := 0; ; attempt++ {
		if code, err = NewCode(p.CodeLength); err != nil {
			return nil, fmt.Errorf("start session: %w", err)
		}
		gate := newStartGate()
		started, err = s.yivi.StartDisclosure(ctx, DisclosureRequest{
			Disclose:        p.Disclose,
			ClientReturnURL: DialURI(p.PhoneNumber, code),
			ConnectWithin:   p.SessionTTL,
		}, gate.watcher(s.watcher(sess.ID)))
		if err != nil {
			gate.open(false)
			s.following.remove(sess.ID)
			s.log.Error("start yivi session", "session", sess.ID, "purpose", p.ID, "err", err)
			return nil, Errorf(EUNAVAILABLE, "the Yivi server is not available; try again later")
		}
		sess.YiviToken = started.Token
		_, err = s.store.CreateSession(ctx, sess, CodeHash(s.codeKey, code), TokenHash(statusToken), sess.ExpiresAt.Add(p.Retention))
		gate.open(err == nil)
		if err == nil {
			break
		}
		s.following.remove(sess.ID)
		if cerr := s.yivi.CancelDisclosure(context.WithoutCancel(ctx), started.Token); cerr != nil && ErrorCode(cerr) != ENOTFOUND {
			s.log.Warn("cancel abandoned yivi session", "session", sess.ID, "err", cerr)
		}
		if ErrorCode(err) != ECONFLICT || attempt >= 8 {
			return nil, fmt.Errorf("start session: %w", err)
		}
		sess.ID = newID() // the code is held by a live session: draw another
	}
	id := sess.ID
	if s.follows != nil {
		// Until this is recorded the session counts as followed for a
		// grace period (see FollowDisclosures), so failing here only
		// means another replica takes it over later.
		if err := s.follows.FollowDisclosure(ctx, id, s.replicaID, now.Add(s.followLease)); err != nil {
			s.log.Warn("record disclosure follow", "session", id, "err", err)
		}
	}
	if s.obs.SessionStarted != nil {
		s.obs.SessionStarted(p.ID)
	}
	s.log.Info("session started", "session", id, "purpose", p.ID)
	return &StartedSession{
		SessionID:       id,
		StatusToken:     statusToken,
		SessionPtr:      started.SessionPtr,
		FrontendRequest: started.FrontendRequest,
		PhoneNumber:     p.PhoneNumber,
		Code:            code,
		ExpiresAt:       sess.ExpiresAt,
	}, nil
}

func (s *Service) disclosureConnected(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := s.store.Transition(ctx, Transition{
		SessionID: id, From: []SessionState{StateCreated}, To: StateDisclosing,
		Event: string(StateDisclosing), At: s.now(),
	})
	if err != nil && ErrorCode(err) != ECONFLICT {
		s.log.Error("mark session disclosing", "session", id, "err", err)
	}
}

// disclosureFinished stores what the Yivi server reported. The outcome is
// told once, so a database that is down for a moment (a failover, a
// restart) must not lose it: store errors are retried for a while.
func (s *Service) disclosureFinished(id string, o DisclosureOutcome) {
	retryStore(storeRetryLimit, func(ctx context.Context) error { return s.finishDisclosure(ctx, id, o) }, func(err error) {
		s.log.Warn("store disclosure outcome; retrying", "session", id, "err", err)
	}, func(err error) {
		s.log.Error("store disclosure outcome; gave up (the session will expire)", "session", id, "err", err)
	})
}

// storeRetryLimit bounds how long a disclosure outcome is retried against a
// failing database: longer than a PostgreSQL restart or failover, shorter
// than the Yivi server keeps results (5 minutes), so a replica that takes
// over can still fetch it.
const storeRetryLimit = 2 * time.Minute

// retryStore runs fn until it returns nil or an application error (which
// is final), retrying other errors with backoff for at most limit.
func retryStore(limit time.Duration, fn func(context.Context) error, retrying, giveUp func(error)) {
	deadline := time.Now().Add(limit)
	delay := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := fn(ctx)
		cancel()
		var ve *Error
		if err == nil || errors.As(err, &ve) {
			return
		}
		if time.Now().Add(delay).After(deadline) {
			giveUp(err)
			return
		}
		retrying(err)
		time.Sleep(delay)
		delay = min(2*delay, 5*time.Second)
	}
}

// finishDisclosure judges and stores o. It returns only errors worth
// retrying (the database failed); it handles everything else itself.
func (s *Service) finishDisclosure(ctx context.Context, id string, o DisclosureOutcome) error {
	cur, err := s.store.Session(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		s.log.Error("disclosure finished for unknown session", "session", id)
		return nil
	} else if err != nil {
		return err
	}
	if cur.State != StateCreated && cur.State != StateDisclosing {
		return nil // told twice (two replicas followed it), or cancelled or expired meanwhile
	}
	p, err := s.Purpose(cur.PurposeID)
	if err != nil {
		s.log.Error("disclosure finished for a purpose no longer configured", "session", id, "purpose", cur.PurposeID)
		return s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing}, StateFailed, "purpose no longer configured", nil)
	}
	d, state, reason := o.Judge(p)
	now := s.now()
	if state != StateDisclosed {
		if err := s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing}, state, reason, nil); err != nil {
			return err
		}
		s.observeDisclosure(p.ID, state)
		s.log.Info("disclosure refused", "session", id, "purpose", p.ID, "state", state, "reason", reason)
		return nil
	}
	if !now.Before(cur.ExpiresAt) {
		return s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing}, StateExpired, "disclosed after the session expired", nil)
	}
	d.At = now
	plain, err := json.Marshal(d)
	if err != nil {
		s.log.Error("encode disclosure", "session", id, "err", err)
		return nil
	}
	sealed, err := s.sealer.Seal(plain, []byte(id))
	if err != nil {
		s.log.Error("seal disclosure", "session", id, "err", err)
		return s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing}, StateFailed, "could not store the disclosure", nil)
	}
	_, _, err = s.store.Transition(ctx, Transition{
		SessionID: id, From: []SessionState{StateCreated, StateDisclosing}, To: StateDisclosed,
		Event: string(StateDisclosed), At: now, SealedDisclosure: &sealed,
	})
	if ErrorCode(err) == ECONFLICT {
		// Cancelled or expired meanwhile, or stored by another replica
		// that followed it too: this copy is not kept.
		return nil
	} else if err != nil {
		return err
	}
	s.observeDisclosure(p.ID, state)
	s.log.Info("disclosure verified", "session", id, "purpose", p.ID, "attributes", len(d.Attributes))
	return nil
}

func (s *Service) observeDisclosure(purposeID string, state SessionState) {
	if s.obs.Disclosure != nil {
		s.obs.Disclosure(purposeID, state)
	}
}

// endSession moves a session to a terminal state, erasing its code and
// personal data. A session already elsewhere is left alone.
func (s *Service) endSession(ctx context.Context, id string, from []SessionState, to SessionState, reason string, audit *AuditEntry) error {
	cur, err := s.store.Session(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	retention := DefaultRetention
	if p, ok := s.purposes[cur.PurposeID]; ok {
		retention = p.Retention
	}
	_, _, err = s.store.Transition(ctx, Transition{
		SessionID: id, From: from, To: to, Event: string(to), Reason: reason, At: now,
		ClearCode: true, DestroyPersonal: true, RetainUntil: now.Add(retention), Audit: audit,
	})
	if err != nil && ErrorCode(err) != ECONFLICT {
		s.log.Error("end session", "session", id, "state", to, "err", err)
	}
	return err
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
	if sess.YiviToken != "" && (sess.State == StateCreated || sess.State == StateDisclosing) {
		if err := s.yivi.CancelDisclosure(context.WithoutCancel(ctx), sess.YiviToken); err != nil && ErrorCode(err) != ENOTFOUND {
			s.log.Warn("cancel yivi session", "session", id, "err", err)
		}
	}
	return nil
}

// ReportCallState records what the platform says happened to a matched call.
// Reports are idempotent: a state the session has passed is accepted and
// changes nothing, so platforms may retry.
//
// Error codes: EINVALID, ENOTFOUND (no matched call with this id).
func (s *Service) ReportCallState(ctx context.Context, provider, callID string, state CallState) error {
	if !providerPattern.MatchString(provider) || !callIDPattern.MatchString(callID) {
		return Errorf(EINVALID, "provider and callId are required")
	}
	if !state.Valid() {
		return Errorf(EINVALID, "state must be queued, answered, ended or unavailable")
	}
	sess, err := s.store.SessionByCall(ctx, provider, callID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no matched call with this id")
		}
		return err
	}
	now := s.now()
	switch state {
	case CallQueued:
		_, _, err = s.store.Transition(ctx, Transition{SessionID: sess.ID, From: []SessionState{StateMatched}, To: StateMatched, Event: EventQueued, At: now})
	case CallAnswered:
		_, _, err = s.store.Transition(ctx, Transition{SessionID: sess.ID, From: []SessionState{StateMatched}, To: StateAnswered, Event: string(StateAnswered), At: now})
	case CallEnded:
		err = s.endSession(ctx, sess.ID, []SessionState{StateMatched, StateAnswered}, StateEnded, "the call ended", nil)
	case CallUnavailable:
		err = s.endSession(ctx, sess.ID, []SessionState{StateMatched, StateAnswered}, StateEnded, "the contact centre could not take the call", nil)
	}
	if ErrorCode(err) == ECONFLICT {
		return nil // already past this state
	}
	return err
}

// WaitingContacts lists the matched contacts agent a may take: those of its
// purposes that no other agent has taken. Attributes are not included.
func (s *Service) WaitingContacts(ctx context.Context, a *Agent) ([]*Contact, error) {
	list, err := s.store.Sessions(ctx, SessionFilter{States: []SessionState{StateMatched, StateAnswered}, Purposes: a.Purposes, Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("waiting contacts: %w", err)
	}
	out := make([]*Contact, 0, len(list))
	for _, st := range list {
		if st.TakenBy != "" && st.TakenBy != a.ID {
			continue
		}
		out = append(out, s.contact(st))
	}
	return out, nil
}

// ContactByCall finds the live contact a platform's call was matched to:
// the agent's softphone knows the call (an Amazon Connect ContactId, a
// Twilio CallSid), the console asks for its contact. Attributes are not
// included; OpenContact gives them.
//
// Error codes: EINVALID, ENOTFOUND (no live contact for this call, which
// includes unverified callers), EFORBIDDEN (not a purpose of the agent's),
// ECONFLICT (taken by another agent).
func (s *Service) ContactByCall(ctx context.Context, a *Agent, provider, callID string) (*Contact, error) {
	if !providerPattern.MatchString(provider) || !callIDPattern.MatchString(callID) {
		return nil, Errorf(EINVALID, "provider and callId are required")
	}
	st, err := s.store.SessionByCall(ctx, provider, callID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, "no verified contact for this call")
		}
		return nil, fmt.Errorf("contact by call: %w", err)
	}
	if st.State != StateMatched && st.State != StateAnswered {
		return nil, Errorf(ENOTFOUND, "no verified contact for this call")
	}
	if !a.Serves(st.PurposeID) {
		return nil, Errorf(EFORBIDDEN, "this contact is for a purpose you do not serve")
	}
	if st.TakenBy != "" && st.TakenBy != a.ID {
		return nil, Errorf(ECONFLICT, "another agent has taken this contact")
	}
	return s.contact(st), nil
}

func (s *Service) contact(st *StoredSession) *Contact {
	c := &Contact{
		ID: st.ID, PurposeID: st.PurposeID, Channel: st.Channel, State: st.State,
		Provider: st.Provider, Means: st.Means, Assurance: st.Means.Assurance(),
		MatchedAt: st.MatchedAt, DisclosedAt: st.DisclosedAt, TakenBy: st.TakenBy,
	}
	if p, ok := s.purposes[st.PurposeID]; ok {
		c.PurposeLabel = p.Label("nl")
	}
	if !st.SealedCaller.IsZero() {
		if n, err := s.sealer.Open(st.SealedCaller, callerAAD(st.Provider, st.CallID)); err == nil {
			c.CallerNumber = string(n)
		} else {
			s.log.Error("open caller number", "session", st.ID, "err", err)
		}
	}
	return c
}

// OpenContact gives agent a the verified attributes of a matched contact and
// makes it theirs; the view is written to the audit log in the same
// transaction, so there is no view without an entry.
//
// Error codes: ENOTFOUND, EFORBIDDEN (not a purpose of the agent's),
// ECONFLICT (taken by another agent, or no longer live).
func (s *Service) OpenContact(ctx context.Context, a *Agent, id, remoteAddr string) (*Contact, error) {
	st, err := s.store.Session(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, "no such contact")
		}
		return nil, err
	}
	if !a.Serves(st.PurposeID) {
		return nil, Errorf(EFORBIDDEN, "this contact is for a purpose you do not serve")
	}
	if st.State != StateMatched && st.State != StateAnswered {
		return nil, Errorf(ECONFLICT, "this contact is not waiting (it is %s)", st.State)
	}
	if st.TakenBy != "" && st.TakenBy != a.ID {
		return nil, Errorf(ECONFLICT, "another agent has taken this contact")
	}
	plain, err := s.sealer.Open(st.SealedDisclosure, []byte(st.ID))
	if err != nil {
		return nil, fmt.Errorf("open contact: %w", err)
	}
	var d Disclosure
	if err := json.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("open contact: decode disclosure: %w", err)
	}
	ids := make([]string, len(d.Attributes))
	for i, at := range d.Attributes {
		ids[i] = at.ID
	}
	now := s.now()
	t := Transition{
		SessionID: id, From: []SessionState{st.State}, To: StateAnswered, At: now, TakenBy: &a.ID,
		Audit: &AuditEntry{At: now, AgentID: a.ID, Action: AuditContactOpened, SessionID: id, PurposeID: st.PurposeID, Attributes: ids, RemoteAddr: remoteAddr},
	}
	if st.State == StateMatched {
		t.Event = string(StateAnswered)
	}
	updated, _, err := s.store.Transition(ctx, t)
	if err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(ECONFLICT, "the contact changed meanwhile (taken by another agent or ended)")
		}
		return nil, fmt.Errorf("open contact: %w", err)
	}
	if s.obs.ContactOpened != nil {
		s.obs.ContactOpened(st.PurposeID)
	}
	s.log.Info("contact opened", "session", id, "agent", a.ID, "attributes", len(ids))
	c := s.contact(updated)
	c.Attributes = d.Attributes
	c.Means, c.Assurance, c.DisclosedAt = d.Means, d.Assurance, d.At
	return c, nil
}

// EndContact ends a contact the agent has (or may take) and destroys its
// attributes at once.
//
// Error codes: ENOTFOUND, EFORBIDDEN, ECONFLICT (another agent's, or over).
func (s *Service) EndContact(ctx context.Context, a *Agent, id, remoteAddr string) error {
	st, err := s.store.Session(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no such contact")
		}
		return err
	}
	if !a.Serves(st.PurposeID) {
		return Errorf(EFORBIDDEN, "this contact is for a purpose you do not serve")
	}
	if st.TakenBy != "" && st.TakenBy != a.ID {
		return Errorf(ECONFLICT, "another agent has taken this contact")
	}
	audit := &AuditEntry{At: s.now(), AgentID: a.ID, Action: AuditContactEnded, SessionID: id, PurposeID: st.PurposeID, RemoteAddr: remoteAddr}
	if err := s.endSession(ctx, id, []SessionState{StateMatched, StateAnswered}, StateEnded, "ended by the agent", audit); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return Errorf(ECONFLICT, "this contact is not live")
		}
		return err
	}
	s.log.Info("contact ended", "session", id, "agent", a.ID)
	return nil
}

// RunMaintenance expires sessions whose code ran out, ends contacts never
// reported ended, and purges what is past retention. It is safe to run on
// every replica at once (each step is a conditional update), but Maintain
// runs it on one replica at a time.
func (s *Service) RunMaintenance(ctx context.Context) error {
	now := s.now()
	var errs []error
	for _, p := range s.purposeOrder {
		evs, err := s.store.ExpireSessions(ctx, p.ID, now, now.Add(p.Retention))
		if err != nil {
			errs = append(errs, fmt.Errorf("expire %s: %w", p.ID, err))
		} else if len(evs) > 0 {
			s.log.Info("sessions expired", "purpose", p.ID, "count", len(evs))
		}
	}
	stale, err := s.store.Sessions(ctx, SessionFilter{States: []SessionState{StateMatched, StateAnswered}, Limit: 1000})
	if err != nil {
		errs = append(errs, err)
	}
	for _, st := range stale {
		if now.Sub(st.MatchedAt) > s.maxContact {
			_ = s.endSession(ctx, st.ID, []SessionState{StateMatched, StateAnswered}, StateEnded, "the call was never reported ended", nil)
		}
	}
	res, err := s.store.Purge(ctx, now, now.Add(-s.auditRetention))
	if err != nil {
		errs = append(errs, fmt.Errorf("purge: %w", err))
	} else if res.Sessions+res.AuditEntries > 0 {
		s.log.Info("purged", "sessions", res.Sessions, "events", res.Events, "audit", res.AuditEntries)
	}
	return errors.Join(errs...)
}

// EventStream reads the events matching a filter with Seq above a point:
// first those stored, then live ones from the bus, without gaps or repeats.
// When the bus drops the subscription (slow consumer, lost database
// connection) it subscribes again and catches up from the store. It runs in
// the caller's goroutine: a stream costs no goroutine of its own, which
// matters with ten thousand idle citizens waiting for their call.
type EventStream struct {
	s       *Service
	f       EventFilter
	last    int64
	live    <-chan Event
	pending []Event
	backoff time.Duration
}

// Stream opens a stream of the events matching f with Seq > after.
func (s *Service) Stream(f EventFilter, after int64) *EventStream {
	return &EventStream{s: s, f: f, last: after}
}

// Next returns the next event. It returns ticked=true when tick fires first
// (for keep-alives; tick may be nil) and ctx's error when ctx ends.
func (es *EventStream) Next(ctx context.Context, tick <-chan time.Time) (e Event, ticked bool, err error) {
	for {
		for len(es.pending) > 0 {
			e, es.pending = es.pending[0], es.pending[1:]
			if e.Seq > es.last {
				es.last = e.Seq
				return e, false, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return Event{}, false, err
		}
		if es.live == nil {
			// Subscribe before reading the store, so nothing committed in
			// between is missed; duplicates are dropped by Seq.
			live, err := es.s.bus.Subscribe(ctx, es.f)
			if err != nil {
				es.s.log.Warn("subscribe to events", "err", err)
				es.backoff = min(max(es.backoff*2, 100*time.Millisecond), 5*time.Second)
				if !sleepCtx(ctx, es.backoff) {
					return Event{}, false, ctx.Err()
				}
				continue
			}
			es.live, es.backoff = live, 0
			if err := es.catchUp(ctx); err != nil {
				return Event{}, false, err
			}
			continue
		}
		select {
		case e, ok := <-es.live:
			if !ok {
				es.live = nil // dropped: subscribe again and catch up
				continue
			}
			es.pending = append(es.pending[:0], e)
		case <-tick:
			return Event{}, true, nil
		case <-ctx.Done():
			return Event{}, false, ctx.Err()
		}
	}
}

// catchUp loads what the store holds after the last event returned.
func (es *EventStream) catchUp(ctx context.Context) error {
	after := es.last
	for {
		evs, err := es.s.store.EventsSince(ctx, es.f, after, 500)
		if err != nil {
			es.s.log.Warn("read events", "err", err)
			if !sleepCtx(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		es.pending = append(es.pending, evs...)
		if len(evs) < 500 {
			return nil
		}
		after = evs[len(evs)-1].Seq
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newID returns an opaque identifier: 128 random bits in lower-case base32.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewID returns a fresh opaque identifier (sessions, agents).
func NewID() string { return newID() }

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns a fresh 256-bit bearer secret, URL-safe.
func NewToken() string { return newToken() }

// TokenHash is how bearer secrets are stored: they are random and long, so
// an unkeyed hash is enough to make a dump useless.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
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
		Finished: func(o DisclosureOutcome) {
			if <-g.ready; g.ok {
				w.Finished(o)
			}
		},
	}
}
