package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// replica is one catalogue process of a failover test.
type replica struct {
	addr string
	stop func() // graceful: cancels Run and waits for it
}

func startReplica(t *testing.T, c *etcdtest.Cluster, keys string) replica {
	t.Helper()
	cfg := failureTestConfig(t.TempDir())
	cfg.Security.DevKeysDir = keys
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zap.NewNop(), func(g, _ string) { ready <- g }) }()
	select {
	case addr := <-ready:
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("run: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return replica{addr: addr, stop: stop}
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not ready")
	}
	return replica{}
}

// loadCtx is an admin caller's context with its own deadline.
func loadCtx(t *testing.T, keys string, d time.Duration) context.Context {
	t.Helper()
	key, err := auth.EnsureDevKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "admin", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), d)
	t.Cleanup(cancel)
	return ctx
}

// call is one call of a load: when it started and ended, and whether it succeeded.
type call struct {
	began, ended time.Time
	ok           bool
}

// outage summarises the calls that ended after an event at `at`: how many failed, how long after it the last
// failure ended (0 with none), when the first success that began after it ended, and the longest of them
// (a call held across the event).
func outage(calls []call, at time.Time) (failed, total int, lastFailure, firstSuccess, longest time.Duration) {
	firstSuccess = -1
	slices.SortFunc(calls, func(a, b call) int { return a.began.Compare(b.began) })
	for _, c := range calls {
		if c.ended.Before(at) {
			continue
		}
		total++
		longest = max(longest, c.ended.Sub(c.began))
		if !c.ok {
			failed++
			lastFailure = max(lastFailure, c.ended.Sub(at))
		} else if firstSuccess < 0 && c.began.After(at) {
			firstSuccess = c.ended.Sub(at)
		}
	}
	return failed, total, lastFailure, firstSuccess, longest
}

// The etcd leader is killed while 16 callers create services through one catalogue replica: every create
// that was acknowledged is readable afterwards, from both replicas, and creates succeed again. How long
// that took is logged (not asserted): go test -run TestEtcdLeaderKillUnderCreates -v ./internal/app/.
func TestEtcdLeaderKillUnderCreates(t *testing.T) {
	c := etcdtest.Start(t, 3)
	keys := filepath.Join(t.TempDir(), "dev")
	a, b := startReplica(t, c, keys), startReplica(t, c, keys)
	ctx := loadCtx(t, keys, 5*time.Minute)
	conn, err := grpcclient.Dial(a.addr, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)

	const callers = 16
	var mu sync.Mutex
	var calls []call
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				began := time.Now()
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				out, err := client.CreateService(cctx, newService(fmt.Sprintf("Punkt %s", token("zl", w*100000+i))))
				cancel()
				mu.Lock()
				calls = append(calls, call{began: began, ended: time.Now(), ok: err == nil})
				if err == nil {
					acked = append(acked, out.GetName())
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(2 * time.Second)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	c.Kill(leader)
	// Load goes on until creates have succeeded again for a while (or a generous bound).
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		_, _, _, first, _ := outage(slices.Clone(calls), killed)
		mu.Unlock()
		if first >= 0 && time.Since(killed) > first+3*time.Second {
			break
		}
	}
	close(stop)
	wg.Wait()
	failed, total, last, first, longest := outage(calls, killed)
	if first < 0 {
		t.Fatalf("no create succeeded after the etcd leader (member %d) was killed: %d of %d failed", leader, failed, total)
	}
	t.Logf("etcd leader killed under %d callers creating services through gRPC: %d creates acknowledged in all; after the kill %d of %d failed, "+
		"the first create begun after it succeeded %v after it, the last failure ended %v after it, the longest create took %v",
		callers, len(acked), failed, total, first.Round(time.Millisecond), last.Round(time.Millisecond), longest.Round(time.Millisecond))

	// No acknowledged create is lost: each is readable from both replicas.
	for _, addr := range []string{a.addr, b.addr} {
		rc, err := grpcclient.Dial(addr, insecure.NewCredentials())
		if err != nil {
			t.Fatal(err)
		}
		cl := cataloguev1.NewCatalogueServiceClient(rc)
		for _, name := range acked {
			if _, err := cl.GetService(ctx, &cataloguev1.GetServiceRequest{Name: name}); err != nil {
				t.Errorf("acknowledged %s not readable from %s: %v", name, addr, err)
			}
		}
		_ = rc.Close()
	}
}

