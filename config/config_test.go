package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig/telephony"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "veilig.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantProblems fails unless err reports every one of want (each the start
// of a problem, key and message).
func wantProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	var problems ProblemList
	if !errors.As(err, &problems) {
		t.Fatalf("want a ProblemList, got %v", err)
	}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem %q in:\n%v", w, err)
		}
	}
}

func TestNoConfigurationRunsOnDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "sqlite:veilig-data/veilig.db" || !c.Demo || c.Yivi.Mode != "embedded" || c.Public.Listen != "127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", c)
	}
}

// Every problem is reported at once, each with its key.
func TestEveryProblemReportedByKey(t *testing.T) {
	p := write(t, `
demo: false
database: {url: "mysql://x"}
yivi: {mode: external}
telephony: {replay_window: 1s, secret: "c2hvcnQ="}
log: {format: xml}
purposes:
  - id: Tax!
    labels: {nl: Belasting}
    disclose: [[["pbdf.gemeente.bsn"]], [[]]]
    phone_number: "020-1234567"
    code_length: 4
    allowed_origins: ["www.example.nl"]
  - id: tax2
    labels: {nl: a, en: b}
    disclose: [[["a.b.c.d"]]]
    phone_number: "+31201234567"
    channel: fax
`)
	_, err := Load(p, nil)
	var problems ProblemList
	if !errors.As(err, &problems) {
		t.Fatalf("want a ProblemList, got %v", err)
	}
	want := []string{
		"database.url", "yivi.url", "yivi.token", "telephony.secret", "telephony.replay_window", "log.format",
		"purposes[0].id", "purposes[0].labels.en", "purposes[0].disclose", "purposes[0].phone_number",
		"purposes[0].code_length", "purposes[0].allowed_origins", "purposes.tax2.channel",
	}
	for _, key := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, key+": ") }) {
			t.Errorf("no problem reported for %s in:\n%v", key, problems)
		}
	}
	for _, p := range problems {
		if strings.Contains(p, "c2hvcnQ=") {
			t.Errorf("a secret is echoed: %s", p)
		}
	}
}

