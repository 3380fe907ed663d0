package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/bench/internal/load"
	"github.com/cus-suite/cus/bench/internal/stats"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

type namedQuery struct {
	name string
	req  *cataloguev1.SearchServicesRequest
	kind string // the query's class, in a query set read from a file
}

// loadQueries reads a query set as `catalogue generate --out-dir` writes it (queries.json): a JSON array of
// {name, kind, request}, request in the API's JSON form.
func loadQueries(path string) ([]namedQuery, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		Name    string          `json:"name"`
		Kind    string          `json:"kind"`
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	qs := make([]namedQuery, 0, len(raw))
	for i, q := range raw {
		req := &cataloguev1.SearchServicesRequest{}
		if err := protojson.Unmarshal(q.Request, req); err != nil {
			return nil, fmt.Errorf("%s: query %d: %w", path, i+1, err)
		}
		qs = append(qs, namedQuery{name: q.Name, req: req, kind: q.Kind})
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s holds no query", path)
	}
	return qs, nil
}

// Gminas of the synthetic catalogue `catalogue generate --gminas 200 --seed 1` (what scripts/bench.sh
// generates), with a point near each one's centre. With another catalogue the TERC and geo queries still run but
// may match little; the per-query table shows the number of matches, so that is visible.
var (
	tercCzarnowo = "0811113"
	tercPrzecka  = "2430285"
	tercLaziska  = "1220201"
	nearCzarnowo = &typev1.LatLng{Latitude: 52.07, Longitude: 15.23}
	nearPrzecka  = &typev1.LatLng{Latitude: 50.66, Longitude: 19.27}
	nearLaziska  = &typev1.LatLng{Latitude: 49.60, Longitude: 19.47}
)

// searchQueries is the fixed mixed query set: free text with and without Polish diacritics, typos, a prefix, and
// each filter (area, target group, age, TERC, free of charge, open at, distance) alone and combined with text.
func searchQueries() []namedQuery {
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		warsaw = time.FixedZone("CET", 3600)
	}
	wednesday := timestamppb.New(time.Date(2025, 3, 12, 10, 30, 0, 0, warsaw))
	saturdayEvening := timestamppb.New(time.Date(2025, 3, 15, 18, 0, 0, 0, warsaw))
	age := func(v int32) *int32 { return &v }
	tercs := []string{tercCzarnowo, tercPrzecka, tercLaziska}
	return []namedQuery{
		{name: "text: żłobek", req: &cataloguev1.SearchServicesRequest{Query: "żłobek"}},
		{name: "text, no diacritics: zlobek", req: &cataloguev1.SearchServicesRequest{Query: "zlobek"}},
		{name: "text: świetlica środowiskowa", req: &cataloguev1.SearchServicesRequest{Query: "świetlica środowiskowa"}},
		{name: "text, no diacritics: swietlica srodowiskowa", req: &cataloguev1.SearchServicesRequest{Query: "swietlica srodowiskowa"}},
		{name: "text, no diacritics: uslugi opiekuncze", req: &cataloguev1.SearchServicesRequest{Query: "uslugi opiekuncze"}},
		{name: "typo: opiekumcze", req: &cataloguev1.SearchServicesRequest{Query: "opiekumcze"}},
		{name: "typo: swietlca", req: &cataloguev1.SearchServicesRequest{Query: "swietlca"}},
		{name: "prefix: mieszk", req: &cataloguev1.SearchServicesRequest{Query: "mieszk"}},
		{name: "phrase: uniwersytet trzeciego wieku", req: &cataloguev1.SearchServicesRequest{Query: "uniwersytet trzeciego wieku"}},
		{name: "text + area: wypożyczalnia sprzętu", req: &cataloguev1.SearchServicesRequest{Query: "wypożyczalnia sprzętu",
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_DISABILITY_SUPPORT}}},
		{name: "text + target group: gimnastyka / seniors", req: &cataloguev1.SearchServicesRequest{Query: "gimnastyka",
			TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}}},
		{name: "text + age 2: opieka nad dzieckiem", req: &cataloguev1.SearchServicesRequest{Query: "opieka nad dzieckiem", Age: age(2)}},
		{name: "text + terc x3: teleopieka", req: &cataloguev1.SearchServicesRequest{Query: "teleopieka", TercCodes: tercs}},
		{name: "text + free: poradnictwo psychologiczne", req: &cataloguev1.SearchServicesRequest{Query: "poradnictwo psychologiczne", FreeOfCharge: true}},
		{name: "text + open Wed 10:30: posiłki", req: &cataloguev1.SearchServicesRequest{Query: "posiłki", OpenAt: wednesday}},
		{name: "geo 10 km, no text", req: &cataloguev1.SearchServicesRequest{Near: &cataloguev1.GeoFilter{Center: nearPrzecka, RadiusMeters: 10_000}}},
		{name: "text + geo 25 km: asystent rodziny", req: &cataloguev1.SearchServicesRequest{Query: "asystent rodziny",
			Near: &cataloguev1.GeoFilter{Center: nearCzarnowo, RadiusMeters: 25_000}}},
		{name: "area + free + geo 30 km, no text", req: &cataloguev1.SearchServicesRequest{FreeOfCharge: true,
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_HEALTH_PROMOTION},
			Near:  &cataloguev1.GeoFilter{Center: nearLaziska, RadiusMeters: 30_000}}},
		{name: "area + group, no text", req: &cataloguev1.SearchServicesRequest{
			Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_SUPPORT, cataloguev1.Area_AREA_HEALTH_PROMOTION},
			TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}}},
		{name: "text + terc + open Sat 18:00: klub seniora", req: &cataloguev1.SearchServicesRequest{Query: "klub seniora",
			TercCodes: tercs, OpenAt: saturdayEvening}},
		{name: "text + age + inactive: przemoc", req: &cataloguev1.SearchServicesRequest{Query: "przemoc", Age: age(40), IncludeInactive: true}},
	}
}

