// Package connect plugs Amazon Connect into Veilig Contact. It is the
// handler of the Lambda function (cmd/veilig-connect-lambda) that Amazon
// Connect calls in two ways:
//
//   - from a contact flow's "Invoke AWS Lambda function" block
//     (a ContactFlowEvent): with action "verify" (the default) and the
//     digits the caller typed as parameter "code", it reports the call and
//     answers a flat string map the flow reads as $.External.*; with action
//     "callState" and parameter "state" it reports a call state;
//   - from an Amazon EventBridge rule on "Amazon Connect Contact Event":
//     CONNECTED_TO_AGENT is reported as answered, DISCONNECTED as ended (so
//     the attributes are destroyed when the call ends), QUEUED as queued.
//
// This package is the one place where Amazon Connect's requests become
// telephony.Core calls. The answer never holds the code, attributes or
// tokens. Whatever goes wrong, a flow gets an answer (matched=false) within
// the bound, so Connect queues the caller unverified instead of taking the
// flow's error branch after its retries.
package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// Provider is the provider name calls from Amazon Connect are reported
// under; the call id is Connect's ContactId.
const Provider = "connect"

// Keys of the flow answer ($.External.<key>).
const (
	KeyMatched    = "matched"    // "true" or "false"
	KeyResult     = "result"     // a telephony.Result, or for callState: recorded, not_found, invalid, unavailable
	KeyRetry      = "retry"      // "true" when asking the caller again can help
	KeyContactRef = "contactRef" // the opaque contact reference, only when matched
	KeyPurpose    = "purpose"    // the purpose id, only when matched
	KeyOK         = "ok"         // callState: "true" when recorded (or nothing to record)
)

// Flow parameters (the block's "function input parameters").
const (
	ParamAction = "action" // "verify" (default) or "callState"
	ParamCode   = "code"   // $.StoredCustomerInput
	ParamState  = "state"  // callState: queued, answered, ended or unavailable
)

// connectTimeout is the value of "Stored customer input" when the caller
// typed nothing before the block's timeout.
const connectTimeout = "Timeout"

// Handler answers Amazon Connect. It implements lambda.Handler, so
// lambda.Start(h) serves it.
type Handler struct {
	Core telephony.Core
	// Timeout bounds each call to veilig (telephony.DefaultTimeout when
	// zero). It must stay well below the flow block's time limit (at most
	// 8 s); the Lambda's own deadline bounds it too.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Invoke decodes an event by its shape and handles it: a flow invocation
// has "Details"; an EventBridge contact event has source "aws.connect".
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Details    json.RawMessage `json:"Details"`
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, errors.New("connect: the event is not a JSON object")
	}
	switch {
	case len(probe.Details) > 0:
		ev, err := decodeFlowEvent(payload)
		if err != nil {
			// Answer anyway: an error would make Connect retry for up to
			// 8 s and then take the flow's error branch.
			h.log().Error("undecodable contact flow event", "err", err)
			return json.Marshal(verifyAnswer(telephony.Outcome{Result: telephony.ResultInvalid}))
		}
		return json.Marshal(h.HandleFlow(ctx, ev))
	case probe.Source == "aws.connect":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("connect: undecodable EventBridge event: %w", err)
		}
		if err := h.HandleContactEvent(ctx, ev); err != nil {
			return nil, err
		}
		return []byte("{}"), nil
	}
	return nil, errors.New("connect: neither a contact flow event nor an Amazon Connect contact event")
}

// decodeFlowEvent decodes with aws-lambda-go's types. The AWS documents
// disagree on Details.ContactData.Queue (an object in the Lambda guide, a
// bare name in older Connect guides); it is not used here, so an event that
// only fails on it is decoded without it.
func decodeFlowEvent(payload []byte) (events.ConnectEvent, error) {
	var ev events.ConnectEvent
	err := json.Unmarshal(payload, &ev)
	if err == nil {
		return ev, nil
	}
	var raw struct {
		Details struct {
			ContactData map[string]json.RawMessage `json:"ContactData"`
			Parameters  map[string]string          `json:"Parameters"`
		} `json:"Details"`
		Name string `json:"Name"`
	}
	if json.Unmarshal(payload, &raw) != nil {
		return ev, err
	}
	delete(raw.Details.ContactData, "Queue")
	cd, _ := json.Marshal(raw.Details.ContactData)
	ev = events.ConnectEvent{Name: raw.Name, Details: events.ConnectDetails{Parameters: raw.Details.Parameters}}
	if json.Unmarshal(cd, &ev.Details.ContactData) != nil {
		return ev, err
	}
	return ev, nil
}

// HandleFlow answers an "Invoke AWS Lambda function" block.
func (h *Handler) HandleFlow(ctx context.Context, ev events.ConnectEvent) events.ConnectResponse {
	p, cd := ev.Details.Parameters, ev.Details.ContactData
	switch action := p[ParamAction]; action {
	case "", "verify":
		return h.verify(ctx, cd, p[ParamCode])
	case "callState":
		return h.flowCallState(ctx, cd, p[ParamState])
	default:
		h.log().Warn("unknown action in the contact flow's Lambda parameters", "provider", Provider, "contact", cd.ContactID)
		return events.ConnectResponse{KeyOK: "false", KeyMatched: "false", KeyResult: string(telephony.ResultInvalid), KeyRetry: "false"}
	}
}

