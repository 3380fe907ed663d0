package storage

import (
	"fmt"
	"net"
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
)

// The tests that mean the same on both engines run on each (engines); etcd is one embedded member on loopback,
// started once for the package's run, each test with a prefix of its own.

var testEtcd struct {
	once      sync.Once
	server    *embed.Etcd
	dir       string
	endpoints []string
	err       error
	n         atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testEtcd.server != nil {
		testEtcd.server.Close()
		_ = os.RemoveAll(testEtcd.dir)
	}
	os.Exit(code)
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEtcd starts an embedded single-member etcd in dir with etcd's default limits.
func startEtcd(t testing.TB, dir string) (*embed.Etcd, []string) {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "m0"
	cfg.Dir = dir
	cu := url.URL{Scheme: "http", Host: freePort(t)}
	pu := url.URL{Scheme: "http", Host: freePort(t)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		t.Fatal("embedded etcd did not become ready")
	}
	return e, []string{cu.String()}
}

func sharedEtcd(t testing.TB) []string {
	t.Helper()
	testEtcd.once.Do(func() {
		dir, err := os.MkdirTemp("", "storage-etcd-")
		if err != nil {
			testEtcd.err = err
			return
		}
		testEtcd.dir = dir
		testEtcd.server, testEtcd.endpoints = startEtcd(t, dir)
	})
	if testEtcd.err != nil {
		t.Fatal(testEtcd.err)
	}
	return testEtcd.endpoints
}

// place is one store: a bbolt file or an etcd prefix. Each open is a new Backend on it (a restart, or on etcd
// another replica).
type place struct {
	kind EngineKind
	path string
	etcd EtcdOptions
}

func newPlace(t testing.TB, kind EngineKind) *place {
	t.Helper()
	p := &place{kind: kind}
	switch kind {
	case EngineBolt:
		p.path = filepath.Join(t.TempDir(), "d.db")
	case EngineEtcd:
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		p.etcd = EtcdOptions{Endpoints: sharedEtcd(t), Prefix: fmt.Sprintf("/t/%s/%d/", name, testEtcd.n.Add(1)),
			RequestTimeout: 10 * time.Second, ScratchDir: t.TempDir()}
	}
	return p
}

func (p *place) options(o Options) Options {
	if o.Buckets == nil {
		o.Buckets = []Bucket{bucketItems}
	}
	if o.SchemaVersion == 0 {
		o.SchemaVersion = 1
	}
	o.Engine = Engine{Kind: p.kind, Etcd: p.etcd}
	return o
}

func (p *place) openWith(o Options) (*Backend, error) { return Open(p.path, p.options(o)) }

func (p *place) open(t testing.TB) *Backend {
	t.Helper()
	b, err := p.openWith(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// engines runs fn on each engine.
func engines(t *testing.T, fn func(t *testing.T, p *place)) {
	for _, kind := range []EngineKind{EngineBolt, EngineEtcd} {
		t.Run(string(kind), func(t *testing.T) { fn(t, newPlace(t, kind)) })
	}
}

// rawClient is a client of the shared etcd, for checks past the Backend.
func rawClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: sharedEtcd(t), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}
