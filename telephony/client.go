package telephony

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// Client calls the telephony API of a running veilig, signing each request.
// Platform adapters that run outside veilig (the Amazon Connect Lambda) use
// it; so do tests and the demo phone.
type Client struct {
	BaseURL string // the internal listener, e.g. http://10.0.0.5:8081
	Secret  []byte
	// HTTPClient sends the requests; nil: defaultHTTPClient.
	HTTPClient *http.Client
	Now        veilig.Clock
}

// defaultHTTPClient bounds a request at 7 s (above DefaultTimeout, which
// adapters set on the context) and keeps up to 64 idle
// connections to the listener. Go's default transport keeps 2 per host,
// so an adapter sending calls concurrently would open and close a
// connection for nearly every call beyond the second, which costs the
// server an accept and a goroutine each, just when it is busiest.
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: 7 * time.Second, Transport: t}
}()

// ReportCall reports a call with the code the caller typed.
func (c *Client) ReportCall(ctx context.Context, call veilig.IncomingCall) (veilig.CallMatch, error) {
	var m veilig.CallMatch
	err := c.post(ctx, "/telephony/v1/calls", call, &m)
	return m, err
}

// CallStateReport is the body of POST /telephony/v1/call-states.
type CallStateReport struct {
	Provider string                 `json:"provider"`
	CallID   string                 `json:"callId"`
	State    veilig.ConnectionState `json:"state"`
}

// ReportConnectionState reports what happened to a matched call.
func (c *Client) ReportConnectionState(ctx context.Context, provider, callID string, state veilig.ConnectionState) error {
	return c.post(ctx, "/telephony/v1/call-states", CallStateReport{Provider: provider, CallID: callID, State: state}, nil)
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, fmt.Sprint(ts.Unix()))
	nonce := NewNonce()
	req.Header.Set(NonceHeader, nonce)
	req.Header.Set(SignatureHeader, Sign(c.Secret, ts, nonce, http.MethodPost, path, body))
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("telephony API: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return answerError(resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("telephony API: decode answer: %w", err)
		}
	}
	return nil
}

// answerError is the telephony API's error answer as the service's own
// error, so adapters classify it alike in-process and over the network:
// the code and message of a refusal (with its Retry-After), and
// EUNAVAILABLE for a server that failed or answered something else.
func answerError(resp *http.Response, raw []byte) error {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	if resp.StatusCode >= 500 || e.Error.Code == "" || e.Error.Code == veilig.EINTERNAL {
		return &veilig.Error{Code: veilig.EUNAVAILABLE, Message: fmt.Sprintf("the telephony API answered %d", resp.StatusCode)}
	}
	apiErr := &veilig.Error{Code: e.Error.Code, Message: e.Error.Message}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		apiErr.RetryAfter = time.Duration(secs) * time.Second
	}
	return apiErr
}
