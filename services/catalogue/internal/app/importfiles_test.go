package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/platform/auth"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
)

// TestGenerateFilesImport: the files `catalogue generate --out-dir` writes import through a real catalogue's
// ImportServices with every row created, a second run of a file changes nothing (the ids are in the files), and
// the query set written beside them finds the imported services: by text, by TERC (the CSV half) and by
// distance (the HSDS half).
func TestGenerateFilesImport(t *testing.T) {
	const n = 1500
	files := t.TempDir()
	opts := demo.SyntheticOptions{Services: n, Gminas: 60, Seed: 4}
	set, err := GenerateFiles(files, opts, FileOptions{Format: FileFormatMixed, MaxBytes: 256 << 10, Queries: 60})
	if err != nil {
		t.Fatal(err)
	}
	if set.Services != n || set.CSVServices+set.HSDSServices != n || abs(set.CSVServices-set.HSDSServices) > 1 {
		t.Fatalf("file set %+v: want %d services, half in each format", set, n)
	}
	if set.CSVFiles < 2 || set.HSDSFiles < 2 {
		t.Fatalf("file set %+v: want several files of each format at 256 KiB", set)
	}
	paths, err := filepath.Glob(filepath.Join(files, "[0-9]*.*"))
	if err != nil || len(paths) != set.CSVFiles+set.HSDSFiles {
		t.Fatalf("%d files on disk (%v), %d reported", len(paths), err, set.CSVFiles+set.HSDSFiles)
	}

	cfg := failureTestConfig(t.TempDir())
	cfg.DemoData = false
	client, done, stop := start(t, cfg)
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "importer", Roles: []auth.Role{auth.RoleOrganiser}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 2*time.Minute)
	defer cancel()

	created := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 256<<10 {
			t.Errorf("%s has %d bytes, above the 256 KiB asked for", filepath.Base(p), len(b))
		}
		resp, err := client.ImportServices(ctx, &cataloguev1.ImportServicesRequest{Content: b, Format: formatOf(p)})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if resp.GetInvalidCount() > 0 {
			for _, r := range resp.GetRows() {
				if len(r.GetViolations()) > 0 {
					t.Fatalf("%s row %d: %v", filepath.Base(p), r.GetRow(), r.GetViolations())
				}
			}
		}
		created += int(resp.GetCreatedCount())
	}
	if created != n {
		t.Fatalf("%d services created, want %d", created, n)
	}
	for _, p := range []string{paths[0], paths[1]} { // one file of each format: the mixed set starts with both
		b, _ := os.ReadFile(p)
		resp, err := client.ImportServices(ctx, &cataloguev1.ImportServicesRequest{Content: b, Format: formatOf(p)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCreatedCount()+resp.GetUpdatedCount()+resp.GetInvalidCount() != 0 || int(resp.GetUnchangedCount()) != len(resp.GetRows()) {
			t.Errorf("second run of %s: %d created, %d updated, %d unchanged of %d rows", filepath.Base(p),
				resp.GetCreatedCount(), resp.GetUpdatedCount(), resp.GetUnchangedCount(), len(resp.GetRows()))
		}
	}
	all, err := client.SearchServices(ctx, &cataloguev1.SearchServicesRequest{IncludeInactive: true, PageSize: 1})
	if err != nil || all.GetTotalSize() != n {
		t.Fatalf("search finds %d of %d services: %v", all.GetTotalSize(), n, err)
	}

	b, err := os.ReadFile(filepath.Join(files, "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	var qs []struct {
		Name    string          `json:"name"`
		Kind    string          `json:"kind"`
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(b, &qs); err != nil || len(qs) != 60 {
		t.Fatalf("queries.json: %d queries, %v", len(qs), err)
	}
	found := map[string]int{}
	for _, q := range qs {
		req := &cataloguev1.SearchServicesRequest{}
		if err := protojson.Unmarshal(q.Request, req); err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		resp, err := client.SearchServices(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		if resp.GetTotalSize() > 0 {
			found[q.Kind]++
		}
	}
	total := 0
	for _, c := range found {
		total += c
	}
	t.Logf("queries finding something, by class: %v (%d of %d)", found, total, len(qs))
	if total < len(qs)*7/10 || found["TERC, no text"] == 0 || found["distance, no text"] == 0 || found["typo"] == 0 {
		t.Errorf("queries finding something, by class: %v (%d of %d)", found, total, len(qs))
	}
}

func formatOf(path string) cataloguev1.ImportFormat {
	if strings.HasSuffix(path, ".json") {
		return cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	return cataloguev1.ImportFormat_IMPORT_FORMAT_CSV
}

func abs(x int) int { return max(x, -x) }

func TestGenerateFilesRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		opts demo.SyntheticOptions
		fo   FileOptions
	}{
		"format":      {demo.SyntheticOptions{Services: 10}, FileOptions{Format: "xlsx", MaxBytes: 1 << 20}},
		"too large":   {demo.SyntheticOptions{Services: 10}, FileOptions{Format: FileFormatCSV, MaxBytes: 4 << 20}},
		"too small":   {demo.SyntheticOptions{Services: 10}, FileOptions{Format: FileFormatCSV, MaxBytes: 1000}},
		"profile":     {demo.SyntheticOptions{Services: 10, Profile: "gentle"}, FileOptions{Format: FileFormatCSV, MaxBytes: 1 << 20}},
		"harsh query": {demo.SyntheticOptions{Services: 10, Profile: demo.ProfileHarsh}, FileOptions{Format: FileFormatCSV, MaxBytes: 1 << 20, Queries: 5}},
	} {
		if _, err := GenerateFiles(filepath.Join(t.TempDir(), "f"), c.opts, c.fo); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
