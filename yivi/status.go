package yivi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/internal/wait"
)

// How an External follows a session.
//
// First choice is the server's status events, GET {URL}/session/{token}/
// statusevents (SSE; the server needs enable_sse). A status change reaches
// us at once and costs nothing while the person looks for their phone.
// Every time the stream is (re)opened we also ask GET .../status once, since
// the stream only carries changes made after we subscribed. A stream that
// breaks is reopened after a bounded, jittered backoff; a stream that ends
// (the server closes it when the session finishes) is followed by a status
// check that then sees the final status.
//
// When the server has SSE disabled, we poll GET .../status instead, but not
// every second for a quarter of an hour: the interval starts at 0.5 s and
// doubles while nothing changes, up to 4 s while the app has not connected
// (that can take minutes and a few seconds' delay in noticing is harmless)
// and up to 2 s once it has (the person is about to consent and call; the
// code must be live by the time the call arrives). A status change resets
// the interval.
//
// On a final status (DONE, CANCELLED, TIMEOUT) we fetch GET .../result and
// convert it with Outcome.
const (
	streamMaxAge     = 5 * time.Minute // reopen long-lived streams: irmago sends no keep-alives, so a dead connection would otherwise go unnoticed
	pollFirst        = 500 * time.Millisecond
	pollMaxWaiting   = 4 * time.Second
	pollMaxConnected = 2 * time.Second
	retryFirst       = 500 * time.Millisecond
	retryMax         = 15 * time.Second
	resultAttempts   = 5
)

func (x *External) watchSession(ctx context.Context, token string, st *watch) {
	observe := func(s irma.ServerStatus) bool {
		switch s {
		case irma.ServerStatusConnected:
			st.connect()
		case irma.ServerStatusDone, irma.ServerStatusCancelled, irma.ServerStatusTimeout:
			x.finishWithResult(ctx, token, st)
			return true
		}
		return false
	}

	retry := backoff{first: retryFirst, max: retryMax}
	for {
		opened := time.Now()
		done, err := x.follow(ctx, token, observe)
		if done {
			return
		}
		var re *remoteError
		if errors.As(err, &re) {
			switch {
			case re.name == "SSE_DISABLED":
				x.poll(ctx, token, st, observe)
				return
			case veilig.ErrorCode(err) == veilig.ENOTFOUND:
				st.finish(failed("the Yivi server does not know the session (expired?)"))
				return
			}
		}
		if ctx.Err() != nil {
			x.giveUp(ctx, st)
			return
		}
		if err != nil {
			x.log.Warn("yivi: status stream failed; retrying", "err", err)
		}
		// Whatever ended the stream, the status says whether the session
		// is over (subscribing to a finished session is refused, and the
		// stream of a finishing one is closed).
		s, serr := x.status(ctx, token)
		if serr == nil && observe(s) {
			return
		}
		if veilig.ErrorCode(serr) == veilig.ENOTFOUND {
			st.finish(failed("the Yivi server does not know the session (expired?)"))
			return
		}
		if time.Since(opened) > time.Minute {
			retry.reset() // a stream that lived long was not a failing one
		}
		if !wait.Sleep(ctx, retry.next()) {
			x.giveUp(ctx, st)
			return
		}
	}
}

// follow reads the status stream until observe says the session is over
// (true), or the stream ends or fails (false, with the error if any).
func (x *External) follow(ctx context.Context, token string, observe func(irma.ServerStatus) bool) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, streamMaxAge)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, x.base+"/session/"+token+"/statusevents", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	// Bound the wait for the headers only; the body streams for minutes.
	headers := time.AfterFunc(x.timeout, cancel)
	resp, err := x.client.Do(req)
	headers.Stop()
	if err != nil {
		return false, unavailable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, newRemoteError(resp.StatusCode, b)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return false, fmt.Errorf("status stream has content type %q", resp.Header.Get("Content-Type"))
	}

	// Catch up: the stream only carries changes after the subscription.
	if s, err := x.status(ctx, token); err == nil && observe(s) {
		return true, nil
	}

	// Server-sent events: "data:" lines make up an event, an empty line
	// dispatches it. irmago sends each status as a JSON string
	// (data: "CONNECTED") and an "open" event without data, which we skip.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1024), 64*1024)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				var s irma.ServerStatus
				if json.Unmarshal([]byte(data.String()), &s) == nil && observe(s) {
					return true, nil
				}
				data.Reset()
			}
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return false, unavailable(err)
	}
	return false, nil // ended by the server, or reached streamMaxAge
}

// poll follows a session on a server without SSE; see the comment above.
func (x *External) poll(ctx context.Context, token string, st *watch, observe func(irma.ServerStatus) bool) {
	retry := backoff{first: retryFirst, max: retryMax}
	interval := pollFirst
	var last irma.ServerStatus
	for {
		pause := interval
		s, err := x.status(ctx, token)
		switch {
		case err == nil:
			if observe(s) {
				return
			}
			retry.reset()
			if s != last {
				last, interval = s, pollFirst
			} else {
				limit := pollMaxWaiting
				if s == irma.ServerStatusConnected {
					limit = pollMaxConnected
				}
				interval = min(2*interval, limit)
			}
			pause = interval
		case veilig.ErrorCode(err) == veilig.ENOTFOUND:
			st.finish(failed("the Yivi server does not know the session (expired?)"))
			return
		default:
			x.log.Warn("yivi: status poll failed; retrying", "err", err)
			pause = retry.next()
		}
		if !wait.Sleep(ctx, pause) {
			x.giveUp(ctx, st)
			return
		}
	}
}

// finishWithResult fetches the result of a finished session, retrying a few
// times when the server cannot be reached.
func (x *External) finishWithResult(ctx context.Context, token string, st *watch) {
	retry := backoff{first: retryFirst, max: 4 * time.Second}
	var err error
	for range resultAttempts {
		var res *server.SessionResult
		res, err = x.result(ctx, token)
		if err == nil {
			st.finish(Outcome(res, x.schemes))
			return
		}
		if veilig.ErrorCode(err) != veilig.EUNAVAILABLE || !wait.Sleep(ctx, retry.next()) {
			break
		}
	}
	if x.ctx.Err() != nil {
		return // stopped: leave the session to Watch after a restart
	}
	st.finish(failed("could not fetch the session result: " + err.Error()))
}

// giveUp ends a watch whose context is over: silently when the External is
// stopped, as failed when WatchLimit has passed.
func (x *External) giveUp(ctx context.Context, st *watch) {
	if x.ctx.Err() != nil {
		return
	}
	st.finish(failed("stopped following the Yivi session after " + x.limit.String()))
}

// backoff is an exponential backoff with jitter, so replicas that lost the
// server at the same moment do not come back in step.
type backoff struct {
	first, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.first
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	// ±20 %
	return b.cur - b.cur/5 + rand.N(2*b.cur/5+1)
}

func (b *backoff) reset() { b.cur = 0 }
