package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
)

// memberConfig is one member's configuration, filled from flags and environment, then validated.
type memberConfig struct {
	Name                string
	DataDir             string
	ListenClient        string
	ListenPeer          string
	AdvertiseClient     string
	AdvertisePeer       string
	InitialCluster      string
	InitialClusterState string
	InitialClusterToken string

	QuotaBackendBytes       int64
	MaxRequestBytes         uint
	MaxTxnOps               uint
	AutoCompactionMode      string
	AutoCompactionRetention string
	SnapshotCount           uint64
	HeartbeatMs             uint
	ElectionMs              uint

	// TLS: a member that listens beyond loopback must have it (the suite's rule for every listener).
	CertFile, KeyFile, TrustedCAFile             string
	PeerCertFile, PeerKeyFile, PeerTrustedCAFile string

	LogLevel, LogFormat string
	StartTimeout        time.Duration
}

func (c *memberConfig) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Name, "name", "e0", "name of this member, unique in the cluster and listed in --initial-cluster")
	fs.StringVar(&c.DataDir, "data-dir", "var/etcd/e0", "directory of this member's write-ahead log, snapshots and database")
	fs.StringVar(&c.ListenClient, "listen-client", "127.0.0.1:2379", "address (host:port) of the client API, /health and /metrics")
	fs.StringVar(&c.ListenPeer, "listen-peer", "127.0.0.1:2380", "address (host:port) where the other members reach this one")
	fs.StringVar(&c.AdvertiseClient, "advertise-client", "", "client address announced to clients (default: --listen-client; set it when listening on 0.0.0.0)")
	fs.StringVar(&c.AdvertisePeer, "advertise-peer", "", "peer address announced to the other members (default: --listen-peer)")
	fs.StringVar(&c.InitialCluster, "initial-cluster", "", "every member of a new cluster as name=peer-URL,... (default: this member alone)")
	fs.StringVar(&c.InitialClusterState, "initial-cluster-state", "new", "new (bootstrap a cluster) or existing (join one that runs); ignored once the data dir holds a member")
	fs.StringVar(&c.InitialClusterToken, "initial-cluster-token", "cus-etcd", "token of the cluster, different per cluster, so members of two clusters never join by mistake")
	fs.Int64Var(&c.QuotaBackendBytes, "quota-backend-bytes", 2<<30, "database size at which the member raises a NOSPACE alarm and refuses writes (etcd's default 2 GiB; at most 8 GiB is recommended)")
	fs.UintVar(&c.MaxRequestBytes, "max-request-bytes", embed.DefaultMaxRequestBytes, "largest request a client may send, in bytes (etcd's default 1.5 MiB)")
	fs.UintVar(&c.MaxTxnOps, "max-txn-ops", embed.DefaultMaxTxnOps, "most operations in one transaction (etcd's default 128)")
	fs.StringVar(&c.AutoCompactionMode, "auto-compaction-mode", "periodic", "periodic (keep --auto-compaction-retention of history as a duration) or revision (keep that many revisions)")
	fs.StringVar(&c.AutoCompactionRetention, "auto-compaction-retention", "1h", "history kept for watches that resume from a revision: a duration (periodic) or a count (revision); 0 disables")
	fs.Uint64Var(&c.SnapshotCount, "snapshot-count", 10000, "applied entries between raft snapshots")
	fs.UintVar(&c.HeartbeatMs, "heartbeat-interval", 100, "raft heartbeat interval in milliseconds")
	fs.UintVar(&c.ElectionMs, "election-timeout", 1000, "raft election timeout in milliseconds (at least 5 heartbeats)")
	fs.StringVar(&c.CertFile, "cert-file", "", "certificate (PEM) of the client listener; with --key-file it serves TLS")
	fs.StringVar(&c.KeyFile, "key-file", "", "key (PEM) of the client listener")
	fs.StringVar(&c.TrustedCAFile, "trusted-ca-file", "", "CA (PEM) of client certificates; when set, every client must present one")
	fs.StringVar(&c.PeerCertFile, "peer-cert-file", "", "certificate (PEM) of the peer listener and of this member towards its peers")
	fs.StringVar(&c.PeerKeyFile, "peer-key-file", "", "key (PEM) of --peer-cert-file")
	fs.StringVar(&c.PeerTrustedCAFile, "peer-trusted-ca-file", "", "CA (PEM) of the peers' certificates (peers must present one)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.DurationVar(&c.StartTimeout, "start-timeout", 5*time.Minute, "how long a member waits for a quorum of its peers before giving up")
}

