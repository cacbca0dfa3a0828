// Command veilig is Veilig Contact in one binary.
//
//	veilig serve          run the server (embedded defaults without a config file)
//	veilig migrate        create or upgrade the database schema
//	veilig user add       add an agent account
//	veilig demo-scheme    regenerate the bundled demo Yivi scheme
//	veilig demo wallet    play the Yivi app with demo credentials (demo only)
//	veilig demo call      play the phone network: report a call with a code
//	veilig version        print the version
//
// The configuration file is given with -config or VEILIG_CONFIG; VEILIG_*
// variables override single settings (see docs/configuration.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(exitCode(run(os.Args[1:])))
}

// errUsage is a command line veilig does not understand; the usage has
// been printed.
var errUsage = errors.New("usage")

// exitCode is 0 for success and for help asked for (-h), 2 for a command
// line not understood, 1 for everything else, which it prints.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(os.Stderr, "veilig:", err)
	return 1
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func usage() error {
	fmt.Fprint(os.Stderr, `usage: veilig <command> [flags]

commands:
  serve         run the server (no configuration needed for a local demo)
  migrate       create or upgrade the database schema and exit
  health        exit 0 when a running veilig is ready (container health checks)
  user add      add an agent account (password read from the terminal or stdin)
  org remove    delete an organisation's sessions, accounts and audit trail
  demo-scheme   regenerate the bundled demo Yivi scheme and keys
  demo wallet   issue demo credentials to a local wallet and disclose a session
  demo call     report a call with a code to the telephony API, as a carrier would
  version       print the version

Run "veilig <command> -h" for the flags of a command.
`)
	return nil
}

// usageError prints the usage and returns errUsage.
func usageError() error {
	_ = usage()
	return errUsage
}

// subcommand runs the command args[0] names among cmds; help prints usage
// (exit 0), anything else prints it and is a usage error.
func subcommand(ctx context.Context, args []string, usage string, cmds map[string]func(context.Context, []string) error) error {
	if len(args) > 0 {
		if cmd, ok := cmds[args[0]]; ok {
			return cmd(ctx, args[1:])
		}
		if isHelp(args[0]) {
			fmt.Fprintln(os.Stderr, usage)
			return nil
		}
	}
	fmt.Fprintln(os.Stderr, usage)
	return errUsage
}

func run(args []string) error {
	if len(args) == 0 {
		return usageError()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:])
	case "migrate":
		return cmdMigrate(ctx, args[1:])
	case "health":
		return cmdHealth(ctx, args[1:])
	case "user":
		return subcommand(ctx, args[1:], "usage: veilig user add -config FILE -username NAME -role agent|supervisor|admin|operator -purposes ID,ID [-org ID] (veilig user add -h: every flag)",
			map[string]func(context.Context, []string) error{"add": cmdUserAdd})
	case "org":
		return subcommand(ctx, args[1:], "usage: veilig org remove -config FILE -org ID [-keep-audit] -yes (veilig org remove -h: every flag)",
			map[string]func(context.Context, []string) error{"remove": cmdOrgRemove})
	case "demo-scheme":
		return cmdDemoScheme(ctx, args[1:])
	case "demo":
		return subcommand(ctx, args[1:], "usage: veilig demo wallet|call [flags] (veilig demo wallet -h, veilig demo call -h: every flag)",
			map[string]func(context.Context, []string) error{"wallet": cmdDemoWallet, "call": cmdDemoCall})
	case "version", "-version", "--version":
		fmt.Println("veilig", version)
		return nil
	case "help", "-h", "-help", "--help":
		return usage()
	}
	fmt.Fprintf(os.Stderr, "veilig: unknown command %q\n\n", args[0])
	return usageError()
}
