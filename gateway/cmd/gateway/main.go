// Command gateway serves the CUS suite over HTTP: REST/JSON under /v1, the HSDS 3.0 read API under /hsds,
// /openapi.json, /docs, /healthz and /metrics. Every flag also reads from an environment variable:
// --catalogue-addr is CUS_CATALOGUE_ADDR.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/cus-suite/cus/gateway/internal/app"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
)

func main() {
	// The gateway has no subcommands: every argument is a flag of serve.
	config.Main("gateway", config.Command{Name: "serve", Run: run})
}

func run(ctx context.Context, args []string) error {
	var cfg app.Config
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := logging.New("gateway", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	logging.RouteGRPCLogs(log)
	return app.Run(ctx, cfg, log, nil)
}
