package config

import (
	"encoding/base64"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const twoOrganisations = `
demo: false
yivi: {schemes_path: /schemes}
organisations:
  - id: arnhem
    names: {nl: Gemeente Arnhem, en: Municipality of Arnhem}
    branding: {logo: "https://www.arnhem.example/logo.svg", colour: "#1a5c9e"}
    allowed_origins: ["https://www.arnhem.example"]
    secrets:
      encryption_keys: {a1: %s}
      active_key: a1
    retention: {audit: 720h, keep_audit_on_removal: true}
  - id: nijmegen
    names: {nl: Gemeente Nijmegen, en: Municipality of Nijmegen}
purposes:
  - id: arnhem-belastingen
    organisation: arnhem
    labels: {nl: Belastingen, en: Taxes}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234567"}
  - id: nijmegen-afval
    organisation: nijmegen
    labels: {nl: Afval, en: Waste}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31241234567"}
    allowed_origins: ["https://www.nijmegen.example"]
`

func key32() string { return base64.StdEncoding.EncodeToString(make([]byte, 32)) }

func TestOrganisations(t *testing.T) {
	c, err := Load(write(t, strings.Replace(twoOrganisations, "%s", key32(), 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	orgs := c.DomainOrganisations()
	if len(orgs) != 2 || orgs[0].ID != "arnhem" || orgs[0].Branding.Colour != "#1a5c9e" || orgs[0].AuditRetention.Hours() != 720 || !orgs[0].KeepAuditOnRemoval || orgs[1].Names["en"] != "Municipality of Nijmegen" {
		t.Fatalf("organisations: %+v %+v", orgs[0], orgs[1])
	}
	ps := c.DomainPurposes()
	if ps[0].OrgID != "arnhem" || ps[1].OrgID != "nijmegen" {
		t.Fatalf("purposes' organisations: %q %q", ps[0].OrgID, ps[1].OrgID)
	}
	// A purpose without origins of its own takes its organisation's.
	if !slices.Equal(ps[0].AllowedOrigins, []string{"https://www.arnhem.example"}) || !slices.Equal(ps[1].AllowedOrigins, []string{"https://www.nijmegen.example"}) {
		t.Fatalf("origins: %v %v", ps[0].AllowedOrigins, ps[1].AllowedOrigins)
	}
	if !slices.Equal(c.OrganisationIDs(), []string{"arnhem", "nijmegen"}) {
		t.Fatal(c.OrganisationIDs())
	}
	// None configured: the one implicit default organisation.
	if d, _ := Load("", nil); !slices.Equal(d.OrganisationIDs(), []string{"default"}) || d.DomainOrganisations() != nil {
		t.Fatal("default organisation")
	}
}

// Every problem of the organisations is reported at once, by key.
func TestOrganisationProblems(t *testing.T) {
	k := key32()
	other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	p := write(t, `
demo: false
yivi: {schemes_path: /schemes}
secrets: {encryption_keys: {k1: `+other+`}, active_key: k1}
organisations:
  - id: arnhem
    names: {nl: Gemeente Arnhem}
    branding: {logo: "javascript:alert(1)", colour: "#ffcc00"}
    allowed_origins: ["https://www.arnhem.example", "www.arnhem.example"]
    secrets: {encryption_keys: {a1: `+k+`, a2: short}, active_key: a3}
    retention: {audit: 1h}
  - id: arnhem
    names: {nl: Dubbel, en: Double}
  - id: Nijmegen!
    names: {nl: N, en: N}
    secrets: {encryption_keys: {n1: `+k+`}, active_key: n1}
  - id: tiel
    names: {nl: Tiel, en: Tiel}
    branding: {colour: "blue"}
    secrets: {encryption_keys: {t1: `+other+`}, active_key: t1}
purposes:
  - id: zonder
    labels: {nl: Zonder, en: Without}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234567"}
  - id: onbekend
    organisation: ede
    labels: {nl: Onbekend, en: Unknown}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234568"}
  - id: vreemd
    organisation: arnhem
    allowed_origins: ["https://elders.example"]
    labels: {nl: Vreemd, en: Foreign}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234569"}
`)
	_, err := Load(p, nil)
	wantProblems(t, err,
		"organisations.arnhem.names.en: is required",
		"organisations.arnhem.branding.logo: must be an http(s) URL",
		"organisations.arnhem.branding.colour: #ffcc00 has a contrast of 1.",
		`organisations.arnhem.allowed_origins: "www.arnhem.example" is not an origin`,
		"organisations.arnhem.secrets.active_key: must name one of its secrets.encryption_keys",
		"organisations.arnhem.secrets.encryption_keys.a2: must be base64 of exactly 32 bytes",
		"organisations.arnhem.retention.audit: must be at least 24h",
		"organisations.arnhem.id: is used twice",
		"organisations[2].id: must be 1-63 lower-case letters",
		"organisations[2].secrets.encryption_keys.n1: is the same key as organisations.arnhem.secrets.encryption_keys.a1",
		"organisations.tiel.branding.colour: must be a colour such as #1a5c9e",
		"organisations.tiel.secrets.encryption_keys.t1: is the same key as secrets.encryption_keys.k1",
		"purposes.zonder.organisation: is required when organisations are configured",
		`purposes.onbekend.organisation: "ede" is not a configured organisation`,
		`purposes.vreemd.allowed_origins: "https://elders.example" is not among organisation arnhem's allowed_origins`,
	)

	// A purpose naming an organisation where none are configured.
	p = write(t, `
demo: false
yivi: {schemes_path: /schemes}
purposes:
  - id: p
    organisation: arnhem
    labels: {nl: P, en: P}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234567"}
`)
	if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), `purposes.p.organisation: names "arnhem", but no organisations are configured`) {
		t.Fatalf("organisation without organisations: %v", err)
	}
}

// TestOrganisationsDocumented loads docs/organisations.md's example (the
// placeholders filled) and checks the problem messages it quotes.
func TestOrganisationsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../docs/organisations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	_, rest, _ := strings.Cut(doc, "## Configuration\n")
	_, rest, opened := strings.Cut(rest, "```yaml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !opened || !closed {
		t.Fatal("docs/organisations.md has no configuration example")
	}
	var n int
	fill := regexp.MustCompile(`<base64, (>= )?32 bytes>`).ReplaceAllStringFunc(example, func(string) string {
		n++ // distinct keys: the configuration refuses one used twice
		b := make([]byte, 32)
		b[0] = byte(n)
		return base64.StdEncoding.EncodeToString(b)
	})
	c, err := Load(write(t, fill), nil)
	if err != nil {
		t.Fatalf("the documented example: %v", err)
	}
	if ids := c.OrganisationIDs(); !slices.Equal(ids, []string{"default", "zwijndrecht"}) || c.DomainPurposes()[1].OrgID != "zwijndrecht" {
		t.Fatalf("the example's organisations: %v", ids)
	}
	// The quoted problems are what the configuration says.
	bad := strings.Replace(strings.Replace(fill, `colour: "#1f6b3a"`, `colour: "#7fb2e5"`, 1), "organisation: zwijndrecht", "organisation: ede", 1)
	_, err = Load(write(t, bad), nil)
	checked := 0
	for _, quoted := range regexp.MustCompile("`((?:organisations|purposes)\\.[^`]*?)(?: …)?`").FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(quoted[1], ": ") {
			continue
		}
		checked++
		if err == nil || !strings.Contains(err.Error(), quoted[1]) {
			t.Errorf("docs/organisations.md quotes %q; the configuration says %v", quoted[1], err)
		}
	}
	if checked < 2 {
		t.Errorf("found %d quoted problems in docs/organisations.md, want the 2 it quotes", checked)
	}
}

