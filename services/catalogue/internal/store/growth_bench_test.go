package store

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
)

// BenchmarkGrowth prints the two figures of "data that stops growing" (make bench-growth):
//
//	load:    file bytes per live service after creating CUS_GROWTH_SERVICES (default 500,000) synthetic services
//	         through CreateService with a request id each, 128 writers (target: at most 2 KB per 1 KB service);
//	updates: file bytes after CUS_GROWTH_UPDATES (default 1,000,000) updates to CUS_GROWTH_LIVE (default 10,000)
//	         services (target: bounded, below 3x the live data).
//
// Live data is the sum of the stored records' sizes. Nothing is asserted: the figures go to docs/performance.md.
func BenchmarkGrowth(b *testing.B) {
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	n, live, updates := env("CUS_GROWTH_SERVICES", 500_000), env("CUS_GROWTH_LIVE", 10_000), env("CUS_GROWTH_UPDATES", 1_000_000)
	for i := 0; i < b.N; i++ {
		growthLoad(b, n)
		growthUpdates(b, live, updates)
	}
}

const growthWriters = 128

// synthetic generates n services of the demo generator (about 1 KB each) with their ids.
func synthetic(b *testing.B, n int) ([]string, []*cataloguev1.Service) {
	ids := make([]string, 0, n)
	list := make([]*cataloguev1.Service, 0, n)
	err := demo.Synthetic(demo.SyntheticOptions{Services: n, Seed: 1}, func(id string, s *cataloguev1.Service) error {
		if locs := s.GetLocations(); len(locs) > 0 {
			s.OriginTerc = locs[0].GetTerytCode()
		}
		ids, list = append(ids, id), append(list, s)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids, list
}

// parallel runs fn(i) for i in [0, n) on growthWriters goroutines (so writes share group commits, as under load).
func parallel(b *testing.B, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < growthWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func liveBytes(s *Store) (int64, int) {
	var total int64
	count := 0
	_ = s.ForEachService(func(svc *cataloguev1.Service, _ int64) error {
		total += int64(8 + proto.Size(svc))
		count++
		return nil
	})
	return total, count
}

func report(b *testing.B, what string, s *Store, path string) (int64, int64, int) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	data, count := liveBytes(s)
	stats := s.Backend().Stats()
	names := make([]string, 0, len(stats))
	for k := range stats {
		names = append(names, string(k))
	}
	sort.Strings(names)
	fmt.Printf("%s: buckets (keys, allocated bytes, bytes in use):", what)
	for _, k := range names {
		st := stats[storage.Bucket(k)]
		fmt.Printf(" %s=(%d, %d, %d)", k, st.Keys, st.Alloc, st.InUse)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		fmt.Printf(" disk blocks=%d bytes", sys.Blocks*512)
	}
	fmt.Println()
	return fi.Size(), data, count
}

func growthLoad(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "catalogue.db")
	s, err := Open(path, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids, list := synthetic(b, n)
	start := time.Now()
	parallel(b, n, func(i int) error {
		hash := make([]byte, 32)
		_, _ = crand.Read(hash)
		_, _, _, err := s.CreateService(context.Background(), ids[i], list[i], fmt.Sprintf("req-%d", i), hash)
		return err
	})
	took := time.Since(start)
	size, data, count := report(b, "load", s, path)
	fmt.Printf("load: %d services created with request ids in %s; file %d bytes = %.0f bytes per service; live records %.0f bytes per service; %.2f bytes of file per byte of service (target: at most 2 KB per 1 KB service)\n",
		count, took.Round(time.Second), size, float64(size)/float64(count), float64(data)/float64(count), float64(size)/float64(data))
	b.ReportMetric(float64(size)/float64(count), "file-B/service")
}

func growthUpdates(b *testing.B, live, updates int) {
	path := filepath.Join(b.TempDir(), "catalogue.db")
	s, err := Open(path, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids, list := synthetic(b, live)
	parallel(b, live, func(i int) error {
		_, _, _, err := s.CreateService(context.Background(), ids[i], list[i], "", nil)
		return err
	})
	start := time.Now()
	var peak int64
	parallel(b, updates, func(i int) error {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		_, _, err := s.UpdateService(context.Background(), ids[r.IntN(live)], func(cur *cataloguev1.Service) error {
			cur.Description = fmt.Sprintf("Opis w wersji %d.", i)
			return nil
		})
		if i%100_000 == 0 {
			if fi, err := os.Stat(path); err == nil && fi.Size() > atomic.LoadInt64(&peak) {
				atomic.StoreInt64(&peak, fi.Size())
			}
		}
		return err
	})
	took := time.Since(start)
	size, data, count := report(b, "updates", s, path)
	fmt.Printf("updates: %d updates to %d services in %s; file %d bytes (largest seen %d); live records %d bytes; file = %.2fx the live data (target: bounded, below 3x)\n",
		updates, count, took.Round(time.Second), size, max(size, peak), data, float64(size)/float64(data))
	b.ReportMetric(float64(size)/float64(data), "file/live")
}
