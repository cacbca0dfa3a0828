package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/demo"
	"github.com/veiligcontact/veilig/httpapi"
	"github.com/veiligcontact/veilig/keyring"
	"github.com/veiligcontact/veilig/postgres"
	"github.com/veiligcontact/veilig/sqlite"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/yivi"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// store is what both stores are: the Store and their event bus.
type store interface {
	veilig.Store
	veilig.EventBus
}

// openStore opens the database the configuration names, running migrations.
func openStore(ctx context.Context, cfg *config.Config) (store, error) {
	if path, ok := strings.CutPrefix(cfg.Database.URL, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
		return sqlite.Open(ctx, path)
	}
	return postgres.Open(ctx, cfg.Database.URL)
}

// app is a running veilig: the wiring of `veilig serve`, also used by the
// end-to-end tests so they test what runs.
type app struct {
	cfg       *config.Config
	hcfg      httpapi.Config // what the listeners serve (httpapi.Patterns lists it)
	log       *slog.Logger
	store     store
	embedded  *yivi.Embedded // nil with an external Yivi server
	external  *yivi.External // nil with the embedded one
	service   *veilig.Service
	auth      *agentauth.Auth
	secrets   *secrets
	publicURL string

	publicLn, internalLn net.Listener
	public, internal     *http.Server
	wg                   sync.WaitGroup
	stopJobs             context.CancelFunc
	tel                  telephonyAdapters // Twilio webhooks, FastAGI server (telephony.go)
	demo                 *demo.Demo        // demo pages, wallet and phone; nil unless demo mode (demo.go)
}

