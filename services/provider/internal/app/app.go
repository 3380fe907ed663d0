// Package app wires the provider registry process: configuration, storage, the gRPC server and the admin
// endpoints. cmd/provider only parses arguments and calls it.
package app

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/storage"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/demo"
	"github.com/cus-suite/cus/services/provider/internal/server"
	"github.com/cus-suite/cus/services/provider/internal/store"
)

// Config of the provider process. Every field has a flag and a CUS_ environment variable.
type Config struct {
	Listen        string
	AdminListen   string
	DataDir       string
	DemoData      bool
	LogLevel      string
	LogFormat     string
	ShutdownGrace time.Duration
	MaxRecvBytes  int
	Security      grpcserver.SecurityFlags
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7002", "gRPC listen address")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:9102", "admin HTTP address: /metrics and /backup (keep it private)")
	fs.StringVar(&c.DataDir, "data-dir", "var/provider", "directory of the provider registry's data file")
	fs.BoolVar(&c.DemoData, "demo-data", false, "load the demo registry (the providers of CUS Rawicz) when the store is empty")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight calls get to finish on shutdown")
	// A CSV import of 4 MiB must fit, with its envelope.
	fs.IntVar(&c.MaxRecvBytes, "max-recv-bytes", 5<<20, "largest accepted gRPC message in bytes (a provider import is up to 4 MiB)")
	c.Security.RegisterFlags(fs)
}

// Validate checks the configuration, naming each bad setting.
func (c *Config) Validate() error {
	var ch config.Checker
	ch.Addr("listen", c.Listen)
	if c.AdminListen != "" {
		ch.Addr("admin-listen", c.AdminListen)
	}
	ch.NonEmpty("data-dir", c.DataDir)
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	ch.Range("max-recv-bytes", c.MaxRecvBytes, 64<<10, 64<<20)
	c.Security.Validate(&ch, c.Listen)
	switch c.LogFormat {
	case "json", "console":
	default:
		ch.Fail("log-format", "must be json or console, got %q", c.LogFormat)
	}
	return ch.Err()
}

// DataFile is the path of the bbolt file.
func (c *Config) DataFile() string { return filepath.Join(c.DataDir, "provider.db") }

// Ready reports the bound addresses once the server serves (used by tests and the dev runner).
type Ready func(grpcAddr, adminAddr string)

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config, log *zap.Logger, ready Ready) error {
	start := time.Now()
	st, err := store.Open(cfg.DataFile(), log)
	if err != nil {
		return err
	}
	defer st.Close()
	srv := server.New(st, log)
	if cfg.DemoData {
		n, err := LoadDemo(ctx, st, srv)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if n > 0 {
			log.Info("demo registry loaded", zap.Int("providers", n))
		}
	}
	sec, err := cfg.Security.Build(server.Policy)
	if err != nil {
		return err
	}
	if sec.Auth.Verifier == nil {
		log.Warn("no token issuer configured: only anonymous calls (the public registry) are possible")
	}
	gs := grpcserver.New(grpcserver.Config{
		Addr: cfg.Listen, AdminAddr: cfg.AdminListen,
		MaxRecvMsgBytes: cfg.MaxRecvBytes, ShutdownGrace: cfg.ShutdownGrace,
		Auth: sec.Auth, Limits: sec.Limits,
	}, log, sec.Options...)
	providerv1.RegisterProviderServiceServer(gs.GRPC(), srv)
	gs.ReportHealth(providerv1.ProviderService_ServiceDesc.ServiceName)
	gs.HandleAdmin("/backup", auth.RequireAdmin(sec.Auth.Verifier, storage.BackupHandler(st.Backend(), "provider.db", log)))
	ls, err := gs.Listen()
	if err != nil {
		return err
	}
	log.Info("provider registry ready", zap.Duration("startup", time.Since(start)))
	if ready != nil {
		admin := ""
		if ls.Admin != nil {
			admin = ls.Admin.Addr().String()
		}
		ready(ls.GRPC.Addr().String(), admin)
	}
	return gs.Serve(ctx, ls)
}

// LoadDemo creates the demo registry through the same handlers clients use, so it passes every rule. It does
// nothing when the registry already has providers, and returns the number of providers created.
func LoadDemo(ctx context.Context, st *store.Store, srv *server.Server) (int, error) {
	if st.Backend().Revision() > 0 {
		return 0, nil
	}
	providers, agreements, err := demo.Rawicz()
	if err != nil {
		return 0, err
	}
	for _, req := range providers {
		if _, err := srv.CreateProvider(ctx, req); err != nil {
			return 0, fmt.Errorf("demo provider %q: %w", req.GetProvider().GetDisplayName(), err)
		}
	}
	for _, req := range agreements {
		if _, err := srv.CreateAgreement(ctx, req); err != nil {
			return 0, fmt.Errorf("demo agreement %q: %w", req.GetAgreement().GetDisplayName(), err)
		}
	}
	return len(providers), nil
}
