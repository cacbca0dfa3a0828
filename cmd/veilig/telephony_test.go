package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/telephony/asterisk"
	"github.com/veiligcontact/veilig/telephony/asterisk/agitest"
	"github.com/veiligcontact/veilig/telephony/connect"
	"github.com/veiligcontact/veilig/telephony/twilio"
)

// verifyOnDemoLine is the dialplan's AGI script for the demo purpose's line.
var verifyOnDemoLine = "verify?line=" + url.QueryEscape(demoPhoneNumber)

// connectEvent is a payload Amazon documents (telephony/connect/testdata),
// edited as a real invocation would differ from the example.
func connectEvent(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "telephony", "connect", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	return out
}

// flowEvent is the Lambda guide's example event for contact contactID, with
// the function input parameters our contact flow passes.
func flowEvent(t *testing.T, contactID string, params map[string]string) []byte {
	return connectEvent(t, "lambda-dg-event.json", func(m map[string]any) {
		d := m["Details"].(map[string]any)
		cd := d["ContactData"].(map[string]any)
		cd["ContactId"] = contactID
		// The number the caller dialled: the demo purpose's line.
		cd["SystemEndpoint"].(map[string]any)["Address"] = demoPhoneNumber
		p := map[string]any{}
		for k, v := range params {
			p[k] = v
		}
		d["Parameters"] = p
	})
}

func contactEvent(t *testing.T, eventType, contactID string) []byte {
	return connectEvent(t, "eventbridge-contact-event.json", func(m map[string]any) {
		d := m["detail"].(map[string]any)
		d["eventType"], d["contactId"], d["channel"] = eventType, contactID, "VOICE"
	})
}

// lambdaHandler is the Lambda as deployed: configured by its environment,
// served through aws-lambda-go.
func (ta *testApp) lambdaHandler() lambda.Handler {
	ta.t.Helper()
	env := map[string]string{
		connect.EnvURL:     ta.internalURL(),
		connect.EnvSecret:  base64.StdEncoding.EncodeToString(ta.secrets.telephonySecret),
		connect.EnvTimeout: "3s",
	}
	h, err := connect.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		ta.t.Fatal(err)
	}
	return lambda.NewHandler(h)
}

func invokeLambda(t *testing.T, h lambda.Handler, payload []byte) map[string]string {
	t.Helper()
	// Connect gives the function 8 s at most.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("lambda: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("lambda answer is not a flat string map: %s", out)
	}
	return m
}

// phoneContact is a contact as the agent API gives a phone contact: with
// the first release's provider and callerNumber next to connection.
type phoneContact struct {
	veilig.Contact
	Provider, CallerNumber string
}

// byCall asks for the contact of a call as a console embedding a softphone
// written for the first release does (by-call/), and checks that the
// by-connection path gives the same.
func (ac *agentClient) byCall(provider, callID string) (int, phoneContact) {
	var c, again phoneContact
	st := ac.do("GET", "/api/v1/agent/contacts/by-call/"+provider+"/"+url.PathEscape(callID), nil, nil, &c)
	if st2 := ac.do("GET", "/api/v1/agent/contacts/by-connection/"+provider+"/"+url.PathEscape(callID), nil, nil, &again); st2 != st || again.ID != c.ID || again.CallerNumber != c.CallerNumber {
		ac.t.Errorf("by-connection answered %d %+v, by-call %d %+v", st2, again, st, c)
	}
	return st, c
}

