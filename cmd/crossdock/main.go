// Command crossdock is Crossdock's one binary: the web console with its sync
// scheduler (serve), and the tools around it (migrate, user add, version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, ue.Error())
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "crossdock:", err)
		os.Exit(1)
	}
}

type usageError string

func (u usageError) Error() string { return string(u) }

const usage = `Usage: crossdock [command]

Commands:
  serve                       run the web console and the sync scheduler (default)
  migrate                     apply database migrations and exit
  user add --email E --name N --role admin|operator|finance
                              create a user; the password is read from standard input
  sandbox [--shopify-addr HOST:PORT --odoo-addr HOST:PORT --seed N --plan P
           --webhook-url URL --webhook-secret S]
                              run the sandbox Shopify and Odoo twins standalone
  version                     print the version

Configuration comes from the environment: DATABASE_URL, CROSSDOCK_ADDR,
CROSSDOCK_DATA_DIR, CROSSDOCK_SECRET_KEY, CROSSDOCK_BASE_URL, CROSSDOCK_LOG_LEVEL.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, "crossdock", version)
		return nil
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if cmd == "sandbox" {
		// The twins need no database and no configuration.
		log := slog.New(slog.NewTextHandler(stderr, nil))
		return sandbox(ctx, args, log, stdout)
	}
	cfg := LoadConfig(os.Getenv)
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.slogLevel()}))
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		if err := fs.Parse(args); err != nil {
			return usageError(usage)
		}
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		return migrate(ctx, cfg, log, stdout)
	case "user":
		if len(args) == 0 || args[0] != "add" {
			return usageError("Usage: crossdock user add --email E --name N --role admin|operator|finance (password on standard input)")
		}
		return userAdd(ctx, cfg, log, args[1:], stdin, stdout)
	}
	return usageError(fmt.Sprintf("crossdock: unknown command %q\n\n%s", cmd, usage))
}
