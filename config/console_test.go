package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsoleSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "veilig.yaml")
	os.WriteFile(file, []byte(`
data_dir: `+dir+`
agents:
  oidc:
    issuer: https://login.example.nl/realms/gemeente
    client_id: veilig
    username_claim: email
    label: Gemeente-account
  url_templates:
    pbdf.gemeente.personalData.bsn: https://zaken.example.nl/persoon/{value}
`), 0o600)
	c, err := Load(file, []string{"VEILIG_AGENTS_OIDC_CLIENT_SECRET=from-the-environment"})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Agents.OIDC
	if o.Issuer != "https://login.example.nl/realms/gemeente" || o.ClientID != "veilig" || o.ClientSecret != "from-the-environment" ||
		o.UsernameClaim != "email" || o.Label != "Gemeente-account" {
		t.Errorf("oidc = %+v", o)
	}
	if c.Agents.URLTemplates["pbdf.gemeente.personalData.bsn"] != "https://zaken.example.nl/persoon/{value}" {
		t.Errorf("url_templates = %v", c.Agents.URLTemplates)
	}
}

func TestConsoleSettingsProblems(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "veilig.yaml")
	os.WriteFile(file, []byte(`
data_dir: `+dir+`
agents:
  oidc:
    issuer: login.example.nl
    redirect_url: /callback
    username_claim: "a claim"
  url_templates:
    pbdf.gemeente.personalData.bsn: javascript:alert({value})
    pbdf.gemeente.personalData.fullname: https://crm.example.nl/
`), 0o600)
	_, err := Load(file, nil)
	wantProblems(t, err,
		"agents.oidc.issuer: must be",
		"agents.oidc.client_id: is required",
		"agents.oidc.redirect_url: must be",
		"agents.oidc.username_claim: is not a claim name",
		"agents.url_templates.pbdf.gemeente.personalData.bsn: must be an http or https URL",
		"agents.url_templates.pbdf.gemeente.personalData.fullname: the template must contain {value}",
	)

	_, err = Load("", []string{"VEILIG_AGENTS_OIDC_CLIENT_ID=x", "VEILIG_DATA_DIR=" + dir})
	if err == nil || !strings.Contains(err.Error(), "agents.oidc.issuer: is required with the other agents.oidc settings") {
		t.Errorf("client_id without issuer: %v", err)
	}
}
