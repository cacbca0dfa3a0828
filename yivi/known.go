package yivi

import (
	"fmt"

	"github.com/privacybydesign/irmago/irma"
)

// checkKnown makes sure the schemes hold every identifier of a request before
// irmaserver sees it. For each session irmaserver calls
// irma.Configuration.Download, which fetches any scheme that misses an
// identifier from the scheme's URL: one purpose with a typo would make the
// server download (and replace) a scheme at run time. With everything known
// Download has nothing to do. (A read-only configuration is no way out:
// Download then refuses every request.)
//
// It mirrors irmago v1.3.0's checkIdentifiers: schemes, issuers, public keys,
// credential and attribute types, and for issuance every non-optional
// attribute.
func checkKnown(conf *irma.Configuration, req irma.SessionRequest) error {
	unknown := func(what string, id fmt.Stringer) error {
		return fmt.Errorf("yivi: the schemes have no %s %s (schemes are never downloaded; check the purpose or the schemes path)", what, id)
	}
	ids := req.Identifiers()
	for id := range ids.SchemeManagers {
		if sm := conf.SchemeManagers[id]; sm == nil || sm.Status != irma.SchemeManagerStatusValid {
			return unknown("scheme", id)
		}
	}
	for id := range ids.Issuers {
		if conf.Issuers[id] == nil {
			return unknown("issuer", id)
		}
	}
	for id, counters := range ids.PublicKeys {
		for _, c := range counters {
			if pk, err := conf.PublicKey(id, c); err != nil || pk == nil {
				return unknown("public key of", id)
			}
		}
	}
	var err error
	_ = req.Disclosure().Disclose.Iterate(func(a *irma.AttributeRequest) error {
		ct := conf.CredentialTypes[a.Type.CredentialTypeIdentifier()]
		switch {
		case ct == nil:
			err = unknown("credential type", a.Type.CredentialTypeIdentifier())
		case !a.Type.IsCredential() && !ct.ContainsAttribute(a.Type):
			err = unknown("attribute", a.Type)
		}
		return err
	})
	if err != nil {
		return err
	}
	if ir, ok := req.(*irma.IssuanceRequest); ok {
		for _, cr := range ir.Credentials {
			ct := conf.CredentialTypes[cr.CredentialTypeID]
			if ct == nil {
				return unknown("credential type", cr.CredentialTypeID)
			}
			for name := range cr.Attributes {
				if id := irma.NewAttributeTypeIdentifier(cr.CredentialTypeID.String() + "." + name); !ct.ContainsAttribute(id) {
					return unknown("attribute", id)
				}
			}
			for _, at := range ct.AttributeTypes {
				if _, ok := cr.Attributes[at.ID]; !ok && !at.RevocationAttribute && !at.RandomBlind && !at.IsOptional() {
					return fmt.Errorf("yivi: credential %s needs attribute %s", cr.CredentialTypeID, at.ID)
				}
			}
		}
	}
	return nil
}
