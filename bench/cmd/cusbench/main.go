// Command cusbench is the load generator behind `make bench` (scripts/bench.sh): it measures the REST gateway
// against a bare net/http handler, gRPC GetService against the bare grpc.health.v1 Check, search latency on a
// large catalogue, and the catalogue's start-up time and memory.
//
//	cusbench http    --url U [--conns 64] [--duration 10s]        closed-loop keep-alive HTTP GET load
//	                 [--vs-bare [--rounds 5]]                     and, interleaved, a bare net/http handler
//	                                                              serving U's exact body from this process
//	cusbench post    --url U [--body B | --body-file F] [--header "K: V"]... [--conns 64] [--duration 10s]
//	                                                              closed-loop keep-alive HTTP POST load; {{.N}} (a
//	                                                              sequence number), {{.UUID}} and {{.Worker}} in U and
//	                                                              B are filled per request; only 200s count
//	cusbench watchflood --url BASE [--watches 300] [--watch-header "K: V"]... [--list-header "K: V"]...
//	                 [--watch-path /v1/referrals:watch] [--list-path /v1/referrals?pageSize=50] [--requests 200]
//	                                                              open many watches with one caller's token, each on
//	                                                              its own connection, then time another caller's
//	                                                              list, one request after the other (p50/p99)
//	cusbench bare    --body-from U [--conns 64] [--duration 10s]  that bare handler alone
//	cusbench grpc    --addr A --method getservice|health [--vs health|getservice] [--name services/ID]
//	                 [--conns 64] [--clientconns 4] [--rounds 5]  unary load, one method or two interleaved
//	cusbench search  --addr A [--clients 1] [--duration 15s]      a fixed mixed query set, cycled
//	                 [--queries F]                                or the query set of F (catalogue generate --out-dir)
//	cusbench import  --addr A --dir D --token-file F [--in-flight 3]
//	                                                              ImportServices of every file of D (NNNNN.csv,
//	                                                              NNNNN.json), services/s; every row must be created
//	cusbench scale-table --root D --sizes "10000 100000"          the growth table of make bench-scale
//	                                                              (D/<size>/*.json): results.json and table.md
//	cusbench startup --bin B --data-dir D --listen A --admin-listen A2 [--log F] [--pid-file F]
//	                                                              start the catalogue, time it to SERVING, leave it running
//	cusbench rss     --pid P                                      VmRSS and VmHWM of a process
//	cusbench pick    --addr A                                     the name of one real service (ListServices, pageSize 1)
//	cusbench wait    --url U                                      wait until U answers 200
//	cusbench ports   P1 P2 ...                                    each port if free on 127.0.0.1, else a free one
//	cusbench busy    [--for 1s]                                   cores the machine keeps busy (before starting)
//	cusbench summary --dir D [--out F]                            the table with targets, and results.json
//
// Every measuring command prints human-readable lines and one line "RESULT {json}" per target; --out (one target)
// or --out-dir (DIR/<label>.json) also writes the JSON. A warm-up (default 2s) precedes each timed run and is not
// counted. Two targets compared (--vs-bare, --vs) run interleaved, A B, B A, ..., in --rounds rounds, so that
// other work on the machine weighs on both alike. --cpu-pids name=pid,... adds the CPU time each process (and
// the generator itself) spent per request, and how busy the machine was outside them. The generator runs with the
// default GOMAXPROCS on the same machine as the servers, so it competes with them for the cores: compare the
// ratios, not the absolute figures, across machines.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/cus-suite/cus/bench/internal/load"
	"github.com/cus-suite/cus/bench/internal/stats"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "cusbench: interrupted")
		os.Exit(130)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "cusbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: cusbench http|post|watchflood|bare|grpc|search|import|startup|rss|pick|wait|ports|busy|summary|scale-table [flags] (see the package doc)")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "http":
		return httpCommand(ctx, args)
	case "post":
		return postCommand(ctx, args)
	case "watchflood":
		return watchFloodCommand(ctx, args)
	case "bare":
		return bareCommand(ctx, args)
	case "grpc":
		return grpcCommand(ctx, args)
	case "search":
		return searchCommand(ctx, args)
	case "startup":
		return startupCommand(ctx, args)
	case "rss":
		return rssCommand(args)
	case "pick":
		return pickCommand(ctx, args)
	case "wait":
		return waitCommand(ctx, args)
	case "ports":
		return portsCommand(args)
	case "summary":
		return summaryCommand(args)
	case "busy":
		return busyCommand(args)
	case "import":
		return importCommand(ctx, args)
	case "scale-table":
		return scaleTableCommand(args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// loadFlags are the flags every load command shares.
type loadFlags struct {
	workers  int
	warmup   time.Duration
	duration time.Duration
	rounds   int
	label    string
	out      string
	outDir   string
	cpuPids  pidList
}

func (l *loadFlags) register(fs *flag.FlagSet, workersName string, workers int, duration time.Duration, label string) {
	fs.IntVar(&l.workers, workersName, workers, "concurrent closed-loop workers")
	fs.DurationVar(&l.warmup, "warmup", 2*time.Second, "warm-up before the timed run (not counted)")
	fs.DurationVar(&l.duration, "duration", duration, "timed run (of each target, in total, when comparing two)")
	fs.IntVar(&l.rounds, "rounds", 5, "when comparing two targets: alternate them in this many rounds of duration/rounds each")
	fs.StringVar(&l.label, "label", label, "name of this run in the report")
	fs.StringVar(&l.out, "out", "", "also write the JSON result to this file (one target)")
	fs.StringVar(&l.outDir, "out-dir", "", "also write each target's JSON result to DIR/<label>.json")
	registerCPUFlag(fs, &l.cpuPids)
}

// Report is the machine-readable result of one measuring command. Fields not relevant to a kind are omitted.
type Report struct {
	Kind        string        `json:"kind"`
	Label       string        `json:"label"`
	Target      string        `json:"target,omitempty"`
	Method      string        `json:"method,omitempty"`
	Workers     int           `json:"workers,omitempty"`
	Conns       int           `json:"conns,omitempty"`
	ConnSharing string        `json:"conn_sharing,omitempty"`
	Slices      int           `json:"slices,omitempty"`
	WarmupS     float64       `json:"warmup_s,omitempty"`
	DurationS   float64       `json:"duration_s,omitempty"`
	ElapsedS    float64       `json:"elapsed_s,omitempty"`
	Requests    int           `json:"requests,omitempty"`
	Errors      int           `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
	PerSecond   float64       `json:"per_second,omitempty"`
	Latency     stats.Summary `json:"latency"`
	BodyBytes   int           `json:"body_bytes,omitempty"`
	ConnsOpened int64         `json:"conns_opened,omitempty"`
	Queries     []QueryReport `json:"queries,omitempty"`
	CPU         []CPUReport   `json:"cpu,omitempty"`
	Machine     *MachineCPU   `json:"machine,omitempty"`

	// startup and rss
	PID           int     `json:"pid,omitempty"`
	ServingS      float64 `json:"serving_s,omitempty"`
	SelfReportedS float64 `json:"self_reported_s,omitempty"`
	Services      int     `json:"services,omitempty"`
	VmRSSKiB      int64   `json:"vmrss_kib,omitempty"`
	VmHWMKiB      int64   `json:"vmhwm_kib,omitempty"`
	// RssAnonKiB is the heap, stacks and other private memory; RssFileKiB the pages of mapped files (the bbolt
	// data file, the binary) that are resident: the kernel can drop those under pressure and read them again.
	RssAnonKiB  int64 `json:"rss_anon_kib,omitempty"`
	RssFileKiB  int64 `json:"rss_file_kib,omitempty"`
	RssShmemKiB int64 `json:"rss_shmem_kib,omitempty"`

	// import
	Files   int   `json:"files,omitempty"`
	Bytes   int64 `json:"bytes,omitempty"`
	Created int   `json:"created,omitempty"`

	// search with a query set: how many queries find something, and the median number of matches
	QueriesWithResults int `json:"queries_with_results,omitempty"`
	MedianMatches      int `json:"median_matches,omitempty"`

	// The 1-minute load average when the command started and when it ended (other work on the machine).
	LoadAvgStart float64 `json:"loadavg_start,omitempty"`
	LoadAvgEnd   float64 `json:"loadavg_end,omitempty"`

	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Time       string `json:"time"`

	noResultLine bool // the JSON goes to --out only (a query set's report is long)
}

// QueryReport is the per-query breakdown of a search run.
type QueryReport struct {
	Name    string        `json:"name"`
	Kind    string        `json:"kind,omitempty"`
	Total   int32         `json:"total_size"`
	Latency stats.Summary `json:"latency"`
}

func newReport(kind, label string) *Report {
	return &Report{Kind: kind, Label: label, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Time: time.Now().UTC().Format(time.RFC3339), LoadAvgStart: loadAvg1()}
}

func (r *Report) fill(cfg load.Config, res load.Result) {
	r.Workers = res.Workers
	r.Slices = res.Slices
	r.WarmupS = cfg.Warmup.Seconds()
	r.DurationS = cfg.Duration.Seconds()
	r.ElapsedS = res.Elapsed.Seconds()
	r.Requests = res.Requests
	r.Errors = res.Errors
	if res.FirstError != nil {
		r.FirstError = res.FirstError.Error()
	}
	r.PerSecond = res.PerSecond
	r.Latency = res.Latency
}

// emit prints the closing RESULT line and writes the --out file and/or DIR/<label>.json.
func (r *Report) emit(out, outDir string) error {
	r.LoadAvgEnd = loadAvg1()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if !r.noResultLine {
		fmt.Printf("RESULT %s\n", b)
	}
	if out != "" {
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if outDir != "" {
		if err := os.WriteFile(filepath.Join(outDir, r.Label+".json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// shareNote says, in every load command's output, why the absolute figures are not portable.
func shareNote() string {
	return fmt.Sprintf("note: the generator (GOMAXPROCS=%d) shares the machine's %d CPU(s) with the servers; ratios are meaningful, absolute numbers are not",
		runtime.GOMAXPROCS(0), runtime.NumCPU())
}

func printLoad(r *Report) {
	fmt.Printf("  %-22s %10.0f /s   %d requests in %.2fs, %d errors\n", r.Label, r.PerSecond, r.Requests, r.ElapsedS, r.Errors)
	l := r.Latency
	fmt.Printf("  %-22s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  mean %.3f ms\n", "latency",
		stats.Ms(l.P50), stats.Ms(l.P90), stats.Ms(l.P99), stats.Ms(l.Max), stats.Ms(l.Mean))
	printCPU(r)
	if r.BodyBytes > 0 {
		fmt.Printf("  %-22s %d bytes per response body, %d connections opened\n", "", r.BodyBytes, r.ConnsOpened)
	}
	if r.FirstError != "" {
		fmt.Printf("  first error: %s\n", r.FirstError)
	}
}

// failOnErrors makes a run with failed requests exit non-zero, after its figures were printed.
func failOnErrors(r *Report) error {
	if r.Errors > 0 {
		return fmt.Errorf("%s: %d of %d requests failed; first: %s", r.Label, r.Errors, r.Requests, r.FirstError)
	}
	if r.Requests == 0 {
		return fmt.Errorf("%s: no request completed", r.Label)
	}
	return nil
}
