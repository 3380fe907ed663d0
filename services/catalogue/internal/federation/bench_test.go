package federation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/app"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
)

// The figures of the federation issue, run with `make bench-federation`:
//   go test -run XXX -bench . -benchtime 1x -timeout 60m ./internal/federation/
// Each benchmark runs its scenario once whatever b.N is, and reports its own units (cpu-s: CPU seconds of the
// process, steadier than time on a shared machine).

// fill imports n synthetic services of origin terc into in, in batches, as `catalogue generate` does.
func fill(b testing.TB, in *instance, terc string, n int, seed int64) {
	b.Helper()
	var list []*cataloguev1.Service
	var ids []string
	flush := func() {
		if _, _, err := in.st.ImportServices(context.Background(), list, ids); err != nil {
			b.Fatal(err)
		}
		list, ids = list[:0], ids[:0]
	}
	err := demo.Synthetic(demo.SyntheticOptions{Services: n, Gminas: 50, Seed: seed}, func(id string, s *cataloguev1.Service) error {
		s.OriginTerc = terc
		list = append(list, s)
		ids = append(ids, id)
		if len(list) == 2000 {
			flush()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	flush()
	if _, err := in.srv.LoadIndex(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkInitialSync100k(b *testing.B) {
	peer := startInstanceB(b, jarocin)
	fill(b, peer, jarocin, 100000, 1)
	local := startInstanceB(b, rawicz)
	opts := federation.Options{}
	start := time.Now()
	s := federation.New(federation.Config{Peers: []federation.Peer{{TERC: jarocin, Name: "peer", Address: peer.addr, TokenFile: peer.peerTokenB(b, rawicz), MaxServices: 200000}}}, local.srv, nopLog, nil, opts)
	cpu0 := cpuTime()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	// Index().Len is a counter: polling it costs nothing (a count by origin walks every document).
	for local.srv.Index().Len() < 100000 {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("sync incomplete: %d", local.srv.Index().Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	b.ReportMetric(took.Seconds(), "s/sync")
	// CPU seconds of the whole process (peer and follower): on a shared machine a steadier figure than time.
	b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s/sync")
	b.ReportMetric(100000/took.Seconds(), "services/s")
	if st := s.Status()[0]; st.GetRejectedCount() != 0 {
		b.Fatalf("rejected %d", st.GetRejectedCount())
	}
}

// An aggregator serving its residents while a peer of 100,000 services syncs in: one client searching its
// own 100,000 services before and during the sync; the latencies show how long the index's write lock holds
// searches while the peer's pages are indexed.
func BenchmarkSearchDuringSync100k(b *testing.B) {
	peer := startInstanceB(b, jarocin)
	fill(b, peer, jarocin, 100000, 1)
	local := startInstanceB(b, rawicz)
	fill(b, local, rawicz, 100000, 2)
	queries := []string{"pomoc", "opieka seniorow", "asystent osobisty", "klub", "terapia dzieci", "wsparcie rodziny", "mieszkanie", "porady prawne"}
	search := func(i int) time.Duration {
		began := time.Now()
		if _, err := local.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: queries[i%len(queries)], PageSize: 10}); err != nil {
			b.Fatal(err)
		}
		return time.Since(began)
	}
	report := func(lat []time.Duration, unit string) {
		if len(lat) == 0 {
			b.Fatalf("no search %s", unit)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50-"+unit)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99-"+unit)
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max-"+unit)
	}
	var idle []time.Duration
	for i := range 2000 {
		idle = append(idle, search(i))
	}
	report(idle, "idle")
	s := federation.New(federation.Config{Peers: []federation.Peer{{TERC: jarocin, Name: "peer", Address: peer.addr, TokenFile: peer.peerTokenB(b, rawicz), MaxServices: 200000}}}, local.srv, nopLog, nil, federation.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	defer func() { cancel(); _ = g.Wait() }()
	start := time.Now()
	g.Go(func() error { s.Run(gctx); return nil })
	var busy []time.Duration
	for i := 0; local.srv.Index().Len() < 200000; i++ {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("sync incomplete: %d", local.srv.Index().Len())
		}
		busy = append(busy, search(i))
	}
	b.ReportMetric(time.Since(start).Seconds(), "s/sync")
	report(busy, "syncing")
}

func BenchmarkPropagation1000(b *testing.B) {
	peer := startInstanceB(b, jarocin)
	local := startInstanceB(b, rawicz)
	s := federation.New(federation.Config{Peers: []federation.Peer{{TERC: jarocin, Name: "peer", Address: peer.addr, TokenFile: peer.peerTokenB(b, rawicz), MaxServices: 200000}}}, local.srv, nopLog, nil, federation.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	for s.Status()[0].GetState() != cataloguev1.PeerState_PEER_STATE_WATCHING {
		time.Sleep(10 * time.Millisecond)
	}
	lat := make([]time.Duration, 0, 1000)
	for i := 0; i < 1000; i++ {
		out, err := peer.srv.CreateService(context.Background(), &cataloguev1.CreateServiceRequest{Service: service(jarocin, fmt.Sprintf("Usługa %d", i))})
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		id := out.GetName()[len("services/"):]
		for {
			if _, ok := local.srv.Index().Get(id); ok {
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		lat = append(lat, time.Since(committed))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
}

// The regional instance: it follows many peers, which run in a child process (this test binary again, in
// TestPeerFarm), so the figures of this process are the follower's alone: heap after GC and VmRSS.
func BenchmarkFollow10Peers10k(b *testing.B) { benchmarkFollow(b, 10, 10000) }

func BenchmarkFollow50Peers10k(b *testing.B) { benchmarkFollow(b, 50, 10000) }

func benchmarkFollow(b *testing.B, peers, each int) {
	local := startInstanceB(b, "1209033")
	farm := startFarm(b, peers, each, "1209033")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rss0 := procStatus("VmRSS:")
	s := federation.New(federation.Config{Peers: farm}, local.srv, nopLog, nil, federation.Options{})
	cpu0 := cpuTime()
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	defer func() { cancel(); _ = g.Wait() }()
	// The collector paced as in a catalogue process (--gc-headroom auto), so the memory is an operator's.
	g.Go(func() error {
		if err := app.PaceGC(gctx, "auto", nopLog); err != nil {
			b.Errorf("gc pacer: %v", err)
		}
		return nil
	})
	start := time.Now()
	g.Go(func() error { s.Run(gctx); return nil })
	for local.srv.Index().Len() < peers*each {
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("sync incomplete: %d", local.srv.Index().Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	cpu := cpuTime() - cpu0
	rss, anon, file := procStatus("VmRSS:"), procStatus("RssAnon:"), procStatus("RssFile:")
	runtime.GC()
	runtime.ReadMemStats(&after)
	if path := os.Getenv("CUS_HEAP_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	// What the process holds once the sync is over and the pacer has had time to hand the garbage back (it
	// does so at most every 30 s).
	time.Sleep(35 * time.Second)
	b.ReportMetric(float64(procStatus("VmRSS:"))/(1<<20), "MiB-rss-settled")
	b.ReportMetric(float64(procStatus("RssAnon:"))/(1<<20), "MiB-rss-private-settled")
	if fi, err := os.Stat(filepath.Join(local.dir, "catalogue.db")); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "MiB-file")
	}
	for _, st := range s.Status() {
		if st.GetRejectedCount() != 0 {
			b.Fatalf("peer %s: %d rejected", st.GetTerc(), st.GetRejectedCount())
		}
	}
	b.ReportMetric(took.Seconds(), "s/sync-all")
	b.ReportMetric(float64(peers*each)/took.Seconds(), "services/s")
	b.ReportMetric(cpu.Seconds(), "cpu-s/sync")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "MiB-heap")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap-held")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-rss")
	b.ReportMetric(float64(rss-rss0)/(1<<20), "MiB-rss-held")
	b.ReportMetric(float64(anon)/(1<<20), "MiB-rss-private")
	b.ReportMetric(float64(file)/(1<<20), "MiB-rss-file")
	b.ReportMetric(float64(procStatus("VmHWM:"))/(1<<20), "MiB-rss-peak")
}

// farmEnv names the directory a child process serves a farm of peers from (TestPeerFarm).
const farmEnv = "CUS_FEDERATION_PEER_FARM"

// startFarm runs peers catalogues of each services in a child process and returns them as peers of forTERC.
func startFarm(b *testing.B, peers, each int, forTERC string) []federation.Peer {
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeerFarm$", "-test.timeout=60m")
	cmd.Env = append(os.Environ(), farmEnv+"="+dir, fmt.Sprintf("CUS_FARM_PEERS=%d", peers), fmt.Sprintf("CUS_FARM_EACH=%d", each), "CUS_FARM_FOR="+forTERC)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stop, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stop.Close(); _ = cmd.Wait() })
	ready := filepath.Join(dir, "peers.json")
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if raw, err := os.ReadFile(ready); err == nil {
			var cfg federation.Config
			if err := json.Unmarshal(raw, &cfg); err != nil {
				b.Fatal(err)
			}
			return cfg.Peers
		}
		if time.Since(start) > 20*time.Minute {
			b.Fatal("the peer farm did not start")
		}
	}
}

// TestPeerFarm is the child process of startFarm: it serves the peers until its standard input closes.
func TestPeerFarm(t *testing.T) {
	dir := os.Getenv(farmEnv)
	if dir == "" {
		t.Skip("the child process of the federation benchmarks")
	}
	peers, _ := strconv.Atoi(os.Getenv("CUS_FARM_PEERS"))
	each, _ := strconv.Atoi(os.Getenv("CUS_FARM_EACH"))
	var cfg federation.Config
	for i := 1; i <= peers; i++ {
		terc := fmt.Sprintf("30%02d%02d3", i/10+1, i%10+1) // valid TERC codes of invented gminas
		p := startInstance(t, terc, t.TempDir())
		fill(t, p, terc, each, int64(i))
		cfg.Peers = append(cfg.Peers, federation.Peer{TERC: terc, Name: terc, Address: p.addr, TokenFile: p.peerToken(os.Getenv("CUS_FARM_FOR")), MaxServices: 200000})
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "peers.json.tmp"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "peers.json.tmp"), filepath.Join(dir, "peers.json")); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// procStatus reads a size of this process from /proc/self/status (VmRSS: resident now, VmHWM: its peak).
func procStatus(field string) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is the user and system CPU time used by the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
