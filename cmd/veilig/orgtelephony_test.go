package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/telephony/asterisk"
	"github.com/veiligcontact/veilig/telephony/asterisk/agitest"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// TestOrganisationTelephony: organisations with telephony credentials of
// their own (Arnhem: a secret for its adapters and a Twilio account; Tiel:
// its own Asterisk) report calls on their own lines only. Arnhem's
// credentials cannot match Tiel's code on Tiel's line, nor end Tiel's call;
// the platform's can.
func TestOrganisationTelephony(t *testing.T) {
	arnhemSecret := b64(32)
	const arnhemToken = "a1a2a3a4a5a6a7a8a9a0b1b2b3b4b5b6"
	const arnhemLine, tielLine = "+31261110000", "+31344110000"
	ta := startApp(t, "sqlite:"+filepath.Join(t.TempDir(), "veilig.db"), func(c *config.Config) {
		schemes, keys, err := demoscheme.Extract(filepath.Join(t.TempDir(), "yivi"))
		if err != nil {
			t.Fatal(err)
		}
		c.Demo, c.Yivi.SchemesPath, c.Yivi.IssuerPrivateKeysPath = false, schemes, keys
		c.Organisations = []config.Organisation{
			{ID: "arnhem", Names: map[string]string{"nl": "Arnhem", "en": "Arnhem"}, Telephony: config.OrganisationTelephony{
				Secret: arnhemSecret, Twilio: config.OrganisationTwilio{AuthToken: arnhemToken, Enqueue: "arnhem-verified", UnverifiedEnqueue: "arnhem-unverified"},
			}},
			{ID: "tiel", Names: map[string]string{"nl": "Tiel", "en": "Tiel"}, Telephony: config.OrganisationTelephony{
				Asterisk: config.Asterisk{FastAGIListen: "127.0.0.1:0"},
			}},
		}
		purpose := func(id, org, line string) config.Purpose {
			return config.Purpose{ID: id, Organisation: org, Labels: map[string]string{"nl": id, "en": id},
				Disclose: [][][]string{{{demoscheme.FullName}}}, Phone: &config.Phone{Number: line}, AllowedOrigins: []string{"*"}}
		}
		c.Purposes = []config.Purpose{purpose("arnhem-p", "arnhem", arnhemLine), purpose("tiel-p", "tiel", tielLine)}
	})
	ctx := context.Background()
	w := ta.newWallet()
	proven := func(purpose string) startedSession {
		s := ta.startSession(purpose)
		ta.disclose(w, s)
		return s
	}
	arnhemAPI := &telephony.Client{BaseURL: ta.internalURL(), Secret: mustB64(t, arnhemSecret), Now: ta.clock.Now}

	t.Run("its own adapters' secret", func(t *testing.T) {
		a, tiel := proven("arnhem-p"), proven("tiel-p")
		if m, err := arnhemAPI.ReportCall(ctx, veilig.IncomingCall{Code: a.Dial.Code, CallerNumber: "+31611000001", CalledNumber: arnhemLine, Provider: "connect", CallID: "arnhem-1"}); err != nil || !m.Matched {
			t.Fatalf("Arnhem's call with Arnhem's secret: %+v %v", m, err)
		}
		_, err := arnhemAPI.ReportCall(ctx, veilig.IncomingCall{Code: tiel.Dial.Code, CallerNumber: "+31611000002", CalledNumber: tielLine, Provider: "connect", CallID: "tiel-by-arnhem"})
		if apiCode(err) != veilig.EFORBIDDEN {
			t.Fatalf("Tiel's call with Arnhem's secret: %v", err)
		}
		ta.waitState(tiel, veilig.StateDisclosed) // not matched
		if m := ta.metrics(); !strings.Contains(m, `veilig_calls_total{organisation="arnhem",result="other_line"} 1`) {
			t.Errorf("the refused call is not counted as other_line:\n%s", m)
		}
		// The platform's secret reports Tiel's call; Arnhem's cannot end it,
		// and is told what it is told of a call that does not exist.
		if m, err := ta.tel.ReportCall(ctx, veilig.IncomingCall{Code: tiel.Dial.Code, CallerNumber: "+31611000002", CalledNumber: tielLine, Provider: "connect", CallID: "tiel-1"}); err != nil || !m.Matched {
			t.Fatalf("Tiel's call with the platform's secret: %+v %v", m, err)
		}
		errTiel := arnhemAPI.ReportConnectionState(ctx, "connect", "tiel-1", veilig.ConnectionEnded)
		errNone := arnhemAPI.ReportConnectionState(ctx, "connect", "no-such-call", veilig.ConnectionEnded)
		if apiCode(errTiel) != veilig.ENOTFOUND || errTiel.Error() != errNone.Error() {
			t.Fatalf("Arnhem ends Tiel's call: %v (a missing call: %v)", errTiel, errNone)
		}
		ta.waitState(tiel, veilig.StateMatched)
		if err := arnhemAPI.ReportConnectionState(ctx, "connect", "arnhem-1", veilig.ConnectionEnded); err != nil {
			t.Fatalf("Arnhem ends its own call: %v", err)
		}
		ta.waitState(a, veilig.StateEnded)
	})

	t.Run("its own Twilio account", func(t *testing.T) {
		a, tiel := proven("arnhem-p"), proven("tiel-p")
		form := func(sid, to, digits string) url.Values {
			return url.Values{"CallSid": {sid}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "From": {"+31687654321"},
				"To": {to}, "CallStatus": {"in-progress"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}, "Digits": {digits}}
		}
		gather := ta.publicURL + "/twilio/arnhem/gather?attempt=1"
		if st, _ := ta.twilioPost(gather, form("CA000000000000000000000000000000a1", arnhemLine, a.Dial.Code), twilioToken); st != 403 {
			t.Fatalf("another account's signature on Arnhem's webhook: %d", st)
		}
		if st, doc := ta.twilioPost(ta.publicURL+"/twilio/arnhem/voice", form("CA000000000000000000000000000000a1", arnhemLine, ""), arnhemToken); st != 200 || !strings.Contains(doc, "/twilio/arnhem/gather") {
			t.Fatalf("Arnhem's voice webhook: %d %s", st, doc)
		}
		if st, doc := ta.twilioPost(gather, form("CA000000000000000000000000000000a1", arnhemLine, a.Dial.Code), arnhemToken); st != 200 || !strings.Contains(doc, "arnhem-verified") {
			t.Fatalf("Arnhem's call on its Twilio account: %d %s", st, doc)
		}
		ta.waitState(a, veilig.StateMatched)
		// Tiel's code on Tiel's line, through Arnhem's account: not looked
		// up for Tiel; the caller goes on unverified.
		if st, doc := ta.twilioPost(ta.publicURL+"/twilio/arnhem/gather?attempt=2", form("CA000000000000000000000000000000b1", tielLine, tiel.Dial.Code), arnhemToken); st != 200 || !strings.Contains(doc, "arnhem-unverified") {
			t.Fatalf("Tiel's call on Arnhem's account: %d %s", st, doc)
		}
		ta.waitState(tiel, veilig.StateDisclosed)
	})

	t.Run("its own Asterisk", func(t *testing.T) {
		a, tiel := proven("arnhem-p"), proven("tiel-p")
		addr := ta.fastAGIAddr("tiel")
		if addr == "" || ta.fastAGIAddr() != "" {
			t.Fatalf("FastAGI listeners: Tiel's %q, the platform's %q", addr, ta.fastAGIAddr())
		}
		own := &agitest.Call{Script: "verify?line=" + url.QueryEscape(tielLine), UniqueID: "1700000001.1", Vars: map[string]string{asterisk.DefaultCodeVar: tiel.Dial.Code}}
		if err := own.Run(addr); err != nil || own.Writes[asterisk.VarMatched] != "1" {
			t.Fatalf("Tiel's call on Tiel's Asterisk: %v %v", own.Writes, err)
		}
		other := &agitest.Call{Script: "verify?line=" + url.QueryEscape(arnhemLine), UniqueID: "1700000001.2", Vars: map[string]string{asterisk.DefaultCodeVar: a.Dial.Code}}
		if err := other.Run(addr); err != nil || other.Writes[asterisk.VarMatched] == "1" {
			t.Fatalf("Arnhem's call on Tiel's Asterisk: %v %v", other.Writes, err)
		}
		ta.waitState(a, veilig.StateDisclosed)
	})
}

// metrics is what the internal listener's /metrics says now.
func (ta *testApp) metrics() string {
	ta.t.Helper()
	resp, err := http.Get(ta.internalURL() + "/metrics")
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
