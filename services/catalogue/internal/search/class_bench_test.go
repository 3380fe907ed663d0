package search_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// BenchmarkSearchClasses runs the query set `make bench-scale` sends (demo.SearchQueries, 200 queries of the
// classes of demo.QueryKinds, page size 20) plus the engine bench's resident mix in-process, and reports
// per class p50/p99 (with -v), the mean time of one query at one goroutine (us/query: what a query costs
// the CPU) and queries/s at 8 goroutines. CUS_BENCH_CLASSES sets the corpus size (default 500,000).
//
// Two knobs make it a working tool rather than a one-off:
//   - CUS_BENCH_INDEX_CACHE=FILE keeps the built index as a snapshot: the first run writes it, later runs
//     read it in seconds instead of building the corpus for a minute;
//   - CUS_BENCH_GOLDEN=FILE records, on the first run, a digest of every query's answer (total, facets,
//     suggestion, each hit's ID, score bits and distance) with pages 1 and 3, and on later runs fails on any
//     difference: a speed-up that changes an answer is caught at the scale the unit tests do not reach.
//
// Run: CUS_BENCH_INDEX_CACHE=/tmp/ix500k.snap go test -run XXX -bench SearchClasses -benchtime 10x -v ./internal/search/
func BenchmarkSearchClasses(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a large corpus")
	}
	n := 500_000
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_CLASSES")); err == nil && v > 0 {
		n = v
	}
	ix := classIndex(b, n)
	type cq struct {
		kind, name string
		q          search.Query
	}
	var qs []cq
	dq, err := demo.SearchQueries(demo.SyntheticOptions{Services: n, Seed: 7}, 200)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range dq {
		q, err := domain.SearchQuery(d.Request)
		if err != nil {
			b.Fatal(err)
		}
		q.Limit = int(d.Request.GetPageSize())
		qs = append(qs, cq{d.Kind, d.Name, q})
	}
	if only := os.Getenv("CUS_BENCH_CLASSES_ONLY"); only != "" {
		// Profile a few queries alone (a regular expression over their names).
		re := regexp.MustCompile(only)
		qs = slices.DeleteFunc(qs, func(c cq) bool { return !re.MatchString(c.name) })
	}
	golden := os.Getenv("CUS_BENCH_GOLDEN")
	if golden != "" {
		all := make([]search.Query, 0, 2*len(qs))
		for _, c := range qs {
			all = append(all, c.q)
			p3 := c.q
			p3.Offset = 40
			all = append(all, p3)
		}
		// The engine bench's texts too: three words, a short prefix, OR fallbacks, inactive included.
		for _, t := range []string{"klub seniora", "punkt konsultacyjny uzależnień", "rehabilitacja dzieci niepełnosprawnych",
			"po", "mieszk", "zajęcia sportowe dla dzieci", "opiekumka", "psychloog", "dzienny dom pomocy", "wsparcie",
			"żłobek zzzzqx", "pomoc w nauce", "usługi opiekuńcze"} {
			all = append(all, search.Query{Text: t}, search.Query{Text: t, IncludeInactive: true, Offset: 20, Limit: 50})
		}
		checkGolden(b, ix, all, golden)
	}

	per := map[string][]time.Duration{}
	var all []time.Duration
	var sum time.Duration
	cpu0 := cpuTime()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		for _, c := range qs {
			t0 := time.Now()
			ix.Search(c.q)
			d := time.Since(t0)
			per[c.kind] = append(per[c.kind], d)
			all = append(all, d)
			sum += d
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	const workers, rounds = 8, 3
	var done atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds * len(qs) {
				ix.Search(qs[(w*7+r)%len(qs)].q)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	qps := float64(done.Load()) / time.Since(t0).Seconds()
	b.ReportMetric(pct(all, .5), "p50-ms")
	b.ReportMetric(pct(all, .99), "p99-ms")
	b.ReportMetric(float64(sum.Microseconds())/float64(len(all)), "us/query")
	b.ReportMetric(qps, "qps-8")
	// The process's CPU time (user + system, the collector's included) per query at one goroutine: on a
	// shared machine it moves much less with the load than the wall-clock figures.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/query")
	// What a query leaves to the collector (the loop's own bookkeeping is a few bytes a query): at 8 clients
	// the collector's work grows with it.
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(len(all)), "B/query")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(len(all)), "allocs/query")
	b.ReportMetric(0, "ns/op")
	if testing.Verbose() {
		kinds := make([]string, 0, len(per))
		for k := range per {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			var s time.Duration
			for _, d := range per[k] {
				s += d
			}
			b.Logf("%-22s mean=%6.2fms p50=%6.2fms p99=%6.2fms", k, float64(s)/float64(len(per[k]))/1e6, pct(per[k], .5), pct(per[k], .99))
		}
		if os.Getenv("CUS_BENCH_CLASSES_QUERIES") != "" {
			// Every query's least CPU time of 7 runs (the thread's CPU clock: waiting for a core on a shared
			// machine is not counted), most expensive first, with its matches: where the tail of the set is.
			type qt struct {
				d     time.Duration
				total int
				name  string
			}
			ts := make([]qt, 0, len(qs))
			runtime.LockOSThread()
			for _, c := range qs {
				best := time.Duration(math.MaxInt64)
				var total int
				for range 7 {
					t0 := threadCPU()
					total = ix.Search(c.q).Total
					best = min(best, threadCPU()-t0)
				}
				ts = append(ts, qt{best, total, c.name})
			}
			runtime.UnlockOSThread()
			slices.SortStableFunc(ts, func(a, b qt) int { return int(b.d - a.d) })
			var sumCPU time.Duration
			for _, t := range ts {
				sumCPU += t.d
			}
			b.Logf("least CPU per query, mean over the %d queries: %.3f ms", len(ts), float64(sumCPU)/float64(len(ts))/1e6)
			for _, t := range ts {
				b.Logf("%7.2fms %7d matches  %s", float64(t.d)/1e6, t.total, t.name)
			}
		}
	}
}

