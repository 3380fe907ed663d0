// Command gateway serves the CUS suite over HTTP: REST/JSON under /v1, the HSDS 3.0 read API under /hsds,
// /openapi.json, /docs, /healthz and /metrics. Every flag also reads from an environment variable:
// --catalogue-addr is CUS_CATALOGUE_ADDR.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cus-suite/cus/gateway/internal/app"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
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
