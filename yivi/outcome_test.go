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
		name        string
		res         *server.SessionResult
		status      string
		proofStatus string
		state       veilig.SessionState
		reason      string // part of Judge's reason
	}{
		{"valid", done(irma.ProofStatusValid, full()), "DONE", "VALID", veilig.StateDisclosed, ""},
		{"invalid proof", done(irma.ProofStatusInvalid, full()), "DONE", "INVALID", veilig.StateFailed, "proof status INVALID"},
		{"expired credential", done(irma.ProofStatusExpired, full()), "DONE", "EXPIRED", veilig.StateFailed, "proof status EXPIRED"},
		{"missing attributes", done(irma.ProofStatusMissingAttributes, full()[:1]), "DONE", "MISSING_ATTRIBUTES", veilig.StateFailed, "proof status MISSING_ATTRIBUTES"},
		{"unmatched request", done(irma.ProofStatusUnmatchedRequest, full()), "DONE", "UNMATCHED_REQUEST", veilig.StateFailed, "UNMATCHED_REQUEST"},
		{"null attribute", done(irma.ProofStatusValid, with(0, 1, irma.AttributeProofStatusNull)), "DONE", "VALID", veilig.StateFailed, demoscheme.FullName + " is NULL"},
		{"invalid value", done(irma.ProofStatusValid, with(0, 0, "INVALID_VALUE")), "DONE", "VALID", veilig.StateFailed, "is INVALID_VALUE"},
		{"extra attribute", done(irma.ProofStatusValid, with(1, 0, irma.AttributeProofStatusExtra)), "DONE", "VALID", veilig.StateFailed, "is EXTRA"},
		{"valid but incomplete", done(irma.ProofStatusValid, full()[:1]), "DONE", "VALID", veilig.StateFailed, "missing"},
		{"nothing disclosed", done(irma.ProofStatusValid, nil), "DONE", "VALID", veilig.StateFailed, "no attributes"},
		{"cancelled", &server.SessionResult{Status: irma.ServerStatusCancelled, Type: irma.ActionDisclosing}, "CANCELLED", "", veilig.StateCancelled, "cancelled"},
		{"timeout", &server.SessionResult{Status: irma.ServerStatusTimeout, Type: irma.ActionDisclosing}, "TIMEOUT", "", veilig.StateExpired, "timed out"},
		{"server error", &server.SessionResult{
			Status: irma.ServerStatusCancelled, Type: irma.ActionDisclosing,
			Err: &irma.RemoteError{Status: 400, ErrorName: "MALFORMED_INPUT", Description: "Input could not be parsed",
				Message: "bad proof for session ABCDEFGHIJKLMNOPQRST returning to tel:+31201234567,12345678 {\"rawvalue\":\"999999990\"}"},
		}, yivi.StatusError, "", veilig.StateFailed, "error"},
		{"no result", nil, yivi.StatusError, "", veilig.StateFailed, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := yivi.Outcome(tc.res, conf)
			if o.Status != tc.status || o.ProofStatus != tc.proofStatus {
				t.Errorf("status %q proof %q, want %q %q", o.Status, o.ProofStatus, tc.status, tc.proofStatus)
			}
			d, state, reason := o.Judge(yivitest.Purpose())
			if state != tc.state || !strings.Contains(reason, tc.reason) || (d != nil) != (state == veilig.StateDisclosed) {
				t.Errorf("Judge = %v, %q, %q; want %q with %q", d != nil, state, reason, tc.state, tc.reason)
			}
			for _, s := range []string{"ABCDEFGHIJKLMNOPQRST", yivitest.Code, yivitest.BSN} {
				if strings.Contains(o.Err, s) {
					t.Errorf("Err %q leaks %q", o.Err, s)
				}
			}
		})
	}

	t.Run("attributes", func(t *testing.T) {
		o := yivi.Outcome(done(irma.ProofStatusValid, with(0, 1, irma.AttributeProofStatusNull)), conf)
		if len(o.Attributes) != 3 {
			t.Fatalf("attributes = %+v", o.Attributes)
		}
		bsn, name := o.Attributes[0], o.Attributes[1]
		if bsn.ID != demoscheme.BSN || bsn.Value != yivitest.BSN || bsn.Status != "PRESENT" || !bsn.IssuedAt.Equal(issued) {
			t.Errorf("bsn = %+v", bsn)
		}
		if bsn.Labels["nl"] != "BSN" || bsn.Labels["en"] != "Citizen service number (BSN)" {
			t.Errorf("bsn labels = %v", bsn.Labels)
		}
		if bsn.IssuerID != demoscheme.IssuerID || bsn.Issuer["nl"] != "Demo gemeente" || bsn.Issuer["en"] != "Demo municipality" {
			t.Errorf("bsn issuer = %q %v", bsn.IssuerID, bsn.Issuer)
		}
		if name.Value != "" || name.Status != "NULL" || name.Labels["en"] != "Full name" {
			t.Errorf("null attribute = %+v", name)
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
			{"rawvalue":null,"value":null,"id":"veilig-demo.gemeente.personalData.fullname","status":"NULL","issuancetime":0}]]}`
		var res server.SessionResult
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		o := yivi.Outcome(&res, conf)
		if o.Status != "DONE" || o.ProofStatus != "VALID" || len(o.Attributes) != 2 {
			t.Fatalf("outcome = %+v", o)
		}
		if a := o.Attributes[0]; a.Value != yivitest.BSN || !a.IssuedAt.Equal(time.Unix(1794787200, 0)) || a.Labels["nl"] != "BSN" {
			t.Errorf("bsn = %+v", a)
		}
		if a := o.Attributes[1]; a.Value != "" || a.Status != "NULL" || !a.IssuedAt.IsZero() {
			t.Errorf("null attribute = %+v", a)
		}
	})
}
