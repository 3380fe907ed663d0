package search_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// The scale benchmarks build their corpus the way the catalogue does: demo.Synthetic services projected by
// domain.IndexDoc and loaded with one BulkLoad, as LoadIndex does at start-up. They report, for one query mix
// a resident would type:
//
//	p50-ms, p99-ms  latency of one query, one goroutine
//	qps-8           queries per second with 8 goroutines
//	index-MiB       heap held by the index after GC (the corpus dropped)
//	build-s         the BulkLoad
//	snap-index-MiB  with CUS_BENCH_SNAPSHOT: heap held by the index read back from its snapshot (a restart)
//
// Run: go test -run XXX -bench 'Search(Scale100|500)k$' -benchtime 20x ./internal/search/
// (CUS_BENCH_SNAPSHOT=1 adds the snapshot's size and write and read times).

func BenchmarkSearchScale100k(b *testing.B) { benchScale(b, 100_000) }
func BenchmarkSearch500k(b *testing.B)      { benchScale(b, 500_000) }

type scaleIndex struct {
	ix       *search.Index
	build    time.Duration
	heapMiB  float64
	queries  []search.Query
	services int
}

var scaleCache sync.Map // size -> *scaleIndex

func buildScale(b *testing.B, n int) *scaleIndex {
	if v, ok := scaleCache.Load(n); ok {
		return v.(*scaleIndex)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	docs := make([]search.Doc, 0, n)
	var points []search.LatLng
	var tercs []string
	err := demo.Synthetic(demo.SyntheticOptions{Services: n, Seed: 7}, func(id string, s *cataloguev1.Service) error {
		s.Name = domain.ServicePrefix + id
		s.OriginTerc = s.GetServiceAreas()[0].GetTerytCode()
		d := domain.IndexDoc(s, int64(len(docs)+1))
		if len(docs)%997 == 0 && len(d.Points) > 0 {
			points = append(points, d.Points[0])
			tercs = append(tercs, d.Origin)
		}
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ix := search.New()
	t0 := time.Now()
	ix.BulkLoad(docs)
	build := time.Since(t0)
	docs = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	si := &scaleIndex{
		ix:       ix,
		build:    build,
		heapMiB:  float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc)) / (1 << 20),
		queries:  residentQueries(points, tercs),
		services: n,
	}
	if ix.Len() != n {
		b.Fatalf("Len = %d, want %d", ix.Len(), n)
	}
	scaleCache.Store(n, si)
	return si
}

// residentQueries is the mix of what residents type: single words with and without diacritics, inflected
// forms, two and three words, typos, a word being typed, area and target-group filters, a distance filter,
// and empty text with filters.
func residentQueries(points []search.LatLng, tercs []string) []search.Query {
	age := int32(70)
	kid := int32(2)
	open := time.Date(2026, 3, 11, 10, 30, 0, 0, time.UTC) // a Wednesday morning
	p := func(i int) search.LatLng { return points[i%len(points)] }
	area := func(a cataloguev1.Area) uint32 { return 1 << uint32(a) }
	group := func(g cataloguev1.TargetGroup) uint32 { return 1 << uint32(g) }
	return []search.Query{
		{Text: "żłobek"},
		{Text: "zlobek"},
		{Text: "świetlica"},
		{Text: "swietlica"},
		{Text: "seniorów"},
		{Text: "rehabilitacja"},
		{Text: "opieka"},
		{Text: "teleopieka"},
		{Text: "noclegownia"},
		{Text: "psycholog"},
		{Text: "wolontariat"},
		{Text: "biblioteka"},
		{Text: "klub seniora"},
		{Text: "asystent rodziny"},
		{Text: "usługi opiekuńcze"},
		{Text: "uslugi opiekuncze"},
		{Text: "pomoc w nauce"},
		{Text: "mieszkanie chronione"},
		{Text: "dzienny dom pomocy"},
		{Text: "punkt konsultacyjny uzależnień"},
		{Text: "rehabilitacja dzieci niepełnosprawnych"},
		{Text: "opiekumka"},
		{Text: "swietlca"},
		{Text: "rehabiltacja"},
		{Text: "psychloog"},
		{Text: "wolontariusz"},
		{Text: "po"},
		{Text: "mieszk"},
		{Text: "senior", Areas: area(cataloguev1.Area_AREA_SOCIAL_ASSISTANCE)},
		{Text: "zajęcia", Areas: area(cataloguev1.Area_AREA_CULTURE), TargetGroups: group(cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH)},
		{Text: "opieka", Age: &age},
		{Text: "żłobek", Near: &search.Geo{Center: p(1), RadiusMeters: 10_000}},
		{Text: "klub", Near: &search.Geo{Center: p(2), RadiusMeters: 25_000}},
		{Text: "pomoc", Tercs: tercs[:3]},
		{Text: "posiłki", FreeOnly: true},
		{Text: "terapia", OpenAt: &open},
		{Near: &search.Geo{Center: p(3), RadiusMeters: 15_000}},
		{Near: &search.Geo{Center: p(4), RadiusMeters: 5_000}, Areas: area(cataloguev1.Area_AREA_FAMILY_POLICY)},
		{Areas: area(cataloguev1.Area_AREA_HOUSING)},
		{TargetGroups: group(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS), FreeOnly: true},
		{Areas: area(cataloguev1.Area_AREA_FAMILY_POLICY), Age: &kid},
		{Tercs: tercs[5:6]},
		{OpenAt: &open, FreeOnly: true, TargetGroups: group(cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES)},
		{Text: "wsparcie", Offset: 40, Limit: 20},
		{Text: "zajęcia sportowe dla dzieci", IncludeInactive: true},
	}
}

func pct(ds []time.Duration, p float64) float64 {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))]) / 1e6
}

