package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/config"
)

// served are the organisations a configuration serves (the demo's too in
// demo mode) and the organisation of each purpose, as `veilig serve` would
// set them up, for the commands that manage accounts and organisations.
func served(cfg *config.Config) (orgs []string, purposeOrg map[string]string) {
	a := &app{cfg: cfg, publicURL: cfg.Public.URL}
	if a.publicURL == "" {
		a.publicURL = "http://" + cfg.Public.Listen
	}
	for _, o := range a.organisations() {
		orgs = append(orgs, o.ID)
	}
	purposeOrg = map[string]string{}
	for _, p := range a.purposes() {
		purposeOrg[p.ID] = veilig.OrganisationOr(p.OrgID)
	}
	return orgs, purposeOrg
}

// accountOrganisation checks the organisation an account is added to and
// the purposes it names: -org may be left out only where one organisation
// is served, and every purpose must be that organisation's.
func accountOrganisation(cfg *config.Config, org string, purposes []string) (string, error) {
	orgs, purposeOrg := served(cfg)
	switch {
	case org == "" && len(orgs) == 1:
		org = orgs[0]
	case org == "":
		return "", fmt.Errorf("-org is required: this deployment serves the organisations %s", strings.Join(orgs, ", "))
	case !slices.Contains(orgs, org):
		return "", fmt.Errorf("-org %q is not an organisation this deployment serves (%s)", org, strings.Join(orgs, ", "))
	}
	for _, p := range purposes {
		if p == "*" {
			continue
		}
		if owner, ok := purposeOrg[p]; !ok {
			return "", fmt.Errorf("purpose %q is not configured", p)
		} else if owner != org {
			return "", fmt.Errorf("purpose %q is not of organisation %s", p, org)
		}
	}
	return org, nil
}

// cmdOrgRemove deletes everything of an organisation from the database:
// its sessions with their personal data, its accounts and (unless kept)
// its audit trail. Its purposes must be out of the configuration first,
// so that no replica starts a session for it meanwhile.
func cmdOrgRemove(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("org remove", flag.ContinueOnError)
	org := fs.String("org", "", "the organisation's id (required)")
	keepAudit := fs.Bool("keep-audit", false, "keep its audit trail until retention.audit ends it (default: its retention.keep_audit_on_removal)")
	yes := fs.Bool("yes", false, "confirm: this cannot be undone")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if !veilig.ValidOrganisationID(*org) {
		return fmt.Errorf("-org must name an organisation id (lower-case letters, digits, '-')")
	}
	_, purposeOrg := served(cfg)
	for p, owner := range purposeOrg {
		if owner == *org {
			return fmt.Errorf("organisation %s still has purpose %q in the configuration: remove its purposes and restart every replica first, so no new session starts for it", *org, p)
		}
	}
	keep := *keepAudit
	if co := cfg.Organisation(*org); co != nil && co.Retention.KeepAuditOnRemoval {
		keep = true
	}
	if !*yes {
		return fmt.Errorf("removing organisation %s deletes its sessions, accounts%s for good: add -yes to confirm", *org, map[bool]string{false: " and audit trail", true: ""}[keep])
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.RemoveOrganisation(ctx, *org, keep)
	if err != nil {
		return err
	}
	kept := ""
	if keep {
		kept = " (audit trail kept)"
	}
	fmt.Printf("removed organisation %s: %d sessions, %d events, %d accounts, %d audit entries%s\n", *org, res.Sessions, res.Events, res.Agents, res.AuditEntries, kept)
	return nil
}
