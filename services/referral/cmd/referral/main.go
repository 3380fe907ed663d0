// Command referral runs the CUS referral service (cus.referral.v1): residents, consents, cases, plans and
// closed-loop referrals, and its maintenance commands.
//
//	referral [serve] [flags]      serve gRPC (default :7003) and admin HTTP (/metrics, /backup)
//	referral backup --admin-url URL --token-file FILE --out FILE   copy the data file of a running service (admin token)
//	referral restore --from FILE [--data-dir DIR]   put a backup in place (service stopped)
//	referral keys init|rotate|drop --data-key-file FILE [--data-dir DIR]   manage the data key ring
//	referral audit archive --before DATE --out FILE [--data-dir DIR]   move audit entries past their retention to an archive (service stopped)
//	referral audit verify [--archives FILE,...] [--data-dir DIR]   verify the archives and the live audit chain (service stopped)
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
	"github.com/cus-suite/cus/services/referral/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "referral:", err)
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
		return app.BackupCommand(ctx, args, os.Getenv, os.Stdout)
	case "restore":
		return app.RestoreCommand(args, os.Getenv, os.Stdout)
	case "keys":
		return app.KeysCommand(ctx, args, os.Getenv, os.Stdout)
	case "audit":
		return app.AuditCommand(ctx, args, os.Getenv, os.Stdout)
	}
	return fmt.Errorf("unknown command %q (want serve, backup, restore, keys or audit)", cmd)
}

func serve(ctx context.Context, args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("referral", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := logging.New("referral", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	logging.RouteGRPCLogs(log)
	return app.Run(ctx, cfg, log, nil)
}
