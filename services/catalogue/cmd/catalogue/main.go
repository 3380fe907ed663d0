// Command catalogue runs the CUS catalogue service (cus.catalogue.v1) and its maintenance commands.
//
//	catalogue [serve] [flags]      serve gRPC (default :7001) and admin HTTP (/metrics, /backup)
//	catalogue backup --admin-url URL --token-file FILE --out FILE   copy the data file of a running service (admin token)
//	catalogue restore --from FILE [--data-dir DIR]   put a backup in place (service stopped)
//	catalogue generate --services N --gminas G [--profile realistic|harsh] [--data-dir DIR]   write a synthetic catalogue
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
	"github.com/cus-suite/cus/services/catalogue/internal/app"
)

func main() {
	config.Main("catalogue",
		config.Command{Name: "serve", Run: serve},
		config.Command{Name: "backup", Run: func(ctx context.Context, args []string) error {
			return app.BackupCommand(ctx, args, os.Getenv)
		}},
		config.Command{Name: "restore", Run: func(_ context.Context, args []string) error {
			return app.RestoreCommand(args, os.Getenv)
		}},
		config.Command{Name: "generate", Run: func(ctx context.Context, args []string) error {
			return app.GenerateCommand(ctx, args, os.Getenv)
		}},
	)
}

func serve(ctx context.Context, args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("catalogue", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := logging.New("catalogue", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	logging.RouteGRPCLogs(log)
	return app.Run(ctx, cfg, log, nil)
}
