package yivi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/privacybydesign/irmago/irma"

	"github.com/veiligcontact/veilig"
)

// disclosureRequest turns the domain's request into irmago's.
//
// Every attribute is requested with notNull, because a NULL attribute fails
// the proof anyway ([Outcome] wants PRESENT): this
// way the app tells the person up front instead of after disclosing.
//
// augmentReturnUrl stays off: irmago would append "?token=<requestor token>"
// to the tel: URI, which the phone would dial as digits and which would leak
// the token to the phone.
//
// It comes wrapped as a requestor request, which carries the time the app
// has to connect (irmago's "timeout"); embedded and external servers take
// the same.
func disclosureRequest(req veilig.DisclosureRequest) (*irma.ServiceProviderRequest, error) {
	if len(req.Disclose) == 0 {
		return nil, veilig.Errorf(veilig.EINVALID, "a disclosure request needs at least one attribute")
	}
	r := irma.NewDisclosureRequest()
	for _, discon := range req.Disclose {
		if len(discon) == 0 {
			return nil, veilig.Errorf(veilig.EINVALID, "every disjunction needs at least one alternative")
		}
		d := make(irma.AttributeDisCon, 0, len(discon))
		for _, con := range discon {
			// An empty alternative would make the disjunction optional;
			// the domain forbids that (every attribute must be proven).
			if len(con) == 0 {
				return nil, veilig.Errorf(veilig.EINVALID, "empty (optional) alternatives are not allowed")
			}
			c := make(irma.AttributeCon, 0, len(con))
			for _, id := range con {
				if !validAttributeID(id) {
					return nil, veilig.Errorf(veilig.EINVALID, "attribute %q is not of the form scheme.issuer.credential.attribute", id)
				}
				c = append(c, irma.AttributeRequest{Type: irma.NewAttributeTypeIdentifier(id), NotNull: true})
			}
			d = append(d, c)
		}
		r.Disclose = append(r.Disclose, d)
	}
	if req.ClientReturnURL != "" {
		u, err := url.Parse(req.ClientReturnURL)
		if err != nil || u.Scheme == "" {
			// The URL holds the phone code: never echo it.
			return nil, veilig.Errorf(veilig.EINVALID, "the client return URL is not a valid URL")
		}
	}
	r.ClientReturnURL = req.ClientReturnURL
	r.AugmentReturnURL = false
	if req.ConnectWithin < 0 {
		return nil, veilig.Errorf(veilig.EINVALID, "the time to connect must not be negative")
	}
	// irmago counts whole seconds; round up so the app never gets less.
	return &irma.ServiceProviderRequest{
		RequestorBaseRequest: irma.RequestorBaseRequest{ClientTimeout: int((req.ConnectWithin + time.Second - 1) / time.Second)},
		Request:              r,
	}, nil
}

func validAttributeID(id string) bool {
	parts := strings.Split(id, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t\r\n/") {
			return false
		}
	}
	return true
}

// Credential is one credential to issue: used by tests and the demo wallet
// page to put demo credentials in a wallet.
type Credential struct {
	Type       string            // credential type id, e.g. demoscheme.PersonalDataCredential
	Attributes map[string]string // attribute id within the type ("bsn") → value
	Expires    time.Time         // zero: the Yivi server's default (six months)
}

func issuanceRequest(creds []Credential) (*irma.IssuanceRequest, error) {
	if len(creds) == 0 {
		return nil, veilig.Errorf(veilig.EINVALID, "nothing to issue")
	}
	reqs := make([]*irma.CredentialRequest, 0, len(creds))
	for _, c := range creds {
		if strings.Count(c.Type, ".") != 2 || len(c.Attributes) == 0 {
			return nil, veilig.Errorf(veilig.EINVALID, "credential %q: need a type scheme.issuer.credential and attributes", c.Type)
		}
		cr := &irma.CredentialRequest{
			CredentialTypeID: irma.NewCredentialTypeIdentifier(c.Type),
			Attributes:       c.Attributes,
		}
		if !c.Expires.IsZero() {
			ts := irma.Timestamp(c.Expires)
			cr.Validity = &ts
		}
		reqs = append(reqs, cr)
	}
	return irma.NewIssuanceRequest(reqs), nil
}

// frontendJSON encodes the session pointer and frontend request the way
// yivi-frontend reads them: sessionPtr {u, irmaqr} and frontendRequest
// {authorization, minProtocolVersion, maxProtocolVersion, pairingHint?}.
func frontendJSON(qr *irma.Qr, fr *irma.FrontendSessionRequest) (ptr, front json.RawMessage, err error) {
	if qr == nil {
		return nil, nil, fmt.Errorf("yivi: the server returned no session pointer")
	}
	if ptr, err = json.Marshal(qr); err != nil {
		return nil, nil, fmt.Errorf("yivi: encode session pointer: %w", err)
	}
	if fr != nil {
		if front, err = json.Marshal(fr); err != nil {
			return nil, nil, fmt.Errorf("yivi: encode frontend request: %w", err)
		}
	}
	return ptr, front, nil
}

// started is a started session as the domain takes it: the token, and the
// session pointer and frontend request as the means' client object, the
// two fields yivi-frontend takes.
func started(token string, ptr, front json.RawMessage) (*veilig.StartedDisclosure, error) {
	client, err := json.Marshal(Client{ptr, front})
	if err != nil {
		return nil, fmt.Errorf("yivi: encode the client object: %w", err)
	}
	return &veilig.StartedDisclosure{Token: token, Client: client}, nil
}

// Client is the client object of a Yivi proof (StartedDisclosure.Client):
// what yivi-frontend takes to start it.
type Client struct {
	SessionPtr      json.RawMessage `json:"sessionPtr"`      // {"u": ..., "irmaqr": "disclosing"}
	FrontendRequest json.RawMessage `json:"frontendRequest"` // {"authorization": ..., "minProtocolVersion": ..., ...}
}

// SessionPtr returns the session pointer of a started Yivi proof, what a
// wallet scans; nil when sd is not one.
func SessionPtr(sd *veilig.StartedDisclosure) json.RawMessage {
	var c Client
	if json.Unmarshal(sd.Client, &c) != nil {
		return nil
	}
	return c.SessionPtr
}
