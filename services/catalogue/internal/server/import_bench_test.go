package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// importFiles are n services as CSV files of 10,000 rows (about 2 MiB each; one ImportServices takes 4 MiB and 20,000 rows).
func importFiles(n int) [][]byte {
	areas := []string{"pomoc społeczna", "wspieranie rodziny", "kultura", "promocja i ochrona zdrowia", "edukacja publiczna"}
	groups := []string{"seniorzy", "rodziny", "dzieci i młodzież", "osoby z niepełnosprawnościami", "wszyscy mieszkańcy"}
	var files [][]byte
	var buf bytes.Buffer
	header := "Klucz zewnętrzny;Nazwa usługi;Obszar;Grupy docelowe;Gmina (TERC);Placówka;Adres;Kod pocztowy;Miejscowość;Godziny otwarcia;Telefon;Odpłatność (zł);Jednostka odpłatności;Opis\r\n"
	for i := 0; i < n; i++ {
		if i%10000 == 0 {
			if buf.Len() > 0 {
				files = append(files, bytes.Clone(buf.Bytes()))
			}
			buf.Reset()
			buf.WriteString(header)
		}
		fmt.Fprintf(&buf, "BENCH-%06d;Usługa nr %d – zajęcia „Razem”;%s;%s;3022053;Świetlica nr %d;ul. Łąkowa %d;63-900;Rawicz;pn-pt 08:00-16:00;+48 65 546 %02d %02d;%d,50;godzina;Zajęcia dla mieszkańców gminy, nr %d.\r\n",
			i, i, areas[i%len(areas)], groups[i%len(groups)], i%50, i%200+1, i/100%100, i%100, i%40, i)
	}
	if buf.Len() > 0 {
		files = append(files, bytes.Clone(buf.Bytes()))
	}
	return files
}

// BenchmarkImportServices imports 100,000 services (ten files of 10,000 rows, the CSV path: parsing, the
// catalogue's validation, batched durable commits with one change-feed entry each, the search index) into an
// empty catalogue and reports services/s. `make bench-import` runs it.
func BenchmarkImportServices(b *testing.B) {
	n := benchImportRows
	files := importFiles(n)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		st, err := store.Open(filepath.Join(dir, "catalogue.db"), zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		srv := server.New(st, rawicz, zap.NewNop())
		b.StartTimer()
		start := time.Now()
		created := 0
		for _, f := range files {
			rep, err := srv.ImportServices(context.Background(), &cataloguev1.ImportServicesRequest{Content: f})
			if err != nil {
				b.Fatal(err)
			}
			if rep.GetInvalidCount() > 0 {
				b.Fatalf("invalid rows: %v", rep.GetRows()[0])
			}
			created += int(rep.GetCreatedCount())
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if created != n {
			b.Fatalf("created %d", created)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "services/s")
		st.Close()
	}
}

// benchImportRows is 100,000 unless CUS_BENCH_IMPORT_ROWS says otherwise (for profiling a shorter run).
var benchImportRows = func() int {
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_IMPORT_ROWS")); err == nil && v > 0 {
		return v
	}
	return 100000
}()

// BenchmarkImportServicesFiles imports the files `catalogue generate --out-dir DIR` wrote (CSV and HSDS 3.0
// JSON, realistic services over many gminas) from CUS_BENCH_IMPORT_DIR, one ImportServices per file and
// CUS_BENCH_IMPORT_IN_FLIGHT of them at once (3, as make bench-scale sends them), and reports services/s: the
// in-process half of the gRPC import, for profiling (go test -cpuprofile). The catalogue is empty, or a copy
// of the data directory CUS_BENCH_IMPORT_BASE names (a `catalogue generate --data-dir` of another seed, e.g.
// 400,000 services: the index's cost shows at that size); its index is loaded before the clock starts.
// Skipped without CUS_BENCH_IMPORT_DIR.
func BenchmarkImportServicesFiles(b *testing.B) {
	dir := os.Getenv("CUS_BENCH_IMPORT_DIR")
	if dir == "" {
		b.Skip("CUS_BENCH_IMPORT_DIR names no directory of generated import files")
	}
	inFlight := 3
	if v, err := strconv.Atoi(os.Getenv("CUS_BENCH_IMPORT_IN_FLIGHT")); err == nil && v > 0 {
		inFlight = v
	}
	var files [][]byte
	for _, pat := range []string{"[0-9]*.csv", "[0-9]*.json"} {
		names, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range names {
			f, err := os.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		b.Fatalf("no import files in %s", dir)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, srv, base := benchCatalogue(b, os.Getenv("CUS_BENCH_IMPORT_BASE"))
		runtime.GC()
		// CUS_BENCH_IMPORT_CPUPROFILE profiles the imports alone (go test -cpuprofile would add the setup's
		// index load).
		if prof := os.Getenv("CUS_BENCH_IMPORT_CPUPROFILE"); prof != "" {
			f, err := os.Create(prof)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
		b.StartTimer()
		cpu0 := cpuTime()
		start := time.Now()
		var imported atomic.Int64
		var g errgroup.Group
		g.SetLimit(inFlight)
		for _, f := range files {
			g.Go(func() error {
				rep, err := srv.ImportServices(context.Background(), &cataloguev1.ImportServicesRequest{Content: f})
				if err != nil {
					return err
				}
				imported.Add(int64(rep.GetCreatedCount() + rep.GetUpdatedCount() + rep.GetUnchangedCount()))
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		b.ReportMetric(float64(imported.Load())/elapsed.Seconds(), "services/s")
		// The CPU the process spent (all goroutines, the collector too) per service: steadier than the rate on
		// a shared machine, where other work takes cores away.
		b.ReportMetric(float64(cpu.Microseconds())/float64(imported.Load()), "cpu-us/service")
		b.Logf("%d services imported into a catalogue of %d in %s (%s of CPU)", imported.Load(), base, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond))
		st.Close()
	}
}

// benchCatalogue opens an empty catalogue, or a copy of the data directory base with its search index loaded,
// and returns it with the number of services it held. The index a rebuild made is kept beside base under the
// test binary's identity, so the next run of the same binary loads it instead of rebuilding.
func benchCatalogue(b *testing.B, base string) (*store.Store, *server.Server, int) {
	b.Helper()
	dir := b.TempDir()
	data, snap := filepath.Join(dir, "catalogue.db"), filepath.Join(dir, "catalogue.search")
	var cached string
	if base != "" {
		if err := copyFile(filepath.Join(base, "catalogue.db"), data); err != nil {
			b.Fatal(err)
		}
		exe, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(exe)
		if err != nil {
			b.Fatal(err)
		}
		cached = filepath.Join(base, fmt.Sprintf("bench-%s-%d-%d.search", filepath.Base(exe), fi.Size(), fi.ModTime().UnixNano()))
		if err := copyFile(cached, snap); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
	}
	st, err := store.Open(data, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(st, rawicz, zap.NewNop())
	load, err := srv.OpenIndex(context.Background(), snap)
	if err != nil {
		b.Fatal(err)
	}
	srv.MarkIndexReady()
	if base != "" && !load.FromSnapshot {
		if _, err := srv.SaveIndex(cached); err != nil {
			b.Fatal(err)
		}
	}
	return st, srv, load.Docs
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	// Synced: otherwise the first commit's fsync writes the whole copy out, inside the measurement.
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
