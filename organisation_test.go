package veilig_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/keyring"
	"github.com/veiligcontact/veilig/telephony"
)

// TestOrganisationsApart: two organisations served by one service. An
// agent, supervisor or admin of one sees nothing of the other: its
// contacts are answered exactly as contacts that do not exist, its
// accounts as accounts that do not exist, its purposes are refused, and
// its figures are not counted.
func TestOrganisationsApart(t *testing.T) {
	yivi := &scriptedYivi{}
	svc, st := newServiceWith(t, yivi, func(c *veilig.ServiceConfig) {
		twoOrganisations(c)
	})
	ctx := context.Background()
	started := startProven(t, svc, yivi, "tax")
	if s, _ := st.Session(ctx, started.SessionID); s.OrgID != "gemeente-a" {
		t.Fatalf("the session is of %q, want its purpose's organisation", s.OrgID)
	}
	if m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: phoneCode(t, started), CallerNumber: "+31600000001", Provider: "test", CallID: "a-call", CalledNumber: "+31201234567"}); err != nil || !m.Matched {
		t.Fatalf("call: %+v %v", m, err)
	}

	alice := &veilig.Agent{ID: veilig.NewID(), Username: "alice", Role: veilig.RoleAdmin, Purposes: []string{"*"}, OrgID: "gemeente-a", CreatedAt: time.Now()}
	bob := &veilig.Agent{ID: veilig.NewID(), Username: "bob", Role: veilig.RoleAdmin, Purposes: []string{"*"}, OrgID: "gemeente-b", CreatedAt: time.Now()}
	for _, a := range []*veilig.Agent{alice, bob} {
		if err := st.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := svc.WaitingContacts(ctx, alice); err != nil || len(list) != 1 {
		t.Fatalf("alice's queue: %v %v", list, err)
	}
	if list, err := svc.WaitingContacts(ctx, bob); err != nil || len(list) != 0 {
		t.Fatalf("bob sees another organisation's queue: %v %v", list, err)
	}
	same := func(what string, got, missing error) {
		t.Helper()
		if veilig.ErrorCode(got) != veilig.ENOTFOUND || got.Error() != missing.Error() {
			t.Errorf("%s of another organisation: %v; of none: %v (want the same not found)", what, got, missing)
		}
	}
	_, got := svc.ContactByConnection(ctx, bob, "test", "a-call")
	_, missing := svc.ContactByConnection(ctx, bob, "test", "no-call")
	same("contact by call", got, missing)
	_, got = svc.OpenContact(ctx, bob, started.SessionID, "192.0.2.1")
	_, missing = svc.OpenContact(ctx, bob, "nosuchcontact", "192.0.2.1")
	same("open", got, missing)
	same("end", svc.EndContact(ctx, bob, started.SessionID, "192.0.2.1"), svc.EndContact(ctx, bob, "nosuchcontact", "192.0.2.1"))

	name := "Mallory"
	_, got = svc.UpdateAccount(ctx, bob, alice.ID, veilig.AccountPatch{DisplayName: &name}, "192.0.2.1")
	_, missing = svc.UpdateAccount(ctx, bob, "nosuchaccount", veilig.AccountPatch{DisplayName: &name}, "192.0.2.1")
	same("update account", got, missing)
	same("set password", svc.SetAccountPassword(ctx, bob, alice.ID, "a long enough password", "192.0.2.1"),
		svc.SetAccountPassword(ctx, bob, "nosuchaccount", "a long enough password", "192.0.2.1"))
	if list, err := svc.Accounts(ctx, bob); err != nil || len(list) != 1 || list[0].ID != bob.ID {
		t.Errorf("bob's accounts: %v %v", list, err)
	}
	if _, err := svc.CreateAccount(ctx, bob, veilig.NewAccount{Username: "carl", Role: veilig.RoleAgent, Purposes: []string{"tax"}}, "192.0.2.1"); veilig.ErrorCode(err) != veilig.EINVALID {
		t.Errorf("an account for another organisation's purpose: %v", err)
	}
	carl, err := svc.CreateAccount(ctx, bob, veilig.NewAccount{Username: "carl", Role: veilig.RoleAgent, Purposes: []string{"*"}}, "192.0.2.1")
	if err != nil || carl.OrgID != "gemeente-b" {
		t.Fatalf("bob's new account: %+v %v", carl, err)
	}

	ob, err := svc.Overview(ctx, bob, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	if err != nil || len(ob.Waiting) != 0 || ob.Matched["tax"] != 0 {
		t.Errorf("bob's overview counts another organisation: %+v %v", ob, err)
	}
	oa, err := svc.Overview(ctx, alice, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	if err != nil || len(oa.Waiting) != 1 || oa.Matched["tax"] != 1 {
		t.Errorf("alice's overview: %+v %v", oa, err)
	}
	if _, err := svc.OpenContact(ctx, alice, started.SessionID, "192.0.2.1"); err != nil {
		t.Fatalf("alice opens her organisation's contact: %v", err)
	}
	// The audit trail: the view is gemeente-a's, bob's account work is
	// gemeente-b's, and neither organisation's filter reads the other's.
	for org, want := range map[string]string{"gemeente-a": veilig.AuditContactOpened, "gemeente-b": veilig.AuditAccountCreated} {
		entries, err := st.Audit(ctx, veilig.AuditFilter{OrgID: org})
		if err != nil || len(entries) != 1 || entries[0].Action != want {
			t.Errorf("audit of %s: %+v %v, want one %s", org, entries, err, want)
		}
	}
}

// TestCodeOnAnotherOrganisationsLine: a code of organisation A, dialled to
// organisation B's number, matches nothing; dialled to A's, it matches; a
// line of no organisation looks nothing up when several are served.
func TestCodeOnAnotherOrganisationsLine(t *testing.T) {
	yivi := &scriptedYivi{}
	svc, _ := newServiceWith(t, yivi, func(c *veilig.ServiceConfig) {
		twoOrganisations(c)
	})
	ctx := context.Background()
	started := startProven(t, svc, yivi, "tax")
	call := func(id, called string) veilig.CallMatch {
		t.Helper()
		m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: phoneCode(t, started), CallerNumber: "+31600000009", Provider: "test", CallID: id, CalledNumber: called})
		if err != nil {
			t.Fatalf("call %s: %v", id, err)
		}
		return m
	}
	if m := call("to-b", "+31207654321"); m.Matched {
		t.Fatalf("a code of A matched on B's line: %+v", m)
	}
	if m := call("to-nowhere", "+31209999999"); m.Matched {
		t.Fatalf("a code matched on a line of no organisation: %+v", m)
	}
	if m := call("to-a", "+31201234567"); !m.Matched || m.ContactRef != started.SessionID {
		t.Fatalf("a code of A on A's line: %+v", m)
	}
}

