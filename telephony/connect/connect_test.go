package connect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/veiligcontact/veilig"
)

// recorder is the core as these tests need it; the whole path against a
// running veilig is tested in cmd/veilig.
type recorder struct {
	mu     sync.Mutex
	calls  []veilig.IncomingCall
	states []string
	err    error
}

func (r *recorder) ReportCall(ctx context.Context, c veilig.IncomingCall) (veilig.CallMatch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	if r.err != nil {
		return veilig.CallMatch{}, r.err
	}
	if c.Code == "12345674" {
		return veilig.CallMatch{Matched: true, ContactRef: "k3xref", PurposeID: "demo"}, nil
	}
	return veilig.CallMatch{}, nil
}

func (r *recorder) ReportConnectionState(ctx context.Context, provider, callID string, st veilig.ConnectionState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	if callID == "unmatched" {
		return veilig.Errorf(veilig.ENOTFOUND, "no matched call")
	}
	r.states = append(r.states, provider+" "+callID+" "+string(st))
	return nil
}

// Event loads a documented payload from testdata and applies edits to its
// decoded JSON (the function input parameters a flow passes, say).
func Event(t testing.TB, name string, edit func(map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, _ := json.Marshal(m)
	return out
}

func params(p map[string]string) func(map[string]any) {
	return func(m map[string]any) {
		pm := map[string]any{}
		for k, v := range p {
			pm[k] = v
		}
		m["Details"].(map[string]any)["Parameters"] = pm
	}
}

func invoke(t *testing.T, h *Handler, payload []byte) map[string]string {
	t.Helper()
	// Through aws-lambda-go, as lambda.Start serves it.
	out, err := lambda.NewHandler(h).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var flat map[string]string
	if err := json.Unmarshal(out, &flat); err != nil {
		t.Fatalf("the answer is not a flat string map: %s", out)
	}
	for k, v := range flat {
		// Connect's STRING_MAP: letters, digits, '-' and '_' only.
		if !safeValue.MatchString(k) || !safeValue.MatchString(v) {
			t.Fatalf("answer %s has a value Connect cannot take: %q=%q", out, k, v)
		}
	}
	return flat
}

func TestDocumentedFlowEvent(t *testing.T) {
	core := &recorder{}
	h := &Handler{Core: core}

	// The event exactly as documented has no code: nothing is looked up.
	got := invoke(t, h, Event(t, "lambda-dg-event.json", nil))
	if got[KeyMatched] != "false" || got[KeyResult] != "no_code" || got[KeyRetry] != "true" || len(core.calls) != 0 {
		t.Fatalf("documented event: %v %v", got, core.calls)
	}

	for _, file := range []string{"lambda-dg-event.json", "admin-guide-event.json"} {
		got = invoke(t, h, Event(t, file, params(map[string]string{ParamAction: "verify", ParamCode: "12345674"})))
		if got[KeyMatched] != "true" || got[KeyResult] != "matched" || got[KeyContactRef] != "k3xref" || got[KeyPurpose] != "demo" || got[KeyRetry] != "false" {
			t.Fatalf("%s: %v", file, got)
		}
		c := core.calls[len(core.calls)-1]
		if c != (veilig.IncomingCall{Code: "12345674", CallerNumber: "+1234567890", Provider: Provider, CallID: "4a573372-1f28-4e26-b97b-XXXXXXXXXXX", CalledNumber: "+1234567890"}) {
			t.Fatalf("%s: reported %+v", file, c)
		}
	}

	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamCode: "11111116"})))
	if got[KeyMatched] != "false" || got[KeyResult] != "no_match" || got[KeyRetry] != "true" {
		t.Fatalf("miss: %v", got)
	}
	if _, ok := got[KeyContactRef]; ok {
		t.Fatal("a contact reference without a match")
	}
	// "Timeout" is what Store customer input holds when nothing was typed.
	n := len(core.calls)
	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamCode: "Timeout"})))
	if got[KeyResult] != "no_code" || len(core.calls) != n {
		t.Fatalf("timeout: %v", got)
	}

	// aws-lambda-go's own fixture (its Name differs from the guides').
	fixture := []byte(`{"Name":"ContactFlowExecution","Details":{"Parameters":{"code":"12345674"},"ContactData":{"ContactId":"ASDAcxcasDFSSDFs","Channel":"Voice","CustomerEndpoint":{"Type":"TELEPHONE_NUMBER","Address":"+14802021091"},"Queue":{"Name":"PrimaryPhoneQueue","ARN":""},"Attributes":{"key1":"value"}}}}`)
	if got = invoke(t, h, fixture); got[KeyMatched] != "true" {
		t.Fatalf("fixture: %v", got)
	}
}

