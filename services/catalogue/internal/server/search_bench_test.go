package server_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// BenchmarkSearchServices measures the whole SearchServices call as the gRPC server runs it, minus the
// transport: the handler (query parsing, the engine, reading the page from the read cache or bbolt) and the
// response's encoding by the server's codec. The corpus is demo.Synthetic written to a real bbolt file and
// indexed by LoadIndex, outside the timed part; CUS_BENCH_SEARCH_SERVICES sets its size (default 100,000;
// 500,000 takes a minute or two to build). It reports p50/p99 of one client, queries/s with 8 clients and
// the response bytes per query.
//
// Run: CUS_BENCH_SEARCH_SERVICES=500000 go test -run XXX -bench SearchServices -benchtime 20x ./internal/server/
func BenchmarkSearchServices(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a large corpus")
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_SEARCH_SERVICES")); err == nil && v > 0 {
		n = v
	}
	srv, reqs := searchCorpus(b, n)
	codec := srv.Codec()
	run := func(req *cataloguev1.SearchServicesRequest) int {
		resp, err := srv.SearchServices(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		out, err := codec.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		size := out.Len()
		out.Free()
		return size
	}
	// One warm round: the first page of each query is read from bbolt once, then from the read cache, as
	// on a serving node.
	for _, r := range reqs {
		run(r)
	}
	var all []time.Duration
	bytes := 0
	for b.Loop() {
		for _, r := range reqs {
			t0 := time.Now()
			bytes += run(r)
			all = append(all, time.Since(t0))
		}
	}
	b.StopTimer()
	const workers, rounds = 8, 5
	var done atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds * len(reqs) {
				run(reqs[(w*7+i)%len(reqs)])
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	qps := float64(done.Load()) / time.Since(t0).Seconds()
	slices.Sort(all)
	at := func(p float64) float64 { return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6 }
	b.ReportMetric(at(.50), "p50-ms")
	b.ReportMetric(at(.99), "p99-ms")
	b.ReportMetric(qps, "qps-8")
	b.ReportMetric(float64(bytes)/float64(len(all)), "resp-B")
	b.ReportMetric(0, "ns/op")
}

var searchCorpora sync.Map // size -> *searchCorpusEntry

type searchCorpusEntry struct {
	srv  *server.Server
	reqs []*cataloguev1.SearchServicesRequest
}

// searchCorpus builds (once per process and size) a catalogue of n synthetic services and the query mix of
// the engine's scale benchmark, as requests.
func searchCorpus(b *testing.B, n int) (*server.Server, []*cataloguev1.SearchServicesRequest) {
	if v, ok := searchCorpora.Load(n); ok {
		e := v.(*searchCorpusEntry)
		return e.srv, e.reqs
	}
	// Not b.TempDir: the corpus outlives this benchmark run (b.Loop calls it again with a larger N).
	dir, err := os.MkdirTemp("", "cus-search-bench-")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "catalogue.db"), zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	var (
		list   []*cataloguev1.Service
		ids    []string
		points []*typev1.LatLng
		tercs  []string
	)
	flush := func() error {
		if len(list) == 0 {
			return nil
		}
		_, _, err := st.ImportServices(context.Background(), list, ids)
		list, ids = list[:0], ids[:0]
		return err
	}
	count := 0
	err = demo.Synthetic(demo.SyntheticOptions{Services: n, Seed: 7}, func(id string, s *cataloguev1.Service) error {
		if locs := s.GetLocations(); len(locs) > 0 {
			if s.GetOriginTerc() == "" {
				s.OriginTerc = locs[0].GetTerytCode()
			}
			if count%997 == 0 && locs[0].GetCoordinates() != nil {
				points = append(points, locs[0].GetCoordinates())
				tercs = append(tercs, locs[0].GetTerytCode())
			}
		}
		count++
		list, ids = append(list, s), append(ids, id)
		if len(list) == 2000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(st, "", zap.NewNop())
	if _, err := srv.LoadIndex(); err != nil {
		b.Fatal(err)
	}
	// The files stay open for the process's life; the OS removes nothing, so say where they are.
	b.Logf("search corpus of %d services in %s (remove it after the run)", n, dir)
	e := &searchCorpusEntry{srv: srv, reqs: searchRequests(points, tercs)}
	searchCorpora.Store(n, e)
	return e.srv, e.reqs
}

// searchRequests is the engine scale benchmark's query mix (search/scale_bench_test.go) as requests.
func searchRequests(points []*typev1.LatLng, tercs []string) []*cataloguev1.SearchServicesRequest {
	age, kid := int32(70), int32(2)
	open := timestamppb.New(time.Date(2026, 3, 11, 10, 30, 0, 0, time.UTC))
	near := func(i int, r int32) *cataloguev1.GeoFilter {
		return &cataloguev1.GeoFilter{Center: points[i%len(points)], RadiusMeters: r}
	}
	type rq = cataloguev1.SearchServicesRequest
	areas := func(a ...cataloguev1.Area) []cataloguev1.Area { return a }
	groups := func(g ...cataloguev1.TargetGroup) []cataloguev1.TargetGroup { return g }
	reqs := []*rq{}
	for _, t := range []string{"żłobek", "zlobek", "świetlica", "swietlica", "seniorów", "rehabilitacja", "opieka",
		"teleopieka", "noclegownia", "psycholog", "wolontariat", "biblioteka", "klub seniora", "asystent rodziny",
		"usługi opiekuńcze", "uslugi opiekuncze", "pomoc w nauce", "mieszkanie chronione", "dzienny dom pomocy",
		"punkt konsultacyjny uzależnień", "rehabilitacja dzieci niepełnosprawnych", "opiekumka", "swietlca",
		"rehabiltacja", "psychloog", "wolontariusz", "po", "mieszk"} {
		reqs = append(reqs, &rq{Query: t})
	}
	reqs = append(reqs,
		&rq{Query: "senior", Areas: areas(cataloguev1.Area_AREA_SOCIAL_ASSISTANCE)},
		&rq{Query: "zajęcia", Areas: areas(cataloguev1.Area_AREA_CULTURE), TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH)},
		&rq{Query: "opieka", Age: &age},
		&rq{Query: "żłobek", Near: near(1, 10_000)},
		&rq{Query: "klub", Near: near(2, 25_000)},
		&rq{Query: "pomoc", TercCodes: tercs[:3]},
		&rq{Query: "posiłki", FreeOfCharge: true},
		&rq{Query: "terapia", OpenAt: open},
		&rq{Near: near(3, 15_000)},
		&rq{Near: near(4, 5_000), Areas: areas(cataloguev1.Area_AREA_FAMILY_POLICY)},
		&rq{Areas: areas(cataloguev1.Area_AREA_HOUSING)},
		&rq{TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS), FreeOfCharge: true},
		&rq{Areas: areas(cataloguev1.Area_AREA_FAMILY_POLICY), Age: &kid},
		&rq{TercCodes: tercs[5:6]},
		&rq{OpenAt: open, FreeOfCharge: true, TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES)},
		&rq{Query: "zajęcia sportowe dla dzieci", IncludeInactive: true},
	)
	return reqs
}
