// Package config reads Veilig Contact's configuration: one YAML file plus
// environment overrides (VEILIG_<KEY_PATH>, e.g. VEILIG_DATABASE_URL), with
// defaults that make `veilig serve` run with no configuration at all. Load
// checks everything and reports every problem at once, each with its key.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// Config is the whole configuration. Durations are Go durations ("15m").
type Config struct {
	// DataDir holds the SQLite file, the generated secrets and the extracted
	// demo scheme when those are not configured elsewhere.
	DataDir string `yaml:"data_dir"`
	// Demo turns on the demo scheme, demo purpose and demo pages. On by
	// default; any configuration file that sets purposes should turn it off.
	Demo bool `yaml:"demo"`

	Public    Listener  `yaml:"public"`
	Internal  Listener  `yaml:"internal"`
	Database  Database  `yaml:"database"`
	Yivi      Yivi      `yaml:"yivi"`
	Secrets   Secrets   `yaml:"secrets"`
	Telephony Telephony `yaml:"telephony"`
	Agents    Agents    `yaml:"agents"`
	Retention Retention `yaml:"retention"`
	Log       Log       `yaml:"log"`
	// Organisations are the organisations a shared platform serves; none:
	// one, veilig.DefaultOrganisation (docs/organisations.md).
	Organisations []Organisation `yaml:"organisations"`
	Purposes      []Purpose      `yaml:"purposes"`
}

// Listener is one HTTP listener.
type Listener struct {
	Listen string `yaml:"listen"` // host:port
	// URL is the base URL people and apps reach this listener at (behind a
	// proxy it differs from Listen). Public only.
	URL     string `yaml:"url"`
	TLSCert string `yaml:"tls_cert"` // PEM files; both or neither
	TLSKey  string `yaml:"tls_key"`
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// PProf serves Go's profiler at /debug/pprof/ (internal listener only),
	// to find what bounds throughput on a live system.
	PProf bool `yaml:"pprof"`
}

// Database selects the store: "sqlite:<path>" or a postgres:// URL.
type Database struct {
	URL string `yaml:"url"`
}

// Yivi selects the Yivi server.
type Yivi struct {
	Mode string `yaml:"mode"` // embedded (default) or external
	// The schemes folder (embedded: what the server verifies against;
	// external: only for attribute labels) and the issuer private keys
	// folder (only to issue, i.e. the demo). Empty with demo on: the
	// bundled demo scheme. Schemes are never downloaded.
	SchemesPath           string `yaml:"schemes_path"`
	IssuerPrivateKeysPath string `yaml:"issuer_private_keys_path"`
	// Production makes the embedded server refuse developer-mode clients.
	Production bool `yaml:"production"`
	// External: the requestor API of a Yivi server and its token.
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// Secrets are base64 keys. Empty in a file-less run: generated once into
// <data_dir>/secrets.yaml (mode 0600) and reused.
type Secrets struct {
	// SecretKey (>= 32 bytes) keys the code and caller hashes. All replicas
	// must share it.
	SecretKey string `yaml:"secret_key"`
	// EncryptionKeys are AES-256 keys by id; ActiveKey seals new data.
	EncryptionKeys map[string]string `yaml:"encryption_keys"`
	ActiveKey      string            `yaml:"active_key"`
}

// Telephony configures the telephony API on the internal listener.
type Telephony struct {
	// Secret signs requests (HMAC-SHA256); >= 32 bytes, base64.
	Secret            string        `yaml:"secret"`
	ReplayWindow      time.Duration `yaml:"replay_window"`
	MissPerCaller     int           `yaml:"miss_per_caller"`
	MissWindow        time.Duration `yaml:"miss_window"`
	MissOverall       int           `yaml:"miss_overall"`
	MissOverallWindow time.Duration `yaml:"miss_overall_window"`
	// Twilio turns on the Twilio webhooks on the public listener; off
	// while auth_token is empty (docs/telephony.md).
	Twilio Twilio `yaml:"twilio"`
	// Asterisk turns on the FastAGI server; off while fastagi_listen is
	// empty (docs/telephony.md).
	Asterisk Asterisk `yaml:"asterisk"`
}

// Twilio configures the Twilio Programmable Voice webhooks.
type Twilio struct {
	// AuthToken is the Twilio account's auth token (32 hex digits): the
	// key of the X-Twilio-Signature every webhook request must carry.
	AuthToken string `yaml:"auth_token"`
	// PublicURL is the base URL Twilio requests, exactly as configured on
	// the number (the signature covers it); default public.url.
	PublicURL string `yaml:"public_url"`
	// Where callers go: a queue (<Enqueue>; through TaskRouter with
	// workflow_sid) or a <Dial> target (+number, sip:URI or
	// client:identity). Exactly one of enqueue and dial.
	Enqueue           string `yaml:"enqueue"`
	UnverifiedEnqueue string `yaml:"unverified_enqueue"` // default: enqueue
	WorkflowSID       string `yaml:"workflow_sid"`
	Dial              string `yaml:"dial"`
	// Retries is how often a caller whose code matched nothing may type it
	// again before going on unverified.
	Retries int `yaml:"retries"`
	// NumDigits is the <Gather numDigits>; 0: the longest code length of
	// the purposes.
	NumDigits     int           `yaml:"num_digits"`
	GatherTimeout time.Duration `yaml:"gather_timeout"`
	Language      string        `yaml:"language"` // <Say language>
	Voice         string        `yaml:"voice"`    // <Say voice>; empty: Twilio's default
}

// Asterisk configures the FastAGI server the dialplan calls.
type Asterisk struct {
	// FastAGIListen is host:port of the FastAGI server; empty: off.
	FastAGIListen string `yaml:"fastagi_listen"`
	// FastAGIAllow are the networks Asterisk connects from (FastAGI has no
	// authentication); default loopback only.
	FastAGIAllow []string `yaml:"fastagi_allow"`
}

// Agents configures agent sign-in.
type Agents struct {
	SessionIdle    time.Duration `yaml:"session_idle"`
	SessionMax     time.Duration `yaml:"session_max"`
	SecureCookies  bool          `yaml:"secure_cookies"`
	LoginPerMinute int           `yaml:"login_per_minute"`
	MaxContact     time.Duration `yaml:"max_contact"`
	// OIDC turns on single sign-on for the agent console; off while
	// issuer is empty. Accounts must still be made by an admin.
	OIDC OIDC `yaml:"oidc"`
	// URLTemplates link a verified attribute to another system, by
	// attribute id: "https://zaken.example.nl/persoon/{value}".
	URLTemplates map[string]string `yaml:"url_templates"`
}

// OIDC configures single sign-on with one OpenID provider (see
// docs/agent-console.md).
type OIDC struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURL defaults to <public.url>/api/v1/agent/oidc/callback.
	RedirectURL string   `yaml:"redirect_url"`
	Scopes      []string `yaml:"scopes"` // besides openid; default profile, email
	// UsernameClaim holds the console username; default preferred_username.
	UsernameClaim string `yaml:"username_claim"`
	Label         string `yaml:"label"` // the provider's name on the sign-in button
}

