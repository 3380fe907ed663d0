// Package etcdtest starts real etcd clusters inside a test process: N members of
// go.etcd.io/etcd/server/v3/embed on loopback with free ports, their data in t.TempDir(), quiet logs and
// election timings short enough for tests. It owns only the lifecycle of those members (start, kill, stop,
// restart, who leads); what is stored in them belongs to the storage engine under test.
//
// A member is killed in-process: its raft loop stops without handing over leadership and its listeners close,
// so the other members see it vanish as they would a crashed process. The operating system's page cache
// survives such a kill, so fsync proves nothing here and is off unless Options.Fsync asks for it (benchmarks
// of durable writes do).
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Options tune a cluster; the zero value is what most tests want.
type Options struct {
	// TickMs and ElectionMs are raft's heartbeat interval and election timeout (defaults 25 and 250 ms: a new
	// leader within about half a second, yet tolerant of a loaded two-core machine).
	TickMs, ElectionMs uint
	// Fsync makes every commit wait for the disk, as in production. Off by default (see the package doc).
	Fsync bool
	// QuotaBackendBytes, MaxRequestBytes and MaxTxnOps override etcd's limits (0 keeps etcd's defaults: 2 GiB,
	// 1.5 MiB, 128), so a test can reach a limit without writing gigabytes.
	QuotaBackendBytes int64
	MaxRequestBytes   uint
	MaxTxnOps         uint
	// SnapshotCount is how many applied entries trigger a raft snapshot (0: etcd's default, 10,000). A small
	// value makes a restarted member catch up from a snapshot rather than from the log.
	SnapshotCount uint64
	// LogLevel of the members' zap logs, written to the test log (default "error"; the environment variable
	// CUS_ETCD_LOG overrides it, e.g. CUS_ETCD_LOG=info go test -v ...).
	LogLevel string
}

// Cluster is a running set of embedded etcd members. Its methods are safe for concurrent use.
type Cluster struct {
	tb      testing.TB
	opts    Options
	token   string
	initial string // name=peerURL,... of every member
	log     *zap.Logger
	sink    *testSink

	mu      sync.Mutex
	members []*member
}

type member struct {
	name, dir          string
	clientURL, peerURL url.URL
	etcd               *embed.Etcd // nil while stopped
}

// Start starts a cluster of n members (1, 3 or 5 in practice) and waits until it has a leader. The cluster is
// stopped and its data removed when the test ends.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	return StartWith(tb, n, Options{})
}

// StartOne starts a single-member cluster: the cheapest real etcd for a test that does not need failover.
func StartOne(tb testing.TB) *Cluster {
	tb.Helper()
	return Start(tb, 1)
}

// withDefaults fills opts' zero fields (raft timings 25/250 ms, log level error or CUS_ETCD_LOG) and parses the
// log level.
func (opts Options) withDefaults() (Options, zapcore.Level, error) {
	if opts.TickMs == 0 {
		opts.TickMs = 25
	}
	if opts.ElectionMs == 0 {
		opts.ElectionMs = 10 * opts.TickMs
	}
	if env := os.Getenv("CUS_ETCD_LOG"); env != "" {
		opts.LogLevel = env
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "error"
	}
	lvl, err := zapcore.ParseLevel(opts.LogLevel)
	if err != nil {
		return opts, lvl, fmt.Errorf("etcdtest: log level: %w", err)
	}
	return opts, lvl, nil
}

// StartWith is Start with options.
func StartWith(tb testing.TB, n int, opts Options) *Cluster {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("etcdtest: a cluster needs at least one member, not %d", n)
	}
	opts, lvl, err := opts.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	// Ports are picked free and released (FreePorts), so another listener may grab one before etcd binds
	// it; a start that fails on a port is retried with fresh ones.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := tryStart(tb, n, opts, lvl)
		if err == nil {
			return c
		}
		lastErr = err
		if !isAddrInUse(err) {
			break
		}
	}
	tb.Fatalf("etcdtest: start %d members: %v", n, lastErr)
	return nil
}

