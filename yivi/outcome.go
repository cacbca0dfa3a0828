package yivi

import (
	"maps"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"

	"github.com/veiligcontact/veilig"
)

// Outcome turns what a Yivi server reports at the end of a session into
// the domain's neutral proof result: this is where Yivi's statuses are
// read. Proven only with status DONE, proofStatus VALID and every
// attribute PRESENT; a Yivi disclosure is of assurance substantial. irmago
// reports a session that ended with an error as CANCELLED with the error
// attached: that is a failure, not the person cancelling. Both modes use
// it: Embedded gets the result from irmago directly, External decodes it
// from GET /session/{token}/result.
//
// schemes supplies the labels: each attribute's Name from its scheme (by
// language) and its issuer's Name. Without schemes (nil), or for an
// attribute the schemes do not know, labels are empty; ids and values are
// always there. The maps are copies, so callers may keep or change them.
// Assurance is the level a valid Yivi proof gives: attributes from
// credentials of issuers that checked identity at substantial (BRP, DigiD).
const Assurance = veilig.AssuranceSubstantial

func Outcome(res *server.SessionResult, schemes *irma.Configuration) veilig.ProofResult {
	if res == nil {
		return failed("no session result")
	}
	if res.Err != nil {
		return failed(remoteErrorText(res.Err))
	}
	switch res.Status {
	case irma.ServerStatusDone:
	case irma.ServerStatusCancelled:
		return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofCancelled, Reason: "cancelled in the Yivi app"}
	case irma.ServerStatusTimeout:
		return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofTimedOut, Reason: "the Yivi session timed out"}
	default:
		return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofFailed, Reason: "the Yivi session ended as " + string(res.Status)}
	}
	if res.ProofStatus != irma.ProofStatusValid {
		return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofFailed, Reason: "proof status " + string(res.ProofStatus)}
	}
	r := veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofProven, Assurance: Assurance}
	for _, con := range res.Disclosed {
		for _, a := range con {
			if a == nil {
				continue
			}
			if a.Status != irma.AttributeProofStatusPresent {
				return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofFailed,
					Reason: "attribute " + a.Identifier.String() + " is " + string(a.Status)}
			}
			r.Attributes = append(r.Attributes, attribute(a, schemes))
		}
	}
	return r
}

// failed is the result of a session that ended with an error rather than
// by the person, or that we lost track of (server stopped, result
// unobtainable); detail is for the log.
func failed(detail string) veilig.ProofResult {
	return veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofFailed, Reason: "the Yivi session ended with an error", Detail: detail}
}

func attribute(a *irma.DisclosedAttribute, schemes *irma.Configuration) veilig.Attribute {
	issuer := a.Identifier.CredentialTypeIdentifier().IssuerIdentifier()
	d := veilig.Attribute{
		ID:       a.Identifier.String(),
		IssuerID: issuer.String(),
		IssuedAt: issuedAt(a.IssuanceTime),
	}
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
