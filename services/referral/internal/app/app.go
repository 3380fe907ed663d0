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
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/storage"
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
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:7003", "gRPC listen address")
	fs.StringVar(&c.AdminListen, "admin-listen", "127.0.0.1:9103", "admin HTTP address: /metrics and /backup (keep it private)")
	fs.StringVar(&c.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&c.CatalogueAddr, "catalogue-addr", "127.0.0.1:7001", "gRPC address of the catalogue service")
	fs.StringVar(&c.ProviderAddr, "provider-addr", "127.0.0.1:7002", "gRPC address of the provider service")
	fs.StringVar(&c.BackendCA, "backend-ca", "", "CA (PEM) of the catalogue's and provider's certificates; enables TLS to them")
	fs.StringVar(&c.ClientCert, "client-cert", "", "client certificate (PEM) for mTLS to the catalogue and provider")
	fs.StringVar(&c.ClientKey, "client-key", "", "client key (PEM)")
	fs.StringVar(&c.PESELKeyFile, "pesel-key-file", "", "file with the secret key (32+ bytes) of the PESEL keyed-hash index; default <data-dir>/pesel.key, created if missing")
	fs.StringVar(&c.IncomeCriteriaFile, "income-criteria-file", "", "JSON file of dated income criteria [{from, single_person_grosze, per_person_in_family_grosze}]; default: 2022-01-01 776/600 zł, 2025-01-01 1010/823 zł")
	fs.StringVar(&c.ServiceTokenFile, "service-token-file", "", "file with the bearer token (role integration) this service presents to the catalogue and provider services, re-read when it changes; default: the caller's token is forwarded")
	fs.BoolVar(&c.DemoData, "demo-data", false, "load demo residents, cases, a plan and referrals (CUS Rawicz) when the store is empty")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight calls get to finish on shutdown")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 3*time.Second, "deadline of each call to the catalogue and provider services")
	c.Security.RegisterFlags(fs)
}

// Validate checks the configuration, naming each bad setting.
func (c *Config) Validate() error {
	var ch config.Checker
	ch.Addr("listen", c.Listen)
	if c.AdminListen != "" {
		ch.Addr("admin-listen", c.AdminListen)
	}
	ch.Addr("catalogue-addr", c.CatalogueAddr)
	ch.Addr("provider-addr", c.ProviderAddr)
	if (c.ClientCert == "") != (c.ClientKey == "") {
		ch.Fail("client-cert", "--client-cert and --client-key go together")
	}
	if c.BackendCA == "" {
		for flagName, addr := range map[string]string{"catalogue-addr": c.CatalogueAddr, "provider-addr": c.ProviderAddr} {
			if !auth.IsLoopback(addr) {
				ch.Fail(flagName, "plaintext (callers' tokens are forwarded) is allowed only on loopback, not to %s; set --backend-ca", addr)
			}
		}
	}
	ch.NonEmpty("data-dir", c.DataDir)
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	ch.Positive("call-timeout", c.CallTimeout)
	c.Security.Validate(&ch, c.Listen)
	return ch.Err()
}

// DataFile is the path of the bbolt file.
func (c *Config) DataFile() string { return filepath.Join(c.DataDir, "referral.db") }

// LoadPESELKey reads the index key, creating a random one when the file is missing.
func LoadPESELKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return b, os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("pesel-key-file: the key must be at least 32 bytes")
	}
	return b, nil
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

// Ready reports the bound addresses once the server serves.
type Ready func(grpcAddr, adminAddr string)

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config, log *zap.Logger, ready Ready) error {
	keyFile := cfg.PESELKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "pesel.key")
	}
	key, err := LoadPESELKey(keyFile)
	if err != nil {
		return err
	}
	criteria := domain.DefaultCriteria()
	if cfg.IncomeCriteriaFile != "" {
		if criteria, err = domain.LoadCriteria(cfg.IncomeCriteriaFile); err != nil {
			return err
		}
	}
	st, err := store.Open(cfg.DataFile(), key, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.DemoData {
		// Through the service's handlers, with a copy of the demo catalogue and agreements instead of calls
		// to the other services (see package demo); nothing happens when the store already holds residents.
		sum, err := demo.Load(ctx, st, server.Options{Criteria: criteria, CallTimeout: cfg.CallTimeout}, log)
		if err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		if sum.Residents == 0 {
			log.Info("demo data not loaded: the store is not empty")
		}
	}
	creds := insecure.NewCredentials()
	if cfg.BackendCA != "" {
		tc, err := auth.ClientTLS(cfg.ClientCert, cfg.ClientKey, cfg.BackendCA)
		if err != nil {
			return fmt.Errorf("--backend-ca: %w", err)
		}
		creds = credentials.NewTLS(tc)
	}
	catConn, err := grpc.NewClient(cfg.CatalogueAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer catConn.Close()
	provConn, err := grpc.NewClient(cfg.ProviderAddr, grpc.WithTransportCredentials(creds))
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
	srv := server.New(st, cataloguev1.NewCatalogueServiceClient(catConn), providerv1.NewProviderServiceClient(provConn), log,
		server.Options{Criteria: criteria, CallTimeout: cfg.CallTimeout, ServiceToken: tokens})
	opts := append(sec.Options, server.AuditDenials(st, sec.Auth.Verifier)...)
	opts = append(opts, server.RedactForProviders()...)
	gs := grpcserver.New(grpcserver.Config{Addr: cfg.Listen, AdminAddr: cfg.AdminListen, ShutdownGrace: cfg.ShutdownGrace, Auth: sec.Auth, Limits: sec.Limits}, log, opts...)
	referralv1.RegisterReferralServiceServer(gs.GRPC(), srv)
	gs.ReportHealth(referralv1.ReferralService_ServiceDesc.ServiceName)
	gs.OnShutdown(srv.Shutdown)
	// The copy holds personal data: only an admin token gets it (the admin address is reachable by every local
	// process and by monitoring), and backups are kept like the data file itself. The PESEL index key
	// (pesel.key) is not in it: keep it with the backup.
	gs.HandleAdmin("/backup", auth.RequireAdmin(sec.Auth.Verifier, storage.BackupHandler(st, "referral.db", log)))
	go srv.RetryReleases(ctx, 30*time.Second)
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
	return gs.Serve(ctx, ls)
}