func tryStart(tb testing.TB, n int, opts Options, lvl zapcore.Level) (*Cluster, error) {
	sink := &testSink{tb: tb}
	sink.alive.Store(true)
	c := &Cluster{
		tb:    tb,
		opts:  opts,
		sink:  sink,
		token: fmt.Sprintf("cus-etcdtest-%d", time.Now().UnixNano()),
		log: zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.AddSync(sink), lvl)),
	}
	ports, err := FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	root := tb.TempDir()
	var initial []string
	for i := 0; i < n; i++ {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			dir:       filepath.Join(root, fmt.Sprintf("m%d", i)),
			clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i])},
			peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])},
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peerURL.String())
	}
	c.initial = strings.Join(initial, ",")

	// Members of a new cluster must start together: each waits for a quorum of peers before it is ready.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.etcd, errs[i] = c.startMember(m, embed.ClusterStateFlagNew)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.closeAll()
		sink.alive.Store(false)
		return nil, err
	}
	tb.Cleanup(func() {
		c.closeAll()
		// etcd's goroutines may log a last line after Close returns; a testing.T must not be written to
		// once its test has ended.
		sink.alive.Store(false)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.WaitLeader(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startMember(m *member, state string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.InitialCluster = c.initial
	cfg.InitialClusterToken = c.token
	cfg.ClusterState = state
	cfg.TickMs = c.opts.TickMs
	cfg.ElectionMs = c.opts.ElectionMs
	cfg.UnsafeNoFsync = !c.opts.Fsync
	cfg.EnableGRPCGateway = false
	cfg.Metrics = "basic"
	if c.opts.QuotaBackendBytes > 0 {
		cfg.QuotaBackendBytes = c.opts.QuotaBackendBytes
	}
	if c.opts.MaxRequestBytes > 0 {
		cfg.MaxRequestBytes = c.opts.MaxRequestBytes
	}
	if c.opts.MaxTxnOps > 0 {
		cfg.MaxTxnOps = c.opts.MaxTxnOps
	}
	if c.opts.SnapshotCount > 0 {
		cfg.SnapshotCount = c.opts.SnapshotCount
		cfg.SnapshotCatchUpEntries = c.opts.SnapshotCount
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(c.log.With(zap.String("member", m.name)))
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("member %s: %w", m.name, err)
	case <-time.After(60 * time.Second):
		e.Server.HardStop()
		e.Close()
		return nil, fmt.Errorf("member %s: not ready after 60s", m.name)
	}
}

// Size is the number of members, running or not.
func (c *Cluster) Size() int { return len(c.members) }

// Endpoints are the client addresses (host:port) of every member, running or not, in member order: what a
// client is configured with in production, where some members may be down.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL.Host
	}
	return eps
}

// Endpoint is the client address of member i.
func (c *Cluster) Endpoint(i int) string { return c.members[c.check(i)].clientURL.Host }

// Client returns a client of the whole cluster (every endpoint), closed when the test ends.
func (c *Cluster) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	return c.client(tb, c.Endpoints())
}

// MemberClient returns a client that talks to member i only, closed when the test ends.
func (c *Cluster) MemberClient(tb testing.TB, i int) *clientv3.Client {
	tb.Helper()
	return c.client(tb, []string{c.Endpoint(i)})
}

func (c *Cluster) client(tb testing.TB, endpoints []string) *clientv3.Client {
	tb.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      c.log.Named("client"),
	})
	if err != nil {
		tb.Fatalf("etcdtest: client of %v: %v", endpoints, err)
	}
	tb.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Member returns the embedded server of member i, or nil while it is stopped (for its metrics or raft
// status; stopping it directly bypasses the cluster's bookkeeping: use Kill and Stop).
func (c *Cluster) Member(i int) *embed.Etcd {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[c.check(i)].etcd
}

// Running reports whether member i is running.
func (c *Cluster) Running(i int) bool { return c.Member(i) != nil }

// Leader is the index of the member that a running member's raft believes is leader and that is itself
// running and agrees, or -1 when there is none right now (during an election, or without a quorum).
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.etcd == nil {
			continue
		}
		if id := m.etcd.Server.MemberID(); uint64(id) == m.etcd.Server.Lead() {
			return i
		}
	}
	return -1
}

