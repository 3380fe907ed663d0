package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/bench/internal/stats"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// importFiles are the files of dir ImportServices takes, in name order: NNNNN.csv and NNNNN.json.
func importFiles(dir string) ([]string, error) {
	var files []string
	for _, pat := range []string{"[0-9]*.csv", "[0-9]*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no NNNNN.csv or NNNNN.json file in %s", dir)
	}
	return files, nil
}

func importFormat(path string) cataloguev1.ImportFormat {
	if strings.HasSuffix(path, ".json") {
		return cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	return cataloguev1.ImportFormat_IMPORT_FORMAT_CSV
}

// newRequestID is a random version-4 UUID, the idempotency key of one import request.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// importCommand sends every import file of a directory through ImportServices, a few requests in flight, and
// reports durable services per second (each answer comes after the commit). Every row must come back CREATED or
// UPDATED: an INVALID row, a failed call or a short count fails the run after the figures are printed.
func importCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench import", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7001", "gRPC address of the catalogue: host:port, host:port,host:port (replicas) or dns:///name:port")
	dir := fs.String("dir", "", "directory of import files (catalogue generate --out-dir)")
	tokenFile := fs.String("token-file", "", "file holding a bearer token of a role that may import (organiser)")
	inFlight := fs.Int("in-flight", 3, "import requests in flight at once")
	label := fs.String("label", "import", "name of this run in the report")
	out := fs.String("out", "", "also write the JSON result to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *tokenFile == "" {
		return errors.New("--dir and --token-file are required")
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	files, err := importFiles(*dir)
	if err != nil {
		return err
	}
	cc, err := dial(*addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	client := cataloguev1.NewCatalogueServiceClient(cc)
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(string(tok)))

	fmt.Printf("== %s: ImportServices of %d files from %s, %d in flight, on %s\n", *label, len(files), *dir, *inFlight, *addr)
	var (
		mu        sync.Mutex
		firstErr  error
		lat       []time.Duration
		created   int
		updated   int
		unchanged int
		rows      int
		bytes     int64
		perFormat = map[string]int{}
	)
	work := make(chan string)
	var wg sync.WaitGroup
	start := time.Now()
	for range max(1, *inFlight) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range work {
				b, err := os.ReadFile(path)
				if err == nil {
					t0 := time.Now()
					var resp *cataloguev1.ImportServicesResponse
					resp, err = client.ImportServices(ctx, &cataloguev1.ImportServicesRequest{
						Content: b, Format: importFormat(path), RequestId: newRequestID(),
					})
					d := time.Since(t0)
					if err == nil && resp.GetInvalidCount() > 0 {
						err = fmt.Errorf("%d rows INVALID; first: %s", resp.GetInvalidCount(), firstInvalid(resp))
					}
					mu.Lock()
					lat = append(lat, d)
					bytes += int64(len(b))
					if err == nil {
						created += int(resp.GetCreatedCount())
						updated += int(resp.GetUpdatedCount())
						unchanged += int(resp.GetUnchangedCount())
						rows += len(resp.GetRows())
						perFormat[strings.TrimPrefix(importFormat(path).String(), "IMPORT_FORMAT_")] += int(resp.GetCreatedCount() + resp.GetUpdatedCount())
					}
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", filepath.Base(path), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range files {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}

	r := newReport("import", *label)
	r.Target, r.Method = *addr, cataloguev1.CatalogueService_ImportServices_FullMethodName
	r.Workers, r.Files, r.Bytes, r.ElapsedS = *inFlight, len(files), bytes, elapsed.Seconds()
	r.Requests, r.Created, r.Services = len(lat), created, created+updated+unchanged
	r.Latency = stats.Summarize(lat)
	if elapsed > 0 {
		r.PerSecond = float64(created+updated) / elapsed.Seconds()
	}
	if firstErr != nil {
		r.Errors, r.FirstError = 1, firstErr.Error()
	}
	fmt.Printf("  %-22s %10.0f services/s durable   %d created, %d updated, %d unchanged in %.2fs (%d files, %.1f MiB; %v)\n",
		"import", r.PerSecond, created, updated, unchanged, r.ElapsedS, len(files), float64(bytes)/(1<<20), perFormat)
	fmt.Printf("  %-22s p50 %.0f ms  p99 %.0f ms  max %.0f ms per file\n", "request", stats.Ms(r.Latency.P50), stats.Ms(r.Latency.P99), stats.Ms(r.Latency.Max))
	if err := r.emit(*out, ""); err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	if unchanged > 0 && created == 0 {
		fmt.Println("  note: every row UNCHANGED: the catalogue already held these services")
	}
	return nil
}

func firstInvalid(resp *cataloguev1.ImportServicesResponse) string {
	for _, row := range resp.GetRows() {
		if row.GetOutcome() != cataloguev1.ImportOutcome_IMPORT_OUTCOME_INVALID {
			continue
		}
		var vs []string
		for _, v := range row.GetViolations() {
			vs = append(vs, v.GetColumn()+": "+v.GetDescription())
		}
		return fmt.Sprintf("row %d: %s", row.GetRow(), strings.Join(vs, "; "))
	}
	return "?"
}
