package app

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/etcdtest"
)

// Durable creates per second through gRPC at 64 callers on each storage engine, beside raw etcd puts from
// etcd's own client at the same concurrency on the same clusters (values the size of a stored service, each a
// new key), measured in one run with the targets interleaved (bbolt, etcd with one member, etcd with three,
// the raw puts on each, then the same in reverse), every member syncing each commit to disk as in production. The figures are logged, not asserted (the machine is shared);
// opt in, since it runs for about a minute:
//
//	CUS_BENCH_ENGINES=1 go test -count=1 -run TestCreatesPerEngine -v ./internal/app/
//
// CUS_BENCH_ENGINES_DURATION sets each round's length (default 8s).
func TestCreatesPerEngine(t *testing.T) {
	if os.Getenv("CUS_BENCH_ENGINES") == "" {
		t.Skip("a load figure: set CUS_BENCH_ENGINES=1")
	}
	d := 8 * time.Second
	if v := os.Getenv("CUS_BENCH_ENGINES_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("CUS_BENCH_ENGINES_DURATION: %v", err)
		}
	}
	dir := t.TempDir()
	keys := dir + "/dev"
	type target struct {
		name  string
		call  func(n int64) error // one durable write
		rates []float64
	}
	ctx := loadCtx(t, keys, 30*time.Minute)
	open := func(name string, c *etcdtest.Cluster) *target {
		cfg := failureTestConfig(t.TempDir())
		cfg.DemoData = false
		cfg.Security.DevKeysDir = keys
		if c != nil {
			cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
		}
		client, _, stop := start(t, cfg)
		t.Cleanup(stop)
		return &target{name: name, call: func(n int64) error {
			_, err := client.CreateService(ctx, newService(fmt.Sprintf("Punkt %s", token("zb", int(n)))))
			return err
		}}
	}
	value := strings.Repeat("x", 1800) // a stored service of the generated catalogues is about 1.8 KB
	raw := func(name string, c *etcdtest.Cluster) *target {
		cli := c.Client(t)
		return &target{name: name, call: func(n int64) error {
			_, err := cli.Put(ctx, fmt.Sprintf("/cus/raw/%016d", n), value)
			return err
		}}
	}
	one := etcdtest.StartWith(t, 1, etcdtest.Options{Fsync: true})
	three := etcdtest.StartWith(t, 3, etcdtest.Options{Fsync: true})
	targets := []*target{
		open("bbolt", nil),
		open("etcd, 1 member", one),
		open("etcd, 3 members", three),
		raw("raw put, 1 member", one),
		raw("raw put, 3 members", three),
	}
	var seq atomic.Int64
	round := func(tg *target) {
		var done, failed atomic.Int64
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if err := tg.call(seq.Add(1)); err != nil {
						failed.Add(1)
						continue
					}
					done.Add(1)
				}
			}()
		}
		began := time.Now()
		wg.Wait()
		rate := float64(done.Load()) / time.Since(began).Seconds()
		tg.rates = append(tg.rates, rate)
		if f := failed.Load(); f > 0 {
			t.Errorf("%s: %d creates failed", tg.name, f)
		}
	}
	for _, tg := range targets {
		round(tg)
	}
	for i := len(targets) - 1; i >= 0; i-- {
		round(targets[i])
	}
	load, _ := os.ReadFile("/proc/loadavg")
	for _, tg := range targets {
		t.Logf("%-18s durable writes/s at 64 callers: %.0f, %.0f", tg.name, tg.rates[0], tg.rates[1])
	}
	t.Logf("load average at the end: %s", strings.TrimSpace(string(load)))
}