// WaitLeader waits until every running member follows the same running leader, and returns its index.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if i := c.agreedLeader(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("etcdtest: no leader agreed by every running member: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *Cluster) agreedLeader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	lead, leader := uint64(0), -1
	for i, m := range c.members {
		if m.etcd == nil {
			continue
		}
		l := m.etcd.Server.Lead()
		if l == 0 || (lead != 0 && l != lead) {
			return -1
		}
		lead = l
		if uint64(m.etcd.Server.MemberID()) == l {
			leader = i
		}
	}
	return leader
}

// Kill stops member i abruptly: its raft loop stops without handing leadership over, then its listeners and
// connections close. The other members find out by missed heartbeats, as after a crash.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	e := c.take(i)
	if e == nil {
		c.tb.Fatalf("etcdtest: kill member %d: not running", i)
	}
	defer c.closing()()
	e.Server.HardStop()
	e.Close()
}

// Stop stops member i gracefully: a leader first hands leadership to a follower, as in a rolling upgrade.
func (c *Cluster) Stop(i int) {
	c.tb.Helper()
	e := c.take(i)
	if e == nil {
		c.tb.Fatalf("etcdtest: stop member %d: not running", i)
	}
	defer c.closing()()
	e.Close()
}

// Restart starts a stopped or killed member again on its own ports and data; it catches up with the
// leader from its log or a snapshot. Restart returns once the member is ready to serve.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	c.mu.Lock()
	m := c.members[c.check(i)]
	running := m.etcd != nil
	c.mu.Unlock()
	if running {
		c.tb.Fatalf("etcdtest: restart member %d: still running", i)
	}
	e, err := c.startMember(m, embed.ClusterStateFlagExisting)
	if err != nil {
		c.tb.Fatalf("etcdtest: restart member %d: %v", i, err)
	}
	c.mu.Lock()
	m.etcd = e
	c.mu.Unlock()
}

// closing marks a member being closed until the returned func runs: embed logs every listener it closes as
// "setting up serving from embedded etcd failed" at error level, which is noise then (Close waits for those
// handlers, so no such line comes after it returns).
func (c *Cluster) closing() func() {
	c.sink.closing.Add(1)
	return func() { c.sink.closing.Add(-1) }
}

func (c *Cluster) take(i int) *embed.Etcd {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[c.check(i)]
	e := m.etcd
	m.etcd = nil
	return e
}

func (c *Cluster) check(i int) int {
	if i < 0 || i >= len(c.members) {
		c.tb.Fatalf("etcdtest: no member %d in a cluster of %d", i, len(c.members))
	}
	return i
}

func (c *Cluster) closeAll() {
	c.mu.Lock()
	var running []*embed.Etcd
	for _, m := range c.members {
		if m.etcd != nil {
			running = append(running, m.etcd)
			m.etcd = nil
		}
	}
	c.mu.Unlock()
	defer c.closing()()
	// Closed together: a member closed alone while the others run would first try to hand its leadership
	// over, and the last ones would wait for a quorum that has gone.
	var wg sync.WaitGroup
	for _, e := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Server.HardStop()
			e.Close()
		}()
	}
	wg.Wait()
}

func isAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// testSink writes the members' log lines to the test log while the test runs, and drops them afterwards.
type testSink struct {
	tb      testing.TB
	alive   atomic.Bool
	closing atomic.Int32 // members being closed (see Cluster.closing)
}

func (s *testSink) Write(p []byte) (int, error) {
	if s.closing.Load() > 0 && strings.Contains(string(p), "setting up serving from embedded etcd failed") {
		return len(p), nil
	}
	if s.alive.Load() {
		s.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