// validate checks the configuration, naming each bad setting.
func (c *memberConfig) validate() error {
	var ch config.Checker
	ch.NonEmpty("name", c.Name)
	ch.NonEmpty("data-dir", c.DataDir)
	ch.Addr("listen-client", c.ListenClient)
	ch.Addr("listen-peer", c.ListenPeer)
	if c.AdvertiseClient != "" {
		ch.Addr("advertise-client", c.AdvertiseClient)
	}
	if c.AdvertisePeer != "" {
		ch.Addr("advertise-peer", c.AdvertisePeer)
	}
	if c.InitialCluster != "" {
		if members, err := parseInitialCluster(c.InitialCluster, c.Name); err != nil {
			ch.Fail("initial-cluster", "%v", err)
		} else if own, want := members[c.Name], c.peerURL(); strings.TrimSuffix(own.String(), "/") != want {
			// etcd would refuse the mismatch too, but later and naming none of these flags.
			ch.Fail("initial-cluster", "lists this member (--name %s) as %s, but it announces %s (from --advertise-peer or --listen-peer, https with --peer-cert-file)",
				c.Name, own, want)
		}
	}
	switch c.InitialClusterState {
	case embed.ClusterStateFlagNew, embed.ClusterStateFlagExisting:
	default:
		ch.Fail("initial-cluster-state", "must be new or existing, got %q", c.InitialClusterState)
	}
	ch.NonEmpty("initial-cluster-token", c.InitialClusterToken)
	if c.QuotaBackendBytes < 16<<20 || c.QuotaBackendBytes > 8<<30 {
		ch.Fail("quota-backend-bytes", "must be between 16 MiB and 8 GiB (etcd's recommended maximum), got %d", c.QuotaBackendBytes)
	}
	if c.MaxRequestBytes < 64<<10 || c.MaxRequestBytes > 64<<20 {
		ch.Fail("max-request-bytes", "must be between 64 KiB and 64 MiB, got %d", c.MaxRequestBytes)
	}
	if c.MaxTxnOps < 16 {
		ch.Fail("max-txn-ops", "must be at least 16, got %d", c.MaxTxnOps)
	}
	switch c.AutoCompactionMode {
	case "periodic":
		if d, err := time.ParseDuration(c.AutoCompactionRetention); err != nil {
			ch.Fail("auto-compaction-retention", "periodic mode wants a duration such as 1h, got %q", c.AutoCompactionRetention)
		} else if d < 0 {
			ch.Fail("auto-compaction-retention", "must not be negative, got %q", c.AutoCompactionRetention)
		}
	case "revision":
		if _, err := strconv.ParseUint(c.AutoCompactionRetention, 10, 64); err != nil {
			ch.Fail("auto-compaction-retention", "revision mode wants a count of revisions, got %q", c.AutoCompactionRetention)
		}
	default:
		ch.Fail("auto-compaction-mode", "must be periodic or revision, got %q", c.AutoCompactionMode)
	}
	if c.HeartbeatMs == 0 || c.ElectionMs < 5*c.HeartbeatMs {
		ch.Fail("election-timeout", "must be at least 5 heartbeat intervals (%d ms), got %d ms", 5*c.HeartbeatMs, c.ElectionMs)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		ch.Fail("cert-file", "--cert-file and --key-file go together")
	}
	if (c.PeerCertFile == "") != (c.PeerKeyFile == "") {
		ch.Fail("peer-cert-file", "--peer-cert-file and --peer-key-file go together")
	}
	// A CA without a certificate would be ignored by etcd (no TLS listener to ask for client certificates),
	// leaving an operator believing clients are checked when they are not.
	if c.TrustedCAFile != "" && c.CertFile == "" {
		ch.Fail("trusted-ca-file", "client certificates are checked only over TLS; set --cert-file and --key-file too")
	}
	if c.PeerTrustedCAFile != "" && c.PeerCertFile == "" {
		ch.Fail("peer-trusted-ca-file", "peer certificates are checked only over TLS; set --peer-cert-file and --peer-key-file too")
	}
	// etcd has no authentication of its own here: whoever reaches the client port reads and writes every key
	// (the referral's sealed records included) and whoever reaches the peer port speaks raft. Beyond loopback
	// TLS alone only hides the traffic, so a CA is required too, making client and peer certificates mandatory.
	if !auth.IsLoopback(c.ListenClient) {
		if c.CertFile == "" {
			ch.Fail("listen-client", "plaintext is allowed only on loopback, not on %s; set --cert-file and --key-file", c.ListenClient)
		} else if c.TrustedCAFile == "" {
			ch.Fail("trusted-ca-file", "required when --listen-client is beyond loopback (%s): without it any client that reaches the port reads and writes every key", c.ListenClient)
		}
	}
	if !auth.IsLoopback(c.ListenPeer) {
		if c.PeerCertFile == "" {
			ch.Fail("listen-peer", "plaintext is allowed only on loopback, not on %s; set --peer-cert-file and --peer-key-file", c.ListenPeer)
		} else if c.PeerTrustedCAFile == "" {
			ch.Fail("peer-trusted-ca-file", "required when --listen-peer is beyond loopback (%s): without it anyone who reaches the port can join raft", c.ListenPeer)
		}
	}
	ch.Positive("start-timeout", c.StartTimeout)
	switch c.LogFormat {
	case "json", "console":
	default:
		ch.Fail("log-format", "must be json or console, got %q", c.LogFormat)
	}
	return ch.Err()
}

