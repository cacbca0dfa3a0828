package yivi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/internal/yivitest"
)

func demoSchemes(t *testing.T) *irma.Configuration {
	t.Helper()
	conf, err := irma.NewConfiguration(schemes, irma.ConfigurationOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := conf.ParseFolder(); err != nil {
		t.Fatal(err)
	}
	conf.Scheduler.Stop()
	return conf
}

func attr(id, value string, status irma.AttributeProofStatus, issued time.Time) *irma.DisclosedAttribute {
	a := &irma.DisclosedAttribute{
		Identifier:   irma.NewAttributeTypeIdentifier(id),
		Status:       status,
		IssuanceTime: irma.Timestamp(issued),
	}
	if status != irma.AttributeProofStatusNull {
		a.RawValue = &value
		a.Value = irma.TranslatedString{"": value}
	}
	return a
}

// The conversion of every kind of result the Yivi server reports, and what
// the domain's Judge makes of it: only a valid proof with every requested
// attribute PRESENT gets through.
func TestOutcome(t *testing.T) {
	conf := demoSchemes(t)
	issued := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	full := func() [][]*irma.DisclosedAttribute {
		return [][]*irma.DisclosedAttribute{
			{attr(demoscheme.BSN, yivitest.BSN, irma.AttributeProofStatusPresent, issued),
				attr(demoscheme.FullName, yivitest.FullName, irma.AttributeProofStatusPresent, issued)},
			{attr(demoscheme.MobileNumber, yivitest.MobileNumber, irma.AttributeProofStatusPresent, issued)},
		}
	}
	with := func(i, j int, status irma.AttributeProofStatus) [][]*irma.DisclosedAttribute {
		d := full()
		a := d[i][j]
		d[i][j] = attr(a.Identifier.String(), *a.RawValue, status, issued)
		return d
	}
	done := func(ps irma.ProofStatus, d [][]*irma.DisclosedAttribute) *server.SessionResult {
		return &server.SessionResult{Status: irma.ServerStatusDone, Type: irma.ActionDisclosing, ProofStatus: ps, Disclosed: d}
	}

	for _, tc := range []struct {
		name    string
		res     *server.SessionResult
		outcome veilig.ProofOutcome
		reason  string // part of the result's reason
		state   veilig.SessionState
	}{
		{"valid", done(irma.ProofStatusValid, full()), veilig.ProofProven, "", veilig.StateDisclosed},
		{"invalid proof", done(irma.ProofStatusInvalid, full()), veilig.ProofFailed, "proof status INVALID", veilig.StateFailed},
		{"expired credential", done(irma.ProofStatusExpired, full()), veilig.ProofFailed, "proof status EXPIRED", veilig.StateFailed},
		{"missing attributes", done(irma.ProofStatusMissingAttributes, full()[:1]), veilig.ProofFailed, "proof status MISSING_ATTRIBUTES", veilig.StateFailed},
		{"unmatched request", done(irma.ProofStatusUnmatchedRequest, full()), veilig.ProofFailed, "UNMATCHED_REQUEST", veilig.StateFailed},
		{"null attribute", done(irma.ProofStatusValid, with(0, 1, irma.AttributeProofStatusNull)), veilig.ProofFailed, demoscheme.FullName + " is NULL", veilig.StateFailed},
		{"invalid value", done(irma.ProofStatusValid, with(0, 0, "INVALID_VALUE")), veilig.ProofFailed, "is INVALID_VALUE", veilig.StateFailed},
		{"extra attribute", done(irma.ProofStatusValid, with(1, 0, irma.AttributeProofStatusExtra)), veilig.ProofFailed, "is EXTRA", veilig.StateFailed},
		// Proven by Yivi, but not what the purpose asks: the domain refuses.
		{"valid but incomplete", done(irma.ProofStatusValid, full()[:1]), veilig.ProofProven, "", veilig.StateFailed},
		{"nothing disclosed", done(irma.ProofStatusValid, nil), veilig.ProofProven, "", veilig.StateFailed},
		{"cancelled", &server.SessionResult{Status: irma.ServerStatusCancelled, Type: irma.ActionDisclosing}, veilig.ProofCancelled, "cancelled", veilig.StateCancelled},
		{"timeout", &server.SessionResult{Status: irma.ServerStatusTimeout, Type: irma.ActionDisclosing}, veilig.ProofTimedOut, "timed out", veilig.StateExpired},
		{"server error", &server.SessionResult{
			Status: irma.ServerStatusCancelled, Type: irma.ActionDisclosing,
			Err: &irma.RemoteError{Status: 400, ErrorName: "MALFORMED_INPUT", Description: "Input could not be parsed",
				Message: "bad proof for session ABCDEFGHIJKLMNOPQRST returning to tel:+31201234567,12345678 {\"rawvalue\":\"999999990\"}"},
		}, veilig.ProofFailed, "error", veilig.StateFailed},
		{"no result", nil, veilig.ProofFailed, "error", veilig.StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := yivi.Outcome(tc.res, conf)
			if o.Means != veilig.MeansYivi || o.Outcome != tc.outcome || !strings.Contains(o.Reason, tc.reason) {
				t.Errorf("result %s %s %q, want yivi %s with %q", o.Means, o.Outcome, o.Reason, tc.outcome, tc.reason)
			}
			if (o.Outcome == veilig.ProofProven) != (o.Assurance == veilig.AssuranceSubstantial) {
				t.Errorf("assurance %q for a %s proof", o.Assurance, o.Outcome)
			}
			if o.Outcome != veilig.ProofProven && len(o.Attributes) != 0 {
				t.Errorf("a %s proof carries attributes", o.Outcome)
			}
			d, state, reason := o.Judge(yivitest.Purpose())
			if state != tc.state || (d != nil) != (state == veilig.StateDisclosed) {
				t.Errorf("Judge = %v, %q, %q; want %q", d != nil, state, reason, tc.state)
			}
			for _, s := range []string{"ABCDEFGHIJKLMNOPQRST", yivitest.Code, yivitest.BSN} {
				if strings.Contains(o.Detail, s) || strings.Contains(o.Reason, s) || strings.Contains(reason, s) {
					t.Errorf("result %q / %q leaks %q", o.Reason, o.Detail, s)
				}
			}
		})
	}

	t.Run("attributes", func(t *testing.T) {
		o := yivi.Outcome(done(irma.ProofStatusValid, full()), conf)
		if len(o.Attributes) != 3 {
			t.Fatalf("attributes = %+v", o.Attributes)
		}
		bsn := o.Attributes[0]
		if bsn.ID != demoscheme.BSN || bsn.Value != yivitest.BSN || !bsn.IssuedAt.Equal(issued) {
			t.Errorf("bsn = %+v", bsn)
		}
		if bsn.Labels["nl"] != "BSN" || bsn.Labels["en"] != "Citizen service number (BSN)" {
			t.Errorf("bsn labels = %v", bsn.Labels)
		}
		if bsn.IssuerID != demoscheme.IssuerID || bsn.Issuer["nl"] != "Demo gemeente" || bsn.Issuer["en"] != "Demo municipality" {
			t.Errorf("bsn issuer = %q %v", bsn.IssuerID, bsn.Issuer)
		}
		// Labels are copies: changing them leaves the scheme alone.
		bsn.Labels["nl"] = "changed"
		if conf.AttributeTypes[irma.NewAttributeTypeIdentifier(demoscheme.BSN)].Name["nl"] != "BSN" {
			t.Error("Outcome returned the scheme's own map")
		}
	})

	t.Run("without schemes", func(t *testing.T) {
		o := yivi.Outcome(done(irma.ProofStatusValid, full()), nil)
		a := o.Attributes[0]
		if a.ID != demoscheme.BSN || a.Value != yivitest.BSN || a.IssuerID != demoscheme.IssuerID || a.Labels != nil || a.Issuer != nil {
			t.Errorf("attribute = %+v", a)
		}
	})

	// What External decodes from GET /session/{token}/result.
	t.Run("from JSON", func(t *testing.T) {
		body := `{"token":"ABCDEFGHIJKLMNOPQRST","status":"DONE","type":"disclosing","proofStatus":"VALID",
			"disclosed":[[{"rawvalue":"999999990","value":{"":"999999990","en":"999999990","nl":"999999990"},
			"id":"veilig-demo.gemeente.personalData.bsn","status":"PRESENT","issuancetime":1794787200},
			{"rawvalue":"` + yivitest.FullName + `","id":"veilig-demo.gemeente.personalData.fullname","status":"PRESENT","issuancetime":0}]]}`
		var res server.SessionResult
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		o := yivi.Outcome(&res, conf)
		if o.Outcome != veilig.ProofProven || len(o.Attributes) != 2 {
			t.Fatalf("outcome = %+v", o)
		}
		if a := o.Attributes[0]; a.Value != yivitest.BSN || !a.IssuedAt.Equal(time.Unix(1794787200, 0)) || a.Labels["nl"] != "BSN" {
			t.Errorf("bsn = %+v", a)
		}
		if a := o.Attributes[1]; a.Value != yivitest.FullName || !a.IssuedAt.IsZero() {
			t.Errorf("attribute without an issuance time = %+v", a)
		}
	})
}
