package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/console"
	"github.com/veiligcontact/veilig/demo"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/web"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
	"github.com/veiligcontact/veilig/yivi/wallet"
)

const (
	demoPurposeID     = demo.PurposeID
	demoAgentUsername = "demo"
	// demoPhoneNumber is fictional; nothing dials it in demo mode.
	demoPhoneNumber = "+31850000000"
	// demoHomeOrganisation is the first demo municipality's id when the
	// configuration names organisations (else it is the default one).
	demoHomeOrganisation = "voorbeeldstad"
	// The demo's second municipality: its own purpose, line and agent.
	demoOtherOrganisation  = "anderdorp"
	demoOtherPurposeID     = "demo-anderdorp"
	demoOtherAgentUsername = "demo-anderdorp"
	demoOtherPhoneNumber   = "+31850009000"
)

// demoMunicipality is one of the demo's fictional municipalities: an
// organisation with its purpose, line and agent.
type demoMunicipality struct {
	org                 string // its organisation; "" for the home one (demoHome)
	names               map[string]string
	logo, colour        string // a demo page asset, the widget's accent
	purpose             string
	labels              map[string]string
	number              string
	username, agentName string
}

// demoMunicipalities are the demo's two: Voorbeeldstad (the home one, of
// the demo purpose and agent of the first release) and Anderdorp.
var demoMunicipalities = []demoMunicipality{
	{
		names: map[string]string{"nl": "Gemeente Voorbeeldstad (demo)", "en": "Municipality of Voorbeeldstad (demo)"},
		logo:  "icon.svg", colour: "#1a5c9e",
		purpose: demoPurposeID, number: demoPhoneNumber,
		labels:   map[string]string{"nl": "Vraag over uw belastingaanslag (demo)", "en": "Question about your tax assessment (demo)"},
		username: demoAgentUsername, agentName: "Demo agent",
	},
	{
		org:   demoOtherOrganisation,
		names: map[string]string{"nl": "Gemeente Anderdorp (demo)", "en": "Municipality of Anderdorp (demo)"},
		logo:  "anderdorp.svg", colour: "#6b2c7a",
		purpose: demoOtherPurposeID, number: demoOtherPhoneNumber,
		labels:   map[string]string{"nl": "Vraag over uw parkeervergunning (demo)", "en": "Question about your parking permit (demo)"},
		username: demoOtherAgentUsername, agentName: "Demo agent Anderdorp",
	},
}

// demoMunicipalities are the demo's municipalities with the home one's
// organisation filled in.
func (a *app) demoMunicipalities() []demoMunicipality {
	out := slices.Clone(demoMunicipalities)
	for i := range out {
		out[i].org = cmp.Or(out[i].org, a.demoHome())
	}
	return out
}

// organisation is municipality m as an organisation, its site at the
// public URL's origin.
func (m demoMunicipality) organisation(publicURL string) *veilig.Organisation {
	return &veilig.Organisation{
		ID: m.org, Names: m.names, AllowedOrigins: []string{originOf(publicURL)},
		Branding: veilig.Branding{Logo: demoLogo(m.logo), Colour: m.colour},
	}
}

// demoPurpose is municipality m's purpose: the demo scheme's BSN and full
// name, and the date of birth, on its own line.
func (m demoMunicipality) demoPurpose(publicURL string) *veilig.Purpose {
	return config.Purpose{
		ID: m.purpose, Organisation: m.org, Labels: m.labels,
		Disclose:       [][][]string{{{demoscheme.BSN, demoscheme.FullName}}, {{demoscheme.DateOfBirth}}},
		Phone:          &config.Phone{Number: m.number},
		AllowedOrigins: []string{originOf(publicURL)},
	}.Domain()
}

// demoLogo is a demo page's icon as a data: URL: the sites that embed the
// widget allow data: images in their CSP (deploy/widget), not the
// platform's origin.
func demoLogo(name string) string {
	svg, err := fs.ReadFile(demo.Pages(), "assets/"+name)
	if err != nil {
		panic(err) // embedded in the binary
	}
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg)
}

func originOf(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return publicURL
}

func demoAgentPasswordFile(cfg *config.Config, username string) string {
	if username == demoAgentUsername {
		return filepath.Join(cfg.DataDir, "demo-agent-password")
	}
	return filepath.Join(cfg.DataDir, username+"-agent-password")
}

