package veilig

import (
	"context"
	"fmt"
	"regexp"
)

// How a connection is bound to its session, for every channel: the
// channel's Preparation drew a secret whose keyed hash is stored with the
// session; the connection that brings it is matched by one store
// transition (Store.MatchCode: disclosed becomes matched, the connection
// set, the secret cleared, the event appended). A typed code comes through
// ReportCall (call.go), which guards against guessing first; a secret a
// client carries comes through Connect. Afterwards the platform reports
// the connection's states through ReportConnectionState.

// ConnectRequest is a connection a channel's platform brings for a
// session. Secret and Address are secret or personal: never log them.
type ConnectRequest struct {
	Channel      Channel
	Secret       string // what the session's Preparation drew
	Platform     string // what carries the connection: 1-32 lower-case letters, digits or '-'
	ConnectionID string // the platform's id of it: 1-128 printable characters
	Address      string // who is connected, as the channel knows them; sealed, shown to the agent
}

// MinConnectSecret is the least length of a secret Connect takes: 128 bits
// in base64url. Shorter secrets are typed codes, which only ReportCall
// looks up.
const MinConnectSecret = 22

var addressPattern = regexp.MustCompile(`^[\x20-\x7e\p{L}\p{N}]{0,256}$`)

// Connect binds a connection to the session whose secret it brings, the
// way every channel whose client carries the secret does (the phone's
// typed code goes through ReportCall instead). A platform retrying the
// report of a connection already bound gets the same match again.
//
// Error codes: EINVALID, ENOTFOUND (no session of this channel waits for
// this secret: unknown, used, expired, or not proven), ECONFLICT (the
// connection id is another session's).
func (s *Service) Connect(ctx context.Context, r ConnectRequest) (CallMatch, error) {
	switch {
	case s.channels[r.Channel] == nil:
		return CallMatch{}, Errorf(EINVALID, "channel is not one this service serves")
	case !providerPattern.MatchString(r.Platform):
		return CallMatch{}, Errorf(EINVALID, "platform must be 1-32 lower-case letters, digits or '-'")
	case !callIDPattern.MatchString(r.ConnectionID):
		return CallMatch{}, Errorf(EINVALID, "connection id must be 1-128 printable characters without spaces")
	case len(r.Secret) < MinConnectSecret || len(r.Secret) > 512:
		return CallMatch{}, Errorf(EINVALID, "the secret must be %d-512 characters (a typed code goes through ReportCall)", MinConnectSecret)
	case !addressPattern.MatchString(r.Address):
		return CallMatch{}, Errorf(EINVALID, "address must be at most 256 printable characters")
	}
	notFound := Errorf(ENOTFOUND, "no session waits for this connection")
	if prev, err := s.store.SessionByConnection(ctx, r.Platform, r.ConnectionID); err == nil {
		if prev.Channel == r.Channel && (prev.State == StateMatched || prev.State == StateAnswered) {
			return CallMatch{Matched: true, ContactRef: prev.ID, PurposeID: prev.PurposeID}, nil
		}
		return CallMatch{}, Errorf(ECONFLICT, "this connection is bound to another session")
	} else if ErrorCode(err) != ENOTFOUND {
		return CallMatch{}, fmt.Errorf("connect: %w", err)
	}
	hash := CodeHash(s.codeKey, r.Secret)
	pending, err := s.store.SessionByCode(ctx, hash, s.now())
	if ErrorCode(err) == ENOTFOUND {
		return CallMatch{}, notFound
	} else if err != nil {
		return CallMatch{}, fmt.Errorf("connect: %w", err)
	}
	// A secret is the channel's own: another channel's connection cannot
	// bring it, whatever it carries.
	if pending.Channel != r.Channel {
		return CallMatch{}, notFound
	}
	if pending.State != StateDisclosed && s.awaitProof(ctx, pending) != proofRecorded {
		return CallMatch{}, notFound
	}
	sealed, err := s.sealerFor(pending.OrgID).Seal([]byte(r.Address), addressAAD(r.Platform, r.ConnectionID))
	if err != nil {
		return CallMatch{}, fmt.Errorf("connect: %w", err)
	}
	sess, _, err := s.store.MatchCode(ctx, hash, Connection{Platform: r.Platform, ID: r.ConnectionID, SealedAddress: sealed}, s.now(), 0)
	switch ErrorCode(err) {
	case "":
	case ENOMATCH:
		return CallMatch{}, notFound
	case ECONFLICT:
		return CallMatch{}, Errorf(ECONFLICT, "this connection is bound to another session")
	default:
		return CallMatch{}, fmt.Errorf("connect: %w", err)
	}
	s.log.Info("connection matched", "session", sess.ID, "purpose", sess.PurposeID, "channel", r.Channel, "platform", r.Platform)
	return CallMatch{Matched: true, ContactRef: sess.ID, PurposeID: sess.PurposeID}, nil
}

// ReportConnectionState records what the platform says happened to a
// matched connection (for the phone: the call). Reports are idempotent: a
// state the session has passed is accepted and changes nothing, so
// platforms may retry. (The messages keep the phone's words of the first
// release, which telephony platforms show in their logs.)
//
// Error codes: EINVALID, ENOTFOUND (no matched connection with this id).
func (s *Service) ReportConnectionState(ctx context.Context, platform, connectionID string, state ConnectionState) error {
	if !providerPattern.MatchString(platform) || !callIDPattern.MatchString(connectionID) {
		return Errorf(EINVALID, "provider and callId are required")
	}
	if !state.Valid() {
		return Errorf(EINVALID, "state must be queued, answered, ended or unavailable")
	}
	sess, err := s.store.SessionByConnection(ctx, platform, connectionID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no matched call with this id")
		}
		return err
	}
	now := s.now()
	switch state {
	case ConnectionQueued:
		_, _, err = s.store.Transition(ctx, Transition{SessionID: sess.ID, From: []SessionState{StateMatched}, To: StateMatched, Event: EventQueued, At: now})
	case ConnectionAnswered:
		_, _, err = s.store.Transition(ctx, Transition{SessionID: sess.ID, From: []SessionState{StateMatched}, To: StateAnswered, Event: string(StateAnswered), At: now})
	case ConnectionEnded:
		err = s.endSession(ctx, sess.ID, []SessionState{StateMatched, StateAnswered}, StateEnded, "the call ended", nil)
	case ConnectionUnavailable:
		err = s.endSession(ctx, sess.ID, []SessionState{StateMatched, StateAnswered}, StateEnded, "the contact centre could not take the call", nil)
	}
	if ErrorCode(err) == ECONFLICT {
		return nil // already past this state
	}
	return err
}
