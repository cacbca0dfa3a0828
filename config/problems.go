package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// problems returns every problem with c, each naming its key, section by
// section in the order of the reference (docs/configuration.md). It also
// fills in what depends on other settings (the SQLite path, the public
// URL without its trailing slash).
func (c *Config) problems() ProblemList {
	var k checker
	c.listenerProblems(&k)
	c.databaseProblems(&k)
	c.yiviProblems(&k)
	c.secretProblems(&k)
	c.telephonyProblems(&k)
	c.agentProblems(&k)
	c.retentionAndLogProblems(&k)
	c.organisationProblems(&k)
	c.purposeProblems(&k)
	return k.p
}

// checker collects problems.
type checker struct{ p ProblemList }

func (k *checker) add(key, msg string, args ...any) {
	k.p = append(k.p, key+": "+fmt.Sprintf(msg, args...))
}

// listenerProblems checks the data folder and the two listeners.
func (c *Config) listenerProblems(k *checker) {
	if c.DataDir == "" {
		k.add("data_dir", "is required")
	}
	if c.Public.Listen == "" {
		k.add("public.listen", "is required")
	}
	if c.Internal.Listen == "" {
		k.add("internal.listen", "is required")
	}
	if c.Public.Listen != "" && c.Public.Listen == c.Internal.Listen && !strings.HasSuffix(c.Public.Listen, ":0") {
		k.add("internal.listen", "must differ from public.listen: the telephony API and metrics must not be public")
	}
	// Both listeners share one type; what only one of them uses is
	// refused on the other rather than accepted and ignored.
	if c.Internal.URL != "" {
		k.add("internal.url", "is not used: only the public listener has a URL people reach")
	}
	if len(c.Internal.TrustedProxies) > 0 {
		k.add("internal.trusted_proxies", "is not used: only the public listener is behind a proxy")
	}
	if c.Public.PProf {
		k.add("public.pprof", "is not allowed: the profiler is served on the internal listener only (internal.pprof)")
	}
	for _, l := range []struct {
		key string
		l   *Listener
	}{{"public", &c.Public}, {"internal", &c.Internal}} {
		if (l.l.TLSCert == "") != (l.l.TLSKey == "") {
			k.add(l.key+".tls_cert", "tls_cert and tls_key go together")
		}
	}
	// An empty URL means "what we listen on", filled in once listening
	// (so port 0 works in tests).
	if u, err := url.Parse(c.Public.URL); c.Public.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/")) {
		k.add("public.url", "must be an http(s) base URL without a path, such as https://contact.example.nl")
	}
	c.Public.URL = strings.TrimSuffix(c.Public.URL, "/")
}

// databaseProblems checks the store.
func (c *Config) databaseProblems(k *checker) {
	switch {
	case c.Database.URL == "":
		c.Database.URL = "sqlite:" + c.DataDir + "/veilig.db"
	case strings.HasPrefix(c.Database.URL, "sqlite:"):
		if strings.TrimPrefix(c.Database.URL, "sqlite:") == "" {
			k.add("database.url", "sqlite: needs a file path")
		}
	case strings.HasPrefix(c.Database.URL, "postgres://"), strings.HasPrefix(c.Database.URL, "postgresql://"):
		if _, err := url.Parse(c.Database.URL); err != nil {
			k.add("database.url", "is not a valid URL")
		}
	default:
		k.add("database.url", "must start with sqlite: or postgres://")
	}
}

// yiviProblems checks the Yivi server.
func (c *Config) yiviProblems(k *checker) {
	switch c.Yivi.Mode {
	case "embedded":
		if c.Yivi.SchemesPath == "" && !c.Demo {
			k.add("yivi.schemes_path", "is required for the embedded server when demo is off (schemes are never downloaded)")
		}
		if c.Yivi.URL != "" || c.Yivi.Token != "" {
			k.add("yivi.url", "url and token are for mode external")
		}
	case "external":
		if u, err := url.Parse(c.Yivi.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			k.add("yivi.url", "must be the requestor URL of the Yivi server, such as https://yivi.example.nl")
		}
		if c.Yivi.Token == "" {
			k.add("yivi.token", "is required in mode external")
		}
	default:
		k.add("yivi.mode", "must be embedded or external")
	}
}

// secretProblems checks the keys, which replicas on PostgreSQL must share.
func (c *Config) secretProblems(k *checker) {
	if c.Secrets.SecretKey != "" {
		if b, err := base64.StdEncoding.DecodeString(c.Secrets.SecretKey); err != nil || len(b) < 32 {
			k.add("secrets.secret_key", "must be base64 of at least 32 bytes")
		}
	}
	if len(c.Secrets.EncryptionKeys) > 0 {
		if _, ok := c.Secrets.EncryptionKeys[c.Secrets.ActiveKey]; !ok {
			k.add("secrets.active_key", "must name one of secrets.encryption_keys")
		}
		for id, key := range c.Secrets.EncryptionKeys {
			if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 32 {
				k.add("secrets.encryption_keys."+id, "must be base64 of exactly 32 bytes")
			}
		}
	} else if c.Secrets.ActiveKey != "" {
		k.add("secrets.encryption_keys", "is required with active_key")
	}
	if strings.HasPrefix(c.Database.URL, "postgres") {
		// Replicas must share these; generating them per process would
		// make codes and sealed data unreadable on every other replica.
		if c.Secrets.SecretKey == "" {
			k.add("secrets.secret_key", "is required with PostgreSQL: every replica must share it")
		}
		if len(c.Secrets.EncryptionKeys) == 0 {
			k.add("secrets.encryption_keys", "are required with PostgreSQL: every replica must share them")
		}
		if c.Telephony.Secret == "" {
			k.add("telephony.secret", "is required with PostgreSQL: every replica must share it")
		}
	}
	if c.Telephony.Secret != "" {
		if b, err := base64.StdEncoding.DecodeString(c.Telephony.Secret); err != nil || len(b) < 32 {
			k.add("telephony.secret", "must be base64 of at least 32 bytes")
		}
	}
}