var classCache sync.Map // size -> *search.Index

// classIndex builds the corpus of buildScale, or reads it from the snapshot CUS_BENCH_INDEX_CACHE names
// (writing it there first when the file does not exist).
func classIndex(b *testing.B, n int) *search.Index {
	if v, ok := classCache.Load(n); ok {
		return v.(*search.Index)
	}
	path := os.Getenv("CUS_BENCH_INDEX_CACHE")
	var ix *search.Index
	if path != "" {
		if f, err := os.Open(path); err == nil {
			ix, _, err = search.ReadSnapshot(bufio.NewReaderSize(f, 1<<20))
			f.Close()
			if err != nil {
				b.Logf("index cache %s unusable (%v): rebuilding", path, err)
				ix = nil
			} else if ix.Len() != n {
				b.Logf("index cache %s holds %d documents, want %d: rebuilding", path, ix.Len(), n)
				ix = nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
	}
	if ix == nil {
		ix = buildScale(b, n).ix
		if path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			if err := ix.WriteSnapshot(w, search.SnapshotMeta{FeedID: "bench", Revision: 1}); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			// Answer from what was read back, as later runs will: the golden digests must not depend on
			// whether this run built the index or read it.
			f, err = os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			ix, _, err = search.ReadSnapshot(bufio.NewReaderSize(f, 1<<20))
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			scaleCache.Delete(n)
			runtime.GC()
		}
	}
	classCache.Store(n, ix)
	return ix
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkGolden compares a digest per query with the file, or writes the file when it does not exist.
func checkGolden(b *testing.B, ix *search.Index, qs []search.Query, path string) {
	got := make([]string, len(qs))
	for i, q := range qs {
		got[i] = answerDigest(ix.Search(q))
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var out []byte
		for _, g := range got {
			out = append(out, g...)
			out = append(out, '\n')
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("golden answers of %d queries written to %s", len(qs), path)
		return
	}
	if err != nil {
		b.Fatal(err)
	}
	lines := slices.DeleteFunc(splitLines(string(want)), func(s string) bool { return s == "" })
	if len(lines) != len(got) {
		b.Fatalf("golden file has %d answers, the query set %d", len(lines), len(got))
	}
	bad := 0
	for i := range got {
		if got[i] != lines[i] {
			bad++
			if bad <= 5 {
				b.Errorf("query %d (%+v): answer differs from the golden one", i, qs[i])
			}
		}
	}
	if bad > 0 {
		b.Fatalf("%d of %d answers differ from %s", bad, len(got), path)
	}
	b.Logf("all %d answers equal the golden ones", len(got))
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func answerDigest(r search.Result) string {
	h := sha256.New()
	fmt.Fprintf(h, "total=%d sugg=%q\n", r.Total, r.Suggestion)
	for _, m := range []map[int]int{r.AreaFacets, r.TargetGroupFacets} {
		keys := make([]int, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%d:%d ", k, m[k])
		}
		fmt.Fprintln(h)
	}
	var buf [4]byte
	for _, hit := range r.Hits {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(hit.Score))
		fmt.Fprintf(h, "%s %x %v %d\n", hit.ID, buf, hit.HasDistance, hit.DistanceMeters)
	}
	return fmt.Sprintf("%d %s", r.Total, hex.EncodeToString(h.Sum(nil))[:24])
}