// ensureDemoAgents creates each demo municipality's agent on first start in
// demo mode. Their passwords go to files readable only by the operator,
// never to the log.
func ensureDemoAgents(ctx context.Context, a *app) error {
	for _, m := range a.demoMunicipalities() {
		_, err := a.store.AgentByUsername(ctx, m.username)
		if err == nil {
			continue
		} else if veilig.ErrorCode(err) != veilig.ENOTFOUND {
			return err
		}
		password := veilig.NewToken()[:20]
		hash, err := agentauth.HashPassword(password)
		if err != nil {
			return err
		}
		if err := os.WriteFile(demoAgentPasswordFile(a.cfg, m.username), []byte(password+"\n"), 0o600); err != nil {
			return fmt.Errorf("demo agent password: %w", err)
		}
		if err := a.store.CreateAgent(ctx, &veilig.Agent{
			ID: veilig.NewID(), Username: m.username, DisplayName: m.agentName, OrgID: m.org,
			Role: veilig.RoleAgent, Purposes: []string{"*"}, PasswordHash: hash, CreatedAt: time.Now().UTC(),
		}); err != nil {
			return err
		}
	}
	return nil
}

// cmdDemoCall plays the phone network: it reports a call with a code to the
// telephony API, signed with the configured (or generated) secret, exactly
// as a telephony platform adapter does.
func cmdDemoCall(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo call", flag.ContinueOnError)
	code := fs.String("code", "", "the code the caller typed (required)")
	caller := fs.String("caller", "+31612345678", "the caller's number")
	called := fs.String("called", demoPhoneNumber, "the number dialled: the line of the session's purpose (phone.number)")
	callID := fs.String("call-id", "", "the platform's call id (default: random)")
	state := fs.String("state", "", "instead of a new call, report this state (queued, answered, ended, unavailable) of -call-id")
	internal := fs.String("url", "", "the internal listener (default: from the configuration)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	sec, err := loadSecrets(cfg)
	if err != nil {
		return err
	}
	base := *internal
	client := &telephony.Client{Secret: sec.telephonySecret}
	if cfg.Internal.TLSCert != "" {
		// The internal listener speaks TLS: trust its own certificate
		// (self-signed on a private network) besides the system's roots.
		pem, err := os.ReadFile(cfg.Internal.TLSCert)
		if err != nil {
			return fmt.Errorf("internal.tls_cert: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		roots.AppendCertsFromPEM(pem)
		client.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		if base == "" {
			base = "https://" + cfg.Internal.Listen
		}
	}
	if base == "" {
		base = "http://" + cfg.Internal.Listen
	}
	client.BaseURL = base
	if *state != "" {
		if *callID == "" {
			return fmt.Errorf("-state needs the -call-id of the matched call")
		}
		if err := client.ReportConnectionState(ctx, "demo", *callID, veilig.ConnectionState(*state)); err != nil {
			return err
		}
		fmt.Printf("call %s is now %s\n", *callID, *state)
		return nil
	}
	if *code == "" {
		return fmt.Errorf("-code is required")
	}
	if *callID == "" {
		*callID = "demo-" + strings.ToLower(veilig.NewID()[:12])
	}
	m, err := client.ReportCall(ctx, veilig.IncomingCall{Code: *code, CallerNumber: *caller, CalledNumber: *called, Provider: "demo", CallID: *callID})
	if err != nil {
		return err
	}
	if !m.Matched {
		fmt.Println("no match: the code is unknown, used or expired")
		return nil
	}
	fmt.Printf("matched: contact %s (purpose %s), call id %s\n", m.ContactRef, m.PurposeID, *callID)
	return nil
}

// demoCredentials are what the demo wallet holds (see demo.Credentials).
func demoCredentials() []yivi.Credential { return demo.Credentials() }

// setupDemo mounts the widget at its stable URL and, in demo mode, the demo
// pages with their demo wallet and demo phone (package demo); without demo
// mode every /demo path is a 404.
func (a *app) setupDemo(hcfg *httpapi.Config, purposes []*veilig.Purpose) error {
	if hcfg.Pages == nil {
		hcfg.Pages = map[string]http.Handler{}
	}
	widget, err := widgetRoutes(web.Dist())
	if err != nil {
		return fmt.Errorf("widget: %w", err)
	}
	for pattern, h := range widget {
		hcfg.Pages[pattern] = h
	}
	if !a.cfg.Demo {
		return nil
	}
	// The demo phone reaches the demo purposes' numbers only: a demo left
	// on next to real purposes must not become a way around the telephony
	// platform for them.
	var municipalities []demo.Municipality
	for _, m := range a.demoMunicipalities() {
		municipalities = append(municipalities, demo.Municipality{
			ID: m.org, Names: m.names, Purpose: m.purpose, Number: m.number,
			AgentUsername: m.username, AgentPasswordFile: demoAgentPasswordFile(a.cfg, m.username),
		})
	}
	consoleURL := ""
	if _, err := fs.Stat(web.Dist(), "console/index.html"); err == nil {
		consoleURL = console.Path
	}
	dcfg := demo.Config{
		PublicURL: a.publicURL,
		WalletDir: filepath.Join(a.cfg.DataDir, "demo-wallet"),
		// The Yivi app refuses plain http and servers not in production
		// mode unless it is in developer mode; so does the demo wallet.
		DeveloperMode:  !a.cfg.Yivi.Production || strings.HasPrefix(a.publicURL, "http://"),
		Telephony:      &telephony.Client{BaseURL: a.internalURL(), Secret: a.secrets.telephonySecret, HTTPClient: a.internalClient()},
		Municipalities: municipalities,
		CallState: func(ctx context.Context, provider, callID string) (veilig.SessionState, error) {
			st, err := a.store.SessionByConnection(ctx, provider, callID)
			if err != nil {
				return "", err
			}
			return st.State, nil
		},
		ConsoleURL: consoleURL,
		Logger:     a.log,
	}
	if a.embedded != nil {
		dcfg.Issuer = a.embedded
	}
	if a.demo, err = demo.New(dcfg); err != nil {
		return err
	}
	for pattern, h := range a.demo.Routes() {
		hcfg.Pages[pattern] = h
	}
	return nil
}

// internalClient reaches the internal listener from this process. With TLS
// on it, the certificate is the one configured for it (the demo runs on one
// machine, where it may be self-signed).
func (a *app) internalClient() *http.Client {
	c := &http.Client{Timeout: 10 * time.Second}
	if a.cfg.Internal.TLSCert == "" {
		return c
	}
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(a.cfg.Internal.TLSCert); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return c
}

// cmdDemoWallet plays the Yivi app: a fresh wallet (the real irmago client
// library) gets the demo credentials through a real issuance session at the
// running server and discloses the given session.
func cmdDemoWallet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo wallet", flag.ContinueOnError)
	session := fs.String("session", "", `the sessionPtr to disclose, as JSON ({"u":...,"irmaqr":"disclosing"}); "-" reads it from stdin`)
	base := fs.String("url", "", "the public listener (default: from the configuration)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *session == "" {
		return fmt.Errorf("-session is required")
	}
	ptr := []byte(*session)
	if *session == "-" {
		if ptr, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<10)); err != nil {
			return err
		}
	}
	if !json.Valid(ptr) {
		return fmt.Errorf("-session is not JSON")
	}
	if *base == "" {
		*base = cfg.Public.URL
		if *base == "" {
			*base = "http://" + cfg.Public.Listen
		}
	}
	dir, err := os.MkdirTemp("", "veilig-demo-wallet")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	schemes, _, err := demoscheme.Extract(filepath.Join(dir, "assets"))
	if err != nil {
		return err
	}
	var opts []wallet.Option
	if strings.HasPrefix(*base, "http://") {
		opts = append(opts, wallet.WithDeveloperMode()) // the Yivi client refuses plain http otherwise
	}
	w, err := wallet.New(filepath.Join(dir, "wallet"), schemes, opts...)
	if err != nil {
		return err
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(*base, "/")+"/demo/issue", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo issuance: %w", err)
	}
	defer resp.Body.Close()
	var issue struct {
		SessionPtr json.RawMessage `json:"sessionPtr"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&issue) != nil {
		return fmt.Errorf("demo issuance: %s (is demo mode on?)", resp.Status)
	}
	if err := w.Issue(ctx, issue.SessionPtr); err != nil {
		return fmt.Errorf("demo issuance: %w", err)
	}
	fmt.Println("issued the demo credentials of Jan de Vries to a fresh wallet")
	ret, err := w.Disclose(ctx, ptr)
	if err != nil {
		return fmt.Errorf("disclose: %w", err)
	}
	fmt.Println("disclosed; the Yivi app would now open", ret)
	return nil
}