// Retention configures the maintenance job.
type Retention struct {
	Interval time.Duration `yaml:"interval"`
	Audit    time.Duration `yaml:"audit"`
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // json or text
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// Purpose is a purpose as configured; see veilig.Purpose.
type Purpose struct {
	ID             string            `yaml:"id"`
	Organisation   string            `yaml:"organisation"` // its organisation's id; required when organisations are configured
	Labels         map[string]string `yaml:"labels"`
	Disclose       [][][]string      `yaml:"disclose"`
	Channel        string            `yaml:"channel"`
	MinAssurance   string            `yaml:"min_assurance"`
	Means          []string          `yaml:"means"`
	Phone          *Phone            `yaml:"phone"`
	SessionTTL     time.Duration     `yaml:"session_ttl"`
	Retention      time.Duration     `yaml:"retention"`
	AllowedOrigins []string          `yaml:"allowed_origins"`

	// The phone settings' names of the first release, still read: a
	// purpose gives these or phone:, not both (Legacy).
	PhoneNumber string `yaml:"phone_number"`
	CodeLength  int    `yaml:"code_length"`
}

// Phone is a purpose's phone section; see telephony.PhoneSettings.
type Phone struct {
	Number     string `yaml:"number"`
	CodeLength int    `yaml:"code_length"`
}

// Legacy names the first release's keys the purpose uses, each with the
// key that replaces it, for the notice at start-up.
func (p Purpose) Legacy() map[string]string {
	old := map[string]string{}
	if p.PhoneNumber != "" {
		old["phone_number"] = "phone.number"
	}
	if p.CodeLength != 0 {
		old["code_length"] = "phone.code_length"
	}
	return old
}

// Default returns the configuration used with no file: everything on this
// machine, demo on.
func Default() Config {
	return Config{
		DataDir:  "veilig-data",
		Demo:     true,
		Public:   Listener{Listen: "127.0.0.1:8080"},
		Internal: Listener{Listen: "127.0.0.1:8081"},
		Yivi:     Yivi{Mode: "embedded"},
		Telephony: Telephony{
			ReplayWindow: 5 * time.Minute, MissPerCaller: 5, MissWindow: 15 * time.Minute,
			MissOverall: 60, MissOverallWindow: time.Minute,
			Twilio: Twilio{Retries: 1, GatherTimeout: 5 * time.Second, Language: "nl-NL", Voice: "Polly.Lotte"},
		},
		Agents: Agents{SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, SecureCookies: true,
			LoginPerMinute: 10, MaxContact: 12 * time.Hour},
		Retention: Retention{Interval: time.Minute, Audit: 366 * 24 * time.Hour},
		Log:       Log{Format: "text", Level: "info"},
	}
}

// ProblemList is every problem found, each "key: message".
type ProblemList []string

func (p ProblemList) Error() string {
	return "configuration has " + strconv.Itoa(len(p)) + " problem(s):\n  " + strings.Join(p, "\n  ")
}

// Load reads path (none if "") over the defaults, applies the environment
// (environ as from os.Environ) and checks the result. The error is a
// ProblemList naming every problem.
func Load(path string, environ []string) (*Config, error) {
	c := Default()
	var problems ProblemList
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read configuration: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			problems = append(problems, path+": "+err.Error())
		} else if tp := typeProblems(&doc, reflect.TypeFor[Config]()); len(tp) > 0 {
			problems = append(problems, tp...)
		} else {
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
				problems = append(problems, path+": "+err.Error())
			}
		}
	}
	problems = append(problems, applyEnv(&c, environ)...)
	if len(problems) == 0 {
		problems = append(problems, c.problems()...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return &c, nil
}

// applyEnv sets fields from VEILIG_* variables, named after the YAML key path
// in upper case with "_" between levels (VEILIG_TELEPHONY_SECRET). Lists take
// comma-separated values; maps and purposes come from the file only.
func applyEnv(c *Config, environ []string) []string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "VEILIG_") {
			env[k] = v
		}
	}
	var problems []string
	used := map[string]bool{}
	var walk func(v reflect.Value, prefix, keyPath string)
	walk = func(v reflect.Value, prefix, keyPath string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			name := prefix + "_" + strings.ToUpper(tag)
			key := strings.TrimPrefix(keyPath+"."+tag, ".")
			f := v.Field(i)
			if f.Kind() == reflect.Struct {
				walk(f, name, key)
				continue
			}
			val, ok := env[name]
			if !ok {
				continue
			}
			used[name] = true
			if err := setFromString(f, val); err != nil {
				problems = append(problems, key+" (from "+name+"): "+err.Error())
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "VEILIG", "")
	var unknown []string
	for k := range env {
		if !used[k] && !strings.HasPrefix(k, "VEILIG_TEST_") && k != "VEILIG_CONFIG" {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		problems = append(problems, k+": no such setting")
	}
	return problems
}

func setFromString(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration such as 15m")
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false")
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not a whole number")
		}
		f.SetInt(int64(n))
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("can only be set in the configuration file")
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("can only be set in the configuration file")
	}
	return nil
}