// TestAmazonConnect runs the Amazon Connect path on the real stack: the
// documented "Invoke AWS Lambda function" event through the real Lambda
// handler (configured by environment, over the signed telephony API) against
// a running veilig, the agent finding the contact by its ContactId, and the
// documented EventBridge contact events answering and ending it.
func TestAmazonConnect(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := db(t)
			ta := startApp(t, dbURL, nil)
			lambdaH := ta.lambdaHandler()
			w := ta.newWallet()
			s := ta.startSession("demo")
			ta.disclose(w, s)
			const contactID = "4a573372-1f28-4e26-b97b-0123456789a"

			// A mistyped code: no match, the flow may ask again.
			got := invokeLambda(t, lambdaH, flowEvent(t, contactID, map[string]string{"action": "verify", "code": wrongCode(s.Dial.Code)}))
			if got["matched"] != "false" || got["result"] != "no_match" || got["retry"] != "true" || got["contactRef"] != "" {
				t.Fatalf("miss: %v", got)
			}
			// Then the right one.
			got = invokeLambda(t, lambdaH, flowEvent(t, contactID, map[string]string{"action": "verify", "code": s.Dial.Code}))
			if got["matched"] != "true" || got["result"] != "matched" || got["contactRef"] != s.SessionID || got["purpose"] != "demo" {
				t.Fatalf("match: %v", got)
			}
			for k, v := range got {
				if v == s.Dial.Code || strings.Contains(v, s.Dial.Code) {
					t.Fatalf("the answer holds the code in %s", k)
				}
			}
			ta.waitState(s, veilig.StateMatched)

			// The console finds the ringing contact by the ContactId its
			// softphone (amazon-connect-streams) shows.
			ta.addAgent("alice", "demo")
			ta.addAgent("bob", "other")
			alice := ta.agentClient("alice")
			st, c := alice.byCall("connect", contactID)
			if st != 200 || c.ID != s.SessionID || c.Attributes != nil || c.CallerNumber != "+1234567890" || c.Provider != "connect" || c.Connection.Address != c.CallerNumber {
				t.Fatalf("by call: %d %+v", st, c)
			}
			if st, _ := ta.agentClient("bob").byCall("connect", contactID); st != 403 {
				t.Fatalf("another purpose's agent: %d", st)
			}
			if st, _ := alice.byCall("connect", "no-such-contact"); st != 404 {
				t.Fatalf("unknown call: %d", st)
			}
			if st, _ := alice.byCall("twilio", contactID); st != 404 {
				t.Fatalf("other provider: %d", st)
			}
			if st, _ := alice.byCall("Bad_Provider", contactID); st != 400 {
				t.Fatalf("bad provider: %d", st)
			}
			if st := ta.do("GET", "/api/v1/agent/contacts/by-call/connect/"+contactID, nil, nil, nil); st != 401 {
				t.Fatalf("without signing in: %d", st)
			}

			// EventBridge: connected to the agent, then disconnected.
			if _, err := lambdaH.Invoke(context.Background(), contactEvent(t, "CONNECTED_TO_AGENT", contactID)); err != nil {
				t.Fatal(err)
			}
			ta.waitState(s, veilig.StateAnswered)
			var opened veilig.Contact
			if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", &opened); st != 200 || len(opened.Attributes) != 3 {
				t.Fatalf("open: %d %+v", st, opened)
			}
			ta.addAgent("carol", "demo")
			if st, _ := ta.agentClient("carol").byCall("connect", contactID); st != 409 {
				t.Fatalf("another agent's contact: %d", st)
			}
			if _, err := lambdaH.Invoke(context.Background(), contactEvent(t, "DISCONNECTED", contactID)); err != nil {
				t.Fatal(err)
			}
			ta.waitState(s, veilig.StateEnded)
			checkDestroyed(t, dbURL, s.SessionID)
			if st, _ := alice.byCall("connect", contactID); st != 404 {
				t.Fatalf("after the end: %d", st)
			}
			// An unverified caller's disconnect is no error (EventBridge
			// would retry an error).
			if _, err := lambdaH.Invoke(context.Background(), contactEvent(t, "DISCONNECTED", "never-matched")); err != nil {
				t.Fatal(err)
			}
			// The flow's callState entry: reporting the same end again is fine.
			got = invokeLambda(t, lambdaH, flowEvent(t, contactID, map[string]string{"action": "callState", "state": "ended"}))
			if got["ok"] != "true" || got["result"] != "recorded" {
				t.Fatalf("callState: %v", got)
			}
			assertNoSecretsLogged(t, ta, s, "999999990", "Jan de Vries", "+1234567890")
		})
	}
}

// wrongCode is a well-formed code that is not code.
// wellFormedCode is a code of the default length made from n, with a
// correct check digit: it is looked up (and matches nothing but a live
// session, one chance in 10^9 per live session).
func wellFormedCode(n int) string {
	prefix := strings.Repeat("0", veilig.DefaultCodeLength-1-len(strconv.Itoa(n))) + strconv.Itoa(n)
	for d := byte('0'); d <= '9'; d++ {
		if c := prefix + string(d); veilig.CodeWellFormed(c) {
			return c
		}
	}
	panic("Damm: no check digit")
}

func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestAmazonConnectVeiligDown: the deployed Lambda, with veilig gone,
// still answers the flow in time, so the flow queues the caller unverified.
func TestAmazonConnectVeiligDown(t *testing.T) {
	ta := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), nil)
	h := ta.lambdaHandler()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ta.shutdown(ctx)
	start := time.Now()
	got := invokeLambda(t, h, flowEvent(t, "c-down", map[string]string{"code": "12345674"}))
	if got["matched"] != "false" || got["result"] != "unavailable" || got["retry"] != "false" {
		t.Fatalf("%v", got)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Fatalf("answered after %v: past Connect's limit", d)
	}
}

const twilioToken = "f1e2d3c4b5a697887766554433221100"

