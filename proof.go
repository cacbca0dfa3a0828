package veilig

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

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
func (s *Service) disclosureFinished(id string, o ProofResult) {
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
func (s *Service) finishDisclosure(ctx context.Context, id string, o ProofResult) error {
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
		s.observeDisclosure(p, state)
		s.log.Info("disclosure refused", "session", id, "purpose", p.ID, "state", state, "reason", reason)
		if o.Detail != "" {
			s.log.Warn("the means reported a failure", "session", id, "means", o.Means, "detail", o.Detail)
		}
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
	sealed, err := s.sealerFor(cur.OrgID).Seal(plain, []byte(id))
	if err != nil {
		s.log.Error("seal disclosure", "session", id, "err", err)
		return s.endSession(ctx, id, []SessionState{StateCreated, StateDisclosing}, StateFailed, "could not store the disclosure", nil)
	}
	_, _, err = s.store.Transition(ctx, Transition{
		SessionID: id, From: []SessionState{StateCreated, StateDisclosing}, To: StateDisclosed,
		Event: string(StateDisclosed), At: now, SealedDisclosure: &sealed, Assurance: d.Assurance,
	})
	if ErrorCode(err) == ECONFLICT {
		// Cancelled or expired meanwhile, or stored by another replica
		// that followed it too: this copy is not kept.
		return nil
	} else if err != nil {
		return err
	}
	s.observeDisclosure(p, state)
	s.log.Info("disclosure verified", "session", id, "purpose", p.ID, "attributes", len(d.Attributes))
	return nil
}

func (s *Service) observeDisclosure(p *Purpose, state SessionState) {
	if s.obs.Disclosure != nil {
		s.obs.Disclosure(OrganisationOr(p.OrgID), p.ID, state)
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
