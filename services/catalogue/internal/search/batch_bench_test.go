package search_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// BenchmarkImportIndexing is the index's side of a bulk import into a big catalogue: 20,000 new realistic
// services (demo.Synthetic, another seed than the catalogue) indexed in batches of 2,000, as the import's
// committed batches arrive, into an index of CUS_BENCH_IMPORT_BASE services (100,000 unless set), while a
// resident searches all the time (the scale benchmarks' query mix). The sub-benchmarks take turns (A B B A
// with -count 2): one-by-one is each document upserted on its own (how imports indexed before), batch is
// UpsertBatch. They report the import's documents/s and the searches' p50 and p99 meanwhile. One by one, the
// import takes the write lock per document and so waits for a search in progress every time: searches are
// quick and the import crawls. A batch is indexed far faster and its analysis takes the cores, so the
// searches meanwhile are slower; lockSpan bounds how long they wait for the lock.
//
//	go test -run XXX -bench 'ImportIndexing' -benchtime 3x -count 2 ./internal/search/
func BenchmarkImportIndexing(b *testing.B) {
	base := 100_000
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_IMPORT_BASE")); err == nil && v > 0 {
		base = v
	}
	si := buildScale(b, base)
	var imported []search.Doc
	err := demo.Synthetic(demo.SyntheticOptions{Services: 20_000, Seed: 99}, func(id string, s *cataloguev1.Service) error {
		s.Name = domain.ServicePrefix + id
		s.OriginTerc = s.GetServiceAreas()[0].GetTerytCode()
		imported = append(imported, domain.IndexDoc(s, 0))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var round atomic.Int64
	for _, mode := range []string{"one-by-one", "batch"} {
		b.Run(mode, func(b *testing.B) {
			var took time.Duration
			var lat []time.Duration
			for range b.N {
				// New ids and revisions each round: every round adds 20,000 services to the shared index.
				r := round.Add(1)
				docs := slices.Clone(imported)
				for i := range docs {
					docs[i].ID = fmt.Sprintf("%s-%d", docs[i].ID, r)
					docs[i].Revision = r<<32 | int64(i+1)
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				var mine []time.Duration
				wg.Add(1)
				go func() {
					defer wg.Done()
					for q := 0; ; q++ {
						select {
						case <-stop:
							return
						default:
						}
						t0 := time.Now()
						si.ix.Search(si.queries[q%len(si.queries)])
						mine = append(mine, time.Since(t0))
					}
				}()
				t0 := time.Now()
				for lo := 0; lo < len(docs); lo += 2000 {
					batch := docs[lo:min(lo+2000, len(docs))]
					if mode == "batch" {
						si.ix.UpsertBatch(batch)
						continue
					}
					for _, d := range batch {
						si.ix.Upsert(d)
					}
				}
				took += time.Since(t0)
				close(stop)
				wg.Wait()
				lat = append(lat, mine...)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N*len(imported))/took.Seconds(), "docs/s")
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "search-p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "search-p99-ms")
			}
		})
	}
}

// BenchmarkImportGrowth is the index's side of a bulk import into an empty catalogue, nothing else running:
// CUS_BENCH_GROWTH realistic services (200,000 unless set) upserted in batches of 1,900 (an import file's
// committed batch), so the index grows from nothing to that size as it does under ImportServices: the
// per-document arrays, the postings and the bitsets grow with it. It reports the CPU per document and the
// bytes allocated per document (what the collector has to follow), the figures to compare side by side
// (-count 6, old and new binaries in turn) when the index's write path changes.
//
//	go test -run XXX -bench 'ImportGrowth' -benchtime 1x -count 6 ./internal/search/
func BenchmarkImportGrowth(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_GROWTH")); err == nil && v > 0 {
		n = v
	}
	docs := growthDocs(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ix := search.New()
		for lo := 0; lo < len(docs); lo += 1900 {
			ix.UpsertBatch(docs[lo:min(lo+1900, len(docs))])
		}
		if ix.Len() != len(docs) {
			b.Fatalf("%d documents indexed, want %d", ix.Len(), len(docs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(docs)), "ns/doc")
}

var growthCache sync.Map // size -> []search.Doc

func growthDocs(b *testing.B, n int) []search.Doc {
	if v, ok := growthCache.Load(n); ok {
		return v.([]search.Doc)
	}
	docs := make([]search.Doc, 0, n)
	err := demo.Synthetic(demo.SyntheticOptions{Services: n, Seed: 5}, func(id string, s *cataloguev1.Service) error {
		s.Name = domain.ServicePrefix + id
		s.OriginTerc = s.GetServiceAreas()[0].GetTerytCode()
		docs = append(docs, domain.IndexDoc(s, int64(len(docs)+1)))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	growthCache.Store(n, docs)
	return docs
}