// twilioPost sends a webhook request as Twilio does: a form POST to the
// exact URL, signed with the auth token over that URL and the form.
func (ta *testApp) twilioPost(fullURL string, form url.Values, token string) (int, string) {
	ta.t.Helper()
	req, _ := http.NewRequest("POST", fullURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	if token != "" {
		req.Header.Set(twilio.SignatureHeader, twilio.Signature(token, fullURL, form))
	}
	resp, err := ta.client.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

type twimlNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr  `xml:",any,attr"`
	Text    string      `xml:",chardata"`
	Nodes   []twimlNode `xml:",any"`
}

func (n twimlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n twimlNode) find(name string) *twimlNode {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == name {
			return &n.Nodes[i]
		}
	}
	return nil
}

func parseTwiML(t *testing.T, doc string) twimlNode {
	t.Helper()
	var n twimlNode
	if err := xml.Unmarshal([]byte(doc), &n); err != nil || n.XMLName.Local != "Response" {
		t.Fatalf("not TwiML: %v\n%s", err, doc)
	}
	return n
}

// TestTwilio runs a signed Twilio call on the real stack, from the number's
// first webhook through <Gather> (following the action URLs veilig gives,
// as Twilio does), a miss and a retry, <Enqueue>, the agent finding the
// contact by its CallSid, to the status callback that ends it.
func TestTwilio(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "veilig.db")
	ta := startApp(t, dbURL, func(c *config.Config) {
		c.Telephony.Twilio.AuthToken = twilioToken
		c.Telephony.Twilio.Enqueue = "verified"
		c.Telephony.Twilio.UnverifiedEnqueue = "unverified"
	})
	w := ta.newWallet()
	s := ta.startSession("demo")
	ta.disclose(w, s)
	const callSid = "CA0123456789abcdef0123456789abcdef"
	form := func(extra ...string) url.Values {
		f := url.Values{"CallSid": {callSid}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "From": {"+31687654321"},
			"To": {demoPhoneNumber}, "CallStatus": {"in-progress"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}, "Caller": {"+31687654321"}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}

	// Refusals first: nothing may change.
	voiceURL := ta.publicURL + twilio.PathVoice
	if st, _ := ta.twilioPost(voiceURL, form(), ""); st != 403 {
		t.Fatalf("unsigned: %d", st)
	}
	if st, _ := ta.twilioPost(voiceURL, form(), "ffffffffffffffffffffffffffffffff"); st != 403 {
		t.Fatalf("wrong token: %d", st)
	}
	gatherURL := ta.publicURL + twilio.PathGather + "?attempt=1"
	req, _ := http.NewRequest("POST", gatherURL, strings.NewReader(form("Digits", s.Dial.Code).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, twilio.Signature(twilioToken, gatherURL, form("Digits", wrongCode(s.Dial.Code))))
	if resp, err := ta.client.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("a signature for other digits: %v %v", resp, err)
	}
	// Not on the internal listener.
	if resp, err := http.Post(ta.internalURL()+twilio.PathVoice, "application/x-www-form-urlencoded", strings.NewReader(form().Encode())); err != nil || resp.StatusCode != 404 {
		t.Fatalf("internal listener: %v %v", resp, err)
	}
	ta.waitState(s, veilig.StateDisclosed)

	// The call comes in.
	st, doc := ta.twilioPost(voiceURL, form(), twilioToken)
	if st != 200 {
		t.Fatalf("voice: %d %s", st, doc)
	}
	gather := parseTwiML(t, doc).find("Gather")
	if gather == nil || gather.attr("numDigits") != strconv.Itoa(veilig.DefaultCodeLength) || gather.attr("input") != "dtmf" {
		t.Fatalf("voice TwiML: %s", doc)
	}
	// A mistyped code, then the right one, each to the action URL given.
	_, doc = ta.twilioPost(gather.attr("action"), form("Digits", wrongCode(s.Dial.Code)), twilioToken)
	gather = parseTwiML(t, doc).find("Gather")
	if gather == nil || !strings.HasSuffix(gather.attr("action"), "attempt=2") {
		t.Fatalf("after a miss: %s", doc)
	}
	_, doc = ta.twilioPost(gather.attr("action"), form("Digits", s.Dial.Code, "FinishedOnKey", ""), twilioToken)
	enq := parseTwiML(t, doc).find("Enqueue")
	if enq == nil || strings.TrimSpace(enq.Text) != "verified" || strings.Contains(doc, s.Dial.Code) {
		t.Fatalf("after the code: %s", doc)
	}
	ta.waitState(s, veilig.StateMatched)

	ta.addAgent("alice", "demo")
	alice := ta.agentClient("alice")
	st, c := alice.byCall("twilio", callSid)
	if st != 200 || c.ID != s.SessionID || c.CallerNumber != "+31687654321" || c.Attributes != nil {
		t.Fatalf("by call: %d %+v", st, c)
	}
	var opened veilig.Contact
	if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", &opened); st != 200 || len(opened.Attributes) != 3 {
		t.Fatalf("open: %d", st)
	}

	// Twilio's status callback: ringing changes nothing, completed ends.
	statusURL := ta.publicURL + twilio.PathStatus
	if st, _ := ta.twilioPost(statusURL, form("CallStatus", "ringing"), twilioToken); st != 204 {
		t.Fatalf("ringing: %d", st)
	}
	if st, _ := ta.twilioPost(statusURL, form("CallStatus", "completed", "CallDuration", "42"), ""); st != 403 {
		t.Fatalf("unsigned status: %d", st)
	}
	ta.waitState(s, veilig.StateAnswered)
	if st, _ := ta.twilioPost(statusURL, form("CallStatus", "completed", "CallDuration", "42"), twilioToken); st != 204 {
		t.Fatalf("completed: %d", st)
	}
	ta.waitState(s, veilig.StateEnded)
	checkDestroyed(t, dbURL, s.SessionID)
	assertNoSecretsLogged(t, ta, s, "999999990", "Jan de Vries", "+31687654321", twilioToken)
}

