package demo

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig"
)

// The demo phone: its calls through the telephony API, and what it tells of
// a call that an agent answered and ended.

func TestPhone(t *testing.T) {
	f := setup(t)
	calls := func() []veilig.IncomingCall {
		f.carrier.mu.Lock()
		defer f.carrier.mu.Unlock()
		return append([]veilig.IncomingCall(nil), f.carrier.calls...)
	}
	n := len(calls())

	st, _, out := f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "tel:+31850000000," + goodCode}), nil)
	if st != 200 || out["result"] != "connected" || out["contact"] != "contact-1" || out["number"] != "+31850000000" {
		t.Fatalf("call: %d %v", st, out)
	}
	callID, _ := out["callId"].(string)
	if !regexp.MustCompile(`^demo-[0-9a-z]{12}$`).MatchString(callID) {
		t.Fatalf("call id %q", callID)
	}
	got := calls()
	if len(got) != n+1 {
		t.Fatalf("%d calls reported, want %d", len(got), n+1)
	}
	if c := got[n]; c.Code != goodCode || c.CallerNumber != DefaultCaller || c.CalledNumber != "+31850000000" || c.Provider != Provider || c.CallID != callID {
		t.Fatalf("reported call %+v", c)
	}
	// The second municipality's line is reached too, and says so.
	if st, _, out := f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "+31850000001," + goodCode}), nil); st != 200 || out["result"] != "connected" {
		t.Fatalf("call to the second line: %d %v", st, out)
	}
	n++
	if c := calls()[n]; c.CalledNumber != "+31850000001" {
		t.Fatalf("reported call %+v", c)
	}

	// A national number dialled by hand, with another caller and a wrong code.
	st, _, out = f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "085 000 0000, 9999 9999", "caller": "+31611111111"}), nil)
	if st != 200 || out["result"] != "no_match" {
		t.Fatalf("wrong code: %d %v", st, out)
	}
	if c := calls()[n+1]; c.Code != "99999999" || c.CallerNumber != "+31611111111" {
		t.Fatalf("reported %+v", c)
	}

	// A number that is not the contact centre's is never reported.
	st, _, out = f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "+31201234567,12345678"}), nil)
	if st != 200 || out["result"] != "not_in_service" || len(calls()) != n+2 {
		t.Fatalf("other number: %d %v", st, out)
	}

	for name, body := range map[string]string{
		"no code":        jsonBody(map[string]string{"dial": "+31850000000"}),
		"garbage dial":   jsonBody(map[string]string{"dial": "hello"}),
		"bad caller":     jsonBody(map[string]string{"dial": "+31850000000,1", "caller": "06-1234"}),
		"unknown field":  `{"dial":"+31850000000,1","secret":"x"}`,
		"not an object":  `[]`,
		"trailing junk":  `{"dial":"+31850000000,1"} x`,
		"oversized dial": jsonBody(map[string]string{"dial": strings.Repeat("1", 300)}),
	} {
		if st, _, e := f.do(t, "POST", "/demo/api/phone/calls", body, nil); st != 400 || e["error"] == nil {
			t.Errorf("%s: %d %v", name, st, e)
		}
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/demo/api/phone/calls", strings.NewReader(`dial=%2B31850000000`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := f.srv.Client().Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("form body: %v %v", resp, err)
	}
	if len(calls()) != n+2 {
		t.Fatal("a refused call reached the telephony API")
	}

	// The API's refusal of a throttled caller is passed on.
	st, _, e := f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "+31850000000,1", "caller": "+31699999999"}), nil)
	if st != 429 || !strings.Contains(jsonBody(e), "too many wrong codes") {
		t.Fatalf("throttled: %d %v", st, e)
	}

	// Hang up.
	if st, _, out := f.do(t, "POST", "/demo/api/phone/calls/"+callID+"/hangup", "", nil); st != 200 || out["result"] != "ended" {
		t.Fatalf("hang up: %d %v", st, out)
	}
	f.carrier.mu.Lock()
	last := f.carrier.states[len(f.carrier.states)-1]
	bad := f.carrier.bad
	f.carrier.mu.Unlock()
	if last.CallID != callID || last.State != veilig.ConnectionEnded || last.Provider != Provider {
		t.Fatalf("call state %+v", last)
	}
	if st, _, _ := f.do(t, "POST", "/demo/api/phone/calls/not-a-demo-call/hangup", "", nil); st != 404 {
		t.Fatalf("hang up unknown: %d", st)
	}
	if bad != 0 {
		t.Fatalf("%d requests were not signed right", bad)
	}
	if strings.Contains(logsString(f), goodCode) {
		t.Fatal("the log holds a code")
	}
}

// TestPhoneCallState: the demo phone hears what became of its call: queued,
// an agent answered, the contact ended (the agent ended it).
func TestPhoneCallState(t *testing.T) {
	f := setup(t)
	st, _, out := f.do(t, "POST", "/demo/api/phone/calls", jsonBody(map[string]string{"dial": "tel:+31850000000," + goodCode}), nil)
	if st != 200 || out["result"] != "connected" {
		t.Fatalf("call: %d %v", st, out)
	}
	callID := out["callId"].(string)
	path := "/demo/api/phone/calls/" + callID
	for _, c := range []struct {
		state veilig.SessionState
		heard string
	}{
		{veilig.StateMatched, "queued"},
		{veilig.StateAnswered, "answered"},
		{veilig.StateEnded, "ended"},
		{veilig.StateExpired, "ended"},
	} {
		callStates.Store(callID, c.state)
		if st, h, out := f.do(t, "GET", path, "", nil); st != 200 || out["state"] != c.heard || out["callId"] != callID || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v", c.state, st, out)
		}
	}
	// A call the store does not know, and one that is no demo call.
	if st, _, e := f.do(t, "GET", "/demo/api/phone/calls/demo-000000000000", "", nil); st != 404 || e["error"] == nil {
		t.Errorf("unknown call: %d %v", st, e)
	}
	if st, _, _ := f.do(t, "GET", "/demo/api/phone/calls/not-a-demo-call", "", nil); st != 404 {
		t.Errorf("not a demo call: %d", st)
	}
	// The store failing is said, without its words.
	callStates.Store(callID, errors.New("database is on fire"))
	if st, _, e := f.do(t, "GET", path, "", nil); st != 503 || strings.Contains(jsonBody(e), "fire") {
		t.Errorf("store error: %d %v", st, e)
	}
	callStates.Delete(callID)
}