func (h *Handler) verify(ctx context.Context, cd events.ConnectContactData, code string) events.ConnectResponse {
	if strings.TrimSpace(code) == connectTimeout {
		code = ""
	}
	caller, err := telephony.CallerNumber(cd.CustomerEndpoint.Address)
	if err != nil {
		h.log().Warn("contact has no caller number; routed unverified without a lookup", "provider", Provider, "contact", cd.ContactID)
		return verifyAnswer(telephony.Outcome{Result: telephony.ResultInvalid})
	}
	o, err := telephony.Match(ctx, h.Core, veilig.IncomingCall{
		Code: code, CallerNumber: caller, Provider: Provider, CallID: cd.ContactID,
		CalledNumber: telephony.CalledNumber(cd.SystemEndpoint.Address),
	}, h.timeout(ctx))
	if err != nil {
		h.log().Error("report call", "provider", Provider, "contact", cd.ContactID, "result", o.Result, "err", err)
	} else {
		h.log().Info("call reported", "provider", Provider, "contact", cd.ContactID, "result", o.Result, "contactRef", o.ContactRef)
	}
	return verifyAnswer(o)
}

// safeValue is what Connect accepts in a returned string map: letters,
// digits, '-' and '_'.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func verifyAnswer(o telephony.Outcome) events.ConnectResponse {
	r := events.ConnectResponse{
		KeyMatched: fmt.Sprint(o.Matched()),
		KeyResult:  string(o.Result),
		KeyRetry:   fmt.Sprint(o.Result.Retry()),
	}
	if o.Matched() {
		r[KeyContactRef] = o.ContactRef
		if safeValue.MatchString(o.PurposeID) {
			r[KeyPurpose] = o.PurposeID
		}
	}
	return r
}

func (h *Handler) flowCallState(ctx context.Context, cd events.ConnectContactData, state string) events.ConnectResponse {
	st := veilig.ConnectionState(state)
	if !st.Valid() {
		h.log().Warn("callState without a valid state parameter", "provider", Provider, "contact", cd.ContactID)
		return events.ConnectResponse{KeyOK: "false", KeyResult: "invalid"}
	}
	found, err := telephony.ReportState(ctx, h.Core, Provider, cd.ContactID, st, h.timeout(ctx))
	switch {
	case err != nil && veilig.ErrorCode(err) == veilig.EINVALID:
		h.log().Warn("report call state", "provider", Provider, "contact", cd.ContactID, "state", st, "err", err)
		return events.ConnectResponse{KeyOK: "false", KeyResult: "invalid"}
	case err != nil:
		h.log().Error("report call state", "provider", Provider, "contact", cd.ContactID, "state", st, "err", err)
		return events.ConnectResponse{KeyOK: "false", KeyResult: "unavailable"}
	case !found:
		return events.ConnectResponse{KeyOK: "true", KeyResult: "not_found"}
	}
	h.log().Info("call state reported", "provider", Provider, "contact", cd.ContactID, "state", st)
	return events.ConnectResponse{KeyOK: "true", KeyResult: "recorded"}
}

// ContactEventDetail is the detail of an EventBridge "Amazon Connect
// Contact Event" (the fields used here).
type ContactEventDetail struct {
	EventType        string `json:"eventType"` // INITIATED, QUEUED, CONNECTED_TO_AGENT, DISCONNECTED, ...
	ContactID        string `json:"contactId"`
	Channel          string `json:"channel"` // VOICE (the AWS sample writes "Voice")
	InitiationMethod string `json:"initiationMethod"`
}

// eventStates maps contact event types to call states; others are ignored.
var eventStates = map[string]veilig.ConnectionState{
	"QUEUED":             veilig.ConnectionQueued,
	"CONNECTED_TO_AGENT": veilig.ConnectionAnswered,
	"DISCONNECTED":       veilig.ConnectionEnded,
}

// HandleContactEvent reports the call state an EventBridge contact event
// stands for. EventBridge invokes the Lambda asynchronously and retries on
// an error, so only a failure that a retry can cure (veilig unreachable) is
// returned; contacts that never matched (unverified callers) are not.
func (h *Handler) HandleContactEvent(ctx context.Context, ev events.EventBridgeEvent) error {
	if ev.Source != "aws.connect" || ev.DetailType != "Amazon Connect Contact Event" {
		h.log().Warn("ignored an EventBridge event that is not an Amazon Connect contact event", "detailType", ev.DetailType)
		return nil
	}
	var d ContactEventDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		h.log().Warn("ignored an undecodable contact event", "err", err)
		return nil
	}
	st, ok := eventStates[d.EventType]
	if !ok || (d.Channel != "" && !strings.EqualFold(d.Channel, "VOICE")) {
		return nil
	}
	found, err := telephony.ReportState(ctx, h.Core, Provider, d.ContactID, st, h.timeout(ctx))
	switch {
	case err != nil && veilig.ErrorCode(err) == veilig.EINVALID:
		h.log().Warn("report call state", "provider", Provider, "contact", d.ContactID, "state", st, "err", err)
		return nil
	case err != nil:
		h.log().Error("report call state", "provider", Provider, "contact", d.ContactID, "state", st, "err", err)
		return fmt.Errorf("connect: report %s for contact %s: veilig is unavailable", st, d.ContactID)
	case found:
		h.log().Info("call state reported", "provider", Provider, "contact", d.ContactID, "state", st)
	}
	return nil
}

// timeout is h.Timeout, shortened so the answer leaves before the Lambda's
// own deadline.
func (h *Handler) timeout(ctx context.Context) time.Duration {
	t := h.Timeout
	if t <= 0 {
		t = telephony.DefaultTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - 250*time.Millisecond; left < t {
			t = max(left, 10*time.Millisecond)
		}
	}
	return t
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
