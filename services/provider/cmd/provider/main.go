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
	"flag"
	"fmt"
	"os"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
	"github.com/cus-suite/cus/services/provider/internal/app"
)

func main() {
	config.Main("provider",
		config.Command{Name: "serve", Run: serve},
		config.Command{Name: "backup", Run: func(ctx context.Context, args []string) error {
			return app.BackupCommand(ctx, args, os.Getenv)
		}},
		config.Command{Name: "restore", Run: func(_ context.Context, args []string) error {
			return app.RestoreCommand(args, os.Getenv)
		}},
	)
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
