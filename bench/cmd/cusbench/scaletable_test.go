package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cus-suite/cus/bench/internal/stats"
)

func writeReport(t *testing.T, dir, name string, r *Report) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScaleTable: the growth table has a column per size, "–" where a size was not measured, and at 500k a
// verdict against each target the issue sets.
func TestScaleTable(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		size       string
		p50, p99   time.Duration
		qps8, imps float64
		serving    float64
		rssKiB     int64
	}{
		{"10000", 400 * time.Microsecond, 2 * time.Millisecond, 2500, 30000, 0.4, 60 << 10},
		{"500000", 2 * time.Millisecond, 14 * time.Millisecond, 1200, 15000, 4.2, 1400 << 10},
	} {
		dir := filepath.Join(root, c.size)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeReport(t, dir, "import", &Report{Kind: "import", PerSecond: c.imps, Latency: stats.Summary{P50: 500 * time.Millisecond}, LoadAvgEnd: 3.5})
		writeReport(t, dir, "startup", &Report{Kind: "startup", ServingS: c.serving, VmRSSKiB: c.rssKiB, RssAnonKiB: c.rssKiB - 100<<10, RssFileKiB: 100 << 10})
		writeReport(t, dir, "search-1", &Report{Kind: "search", PerSecond: 900, Latency: stats.Summary{P50: c.p50, P99: c.p99}, QueriesWithResults: 190, MedianMatches: 1234})
		writeReport(t, dir, "search-8", &Report{Kind: "search", PerSecond: c.qps8})
		writeReport(t, dir, "rss-after-search", &Report{Kind: "rss", VmRSSKiB: c.rssKiB + 10<<10})
		if err := os.WriteFile(filepath.Join(dir, "step.json"), []byte(`{"generate_s":1.5,"generate_loadavg":2.25,"import_bytes":10485760,"data_bytes":20971520,"search_bytes":0,"services":`+c.size+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := scaleTableCommand([]string{"--root", root, "--sizes", "10000 100000 500000"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(md), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 3 {
			rows[strings.TrimSpace(cells[1])] = line
		}
	}
	for name, want := range map[string]string{
		"figure":                                 "| figure | unit | 10k | 100k | 500k | target at 500k |",
		"search, 1 client, p50":                  "| search, 1 client, p50 | ms | 0.40 | – | 2.00 | ≤ 3 ms PASS |",
		"search, 1 client, p99":                  "| search, 1 client, p99 | ms | 2.00 | – | 14.00 | ≤ 10 ms MISS |",
		"search, 8 clients":                      "| search, 8 clients | queries/s | 2,500 | – | 1,200 | ≥ 1,000 PASS |",
		"bulk import, ImportServices, durable":   "| bulk import, ImportServices, durable | services/s | 30,000 | – | 15,000 | ≥ 20,000 MISS |",
		"restart: process start to gRPC SERVING": "| restart: process start to gRPC SERVING | s | 0.40 | – | 4.20 | ≤ 5 s PASS |",
		"memory at SERVING, VmRSS":               "| memory at SERVING, VmRSS | MiB | 60 | – | 1400 | ≤ 1.2 GB (1,144 MiB) MISS |",
		"data file per service":                  "| data file per service | bytes | 2,097 | – | 42 |  |",
		"search snapshot (catalogue.search)":     "| search snapshot (catalogue.search) | MiB | – | – | – |  |",
		"median matches per query":               "| median matches per query | services | 1,234 | – | 1,234 |  |",
	} {
		if got := rows[name]; got != want {
			t.Errorf("row %q:\n got %s\nwant %s", name, got, want)
		}
	}
	var res scaleResults
	b, err := os.ReadFile(filepath.Join(root, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Sizes) != 3 || res.Reports["500000"]["startup"].ServingS != 4.2 || res.Steps["10000"].DataBytes != 20971520 || res.Machine.NumCPU == 0 {
		t.Errorf("results.json: %+v", res)
	}
	if err := scaleTableCommand([]string{"--root", root, "--sizes", "10000 x"}); err == nil {
		t.Error("a size that is not a number accepted")
	}
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{2000: "2k", 10000: "10k", 1000000: "1M", 1500: "1500", 2500000: "2500k"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLoadQueries(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "q.json")
	os.WriteFile(good, []byte(`[{"name":"word: żłobek","kind":"word","request":{"query":"żłobek","pageSize":20}},
		{"name":"TERC","kind":"TERC, no text","request":{"tercCodes":["3022053"],"areas":["AREA_HOUSING"],"pageSize":20}}]`), 0o644)
	qs, err := loadQueries(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].req.GetQuery() != "żłobek" || qs[0].kind != "word" || qs[1].req.GetTercCodes()[0] != "3022053" || qs[1].req.GetPageSize() != 20 {
		t.Errorf("queries: %+v", qs)
	}
	for name, body := range map[string]string{"empty": `[]`, "not json": `{`, "bad field": `[{"name":"x","request":{"nope":1}}]`} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := loadQueries(p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
