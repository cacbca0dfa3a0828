package veilig

import (
	"context"
	"fmt"
	"time"
)

// OrganisationTotals are what a platform operator sees of an organisation:
// how much it has and does, never what, whose or whom.
type OrganisationTotals struct {
	ID       string            `json:"id"`
	Names    map[string]string `json:"names"`
	Purposes int               `json:"purposes"`
	Accounts int               `json:"accounts"` // enabled accounts
	Live     int               `json:"live"`     // contacts matched to a call and not yet ended
	// Matched and Unverified count the calls since Since that matched a
	// verified session, and the codes typed on its lines that matched none.
	Matched    int `json:"matched"`
	Unverified int `json:"unverified"`
}

// PlatformOverview is a platform operator's view of the organisations.
type PlatformOverview struct {
	At            time.Time            `json:"at"`
	Since         time.Time            `json:"since"`
	Organisations []OrganisationTotals `json:"organisations"`
}

// PlatformOverview gives operator op the totals of every organisation
// served since since.
//
// Error codes: EFORBIDDEN (op is not a platform operator).
func (s *Service) PlatformOverview(ctx context.Context, op *Agent, since time.Time) (*PlatformOverview, error) {
	if op.Role != RoleOperator {
		return nil, Errorf(EFORBIDDEN, "this needs the operator role")
	}
	accounts, err := s.store.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("platform overview: %w", err)
	}
	live, err := s.store.Sessions(ctx, SessionFilter{States: []SessionState{StateMatched, StateAnswered}, Limit: 100000})
	if err != nil {
		return nil, fmt.Errorf("platform overview: %w", err)
	}
	matched, err := s.store.CountMatched(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("platform overview: %w", err)
	}
	out := &PlatformOverview{At: s.now(), Since: since, Organisations: []OrganisationTotals{}}
	for _, o := range s.Organisations() {
		t := OrganisationTotals{ID: o.ID, Names: o.Names, Purposes: len(s.orgPurposes[o.ID])}
		for _, a := range accounts {
			if OrganisationOr(a.OrgID) == o.ID && !a.Disabled {
				t.Accounts++
			}
		}
		for _, st := range live {
			if OrganisationOr(st.OrgID) == o.ID {
				t.Live++
			}
		}
		for _, p := range s.orgPurposes[o.ID] {
			t.Matched += matched[p]
		}
		if t.Unverified, err = s.store.CountOrgMisses(ctx, o.ID, since); err != nil {
			return nil, fmt.Errorf("platform overview: %w", err)
		}
		out.Organisations = append(out.Organisations, t)
	}
	return out, nil
}

// Reporter is the telephony API as one organisation's own telephony
// credentials reach it (its adapters' signing secret, its Twilio account,
// its Asterisk hosts): it reports calls on that organisation's lines only,
// and the states of that organisation's connections only, so credentials
// one organisation holds cannot touch another's calls. It is a
// telephony.Core.
type Reporter struct {
	s   *Service
	org string
}

// Reporter returns the telephony API of organisation org's credentials.
func (s *Service) Reporter(org string) *Reporter { return &Reporter{s: s, org: org} }

// ReportCall is Service.ReportCall for a call on the organisation's line.
//
// Error codes: those of Service.ReportCall, and EFORBIDDEN (the call came
// in on no line of the organisation's; nothing was looked up).
func (r *Reporter) ReportCall(ctx context.Context, c IncomingCall) (CallMatch, error) {
	if org, ok := r.s.lineOrgs[c.CalledNumber]; !ok || org != r.org {
		r.s.observeCall(r.org, "other_line")
		return CallMatch{}, Errorf(EFORBIDDEN, "these telephony credentials report calls on the lines of organisation %s only (calledNumber)", r.org)
	}
	return r.s.ReportCall(ctx, c)
}

// ReportConnectionState is Service.ReportConnectionState for a connection
// of the organisation's; another's is answered as one that does not exist.
func (r *Reporter) ReportConnectionState(ctx context.Context, platform, connectionID string, state ConnectionState) error {
	if sess, err := r.s.store.SessionByConnection(ctx, platform, connectionID); err == nil && OrganisationOr(sess.OrgID) != r.org {
		return Errorf(ENOTFOUND, "no matched call with this id")
	}
	return r.s.ReportConnectionState(ctx, platform, connectionID, state)
}
