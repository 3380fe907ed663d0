// Command provider runs the CUS provider registry (cus.provider.v1) and its maintenance commands.
//
//	provider [serve] [flags]                        serve gRPC (default :7002) and admin HTTP (/metrics, /backup)
//	provider backup --admin-url URL --token-file FILE --out FILE   copy the data file of a running registry (admin token)
//	provider restore --from FILE [--data-dir DIR]   put a backup in place (service stopped)
//
// Every flag also reads from an environment variable: --data-dir is CUS_DATA_DIR.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
	"github.com/cus-suite/cus/services/provider/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "provider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "backup":
		return app.BackupCommand(ctx, args, os.Getenv)
	case "restore":
		return app.RestoreCommand(args, os.Getenv)
	}
	return fmt.Errorf("unknown command %q (want serve, backup or restore)", cmd)
}

func serve(ctx context.Context, args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := logging.New("provider", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	return app.Run(ctx, cfg, log, nil)
}