// One of two catalogue replicas stops (gracefully: a rolling upgrade) while 8 callers search, read and create
// through one round-robin connection to both (platform/grpcclient): the error rate after the stop and how long
// until calls succeed again are logged (not asserted); every acknowledged create is readable on the replica
// that stayed. go test -run TestCatalogueReplicaStopUnderLoad -v ./internal/app/.
func TestCatalogueReplicaStopUnderLoad(t *testing.T) {
	c := etcdtest.StartOne(t)
	keys := filepath.Join(t.TempDir(), "dev")
	a, b := startReplica(t, c, keys), startReplica(t, c, keys)
	ctx := loadCtx(t, keys, 5*time.Minute)
	conn, err := grpcclient.Dial(a.addr+","+b.addr, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)

	const callers = 8
	var mu sync.Mutex
	var calls []call
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				began := time.Now()
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var err error
				var name string
				switch i % 4 {
				case 0: // a write in four calls
					var out *cataloguev1.Service
					out, err = client.CreateService(cctx, newService(fmt.Sprintf("Punkt %s", token("zr", w*100000+i))))
					name = out.GetName()
				case 1:
					_, err = client.SearchServices(cctx, &cataloguev1.SearchServicesRequest{Query: "senior", PageSize: 10})
				default:
					_, err = client.SearchServices(cctx, &cataloguev1.SearchServicesRequest{PageSize: 20})
				}
				cancel()
				mu.Lock()
				calls = append(calls, call{began: began, ended: time.Now(), ok: err == nil})
				if name != "" && err == nil {
					acked = append(acked, name)
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(2 * time.Second)
	stopped := time.Now()
	a.stop()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	failed, total, last, first, longest := outage(calls, stopped)
	if first < 0 {
		t.Fatalf("no call succeeded after replica A stopped: %d of %d failed", failed, total)
	}
	t.Logf("catalogue replica A stopped under %d callers (round robin over A and B, a create in four calls): after the stop %d of %d calls failed (%.2f%%), "+
		"the last failure ended %v after it, the longest call took %v; %d creates acknowledged in all",
		callers, failed, total, 100*float64(failed)/float64(max(total, 1)), last.Round(time.Millisecond), longest.Round(time.Millisecond), len(acked))
	rc, err := grpcclient.Dial(b.addr, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cl := cataloguev1.NewCatalogueServiceClient(rc)
	for _, name := range acked {
		if _, err := cl.GetService(ctx, &cataloguev1.GetServiceRequest{Name: name}); err != nil {
			t.Errorf("acknowledged %s not readable from B: %v", name, err)
		}
	}
}

// The same create (one request id) sent at once to both replicas, as a client's retry on another replica may be
// while the first attempt is still running (platform/grpcclient retries UNAVAILABLE on creates carrying a
// request id): every answer names one and the same service. The etcd engine runs every write transaction
// against the commit key's revision, so the second to commit reruns, finds the first's idempotency record and
// replays its answer; without that, each replica would create a service of its own.
func TestConcurrentDuplicateCreatesOverTwoReplicas(t *testing.T) {
	c := etcdtest.StartOne(t)
	keys := filepath.Join(t.TempDir(), "dev")
	a, b := startReplica(t, c, keys), startReplica(t, c, keys)
	ctx := loadCtx(t, keys, 2*time.Minute)
	var clients []cataloguev1.CatalogueServiceClient
	for _, addr := range []string{a.addr, b.addr} {
		conn, err := grpcclient.Dial(addr, insecure.NewCredentials())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		clients = append(clients, cataloguev1.NewCatalogueServiceClient(conn))
	}
	const ids, senders = 20, 8
	for n := range ids {
		req := newService("Punkt " + token("zd", n))
		req.RequestId = fmt.Sprintf("dup-%d", n)
		names := make([]string, senders)
		errs := make([]error, senders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out, err := clients[s%2].CreateService(ctx, req)
				names[s], errs[s] = out.GetName(), err
			}()
		}
		close(start)
		wg.Wait()
		for s := range senders {
			if errs[s] != nil {
				t.Fatalf("request id %s, sender %d: %v", req.RequestId, s, errs[s])
			}
			if names[s] != names[0] {
				t.Fatalf("request id %s sent %d times at once to two replicas created more than one service: %v", req.RequestId, senders, names)
			}
		}
	}
}
