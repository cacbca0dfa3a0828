package telephony

import (
	"context"

	"github.com/veiligcontact/veilig"
)

// Core is what every platform adapter calls: the one place where a
// platform's request becomes a core telephony call. *veilig.Service
// implements it in-process (adapters served by veilig itself: Twilio,
// Asterisk) and *Client over the signed HTTP API (adapters running
// elsewhere: the Amazon Connect Lambda). Adding a platform means adding one
// package that turns the platform's requests into these two calls.
type Core interface {
	// ReportCall matches a call to the session whose code the caller typed.
	// Errors: EINVALID, ERATELIMIT.
	ReportCall(ctx context.Context, call veilig.IncomingCall) (veilig.CallMatch, error)
	// ReportConnectionState records queued, answered, ended or unavailable.
	// Errors: EINVALID, ENOTFOUND.
	ReportConnectionState(ctx context.Context, provider, callID string, state veilig.ConnectionState) error
}

var (
	_ Core = (*veilig.Service)(nil)
	_ Core = (*Client)(nil)
)