func TestUnknownKeysAndVariablesAreErrors(t *testing.T) {
	if _, err := Load(write(t, "databse: {url: sqlite:x.db}\n"), nil); err == nil || !strings.Contains(err.Error(), "databse") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := Load("", []string{"VEILIG_DATABSE_URL=x"}); err == nil || !strings.Contains(err.Error(), "VEILIG_DATABSE_URL: no such setting") {
		t.Fatalf("unknown variable: %v", err)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	p := write(t, "public: {listen: 127.0.0.1:9000}\ntelephony: {miss_per_caller: 3}\n")
	c, err := Load(p, []string{
		"VEILIG_PUBLIC_LISTEN=127.0.0.1:9100",
		"VEILIG_TELEPHONY_MISS_WINDOW=30m",
		"VEILIG_PUBLIC_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16",
		"VEILIG_AGENTS_SECURE_COOKIES=false",
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Public.Listen != "127.0.0.1:9100" || c.Telephony.MissPerCaller != 3 || c.Telephony.MissWindow != 30*time.Minute ||
		len(c.Public.TrustedProxies) != 2 || c.Agents.SecureCookies {
		t.Fatalf("overrides not applied: %+v", c)
	}
	_, err = Load("", []string{"VEILIG_TELEPHONY_MISS_WINDOW=soon", "VEILIG_DEMO=perhaps"})
	if err == nil || !strings.Contains(err.Error(), "telephony.miss_window (from VEILIG_TELEPHONY_MISS_WINDOW)") || !strings.Contains(err.Error(), "demo (from VEILIG_DEMO)") {
		t.Fatalf("bad values: %v", err)
	}
}

func TestPostgresNeedsSharedSecrets(t *testing.T) {
	_, err := Load("", []string{"VEILIG_DATABASE_URL=postgres://db/veilig"})
	for _, key := range []string{"secrets.secret_key", "secrets.encryption_keys", "telephony.secret"} {
		if err == nil || !strings.Contains(err.Error(), key+": ") {
			t.Errorf("postgres without %s accepted: %v", key, err)
		}
	}
}

func TestPurposeDefaults(t *testing.T) {
	p := Purpose{ID: "x", Labels: map[string]string{"nl": "a", "en": "b"}, Disclose: [][][]string{{{"a.b.c.d"}}}, PhoneNumber: "+31201234567"}.Domain()
	if telephony.SettingsOf(p).CodeLength != 10 || p.SessionTTL != 15*time.Minute || p.Channel != "phone" || p.MinAssurance != "substantial" || len(p.Validate()) != 0 {
		t.Fatalf("defaults: %+v %v", p, p.Validate())
	}
}

// TestPhoneSection: a purpose's phone settings go in its phone: section;
// the first release's keys still work alone, and giving both is refused
// with the old key named.
func TestPhoneSection(t *testing.T) {
	base := "demo: true\npurposes:\n  - id: p\n    labels: {nl: a, en: b}\n    disclose: [[[a.b.c.d]]]\n"
	load := func(t *testing.T, body string) (*Config, error) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(base+body), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path, nil)
	}
	for name, body := range map[string]string{
		"section": "    phone: {number: '+31201234567', code_length: 12}\n    means: [yivi]\n",
		"legacy":  "    phone_number: '+31201234567'\n    code_length: 12\n",
		"mixed":   "    phone: {number: '+31201234567'}\n    code_length: 12\n",
	} {
		c, err := load(t, body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := c.Purposes[0].Domain()
		if s := telephony.SettingsOf(p); s == nil || *s != (telephony.PhoneSettings{Number: "+31201234567", CodeLength: 12}) {
			t.Errorf("%s: phone settings %+v", name, s)
		}
	}
	for body, want := range map[string]string{
		"    phone: {number: '+31201234567'}\n    phone_number: '+31201234568'\n":     "purposes.p.phone_number: is the first release's name of phone.number",
		"    phone: {number: '+31201234567', code_length: 12}\n    code_length: 11\n": "purposes.p.code_length: is the first release's name of phone.code_length",
		"    phone: {number: '020'}\n":                                                "purposes.p.phone.number: must be an E.164 number",
		"    phone_number: '020'\n":                                                   "purposes.p.phone_number: must be an E.164 number",
		"    phone: {number: '+31201234567', code_length: 5}\n":                       "purposes.p.phone.code_length: must be between 6 and 16",
		"    phone: {number: '+31201234567', digits: 5}\n":                            "digits",
		"    phone: {number: '+31201234567'}\n    means: [eudi]\n":                    `purposes.p.means: "eudi" is not a means of proof served in this version`,
		"    channel: chat\n":                                                         "purposes.p.channel: must be phone, the only channel served in this version",
	} {
		if _, err := load(t, body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}

// TestTypeProblems: a value of the wrong kind is named by its key path,
// and a fractional whole number is refused rather than truncated.
func TestTypeProblems(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(`purposes:
  - id: x
    code_length: 8.5
    labels: {nl: a, en: b}
    disclose: [[[a.b.c.d]]]
    phone_number: '+31201234567'
    session_ttl: 1.5
    retention: 900
telephony:
  miss_per_caller: lots
agents:
  secure_cookies: maybe
`), 0o600)
	_, err := Load(p, nil)
	var pl ProblemList
	if !errors.As(err, &pl) {
		t.Fatalf("Load: %v", err)
	}
	want := []string{
		"purposes[0].code_length: must be a whole number (line 3)",
		"purposes[0].session_ttl: must be a duration such as 15m or 24h (line 7)",
		"purposes[0].retention: must be a duration such as 15m or 24h (line 8)",
		"telephony.miss_per_caller: must be a whole number (line 10)",
		"agents.secure_cookies: must be true or false (line 12)",
	}
	if !slices.Equal(pl, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(pl, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocumentedExamples loads the configuration examples of the docs
// (the production example of docs/configuration.md, the server of
// docs/install.md), their placeholders filled in, so a reference cannot
// show a file that veilig refuses.
func TestDocumentedExamples(t *testing.T) {
	for _, ex := range []struct{ doc, after string }{
		{"../docs/configuration.md", "## A production example\n"},
		{"../docs/install.md", "## 2. Configuration and secrets\n"},
	} {
		doc, err := os.ReadFile(ex.doc)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(doc), ex.after)
		_, rest, opened := strings.Cut(rest, "```yaml\n")
		example, _, closed := strings.Cut(rest, "```")
		if !ok || !opened || !closed {
			t.Fatalf("%s has no example after %q", ex.doc, ex.after)
		}
		key := base64.StdEncoding.EncodeToString(make([]byte, 32))
		filled := strings.NewReplacer(
			"<base64, >= 32 bytes>", key, "<base64, 32 bytes>", key,
			"<the account's auth token>", strings.Repeat("0a", 16), "<secret>", "client-secret", "<requestor token>", "token",
		).Replace(example)
		if strings.Contains(filled, "<") {
			t.Fatalf("%s: a placeholder this test does not fill: %s", ex.doc, filled)
		}
		c, err := Load(write(t, filled), nil)
		if err != nil {
			t.Fatalf("%s: %v", ex.doc, err)
		}
		p := c.Purposes[0].Domain()
		if s := telephony.SettingsOf(p); s == nil || s.Number != "+31201234567" || len(c.Purposes[0].Legacy()) != 0 {
			t.Fatalf("%s: the example's purpose: %+v %+v", ex.doc, p, s)
		}
	}
}

// TestListenerKeysUsedOnlyOnOne: keys the listener type has but one
// listener does not use are refused, not silently ignored.
func TestListenerKeysUsedOnlyOnOne(t *testing.T) {
	_, err := Load(write(t, "internal: {url: http://x, trusted_proxies: [10.0.0.0/8]}\npublic: {pprof: true}\n"), nil)
	for _, key := range []string{"internal.url: is not used", "internal.trusted_proxies: is not used", "public.pprof: is not allowed"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("want %q, got %v", key, err)
		}
	}
}
