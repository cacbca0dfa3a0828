package yivi

import (
	"maps"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"

	"github.com/veiligcontact/veilig"
)

// StatusError is the outcome status of a session that ended with an error
// rather than by the person: irmago reports those as CANCELLED with an error
// attached, which would read as "the person cancelled". With StatusError the
// session fails instead (veilig.DisclosureOutcome.Judge: failed, "the Yivi
// session ended with an error"). It is also used when we lose track of a
// session (server stopped, result unobtainable).
const StatusError = "ERROR"

// Outcome converts what a Yivi server reports at the end of a session into
// the domain's outcome. Both modes use it: Embedded gets the result from
// irmago directly, External decodes it from GET /session/{token}/result.
//
// schemes supplies the labels: each attribute's Name from its scheme (by
// language) and its issuer's Name. Without schemes (nil), or for an
// attribute the schemes do not know, labels are empty; ids and values are
// always there. The maps are copies, so callers may keep or change them.
func Outcome(res *server.SessionResult, schemes *irma.Configuration) veilig.DisclosureOutcome {
	if res == nil {
		return veilig.DisclosureOutcome{Status: StatusError, Err: "no session result"}
	}
	o := veilig.DisclosureOutcome{
		Status:      string(res.Status),
		ProofStatus: string(res.ProofStatus),
	}
	if res.Err != nil {
		o.Status = StatusError
		o.Err = remoteErrorText(res.Err)
	}
	for _, con := range res.Disclosed {
		for _, a := range con {
			if a != nil {
				o.Attributes = append(o.Attributes, disclosedAttribute(a, schemes))
			}
		}
	}
	return o
}

func disclosedAttribute(a *irma.DisclosedAttribute, schemes *irma.Configuration) veilig.DisclosedAttribute {
	issuer := a.Identifier.CredentialTypeIdentifier().IssuerIdentifier()
	d := veilig.DisclosedAttribute{
		Attribute: veilig.Attribute{
			ID:       a.Identifier.String(),
			IssuerID: issuer.String(),
			IssuedAt: issuedAt(a.IssuanceTime),
		},
		Status: string(a.Status),
	}
	// A NULL attribute has no raw value; Value stays empty and Status says
	// why.
	if a.RawValue != nil {
		d.Value = *a.RawValue
	}
	if schemes != nil {
		if at := schemes.AttributeTypes[a.Identifier]; at != nil {
			d.Labels = maps.Clone(map[string]string(at.Name))
		}
		if is := schemes.Issuers[issuer]; is != nil {
			d.Issuer = maps.Clone(map[string]string(is.Name))
		}
	}
	return d
}

// issuedAt maps irmago's "no time" (zero, or Unix 0 after a JSON round trip)
// to the zero time.
func issuedAt(ts irma.Timestamp) time.Time {
	t := time.Time(ts)
	if t.IsZero() || t.Unix() == 0 {
		return time.Time{}
	}
	return t.UTC()
}

// remoteErrorText describes a Yivi error for logs and the outcome: irmago's
// fixed error name and description, and its message scrubbed of anything
// that looks like a token, a tel: URI or a request dump.
func remoteErrorText(e *irma.RemoteError) string {
	s := e.ErrorName
	if s == "" {
		s = "ERROR"
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Message != "" {
		s += ": " + scrub(e.Message)
	}
	return s
}
