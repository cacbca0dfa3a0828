package config

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
)

// Organisation is an organisation as configured; see veilig.Organisation.
// A configuration that names none serves one, veilig.DefaultOrganisation;
// name the first one "default" to keep what a single-organisation
// deployment stored before (its sessions, accounts and audit trail).
type Organisation struct {
	ID             string            `yaml:"id"`
	Names          map[string]string `yaml:"names"`
	Branding       Branding          `yaml:"branding"`
	AllowedOrigins []string          `yaml:"allowed_origins"`
	// Secrets are the organisation's own encryption keys: its sessions'
	// attributes and caller numbers are sealed with them and no other
	// organisation's keys open them.
	Secrets   OrganisationSecrets   `yaml:"secrets"`
	Retention OrganisationRetention `yaml:"retention"`
	// Telephony are the organisation's own telephony credentials: what
	// reaches veilig with them reports calls on its lines only.
	Telephony OrganisationTelephony `yaml:"telephony"`
	// OIDC is the organisation's own single sign-on provider: it signs in
	// the organisation's accounts only, with the callback
	// <public.url>/api/v1/agent/oidc/<id>/callback.
	OIDC OIDC `yaml:"oidc"`
}

// OrganisationTelephony are an organisation's own telephony credentials.
type OrganisationTelephony struct {
	// Secret signs its adapters' requests to the telephony API (its own
	// Amazon Connect Lambda, say); base64, >= 32 bytes, its own.
	Secret string `yaml:"secret"`
	// Twilio is its own Twilio account, with webhooks under
	// /twilio/<id>/; the rest of telephony.twilio (prompts, retries,
	// timeouts) applies as for the platform's.
	Twilio OrganisationTwilio `yaml:"twilio"`
	// Asterisk is its own Asterisk: a FastAGI listener of its own.
	Asterisk Asterisk `yaml:"asterisk"`
}

// OrganisationTwilio is an organisation's Twilio account and where its
// callers go; see Twilio.
type OrganisationTwilio struct {
	AuthToken         string `yaml:"auth_token"`
	Enqueue           string `yaml:"enqueue"`
	UnverifiedEnqueue string `yaml:"unverified_enqueue"`
	WorkflowSID       string `yaml:"workflow_sid"`
	Dial              string `yaml:"dial"`
}

// TwilioSettings are the organisation's Twilio settings: its account's over the
// platform's telephony.twilio; AuthToken "" when it has none.
func (o *Organisation) TwilioSettings(platform Twilio) Twilio {
	t := platform
	ot := o.Telephony.Twilio
	t.AuthToken, t.Enqueue, t.UnverifiedEnqueue, t.WorkflowSID, t.Dial = ot.AuthToken, ot.Enqueue, ot.UnverifiedEnqueue, ot.WorkflowSID, ot.Dial
	return t
}

// Branding is an organisation's look in the widget.
type Branding struct {
	Logo   string `yaml:"logo"`
	Colour string `yaml:"colour"`
}

// OrganisationSecrets are an organisation's AES-256 keys by id; ActiveKey
// seals new data.
type OrganisationSecrets struct {
	EncryptionKeys map[string]string `yaml:"encryption_keys"`
	ActiveKey      string            `yaml:"active_key"`
}

// OrganisationRetention is how long an organisation's audit trail is kept.
type OrganisationRetention struct {
	Audit time.Duration `yaml:"audit"` // 0: retention.audit
	// KeepAuditOnRemoval keeps the audit trail (until Audit) when the
	// organisation is removed (veilig org remove).
	KeepAuditOnRemoval bool `yaml:"keep_audit_on_removal"`
}

// Domain returns the organisation as the service knows it.
func (o Organisation) Domain() *veilig.Organisation {
	return &veilig.Organisation{
		ID: o.ID, Names: o.Names,
		Branding:           veilig.Branding{Logo: o.Branding.Logo, Colour: o.Branding.Colour},
		AllowedOrigins:     o.AllowedOrigins,
		AuditRetention:     o.Retention.Audit,
		KeepAuditOnRemoval: o.Retention.KeepAuditOnRemoval,
	}
}

// Organisation returns the configured organisation id, nil if none is.
func (c *Config) Organisation(id string) *Organisation {
	for i := range c.Organisations {
		if c.Organisations[i].ID == id {
			return &c.Organisations[i]
		}
	}
	return nil
}

// OrganisationIDs are the ids of the organisations served: those
// configured, or the one implicit default organisation.
func (c *Config) OrganisationIDs() []string {
	if len(c.Organisations) == 0 {
		return []string{veilig.DefaultOrganisation}
	}
	ids := make([]string, len(c.Organisations))
	for i, o := range c.Organisations {
		ids[i] = o.ID
	}
	return ids
}

