package veilig

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Organisation is one organisation a deployment serves (a municipality, a
// care organisation): its purposes, agents, contacts and audit trail are
// its own and no one of another organisation sees them. A deployment that
// names none serves one, DefaultOrganisation, with no setting at all.
type Organisation struct {
	ID    string            // lower case, digits, '-'; stable: stored with every session and agent
	Names map[string]string // by language ("nl", "en"); both required

	// Branding is how the widget presents the organisation to citizens.
	Branding Branding
	// AllowedOrigins are the web origins of the organisation's sites; its
	// purposes that name none of their own accept these, and a purpose's
	// own must be among them.
	AllowedOrigins []string
	// AuditRetention is how long its audit trail is kept; 0: the
	// deployment's.
	AuditRetention time.Duration
	// KeepAuditOnRemoval keeps its audit trail (until AuditRetention) when
	// the organisation is removed from the platform.
	KeepAuditOnRemoval bool
}

// Branding is an organisation's look in the widget.
type Branding struct {
	// Logo is the organisation's logo, shown beside its name: an http(s)
	// URL (best on the embedding sites' own origin, which their CSP
	// allows) or a data: URL of an image; "" shows the name alone.
	Logo string
	// Colour is the widget's accent ("#rrggbb"): its buttons carry white
	// text on it, so it must contrast with white at least MinContrast.
	Colour string
}

// MinContrast is the least contrast ratio between white text and a
// branding colour: WCAG 2.2's 4.5:1 for normal text (success criterion
// 1.4.3), which the widget's buttons and header use.
const MinContrast = 4.5

// DefaultOrganisation is the organisation of a deployment that names none,
// and of the sessions and agents stored before organisations existed.
const DefaultOrganisation = "default"

var (
	organisationIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	colourPattern         = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	dataLogoPattern       = regexp.MustCompile(`^data:image/(svg\+xml|png|webp);base64,[A-Za-z0-9+/]+={0,2}$`)
)

// ValidOrganisationID reports whether id can name an organisation.
func ValidOrganisationID(id string) bool { return organisationIDPattern.MatchString(id) }

// Validate returns every problem with o, each prefixed with its field.
func (o *Organisation) Validate() []string {
	var problems []string
	add := func(field, msg string) { problems = append(problems, field+": "+msg) }
	if !ValidOrganisationID(o.ID) {
		add("id", "must be 1-63 lower-case letters, digits or '-'")
	}
	for _, lang := range []string{"nl", "en"} {
		if strings.TrimSpace(o.Names[lang]) == "" {
			add("names."+lang, "is required")
		}
	}
	if l := o.Branding.Logo; l != "" && !dataLogoPattern.MatchString(l) {
		if u, err := url.Parse(l); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			add("branding.logo", "must be an http(s) URL of an image, such as https://www.example.nl/logo.svg, or a data:image/svg+xml, png or webp base64 URL")
		} else if len(l) > 2048 {
			add("branding.logo", "must be at most 2048 characters")
		}
	}
	if len(o.Branding.Logo) > 64<<10 {
		add("branding.logo", "must be at most 64 KiB")
	}
	if c := o.Branding.Colour; c != "" {
		if !colourPattern.MatchString(c) {
			add("branding.colour", "must be a colour such as #1a5c9e")
		} else if r := ContrastWithWhite(c); r < MinContrast {
			add("branding.colour", fmt.Sprintf("%s has a contrast of %.2f:1 with the widget's white text; at least %.1f:1 is required (WCAG 1.4.3): choose a darker colour", c, r, MinContrast))
		}
	}
	for _, origin := range o.AllowedOrigins {
		if !ValidOrigin(origin) {
			add("allowed_origins", fmt.Sprintf("%q is not an origin such as https://www.example.nl", origin))
		}
	}
	if o.AuditRetention != 0 && o.AuditRetention < 24*time.Hour {
		add("retention.audit", "must be at least 24h")
	}
	return problems
}

// Name is the organisation's name in lang (English when lang is not known).
func (o *Organisation) Name(lang string) string {
	if n, ok := o.Names[lang]; ok {
		return n
	}
	return o.Names["en"]
}

// ContrastWithWhite is the WCAG contrast ratio of white on colour
// ("#rrggbb"): (1.05) / (L + 0.05), with L its relative luminance.
func ContrastWithWhite(colour string) float64 {
	v, err := strconv.ParseUint(strings.TrimPrefix(colour, "#"), 16, 32)
	if err != nil || len(colour) != 7 {
		return 0
	}
	channel := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*channel(v>>16&0xff) + 0.7152*channel(v>>8&0xff) + 0.0722*channel(v&0xff)
	return 1.05 / (l + 0.05)
}

// OrganisationOr is the organisation id names: DefaultOrganisation for
// "" (a deployment that names none, rows from before organisations).
func OrganisationOr(id string) string {
	if id == "" {
		return DefaultOrganisation
	}
	return id
}
