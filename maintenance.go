package veilig

import (
	"context"
	"errors"
	"fmt"
	"time"
)

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
	res, err := s.store.Purge(ctx, now, s.auditCutoffs(now))
	if err != nil {
		errs = append(errs, fmt.Errorf("purge: %w", err))
	} else if res.Sessions+res.AuditEntries > 0 {
		s.log.Info("purged", "sessions", res.Sessions, "events", res.Events, "audit", res.AuditEntries)
	}
	return errors.Join(errs...)
}

// auditCutoffs are the times before which audit entries go: the
// deployment's retention, and an organisation's own where it has one.
func (s *Service) auditCutoffs(now time.Time) AuditCutoffs {
	c := AuditCutoffs{Before: now.Add(-s.auditRetention), ByOrg: map[string]time.Time{}}
	for id, o := range s.orgs {
		if o.AuditRetention > 0 {
			c.ByOrg[id] = now.Add(-o.AuditRetention)
		}
	}
	return c
}
