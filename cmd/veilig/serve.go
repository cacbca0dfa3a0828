package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/agentauth"
	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

func loadConfig(fs *flag.FlagSet, args []string) (*config.Config, error) {
	path := fs.String("config", os.Getenv("VEILIG_CONFIG"), "configuration file (YAML); none: embedded defaults")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return config.Load(*path, os.Environ())
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(ctx context.Context, args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, os.Stderr)
	a, err := newApp(ctx, cfg, log, time.Now)
	if err != nil {
		return err
	}
	a.start()
	printURLs(os.Stdout, a)
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.shutdown(sctx)
	return nil
}

func printURLs(w io.Writer, a *app) {
	fmt.Fprintf(w, "Veilig Contact %s is running.\n\n", version)
	fmt.Fprintf(w, "  public listener    %s\n", a.publicURL)
	fmt.Fprintf(w, "    citizen API      %s/api/v1/sessions\n", a.publicURL)
	fmt.Fprintf(w, "    agent console    %s/agent/\n", a.publicURL)
	fmt.Fprintf(w, "    agent API        %s/api/v1/agent/login\n", a.publicURL)
	fmt.Fprintf(w, "    API description  %s/api/v1/openapi.yaml\n", a.publicURL)
	fmt.Fprintf(w, "    citizen widget   %s%sveilig-contact.js\n", a.publicURL, widgetPath)
	if a.embedded != nil {
		fmt.Fprintf(w, "    Yivi server      %s/irma\n", a.publicURL)
	}
	if a.cfg.Telephony.Twilio.AuthToken != "" {
		fmt.Fprintf(w, "    Twilio webhook   %s/twilio/voice\n", a.publicURL)
	}
	for _, o := range a.cfg.Organisations {
		if o.Telephony.Twilio.AuthToken != "" {
			fmt.Fprintf(w, "    Twilio webhook   %s/twilio/%s/voice (organisation %s)\n", a.publicURL, o.ID, o.ID)
		}
	}
	fmt.Fprintf(w, "  internal listener  %s\n", a.internalURL())
	fmt.Fprintf(w, "    telephony API    %s/telephony/v1/calls\n", a.internalURL())
	for _, f := range a.tel.agi {
		if f.org == "" {
			fmt.Fprintf(w, "    Asterisk FastAGI agi://%s/verify\n", f.ln.Addr())
		} else {
			fmt.Fprintf(w, "    Asterisk FastAGI agi://%s/verify (organisation %s)\n", f.ln.Addr(), f.org)
		}
	}
	fmt.Fprintf(w, "    metrics          %s/metrics\n", a.internalURL())
	fmt.Fprintf(w, "    health           %s/healthz  %s/readyz\n", a.internalURL(), a.internalURL())
	fmt.Fprintf(w, "  database           %s\n", redactURL(a.cfg.Database.URL))
	if a.secrets.file != "" {
		fmt.Fprintf(w, "  generated secrets  %s\n", a.secrets.file)
	}
	if a.cfg.Demo {
		fmt.Fprintf(w, "\nDemo mode is on (two demo municipalities, demo Yivi scheme).\n")
		fmt.Fprintf(w, "  demo site          %s/demo   (start here; Anderdorp: %s/demo?gemeente=%s)\n", a.publicURL, a.publicURL, demoOtherOrganisation)
		fmt.Fprintf(w, "  demo wallet        %s/demo/wallet\n", a.publicURL)
		fmt.Fprintf(w, "  demo phone         %s/demo/phone\n", a.publicURL)
		for _, m := range a.demoMunicipalities() {
			fmt.Fprintf(w, "  demo agent         username %q (%s), password in %s\n", m.username, m.org, demoAgentPasswordFile(a.cfg, m.username))
		}
	}
	fmt.Fprintln(w)
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme > 0 && scheme < at {
			cred := u[scheme+3 : at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return u[:scheme+3] + user + ":***" + u[at:]
			}
		}
	}
	return u
}