// TestOrganisationKeys: each organisation's personal data is sealed with
// its own keys: what is stored for A opens with A's keys and not with B's
// (nor the deployment's), and its agent still sees it.
func TestOrganisationKeys(t *testing.T) {
	keys := map[string]veilig.Sealer{}
	for _, org := range []string{"gemeente-a", "gemeente-b", "shared"} {
		k, _ := keyring.NewKey()
		kr, err := keyring.New(org, map[string][]byte{org: k})
		if err != nil {
			t.Fatal(err)
		}
		keys[org] = kr
	}
	yivi := &scriptedYivi{}
	svc, st := newServiceWith(t, yivi, func(c *veilig.ServiceConfig) {
		c.Sealer = keys["shared"]
		c.OrgSealers = map[string]veilig.Sealer{"gemeente-a": keys["gemeente-a"], "gemeente-b": keys["gemeente-b"]}
		twoOrganisations(c)
	})
	ctx := context.Background()
	started := startProven(t, svc, yivi, "tax")
	if m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: phoneCode(t, started), CallerNumber: "+31600000002", Provider: "test", CallID: "k1", CalledNumber: "+31201234567"}); err != nil || !m.Matched {
		t.Fatalf("call: %+v %v", m, err)
	}
	raw, err := st.Session(ctx, started.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	for org, sl := range keys {
		_, derr := sl.Open(raw.SealedDisclosure, []byte(raw.ID))
		_, aerr := sl.Open(raw.SealedAddress, []byte("caller\x00test\x00k1"))
		own := org == "gemeente-a"
		if (derr == nil) != own || (aerr == nil) != own {
			t.Errorf("%s's keys on A's data: disclosure %v, caller %v (want opened only with A's)", org, derr, aerr)
		}
	}
	alice := &veilig.Agent{ID: veilig.NewID(), Username: "alice", Role: veilig.RoleAgent, Purposes: []string{"*"}, OrgID: "gemeente-a", CreatedAt: time.Now()}
	if err := st.CreateAgent(ctx, alice); err != nil {
		t.Fatal(err)
	}
	c, err := svc.OpenContact(ctx, alice, started.SessionID, "192.0.2.1")
	if err != nil || len(c.Attributes) != 2 || c.Connection.Address != "+31600000002" {
		t.Fatalf("A's agent opens A's contact: %+v %v", c, err)
	}
}

