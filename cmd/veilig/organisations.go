package main

import (
	"encoding/base64"
	"fmt"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/keyring"
)

// organisations are the configured ones, and in demo mode the demo's two
// municipalities (demoOrganisations), so that the separation shows.
func (a *app) organisations() []*veilig.Organisation {
	orgs := a.cfg.DomainOrganisations()
	if len(orgs) == 0 {
		// A configuration that names none serves the default organisation
		// (in demo mode alongside the demo's second municipality).
		orgs = []*veilig.Organisation{{ID: veilig.DefaultOrganisation}}
	}
	if !a.cfg.Demo {
		return orgs
	}
	for _, m := range a.demoMunicipalities() {
		demoOrg := m.organisation(a.publicURL)
		if i := indexOrg(orgs, demoOrg.ID); i >= 0 {
			if len(orgs[i].Names) == 0 { // the implicit default: the demo names it
				orgs[i] = demoOrg
			}
			continue
		}
		orgs = append(orgs, demoOrg)
	}
	return orgs
}

// demoHome is the organisation of the demo's first municipality (the
// demo purpose and the demo agent): the default organisation when the
// configuration names none, so the first release's demo data stays its.
func (a *app) demoHome() string {
	if len(a.cfg.Organisations) == 0 {
		return veilig.DefaultOrganisation
	}
	return demoHomeOrganisation
}

func indexOrg(orgs []*veilig.Organisation, id string) int {
	for i, o := range orgs {
		if o.ID == id {
			return i
		}
	}
	return -1
}

// orgSealers are the organisations' own keyrings: an organisation's
// configured keys, else keys derived from the deployment's for it (the
// default organisation uses the deployment's own, as before organisations
// existed, so what it stored opens still).
func (a *app) orgSealers(orgs []*veilig.Organisation) (map[string]veilig.Sealer, error) {
	out := map[string]veilig.Sealer{}
	for _, o := range orgs {
		var active string
		keys := map[string][]byte{}
		if co := a.cfg.Organisation(o.ID); co != nil && len(co.Secrets.EncryptionKeys) > 0 {
			for id, k := range co.Secrets.EncryptionKeys {
				keys[id], _ = base64.StdEncoding.DecodeString(k) // checked by the configuration
			}
			active = co.Secrets.ActiveKey
		} else if o.ID == veilig.DefaultOrganisation {
			continue
		} else {
			var err error
			if keys, err = keyring.Derive(a.secrets.encryptionKeys, o.ID); err != nil {
				return nil, err
			}
			active = a.secrets.activeKey
		}
		kr, err := keyring.New(active, keys)
		if err != nil {
			return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		out[o.ID] = kr
	}
	return out, nil
}