// peerURL is the peer URL this member announces to the others.
func (c *memberConfig) peerURL() string {
	scheme, host := "http", c.AdvertisePeer
	if c.PeerCertFile != "" {
		scheme = "https"
	}
	if host == "" {
		host = c.ListenPeer
	}
	return scheme + "://" + host
}

// parseInitialCluster checks name=URL,... and that name is among the members. A member beyond loopback must
// be reached over https: peers speak raft, and a plaintext peer port beyond loopback is refused by validate.
func parseInitialCluster(s, name string) (map[string]*url.URL, error) {
	members := map[string]*url.URL{}
	for _, part := range strings.Split(s, ",") {
		n, u, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || n == "" {
			return nil, fmt.Errorf("%q is not name=peer-URL", part)
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Port() == "" {
			return nil, fmt.Errorf("member %s: %q is not a peer URL such as http://127.0.0.1:2380", n, u)
		}
		if pu.Scheme != "https" && !auth.IsLoopback(pu.Host) {
			return nil, fmt.Errorf("member %s: %q is plaintext beyond loopback; peers there speak https", n, u)
		}
		if _, dup := members[n]; dup {
			return nil, fmt.Errorf("member %s listed twice", n)
		}
		members[n] = pu
	}
	if _, ok := members[name]; !ok {
		return nil, fmt.Errorf("does not list this member (--name %s)", name)
	}
	return members, nil
}

// embedConfig turns the validated configuration into etcd's.
func (c *memberConfig) embedConfig(log *zap.Logger) *embed.Config {
	clientScheme, peerScheme := "http", "http"
	if c.CertFile != "" {
		clientScheme = "https"
	}
	if c.PeerCertFile != "" {
		peerScheme = "https"
	}
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	cfg.Dir = c.DataDir
	cfg.ListenClientUrls = []url.URL{{Scheme: clientScheme, Host: c.ListenClient}}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: clientScheme, Host: or(c.AdvertiseClient, c.ListenClient)}}
	cfg.ListenPeerUrls = []url.URL{{Scheme: peerScheme, Host: c.ListenPeer}}
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: peerScheme, Host: or(c.AdvertisePeer, c.ListenPeer)}}
	cfg.InitialCluster = or(c.InitialCluster, c.Name+"="+cfg.AdvertisePeerUrls[0].String())
	cfg.ClusterState = c.InitialClusterState
	cfg.InitialClusterToken = c.InitialClusterToken
	cfg.QuotaBackendBytes = c.QuotaBackendBytes
	cfg.MaxRequestBytes = c.MaxRequestBytes
	cfg.MaxTxnOps = c.MaxTxnOps
	cfg.AutoCompactionMode = c.AutoCompactionMode
	cfg.AutoCompactionRetention = c.AutoCompactionRetention
	cfg.SnapshotCount = c.SnapshotCount
	cfg.TickMs = c.HeartbeatMs
	cfg.ElectionMs = c.ElectionMs
	// The suite talks gRPC to etcd; its JSON gateway would be one more unauthenticated surface.
	cfg.EnableGRPCGateway = false
	cfg.ClientTLSInfo.CertFile = c.CertFile
	cfg.ClientTLSInfo.KeyFile = c.KeyFile
	cfg.ClientTLSInfo.TrustedCAFile = c.TrustedCAFile
	cfg.ClientTLSInfo.ClientCertAuth = c.TrustedCAFile != ""
	cfg.PeerTLSInfo.CertFile = c.PeerCertFile
	cfg.PeerTLSInfo.KeyFile = c.PeerKeyFile
	cfg.PeerTLSInfo.TrustedCAFile = c.PeerTrustedCAFile
	cfg.PeerTLSInfo.ClientCertAuth = c.PeerTrustedCAFile != ""
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(log)
	return cfg
}