// TestAsterisk runs Asterisk's side of FastAGI against the FastAGI server
// inside the running veilig: the dialplan's Read() left the digits in
// VEILIG_CODE, AGI(agi://veilig/verify) matches them and answers with
// channel variables; the Queue() AGI reports answered, the hangup handler
// ended. Garbage on the socket is closed cleanly and changes nothing.
func TestAsterisk(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "veilig.db")
	ta := startApp(t, dbURL, func(c *config.Config) { c.Telephony.Asterisk.FastAGIListen = "127.0.0.1:0" })
	addr := ta.fastAGIAddr()
	if addr == "" {
		t.Fatal("no FastAGI listener")
	}
	w := ta.newWallet()
	s := ta.startSession("demo")
	ta.disclose(w, s)
	const uid = "1700000123.7"

	// Garbage first.
	for _, junk := range []string{"GET / HTTP/1.1\r\n\r\n", "agi_network: yes\n" + strings.Repeat("x", 10000) + "\n", "\x00\x01\x02\n\n"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		io.WriteString(conn, junk)
		if out, _ := io.ReadAll(conn); len(out) != 0 {
			t.Fatalf("answered garbage with %q", out)
		}
		conn.Close()
	}

	miss := &agitest.Call{Script: verifyOnDemoLine, UniqueID: uid, CallerID: "0687654321", Vars: map[string]string{asterisk.DefaultCodeVar: wrongCode(s.Dial.Code)}}
	if err := miss.Run(addr); err != nil {
		t.Fatal(err)
	}
	if miss.Writes[asterisk.VarMatched] != "0" || miss.Writes[asterisk.VarRetry] != "1" || miss.Writes[asterisk.VarContactRef] != "" {
		t.Fatalf("miss: %v", miss.Writes)
	}
	hit := &agitest.Call{Script: verifyOnDemoLine, UniqueID: uid, CallerID: "0687654321", Vars: map[string]string{asterisk.DefaultCodeVar: s.Dial.Code}}
	if err := hit.Run(addr); err != nil {
		t.Fatal(err)
	}
	if hit.Writes[asterisk.VarMatched] != "1" || hit.Writes[asterisk.VarContactRef] != s.SessionID || hit.Writes[asterisk.VarResult] != "matched" {
		t.Fatalf("hit: %v (commands %v)", hit.Writes, hit.Commands)
	}
	if hit.Vars[asterisk.DefaultCodeVar] != "" {
		t.Fatal("the code was left in the channel")
	}
	ta.waitState(s, veilig.StateMatched)

	ta.addAgent("alice", "demo")
	alice := ta.agentClient("alice")
	if st, c := alice.byCall("asterisk", uid); st != 200 || c.ID != s.SessionID || c.CallerNumber != "0687654321" {
		t.Fatalf("by call: %d %+v", st, c)
	}
	// Queue(verified,,,,,agi://veilig/answered) runs on the caller's channel.
	answered := &agitest.Call{Script: "answered", UniqueID: uid}
	if err := answered.Run(addr); err != nil {
		t.Fatal(err)
	}
	ta.waitState(s, veilig.StateAnswered)
	// The hangup handler.
	ended := &agitest.Call{Script: "ended", UniqueID: uid}
	if err := ended.Run(addr); err != nil {
		t.Fatal(err)
	}
	ta.waitState(s, veilig.StateEnded)
	checkDestroyed(t, dbURL, s.SessionID)
	assertNoSecretsLogged(t, ta, s, "999999990", "Jan de Vries", "0687654321")
}
