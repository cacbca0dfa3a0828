package veilig

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Every service method documents which of these it returns, so
// that the mapping to HTTP statuses lives in one place (httpapi).
const (
	ECONFLICT     = "conflict"     // the request conflicts with the current state
	EEXPIRED      = "expired"      // the thing existed but its time is over
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed
	EINTERNAL     = "internal"     // a fault of ours; details are logged, never shown
	EINVALID      = "invalid"      // the input is wrong; the message says how
	ENOTFOUND     = "not_found"    // no such thing (or not visible to the caller)
	ENOMATCH      = "no_match"     // a telephony code that matches no live session
	ERATELIMIT    = "rate_limited" // too many attempts; try again later
	ETOOLARGE     = "too_large"    // the request body is too large
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EUNAVAILABLE  = "unavailable"  // a dependency is down; try again
)

// Error is an application error: a machine-readable code and a message that
// is safe to show to the caller. Messages never contain codes, tokens,
// secrets or attribute values.
type Error struct {
	Code    string
	Message string
	// RetryAfter is, for ERATELIMIT, when a retry can succeed (zero: not
	// known); the HTTP API sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("veilig: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error in err's chain, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an application error in err's chain,
// or a generic message for any other error, so internal details never reach
// a caller.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorRetryAfter returns the RetryAfter of an application error in err's
// chain, or zero.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
