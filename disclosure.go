package veilig

import (
	"context"
	"encoding/json"
	"time"
)

// DisclosureRequest is what the service asks of a means for one session.
type DisclosureRequest struct {
	Disclose [][][]string // the purpose's condiscon
	// ClientReturnURL is where the means' app sends the person once the
	// proof is made: the channel's (Preparation.ReturnURL; the phone's
	// tel:<number>,<code>), never augmented with a token; "" for none.
	ClientReturnURL string
	// ConnectWithin is how long the person's app has to fetch the
	// request: the session's own lifetime, since a proof after it is
	// refused anyway. The means' server then lets go of an abandoned proof
	// when we do; zero leaves its default (Yivi's irmago: 15 minutes).
	ConnectWithin time.Duration
}

// StartedDisclosure is a started proof. Token is the means' reference to
// it and stays on the server.
type StartedDisclosure struct {
	Token string
	// Client is what the citizen's client needs to start the proof, in
	// the means' own terms (Yivi: {"sessionPtr", "frontendRequest"} as
	// yivi-frontend takes them); the citizen API passes it on tagged with
	// the means.
	Client json.RawMessage
}

// DisclosureWatcher is told what happens to a started disclosure. Calls come
// from other goroutines, possibly before StartDisclosure returns; Finished is
// called exactly once.
type DisclosureWatcher struct {
	Connected func()            // the person's app has fetched the request
	Finished  func(ProofResult) // proven, cancelled, timed out or failed
}

// DisclosureService is a means of proof: it starts, is watched and can be
// cancelled, and ends in a neutral ProofResult. The service keeps one per
// means (ServiceConfig.Means) and starts, for a purpose, the first means
// it accepts. Package yivi implements it with an embedded irmago server or
// an external Yivi server; it may also be a DisclosureResolver and a
// DisclosureFollower.
//
// Error codes: StartDisclosure returns EUNAVAILABLE when the server of the
// means cannot be reached; CancelDisclosure returns ENOTFOUND for an
// unknown or finished proof.
type DisclosureService interface {
	// Means is the means this service proves with.
	Means() Means
	// Name is what people call it ("Yivi"), for messages.
	Name() string
	// MaxAssurance is the highest level a proof by this means can give;
	// each proof reports its own (ProofResult.Assurance).
	MaxAssurance() Assurance
	StartDisclosure(ctx context.Context, req DisclosureRequest, w DisclosureWatcher) (*StartedDisclosure, error)
	CancelDisclosure(ctx context.Context, token string) error
}

// DisclosureProgress is where a proof is, as the means' server sees it at
// the moment it is asked.
type DisclosureProgress int

const (
	ProgressUnknown   DisclosureProgress = iota // the server does not know the session (any more, or in this process)
	ProgressWaiting                             // the app has not fetched the request
	ProgressConnected                           // the app fetched it: the person is deciding
	ProgressFinished                            // over; the outcome comes with it
)

// DisclosureResolver asks the means' server about a proof now, instead
// of waiting for its watcher to hear. A call whose code belongs to a proof
// that is not recorded yet (the app just finished, or the replica that
// followed it was lost) uses it to settle the proof at once.
type DisclosureResolver interface {
	ResolveDisclosure(ctx context.Context, token string) (DisclosureProgress, ProofResult, error)
}
