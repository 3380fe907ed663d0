package storage

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cus-suite/cus/platform/etcdtest"
)

// The tests that mean the same on both engines run on each (engines); etcd is a real cluster in the test
// process (platform/etcdtest: one member unless a test asks for more), one per test, each store a prefix of
// its own.

var clusters sync.Map // testing.TB -> *etcdtest.Cluster
var prefixes atomic.Int64

// clusterFor is the test's cluster, started at its first use.
func clusterFor(t testing.TB) *etcdtest.Cluster {
	t.Helper()
	if c, ok := clusters.Load(t); ok {
		return c.(*etcdtest.Cluster)
	}
	c := etcdtest.StartOne(t)
	clusters.Store(t, c)
	t.Cleanup(func() { clusters.Delete(t) })
	return c
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
		p.etcd = EtcdOptions{Endpoints: clusterFor(t).Endpoints(), Prefix: fmt.Sprintf("/t/%s/%d/", name, prefixes.Add(1)),
			ScratchDir: t.TempDir()}
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

// rawClient is a client of the test's cluster, for checks past the Backend.
func rawClient(t testing.TB) *clientv3.Client {
	t.Helper()
	return clusterFor(t).Client(t)
}