// newApp opens everything and listens, but serves nothing yet.
// clock is time.Now except in tests, which move time forward.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger, clock veilig.Clock) (a *app, err error) {
	a = &app{cfg: cfg, log: log}
	opened := a // `return nil, err` sets a to nil before this runs
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	if err := a.openStorage(ctx); err != nil {
		return nil, err
	}
	if err := a.listen(); err != nil {
		return nil, err
	}
	purposes := a.purposes()
	disclosures, err := a.startYivi()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpapi.NewMetrics(reg)
	if err := a.newService(disclosures, purposes, metrics.Observer(), clock); err != nil {
		return nil, err
	}
	if a.auth, err = agentauth.New(a.store, cfg.Agents.SessionIdle, cfg.Agents.SessionMax, cfg.Agents.LoginPerMinute, clock); err != nil {
		return nil, err
	}
	hcfg, err := a.httpConfig(reg, metrics, clock)
	if err != nil {
		return nil, err
	}
	if err := a.setupDemo(&hcfg, purposes); err != nil {
		return nil, err
	}
	if err := a.setupTelephony(&hcfg, purposes); err != nil {
		return nil, err
	}
	if err := a.setupConsole(&hcfg); err != nil {
		return nil, err
	}
	a.servers(hcfg)
	if cfg.Demo {
		if err := ensureDemoAgents(ctx, a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// openStorage makes the data folder, reads the secrets and opens the store.
func (a *app) openStorage(ctx context.Context) (err error) {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if a.secrets, err = loadSecrets(a.cfg); err != nil {
		return err
	}
	if a.store, err = openStore(ctx, a.cfg); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	return nil
}

// listen opens both listeners; the public URL defaults to what the public
// one listens on (so port 0 works in tests).
func (a *app) listen() (err error) {
	if a.publicLn, err = net.Listen("tcp", a.cfg.Public.Listen); err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	if a.internalLn, err = net.Listen("tcp", a.cfg.Internal.Listen); err != nil {
		return fmt.Errorf("internal listener: %w", err)
	}
	a.publicURL = a.cfg.Public.URL
	if a.publicURL == "" {
		scheme := "http"
		if a.cfg.Public.TLSCert != "" {
			scheme = "https"
		}
		a.publicURL = scheme + "://" + a.publicLn.Addr().String()
	}
	return nil
}

// purposes are the configured ones, and the demo purpose in demo mode.
func (a *app) purposes() []*veilig.Purpose {
	purposes := a.cfg.DomainPurposes()
	if a.cfg.Demo {
		for _, m := range a.demoMunicipalities() {
			if p := m.demoPurpose(a.publicURL); !hasPurpose(purposes, p.ID) {
				purposes = append(purposes, p)
			}
		}
	}
	return purposes
}

// startYivi makes the embedded Yivi server or the client of an external one.
func (a *app) startYivi() (veilig.DisclosureService, error) {
	cfg, log := a.cfg, a.log
	switch cfg.Yivi.Mode {
	case "embedded":
		schemes, privKeys := cfg.Yivi.SchemesPath, cfg.Yivi.IssuerPrivateKeysPath
		if schemes == "" {
			// The bundled demo scheme, written out because irmago reads
			// schemes from disk; never a download.
			var err error
			if schemes, privKeys, err = demoscheme.Extract(filepath.Join(cfg.DataDir, "yivi")); err != nil {
				return nil, fmt.Errorf("demo scheme: %w", err)
			}
		}
		emb, err := yivi.NewEmbedded(yivi.EmbeddedConfig{
			SchemesPath:           schemes,
			IssuerPrivateKeysPath: privKeys,
			URL:                   a.publicURL + "/irma",
			Production:            cfg.Yivi.Production,
			// Results reach us at once, in this process; irmago keeps a
			// finished session this long and deep-copies every session it
			// keeps every 10 seconds (its expiry scan), so keep it short.
			ResultLifetime: time.Minute,
			Logger:         log.With("component", "yivi"),
		})
		if err != nil {
			return nil, fmt.Errorf("embedded Yivi server: %w", err)
		}
		a.embedded = emb
		return emb, nil
	case "external":
		schemes := cfg.Yivi.SchemesPath
		if schemes == "" && cfg.Demo {
			var err error
			if schemes, _, err = demoscheme.Extract(filepath.Join(cfg.DataDir, "yivi")); err != nil {
				return nil, fmt.Errorf("demo scheme: %w", err)
			}
		}
		// The external server does the Yivi protocol; the schemes here only
		// give agents labels instead of bare attribute ids.
		ext, err := yivi.NewExternal(yivi.ExternalConfig{URL: cfg.Yivi.URL, Token: cfg.Yivi.Token, Schemes: schemes, Logger: log.With("component", "yivi")})
		if err != nil {
			return nil, fmt.Errorf("external Yivi server: %w", err)
		}
		a.external = ext
		return ext, nil
	}
	return nil, fmt.Errorf("yivi.mode %q", cfg.Yivi.Mode)
}

// newService makes the service with its means and channels, and warns
// about settings below the guessing goal and notes the first release's
// keys still in use.
func (a *app) newService(disclosures veilig.DisclosureService, purposes []*veilig.Purpose, obs veilig.Observer, clock veilig.Clock) error {
	cfg := a.cfg
	sealer, err := keyring.New(a.secrets.activeKey, a.secrets.encryptionKeys)
	if err != nil {
		return err
	}
	orgs := a.organisations()
	orgSealers, err := a.orgSealers(orgs)
	if err != nil {
		return err
	}
	limits := veilig.MissLimits{
		PerCaller: cfg.Telephony.MissPerCaller, PerCallerWindow: cfg.Telephony.MissWindow,
		Overall: cfg.Telephony.MissOverall, OverallWindow: cfg.Telephony.MissOverallWindow,
	}
	a.service, err = veilig.NewService(veilig.ServiceConfig{
		Store: a.store, Bus: a.store, Sealer: sealer, Purposes: purposes,
		Organisations: orgs, OrgSealers: orgSealers,
		Means:          []veilig.DisclosureService{disclosures},
		Channels:       []veilig.ChannelService{telephony.Phone{}},
		SecretKey:      a.secrets.secretKey,
		MissLimits:     limits,
		MaxContact:     cfg.Agents.MaxContact,
		AuditRetention: cfg.Retention.Audit,
		Logger:         a.log,
		HashPassword:   agentauth.HashPassword,
		Observer:       obs,
		Clock:          clock,
	})
	if err != nil {
		return err
	}
	for _, w := range veilig.GuessingWarnings(purposes, limits) {
		a.log.Warn(w)
	}
	for _, p := range cfg.Purposes {
		for old, now := range p.Legacy() {
			a.log.Info("configuration: a key of the first release is still read; rename it", "purpose", p.ID, "key", old, "now", now)
		}
	}
	return nil
}

// httpConfig is what the handlers of both listeners share.
func (a *app) httpConfig(reg *prometheus.Registry, metrics *httpapi.Metrics, clock veilig.Clock) (httpapi.Config, error) {
	cfg := a.cfg
	var trusted []netip.Prefix
	for _, p := range cfg.Public.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return httpapi.Config{}, fmt.Errorf("public.trusted_proxies: %q is not a network such as 10.0.0.0/8", p)
		}
		trusted = append(trusted, pfx)
	}
	// Browsers refuse Secure cookies from a plain-http origin, so over http
	// (a local demo) the cookie cannot be Secure; say so loudly.
	secureCookies := cfg.Agents.SecureCookies && strings.HasPrefix(a.publicURL, "https://")
	if cfg.Agents.SecureCookies && !secureCookies {
		a.log.Warn("the public URL is plain http: agent cookies are not marked Secure; use https in production", "url", a.publicURL)
	}
	hcfg := httpapi.Config{
		Service: a.service, Store: a.store, Auth: a.auth,
		PublicURL: a.publicURL, TelephonySecret: a.secrets.telephonySecret,
		ReplayWindow: cfg.Telephony.ReplayWindow, SecureCookies: secureCookies,
		TrustedProxies: trusted, Logger: a.log, Registry: reg, Metrics: metrics, Clock: clock,
		PProf: cfg.Internal.PProf,
	}
	if a.embedded != nil {
		hcfg.Yivi = a.embedded.Handler()
	}
	return hcfg, nil
}

