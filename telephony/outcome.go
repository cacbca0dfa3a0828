package telephony

import (
	"context"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// Result says what became of a reported call, in the words every platform
// adapter passes on to its platform (a contact flow attribute, a channel
// variable). The values are lower-case letters and '_' only, so every
// platform can carry them as they are.
type Result string

const (
	ResultMatched     Result = "matched"      // the code matched; the contact waits for an agent
	ResultNoMatch     Result = "no_match"     // unknown, used, expired or mistyped: one answer for all
	ResultNoCode      Result = "no_code"      // the caller typed nothing (nothing was looked up)
	ResultRateLimited Result = "rate_limited" // too many misses: nothing was looked up
	ResultInvalid     Result = "invalid"      // the platform's request was malformed (no caller, bad call id)
	ResultUnavailable Result = "unavailable"  // veilig could not be reached or failed
)

// Retry reports whether asking the caller for the code again can help.
func (r Result) Retry() bool { return r == ResultNoMatch || r == ResultNoCode }

// Outcome is the answer an adapter gives its platform. It never holds the
// code, attributes or tokens: only whether the call matched and the opaque
// contact reference.
type Outcome struct {
	Result     Result
	ContactRef string // the session id, when matched
	PurposeID  string // when matched
}

// Matched reports whether the call was matched to a verified session.
func (o Outcome) Matched() bool { return o.Result == ResultMatched }

// DefaultTimeout bounds one call to the core: platforms keep the caller
// waiting in silence meanwhile (Amazon Connect gives a Lambda 8 s at most,
// Twilio a webhook 15 s). It leaves room for the core to wait up to
// veilig.DefaultProofWait (4 s) for a proof that is still being recorded.
const DefaultTimeout = 6 * time.Second

// Match reports call to core and classifies the answer. It never fails: a
// platform must route the caller either way, so when veilig is down or the
// request is malformed the caller goes on unverified; the error, when there
// is one, is for the adapter's log. An empty code is not looked up and does
// not count as a miss.
func Match(ctx context.Context, core Core, call veilig.IncomingCall, timeout time.Duration) (Outcome, error) {
	call.Code = strings.TrimSpace(call.Code)
	if err := call.Validate(); err != nil {
		return Outcome{Result: ResultInvalid}, err
	}
	if call.Code == "" {
		return Outcome{Result: ResultNoCode}, nil
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	m, err := core.ReportCall(ctx, call)
	if err != nil {
		switch veilig.ErrorCode(err) {
		case veilig.ERATELIMIT:
			return Outcome{Result: ResultRateLimited}, nil
		case veilig.EINVALID:
			return Outcome{Result: ResultInvalid}, err
		}
		return Outcome{Result: ResultUnavailable}, err
	}
	if !m.Matched {
		return Outcome{Result: ResultNoMatch}, nil
	}
	return Outcome{Result: ResultMatched, ContactRef: m.ContactRef, PurposeID: m.PurposeID}, nil
}

// ReportState reports a call state with the same bound as Match. A call
// that never matched (an unverified caller hanging up) is not an error for a
// platform: ENOTFOUND is reported as found=false with a nil error.
func ReportState(ctx context.Context, core Core, provider, callID string, state veilig.ConnectionState, timeout time.Duration) (found bool, err error) {
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	err = core.ReportConnectionState(ctx, provider, callID, state)
	if veilig.ErrorCode(err) == veilig.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// withTimeout bounds ctx by timeout (DefaultTimeout when zero), keeping an
// earlier deadline the caller already set.
func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return context.WithTimeout(ctx, timeout)
}
