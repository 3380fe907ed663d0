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
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/grpcclient"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
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
	// CatalogueAddr is the catalogue service every new agreement's service is checked against (it exists, is
	// still offered, and is not granted by a decyzja that the agreement would contract out). BackendCA,
	// ClientCert and ClientKey switch the calls to TLS (mTLS with a certificate); plaintext is allowed only to
	// loopback. No token is sent: GetService is a public read.
	CatalogueAddr string
	BackendCA     string
	ClientCert    string
	ClientKey     string
	CallTimeout   time.Duration
	Security      grpcserver.SecurityFlags
	Growth        storage.GrowthFlags
	Storage       storage.EngineFlags
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7002", "gRPC listen address")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:9102", "admin HTTP address: /metrics, /backup and /readyz (keep it private)")
	fs.StringVar(&c.DataDir, "data-dir", "var/provider", "directory of the provider registry's data file")
	fs.BoolVar(&c.DemoData, "demo-data", false, "load the demo registry (the providers of CUS Rawicz) when the store is empty")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight calls get to finish on shutdown")
	// A CSV import of 4 MiB must fit, with its envelope.
	fs.IntVar(&c.MaxRecvBytes, "max-recv-bytes", 5<<20, "largest accepted gRPC message in bytes (a provider import is up to 4 MiB)")
	fs.StringVar(&c.CatalogueAddr, "catalogue-addr", "127.0.0.1:7001", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the catalogue service, which every new agreement's service is checked against")
	fs.StringVar(&c.BackendCA, "backend-ca", "", "CA (PEM) of the catalogue's certificate; enables TLS to it")
	fs.StringVar(&c.ClientCert, "client-cert", "", "client certificate (PEM) for mTLS to the catalogue")
	fs.StringVar(&c.ClientKey, "client-key", "", "client key (PEM)")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 3*time.Second, "deadline of each call to the catalogue service")
	c.Security.RegisterFlags(fs)
	c.Growth.RegisterFlags(fs)
	c.Storage.RegisterFlags(fs, "provider")
}

// Validate checks the configuration, naming each bad setting.
func (c *Config) Validate() error {
	var ch config.Checker
	ch.Addr("listen", c.Listen)
	if c.AdminListen != "" {
		ch.Addr("admin-listen", c.AdminListen)
	}
	ch.NonEmpty("data-dir", c.DataDir)
	if _, err := c.Storage.Engine(); err != nil {
		ch.Fail("storage-engine", "%v", err)
	}
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	ch.Range("max-recv-bytes", c.MaxRecvBytes, 64<<10, 64<<20)
	grpcclient.CheckAddr(&ch, "catalogue-addr", c.CatalogueAddr)
	if (c.ClientCert == "") != (c.ClientKey == "") {
		ch.Fail("client-cert", "--client-cert and --client-key go together")
	}
	if c.BackendCA == "" && !grpcclient.IsLoopback(c.CatalogueAddr) {
		ch.Fail("catalogue-addr", "plaintext is allowed only on loopback, not to %s; set --backend-ca", c.CatalogueAddr)
	}
	ch.Positive("call-timeout", c.CallTimeout)
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
	engine, err := cfg.Storage.Engine()
	if err != nil {
		return err
	}
	st, err := store.OpenOn(engine, cfg.DataFile(), log)
	if err != nil {
		return err
	}
	defer st.Close()
	// The client is lazy: the catalogue (which calls this registry too) may start before or after it; the
	// first agreement written, or the demo load, is when it must be up.
	catConn, err := catalogueConn(cfg)
	if err != nil {
		return err
	}
	defer catConn.Close()
	catalogue := cataloguev1.NewCatalogueServiceClient(catConn)
	srv := server.New(st, log, server.WithServiceChecker(server.CatalogueServices{Client: catalogue, Timeout: cfg.CallTimeout, Log: log}))
	if cfg.DemoData {
		// The same handlers, but the first lookup waits a while for a catalogue that is starting too (under
		// systemd or Kubernetes the two start together); the demo fails, saying why, if it does not come.
		demoSrv := server.New(st, log, server.WithServiceChecker(server.CatalogueServices{Client: catalogue,
			Timeout: demoCatalogueWait * cfg.CallTimeout, WaitForReady: true, Log: log}))
		n, err := LoadDemo(ctx, st, demoSrv)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while loading: a clean stop, not a failed start
			}
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
		MaxRecvMsgBytes: cfg.MaxRecvBytes, ShutdownGrace: cfg.ShutdownGrace, DrainPeriod: cfg.Security.DrainPeriod,
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
	// A commit whose outcome on disk is unknown ends Run with an error, for the supervisor to restart the
	// process and read the file again (docs/decisions.md). The maintenance worker (change-log compaction,
	// request-id expiry) writes into the store: it runs beside the server and is joined before Run returns and
	// the deferred Close of the store runs.
	ctx, finish := storage.Supervise(ctx, engine.Location(cfg.DataFile()))
	g, gctx := errgroup.WithContext(ctx)
	mctx, stopMaintenance := context.WithCancel(gctx)
	g.Go(func() error { return st.Backend().RunMaintenance(mctx, cfg.Growth.Maintenance()) })
	g.Go(func() error { defer stopMaintenance(); return gs.Serve(gctx, ls) })
	return finish(g.Wait())
}

// demoCatalogueWait is how many call timeouts the demo load waits for the catalogue to come up.
const demoCatalogueWait = 10

// catalogueConn is the (lazy) client connection to the catalogue: TLS with --backend-ca, else plaintext (loopback
// only, as Validate checks).
func catalogueConn(cfg Config) (*grpc.ClientConn, error) {
	creds, err := grpcclient.Credentials(cfg.BackendCA, cfg.ClientCert, cfg.ClientKey)
	if err != nil {
		return nil, err
	}
	return grpcclient.Dial(cfg.CatalogueAddr, creds)
}

// LoadDemo creates the demo registry through the same handlers clients use, so it passes every rule, the
// catalogue check included: the catalogue, with its demo data, must be up (scripts/run.sh starts it first). It does
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
