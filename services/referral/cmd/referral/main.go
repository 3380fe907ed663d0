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
	"flag"
	"fmt"
	"os"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
	"github.com/cus-suite/cus/services/referral/internal/app"
)

func main() {
	config.Main("referral",
		config.Command{Name: "serve", Run: serve},
		config.Command{Name: "backup", Run: func(ctx context.Context, args []string) error {
			return app.BackupCommand(ctx, args, os.Getenv, os.Stdout)
		}},
		config.Command{Name: "restore", Run: func(_ context.Context, args []string) error {
			return app.RestoreCommand(args, os.Getenv, os.Stdout)
		}},
		config.Command{Name: "keys", Run: func(ctx context.Context, args []string) error {
			return app.KeysCommand(ctx, args, os.Getenv, os.Stdout)
		}},
		config.Command{Name: "audit", Run: func(ctx context.Context, args []string) error {
			return app.AuditCommand(ctx, args, os.Getenv, os.Stdout)
		}},
	)
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