// servers makes the public and the internal HTTP server.
func (a *app) servers(hcfg httpapi.Config) {
	errLog := slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)
	server := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler: h, ErrorLog: errLog,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10,
		}
	}
	a.public = server(httpapi.NewPublic(hcfg))
	a.internal = server(httpapi.NewInternal(hcfg))
	a.hcfg = hcfg
}

func hasPurpose(ps []*veilig.Purpose, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

// start serves both listeners and runs the maintenance job.
func (a *app) start() {
	serve := func(srv *http.Server, ln net.Listener, l config.Listener, name string) {
		defer a.wg.Done()
		var err error
		if l.TLSCert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			err = srv.ServeTLS(ln, l.TLSCert, l.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("listener stopped", "listener", name, "err", err)
		}
	}
	a.wg.Add(3)
	go serve(a.public, a.publicLn, a.cfg.Public, "public")
	go serve(a.internal, a.internalLn, a.cfg.Internal, "internal")
	ctx, cancel := context.WithCancel(context.Background())
	a.stopJobs = cancel
	go func() {
		defer a.wg.Done()
		// Maintenance runs on one replica at a time; disclosures a lost
		// replica was following are taken over by the others.
		a.service.Maintain(ctx, veilig.MaintainConfig{Interval: a.cfg.Retention.Interval})
	}()
	a.startTelephony()
}

// shutdown stops accepting requests, lets running ones finish (streams are
// cut), and closes everything.
func (a *app) shutdown(ctx context.Context) {
	if a.stopJobs != nil {
		a.stopJobs()
	}
	a.stopTelephony(ctx)
	var wg sync.WaitGroup
	for _, srv := range []*http.Server{a.public, a.internal} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		}()
	}
	wg.Wait()
	a.wg.Wait()
	a.close()
}

func (a *app) close() {
	if a.demo != nil {
		_ = a.demo.Close() // its wallet talks to the embedded server: close it first
	}
	if a.embedded != nil {
		a.embedded.Stop()
	}
	if a.external != nil {
		a.external.Stop()
	}
	if a.store != nil {
		_ = a.store.Close()
	}
	a.closeTelephony()
	for _, ln := range []net.Listener{a.publicLn, a.internalLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

func (a *app) internalURL() string {
	scheme := "http"
	if a.cfg.Internal.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + a.internalLn.Addr().String()
}