func cmdMigrate(ctx context.Context, args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("migrate", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Println("database is up to date:", redactURL(cfg.Database.URL))
	return st.Close()
}

func cmdUserAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "sign-in name (required)")
	display := fs.String("display-name", "", "name shown in the console (default: the username)")
	role := fs.String("role", "agent", "agent, supervisor, admin, or operator (a shared platform's operator: organisations' totals only, of no organisation)")
	purposes := fs.String("purposes", "*", "comma-separated purpose ids the agent serves, or *")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input instead of the terminal")
	noPassword := fs.Bool("no-password", false, "an account for single sign-on only (agents.oidc): no password opens it")
	org := fs.String("org", "", "the organisation the account is of (required when the deployment serves several)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	agent := &veilig.Agent{
		ID: veilig.NewID(), Username: *username, DisplayName: *display, Role: veilig.Role(*role),
		CreatedAt: time.Now().UTC(),
	}
	if agent.DisplayName == "" {
		agent.DisplayName = agent.Username
	}
	for _, p := range strings.Split(*purposes, ",") {
		if p = strings.TrimSpace(p); p != "" {
			agent.Purposes = append(agent.Purposes, p)
		}
	}
	operator := agent.Role == veilig.RoleOperator
	if operator {
		// Of no organisation and no purpose: the default "*" is dropped,
		// anything named is refused.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["org"] || set["purposes"] {
			return fmt.Errorf("a platform operator is of no organisation and serves no purpose: leave out -org and -purposes")
		}
		agent.OrgID, agent.Purposes = veilig.PlatformOrganisation, nil
	}
	if err := agent.Validate(); err != nil {
		return fmt.Errorf("%s", veilig.ErrorMessage(err))
	}
	// Accounts are added to a deployment's database. Without -config a
	// deployment on PostgreSQL would silently get its first admin in a new
	// local SQLite file instead: a database that does not exist yet is
	// never created here.
	if path, ok := strings.CutPrefix(cfg.Database.URL, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no database at %s: accounts are added to a deployment's database; name its configuration with -config (or start veilig once to create this one)", path)
		}
	}
	if !operator {
		if agent.OrgID, err = accountOrganisation(cfg, *org, agent.Purposes); err != nil {
			return err
		}
	}
	if !*noPassword {
		password, err := readPassword(*stdin)
		if err != nil {
			return err
		}
		if agent.PasswordHash, err = agentauth.HashPassword(password); err != nil {
			return fmt.Errorf("%s", veilig.ErrorMessage(err))
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateAgent(ctx, agent); err != nil {
		if veilig.ErrorCode(err) == veilig.ECONFLICT {
			return fmt.Errorf("username %q is taken", agent.Username)
		}
		return err
	}
	if operator {
		fmt.Printf("added platform operator %q (id %s)\n", agent.Username, agent.ID)
		return nil
	}
	fmt.Printf("added %s %q (id %s) of organisation %s for purposes %s\n", agent.Role, agent.Username, agent.ID, agent.OrgID, strings.Join(agent.Purposes, ","))
	return nil
}

func readPassword(fromStdin bool) (string, error) {
	if fromStdin || !term.IsTerminal(int(os.Stdin.Fd())) {
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(os.Stderr, "password: ")
	p1, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "again: ")
	p2, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", fmt.Errorf("the passwords differ")
	}
	return string(p1), nil
}

func cmdDemoScheme(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo-scheme", flag.ContinueOnError)
	out := fs.String("out", "yivi/demoscheme/data", "folder to write the scheme and keys to (replaced)")
	bits := fs.Int("bits", 1024, "issuer key size: 1024 (seconds, demo) or 2048 (minutes)")
	valid := fs.Duration("valid-for", 10*365*24*time.Hour, "how long the issuer keys are valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	start := time.Now()
	if err := demoscheme.Generate(*out, *bits, *valid); err != nil {
		return err
	}
	fmt.Printf("demo scheme written to %s in %s\n", *out, time.Since(start).Round(time.Millisecond))
	return nil
}