// An organisation's telephony credentials and single sign-on are checked
// under its keys, and no credential may be another's or the platform's.
func TestOrganisationTelephonyProblems(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	p := write(t, `
demo: false
yivi: {schemes_path: /schemes}
telephony:
  secret: `+secret+`
  twilio: {auth_token: 0123456789abcdef0123456789abcdef, enqueue: q}
  asterisk: {fastagi_listen: "127.0.0.1:4573"}
organisations:
  - id: arnhem
    names: {nl: A, en: A}
    telephony:
      secret: `+secret+`
      twilio: {auth_token: 0123456789abcdef0123456789abcdef, enqueue: q, dial: "+31201234567"}
      asterisk: {fastagi_listen: "127.0.0.1:4573"}
    oidc: {issuer: "https://login.arnhem.example"}
  - id: tiel
    names: {nl: T, en: T}
    telephony:
      secret: c2hvcnQ=
      twilio: {enqueue: q}
      asterisk: {fastagi_allow: [10.0.0.0/8]}
    oidc: {client_id: veilig}
  - id: ede
    names: {nl: E, en: E}
    telephony:
      twilio: {auth_token: 0123456789abcdef0123456789abcdef, enqueue: q}
purposes:
  - id: p
    organisation: arnhem
    labels: {nl: P, en: P}
    disclose: [[[irma-demo.gemeente.personalData.bsn]]]
    phone: {number: "+31261234567"}
`)
	_, err := Load(p, nil)
	wantProblems(t, err,
		"organisations.arnhem.telephony.secret: is the same as telephony.secret",
		"organisations.arnhem.telephony.twilio.dial: enqueue and dial exclude each other",
		"organisations.arnhem.telephony.twilio.auth_token: is also telephony.twilio.auth_token",
		"organisations.ede.telephony.twilio.auth_token: is also organisations.arnhem.telephony.twilio.auth_token",
		"organisations.arnhem.telephony.asterisk.fastagi_listen: is also telephony.asterisk.fastagi_listen",
		"organisations.tiel.telephony.secret: must be base64 of at least 32 bytes",
		"organisations.tiel.telephony.twilio.auth_token: is required to turn the Twilio webhooks on",
		"organisations.tiel.telephony.asterisk.fastagi_listen: is required with fastagi_allow",
		"organisations.tiel.oidc.issuer: is required with the other organisations.tiel.oidc settings",
		"organisations.arnhem.oidc.client_id: is required with organisations.arnhem.oidc.issuer",
	)
}
