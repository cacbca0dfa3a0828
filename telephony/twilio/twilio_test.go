package twilio

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/veiligcontact/veilig"
)

const (
	token = "0123456789abcdef0123456789abcdef"
	base  = "https://contact.example.nl"
	sid   = "CA0123456789abcdef0123456789abcdef"
)

// recorder is the core as these tests need it: it records what the
// handler reports and answers as told. The whole path against the real
// service is tested in cmd/veilig.
type recorder struct {
	mu     sync.Mutex
	calls  []veilig.IncomingCall
	states []veilig.ConnectionState
	answer func(veilig.IncomingCall) (veilig.CallMatch, error)
}

func (r *recorder) ReportCall(ctx context.Context, c veilig.IncomingCall) (veilig.CallMatch, error) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if r.answer == nil {
		return veilig.CallMatch{}, nil
	}
	return r.answer(c)
}

func (r *recorder) ReportConnectionState(ctx context.Context, provider, callID string, st veilig.ConnectionState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if provider != Provider || callID != sid {
		return veilig.Errorf(veilig.ENOTFOUND, "no matched call")
	}
	r.states = append(r.states, st)
	return nil
}

func newHandler(t *testing.T, core *recorder, mutate func(*Config)) http.Handler {
	t.Helper()
	cfg := Config{Core: core, AuthToken: token, BaseURL: base, Enqueue: "verified", UnverifiedEnqueue: "unverified", Retries: 1, NumDigits: 8, Language: "nl-NL", Voice: "Polly.Lotte"}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, hh := range h.Routes() {
		mux.Handle(p, hh)
	}
	return mux
}

// post sends a form as Twilio would, signed over base+pathAndQuery.
func post(t *testing.T, h http.Handler, pathAndQuery string, form url.Values, sig string) (int, string) {
	t.Helper()
	if sig == "sign" {
		sig = Signature(token, base+pathAndQuery, form)
	}
	req := httptest.NewRequest("POST", pathAndQuery, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

func callForm(extra ...string) url.Values {
	f := url.Values{
		"CallSid": {sid}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {"+31612345678"}, "To": {"+31850000000"}, "CallStatus": {"in-progress"},
		"Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}, "FromCountry": {"NL"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "-" {
			f.Del(extra[i])
		} else {
			f.Set(extra[i], extra[i+1])
		}
	}
	return f
}

// node is a parsed TwiML element.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) verbs() []string {
	var out []string
	for _, c := range n.Nodes {
		out = append(out, c.XMLName.Local)
	}
	return out
}

func parseTwiML(t *testing.T, doc string) node {
	t.Helper()
	var n node
	if err := xml.Unmarshal([]byte(doc), &n); err != nil || n.XMLName.Local != "Response" {
		t.Fatalf("not TwiML: %v\n%s", err, doc)
	}
	return n
}

func TestTwilioRefusals(t *testing.T) {
	core := &recorder{}
	h := newHandler(t, core, nil)
	form := callForm()
	for name, tc := range map[string]struct {
		path, sig, ctype string
		form             url.Values
		want             int
	}{
		"no signature":        {PathVoice, "", "", form, 403},
		"wrong signature":     {PathVoice, Signature("ffffffffffffffffffffffffffffffff", base+PathVoice, form), "", form, 403},
		"signed for gather":   {PathVoice, Signature(token, base+PathGather, form), "", form, 403},
		"signed, other form":  {PathVoice, Signature(token, base+PathVoice, callForm("Digits", "1")), "", form, 403},
		"not a form":          {PathVoice, "sign", "application/json", form, 415},
		"signed, no CallSid":  {PathVoice, "sign", "", callForm("CallSid", "-"), 400},
		"signed, bad CallSid": {PathStatus, "sign", "", callForm("CallSid", "CA123"), 400},
	} {
		sig := tc.sig
		if sig == "sign" {
			sig = Signature(token, base+tc.path, tc.form)
		}
		req := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.form.Encode()))
		ctype := tc.ctype
		if ctype == "" {
			ctype = "application/x-www-form-urlencoded"
		}
		req.Header.Set("Content-Type", ctype)
		if sig != "" {
			req.Header.Set(SignatureHeader, sig)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", name, w.Code, tc.want)
		}
	}
	big := url.Values{"CallSid": {sid}, "Pad": {strings.Repeat("x", maxBody)}}
	if st, _ := post(t, h, PathVoice, big, "sign"); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a huge body: %d", st)
	}
	if len(core.calls) != 0 || len(core.states) != 0 {
		t.Errorf("refused requests reached the core: %v %v", core.calls, core.states)
	}
}

