// Package app wires the referral process: configuration, the PESEL index key, storage, clients of the
// catalogue and provider services, and the gRPC server. cmd/referral only parses arguments and calls it.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/grpcclient"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/platform/webhook"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/demo"
	"github.com/cus-suite/cus/services/referral/internal/domain"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// Config of the referral process. Every field has a flag and a CUS_ environment variable.
type Config struct {
	Listen             string
	AdminListen        string
	DataDir            string
	CatalogueAddr      string
	ProviderAddr       string
	PESELKeyFile       string
	DataKeyFile        string
	IncomeCriteriaFile string
	ServiceTokenFile   string
	DemoData           bool
	LogLevel           string
	LogFormat          string
	ShutdownGrace      time.Duration
	CallTimeout        time.Duration
	// BackendCA, ClientCert and ClientKey switch the calls to the catalogue and provider services to TLS
	// (mTLS with a certificate). The referral service forwards its callers' tokens on these calls, so
	// plaintext is allowed only to loopback addresses.
	BackendCA  string
	ClientCert string
	ClientKey  string
	Security   grpcserver.SecurityFlags
	Growth     storage.GrowthFlags
	Storage    storage.EngineFlags
	// Audit and watches (see docs/referral.md).
	AuditAnchorFile     string
	AuditInterval       time.Duration
	AuditRetention      time.Duration
	MaxWatchesPerCaller int
	MaxWatches          int
	WatchHeartbeat      time.Duration
	// Webhooks (docs/webhooks.md).
	WebhookAllow         string
	WebhookTimeout       time.Duration
	WebhookMaxFailures   int
	WebhookFailureWindow time.Duration
	WebhookConcurrency   int
	WebhookCataloguePoll time.Duration
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7003", "gRPC listen address")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:9103", "admin HTTP address: /metrics, /backup and /readyz (keep it private)")
	fs.StringVar(&c.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&c.CatalogueAddr, "catalogue-addr", "127.0.0.1:7001", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the catalogue service")
	fs.StringVar(&c.ProviderAddr, "provider-addr", "127.0.0.1:7002", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the provider service")
	fs.StringVar(&c.BackendCA, "backend-ca", "", "CA (PEM) of the catalogue's and provider's certificates; enables TLS to them")
	fs.StringVar(&c.ClientCert, "client-cert", "", "client certificate (PEM) for mTLS to the catalogue and provider")
	fs.StringVar(&c.ClientKey, "client-key", "", "client key (PEM)")
	fs.StringVar(&c.PESELKeyFile, "pesel-key-file", "", "file with the secret key (32+ bytes) of the PESEL keyed-hash index; default <data-dir>/pesel.key; created only for a new store, refused when it does not match the data")
	fs.StringVar(&c.DataKeyFile, "data-key-file", "", "key ring (JSON, mode 0600) that encrypts residents' records at rest, outside --data-dir; default <parent of data-dir>/referral-data.keys; created only for a new store (see `referral keys`)")
	fs.StringVar(&c.IncomeCriteriaFile, "income-criteria-file", "", "JSON file of dated income criteria [{from, single_person_grosze, per_person_in_family_grosze}]; default: 2022-01-01 776/600 zł, 2025-01-01 1010/823 zł")
	fs.StringVar(&c.ServiceTokenFile, "service-token-file", "", "file with the bearer token (role integration) this service presents to the catalogue and provider services, re-read when it changes; default: the caller's token is forwarded")
	fs.BoolVar(&c.DemoData, "demo-data", false, "load demo residents, cases, a plan and referrals (CUS Rawicz) when the store is empty")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight calls get to finish on shutdown")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 3*time.Second, "deadline of each call to the catalogue and provider services")
	fs.StringVar(&c.AuditAnchorFile, "audit-anchor-file", "", "append-only file (keep it off the data disk) where the audit chain's head is anchored each --audit-interval and at shutdown; VerifyAuditChain checks the chain against it; empty: no anchoring")
	fs.DurationVar(&c.AuditInterval, "audit-interval", time.Minute, "how often refusals of anonymous callers and invalid tokens are written as one summary entry, and the audit head is anchored")
	registerAuditRetention(fs, &c.AuditRetention)
	fs.IntVar(&c.MaxWatchesPerCaller, "max-watches-per-caller", 8, "open WatchReferrals streams one principal may hold")
	fs.IntVar(&c.MaxWatches, "max-watches", 512, "open WatchReferrals streams of all callers together")
	fs.DurationVar(&c.WatchHeartbeat, "watch-heartbeat", 15*time.Second, "interval of heartbeats (the revision reached) on WatchReferrals streams")
	fs.StringVar(&c.WebhookAllow, "webhook-allow", "", "where webhooks may be delivered, comma-separated: hosts (hooks.example.org, *.gmina.pl: https), URL prefixes (https://crm.gmina.pl/cus/; http only to a loopback IP literal) and address ranges a target may resolve to (10.20.0.0/16); empty: webhooks are refused")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", 10*time.Second, "deadline of one webhook delivery (connect, TLS, answer)")
	fs.IntVar(&c.WebhookMaxFailures, "webhook-max-failures", 20, "consecutive failed deliveries (spanning --webhook-failure-window) that disable a webhook")
	fs.DurationVar(&c.WebhookFailureWindow, "webhook-failure-window", 24*time.Hour, "a webhook is disabled only when its failures have lasted this long too")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", 8, "webhook deliveries in flight at once")
	fs.DurationVar(&c.WebhookCataloguePoll, "webhook-catalogue-poll", 15*time.Second, "how often the catalogue's change feed is read while a webhook wants catalogue events (needs --service-token-file)")
	c.Security.RegisterFlags(fs)
	c.Growth.RegisterFlags(fs)
	c.Storage.RegisterFlags(fs, "referral")
}

// Webhooks builds the webhook options from the flags (the allowlist parsed).
func (c *Config) Webhooks() (server.WebhookOptions, error) {
	g, err := webhook.ParseAllowlist([]string{c.WebhookAllow})
	if err != nil {
		return server.WebhookOptions{}, err
	}
	window := c.WebhookFailureWindow
	if window == 0 {
		window = -1 // zero given: the count alone (the server reads 0 as its default)
	}
	return server.WebhookOptions{Guard: g, Timeout: c.WebhookTimeout, MaxFailures: c.WebhookMaxFailures, FailureWindow: window,
		Concurrency: c.WebhookConcurrency, CataloguePoll: c.WebhookCataloguePoll}, nil
}

// Validate checks the configuration, naming each bad setting.
func (c *Config) Validate() error {
	var ch config.Checker
	ch.Addr("listen", c.Listen)
	if c.AdminListen != "" {
		ch.Addr("admin-listen", c.AdminListen)
	}
	grpcclient.CheckAddr(&ch, "catalogue-addr", c.CatalogueAddr)
	grpcclient.CheckAddr(&ch, "provider-addr", c.ProviderAddr)
	if (c.ClientCert == "") != (c.ClientKey == "") {
		ch.Fail("client-cert", "--client-cert and --client-key go together")
	}
	if c.BackendCA == "" {
		for flagName, addr := range map[string]string{"catalogue-addr": c.CatalogueAddr, "provider-addr": c.ProviderAddr} {
			if !grpcclient.IsLoopback(addr) {
				ch.Fail(flagName, "plaintext (callers' tokens are forwarded) is allowed only on loopback, not to %s; set --backend-ca", addr)
			}
		}
	}
	ch.NonEmpty("data-dir", c.DataDir)
	if _, err := c.Storage.Engine(); err != nil {
		ch.Fail("storage-engine", "%v", err)
	}
	if c.DataDir != "" && Inside(c.DataKeyPath(), c.DataDir) {
		ch.Fail("data-key-file", "%s is inside --data-dir %s: keep the data key ring apart from the data it protects (a secret store, a credentials directory)", c.DataKeyPath(), c.DataDir)
	}
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	ch.Positive("call-timeout", c.CallTimeout)
	// Zero keeps the server's default (as when Config is built without flags).
	if c.AuditInterval < 0 {
		ch.Fail("audit-interval", "must not be negative, got %s", c.AuditInterval)
	}
	if c.AuditRetention != 0 { // zero: the default, as when Config is built without flags
		if err := store.CheckAuditRetention(c.AuditRetention); err != nil {
			ch.Fail("audit-retention", "%v", err)
		}
	}
	if c.WatchHeartbeat < 0 {
		ch.Fail("watch-heartbeat", "must not be negative, got %s", c.WatchHeartbeat)
	}
	if c.MaxWatchesPerCaller < 0 || c.MaxWatches < 0 || c.MaxWatches > 0 && c.MaxWatchesPerCaller > c.MaxWatches {
		ch.Fail("max-watches", "--max-watches-per-caller (%d) must be at most --max-watches (%d), neither negative", c.MaxWatchesPerCaller, c.MaxWatches)
	}
	if _, err := c.Webhooks(); err != nil {
		ch.Fail("webhook-allow", "%v", err)
	}
	if c.WebhookTimeout < 0 || c.WebhookCataloguePoll < 0 || c.WebhookFailureWindow < 0 {
		ch.Fail("webhook-timeout", "--webhook-timeout, --webhook-catalogue-poll and --webhook-failure-window must not be negative")
	}
	if c.WebhookMaxFailures < 0 || c.WebhookConcurrency < 0 {
		ch.Fail("webhook-max-failures", "--webhook-max-failures and --webhook-concurrency must not be negative")
	}
	c.Security.Validate(&ch, c.Listen)
	return ch.Err()
}

// DataFile is the path of the bbolt file.
func (c *Config) DataFile() string { return filepath.Join(c.DataDir, "referral.db") }

// PESELKeyPath is the PESEL index key file: --pesel-key-file or <data-dir>/pesel.key.
func (c *Config) PESELKeyPath() string {
	if c.PESELKeyFile != "" {
		return c.PESELKeyFile
	}
	return filepath.Join(c.DataDir, "pesel.key")
}

// DataKeyPath is the data key ring file: --data-key-file or referral-data.keys beside the data directory
// (outside it, so a copy of the data directory does not carry the key).
func (c *Config) DataKeyPath() string {
	if c.DataKeyFile != "" {
		return c.DataKeyFile
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		abs = c.DataDir
	}
	return filepath.Join(filepath.Dir(abs), "referral-data.keys")
}

// Inside says whether path lies in dir (symbolic links of existing parents resolved).
func Inside(path, dir string) bool {
	resolve := func(p string) string {
		p, err := filepath.Abs(p)
		if err != nil {
			return filepath.Clean(p)
		}
		// Resolve the longest existing prefix, so a link to the data directory is seen through.
		rest := ""
		for q := p; ; q = filepath.Dir(q) {
			if r, err := filepath.EvalSymlinks(q); err == nil {
				return filepath.Join(r, rest)
			}
			if filepath.Dir(q) == q {
				return p
			}
			rest = filepath.Join(filepath.Base(q), rest)
		}
	}
	rel, err := filepath.Rel(resolve(dir), resolve(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// LoadPESELKey reads the index key. A missing file gets a new random key only when mayCreate (a new store:
// no residents, no key fingerprint); otherwise the start is refused, because a new key would make every
// lookup and duplicate check by PESEL quietly find nobody.
func LoadPESELKey(path string, mayCreate bool) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if !mayCreate {
			return nil, false, fmt.Errorf("pesel-key-file %s does not exist, but the data file holds residents indexed under a PESEL key: "+
				"put the original key there (a new key would make every lookup and duplicate check by PESEL find nobody)", path)
		}
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		return b, true, os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return nil, false, err
	}
	if len(b) < 32 {
		return nil, false, fmt.Errorf("pesel-key-file: the key must be at least 32 bytes")
	}
	return b, false, nil
}

// LoadDataKeys reads the data key ring. A missing file gets a new ring only when mayCreate (the data file
// needs no data key yet); otherwise the start is refused, naming the keys the data needs.
func LoadDataKeys(path string, needed []string, log *zap.Logger) (*store.KeyRing, error) {
	ring, warning, err := store.LoadKeyRing(path)
	if errors.Is(err, os.ErrNotExist) {
		if len(needed) > 0 {
			return nil, fmt.Errorf("data-key-file %s does not exist, but the data file's records are encrypted with key %s: "+
				"restore the key ring file from the secret store", path, strings.Join(needed, ", "))
		}
		if ring, err = store.NewKeyRing(); err != nil {
			return nil, err
		}
		if err := store.WriteKeyRing(path, ring); err != nil {
			return nil, fmt.Errorf("data-key-file: %w", err)
		}
		log.Warn("created a new data key ring: keep it in the secret store, apart from the data and its backups",
			zap.String("file", path), zap.String("key_id", ring.Primary()))
		return ring, nil
	}
	if err != nil {
		return nil, err
	}
	if warning != "" {
		log.Warn(warning)
	}
	return ring, nil
}

// openStore loads the PESEL index key and the data key ring, creating them only for a new store, and opens
// the store, which refuses keys that do not match its fingerprints.
func openStore(cfg Config, log *zap.Logger) (*store.Store, error) {
	info, err := store.Inspect(cfg.DataFile())
	if err != nil {
		return nil, err
	}
	var needed []string
	for id := range info.DataKeys {
		needed = append(needed, id)
	}
	sort.Strings(needed)
	ring, err := LoadDataKeys(cfg.DataKeyPath(), needed, log)
	if err != nil {
		return nil, err
	}
	key, created, err := LoadPESELKey(cfg.PESELKeyPath(), info.Residents == 0 && info.PESELFingerprint == nil)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("created a new PESEL index key for a new store: keep it in the secret store", zap.String("file", cfg.PESELKeyPath()))
	}
	engine, err := cfg.Storage.Engine()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DataFile(), key, log, store.WithDataKeys(ring), store.WithEngine(engine))
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", cfg.DataFile(), err)
	}
	return st, nil
}

