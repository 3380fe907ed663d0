package etcdbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/bench/internal/load"
	"github.com/cus-suite/cus/platform/etcdtest"
)

// A service record as the suite stores it is about 1 KB (a catalogue service with its texts); the memory
// figure uses 1.4 KB, a fuller one.
const (
	putValueBytes    = 1024
	memoryValueBytes = 1400
	callers          = 64
)

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return d
	}
	return def
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return n
	}
	return def
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(raw))[:3], " ")
}

// BenchmarkEtcdPut64 measures durable puts per second (fsync on, etcd's production raft timings) from etcd's
// own client with 64 concurrent callers, values of 1 KB, against a one-member and a three-member cluster in
// this process, interleaved 1 3 3 1 ... so that other work on the machine weighs on both alike.
//
//	cd bench && go test -run XXX -bench EtcdPut64 -benchtime 1x ./internal/etcdbench/
//
// CUS_BENCH_ETCD_DURATION (default 20s, per cluster in total) and CUS_BENCH_ETCD_ROUNDS (default 4 slices each).
func BenchmarkEtcdPut64(b *testing.B) {
	duration := envDuration(b, "CUS_BENCH_ETCD_DURATION", 20*time.Second)
	rounds := envInt(b, "CUS_BENCH_ETCD_ROUNDS", 4)
	production := etcdtest.Options{Fsync: true, TickMs: 100, ElectionMs: 1000}
	one := etcdtest.StartWith(b, 1, production)
	three := etcdtest.StartWith(b, 3, production)
	value := strings.Repeat("x", putValueBytes)
	op := func(cli *clientv3.Client, cluster string) load.Op {
		var seq atomic.Int64
		return func(ctx context.Context, w int) (int, error) {
			// Distinct keys, as creates of new records: etcd's cost does not depend on the key, but its
			// database grows as the suite's would.
			_, err := cli.Put(ctx, fmt.Sprintf("/bench/%s/%02d/%012d", cluster, w, seq.Add(1)), value)
			return 0, err
		}
	}
	ops := []load.Op{op(one.Client(b), "one"), op(three.Client(b), "three")}
	before := loadAverage()
	b.ResetTimer()
	for range b.N {
		res := load.Interleave(b.Context(), load.Config{Workers: callers, Warmup: 2 * time.Second, Duration: duration}, rounds, ops, nil)
		for i, name := range []string{"1member", "3members"} {
			r := res[i]
			if r.Errors > 0 {
				b.Fatalf("%s: %d of %d puts failed, first: %v", name, r.Errors, r.Requests, r.FirstError)
			}
			b.ReportMetric(r.PerSecond, "puts/s-"+name)
			b.ReportMetric(float64(r.Latency.P50.Microseconds())/1000, "p50-ms-"+name)
			b.ReportMetric(float64(r.Latency.P99.Microseconds())/1000, "p99-ms-"+name)
			b.Logf("%s: %.0f puts/s, p50 %s, p99 %s over %s (%d puts)", name, r.PerSecond, r.Latency.P50, r.Latency.P99, r.Elapsed.Round(time.Millisecond), r.Requests)
		}
		b.ReportMetric(res[1].PerSecond/res[0].PerSecond, "ratio-3/1")
	}
	b.Logf("load average before %s, after %s (%d CPUs)", before, loadAverage(), runtime.NumCPU())
}

// BenchmarkEtcdLeaderFailover measures how long writes stop when the leader of a three-member cluster is
// killed: eight writers put in a loop (each attempt bounded by 2 s, retried at once, as the storage engine
// does) and the time is from the kill to the first acknowledged put issued after it. Fsync is on and the raft
// timings are cus-etcd's defaults (heartbeat 100 ms, election timeout 1 s), so the figure is the production
// one. Between runs the killed member is restarted and catches up.
//
//	cd bench && go test -run XXX -bench EtcdLeaderFailover -benchtime 1x ./internal/etcdbench/
//
// CUS_BENCH_FAILOVER_RUNS (default 7).
func BenchmarkEtcdLeaderFailover(b *testing.B) {
	runs := envInt(b, "CUS_BENCH_FAILOVER_RUNS", 7)
	c := etcdtest.StartWith(b, 3, etcdtest.Options{Fsync: true, TickMs: 100, ElectionMs: 1000})
	cli := c.Client(b)
	value := strings.Repeat("x", putValueBytes)
	before := loadAverage()
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		for run := range runs {
			d, err := failoverOnce(b.Context(), c, cli, value, run)
			if err != nil {
				b.Fatalf("run %d: %v", run, err)
			}
			times = append(times, d)
			b.Logf("run %d: writes resumed %s after the leader was killed", run, d.Round(time.Millisecond))
		}
	}
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(times[0]), "min-ms")
	b.ReportMetric(ms(times[len(times)/2]), "median-ms")
	b.ReportMetric(ms(times[len(times)-1]), "max-ms")
	b.Logf("writes resume after the leader is killed: min %s, median %s, max %s over %d runs; load average before %s, after %s",
		times[0].Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond),
		len(times), before, loadAverage())
}