func TestFlowRefusals(t *testing.T) {
	core := &recorder{}
	h := &Handler{Core: core}
	// No caller number: unverified, nothing looked up.
	got := invoke(t, h, Event(t, "lambda-dg-event.json", func(m map[string]any) {
		params(map[string]string{ParamCode: "12345674"})(m)
		delete(m["Details"].(map[string]any)["ContactData"].(map[string]any), "CustomerEndpoint")
	}))
	if got[KeyMatched] != "false" || got[KeyResult] != "invalid" || got[KeyRetry] != "false" || len(core.calls) != 0 {
		t.Fatalf("no caller: %v %v", got, core.calls)
	}
	// A withheld number is matched as anonymous.
	got = invoke(t, h, Event(t, "lambda-dg-event.json", func(m map[string]any) {
		params(map[string]string{ParamCode: "12345674"})(m)
		m["Details"].(map[string]any)["ContactData"].(map[string]any)["CustomerEndpoint"] = map[string]any{"Address": "anonymous", "Type": "TELEPHONE_NUMBER"}
	}))
	if got[KeyMatched] != "true" || core.calls[0].CallerNumber != veilig.AnonymousCaller {
		t.Fatalf("withheld: %v %+v", got, core.calls)
	}
	// An unknown action, unknown fields: answered, not failed.
	got = invoke(t, h, Event(t, "lambda-dg-event.json", func(m map[string]any) {
		params(map[string]string{ParamAction: "format", ParamCode: "12345674"})(m)
		m["Details"].(map[string]any)["Extra"] = []any{1, "x"}
	}))
	if got[KeyMatched] != "false" || got[KeyResult] != "invalid" || len(core.calls) != 1 {
		t.Fatalf("unknown action: %v", got)
	}
	// A Details of the wrong type still gets an answer the flow can use.
	got = invoke(t, h, []byte(`{"Details":{"ContactData":[],"Parameters":{"code":1}},"Name":"ContactFlowEvent"}`))
	if got[KeyMatched] != "false" || got[KeyResult] != "invalid" {
		t.Fatalf("mangled: %v", got)
	}
	// A caller refused by the miss limits: no retry, queued unverified.
	core.err = &veilig.Error{Code: veilig.ERATELIMIT, Message: "slow down", RetryAfter: time.Minute}
	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamCode: "12345674"})))
	if got[KeyMatched] != "false" || got[KeyResult] != "rate_limited" || got[KeyRetry] != "false" {
		t.Fatalf("rate limited: %v", got)
	}
	// veilig failing: unavailable, so the flow queues the caller unverified.
	core.err = errors.New("connection refused")
	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamCode: "12345674"})))
	if got[KeyMatched] != "false" || got[KeyResult] != "unavailable" || got[KeyRetry] != "false" {
		t.Fatalf("down: %v", got)
	}
	// Not an event of ours: an error (nothing to answer).
	for _, payload := range []string{`[]`, `"x"`, `{}`, `{"source":"aws.s3"}`, `nope`} {
		if _, err := h.Invoke(context.Background(), []byte(payload)); err == nil {
			t.Errorf("%s: no error", payload)
		}
	}
}

func TestFlowCallState(t *testing.T) {
	core := &recorder{}
	h := &Handler{Core: core}
	got := invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamAction: "callState", ParamState: "unavailable"})))
	if got[KeyOK] != "true" || got[KeyResult] != "recorded" || len(core.states) != 1 || core.states[0] != "connect 4a573372-1f28-4e26-b97b-XXXXXXXXXXX unavailable" {
		t.Fatalf("callState: %v %v", got, core.states)
	}
	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamAction: "callState", ParamState: "gone"})))
	if got[KeyOK] != "false" || got[KeyResult] != "invalid" || len(core.states) != 1 {
		t.Fatalf("bad state: %v", got)
	}
	got = invoke(t, h, Event(t, "lambda-dg-event.json", func(m map[string]any) {
		params(map[string]string{ParamAction: "callState", ParamState: "ended"})(m)
		m["Details"].(map[string]any)["ContactData"].(map[string]any)["ContactId"] = "unmatched"
	}))
	if got[KeyOK] != "true" || got[KeyResult] != "not_found" {
		t.Fatalf("unmatched: %v", got)
	}
	core.err = errors.New("down")
	got = invoke(t, h, Event(t, "lambda-dg-event.json", params(map[string]string{ParamAction: "callState", ParamState: "ended"})))
	if got[KeyOK] != "false" || got[KeyResult] != "unavailable" {
		t.Fatalf("down: %v", got)
	}
}

