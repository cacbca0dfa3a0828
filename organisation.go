package veilig

import (
	"regexp"
	"strings"
)

// Organisation is one organisation a deployment serves (a municipality, a
// care organisation): its purposes, agents, contacts and audit trail are
// its own and no one of another organisation sees them. A deployment that
// names none serves one, DefaultOrganisation, with no setting at all.
type Organisation struct {
	ID    string            // lower case, digits, '-'; stable: stored with every session and agent
	Names map[string]string // by language ("nl", "en"); both required
}

// DefaultOrganisation is the organisation of a deployment that names none,
// and of the sessions and agents stored before organisations existed.
const DefaultOrganisation = "default"

var organisationIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidOrganisationID reports whether id can name an organisation.
func ValidOrganisationID(id string) bool { return organisationIDPattern.MatchString(id) }

// Validate returns every problem with o, each prefixed with its field.
func (o *Organisation) Validate() []string {
	var problems []string
	if !ValidOrganisationID(o.ID) {
		problems = append(problems, "id: must be 1-63 lower-case letters, digits or '-'")
	}
	for _, lang := range []string{"nl", "en"} {
		if strings.TrimSpace(o.Names[lang]) == "" {
			problems = append(problems, "names."+lang+": is required")
		}
	}
	return problems
}

// OrganisationOr is the organisation id names: DefaultOrganisation for
// "" (a deployment that names none, rows from before organisations).
func OrganisationOr(id string) string {
	if id == "" {
		return DefaultOrganisation
	}
	return id
}
