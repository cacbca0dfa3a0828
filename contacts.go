package veilig

import (
	"context"
	"encoding/json"
	"fmt"
)

// agentSees reports whether agent a may know of session st at all: it is
// of the agent's organisation. Another organisation's contact is answered
// exactly as one that does not exist.
func agentSees(a *Agent, st *StoredSession) bool {
	return OrganisationOr(st.OrgID) == OrganisationOr(a.OrgID)
}

// agentPurposes are the purposes whose contacts agent a lists: its own,
// "*" being every purpose of its organisation, never another's.
func (s *Service) agentPurposes(a *Agent) []string {
	org := OrganisationOr(a.OrgID)
	var ids []string
	for _, id := range s.orgPurposes[org] {
		if a.Serves(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// EventPurposes are the purposes whose events agent a's stream carries:
// its own of its organisation; NoPurpose when it serves none (an empty
// filter would match every organisation's).
func (s *Service) EventPurposes(a *Agent) []string {
	if ids := s.agentPurposes(a); len(ids) > 0 {
		return ids
	}
	return []string{NoPurpose}
}

// OrganisationPurposes are the purposes of organisation org, in
// configuration order.
func (s *Service) OrganisationPurposes(org string) []*Purpose {
	var out []*Purpose
	for _, p := range s.purposeOrder {
		if OrganisationOr(p.OrgID) == OrganisationOr(org) {
			out = append(out, p)
		}
	}
	return out
}

// WaitingContacts lists the matched contacts agent a may take: those of its
// purposes that no other agent has taken. Attributes are not included.
func (s *Service) WaitingContacts(ctx context.Context, a *Agent) ([]*Contact, error) {
	purposes := s.agentPurposes(a)
	if len(purposes) == 0 {
		return []*Contact{}, nil
	}
	list, err := s.store.Sessions(ctx, SessionFilter{States: []SessionState{StateMatched, StateAnswered}, Purposes: purposes, Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("waiting contacts: %w", err)
	}
	out := make([]*Contact, 0, len(list))
	for _, st := range list {
		if !agentSees(a, st) || (st.TakenBy != "" && st.TakenBy != a.ID) {
			continue
		}
		out = append(out, s.contact(st))
	}
	return out, nil
}

// ContactByConnection finds the live contact a platform's call was matched to:
// the agent's softphone knows the call (an Amazon Connect ContactId, a
// Twilio CallSid), the console asks for its contact. Attributes are not
// included; OpenContact gives them.
//
// Error codes: EINVALID, ENOTFOUND (no live contact for this call, which
// includes unverified callers), EFORBIDDEN (not a purpose of the agent's),
// ECONFLICT (taken by another agent).
func (s *Service) ContactByConnection(ctx context.Context, a *Agent, provider, callID string) (*Contact, error) {
	if !providerPattern.MatchString(provider) || !callIDPattern.MatchString(callID) {
		return nil, Errorf(EINVALID, "provider and callId are required")
	}
	st, err := s.store.SessionByConnection(ctx, provider, callID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, "no verified contact for this call")
		}
		return nil, fmt.Errorf("contact by call: %w", err)
	}
	if st.State != StateMatched && st.State != StateAnswered || !agentSees(a, st) {
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
		Means: st.Means, Assurance: st.Assurance,
		MatchedAt: st.MatchedAt, DisclosedAt: st.DisclosedAt, TakenBy: st.TakenBy,
	}
	if p, ok := s.purposes[st.PurposeID]; ok {
		c.PurposeLabel = p.Label("nl")
	}
	var address string
	if !st.SealedAddress.IsZero() {
		if a, err := s.sealerFor(st.OrgID).Open(st.SealedAddress, addressAAD(st.Platform, st.ConnectionID)); err == nil {
			address = string(a)
		} else {
			s.log.Error("open connection address", "session", st.ID, "err", err)
		}
	}
	if ch, ok := s.channels[st.Channel]; ok {
		c.Connection = ch.Describe(st.Platform, address)
	} else {
		// A channel no longer configured: what is known, in plain words.
		c.Connection = ConnectionView{Channel: st.Channel, Platform: st.Platform, Address: address,
			Label: map[string]string{"nl": "Verbinding", "en": "Connection"}}
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
	if err == nil && !agentSees(a, st) {
		err = Errorf(ENOTFOUND, "another organisation's")
	}
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
	plain, err := s.sealerFor(st.OrgID).Open(st.SealedDisclosure, []byte(st.ID))
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
		s.obs.ContactOpened(OrganisationOr(st.OrgID), st.PurposeID)
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
	if err == nil && !agentSees(a, st) {
		err = Errorf(ENOTFOUND, "another organisation's")
	}
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
