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
	"strings"
	"time"

	"github.com/cus-suite/cus/bench/internal/stats"
)

// Targets of the issue.
const (
	targetRESTRatio = 0.50 // gateway req/s at least half of bare net/http
	targetGRPCRatio = 0.70 // GetService calls/s at least 70% of the health Check
	targetSearchP99 = 20 * time.Millisecond
	// disturbedCores is how much other work during a run makes its figures untrustworthy.
	disturbedCores = 0.25
)

// Figure is one line of the summary, as results.json carries it.
type Figure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Target   string  `json:"target,omitempty"`
	Verdict  string  `json:"verdict"` // PASS, MISS or INFO
	Measured string  `json:"measured"`
}

// Summary is results.json: the figures with their verdicts and every raw report.
type Summary struct {
	Time    string             `json:"time"`
	NumCPU  int                `json:"num_cpu"`
	LoadAvg string             `json:"loadavg_before,omitempty"`
	Note    string             `json:"note"`
	Warning string             `json:"warning,omitempty"`
	Figures []Figure           `json:"figures"`
	Reports map[string]*Report `json:"reports"`
}

// The files scripts/bench.sh writes into the run directory, by role.
var reportFiles = []string{"rest", "bare", "grpc-getservice", "grpc-health", "search-1", "search-4", "startup", "rss-after-search"}

