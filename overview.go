package veilig

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Overview is what a supervisor sees: who is signed in, which contacts wait
// and for how long, and how many calls came in since a moment (the start of
// the supervisor's day). It holds no personal data: no caller numbers and no
// attributes, only ids, states and times.
type Overview struct {
	At      time.Time      `json:"at"`
	Agents  []OnlineAgent  `json:"agents"`
	Waiting []QueueEntry   `json:"waiting"`
	Since   time.Time      `json:"since"`
	Matched map[string]int `json:"matched"` // calls matched to a verified session since Since, by purpose
	// Unverified counts the codes typed in calls on the organisation's
	// lines since Since that matched no verified session (the telephony
	// misses): each attempt counts, so
	// a caller who types a wrong code twice counts twice. Calls refused by
	// the miss limits are not looked up and not counted.
	Unverified int `json:"unverified"`
}

// OnlineAgent is a signed-in agent whose session has not timed out.
type OnlineAgent struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	Role        Role      `json:"role"`
	Purposes    []string  `json:"purposes"`
	LastSeenAt  time.Time `json:"lastSeenAt"`
	Sessions    int       `json:"sessions"` // signed in on this many browsers
	Contacts    int       `json:"contacts"` // contacts the agent has taken that are still live
}

// QueueEntry is a live contact as a supervisor sees it.
type QueueEntry struct {
	ID        string       `json:"id"`
	PurposeID string       `json:"purpose"`
	State     SessionState `json:"state"` // matched (waiting) or answered (taken)
	MatchedAt time.Time    `json:"matchedAt"`
	TakenBy   string       `json:"takenBy,omitempty"`
}

// Overview gathers supervisor sup's view of its organisation: its agents
// seen at or after onlineSince, every live contact of its purposes, and the
// counts since since (codes that matched nothing: those typed on the
// organisation's lines).
func (s *Service) Overview(ctx context.Context, sup *Agent, onlineSince, since time.Time) (*Overview, error) {
	now := s.now()
	o := &Overview{At: now, Since: since, Agents: []OnlineAgent{}, Waiting: []QueueEntry{}}

	live, err := s.store.Sessions(ctx, SessionFilter{States: []SessionState{StateMatched, StateAnswered}, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	taken := map[string]int{}
	for _, st := range live {
		if !agentSees(sup, st) {
			continue
		}
		o.Waiting = append(o.Waiting, QueueEntry{ID: st.ID, PurposeID: st.PurposeID, State: st.State, MatchedAt: st.MatchedAt, TakenBy: st.TakenBy})
		if st.TakenBy != "" {
			taken[st.TakenBy]++
		}
	}

	sessions, err := s.store.ActiveAgentSessions(ctx, onlineSince, now)
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	byAgent := map[string]*OnlineAgent{}
	for _, as := range sessions {
		if oa, ok := byAgent[as.AgentID]; ok {
			oa.Sessions++
			if as.LastSeenAt.After(oa.LastSeenAt) {
				oa.LastSeenAt = as.LastSeenAt
			}
			continue
		}
		a, err := s.store.Agent(ctx, as.AgentID)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("overview: %w", err)
		}
		if a.Disabled || OrganisationOr(a.OrgID) != OrganisationOr(sup.OrgID) {
			continue // its sessions no longer authenticate, or another organisation's
		}
		byAgent[a.ID] = &OnlineAgent{
			ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Role: a.Role, Purposes: a.Purposes,
			LastSeenAt: as.LastSeenAt, Sessions: 1, Contacts: taken[a.ID],
		}
	}
	for _, oa := range byAgent {
		o.Agents = append(o.Agents, *oa)
	}
	sort.Slice(o.Agents, func(i, j int) bool { return o.Agents[i].Username < o.Agents[j].Username })

	matched, err := s.store.CountMatched(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	o.Matched = map[string]int{}
	for _, id := range s.orgPurposes[OrganisationOr(sup.OrgID)] {
		if n, ok := matched[id]; ok {
			o.Matched[id] = n
		}
	}
	if o.Unverified, err = s.store.CountOrgMisses(ctx, OrganisationOr(sup.OrgID), since); err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	return o, nil
}