// organisationProblems checks the organisations and their keys, of which
// none may be another's or the deployment's (an organisation without keys
// of its own gets keys derived from the deployment's: keyring.Derive).
func (c *Config) organisationProblems(k *checker) {
	seen := map[string]bool{}
	owner := map[string]string{} // key material -> the key's setting
	for id, key := range c.Secrets.EncryptionKeys {
		owner[key] = "secrets.encryption_keys." + id
	}
	if c.Telephony.Secret != "" {
		owner[c.Telephony.Secret] = "telephony.secret"
	}
	if t := c.Telephony.Twilio.AuthToken; t != "" {
		owner["twilio:"+t] = "telephony.twilio.auth_token"
	}
	for i := range c.Organisations {
		o := &c.Organisations[i]
		key := fmt.Sprintf("organisations[%d]", i)
		if veilig.ValidOrganisationID(o.ID) {
			key = "organisations." + o.ID
		}
		if seen[o.ID] {
			k.add(key+".id", "is used twice")
		}
		seen[o.ID] = true
		for _, msg := range o.Domain().Validate() {
			k.p = append(k.p, key+"."+msg)
		}
		s := o.Secrets
		if len(s.EncryptionKeys) > 0 {
			if _, ok := s.EncryptionKeys[s.ActiveKey]; !ok {
				k.add(key+".secrets.active_key", "must name one of its secrets.encryption_keys")
			}
			for _, id := range slices.Sorted(maps.Keys(s.EncryptionKeys)) {
				material := s.EncryptionKeys[id]
				if b, err := base64.StdEncoding.DecodeString(material); err != nil || len(b) != 32 {
					k.add(key+".secrets.encryption_keys."+id, "must be base64 of exactly 32 bytes")
				} else if other, shared := owner[material]; shared {
					k.add(key+".secrets.encryption_keys."+id, "is the same key as %s: an organisation's keys must be its own", other)
				}
				owner[material] = key + ".secrets.encryption_keys." + id
			}
		} else if s.ActiveKey != "" {
			k.add(key+".secrets.encryption_keys", "is required with active_key")
		}
		c.organisationTelephonyProblems(k, o, key, owner)
		o.OIDC.problems(k, key+".oidc.", "/api/v1/agent/oidc/"+o.ID+"/callback")
	}
}

// organisationTelephonyProblems checks an organisation's telephony
// credentials: valid, and none another's or the platform's (owner: the
// setting each key or secret seen so far is under).
func (c *Config) organisationTelephonyProblems(k *checker, o *Organisation, key string, owner map[string]string) {
	if sec := o.Telephony.Secret; sec != "" {
		if b, err := base64.StdEncoding.DecodeString(sec); err != nil || len(b) < 32 {
			k.add(key+".telephony.secret", "must be base64 of at least 32 bytes")
		} else if other, shared := owner[sec]; shared {
			k.add(key+".telephony.secret", "is the same as %s: an organisation's telephony secret must be its own", other)
		}
		owner[sec] = key + ".telephony.secret"
	}
	if tw := o.Telephony.Twilio; tw != (OrganisationTwilio{}) {
		t := o.TwilioSettings(c.Telephony.Twilio)
		k.p = append(k.p, t.problems(key+".telephony.twilio.")...)
		if tw.AuthToken != "" {
			if other, shared := owner["twilio:"+tw.AuthToken]; shared {
				k.add(key+".telephony.twilio.auth_token", "is also %s: an organisation's Twilio account must be its own", other)
			}
			owner["twilio:"+tw.AuthToken] = key + ".telephony.twilio.auth_token"
		}
	}
	if a := o.Telephony.Asterisk; a.FastAGIListen != "" || len(a.FastAGIAllow) > 0 {
		if a.FastAGIListen == "" {
			k.add(key+".telephony.asterisk.fastagi_listen", "is required with fastagi_allow: the organisation's Asterisk has a FastAGI listener of its own")
		}
		k.p = append(k.p, a.problems(c, key+".telephony.asterisk.")...)
		if a.FastAGIListen != "" && !strings.HasSuffix(a.FastAGIListen, ":0") {
			if other, shared := owner["fastagi:"+a.FastAGIListen]; shared || a.FastAGIListen == c.Telephony.Asterisk.FastAGIListen {
				k.add(key+".telephony.asterisk.fastagi_listen", "is also %s: each Asterisk has a listener of its own", cmp.Or(other, "telephony.asterisk.fastagi_listen"))
			}
			owner["fastagi:"+a.FastAGIListen] = key + ".telephony.asterisk.fastagi_listen"
		}
	}
}

// purposeOrganisationProblems checks the organisation a purpose names.
func (c *Config) purposeOrganisationProblems(k *checker, p *Purpose, key string) {
	switch {
	case len(c.Organisations) == 0 && p.Organisation != "":
		k.add(key+".organisation", "names %q, but no organisations are configured (organisations:)", p.Organisation)
	case len(c.Organisations) == 0:
	case p.Organisation == "":
		k.add(key+".organisation", "is required when organisations are configured: one of %v", c.OrganisationIDs())
	case c.Organisation(p.Organisation) == nil:
		k.add(key+".organisation", "%q is not a configured organisation: one of %v", p.Organisation, c.OrganisationIDs())
	default:
		org := c.Organisation(p.Organisation)
		for _, origin := range p.AllowedOrigins {
			if len(org.AllowedOrigins) > 0 && !slices.Contains(org.AllowedOrigins, origin) {
				k.add(key+".allowed_origins", "%q is not among organisation %s's allowed_origins", origin, org.ID)
			}
		}
	}
}

// DomainPurposes are the configured purposes as the service knows them:
// each of its organisation, with the organisation's allowed origins when
// it names none of its own.
func (c *Config) DomainPurposes() []*veilig.Purpose {
	out := make([]*veilig.Purpose, 0, len(c.Purposes))
	for _, p := range c.Purposes {
		vp := p.Domain()
		if org := c.Organisation(p.Organisation); org != nil && len(vp.AllowedOrigins) == 0 {
			vp.AllowedOrigins = org.AllowedOrigins
		}
		out = append(out, vp)
	}
	return out
}

// DomainOrganisations are the configured organisations as the service
// knows them; none when the configuration names none.
func (c *Config) DomainOrganisations() []*veilig.Organisation {
	var out []*veilig.Organisation
	for _, o := range c.Organisations {
		out = append(out, o.Domain())
	}
	return out
}