// run parses args and runs one member until ctx ends (SIGTERM, SIGINT) or the member fails. onLogger, when
// not nil, sees the logger first (main routes gRPC's process-wide log through it); ready, when not nil,
// receives the client URL once the member serves (tests use it).
func run(ctx context.Context, args []string, getenv func(string) string, onLogger func(*zap.Logger), ready chan<- string) error {
	var c memberConfig
	fs := flag.NewFlagSet("cus-etcd", flag.ContinueOnError)
	c.registerFlags(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := logging.New("etcd", c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails on some terminals
	if onLogger != nil {
		onLogger(log)
	}
	return serve(ctx, &c, log.With(zap.String("member", c.Name)), ready)
}

func serve(ctx context.Context, c *memberConfig, log *zap.Logger, ready chan<- string) error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	var stopping atomic.Bool
	e, err := embed.StartEtcd(c.embedConfig(log.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
		return &quietStop{Core: core, stopping: &stopping}
	}))))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("start member %s: an address is taken (--listen-client %s, --listen-peer %s): %w", c.Name, c.ListenClient, c.ListenPeer, err)
		}
		return fmt.Errorf("start member %s: %w", c.Name, err)
	}
	defer func() {
		stopping.Store(true)
		e.Close()
	}()
	start := time.NewTimer(c.StartTimeout)
	defer start.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return fmt.Errorf("member %s: %w", c.Name, err)
	case <-start.C:
		return fmt.Errorf("member %s: no quorum after %s: are the other members of --initial-cluster running?", c.Name, c.StartTimeout)
	case <-ctx.Done():
		log.Info("stopping before the member was ready")
		return nil
	}
	clientURL := e.Config().AdvertiseClientUrls[0].String()
	log.Info("member ready", zap.String("client_url", clientURL), zap.String("member_id", e.Server.MemberID().String()),
		zap.String("cluster_id", e.Server.Cluster().ID().String()))
	if ready != nil {
		ready <- clientURL
	}
	select {
	case <-ctx.Done():
		log.Info("stopping: a leader hands leadership over first")
		return nil // the deferred Close stops the member gracefully
	case err := <-e.Err():
		return fmt.Errorf("member %s: %w", c.Name, err)
	case <-e.Server.StopNotify():
		return fmt.Errorf("member %s stopped by itself (removed from the cluster?)", c.Name)
	}
}

// quietStop drops one line of etcd's: every listener that Close shuts logs "setting up serving from embedded
// etcd failed" at error level with a stack trace (embed's errHandler cannot tell a closed listener from a
// failed one), so each graceful stop would print four false errors. Before the stop the line is kept.
type quietStop struct {
	zapcore.Core
	stopping *atomic.Bool
}

const embedServeFailed = "setting up serving from embedded etcd failed."

func (q *quietStop) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if ent.Message == embedServeFailed && q.stopping.Load() {
		return ce
	}
	return q.Core.Check(ent, ce)
}

func (q *quietStop) With(fields []zapcore.Field) zapcore.Core {
	return &quietStop{Core: q.Core.With(fields), stopping: q.stopping}
}
