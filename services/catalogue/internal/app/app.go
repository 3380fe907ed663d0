// Package app wires the catalogue process: configuration, storage, the search index, the gRPC server and the
// admin endpoints. cmd/catalogue only parses arguments and calls it.
package app

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/grpcclient"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/plid"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// Config of the catalogue process. Every field has a flag and a CUS_ environment variable.
type Config struct {
	Listen        string
	AdminListen   string
	DataDir       string
	InstanceTERC  string
	InstanceName  string
	DemoData      bool
	LogLevel      string
	LogFormat     string
	ShutdownGrace time.Duration
	MaxRecvBytes  int
	PeersFile     string
	ProviderAddr  string
	// BackendCA, ClientCert and ClientKey switch the connection to the provider registry to TLS (mTLS with a
	// certificate); without them it is plaintext, allowed only to loopback.
	BackendCA  string
	ClientCert string
	ClientKey  string
	Security   grpcserver.SecurityFlags
	Growth     storage.GrowthFlags
	Storage    storage.EngineFlags
	// SnapshotInterval and SnapshotChanges: how often the search index snapshot is rewritten while serving,
	// and how many changes since the last one make it worth it (it is always written at a graceful stop).
	SnapshotInterval time.Duration
	SnapshotChanges  int
	// MemoryLimit is the Go runtime's soft memory limit: auto, off, a share of the container's memory
	// (90%) or a size (900MiB); see memlimit.go.
	MemoryLimit string
	// GCHeadroom is how much garbage the collector lets accumulate: auto (paced by the allocation rate), off
	// (the runtime's GOGC) or a largest size (gcpace.go).
	GCHeadroom string

	// Test hooks: listening gets the gRPC address as soon as it is bound (before the index is ready);
	// indexLoaded runs after the index loaded and before it is declared ready (a test makes the load slow);
	// indexWait replaces how long calls wait for the index (server.SetIndexWait); maintain replaces the
	// maintenance worker (whose own commits would race a test's injected storage fault).
	listening   func(grpcAddr string)
	indexLoaded func()
	indexWait   time.Duration
	maintain    func(ctx context.Context) error
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7001", "gRPC listen address")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:9101", "admin HTTP address: /metrics, /backup and /readyz (keep it private)")
	fs.StringVar(&c.DataDir, "data-dir", "var/catalogue", "directory of the catalogue's data file")
	fs.StringVar(&c.InstanceTERC, "instance-terc", "3022053", "TERYT TERC code of this CUS instance's gmina (origin of local entries)")
	fs.StringVar(&c.InstanceName, "instance-name", "CUS Rawicz", "name of this CUS instance")
	fs.BoolVar(&c.DemoData, "demo-data", false, "load the demo catalogue (CUS Rawicz) when the store is empty")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight calls get to finish on shutdown")
	fs.IntVar(&c.MaxRecvBytes, "max-recv-bytes", 4<<20, "largest accepted gRPC message in bytes")
	fs.StringVar(&c.ProviderAddr, "provider-addr", "", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the provider registry, to check the providers a service names (empty: format only)")
	fs.StringVar(&c.BackendCA, "backend-ca", "", "CA (PEM) of the provider registry's certificate; enables TLS to it")
	fs.StringVar(&c.ClientCert, "client-cert", "", "client certificate (PEM) for mTLS to the provider registry")
	fs.StringVar(&c.ClientKey, "client-key", "", "client key (PEM)")
	fs.StringVar(&c.PeersFile, "peers-file", "", "JSON file listing the federation peers to follow (see docs/federation.md)")
	fs.DurationVar(&c.SnapshotInterval, "index-snapshot-interval", 10*time.Minute, "how often the search index snapshot (catalogue.search beside the data file) is rewritten while serving, when enough changed; 0: only at a graceful stop")
	fs.IntVar(&c.SnapshotChanges, "index-snapshot-changes", 1000, "changes since the last search index snapshot that make the periodic rewrite worth it (0: any)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", "auto", "soft memory limit of the Go runtime (GOMEMLIMIT): auto (GOMEMLIMIT if set, else 90% of the container's memory limit, else none), off, a share such as 85% (of the container's limit, else of the machine's memory) or a size such as 900MiB")
	fs.StringVar(&c.GCHeadroom, "gc-headroom", "auto", "garbage the Go collector lets accumulate before it collects: auto (enough for about 2 s of allocation at the recent rate, at least 64MiB, at most the live heap as GOGC=100 would; GOGC in the environment turns it off), off (the runtime's GOGC alone) or a largest size such as 256MiB")
	c.Security.RegisterFlags(fs)
	c.Growth.RegisterFlags(fs)
	c.Storage.RegisterFlags(fs, "catalogue")
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
	if err := plid.ValidateTERC(c.InstanceTERC); err != nil {
		ch.Fail("instance-terc", "%q is not a TERYT TERC code of a gmina: %v", c.InstanceTERC, err)
	}
	ch.NonEmpty("instance-name", c.InstanceName)
	if c.ProviderAddr != "" {
		grpcclient.CheckAddr(&ch, "provider-addr", c.ProviderAddr)
		if c.BackendCA == "" && !grpcclient.IsLoopback(c.ProviderAddr) {
			ch.Fail("provider-addr", "plaintext to the provider registry is allowed only on loopback, not %s; set --backend-ca", c.ProviderAddr)
		}
	}
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	if (c.ClientCert == "") != (c.ClientKey == "") {
		ch.Fail("client-cert", "--client-cert and --client-key go together")
	}
	ch.Range("max-recv-bytes", c.MaxRecvBytes, 64<<10, 64<<20)
	if c.SnapshotInterval < 0 {
		ch.Fail("index-snapshot-interval", "must not be negative, got %s", c.SnapshotInterval)
	}
	if c.SnapshotChanges < 0 {
		ch.Fail("index-snapshot-changes", "must not be negative, got %d", c.SnapshotChanges)
	}
	if _, err := resolveGCHeadroom(c.GCHeadroom, os.Getenv); err != nil {
		ch.Fail("gc-headroom", "%v", err)
	}
	if _, err := resolveMemoryLimit(c.MemoryLimit, os.Getenv, realHost); err != nil {
		ch.Fail("memory-limit", "%v", err)
	}
	c.Security.Validate(&ch, c.Listen)
	switch c.LogFormat {
	case "json", "console":
	default:
		ch.Fail("log-format", "must be json or console, got %q", c.LogFormat)
	}
	return ch.Err()
}

