package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/privacybydesign/irmago/irma"
	"github.com/privacybydesign/irmago/irma/server"
	"github.com/privacybydesign/irmago/irma/server/requestorserver"
	"github.com/sirupsen/logrus"

	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

// YiviServer is irmago's requestor server (what `irma server` runs): the
// external Yivi server of the pilot's architecture and of the documented
// production setup.
type YiviServer struct {
	URL   string // requestor API and, under /irma, the app endpoints
	Token string
	srv   *http.Server
	rs    *requestorserver.Server
}

// StartYiviServer serves a requestor server for the demo scheme on ln.
// It is not in production mode (requests carry devMode) and speaks plain
// http, so wallets need developer mode: this is a local test server. The
// requestor authenticates with token and may disclose and issue the demo
// scheme's attributes; status events (SSE) are on.
func StartYiviServer(ln net.Listener, schemes, privateKeys, token string) (*YiviServer, error) {
	return StartYiviServerAt(ln, "http://"+ln.Addr().String()+"/irma", schemes, privateKeys, token)
}

// StartYiviServerAt is StartYiviServer for a server the Yivi app reaches
// at appURL (its url setting, ending in /irma), e.g. through a proxy.
func StartYiviServerAt(ln net.Listener, appURL, schemes, privateKeys, token string) (*YiviServer, error) {
	base := "http://" + ln.Addr().String()
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	rs, err := requestorserver.New(&requestorserver.Configuration{
		Configuration: &server.Configuration{
			SchemesPath:           schemes,
			IssuerPrivateKeysPath: privateKeys,
			DisableSchemesUpdate:  true,
			URL:                   appURL,
			EnableSSE:             true,
			// As docs/scaling.md sets it for production: results are
			// fetched at once, and every session held costs irmago's
			// expiry scan CPU.
			SessionResultLifetime: 1,
			Logger:                quiet,
		},
		Port: 1, // we serve ln ourselves; Port must only be valid
		Requestors: map[string]requestorserver.Requestor{
			"veilig": {
				AuthenticationMethod: requestorserver.AuthenticationMethodToken,
				AuthenticationKey:    token,
				Permissions: requestorserver.Permissions{
					Disclosing: []string{demoscheme.SchemeID + ".*"},
					Issuing:    []string{demoscheme.IssuerID + ".*"},
				},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("yivi server: %w", err)
	}
	y := &YiviServer{URL: base, Token: token, rs: rs, srv: &http.Server{Handler: rs.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = y.srv.Serve(ln) }()
	return y, nil
}

// Close stops serving. (requestorserver's Stop is only for a server it
// started itself; the process ends the rest.)
func (y *YiviServer) Close() {
	_ = y.srv.Close()
}

// Person is the demo person every wallet holds: the attribute values the
// fault test and the benchmark expect to arrive, once each, at the agent.
var Person = map[string]string{
	demoscheme.BSN:          "999990019",
	demoscheme.FullName:     "Fenna Fouttolerant",
	demoscheme.FamilyName:   "Fouttolerant",
	demoscheme.DateOfBirth:  "1984-02-29",
	demoscheme.City:         "Zwolle",
	demoscheme.MobileNumber: "+31612345678",
}

// IssuanceRequest is the demo person's credentials as an irmago request.
func IssuanceRequest() *irma.IssuanceRequest {
	creds := map[string]map[string]string{}
	for id, v := range Person {
		a := irma.NewAttributeTypeIdentifier(id)
		ct := a.CredentialTypeIdentifier().String()
		if creds[ct] == nil {
			creds[ct] = map[string]string{}
		}
		creds[ct][a.Name()] = v
	}
	var reqs []*irma.CredentialRequest
	for ct, attrs := range creds {
		reqs = append(reqs, &irma.CredentialRequest{CredentialTypeID: irma.NewCredentialTypeIdentifier(ct), Attributes: attrs})
	}
	return irma.NewIssuanceRequest(reqs)
}

// NewWallet creates a wallet in dir (developer mode: plain http) and has
// the Yivi server at yiviURL issue it the demo person's credentials over
// the requestor API.
func NewWallet(ctx context.Context, dir, schemes, yiviURL, token string) (*wallet.Wallet, error) {
	w, err := wallet.New(dir, schemes, wallet.WithDeveloperMode())
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(IssuanceRequest())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, yiviURL+"/session", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.Close()
		return nil, err
	}
	defer resp.Body.Close()
	var pkg struct {
		SessionPtr json.RawMessage `json:"sessionPtr"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pkg); err != nil || resp.StatusCode != 200 || len(pkg.SessionPtr) == 0 {
		w.Close()
		return nil, errors.Join(fmt.Errorf("yivi server: issuance session: %d", resp.StatusCode), err)
	}
	if err := w.Issue(ctx, pkg.SessionPtr); err != nil {
		w.Close()
		return nil, fmt.Errorf("issue: %w", err)
	}
	return w, nil
}
