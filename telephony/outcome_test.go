package telephony

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

func TestCallerNumber(t *testing.T) {
	for raw, want := range map[string]string{
		"+31612345678":          "+31612345678",
		" 06-1234 5678 ":        "0612345678",
		"(020) 123.45.67":       "0201234567",
		"anonymous":             veilig.AnonymousCaller,
		"Restricted":            veilig.AnonymousCaller,
		"unknown":               veilig.AnonymousCaller,
		"client:alice":          veilig.AnonymousCaller,
		"sip:bob@pbx.example":   veilig.AnonymousCaller,
		"+":                     veilig.AnonymousCaller,
		"1":                     veilig.AnonymousCaller,
		"12+34":                 veilig.AnonymousCaller,
		"123456789012345678901": veilig.AnonymousCaller,
	} {
		got, err := CallerNumber(raw)
		if err != nil || got != want {
			t.Errorf("CallerNumber(%q) = %q, %v; want %q", raw, got, err, want)
		}
		if err == nil {
			if verr := (veilig.IncomingCall{CallerNumber: got, Provider: "p", CallID: "c"}).Validate(); verr != nil {
				t.Errorf("CallerNumber(%q) = %q, which the core refuses: %v", raw, got, verr)
			}
		}
	}
	for _, raw := range []string{"", "   "} {
		if _, err := CallerNumber(raw); !errors.Is(err, ErrNoCaller) {
			t.Errorf("CallerNumber(%q): %v, want ErrNoCaller", raw, err)
		}
	}
}

// coreFunc adapts functions to Core, to drive Match through every answer
// the core can give.
type coreFunc struct {
	call  func(veilig.IncomingCall) (veilig.CallMatch, error)
	state func(provider, callID string, st veilig.ConnectionState) error
}

func (c coreFunc) ReportCall(ctx context.Context, call veilig.IncomingCall) (veilig.CallMatch, error) {
	return c.call(call)
}

func (c coreFunc) ReportConnectionState(ctx context.Context, provider, callID string, st veilig.ConnectionState) error {
	return c.state(provider, callID, st)
}

func TestMatchClassifies(t *testing.T) {
	ctx := context.Background()
	call := veilig.IncomingCall{Code: "12345674", CallerNumber: "+31612345678", Provider: "twilio", CallID: "CA1"}
	for name, tc := range map[string]struct {
		call   veilig.IncomingCall
		answer veilig.CallMatch
		err    error
		want   Result
		looked bool
	}{
		"matched":      {call, veilig.CallMatch{Matched: true, ContactRef: "ref", PurposeID: "demo"}, nil, ResultMatched, true},
		"no match":     {call, veilig.CallMatch{}, nil, ResultNoMatch, true},
		"rate limited": {call, veilig.CallMatch{}, veilig.Errorf(veilig.ERATELIMIT, "slow down"), ResultRateLimited, true},
		"down":         {call, veilig.CallMatch{}, errors.New("connection refused"), ResultUnavailable, true},
		"unavailable":  {call, veilig.CallMatch{}, veilig.Errorf(veilig.EUNAVAILABLE, "the telephony API answered 502"), ResultUnavailable, true},
		"no code":      {veilig.IncomingCall{Code: " ", CallerNumber: "+31612345678", Provider: "twilio", CallID: "CA1"}, veilig.CallMatch{}, nil, ResultNoCode, false},
		"no caller":    {veilig.IncomingCall{Code: "1", Provider: "twilio", CallID: "CA1"}, veilig.CallMatch{}, nil, ResultInvalid, false},
		"no call id":   {veilig.IncomingCall{Code: "1", CallerNumber: "anonymous", Provider: "twilio"}, veilig.CallMatch{}, nil, ResultInvalid, false},
	} {
		looked := false
		core := coreFunc{call: func(c veilig.IncomingCall) (veilig.CallMatch, error) {
			looked = true
			return tc.answer, tc.err
		}}
		o, _ := Match(ctx, core, tc.call, time.Second)
		if o.Result != tc.want || looked != tc.looked {
			t.Errorf("%s: %s (looked up %v), want %s (%v)", name, o.Result, looked, tc.want, tc.looked)
		}
		if o.Matched() != (tc.want == ResultMatched) || (o.Matched() && (o.ContactRef != "ref" || o.PurposeID != "demo")) {
			t.Errorf("%s: outcome %+v", name, o)
		}
		if !o.Matched() && o.ContactRef != "" {
			t.Errorf("%s: a contact reference without a match", name)
		}
	}
	if !ResultNoMatch.Retry() || !ResultNoCode.Retry() || ResultRateLimited.Retry() || ResultUnavailable.Retry() || ResultMatched.Retry() {
		t.Error("Retry is true exactly for no_match and no_code")
	}
}

// TestMatchWhileVeiligIsDown: the real client against a closed port and
// against a server that never answers gives "unavailable" within the bound.
func TestMatchWhileVeiligIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)

	call := veilig.IncomingCall{Code: "12345674", CallerNumber: "+31612345678", Provider: "connect", CallID: "c-1"}
	for name, base := range map[string]string{"closed port": closed, "no answer": slow.URL} {
		c := &Client{BaseURL: base, Secret: make([]byte, 32)}
		start := time.Now()
		o, err := Match(context.Background(), c, call, 300*time.Millisecond)
		if o.Result != ResultUnavailable || err == nil {
			t.Errorf("%s: %+v, %v; want unavailable with an error", name, o, err)
		}
		// The bound is what keeps a contact flow inside Connect's 8 s.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v despite a 300ms bound", name, d)
		}
	}
}

func TestReportState(t *testing.T) {
	var got []veilig.ConnectionState
	core := coreFunc{state: func(provider, callID string, st veilig.ConnectionState) error {
		got = append(got, st)
		switch callID {
		case "unknown":
			return veilig.Errorf(veilig.ENOTFOUND, "no matched call")
		case "down":
			return errors.New("connection refused")
		}
		return nil
	}}
	ctx := context.Background()
	if found, err := ReportState(ctx, core, "p", "known", veilig.ConnectionEnded, 0); !found || err != nil {
		t.Errorf("known: %v %v", found, err)
	}
	if found, err := ReportState(ctx, core, "p", "unknown", veilig.ConnectionEnded, 0); found || err != nil {
		t.Errorf("an unmatched call is not an error: %v %v", found, err)
	}
	if _, err := ReportState(ctx, core, "p", "down", veilig.ConnectionEnded, 0); err == nil {
		t.Error("down: no error")
	}
	if len(got) != 3 {
		t.Errorf("reported %v", got)
	}
}