// DataFile is the path of the bbolt file.
func (c *Config) DataFile() string { return filepath.Join(c.DataDir, "catalogue.db") }

// SnapshotFile is the path of the search index snapshot: beside the data file, never in a backup (/backup
// streams only the bbolt file, and a restored file's new feed id makes an old snapshot unusable anyway).
func (c *Config) SnapshotFile() string { return snapshotFileIn(c.DataDir) }

func snapshotFileIn(dataDir string) string { return filepath.Join(dataDir, "catalogue.search") }

// Ready reports the bound addresses once the server serves (used by tests and the dev runner).
type Ready func(grpcAddr, adminAddr string)

// Run serves until ctx ends.
//
// The process listens at once with its health NOT_SERVING and loads the search index meanwhile (from the
// snapshot and the change feed, or by a rebuild from the store); calls to the catalogue wait for it (or are
// refused UNAVAILABLE SEARCH_INDEX_LOADING after a few seconds). Once the index is ready: the demo data when
// asked for, health SERVING, then the federation followers, the maintenance worker and the snapshot writer.
// A graceful stop writes the snapshot after the gRPC server stopped and before the store closes.
func Run(ctx context.Context, cfg Config, log *zap.Logger, ready Ready) error {
	start := time.Now()
	if ml, err := resolveMemoryLimit(cfg.MemoryLimit, os.Getenv, realHost); err != nil {
		return fmt.Errorf("--memory-limit %w", err)
	} else if cfg.MemoryLimit != "" {
		limit := ml.apply()
		log.Info("memory limit", zap.Int64("limit_mib", limit>>20), zap.String("from", ml.source))
	}
	gcRoom, err := resolveGCHeadroom(cfg.GCHeadroom, os.Getenv)
	if err != nil {
		return fmt.Errorf("--gc-headroom %w", err)
	}
	log.Info("gc headroom", zap.Bool("paced", gcRoom.pace), zap.Int64("max_mib", gcRoom.max>>20), zap.String("from", gcRoom.source))
	engine, err := cfg.Storage.Engine()
	if err != nil {
		return err
	}
	// The data directory holds the search index snapshot on every engine (bbolt's Open would create it for the
	// data file; on etcd nothing else does).
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	st, err := store.OpenOn(engine, cfg.DataFile(), log)
	if err != nil {
		return err
	}
	defer st.Close()
	srv := server.New(st, cfg.InstanceTERC, log)
	if cfg.indexWait > 0 {
		srv.SetIndexWait(cfg.indexWait)
	}
	sec, err := cfg.Security.Build(server.Policy)
	if err != nil {
		return err
	}
	if sec.Auth.Verifier == nil {
		log.Warn("no token issuer configured: only anonymous calls (the public catalogue) are possible")
	}
	gateUnary, gateStream := srv.IndexGate()
	gs := grpcserver.New(grpcserver.Config{
		Addr: cfg.Listen, AdminAddr: cfg.AdminListen,
		MaxRecvMsgBytes: cfg.MaxRecvBytes, ShutdownGrace: cfg.ShutdownGrace, DrainPeriod: cfg.Security.DrainPeriod,
		Auth: sec.Auth, Limits: sec.Limits,
	}, log, append(sec.Options, grpc.ForceServerCodecV2(srv.Codec()),
		grpc.ChainUnaryInterceptor(gateUnary), grpc.ChainStreamInterceptor(gateStream))...)
	cataloguev1.RegisterCatalogueServiceServer(gs.GRPC(), srv)
	gs.ReportHealth(cataloguev1.CatalogueService_ServiceDesc.ServiceName)
	indexReady := gs.HoldServing()
	gs.OnShutdown(srv.Shutdown)
	gs.HandleAdmin("/backup", auth.RequireAdmin(sec.Auth.Verifier, storage.BackupHandler(st.Backend(), "catalogue.db", log)))
	if cfg.ProviderAddr != "" {
		creds, err := grpcclient.Credentials(cfg.BackendCA, cfg.ClientCert, cfg.ClientKey)
		if err != nil {
			return err
		}
		conn, err := grpcclient.Dial(cfg.ProviderAddr, creds)
		if err != nil {
			return fmt.Errorf("--provider-addr: %w", err)
		}
		defer conn.Close()
		srv.SetProviderDirectory(server.RegistryDirectory{Client: providerv1.NewProviderServiceClient(conn)})
	}
	var syncer *federation.Syncer
	if cfg.PeersFile != "" {
		fed, err := federation.LoadConfig(cfg.PeersFile, cfg.InstanceTERC)
		if err != nil {
			return err
		}
		syncer = federation.New(fed, srv, log, gs.Registry(), federation.Options{MaxBatch: st.ImportBatchSize()})
		srv.SetPeerStatus(syncer.Status)
		log.Info("federation on", zap.Int("peers", len(fed.Peers)))
	}
	ls, err := gs.Listen()
	if err != nil {
		return err
	}
	if cfg.listening != nil {
		cfg.listening(ls.GRPC.Addr().String())
	}
	// Everything below runs in one errgroup, joined before Run returns and the deferred Close of the store
	// runs: the server, the index load, and once the index is ready the followers (they write into the store),
	// the maintenance worker and the snapshot writer. Any of them failing stops the others.
	// A commit whose outcome on disk is unknown ends Run with an error, for the supervisor to restart the
	// process: the restart re-reads the file, the search index and caches included (docs/decisions.md).
	ctx, finish := storage.Supervise(ctx, engine.Location(cfg.DataFile()))
	g, gctx := errgroup.WithContext(ctx)
	// The maintenance worker (change-log compaction, request-id expiry) stops with the server.
	mctx, stopMaintenance := context.WithCancel(gctx)
	g.Go(func() error { defer stopMaintenance(); return gs.Serve(gctx, ls) })
	// On etcd other replicas write to the same store: the index follows their writes from the revision read
	// before it loads (server/follow.go). On bbolt this process is the only writer.
	followFrom := int64(-1)
	if engine.Kind == storage.EngineEtcd {
		followFrom = srv.FollowFrom()
	}
	g.Go(func() error {
		load, err := srv.OpenIndex(gctx, cfg.SnapshotFile())
		if err != nil {
			if gctx.Err() != nil {
				return nil // stopped while loading
			}
			return fmt.Errorf("build search index: %w", err)
		}
		if load.Docs == 0 && cfg.DemoData {
			n, err := LoadDemo(gctx, srv, cfg.InstanceTERC)
			if err != nil {
				if gctx.Err() != nil {
					return nil // stopped while loading: a clean stop, not a failed start
				}
				return fmt.Errorf("load demo data: %w", err)
			}
			log.Info("demo catalogue loaded", zap.Int("services", n))
		}
		if cfg.indexLoaded != nil {
			cfg.indexLoaded()
		}
		if gctx.Err() != nil {
			return nil
		}
		// Calls go through from here; the workers start before the health says SERVING, so what a caller
		// sees once it does (the first compaction checkpoint included) is the steady state.
		if followFrom >= 0 {
			g.Go(func() error { return srv.Follow(gctx, followFrom) })
		}
		srv.MarkIndexReady()
		if syncer != nil {
			g.Go(func() error { syncer.Run(gctx); return nil })
		}
		maintain := cfg.maintain
		if maintain == nil {
			maintain = func(ctx context.Context) error { return st.Backend().RunMaintenance(ctx, cfg.Growth.Maintenance()) }
		}
		g.Go(func() error { return maintain(mctx) })
		if gcRoom.pace {
			// After the load (which runs with the collector off): the pacer's GOGC is for the steady state.
			g.Go(func() error { return newGCPacer(gcRoom, log).Run(gctx) })
		}
		g.Go(func() error {
			return srv.KeepSnapshots(gctx, cfg.SnapshotFile(), cfg.SnapshotInterval, int64(max(cfg.SnapshotChanges, 1)))
		})
		indexReady()
		log.Info("catalogue ready", zap.Int("services", srv.Index().Len()), zap.Duration("startup", time.Since(start)),
			zap.Bool("from_snapshot", load.FromSnapshot), zap.Int64("snapshot_revision", load.SnapshotRevision),
			zap.Int("changes_applied", load.CaughtUp), zap.String("instance_terc", cfg.InstanceTERC))
		if ready != nil {
			admin := ""
			if ls.Admin != nil {
				admin = ls.Admin.Addr().String()
			}
			ready(ls.GRPC.Addr().String(), admin)
		}
		return nil
	})
	err = finish(g.Wait())
	// A graceful stop: nothing writes any more (the server and the followers are joined). After a failure (of
	// the data file too) the snapshot on disk stays as it was; the next start catches up from it or rebuilds.
	if err == nil && srv.IndexReady() && srv.SnapshotDue(1) {
		began := time.Now()
		if meta, serr := srv.SaveIndex(cfg.SnapshotFile()); serr != nil {
			log.Warn("search index snapshot not written at shutdown", zap.Error(serr))
		} else {
			log.Info("search index snapshot written", zap.Int64("revision", meta.Revision), zap.Int("services", meta.Docs),
				zap.Duration("took", time.Since(began)))
		}
	}
	return err
}

// LoadDemo creates the demo catalogue of the instance (Jarocin's for TERC 3006023, otherwise Rawicz's) through
// the same handlers clients use, so it passes every rule.
func LoadDemo(ctx context.Context, srv *server.Server, terc string) (int, error) {
	var services []*cataloguev1.CreateServiceRequest
	var programmes []*cataloguev1.CreateProgrammeRequest
	var err error
	if terc == demo.JarocinTERC {
		services, err = demo.Jarocin()
	} else {
		services, programmes, err = demo.Rawicz()
	}
	if err != nil {
		return 0, err
	}
	for _, req := range services {
		if _, err := srv.CreateService(ctx, req); err != nil {
			return 0, fmt.Errorf("demo service %q: %w", req.GetService().GetDisplayName(), err)
		}
	}
	for _, req := range programmes {
		if _, err := srv.CreateProgramme(ctx, req); err != nil {
			return 0, fmt.Errorf("demo programme %q: %w", req.GetProgramme().GetDisplayName(), err)
		}
	}
	return len(services), nil
}