// telephonyProblems checks the telephony API and its platforms.
func (c *Config) telephonyProblems(k *checker) {
	if c.Telephony.ReplayWindow < 10*time.Second || c.Telephony.ReplayWindow > time.Hour {
		k.add("telephony.replay_window", "must be between 10s and 1h")
	}
	if c.Telephony.MissPerCaller < 0 || c.Telephony.MissOverall < 0 {
		k.add("telephony.miss_per_caller", "limits must not be negative (0 turns a limit off)")
	}
	if c.Telephony.MissPerCaller > 0 && c.Telephony.MissWindow <= 0 {
		k.add("telephony.miss_window", "must be positive")
	}
	if c.Telephony.MissOverall > 0 && c.Telephony.MissOverallWindow <= 0 {
		k.add("telephony.miss_overall_window", "must be positive")
	}
	k.p = append(k.p, c.Telephony.Twilio.problems("telephony.twilio.")...)
	k.p = append(k.p, c.Telephony.Asterisk.problems(c, "telephony.asterisk.")...)
}

// agentProblems checks agents, their sessions and single sign-on.
func (c *Config) agentProblems(k *checker) {
	if c.Agents.SessionIdle < time.Minute || c.Agents.SessionMax < c.Agents.SessionIdle {
		k.add("agents.session_idle", "must be at least 1m and at most agents.session_max")
	}
	if c.Agents.LoginPerMinute < 1 {
		k.add("agents.login_per_minute", "must be at least 1")
	}
	if c.Agents.MaxContact < time.Minute {
		k.add("agents.max_contact", "must be at least 1m")
	}
	c.Agents.OIDC.problems(k, "agents.oidc.", "/api/v1/agent/oidc/callback")
	for _, msg := range veilig.LinkTemplates(c.Agents.URLTemplates).Validate() {
		k.p = append(k.p, "agents.url_templates."+msg)
	}
}

// retentionAndLogProblems checks retention and logging.
func (c *Config) retentionAndLogProblems(k *checker) {
	if c.Retention.Interval < time.Second {
		k.add("retention.interval", "must be at least 1s")
	}
	if c.Retention.Audit < 24*time.Hour {
		k.add("retention.audit", "must be at least 24h")
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		k.add("log.format", "must be json or text")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		k.add("log.level", "must be debug, info, warn or error")
	}
}

// purposeProblems checks the purposes.
func (c *Config) purposeProblems(k *checker) {
	if len(c.Purposes) == 0 && !c.Demo {
		k.add("purposes", "at least one purpose is required when demo is off")
	}
	seen := map[string]bool{}
	for i := range c.Purposes {
		vp := c.Purposes[i].Domain()
		// Name the purpose by its id when that is usable as a key, else by position.
		key := fmt.Sprintf("purposes[%d]", i)
		if veilig.ValidPurposeID(c.Purposes[i].ID) {
			key = "purposes." + c.Purposes[i].ID
		}
		if seen[vp.ID] {
			k.add(key+".id", "is used twice")
		}
		seen[vp.ID] = true
		legacy := c.Purposes[i].Legacy()
		for _, msg := range vp.Validate() {
			// A problem with a value given under its first release's name
			// names that key, the one the operator has to change.
			for old, now := range legacy {
				if rest, ok := strings.CutPrefix(msg, now+":"); ok {
					msg = old + ":" + rest
				}
			}
			k.p = append(k.p, key+"."+msg)
		}
		c.Purposes[i].channelProblems(k, key)
		c.purposeOrganisationProblems(k, &c.Purposes[i], key)
	}
}

// channelProblems checks a purpose's channel, its settings and its means:
// what the purpose itself cannot know is served in this version.
func (p *Purpose) channelProblems(k *checker, key string) {
	switch p.Channel {
	case "", string(veilig.ChannelPhone):
		if p.Phone != nil && p.PhoneNumber != "" && p.Phone.Number != "" {
			k.add(key+".phone_number", "is the first release's name of phone.number: give only phone.number")
		}
		if p.Phone != nil && p.CodeLength != 0 && p.Phone.CodeLength != 0 {
			k.add(key+".code_length", "is the first release's name of phone.code_length: give only phone.code_length")
		}
	default:
		k.add(key+".channel", "must be phone, the only channel served in this version")
	}
	for _, m := range p.Means {
		if m != string(veilig.MeansYivi) {
			k.add(key+".means", "%q is not a means of proof served in this version (yivi)", m)
		}
	}
}

// problems checks single sign-on settings under prefix (agents.oidc., or
// an organisation's); callback is the path its redirect URL ends in.
func (o *OIDC) problems(k *checker, prefix, callback string) {
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != "" {
			k.add(prefix+"issuer", "is required with the other %s settings", strings.TrimSuffix(prefix, "."))
		}
		return
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		k.add(prefix+"issuer", "must be the provider's issuer URL, such as https://login.example.nl")
	}
	if o.ClientID == "" {
		k.add(prefix+"client_id", "is required with %sissuer", prefix)
	}
	if u, err := url.Parse(o.RedirectURL); o.RedirectURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		k.add(prefix+"redirect_url", "must be an http(s) URL ending in %s", callback)
	}
	if o.UsernameClaim != "" && !claimPattern.MatchString(o.UsernameClaim) {
		k.add(prefix+"username_claim", "is not a claim name")
	}
}
