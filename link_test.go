package veilig

import (
	"net/url"
	"slices"
	"testing"
)

func TestLinkTemplates(t *testing.T) {
	lt := LinkTemplates{
		"pbdf.gemeente.personalData.bsn":      "https://zaken.example.nl/persoon/{value}/dossier",
		"pbdf.gemeente.personalData.fullname": "https://crm.example.nl/zoek?naam={value}&bron=veilig#{value}",
	}
	if p := lt.Validate(); len(p) != 0 {
		t.Fatalf("valid templates: %v", p)
	}
	for _, tc := range []struct{ id, value, want string }{
		{"pbdf.gemeente.personalData.bsn", "999999990", "https://zaken.example.nl/persoon/999999990/dossier"},
		{"pbdf.gemeente.personalData.bsn", "../admin?x=1#y", "https://zaken.example.nl/persoon/..%2Fadmin%3Fx%3D1%23y/dossier"},
		{"pbdf.gemeente.personalData.bsn", "..", ""},
		{"pbdf.gemeente.personalData.bsn", ".", ""},
		{"pbdf.gemeente.personalData.bsn", "", ""},
		{"pbdf.gemeente.personalData.fullname", "Jan de Vries & Zn", "https://crm.example.nl/zoek?naam=Jan%20de%20Vries%20%26%20Zn&bron=veilig#Jan%20de%20Vries%20%26%20Zn"},
		{"pbdf.gemeente.personalData.fullname", "Zoë", "https://crm.example.nl/zoek?naam=Zo%C3%AB&bron=veilig#Zo%C3%AB"},
		{"pbdf.gemeente.personalData.dateofbirth", "1980-04-01", ""},
	} {
		got := lt.Link(tc.id, tc.value)
		if got != tc.want {
			t.Errorf("Link(%s, %q) = %q, want %q", tc.id, tc.value, got, tc.want)
			continue
		}
		if got == "" {
			continue
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != map[bool]string{true: "zaken.example.nl", false: "crm.example.nl"}[tc.id == "pbdf.gemeente.personalData.bsn"] {
			t.Errorf("Link(%s, %q) = %q leads elsewhere (%v)", tc.id, tc.value, got, err)
		}
		if tc.id == "pbdf.gemeente.personalData.fullname" && u.Query().Get("naam") != tc.value || len(u.Query()) > 2 {
			t.Errorf("Link(%s, %q): query %v does not carry the value intact", tc.id, tc.value, u.Query())
		}
	}
}

func TestLinkTemplatesValidate(t *testing.T) {
	bad := LinkTemplates{
		"not-an-id":               "https://x.example/{value}",
		"a.b.c.nothing":           "https://x.example/",
		"a.b.c.scheme":            "javascript:alert({value})",
		"a.b.c.relative":          "/path/{value}",
		"a.b.c.host":              "https://{value}.example.nl/",
		"a.b.c.user":              "https://u:p@x.example/{value}",
		"a.b.c.ftp":               "ftp://x.example/{value}",
		"a.b.c.fine-with-a-query": "http://x.example/?q={value}",
	}
	got := bad.Validate()
	want := []string{
		"a.b.c.ftp: must be an http or https URL",
		"a.b.c.host: {value} may only be in the path, query or fragment",
		"a.b.c.nothing: the template must contain {value}",
		"a.b.c.relative: must be an http or https URL",
		"a.b.c.scheme: must be an http or https URL",
		"a.b.c.user: must name a host (and no user or password)",
		"not-an-id: is not an attribute id of the form scheme.issuer.credential.attribute",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Validate =\n%q\nwant\n%q", got, want)
	}
}

func TestRoleAtLeast(t *testing.T) {
	for _, tc := range []struct {
		r, min Role
		want   bool
	}{
		{RoleAgent, RoleAgent, true}, {RoleAgent, RoleSupervisor, false}, {RoleAgent, RoleAdmin, false},
		{RoleSupervisor, RoleAgent, true}, {RoleSupervisor, RoleSupervisor, true}, {RoleSupervisor, RoleAdmin, false},
		{RoleAdmin, RoleAgent, true}, {RoleAdmin, RoleSupervisor, true}, {RoleAdmin, RoleAdmin, true},
		{Role("root"), RoleAgent, false}, {Role(""), Role(""), false},
	} {
		if got := tc.r.AtLeast(tc.min); got != tc.want {
			t.Errorf("%q.AtLeast(%q) = %v", tc.r, tc.min, got)
		}
	}
}
