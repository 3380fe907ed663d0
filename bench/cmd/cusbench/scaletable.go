package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cus-suite/cus/bench/internal/stats"
)

// The targets of issue 12, at 500,000 services.
const (
	scaleTargetSize      = 500_000
	scaleTargetP50       = 3 * time.Millisecond
	scaleTargetP99       = 10 * time.Millisecond
	scaleTargetQPS8      = 1000
	scaleTargetStartupS  = 5
	scaleTargetMemoryKiB = 1_200_000_000 / 1024 // 1.2 GB
	scaleTargetImport    = 20_000
)

// scaleStep is what scripts/bench-scale.sh writes per size besides the cusbench reports: timings of the steps
// it runs itself and the sizes of the files.
type scaleStep struct {
	GenerateS       float64 `json:"generate_s"`
	GenerateLoadAvg float64 `json:"generate_loadavg"`
	ImportBytes     int64   `json:"import_bytes"`
	DataBytes       int64   `json:"data_bytes"`
	SearchBytes     int64   `json:"search_bytes"` // <data-dir>/catalogue.search, 0 when there is none
	Services        int     `json:"services"`
}

// scaleRow is one figure of the growth table: a value per size, a target at 500k when the issue sets one.
type scaleRow struct {
	Name   string             `json:"name"`
	Unit   string             `json:"unit"`
	Values map[string]float64 `json:"values"` // by size; absent when not measured
	Target string             `json:"target,omitempty"`
	// Verdict is PASS or MISS at 500k (when measured and the figure has a target), else empty.
	Verdict string `json:"verdict,omitempty"`
	ok      func(v float64) bool
	format  func(v float64) string
}

// scaleResults is results.json of make bench-scale.
type scaleResults struct {
	Time    string                        `json:"time"`
	Machine machineInfo                   `json:"machine"`
	Sizes   []int                         `json:"sizes"`
	Figures []*scaleRow                   `json:"figures"`
	Steps   map[string]*scaleStep         `json:"steps"`
	Reports map[string]map[string]*Report `json:"reports"`
	Note    string                        `json:"note"`
}