func TestTwilioFlow(t *testing.T) {
	core := &recorder{answer: func(c veilig.IncomingCall) (veilig.CallMatch, error) {
		if c.Code == "12345674" {
			return veilig.CallMatch{Matched: true, ContactRef: "ref42", PurposeID: "demo"}, nil
		}
		return veilig.CallMatch{}, nil
	}}
	h := newHandler(t, core, nil)

	st, doc := post(t, h, PathVoice, callForm(), "sign")
	if st != 200 {
		t.Fatalf("voice: %d %s", st, doc)
	}
	resp := parseTwiML(t, doc)
	if v := resp.verbs(); len(v) != 2 || v[0] != "Gather" || v[1] != "Redirect" {
		t.Fatalf("voice verbs %v", v)
	}
	g := resp.Nodes[0]
	if g.attr("input") != "dtmf" || g.attr("numDigits") != "8" || g.attr("finishOnKey") != "#" || g.attr("timeout") != "5" ||
		g.attr("action") != base+PathGather+"?attempt=1" || g.attr("method") != "POST" {
		t.Fatalf("gather %+v", g.Attrs)
	}
	if say := g.Nodes[0]; say.XMLName.Local != "Say" || say.attr("language") != "nl-NL" || say.attr("voice") != "Polly.Lotte" || say.Text == "" {
		t.Fatalf("prompt %+v", say)
	}

	// A wrong code: one more try, then the unverified queue.
	_, doc = post(t, h, PathGather+"?attempt=1", callForm("Digits", "11111116"), "sign")
	resp = parseTwiML(t, doc)
	if v := resp.verbs(); v[0] != "Gather" || resp.Nodes[0].attr("action") != base+PathGather+"?attempt=2" {
		t.Fatalf("after a miss: %s", doc)
	}
	_, doc = post(t, h, PathGather+"?attempt=2", callForm("Digits", "11111116"), "sign")
	resp = parseTwiML(t, doc)
	if v := resp.verbs(); len(v) != 2 || v[1] != "Enqueue" || strings.TrimSpace(resp.Nodes[1].Text) != "unverified" {
		t.Fatalf("after the last miss: %s", doc)
	}
	// No digits at all (the Redirect after <Gather>) is a miss too.
	_, doc = post(t, h, PathGather+"?attempt=1", callForm(), "sign")
	if resp = parseTwiML(t, doc); resp.Nodes[0].XMLName.Local != "Gather" {
		t.Fatalf("no digits: %s", doc)
	}

	// The right code: the verified queue; the ref goes nowhere without
	// TaskRouter, the code never.
	_, doc = post(t, h, PathGather+"?attempt=2", callForm("Digits", "12345674"), "sign")
	resp = parseTwiML(t, doc)
	if v := resp.verbs(); len(v) != 2 || v[0] != "Say" || v[1] != "Enqueue" || strings.TrimSpace(resp.Nodes[1].Text) != "verified" ||
		resp.Nodes[1].attr("action") != base+PathQueueResult {
		t.Fatalf("after a match: %s", doc)
	}
	if strings.Contains(doc, "12345674") {
		t.Fatal("the TwiML holds the code")
	}
	got := core.calls[len(core.calls)-1]
	if got != (veilig.IncomingCall{Code: "12345674", CallerNumber: "+31612345678", Provider: Provider, CallID: sid, CalledNumber: "+31850000000"}) {
		t.Fatalf("reported %+v", got)
	}

	// Status callbacks: in progress is nothing, completed ends the contact.
	if st, _ := post(t, h, PathStatus, callForm("CallStatus", "ringing"), "sign"); st != 204 || len(core.states) != 0 {
		t.Fatalf("ringing: %d %v", st, core.states)
	}
	for _, status := range []string{"completed", "busy", "failed", "no-answer", "canceled"} {
		if st, _ := post(t, h, PathStatus, callForm("CallStatus", status), "sign"); st != 204 {
			t.Fatalf("%s: %d", status, st)
		}
	}
	if len(core.states) != 5 || core.states[0] != veilig.ConnectionEnded {
		t.Fatalf("states %v", core.states)
	}
	// A call that never matched is no error for Twilio.
	if st, _ := post(t, h, PathStatus, callForm("CallSid", "CAffffffffffffffffffffffffffffffff", "CallStatus", "completed"), "sign"); st != 204 {
		t.Fatalf("unknown call: %d", st)
	}

	// The queue was full: the contact is over, the caller told so.
	_, doc = post(t, h, PathQueueResult, callForm("QueueResult", "queue-full"), "sign")
	if resp = parseTwiML(t, doc); strings.Join(resp.verbs(), ",") != "Say,Hangup" || core.states[len(core.states)-1] != veilig.ConnectionUnavailable {
		t.Fatalf("queue full: %s %v", doc, core.states)
	}
	_, doc = post(t, h, PathQueueResult, callForm("QueueResult", "bridged"), "sign")
	if resp = parseTwiML(t, doc); strings.Join(resp.verbs(), ",") != "Hangup" {
		t.Fatalf("bridged: %s", doc)
	}
}