// searchCommand cycles the query set with closed-loop clients over one shared ClientConn (as the gateway does).
func searchCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench search", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "clients", 1, 15*time.Second, "")
	addr := fs.String("addr", "127.0.0.1:7001", "gRPC address of the catalogue: host:port, host:port,host:port (replicas) or dns:///name:port")
	perQuery := fs.Bool("per-query", true, "print the per-query breakdown (per class with --queries)")
	queriesFile := fs.String("queries", "", "query set file (catalogue generate --out-dir writes queries.json) instead of the built-in set")
	resultLine := fs.Bool("result-line", true, "print the closing RESULT {json} line (false: only --out gets the JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if lf.label == "" {
		lf.label = fmt.Sprintf("search-%d", lf.workers)
	}
	cc, err := dial(*addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	client := cataloguev1.NewCatalogueServiceClient(cc)
	qs := searchQueries()
	if *queriesFile != "" {
		if qs, err = loadQueries(*queriesFile); err != nil {
			return err
		}
	}

	// One pass first: every query must succeed; its number of matches goes in the per-query table.
	totals := make([]int32, len(qs))
	for i, q := range qs {
		resp, err := client.SearchServices(ctx, q.req)
		if err != nil {
			return fmt.Errorf("query %q: %w", q.name, err)
		}
		totals[i] = resp.GetTotalSize()
	}

	workers := max(1, lf.workers)
	next := make([]atomic.Int64, workers)
	for w := range next {
		next[w].Store(int64(w * len(qs) / workers)) // concurrent clients start at different queries
	}
	op := func(ctx context.Context, w int) (int, error) {
		i := int(next[w].Add(1)-1) % len(qs)
		resp, err := client.SearchServices(ctx, qs[i].req)
		if err != nil {
			return i, fmt.Errorf("query %q: %w", qs[i].name, err)
		}
		if resp.GetTotalSize() != totals[i] {
			return i, fmt.Errorf("query %q: %d matches, %d on the first pass", qs[i].name, resp.GetTotalSize(), totals[i])
		}
		return i, nil
	}
	fmt.Printf("== %s: SearchServices on %s, %d queries cycled by %d sequential client(s) over one ClientConn, warm-up %s, run %s\n",
		lf.label, *addr, len(qs), workers, lf.warmup, lf.duration)
	fmt.Println("  " + shareNote())
	meter := &cpuMeter{pids: lf.cpuPids}
	cfg := load.Config{Workers: lf.workers, Warmup: lf.warmup, Duration: lf.duration, OnStart: meter.begin}
	res := load.Run(ctx, cfg, op)
	meter.stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newReport("search", lf.label)
	r.noResultLine = !*resultLine
	r.Target = *addr
	r.Method = cataloguev1.CatalogueService_SearchServices_FullMethodName
	r.Conns = 1
	r.ConnSharing = fmt.Sprintf("%d client(s) share 1 ClientConn", workers)
	r.fill(cfg, res)
	meter.report(r)
	for i, q := range qs {
		r.Queries = append(r.Queries, QueryReport{Name: q.name, Kind: q.kind, Total: totals[i], Latency: stats.Summarize(res.ByTag[i])})
	}
	found := make([]int, 0, len(totals))
	for _, t := range totals {
		if t > 0 {
			r.QueriesWithResults++
		}
		found = append(found, int(t))
	}
	slices.Sort(found)
	r.MedianMatches = found[len(found)/2]
	printLoad(r)
	fmt.Printf("  %-22s %d of %d queries find something; median %d matches\n", "results", r.QueriesWithResults, len(qs), r.MedianMatches)
	if *perQuery && *queriesFile != "" {
		printClasses(qs, totals, res.ByTag)
	} else if *perQuery {
		fmt.Printf("  %-46s %8s %6s %9s %9s %9s\n", "query", "matches", "runs", "p50 ms", "p99 ms", "max ms")
		for _, q := range r.Queries {
			fmt.Printf("  %-46s %8d %6d %9.3f %9.3f %9.3f\n", truncate(q.Name, 46), q.Total, q.Latency.Count,
				stats.Ms(q.Latency.P50), stats.Ms(q.Latency.P99), stats.Ms(q.Latency.Max))
		}
		for i, t := range totals {
			if t == 0 {
				fmt.Printf("  warning: %q matches nothing in this catalogue\n", qs[i].name)
			}
		}
	}
	if err := r.emit(lf.out, lf.outDir); err != nil {
		return err
	}
	if *queriesFile != "" && 2*r.QueriesWithResults < len(qs) {
		// A query set where most queries find nothing measures empty answers, not search. (The built-in set
		// names gminas of one catalogue; on another its misses are only warned about, as before.)
		return fmt.Errorf("only %d of %d queries find anything in this catalogue", r.QueriesWithResults, len(qs))
	}
	return failOnErrors(r)
}

// printClasses prints, per class of query, how many find something, the median matches and the latency.
func printClasses(qs []namedQuery, totals []int32, byTag map[int][]time.Duration) {
	var order []string
	idx := map[string][]int{}
	for i, q := range qs {
		if _, ok := idx[q.kind]; !ok {
			order = append(order, q.kind)
		}
		idx[q.kind] = append(idx[q.kind], i)
	}
	fmt.Printf("  %-24s %7s %8s %9s %9s %9s\n", "class", "queries", "found", "median", "p50 ms", "p99 ms")
	for _, k := range order {
		var lat []time.Duration
		var matches []int
		found := 0
		for _, i := range idx[k] {
			lat = append(lat, byTag[i]...)
			matches = append(matches, int(totals[i]))
			if totals[i] > 0 {
				found++
			}
		}
		slices.Sort(matches)
		l := stats.Summarize(lat)
		fmt.Printf("  %-24s %7d %8d %9d %9.3f %9.3f\n", truncate(k, 24), len(idx[k]), found, matches[len(matches)/2], stats.Ms(l.P50), stats.Ms(l.P99))
	}
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