// Check validates c (as Load does) and fills derived defaults; the error is
// a ProblemList.
func (c *Config) Check() error {
	if p := c.problems(); len(p) > 0 {
		return p
	}
	return nil
}

var claimPattern = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,64}$`)

// Domain returns the purpose with defaults filled in.
func (p Purpose) Domain() *veilig.Purpose {
	vp := &veilig.Purpose{
		ID: p.ID, OrgID: p.Organisation, Labels: p.Labels, Disclose: p.Disclose,
		Channel: veilig.Channel(p.Channel), MinAssurance: veilig.Assurance(p.MinAssurance),
		SessionTTL: p.SessionTTL, Retention: p.Retention, AllowedOrigins: p.AllowedOrigins,
	}
	for _, m := range p.Means {
		vp.Means = append(vp.Means, veilig.Means(m))
	}
	if vp.Channel == "" {
		vp.Channel = veilig.ChannelPhone
	}
	if vp.Channel == veilig.ChannelPhone {
		ps := &telephony.PhoneSettings{Number: p.PhoneNumber, CodeLength: p.CodeLength}
		if p.Phone != nil {
			ps.Number = cmp.Or(p.Phone.Number, ps.Number)
			ps.CodeLength = cmp.Or(p.Phone.CodeLength, ps.CodeLength)
		}
		ps.CodeLength = cmp.Or(ps.CodeLength, veilig.DefaultCodeLength)
		vp.ChannelSettings = ps
	}
	if vp.MinAssurance == "" {
		vp.MinAssurance = veilig.AssuranceSubstantial
	}
	if vp.SessionTTL == 0 {
		vp.SessionTTL = veilig.DefaultSessionTTL
	}
	if vp.Retention == 0 {
		vp.Retention = veilig.DefaultRetention
	}
	return vp
}
