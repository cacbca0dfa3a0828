package veilig

import (
	"context"
	"encoding/json"
	"time"
)

// DisclosureRequest is what the service asks of the Yivi server for one session.
type DisclosureRequest struct {
	Disclose        [][][]string // the purpose's condiscon
	ClientReturnURL string       // tel:<number>,<code>; never augmented with a token
	// ConnectWithin is how long the Yivi app has to fetch the request: the
	// session's own lifetime, since a disclosure after it is refused
	// anyway. The Yivi server then lets go of an abandoned session when we
	// do; zero leaves its default (irmago: 15 minutes).
	ConnectWithin time.Duration
}

// StartedDisclosure is a started Yivi session. SessionPtr and FrontendRequest
// go to the browser as yivi-frontend expects them; Token is the requestor
// token and stays on the server.
type StartedDisclosure struct {
	Token           string
	SessionPtr      json.RawMessage // {"u": ..., "irmaqr": "disclosing"}
	FrontendRequest json.RawMessage // {"authorization": ..., "minProtocolVersion": ..., ...}
}

// DisclosureWatcher is told what happens to a started disclosure. Calls come
// from other goroutines, possibly before StartDisclosure returns; Finished is
// called exactly once.
type DisclosureWatcher struct {
	Connected func()                  // the Yivi app has fetched the request
	Finished  func(DisclosureOutcome) // DONE, CANCELLED, TIMEOUT or an error
}

// DisclosureService starts and cancels Yivi disclosures. Package yivi
// implements it with an embedded irmago server or an external Yivi server.
//
// Error codes: StartDisclosure returns EUNAVAILABLE when the Yivi server
// cannot be reached; CancelDisclosure returns ENOTFOUND for an unknown or
// finished session.
type DisclosureService interface {
	StartDisclosure(ctx context.Context, req DisclosureRequest, w DisclosureWatcher) (*StartedDisclosure, error)
	CancelDisclosure(ctx context.Context, token string) error
}