func failoverOnce(ctx context.Context, c *etcdtest.Cluster, cli *clientv3.Client, value string, run int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		return 0, err
	}
	var (
		killedAt  atomic.Int64 // unix nanos, 0 before the kill
		resumedAt atomic.Int64 // the first acknowledgement of a put issued after the kill
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				issued := time.Now().UnixNano()
				attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := cli.Put(attempt, fmt.Sprintf("/bench/failover/%d/%d/%d", run, w, i), value)
				cancel()
				if err != nil {
					continue
				}
				if k := killedAt.Load(); k != 0 && issued > k {
					resumedAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		}()
	}
	time.Sleep(time.Second) // writes flowing before the kill
	killedAt.Store(time.Now().UnixNano())
	c.Kill(leader)
	for resumedAt.Load() == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("writes did not resume: %w", ctx.Err())
	}
	d := time.Duration(resumedAt.Load() - killedAt.Load())
	c.Restart(leader)
	// The restarted member has caught up once a linearizable read through it succeeds.
	only, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoint(leader)}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return 0, err
	}
	defer func() { _ = only.Close() }()
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := only.Get(attempt, "/bench/failover/")
		cancel()
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("the restarted member did not catch up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkEtcdMemberMemory puts N records of 1.4 KB (default 100,000; CUS_BENCH_ETCD_RECORDS) into one
// cus-etcd member running as its own process, from 64 callers, and reports the database size and the member's
// resident memory; then rewrites every record once (the history doubles), and compacts and defragments.
//
//	cd bench && go test -run XXX -bench EtcdMemberMemory -benchtime 1x -timeout 30m ./internal/etcdbench/
//
// The member is bin/cus-etcd when CUS_ETCD_BIN names it, else built into a temporary directory.
func BenchmarkEtcdMemberMemory(b *testing.B) {
	records := envInt(b, "CUS_BENCH_ETCD_RECORDS", 100_000)
	bin := os.Getenv("CUS_ETCD_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "cus-etcd")
		build := exec.Command("go", "build", "-o", bin, "github.com/cus-suite/cus/platform/cmd/cus-etcd")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build cus-etcd: %v\n%s", err, out)
		}
	}
	ports := freePorts(b, 2)
	client := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(bin, "--name", "m0", "--data-dir", filepath.Join(b.TempDir(), "m0"),
		"--listen-client", client, "--listen-peer", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--quota-backend-bytes", strconv.FormatInt(8<<30, 10), "--auto-compaction-retention", "0", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// A graceful stop first; a member that hangs in it is killed rather than hanging the benchmark.
		_ = cmd.Process.Signal(os.Interrupt)
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(30 * time.Second):
			b.Error("cus-etcd did not stop 30 s after SIGINT; killed")
			_ = cmd.Process.Kill()
			<-waited
		}
	})
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	ctx := b.Context()
	waitHealthy(b, cli, client)
	value := strings.Repeat("x", memoryValueBytes)
	before := loadAverage()

	report := func(stage string) {
		st, err := cli.Status(ctx, client)
		if err != nil {
			b.Fatal(err)
		}
		rss, hwm := procMemory(b, cmd.Process.Pid)
		b.Logf("%-32s db %6.1f MiB (in use %6.1f MiB), %5.0f B/record in use; member RSS %6.1f MiB (peak %6.1f MiB)",
			stage, mib(st.DbSize), mib(st.DbSizeInUse), float64(st.DbSizeInUse)/float64(records), mib(rss), mib(hwm))
		unit := strings.NewReplacer(" ", "-", ",", "").Replace(stage)
		b.ReportMetric(mib(st.DbSize), "db-MiB-"+unit)
		b.ReportMetric(mib(rss), "rss-MiB-"+unit)
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		putAll(b, cli, records, value, "a")
		b.Logf("%d puts in %s (%.0f/s)", records, time.Since(start).Round(time.Millisecond), float64(records)/time.Since(start).Seconds())
		report("after N creates")
		putAll(b, cli, records, value, "b")
		report("after N updates")
		st, err := cli.Status(ctx, client)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if _, err := cli.Compact(ctx, st.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
			b.Fatal(err)
		}
		b.Logf("compaction of %d revisions: %s", st.Header.Revision, time.Since(start).Round(time.Millisecond))
		report("after compaction")
		start = time.Now()
		if _, err := cli.Defragment(ctx, client); err != nil {
			b.Fatal(err)
		}
		b.Logf("defragmentation: %s (the member answers nothing meanwhile)", time.Since(start).Round(time.Millisecond))
		report("after defragmentation")
	}
	b.Logf("load average before %s, after %s", before, loadAverage())
}

// putAll writes records keys (the same ones for every round, so a second round is N updates) from 64 callers.
func putAll(b *testing.B, cli *clientv3.Client, records int, value, round string) {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(records) {
					return
				}
				// A key like the catalogue's: prefix, kind, a UUID-sized name.
				key := fmt.Sprintf("/cus/catalogue/services/0194c050-3022-7053-8000-%012d", i)
				if _, err := cli.Put(b.Context(), key, round+value[1:]); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

func waitHealthy(b *testing.B, cli *clientv3.Client, endpoint string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.Context(), time.Second)
		_, err := cli.Status(ctx, endpoint)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("cus-etcd not healthy after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procMemory reads VmRSS and VmHWM (bytes) of a process.
func procMemory(b *testing.B, pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		field, rest, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch field {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	if rss == 0 {
		b.Fatal(errors.New("no VmRSS in /proc status"))
	}
	return rss, hwm
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func freePorts(b *testing.B, n int) []int {
	ports, err := etcdtest.FreePorts(n)
	if err != nil {
		b.Fatal(err)
	}
	return ports
}