func benchScale(b *testing.B, n int) {
	if testing.Short() {
		b.Skip("builds a large corpus")
	}
	si := buildScale(b, n)
	qs := si.queries
	per := make([][]time.Duration, len(qs))
	var all []time.Duration
	for b.Loop() {
		for i, q := range qs {
			t0 := time.Now()
			r := si.ix.Search(q)
			d := time.Since(t0)
			per[i] = append(per[i], d)
			all = append(all, d)
			if r.Total < len(r.Hits) {
				b.Fatalf("%v: total %d < %d hits", q, r.Total, len(r.Hits))
			}
		}
	}
	b.StopTimer()

	// Throughput at 8 goroutines: each runs the query set from its own offset, 5 rounds.
	const workers, rounds = 8, 5
	var done atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds * len(qs) {
				si.ix.Search(qs[(w*7+r)%len(qs)])
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	qps := float64(done.Load()) / time.Since(t0).Seconds()

	b.ReportMetric(pct(all, 0.50), "p50-ms")
	b.ReportMetric(pct(all, 0.99), "p99-ms")
	b.ReportMetric(qps, "qps-8")
	b.ReportMetric(si.heapMiB, "index-MiB")
	b.ReportMetric(si.build.Seconds(), "build-s")
	if os.Getenv("CUS_BENCH_SNAPSHOT") != "" {
		benchSnapshot(b, si.ix)
	}
	b.ReportMetric(0, "ns/op")
	if testing.Verbose() {
		for i, q := range qs {
			r := si.ix.Search(q)
			b.Logf("%-60s p50=%6.2fms p99=%6.2fms total=%d", describeQ(q), pct(per[i], .5), pct(per[i], .99), r.Total)
		}
	}
}

// benchSnapshot writes the index to a file and reads it back (what a start-up does before catching up
// from the change feed), reporting the size and both times. Set CUS_BENCH_SNAPSHOT=1: at 500k it holds
// a second index for a moment.
func benchSnapshot(b *testing.B, ix *search.Index) {
	path := filepath.Join(b.TempDir(), "index.snap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := time.Now()
	if err := ix.WriteSnapshot(w, search.SnapshotMeta{FeedID: "bench", Revision: 1}); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	write := time.Since(t0)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	f, err = os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 = time.Now()
	got, _, err := search.ReadSnapshot(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		b.Fatal(err)
	}
	read := time.Since(t0)
	// The heap of the index as a restart has it (read from the snapshot: its arrays laid out as read, not as
	// a bulk load grew them).
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))/(1<<20), "snap-index-MiB")
	if got.Len() != ix.Len() {
		b.Fatalf("snapshot read back %d documents, want %d", got.Len(), ix.Len())
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "snap-MiB")
	b.ReportMetric(write.Seconds(), "snap-write-s")
	b.ReportMetric(read.Seconds(), "snap-read-s")
}

func describeQ(q search.Query) string {
	s := fmt.Sprintf("%q", q.Text)
	if q.Areas != 0 || q.TargetGroups != 0 {
		s += " +areas/groups"
	}
	if q.Near != nil {
		s += fmt.Sprintf(" +near %.0fkm", q.Near.RadiusMeters/1000)
	}
	if q.OpenAt != nil {
		s += " +open"
	}
	if q.Age != nil {
		s += " +age"
	}
	if len(q.Tercs) > 0 {
		s += " +terc"
	}
	if q.FreeOnly {
		s += " +free"
	}
	return s
}