func contactEvent(t *testing.T, eventType, contactID string) []byte {
	return Event(t, "eventbridge-contact-event.json", func(m map[string]any) {
		d := m["detail"].(map[string]any)
		d["eventType"] = eventType
		d["contactId"] = contactID
	})
}

func TestContactEvents(t *testing.T) {
	core := &recorder{}
	h := &Handler{Core: core}
	// The documented sample as is: a voice call connected to an agent.
	if _, err := lambda.NewHandler(h).Invoke(context.Background(), Event(t, "eventbridge-contact-event.json", nil)); err != nil {
		t.Fatal(err)
	}
	if len(core.states) != 1 || core.states[0] != "connect 11111111-1111-1111-1111-111111111111 answered" {
		t.Fatalf("states %v", core.states)
	}
	for _, tc := range []struct{ event, contact, want string }{
		{"DISCONNECTED", "c-1", "connect c-1 ended"},
		{"QUEUED", "c-2", "connect c-2 queued"},
		{"INITIATED", "c-3", ""},
		{"DISCONNECTED", "unmatched", ""},
	} {
		n := len(core.states)
		if _, err := h.Invoke(context.Background(), contactEvent(t, tc.event, tc.contact)); err != nil {
			t.Fatalf("%s: %v", tc.event, err)
		}
		if tc.want == "" && len(core.states) != n || tc.want != "" && core.states[len(core.states)-1] != tc.want {
			t.Errorf("%s %s: %v", tc.event, tc.contact, core.states)
		}
	}
	chat := Event(t, "eventbridge-contact-event.json", func(m map[string]any) { m["detail"].(map[string]any)["channel"] = "CHAT" })
	n := len(core.states)
	if _, err := h.Invoke(context.Background(), chat); err != nil || len(core.states) != n {
		t.Fatalf("chat: %v %v", err, core.states)
	}
	// veilig down: an error, so EventBridge's asynchronous invocation retries.
	core.err = errors.New("down")
	if _, err := h.Invoke(context.Background(), contactEvent(t, "DISCONNECTED", "c-9")); err == nil {
		t.Fatal("no error while veilig is down")
	}
}

func TestFromEnv(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(make([]byte, 32))
	env := func(kv ...string) func(string) string {
		m := map[string]string{EnvURL: "https://veilig.internal:8081", EnvSecret: secret}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	h, err := FromEnv(env())
	if err != nil || h.Timeout != 6*time.Second {
		t.Fatalf("%v %+v", err, h)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, []byte("not a certificate"), 0o600)
	for name, tc := range map[string]struct {
		env  func(string) string
		want string
	}{
		"no url":       {env(EnvURL, ""), EnvURL},
		"relative url": {env(EnvURL, "veilig:8081"), EnvURL},
		"short secret": {env(EnvSecret, base64.StdEncoding.EncodeToString([]byte("short"))), EnvSecret},
		"not base64":   {env(EnvSecret, "!!"), EnvSecret},
		"timeout 8s":   {env(EnvTimeout, "8s"), EnvTimeout},
		"timeout junk": {env(EnvTimeout, "soon"), EnvTimeout},
		"bad CA":       {env(EnvCAFile, ca), EnvCAFile},
	} {
		_, err := FromEnv(tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error holds the secret", name)
		}
	}
}

// TestVeiligDown: the Lambda as configured by environment, with veilig's
// port closed, still answers the flow (matched=false, unavailable) within
// the bound.
func TestVeiligDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h, err := FromEnv(func(k string) string {
		return map[string]string{EnvURL: "http://" + addr, EnvSecret: base64.StdEncoding.EncodeToString(make([]byte, 32)), EnvTimeout: "500ms"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second) // Connect's limit
	defer cancel()
	out, err := h.Invoke(ctx, Event(t, "lambda-dg-event.json", params(map[string]string{ParamCode: "12345674"})))
	if err != nil || ctx.Err() != nil {
		t.Fatalf("%v (context: %v)", err, ctx.Err())
	}
	var got map[string]string
	json.Unmarshal(out, &got)
	if got[KeyMatched] != "false" || got[KeyResult] != "unavailable" {
		t.Fatalf("%s", out)
	}
}

func TestTimeoutKeepsToTheDeadline(t *testing.T) {
	h := &Handler{Timeout: 3 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if d := h.timeout(ctx); d > 800*time.Millisecond {
		t.Fatalf("timeout %v with 1s left", d)
	}
	if d := h.timeout(context.Background()); d != 3*time.Second {
		t.Fatalf("timeout %v", d)
	}
}
