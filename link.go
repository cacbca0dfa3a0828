package veilig

import (
	"net/url"
	"sort"
	"strings"
)

// LinkPlaceholder is where a link template takes the attribute's value.
const LinkPlaceholder = "{value}"

// LinkTemplates turn a verified attribute into a link to another system of
// the organisation, by attribute type id: a BSN to the case system, say
// "https://zaken.example.nl/persoon?bsn={value}". Agents click the link
// instead of typing the value over. The value is percent-encoded as a URI
// component (every byte but letters, digits and -._~), so it cannot change
// the link's scheme, host, path or other query parameters.
type LinkTemplates map[string]string

// Validate returns every problem, each prefixed with the attribute id.
func (t LinkTemplates) Validate() []string {
	var problems []string
	ids := make([]string, 0, len(t))
	for id := range t {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		tmpl := t[id]
		add := func(msg string) { problems = append(problems, id+": "+msg) }
		if !attributeIDPattern.MatchString(id) {
			add("is not an attribute id of the form scheme.issuer.credential.attribute")
		}
		if !strings.Contains(tmpl, LinkPlaceholder) {
			add("the template must contain " + LinkPlaceholder)
			continue
		}
		a, errA := url.Parse(strings.ReplaceAll(tmpl, LinkPlaceholder, "a"))
		b, errB := url.Parse(strings.ReplaceAll(tmpl, LinkPlaceholder, "b"))
		switch {
		case errA != nil || errB != nil:
			add("is not a URL")
		case a.Scheme != "https" && a.Scheme != "http":
			add("must be an http or https URL")
		case a.Host == "" || a.User != nil:
			add("must name a host (and no user or password)")
		case a.Scheme != b.Scheme || a.Host != b.Host:
			add(LinkPlaceholder + " may only be in the path, query or fragment")
		}
	}
	return problems
}

// Link returns the link for an attribute's value, or "" when no template
// is configured for the attribute or the value is empty. The values "." and
// ".." get no link: as a whole path segment browsers would resolve them
// (even percent-encoded) and the link would lead elsewhere.
func (t LinkTemplates) Link(attributeID, value string) string {
	tmpl, ok := t[attributeID]
	if !ok || value == "" || value == "." || value == ".." {
		return ""
	}
	return strings.ReplaceAll(tmpl, LinkPlaceholder, EscapeComponent(value))
}

// EscapeComponent percent-encodes every byte of s except the unreserved
// characters of RFC 3986 (letters, digits, '-', '.', '_', '~'), so the
// result is inert anywhere in a URL.
func EscapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
