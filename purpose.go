package veilig

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Purpose is one reason a person contacts the organisation ("a question about
// your tax assessment"), with what must be proven for it, by which means,
// and the channel through which the person then reaches an agent.
// Purposes come from configuration only; they are never changed at run time.
type Purpose struct {
	ID string // stable identifier used by the widget: lower case, digits, '-'; unique on the platform
	// OrgID is the organisation the purpose is of; "" is
	// DefaultOrganisation. Its sessions are that organisation's.
	OrgID  string
	Labels map[string]string // human name by language ("nl", "en"); both required

	// Disclose is the Yivi condiscon: a conjunction of disjunctions of inner
	// conjunctions of attribute type ids, so alternatives are possible.
	Disclose [][][]string

	Channel      Channel   // the channel this purpose serves
	MinAssurance Assurance // the least assurance a means must give
	Means        []Means   // the means of proof accepted; empty: Yivi only

	// ChannelSettings are the purpose's settings for its channel, in the
	// channel's own type (the phone: telephony.PhoneSettings); the channel
	// checks them (ChannelService.CheckPurpose).
	ChannelSettings ChannelSettings

	SessionTTL time.Duration // how long the proof and the connection's secret are valid after the session starts
	Retention  time.Duration // how long ended-session records (never attributes) are kept

	AllowedOrigins []string // web origins allowed to start sessions (CORS)
}

// Defaults applied by configuration when a purpose leaves them out.
const (
	DefaultSessionTTL = 15 * time.Minute
	DefaultRetention  = 24 * time.Hour
)

var (
	purposeIDPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	attributeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
)

// Validate returns every problem with p, each prefixed with the field it is
// about, so configuration can report them all at once.
func (p *Purpose) Validate() []string {
	var problems []string
	add := func(field, msg string) { problems = append(problems, field+": "+msg) }
	if !purposeIDPattern.MatchString(p.ID) {
		add("id", "must be 1-63 lower-case letters, digits or '-'")
	}
	for _, lang := range []string{"nl", "en"} {
		if strings.TrimSpace(p.Labels[lang]) == "" {
			add("labels."+lang, "is required")
		}
	}
	if len(p.Disclose) == 0 {
		add("disclose", "must list at least one attribute")
	}
	for _, discon := range p.Disclose {
		if len(discon) == 0 {
			add("disclose", "every disjunction needs at least one alternative")
		}
		for _, con := range discon {
			if len(con) == 0 {
				add("disclose", "optional (empty) alternatives are not allowed: every attribute must be proven")
			}
			for _, id := range con {
				if !attributeIDPattern.MatchString(id) {
					add("disclose", "attribute "+quote(id)+" is not of the form scheme.issuer.credential.attribute")
				}
			}
		}
	}
	if !p.Channel.Valid() {
		add("channel", "must name a channel, such as phone")
	} else if p.ChannelSettings != nil {
		for _, msg := range p.ChannelSettings.Problems() {
			problems = append(problems, string(p.Channel)+"."+msg)
		}
	}
	if !p.MinAssurance.Valid() {
		add("min_assurance", "must be low, substantial or high")
	}
	if p.SessionTTL < time.Minute || p.SessionTTL > 24*time.Hour {
		add("session_ttl", "must be between 1m and 24h")
	}
	if p.Retention < 0 || p.Retention > 366*24*time.Hour {
		add("retention", "must be between 0 and 366 days")
	}
	for _, o := range p.AllowedOrigins {
		if !ValidOrigin(o) {
			add("allowed_origins", quote(o)+" is not an origin such as https://www.example.nl")
		}
	}
	return problems
}

// ValidPurposeID reports whether id can name a purpose.
func ValidPurposeID(id string) bool { return purposeIDPattern.MatchString(id) }

// Label returns the purpose's name in lang, falling back to Dutch.
func (p *Purpose) Label(lang string) string {
	if l, ok := p.Labels[lang]; ok && l != "" {
		return l
	}
	return p.Labels["nl"]
}

// AllowsOrigin reports whether a browser page at origin may start sessions.
func (p *Purpose) AllowsOrigin(origin string) bool {
	for _, o := range p.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// AttributeIDs returns every attribute type the purpose may ask for, once.
func (p *Purpose) AttributeIDs() []string {
	seen := map[string]bool{}
	var ids []string
	for _, discon := range p.Disclose {
		for _, con := range discon {
			for _, id := range con {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$`)

// ValidOrigin reports whether o is a web origin (scheme://host[:port]) or "*".
func ValidOrigin(o string) bool { return o == "*" || originPattern.MatchString(o) }

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "\"" + s + "\""
}

// AcceptsMeans reports whether a proof by m may serve this purpose.
func (p *Purpose) AcceptsMeans(m Means) bool {
	if len(p.Means) == 0 {
		return m == MeansYivi
	}
	return slices.Contains(p.Means, m)
}
