package connect

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// resigning is the signed API client as the Lambda needs it. veilig refuses
// a signature it has already seen (replay protection), and two identical
// reports within one second sign alike: EventBridge's DISCONNECTED and a
// flow's callState "ended" for one contact, from two Lambda instances. The
// reports are idempotent, so a refusal is answered by signing again in the
// next second, once, within the caller's deadline.
type resigning struct{ c *telephony.Client }

func (r resigning) ReportCall(ctx context.Context, call veilig.IncomingCall) (veilig.CallMatch, error) {
	m, err := r.c.ReportCall(ctx, call)
	if refused(err) && nextSecond(ctx) {
		return r.c.ReportCall(ctx, call)
	}
	return m, err
}

func (r resigning) ReportCallState(ctx context.Context, provider, callID string, st veilig.CallState) error {
	err := r.c.ReportCallState(ctx, provider, callID, st)
	if refused(err) && nextSecond(ctx) {
		return r.c.ReportCallState(ctx, provider, callID, st)
	}
	return err
}

// refused reports whether veilig refused the request's signature. A wrong
// secret is refused too; retrying that costs one more quick request.
func refused(err error) bool {
	var api *telephony.APIError
	return errors.As(err, &api) && api.Status == http.StatusUnauthorized
}

// nextSecond waits for the next whole second (the signature's timestamp
// resolution); false if ctx ends first.
func nextSecond(ctx context.Context) bool {
	now := time.Now()
	wait := now.Truncate(time.Second).Add(time.Second + 20*time.Millisecond).Sub(now)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+100*time.Millisecond {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
