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
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "veilig:", err)
		}
		os.Exit(1)
	}
}

func usage() error {
	fmt.Fprint(os.Stderr, `usage: veilig <command> [flags]

commands:
  serve         run the server (no configuration needed for a local demo)
  migrate       create or upgrade the database schema and exit
  health        exit 0 when a running veilig is ready (container health checks)
  user add      add an agent account (password read from the terminal or stdin)
  demo-scheme   regenerate the bundled demo Yivi scheme and keys
  demo wallet   issue demo credentials to a local wallet and disclose a session
  demo call     report a call with a code to the telephony API, as a carrier would
  version       print the version

Run "veilig <command> -h" for the flags of a command.
`)
	return flag.ErrHelp
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
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
		if len(args) < 2 || args[1] != "add" {
			return fmt.Errorf("usage: veilig user add -username NAME -role agent|supervisor|admin -purposes ID,ID")
		}
		return cmdUserAdd(ctx, args[2:])
	case "demo-scheme":
		return cmdDemoScheme(ctx, args[1:])
	case "demo":
		if len(args) < 2 {
			return errors.New("usage: veilig demo wallet|call")
		}
		switch args[1] {
		case "wallet":
			return cmdDemoWallet(ctx, args[2:])
		case "call":
			return cmdDemoCall(ctx, args[2:])
		}
		return fmt.Errorf("unknown demo command %q (wallet or call)", args[1])
	case "version", "-version", "--version":
		fmt.Println("veilig", version)
		return nil
	case "help", "-h", "-help", "--help":
		return usage()
	}
	fmt.Fprintf(os.Stderr, "veilig: unknown command %q\n\n", args[0])
	return usage()
}
