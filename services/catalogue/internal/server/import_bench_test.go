package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

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
// JSON, realistic services over many gminas) from CUS_BENCH_IMPORT_DIR into an empty catalogue, one
// ImportServices per file as make bench-scale sends them, and reports services/s: the in-process half of the
// gRPC import, for profiling (go test -cpuprofile). Skipped without the variable.
func BenchmarkImportServicesFiles(b *testing.B) {
	dir := os.Getenv("CUS_BENCH_IMPORT_DIR")
	if dir == "" {
		b.Skip("CUS_BENCH_IMPORT_DIR names no directory of generated import files")
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
		st, err := store.Open(filepath.Join(b.TempDir(), "catalogue.db"), zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		srv := server.New(st, rawicz, zap.NewNop())
		b.StartTimer()
		start := time.Now()
		imported := 0
		for _, f := range files {
			rep, err := srv.ImportServices(context.Background(), &cataloguev1.ImportServicesRequest{Content: f})
			if err != nil {
				b.Fatal(err)
			}
			imported += int(rep.GetCreatedCount() + rep.GetUpdatedCount() + rep.GetUnchangedCount())
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(imported)/elapsed.Seconds(), "services/s")
		st.Close()
	}
}