func TestTwilioUnverifiedWithoutRetry(t *testing.T) {
	for name, tc := range map[string]struct {
		form   url.Values
		answer error
		looked bool
	}{
		"rate limited": {callForm("Digits", "1"), veilig.Errorf(veilig.ERATELIMIT, "slow"), true},
		"veilig down":  {callForm("Digits", "1"), io.ErrUnexpectedEOF, true},
		"no From":      {callForm("Digits", "1", "From", "-"), nil, false},
	} {
		core := &recorder{answer: func(veilig.IncomingCall) (veilig.CallMatch, error) { return veilig.CallMatch{}, tc.answer }}
		h := newHandler(t, core, nil)
		_, doc := post(t, h, PathGather+"?attempt=1", tc.form, "sign")
		resp := parseTwiML(t, doc)
		if v := resp.verbs(); len(v) != 2 || v[1] != "Enqueue" || strings.TrimSpace(resp.Nodes[1].Text) != "unverified" {
			t.Errorf("%s: %s", name, doc)
		}
		if (len(core.calls) > 0) != tc.looked {
			t.Errorf("%s: looked up %v", name, core.calls)
		}
	}
	// A withheld number is reported as anonymous, and still matched.
	core := &recorder{}
	h := newHandler(t, core, nil)
	post(t, h, PathGather+"?attempt=1", callForm("Digits", "1", "From", "+266696687"), "sign")
	if len(core.calls) != 1 || core.calls[0].CallerNumber != veilig.AnonymousCaller {
		t.Errorf("withheld: %+v", core.calls)
	}
}

func TestTwilioRoutes(t *testing.T) {
	match := func(veilig.IncomingCall) (veilig.CallMatch, error) {
		return veilig.CallMatch{Matched: true, ContactRef: "ref42"}, nil
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   []string
	}{
		"taskrouter": {func(c *Config) { c.WorkflowSID = "WW0123456789abcdef0123456789abcdef" },
			[]string{`workflowSid="WW0123456789abcdef0123456789abcdef"`, `<Task>{&#34;veiligContactRef&#34;:&#34;ref42&#34;,&#34;veiligVerified&#34;:true}</Task>`}},
		"client": {func(c *Config) { c.Enqueue, c.UnverifiedEnqueue, c.Dial = "", "", "client:agent-7" },
			[]string{`<Dial><Client><Identity>agent-7</Identity><Parameter name="veiligContactRef" value="ref42"/></Client></Dial>`}},
		"sip": {func(c *Config) { c.Enqueue, c.UnverifiedEnqueue, c.Dial = "", "", "sip:agents@pbx.example.nl" },
			[]string{`<Sip>sip:agents@pbx.example.nl?X-Veilig-Contact-Ref=ref42</Sip>`}},
		"number": {func(c *Config) { c.Enqueue, c.UnverifiedEnqueue, c.Dial = "", "", "+31201234567" },
			[]string{`<Dial><Number>+31201234567</Number></Dial>`}},
		"escaped": {func(c *Config) { c.Enqueue = `a<b>&"c"` },
			[]string{`a&lt;b&gt;&amp;&#34;c&#34;</Enqueue>`}},
	} {
		h := newHandler(t, &recorder{answer: match}, tc.mutate)
		_, doc := post(t, h, PathGather+"?attempt=1", callForm("Digits", "1"), "sign")
		parseTwiML(t, doc)
		for _, w := range tc.want {
			if !strings.Contains(doc, w) {
				t.Errorf("%s: %s lacks %s", name, doc, w)
			}
		}
	}
}

func TestTwilioConfig(t *testing.T) {
	ok := Config{Core: &recorder{}, AuthToken: token, BaseURL: base, Enqueue: "q"}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"no token":        func(c *Config) { c.AuthToken = "" },
		"base with path":  func(c *Config) { c.BaseURL = base + "/x" },
		"no route":        func(c *Config) { c.Enqueue = "" },
		"both routes":     func(c *Config) { c.Dial = "+31201234567" },
		"retries":         func(c *Config) { c.Retries = 4 },
		"workflow":        func(c *Config) { c.WorkflowSID = "WW1" },
		"digits":          func(c *Config) { c.NumDigits = 17 },
		"gather timeout":  func(c *Config) { c.GatherTimeout = 1 },
		"long queue name": func(c *Config) { c.Enqueue = strings.Repeat("q", 65) },
	} {
		c := ok
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// An organisation's own Twilio account has its webhooks under its prefix,
// and the TwiML's actions point there too; the platform's paths are not
// served by it.
func TestTwilioPrefix(t *testing.T) {
	h := newHandler(t, &recorder{answer: func(veilig.IncomingCall) (veilig.CallMatch, error) { return veilig.CallMatch{}, nil }}, func(c *Config) { c.Prefix = "/twilio/arnhem" })
	st, doc := post(t, h, "/twilio/arnhem/voice", callForm(), "sign")
	if st != 200 || !strings.Contains(doc, `action="`+base+`/twilio/arnhem/gather?attempt=1"`) {
		t.Fatalf("voice under the prefix: %d %s", st, doc)
	}
	if st, _ := post(t, h, PathVoice, callForm(), "sign"); st != http.StatusNotFound {
		t.Fatalf("the platform's path on an organisation's handler: %d", st)
	}
	for _, bad := range []string{"/other", "/twilio/", "/twilio/Arnhem", "/twilio/a/b"} {
		if _, err := New(Config{Core: &recorder{}, AuthToken: token, BaseURL: base, Enqueue: "q", Prefix: bad}); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}