// serviceToken says which token the service presents to the provider and catalogue services: the one in
// --service-token-file (role integration) when set, otherwise none, and the caller's token is forwarded (the
// provider registry lets provider staff reserve and release on their own agreements).
func serviceToken(cfg Config) (func() string, error) {
	switch {
	case cfg.ServiceTokenFile != "":
		if _, err := os.Stat(cfg.ServiceTokenFile); err != nil {
			return nil, fmt.Errorf("service-token-file: %w", err)
		}
		var mu sync.Mutex
		var tok string
		var mod time.Time
		return func() string {
			mu.Lock()
			defer mu.Unlock()
			if fi, err := os.Stat(cfg.ServiceTokenFile); err == nil && !fi.ModTime().Equal(mod) {
				if b, err := os.ReadFile(cfg.ServiceTokenFile); err == nil {
					tok, mod = strings.TrimSpace(string(b)), fi.ModTime()
				}
			}
			return tok
		}, nil
	}
	return nil, nil
}

// storeOpened sees the store Run opened (tests inject storage faults through it).
var storeOpened = func(*store.Store) {}

// Ready reports the bound addresses once the server serves.
type Ready func(grpcAddr, adminAddr string)

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config, log *zap.Logger, ready Ready) error {
	criteria := domain.DefaultCriteria()
	var err error
	if cfg.IncomeCriteriaFile != "" {
		if criteria, err = domain.LoadCriteria(cfg.IncomeCriteriaFile); err != nil {
			return err
		}
	}
	if cfg.AuditAnchorFile != "" {
		// Fail at start, not at the first anchor, when the file cannot be appended to.
		f, err := os.OpenFile(cfg.AuditAnchorFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("--audit-anchor-file: %w", err)
		}
		f.Close()
	}
	st, err := openStore(cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	warnAuditDue(st, cfg.AuditRetention, log)
	storeOpened(st)
	if cfg.DemoData {
		// Through the service's handlers, with a copy of the demo catalogue and agreements instead of calls
		// to the other services (see package demo); nothing happens when the store already holds residents.
		sum, err := demo.Load(ctx, st, server.Options{Criteria: criteria, CallTimeout: cfg.CallTimeout}, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while loading: a clean stop, not a failed start
			}
			return fmt.Errorf("load demo data: %w", err)
		}
		if sum.Residents == 0 {
			log.Info("demo data not loaded: the store is not empty")
		}
	}
	creds, err := grpcclient.Credentials(cfg.BackendCA, cfg.ClientCert, cfg.ClientKey)
	if err != nil {
		return err
	}
	catConn, err := grpcclient.Dial(cfg.CatalogueAddr, creds)
	if err != nil {
		return err
	}
	defer catConn.Close()
	provConn, err := grpcclient.Dial(cfg.ProviderAddr, creds)
	if err != nil {
		return err
	}
	defer provConn.Close()
	sec, err := cfg.Security.Build(server.Policy)
	if err != nil {
		return err
	}
	tokens, err := serviceToken(cfg)
	if err != nil {
		return err
	}
	hooks, err := cfg.Webhooks()
	if err != nil {
		return fmt.Errorf("--webhook-allow: %w", err)
	}
	srv := server.New(st, cataloguev1.NewCatalogueServiceClient(catConn), providerv1.NewProviderServiceClient(provConn), log,
		server.Options{Criteria: criteria, CallTimeout: cfg.CallTimeout, ServiceToken: tokens, AuditAnchorFile: cfg.AuditAnchorFile,
			AuditInterval: cfg.AuditInterval, MaxWatchesPerCaller: cfg.MaxWatchesPerCaller, MaxWatches: cfg.MaxWatches, WatchHeartbeat: cfg.WatchHeartbeat,
			Webhooks: hooks})
	// The workers (release retries, refusal summaries, audit anchors, webhook deliveries) outlive the serving, so the last summary
	// and anchor come after the last call; they are joined before the store closes (deferred above).
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() { srv.Run(wctx) })
	workers.Go(func() { _ = st.RunMaintenance(wctx, cfg.Growth.Maintenance()) })
	defer func() { stopWorkers(); workers.Wait() }()
	// A data file left in an unknown state (a compaction whose swap could not be made durable) refuses writes
	// and stops the service: health goes NOT_SERVING as it drains, and the process exits with the cause for
	// its supervisor to restart it; the next Open finishes the journaled compaction.
	opts := append(sec.Options, srv.AuditDenials(sec.Auth.Verifier)...)
	opts = append(opts, server.RedactForProviders()...)
	gs := grpcserver.New(grpcserver.Config{Addr: cfg.Listen, AdminAddr: cfg.AdminListen, ShutdownGrace: cfg.ShutdownGrace, DrainPeriod: cfg.Security.DrainPeriod, Auth: sec.Auth, Limits: sec.Limits}, log, opts...)
	referralv1.RegisterReferralServiceServer(gs.GRPC(), srv)
	gs.ReportHealth(referralv1.ReferralService_ServiceDesc.ServiceName)
	gs.OnShutdown(srv.Shutdown)
	// The copy holds personal data: only an admin token gets it (the admin address is reachable by every local
	// process and by monitoring). The residents' records in it are encrypted; neither the data key ring nor the
	// PESEL key is in it: keep both apart from backups (and the ring a backup needs for as long as the backup).
	gs.HandleAdmin("/backup", auth.RequireAdmin(sec.Auth.Verifier, storage.BackupHandler(st, "referral.db", log)))
	ls, err := gs.Listen()
	if err != nil {
		return err
	}
	log.Info("referral ready")
	if ready != nil {
		admin := ""
		if ls.Admin != nil {
			admin = ls.Admin.Addr().String()
		}
		ready(ls.GRPC.Addr().String(), admin)
	}
	// A commit whose outcome on disk is unknown, or a compaction whose swap could not be made durable, ends Run
	// with an error (health NOT_SERVING while the server drains), for the supervisor to restart the process and
	// read the file again (docs/decisions.md).
	ctx, finish := storage.Supervise(ctx, cfg.Storage.Location(cfg.DataFile()))
	return finish(gs.Serve(ctx, ls))
}