func summaryCommand(args []string) error {
	fset := flag.NewFlagSet("cusbench summary", flag.ContinueOnError)
	dir := fset.String("dir", "var/bench/run", "directory with the JSON reports of one run")
	out := fset.String("out", "", "write results.json here")
	services := fset.Int("services", 0, "catalogue size, for the labels (default: from the start-up report)")
	loadavg := fset.String("loadavg-before", "", "1, 5 and 15 minute load averages before the bench, for the record")
	if err := fset.Parse(args); err != nil {
		return err
	}
	reps := map[string]*Report{}
	for _, name := range reportFiles {
		b, err := os.ReadFile(filepath.Join(*dir, name+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s.json: %w", name, err)
		}
		reps[name] = &r
	}
	if len(reps) == 0 {
		return fmt.Errorf("no reports in %s", *dir)
	}
	n := *services
	if n == 0 && reps["startup"] != nil {
		n = reps["startup"].Services
	}
	size := "?"
	if n > 0 {
		size = fmt.Sprintf("%dk", n/1000)
		if n%1000 != 0 {
			size = fmt.Sprint(n)
		}
	}

	var figs []Figure
	add := func(f Figure) { figs = append(figs, f) }
	info := func(name string, v float64, unit, measured string) {
		add(Figure{Name: name, Value: v, Unit: unit, Verdict: "INFO", Measured: measured})
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	rest, bare := reps["rest"], reps["bare"]
	if rest != nil {
		info("REST GET /v1/services/{id} via gateway, 64 conns", rest.PerSecond, "req/s", fmt.Sprintf("%.0f req/s (p99 %.2f ms)", rest.PerSecond, stats.Ms(rest.Latency.P99)))
	}
	if bare != nil {
		info(fmt.Sprintf("bare net/http, same %d-byte body, 64 conns", bare.BodyBytes), bare.PerSecond, "req/s", fmt.Sprintf("%.0f req/s (p99 %.2f ms)", bare.PerSecond, stats.Ms(bare.Latency.P99)))
	}
	if rest != nil && bare != nil && bare.PerSecond > 0 {
		ratio := rest.PerSecond / bare.PerSecond
		add(Figure{Name: "  gateway / bare", Value: ratio, Unit: "ratio", Target: fmt.Sprintf(">= %.0f %%", targetRESTRatio*100),
			Verdict: verdict(ratio >= targetRESTRatio), Measured: fmt.Sprintf("%.1f %%", ratio*100)})
	}
	if f, ok := cpuRatio("  gateway / bare, CPU-normalised", rest, bare); ok {
		add(f)
	}
	// The same, through a gateway with its public micro-cache off (every request reaches the catalogue).
	if nc, ncBare := loadReport(filepath.Join(*dir, "nocache", "rest-nocache.json")), loadReport(filepath.Join(*dir, "nocache", "bare.json")); nc != nil && ncBare != nil && ncBare.PerSecond > 0 {
		reps["rest-nocache"] = nc
		info("REST GET, gateway cache off, 64 conns", nc.PerSecond, "req/s", fmt.Sprintf("%.0f req/s (p99 %.2f ms) vs bare %.0f", nc.PerSecond, stats.Ms(nc.Latency.P99), ncBare.PerSecond))
		ratio := nc.PerSecond / ncBare.PerSecond
		add(Figure{Name: "  gateway (cache off) / bare", Value: ratio, Unit: "ratio", Target: fmt.Sprintf(">= %.0f %%", targetRESTRatio*100),
			Verdict: verdict(ratio >= targetRESTRatio), Measured: fmt.Sprintf("%.1f %%", ratio*100)})
	}
	gs, hc := reps["grpc-getservice"], reps["grpc-health"]
	if gs != nil {
		info("gRPC GetService, 64 callers", gs.PerSecond, "calls/s", fmt.Sprintf("%.0f calls/s (p99 %.2f ms)", gs.PerSecond, stats.Ms(gs.Latency.P99)))
	}
	if hc != nil {
		info("gRPC grpc.health.v1 Check, 64 callers", hc.PerSecond, "calls/s", fmt.Sprintf("%.0f calls/s (p99 %.2f ms)", hc.PerSecond, stats.Ms(hc.Latency.P99)))
	}
	if gs != nil && hc != nil && hc.PerSecond > 0 {
		ratio := gs.PerSecond / hc.PerSecond
		add(Figure{Name: "  GetService / health Check", Value: ratio, Unit: "ratio", Target: fmt.Sprintf(">= %.0f %%", targetGRPCRatio*100),
			Verdict: verdict(ratio >= targetGRPCRatio), Measured: fmt.Sprintf("%.1f %%", ratio*100)})
	}
	if f, ok := cpuRatio("  GetService / health, CPU-normalised", gs, hc); ok {
		add(f)
	}
	if s := reps["search-1"]; s != nil {
		add(Figure{Name: fmt.Sprintf("search %s, 1 client: p99", size), Value: stats.Ms(s.Latency.P99), Unit: "ms",
			Target: fmt.Sprintf("< %d ms", targetSearchP99.Milliseconds()), Verdict: verdict(s.Latency.P99 < targetSearchP99),
			Measured: fmt.Sprintf("%.2f ms", stats.Ms(s.Latency.P99))})
		info(fmt.Sprintf("search %s, 1 client: p50 / max", size), stats.Ms(s.Latency.P50), "ms",
			fmt.Sprintf("%.2f / %.2f ms", stats.Ms(s.Latency.P50), stats.Ms(s.Latency.Max)))
		info(fmt.Sprintf("search %s, 1 client: queries/s", size), s.PerSecond, "queries/s", fmt.Sprintf("%.0f queries/s", s.PerSecond))
	}
	if s := reps["search-4"]; s != nil {
		info(fmt.Sprintf("search %s, 4 clients: p50 / p99", size), stats.Ms(s.Latency.P99), "ms",
			fmt.Sprintf("%.2f / %.2f ms", stats.Ms(s.Latency.P50), stats.Ms(s.Latency.P99)))
		info(fmt.Sprintf("search %s, 4 clients: queries/s", size), s.PerSecond, "queries/s", fmt.Sprintf("%.0f queries/s", s.PerSecond))
	}
	if s := reps["startup"]; s != nil {
		m := fmt.Sprintf("%.3f s", s.ServingS)
		if s.SelfReportedS > 0 {
			m += fmt.Sprintf(" (own log: %.3f s)", s.SelfReportedS)
		}
		info(fmt.Sprintf("catalogue start-up to SERVING, %s services", size), s.ServingS, "s", m)
		info("catalogue VmRSS after start-up", float64(s.VmRSSKiB)/1024, "MiB", fmt.Sprintf("%.0f MiB (peak %.0f MiB)", float64(s.VmRSSKiB)/1024, float64(s.VmHWMKiB)/1024))
	}
	if s := reps["rss-after-search"]; s != nil {
		info("catalogue VmRSS after the search runs", float64(s.VmRSSKiB)/1024, "MiB", fmt.Sprintf("%.0f MiB (peak %.0f MiB)", float64(s.VmRSSKiB)/1024, float64(s.VmHWMKiB)/1024))
	}

	// Other work on the machine during each timed run, so a reader can tell a quiet run from a disturbed one.
	var others []string
	worst := 0.0
	for _, name := range reportFiles {
		if r := reps[name]; r != nil && r.Machine != nil {
			others = append(others, fmt.Sprintf("%s %.2f", name, r.Machine.OtherCores))
			worst = max(worst, r.Machine.OtherCores)
		}
	}
	if len(others) > 0 {
		info("cores busy outside the measured processes, worst run", worst, "cores", fmt.Sprintf("%.2f (per run: %s)", worst, strings.Join(others, ", ")))
	}

	sum := Summary{
		Time: time.Now().UTC().Format(time.RFC3339), NumCPU: runtime.NumCPU(), LoadAvg: *loadavg,
		Note:    fmt.Sprintf("load generator and servers share %d CPU(s): ratios are meaningful, absolute numbers are not", runtime.NumCPU()),
		Figures: figs, Reports: reps,
	}
	fmt.Println()
	fmt.Printf("== summary (%s)\n", sum.Note)
	if *loadavg != "" {
		fmt.Printf("   load average before the bench: %s\n", *loadavg)
	}
	fmt.Printf("%-52s %-34s %-10s %s\n", "figure", "measured", "target", "result")
	fmt.Println(strings.Repeat("-", 104))
	for _, f := range figs {
		v := f.Verdict
		if v == "INFO" {
			v = ""
		}
		fmt.Printf("%-52s %-34s %-10s %s\n", f.Name, f.Measured, f.Target, v)
	}
	if worst > disturbedCores {
		sum.Warning = fmt.Sprintf("other work on the machine kept up to %.2f cores busy during the runs: every figure, the ratios included, is disturbed; rerun on a quiet machine", worst)
		fmt.Printf("\nWARNING: %s\n", sum.Warning)
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nresults written to %s\n", *out)
	}
	compact, _ := json.Marshal(struct {
		Figures []Figure `json:"figures"`
	}{figs})
	fmt.Printf("SUMMARY %s\n", compact)
	return nil
}

// cpuRatio compares two runs by the CPU time all measured processes (generator and servers) spent per request,
// the inverse of what the machine could do if it did nothing else: unlike the req/s ratio it does not move
// when other work on the machine takes cores during one of the two runs. ok is false when a run lacks CPU figures.
func cpuRatio(name string, subject, ceiling *Report) (Figure, bool) {
	if subject == nil || ceiling == nil {
		return Figure{}, false
	}
	a, b := cpuPerRequest(subject), cpuPerRequest(ceiling)
	if a <= 0 || b <= 0 {
		return Figure{}, false
	}
	return Figure{Name: name, Value: b / a, Unit: "ratio", Verdict: "INFO",
		Measured: fmt.Sprintf("%.1f %% (%.0f vs %.0f µs CPU/request)", b/a*100, a, b)}, true
}

func cpuPerRequest(r *Report) float64 {
	var us float64
	for _, c := range r.CPU {
		us += c.PerRequestUs
	}
	return us
}

// loadReport reads one report, or nil when it is missing or unreadable.
func loadReport(path string) *Report {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var r Report
	if json.Unmarshal(b, &r) != nil {
		return nil
	}
	return &r
}
