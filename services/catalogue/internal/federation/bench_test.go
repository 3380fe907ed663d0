package federation_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
)

// The figures of the federation issue, run with `make bench-federation`:
//   go test -run XXX -bench . -benchtime 1x -timeout 30m ./internal/federation/
// Each benchmark runs its scenario once whatever b.N is, and reports its own units.

// fill imports n synthetic services of origin terc into in, in batches, as `catalogue generate` does.
func fill(b *testing.B, in *instance, terc string, n int, seed int64) {
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

func BenchmarkMemory10Peers10k(b *testing.B) {
	var peers []federation.Peer
	local := startInstanceB(b, "1209033")
	for i := 1; i <= 10; i++ {
		terc := fmt.Sprintf("30%02d013", i) // valid TERC codes of ten invented gminas
		p := startInstanceB(b, terc)
		fill(b, p, terc, 10000, int64(i))
		peers = append(peers, federation.Peer{TERC: terc, Name: terc, Address: p.addr, TokenFile: p.peerTokenB(b, "1209033"), MaxServices: 200000})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := federation.New(federation.Config{Peers: peers}, local.srv, nopLog, nil, federation.Options{PageSize: 500})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	start := time.Now()
	for local.srv.Index().Len() < 100000 {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("sync incomplete: %d", local.srv.Index().Len())
		}
		time.Sleep(50 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap-held")
	b.ReportMetric(time.Since(start).Seconds(), "s/sync-all")
}

// cpuTime is the user and system CPU time used by the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
