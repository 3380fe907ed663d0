package main

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/bench/internal/load"
	"github.com/cus-suite/cus/bench/internal/stats"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

type namedQuery struct {
	name string
	req  *cataloguev1.SearchServicesRequest
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
		{"text: żłobek", &cataloguev1.SearchServicesRequest{Query: "żłobek"}},
		{"text, no diacritics: zlobek", &cataloguev1.SearchServicesRequest{Query: "zlobek"}},
		{"text: świetlica środowiskowa", &cataloguev1.SearchServicesRequest{Query: "świetlica środowiskowa"}},
		{"text, no diacritics: swietlica srodowiskowa", &cataloguev1.SearchServicesRequest{Query: "swietlica srodowiskowa"}},
		{"text, no diacritics: uslugi opiekuncze", &cataloguev1.SearchServicesRequest{Query: "uslugi opiekuncze"}},
		{"typo: opiekumcze", &cataloguev1.SearchServicesRequest{Query: "opiekumcze"}},
		{"typo: swietlca", &cataloguev1.SearchServicesRequest{Query: "swietlca"}},
		{"prefix: mieszk", &cataloguev1.SearchServicesRequest{Query: "mieszk"}},
		{"phrase: uniwersytet trzeciego wieku", &cataloguev1.SearchServicesRequest{Query: "uniwersytet trzeciego wieku"}},
		{"text + area: wypożyczalnia sprzętu", &cataloguev1.SearchServicesRequest{Query: "wypożyczalnia sprzętu",
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_DISABILITY_SUPPORT}}},
		{"text + target group: gimnastyka / seniors", &cataloguev1.SearchServicesRequest{Query: "gimnastyka",
			TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}}},
		{"text + age 2: opieka nad dzieckiem", &cataloguev1.SearchServicesRequest{Query: "opieka nad dzieckiem", Age: age(2)}},
		{"text + terc x3: teleopieka", &cataloguev1.SearchServicesRequest{Query: "teleopieka", TercCodes: tercs}},
		{"text + free: poradnictwo psychologiczne", &cataloguev1.SearchServicesRequest{Query: "poradnictwo psychologiczne", FreeOfCharge: true}},
		{"text + open Wed 10:30: posiłki", &cataloguev1.SearchServicesRequest{Query: "posiłki", OpenAt: wednesday}},
		{"geo 10 km, no text", &cataloguev1.SearchServicesRequest{Near: &cataloguev1.GeoFilter{Center: nearPrzecka, RadiusMeters: 10_000}}},
		{"text + geo 25 km: asystent rodziny", &cataloguev1.SearchServicesRequest{Query: "asystent rodziny",
			Near: &cataloguev1.GeoFilter{Center: nearCzarnowo, RadiusMeters: 25_000}}},
		{"area + free + geo 30 km, no text", &cataloguev1.SearchServicesRequest{FreeOfCharge: true,
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_HEALTH_PROMOTION},
			Near:  &cataloguev1.GeoFilter{Center: nearLaziska, RadiusMeters: 30_000}}},
		{"area + group, no text", &cataloguev1.SearchServicesRequest{
			Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_SUPPORT, cataloguev1.Area_AREA_HEALTH_PROMOTION},
			TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}}},
		{"text + terc + open Sat 18:00: klub seniora", &cataloguev1.SearchServicesRequest{Query: "klub seniora",
			TercCodes: tercs, OpenAt: saturdayEvening}},
		{"text + age + inactive: przemoc", &cataloguev1.SearchServicesRequest{Query: "przemoc", Age: age(40), IncludeInactive: true}},
	}
}

// searchCommand cycles the query set with closed-loop clients over one shared ClientConn (as the gateway does).
func searchCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench search", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "clients", 1, 15*time.Second, "")
	addr := fs.String("addr", "127.0.0.1:7001", "gRPC address of the catalogue")
	perQuery := fs.Bool("per-query", true, "print the per-query breakdown")
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
	r.Target = *addr
	r.Method = cataloguev1.CatalogueService_SearchServices_FullMethodName
	r.Conns = 1
	r.ConnSharing = fmt.Sprintf("%d client(s) share 1 ClientConn", workers)
	r.fill(cfg, res)
	meter.report(r)
	for i, q := range qs {
		r.Queries = append(r.Queries, QueryReport{Name: q.name, Total: totals[i], Latency: stats.Summarize(res.ByTag[i])})
	}
	printLoad(r)
	if *perQuery {
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
	return failOnErrors(r)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