type machineInfo struct {
	NumCPU     int    `json:"num_cpu"`
	MemTotalMB int64  `json:"mem_total_mb"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
}

func readMachine() machineInfo {
	m := machineInfo{NumCPU: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemTotalMB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// The reports scripts/bench-scale.sh writes into <root>/<size>/.
var scaleReportFiles = []string{"import", "rss-after-import", "rss-import-settled", "startup", "search-1", "search-8", "rss-after-search"}

func scaleTableCommand(args []string) error {
	fset := flag.NewFlagSet("cusbench scale-table", flag.ContinueOnError)
	root := fset.String("root", "var/bench-scale", "directory with one subdirectory of reports per size")
	sizesFlag := fset.String("sizes", "10000 100000 500000 1000000", "sizes, in the order of the columns")
	outJSON := fset.String("out", "", "write results.json here (default <root>/results.json)")
	outMD := fset.String("table", "", "write the Markdown table here (default <root>/table.md)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *outJSON == "" {
		*outJSON = filepath.Join(*root, "results.json")
	}
	if *outMD == "" {
		*outMD = filepath.Join(*root, "table.md")
	}
	var sizes []int
	for _, f := range strings.Fields(strings.ReplaceAll(*sizesFlag, ",", " ")) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("size %q", f)
		}
		sizes = append(sizes, n)
	}
	res := &scaleResults{Time: time.Now().UTC().Format(time.RFC3339), Machine: readMachine(), Sizes: sizes,
		Steps: map[string]*scaleStep{}, Reports: map[string]map[string]*Report{},
		Note: "One run per size on a shared machine: the load average beside each figure says how much other work ran. " +
			"VmRSS = RssAnon (heap, stacks: private memory) + RssFile (resident pages of mapped files: the bbolt data file, the binary) + RssShmem."}
	for _, n := range sizes {
		key := strconv.Itoa(n)
		dir := filepath.Join(*root, key)
		reps := map[string]*Report{}
		for _, name := range scaleReportFiles {
			b, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			var r Report
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("%s/%s.json: %w", dir, name, err)
			}
			reps[name] = &r
		}
		res.Reports[key] = reps
		if b, err := os.ReadFile(filepath.Join(dir, "step.json")); err == nil {
			var st scaleStep
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("%s/step.json: %w", dir, err)
			}
			res.Steps[key] = &st
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	res.Figures = scaleFigures(res)
	md := scaleMarkdown(res)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*outJSON, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(*outMD, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	fmt.Printf("\nwritten: %s, %s\n", *outJSON, *outMD)
	return nil
}

func scaleFigures(res *scaleResults) []*scaleRow {
	ms := func(d time.Duration) float64 { return stats.Ms(d) }
	mib := func(kib int64) float64 { return float64(kib) / 1024 }
	f0 := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	thousands := func(v float64) string { return groupThousands(int64(v + 0.5)) }
	type def struct {
		name, unit, target string
		ok                 func(float64) bool
		format             func(float64) string
		get                func(reps map[string]*Report, st *scaleStep) (float64, bool)
	}
	rep := func(name string, get func(*Report) float64) func(map[string]*Report, *scaleStep) (float64, bool) {
		return func(reps map[string]*Report, _ *scaleStep) (float64, bool) {
			if r := reps[name]; r != nil {
				return get(r), true
			}
			return 0, false
		}
	}
	step := func(get func(*scaleStep) (float64, bool)) func(map[string]*Report, *scaleStep) (float64, bool) {
		return func(_ map[string]*Report, st *scaleStep) (float64, bool) {
			if st == nil {
				return 0, false
			}
			return get(st)
		}
	}
	defs := []def{
		{"generate the import files (catalogue generate --out-dir)", "s", "", nil, f1, step(func(s *scaleStep) (float64, bool) { return s.GenerateS, s.GenerateS > 0 })},
		{"import files", "MiB", "", nil, f1, step(func(s *scaleStep) (float64, bool) { return float64(s.ImportBytes) / (1 << 20), s.ImportBytes > 0 })},
		{"bulk import, ImportServices, durable", "services/s", "≥ 20,000", func(v float64) bool { return v >= scaleTargetImport }, thousands,
			rep("import", func(r *Report) float64 { return r.PerSecond })},
		{"bulk import: per file (p50)", "ms", "", nil, f0, rep("import", func(r *Report) float64 { return ms(r.Latency.P50) })},
		{"memory after the import, VmRSS", "MiB", "", nil, f0, rep("rss-after-import", func(r *Report) float64 { return mib(r.VmRSSKiB) })},
		{"memory 10 s after the import, VmRSS", "MiB", "", nil, f0, rep("rss-import-settled", func(r *Report) float64 { return mib(r.VmRSSKiB) })},
		{"  of which RssAnon (heap, private)", "MiB", "", nil, f0, rep("rss-import-settled", func(r *Report) float64 { return mib(r.RssAnonKiB) })},
		{"restart: process start to gRPC SERVING", "s", "≤ 5 s", func(v float64) bool { return v <= scaleTargetStartupS }, f2,
			rep("startup", func(r *Report) float64 { return r.ServingS })},
		{"memory at SERVING, VmRSS", "MiB", "≤ 1.2 GB (1,144 MiB)", func(v float64) bool { return v*1024 <= scaleTargetMemoryKiB }, f0,
			rep("startup", func(r *Report) float64 { return mib(r.VmRSSKiB) })},
		{"  of which RssAnon (heap, private)", "MiB", "", nil, f0, rep("startup", func(r *Report) float64 { return mib(r.RssAnonKiB) })},
		{"  of which RssFile (mapped file pages)", "MiB", "", nil, f0, rep("startup", func(r *Report) float64 { return mib(r.RssFileKiB) })},
		{"search, 1 client, p50", "ms", "≤ 3 ms", func(v float64) bool { return v <= ms(scaleTargetP50) }, f2,
			rep("search-1", func(r *Report) float64 { return ms(r.Latency.P50) })},
		{"search, 1 client, p99", "ms", "≤ 10 ms", func(v float64) bool { return v <= ms(scaleTargetP99) }, f2,
			rep("search-1", func(r *Report) float64 { return ms(r.Latency.P99) })},
		{"search, 1 client", "queries/s", "", nil, thousands, rep("search-1", func(r *Report) float64 { return r.PerSecond })},
		{"search, 8 clients", "queries/s", "≥ 1,000", func(v float64) bool { return v >= scaleTargetQPS8 }, thousands,
			rep("search-8", func(r *Report) float64 { return r.PerSecond })},
		{"search, 8 clients, p50", "ms", "", nil, f2, rep("search-8", func(r *Report) float64 { return ms(r.Latency.P50) })},
		{"search, 8 clients, p99", "ms", "", nil, f2, rep("search-8", func(r *Report) float64 { return ms(r.Latency.P99) })},
		{"queries that find something (of the set)", "queries", "", nil, f0, rep("search-1", func(r *Report) float64 { return float64(r.QueriesWithResults) })},
		{"median matches per query", "services", "", nil, thousands, rep("search-1", func(r *Report) float64 { return float64(r.MedianMatches) })},
		{"memory after the searches, VmRSS", "MiB", "≤ 1.2 GB (1,144 MiB)", func(v float64) bool { return v*1024 <= scaleTargetMemoryKiB }, f0,
			rep("rss-after-search", func(r *Report) float64 { return mib(r.VmRSSKiB) })},
		{"  of which RssAnon (heap, private)", "MiB", "", nil, f0, rep("rss-after-search", func(r *Report) float64 { return mib(r.RssAnonKiB) })},
		{"  of which RssFile (mapped file pages)", "MiB", "", nil, f0, rep("rss-after-search", func(r *Report) float64 { return mib(r.RssFileKiB) })},
		{"data file (catalogue.db)", "MiB", "", nil, f1, step(func(s *scaleStep) (float64, bool) { return float64(s.DataBytes) / (1 << 20), s.DataBytes > 0 })},
		{"data file per service", "bytes", "", nil, thousands, step(func(s *scaleStep) (float64, bool) {
			return float64(s.DataBytes) / float64(max(1, s.Services)), s.DataBytes > 0 && s.Services > 0
		})},
		{"search snapshot (catalogue.search)", "MiB", "", nil, f1, step(func(s *scaleStep) (float64, bool) { return float64(s.SearchBytes) / (1 << 20), s.SearchBytes > 0 })},
		{"load average (1 min) while generating", "", "", nil, f2, step(func(s *scaleStep) (float64, bool) { return s.GenerateLoadAvg, s.GenerateLoadAvg > 0 })},
		{"load average (1 min) after the import", "", "", nil, f2, rep("import", func(r *Report) float64 { return r.LoadAvgEnd })},
		{"load average (1 min) at SERVING", "", "", nil, f2, rep("startup", func(r *Report) float64 { return r.LoadAvgEnd })},
		{"load average (1 min) after search, 1 client", "", "", nil, f2, rep("search-1", func(r *Report) float64 { return r.LoadAvgEnd })},
		{"load average (1 min) after search, 8 clients", "", "", nil, f2, rep("search-8", func(r *Report) float64 { return r.LoadAvgEnd })},
	}
	var rows []*scaleRow
	for _, d := range defs {
		row := &scaleRow{Name: d.name, Unit: d.unit, Target: d.target, Values: map[string]float64{}, ok: d.ok, format: d.format}
		for _, n := range res.Sizes {
			key := strconv.Itoa(n)
			if v, ok := d.get(res.Reports[key], res.Steps[key]); ok {
				row.Values[key] = v
			}
		}
		if v, measured := row.Values[strconv.Itoa(scaleTargetSize)]; measured && d.ok != nil {
			row.Verdict = "MISS"
			if d.ok(v) {
				row.Verdict = "PASS"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func scaleMarkdown(res *scaleResults) string {
	var b strings.Builder
	m := res.Machine
	fmt.Fprintf(&b, "Growth table of `make bench-scale` (%s): %d CPU(s), %s MB memory, %s, Linux %s.\n\n",
		res.Time, m.NumCPU, groupThousands(m.MemTotalMB), m.CPUModel, m.Kernel)
	b.WriteString("| figure | unit |")
	for _, n := range res.Sizes {
		fmt.Fprintf(&b, " %s |", sizeLabel(n))
	}
	b.WriteString(" target at 500k |\n|---|---|")
	for range res.Sizes {
		b.WriteString("---:|")
	}
	b.WriteString("---|\n")
	for _, row := range res.Figures {
		fmt.Fprintf(&b, "| %s | %s |", row.Name, row.Unit)
		for _, n := range res.Sizes {
			if v, ok := row.Values[strconv.Itoa(n)]; ok {
				fmt.Fprintf(&b, " %s |", row.format(v))
			} else {
				b.WriteString(" – |")
			}
		}
		t := row.Target
		if row.Verdict != "" {
			t += " " + row.Verdict
		}
		fmt.Fprintf(&b, " %s |\n", t)
	}
	b.WriteString("\n" + res.Note + "\n")
	return b.String()
}

func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// groupThousands writes 12345 as "12,345".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
