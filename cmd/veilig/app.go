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
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if a.secrets, err = loadSecrets(cfg); err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}

	if a.publicLn, err = net.Listen("tcp", cfg.Public.Listen); err != nil {
		return nil, fmt.Errorf("public listener: %w", err)
	}
	if a.internalLn, err = net.Listen("tcp", cfg.Internal.Listen); err != nil {
		return nil, fmt.Errorf("internal listener: %w", err)
	}
	a.publicURL = cfg.Public.URL
	if a.publicURL == "" {
		scheme := "http"
		if cfg.Public.TLSCert != "" {
			scheme = "https"
		}
		a.publicURL = scheme + "://" + a.publicLn.Addr().String()
	}

	purposes := make([]*veilig.Purpose, 0, len(cfg.Purposes)+1)
	for _, p := range cfg.Purposes {
		purposes = append(purposes, p.Domain())
	}
	if cfg.Demo && !hasPurpose(purposes, demoPurposeID) {
		purposes = append(purposes, demoPurpose(a.publicURL))
	}

	var disclosures veilig.DisclosureService
	switch cfg.Yivi.Mode {
	case "embedded":
		schemes, privKeys := cfg.Yivi.SchemesPath, cfg.Yivi.IssuerPrivateKeysPath
		if schemes == "" {
			// The bundled demo scheme, written out because irmago reads
			// schemes from disk; never a download.
			if schemes, privKeys, err = demoscheme.Extract(filepath.Join(cfg.DataDir, "yivi")); err != nil {
				return nil, fmt.Errorf("demo scheme: %w", err)
			}
		}
		a.embedded, err = yivi.NewEmbedded(yivi.EmbeddedConfig{
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
		disclosures = a.embedded
	case "external":
		schemes := cfg.Yivi.SchemesPath
		if schemes == "" && cfg.Demo {
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
		disclosures = ext
	}

	sealer, err := keyring.New(a.secrets.activeKey, a.secrets.encryptionKeys)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpapi.NewMetrics(reg)
	a.service, err = veilig.NewService(veilig.ServiceConfig{
		Store: a.store, Bus: a.store, Yivi: disclosures, Sealer: sealer, Purposes: purposes,
		SecretKey: a.secrets.secretKey,
		MissLimits: veilig.MissLimits{
			PerCaller: cfg.Telephony.MissPerCaller, PerCallerWindow: cfg.Telephony.MissWindow,
			Overall: cfg.Telephony.MissOverall, OverallWindow: cfg.Telephony.MissOverallWindow,
		},
		MaxContact:     cfg.Agents.MaxContact,
		AuditRetention: cfg.Retention.Audit,
		Logger:         log,
		HashPassword:   agentauth.HashPassword,
		Observer:       metrics.Observer(),
		Clock:          clock,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range veilig.GuessingWarnings(purposes, veilig.MissLimits{
		PerCaller: cfg.Telephony.MissPerCaller, Overall: cfg.Telephony.MissOverall,
	}) {
		log.Warn(w)
	}
	if a.auth, err = agentauth.New(a.store, cfg.Agents.SessionIdle, cfg.Agents.SessionMax, cfg.Agents.LoginPerMinute, clock); err != nil {
		return nil, err
	}

	var trusted []netip.Prefix
	for _, p := range cfg.Public.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("public.trusted_proxies: %q is not a network such as 10.0.0.0/8", p)
		}
		trusted = append(trusted, pfx)
	}
	// Browsers refuse Secure cookies from a plain-http origin, so over http
	// (a local demo) the cookie cannot be Secure; say so loudly.
	secureCookies := cfg.Agents.SecureCookies && strings.HasPrefix(a.publicURL, "https://")
	if cfg.Agents.SecureCookies && !secureCookies {
		log.Warn("the public URL is plain http: agent cookies are not marked Secure; use https in production", "url", a.publicURL)
	}
	hcfg := httpapi.Config{
		Service: a.service, Store: a.store, Auth: a.auth,
		PublicURL: a.publicURL, TelephonySecret: a.secrets.telephonySecret,
		ReplayWindow: cfg.Telephony.ReplayWindow, SecureCookies: secureCookies,
		TrustedProxies: trusted, Logger: log, Registry: reg, Metrics: metrics, Clock: clock,
		PProf: cfg.Internal.PProf,
	}
	if a.embedded != nil {
		hcfg.Yivi = a.embedded.Handler()
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
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	a.public = &http.Server{
		Handler: httpapi.NewPublic(hcfg), ErrorLog: errLog,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10,
	}
	a.internal = &http.Server{
		Handler: httpapi.NewInternal(hcfg), ErrorLog: errLog,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10,
	}
	if cfg.Demo {
		if err := ensureDemoAgent(ctx, a); err != nil {
			return nil, err
		}
	}
	return a, nil
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
