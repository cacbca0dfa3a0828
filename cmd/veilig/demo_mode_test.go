package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// demoRoutes are every demo page and endpoint, with a request each.
var demoRoutes = []struct{ method, path, body string }{
	{"GET", "/demo", ""},
	{"GET", "/demo/wallet", ""},
	{"GET", "/demo/phone", ""},
	{"GET", "/demo/assets/demo.css", ""},
	{"GET", "/demo/assets/wallet.js", ""},
	{"GET", "/demo/api/info", ""},
	{"GET", "/demo/api/wallet", ""},
	{"POST", "/demo/api/wallet/credentials", ""},
	{"POST", "/demo/api/wallet/disclose", `{"session":"x"}`},
	{"POST", "/demo/api/phone/calls", `{"dial":"x"}`},
	{"POST", "/demo/api/phone/calls/demo-000000000000/hangup", ""},
	{"POST", "/demo/issue", ""},
}

// TestDemoOffIs404: with demo mode off (any production configuration) the
// demo wallet, the demo phone and the demo site do not exist; with it on,
// they do.
func TestDemoOffIs404(t *testing.T) {
	on := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), nil)
	off := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), demoOff(t))
	// The mux's own 404 is plain text; every demo handler answers HTML,
	// CSS, JavaScript or JSON (a demo 404, such as an unknown call, is JSON).
	send := func(ta *testApp, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, ta.publicURL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := ta.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	for _, r := range demoRoutes {
		if st, ct := send(on, r.method, r.path, r.body); st >= 500 || strings.HasPrefix(ct, "text/plain") {
			t.Errorf("demo on: %s %s: %d %s", r.method, r.path, st, ct)
		}
		if st, ct := send(off, r.method, r.path, r.body); st != 404 || !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("demo off: %s %s: %d %s, want the plain 404", r.method, r.path, st, ct)
		}
	}
	// No demo agent either, and no demo wallet files.
	if _, err := off.store.AgentByUsername(t.Context(), demoAgentUsername); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Errorf("demo agent with demo off: %v", err)
	}
}

// TestDemoWalletAndPhone runs the demo's endpoints as the demo pages use
// them, on the real stack (TLS, the Yivi server in production mode): the
// demo wallet discloses the session as the QR code holds it, the demo phone
// calls with what the Yivi app would dial, the agent gets the verified
// attributes, and the phone hangs up.
func TestDemoWalletAndPhone(t *testing.T) {
	ta := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), nil)
	page := map[string]string{"Origin": ta.publicURL, "Sec-Fetch-Site": "same-origin"}
	s := ta.startSession(demoPurposeID)

	var info map[string]any
	if st := ta.do("GET", "/demo/api/info", nil, nil, &info); st != 200 || info["purpose"] != demoPurposeID {
		t.Fatalf("info: %d %v", st, info)
	}
	if nums, _ := info["phoneNumbers"].([]any); len(nums) != 2 || nums[0] != demoPhoneNumber || nums[1] != demoOtherPhoneNumber {
		t.Fatalf("numbers %v", info["phoneNumbers"])
	}
	if strings.Contains(mustJSON(info), "password\":") {
		t.Fatal("info serves a password")
	}

	// What the QR code holds (yivi-client adds continueOnSecondDevice).
	var ptr map[string]any
	jsonUnmarshal(t, s.SessionPtr, &ptr)
	ptr["continueOnSecondDevice"] = true
	qr := "https://open.yivi.app/-/session#" + url.QueryEscape(mustJSON(ptr))

	var disclosed struct {
		Disclosed   struct{ ClientReturnURL, Number, Code string }
		Credentials []struct{ Type string }
		IssuedNow   bool
	}
	if st := ta.do("POST", "/demo/api/wallet/disclose", map[string]string{"session": qr}, page, &disclosed); st != 200 {
		t.Fatalf("disclose: %d", st)
	}
	if d := disclosed.Disclosed; d.ClientReturnURL != s.Dial.URI || d.Number != demoPhoneNumber || d.Code != s.Dial.Code {
		t.Fatalf("the Yivi app would open %+v, want %s", d, s.Dial.URI)
	}
	if !disclosed.IssuedNow || len(disclosed.Credentials) != 2 || disclosed.Credentials[0].Type != demoscheme.PersonalDataCredential {
		t.Fatalf("wallet %+v", disclosed)
	}
	ta.waitState(s, veilig.StateDisclosed)

	var call struct{ Result, CallID, Contact, Purpose string }
	if st := ta.do("POST", "/demo/api/phone/calls", map[string]string{"dial": disclosed.Disclosed.ClientReturnURL, "caller": "+31687654321"}, page, &call); st != 200 || call.Result != "connected" || call.Contact != s.SessionID || call.Purpose != demoPurposeID {
		t.Fatalf("call: %d %+v", st, call)
	}
	if !regexp.MustCompile(`^demo-[0-9a-z]{12}$`).MatchString(call.CallID) {
		t.Fatalf("call id %q", call.CallID)
	}
	ta.waitState(s, veilig.StateMatched)

	// The code is single-use: dialled again, the contact centre does not
	// know it.
	var again struct{ Result string }
	if st := ta.do("POST", "/demo/api/phone/calls", map[string]string{"dial": disclosed.Disclosed.ClientReturnURL}, page, &again); st != 200 || again.Result != "no_match" {
		t.Fatalf("second call: %d %+v", st, again)
	}

	ta.addAgent("alice", demoPurposeID)
	alice := ta.agentClient("alice")
	var c phoneContact
	if st := alice.post("/api/v1/agent/contacts/"+s.SessionID+"/open", &c); st != 200 {
		t.Fatalf("open: %d", st)
	}
	got := map[string]string{}
	for _, a := range c.Attributes {
		got[a.ID] = a.Value
	}
	if got[demoscheme.FullName] != "Jan de Vries" || got[demoscheme.BSN] != "999999990" || c.CallerNumber != "+31687654321" || c.Provider != "demo" || c.Connection.Address != c.CallerNumber || c.Connection.Platform != c.Provider {
		t.Fatalf("contact %+v", c)
	}

	var hung struct{ Result string }
	if st := ta.do("POST", "/demo/api/phone/calls/"+call.CallID+"/hangup", nil, page, &hung); st != 200 || hung.Result != "ended" {
		t.Fatalf("hang up: %d %+v", st, hung)
	}
	ta.waitState(s, veilig.StateEnded)

	// Refusals change nothing.
	var e apiError
	if st := ta.do("POST", "/demo/api/phone/calls", map[string]string{"dial": s.Dial.URI}, map[string]string{"Origin": "https://evil.example"}, &e); st != 403 || e.Error.Code != "forbidden" {
		t.Fatalf("call from another site: %d %+v", st, e)
	}
	if st := ta.do("POST", "/demo/api/wallet/disclose", map[string]string{"session": `{"u":"https://elsewhere.example/irma/session/x","irmaqr":"disclosing"}`}, page, &e); st != 400 {
		t.Fatalf("a session elsewhere: %d %+v", st, e)
	}

	assertNoSecretsLogged(t, ta, s, "999999990", "Jan de Vries", "+31687654321")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