// twoOrganisations serves gemeente-a (the base configuration's purpose
// "tax", number +31201234567) and gemeente-b (purpose "b-tax", number
// +31207654321).
func twoOrganisations(c *veilig.ServiceConfig) {
	c.Organisations = []*veilig.Organisation{
		{ID: "gemeente-a", Names: map[string]string{"nl": "Gemeente A", "en": "Municipality A"}},
		{ID: "gemeente-b", Names: map[string]string{"nl": "Gemeente B", "en": "Municipality B"}},
	}
	c.Purposes[0].OrgID = "gemeente-a"
	b := *c.Purposes[0]
	b.ID, b.OrgID = "b-tax", "gemeente-b"
	b.ChannelSettings = &telephony.PhoneSettings{Number: "+31207654321", CodeLength: veilig.DefaultCodeLength}
	c.Purposes = append(c.Purposes, &b)
}

// startProven starts a session of purpose and has the scripted means
// prove what the base configuration's purposes ask.
func startProven(t *testing.T, svc *veilig.Service, yivi *scriptedYivi, purpose string) *veilig.StartedSession {
	t.Helper()
	started, err := svc.StartSession(context.Background(), purpose, "")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := yivi.last()
	w.Finished(veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofProven, Assurance: veilig.AssuranceSubstantial,
		Attributes: []veilig.Attribute{attr("s.i.c.bsn"), attr("s.i.c.a")}})
	return started
}

// The contrast of white text on a branding colour, as WCAG computes it.
func TestContrastWithWhite(t *testing.T) {
	for colour, want := range map[string]float64{"#000000": 21, "#ffffff": 1, "#767676": 4.54, "#1a5c9e": 7.0, "#6b2c7a": 9.27} {
		if got := veilig.ContrastWithWhite(colour); got < want-0.6 || got > want+0.6 {
			t.Errorf("%s: %.2f, want about %.2f", colour, got, want)
		}
	}
	if veilig.ContrastWithWhite("#12345") != 0 || veilig.ContrastWithWhite("blue") != 0 {
		t.Error("a malformed colour has a contrast")
	}
	o := veilig.Organisation{ID: "a", Names: map[string]string{"nl": "A", "en": "A"}, Branding: veilig.Branding{Colour: "#777777"}}
	if p := o.Validate(); len(p) != 1 || !strings.HasPrefix(p[0], "branding.colour: #777777 has a contrast of 4.48:1") {
		t.Errorf("problems %v", p)
	}
}

// TestOrganisationAuditRetention: maintenance keeps an organisation's
// audit trail as long as its own retention says, another's as long as the
// deployment's.
func TestOrganisationAuditRetention(t *testing.T) {
	now := time.Now()
	svc, st := newServiceWith(t, &scriptedYivi{}, func(c *veilig.ServiceConfig) {
		twoOrganisations(c)
		c.Organisations[0].AuditRetention = 7 * 24 * time.Hour // A: a week; B: the deployment's 30 days
		c.AuditRetention = 30 * 24 * time.Hour
		c.Clock = func() time.Time { return now }
	})
	ctx := context.Background()
	for _, org := range []string{"gemeente-a", "gemeente-b"} {
		for _, age := range []time.Duration{24 * time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour} {
			if err := st.AddAudit(ctx, &veilig.AuditEntry{At: now.Add(-age), AgentID: "x", Action: veilig.AuditAgentSignIn, OrgID: org}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := svc.RunMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]int{"gemeente-a": 1, "gemeente-b": 2} {
		if es, err := st.Audit(ctx, veilig.AuditFilter{OrgID: org}); err != nil || len(es) != want {
			t.Errorf("%s keeps %d audit entries (%v), want %d", org, len(es), err, want)
		}
	}
}

// A logo is an http(s) URL or a data: URL of an image, nothing else.
func TestOrganisationLogo(t *testing.T) {
	for logo, ok := range map[string]bool{
		"https://www.example.nl/logo.svg":           true,
		"data:image/svg+xml;base64,PHN2Zy8+":        true,
		"data:image/png;base64,iVBORw0KGgo=":        true,
		"data:text/html;base64,PHNjcmlwdD4=":        false,
		"data:image/svg+xml,<svg onload=alert(1)/>": false,
		"javascript:alert(1)":                       false,
		"//www.example.nl/logo.svg":                 false,
		"https://user:pw@www.example.nl/logo.svg":   false,
	} {
		o := veilig.Organisation{ID: "a", Names: map[string]string{"nl": "A", "en": "A"}, Branding: veilig.Branding{Logo: logo}}
		if got := len(o.Validate()) == 0; got != ok {
			t.Errorf("%q accepted %v, want %v (%v)", logo, got, ok, o.Validate())
		}
	}
}
