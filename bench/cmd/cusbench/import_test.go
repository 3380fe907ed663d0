package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// importer is a catalogue that only imports: it counts the rows of each file (CSV lines after the header, HSDS
// array entries), refuses a row holding "BROKEN", and records how many requests were in flight at once.
type importer struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	rows        int
	ids         map[string]bool
	gate        chan struct{}
}

func (s *importer) ImportServices(ctx context.Context, req *cataloguev1.ImportServicesRequest) (*cataloguev1.ImportServicesResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get("authorization"); len(a) != 1 || a[0] != "Bearer tok-123" {
		return nil, status.Error(codes.Unauthenticated, "no token")
	}
	s.mu.Lock()
	if s.ids[req.GetRequestId()] {
		s.mu.Unlock()
		return nil, status.Error(codes.InvalidArgument, "request id used twice")
	}
	s.ids[req.GetRequestId()] = true
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	<-s.gate // hold the call until the test lets it go, so concurrency shows
	defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()

	var rows []string
	switch req.GetFormat() {
	case cataloguev1.ImportFormat_IMPORT_FORMAT_CSV:
		rows = strings.Split(strings.TrimSpace(string(req.GetContent())), "\n")[1:]
	case cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON:
		var list []json.RawMessage
		if err := json.Unmarshal(req.GetContent(), &list); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		for _, r := range list {
			rows = append(rows, string(r))
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "format")
	}
	resp := &cataloguev1.ImportServicesResponse{}
	for i, r := range rows {
		row := &cataloguev1.ImportServiceRow{Row: int32(i + 2), Outcome: cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED}
		if strings.Contains(r, "BROKEN") {
			row.Outcome = cataloguev1.ImportOutcome_IMPORT_OUTCOME_INVALID
			row.Violations = []*cataloguev1.ImportServiceViolation{{Column: "Nazwa usługi", Description: "is required"}}
			resp.InvalidCount++
		} else {
			resp.CreatedCount++
		}
		resp.Rows = append(resp.Rows, row)
	}
	s.mu.Lock()
	s.rows += int(resp.CreatedCount)
	s.mu.Unlock()
	return resp, nil
}

func serveImporter(t *testing.T) (*importer, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	imp := &importer{ids: map[string]bool{}, gate: make(chan struct{})}
	cataloguev1.RegisterCatalogueServiceServer(srv, imp)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return imp, l.Addr().String()
}

func writeImportFiles(t *testing.T, dir string, broken bool) int {
	t.Helper()
	total := 0
	for i := 1; i <= 6; i++ {
		var b bytes.Buffer
		n := 10 * i
		if i%2 == 1 {
			b.WriteString("Identyfikator,Nazwa usługi\n")
			for j := range n {
				name := fmt.Sprintf("usługa %d", j)
				if broken && i == 3 && j == 4 {
					name = "BROKEN"
				}
				fmt.Fprintf(&b, ",%s\n", name)
			}
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.csv", i)), b.Bytes(), 0o644)
		} else {
			var list []map[string]string
			for j := range n {
				list = append(list, map[string]string{"id": fmt.Sprint(j), "name": "usługa"})
			}
			js, _ := json.Marshal(list)
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.json", i)), js, 0o644)
		}
		total += n
	}
	os.WriteFile(filepath.Join(dir, "queries.json"), []byte("[]"), 0o644) // not an import file
	return total
}

func TestImportCommand(t *testing.T) {
	imp, addr := serveImporter(t)
	close(imp.gate)
	dir := t.TempDir()
	total := writeImportFiles(t, dir, false)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok-123\n"), 0o600)
	out := filepath.Join(t.TempDir(), "import.json")
	if err := importCommand(context.Background(), []string{"--addr", addr, "--dir", dir, "--token-file", tok, "--in-flight", "2", "--out", out}); err != nil {
		t.Fatal(err)
	}
	var r Report
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Created != total || imp.rows != total || r.Files != 6 || r.Requests != 6 || r.PerSecond <= 0 || r.Errors != 0 {
		t.Errorf("report %+v, server saw %d rows, want %d in 6 files", r, imp.rows, total)
	}
	if r.LoadAvgStart == 0 && r.LoadAvgEnd == 0 {
		t.Error("no load average in the report")
	}

	// A refused row fails the run and names the row; a wrong token too.
	dir2 := t.TempDir()
	writeImportFiles(t, dir2, true)
	err := importCommand(context.Background(), []string{"--addr", addr, "--dir", dir2, "--token-file", tok, "--in-flight", "1"})
	if err == nil || !strings.Contains(err.Error(), "00003.csv") || !strings.Contains(err.Error(), "Nazwa usługi: is required") {
		t.Errorf("a file with an invalid row: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("nope"), 0o600)
	if err := importCommand(context.Background(), []string{"--addr", addr, "--dir", dir, "--token-file", bad}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("wrong token: %v", err)
	}
	if err := importCommand(context.Background(), []string{"--addr", addr, "--dir", t.TempDir(), "--token-file", tok}); err == nil {
		t.Error("a directory without import files accepted")
	}
}

// TestImportInFlight: no more requests at once than --in-flight, and that many when there is work.
func TestImportInFlight(t *testing.T) {
	imp, addr := serveImporter(t)
	dir := t.TempDir()
	writeImportFiles(t, dir, false)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok-123"), 0o600)
	done := make(chan error, 1)
	go func() {
		done <- importCommand(context.Background(), []string{"--addr", addr, "--dir", dir, "--token-file", tok, "--in-flight", "3"})
	}()
	// Let the calls through one by one once three are waiting.
	for {
		imp.mu.Lock()
		n := imp.inFlight
		imp.mu.Unlock()
		if n == 3 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("import ended early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	close(imp.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if imp.maxInFlight != 3 {
		t.Errorf("%d requests in flight at most, want 3", imp.maxInFlight)
	}
}

// --addr takes what the services' --*-addr flags take (platform/grpcclient): the replicas of a catalogue, of
// which a dead one is skipped, and a bad address is refused naming it.
func TestImportThroughReplicaList(t *testing.T) {
	imp, addr := serveImporter(t)
	close(imp.gate)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there: a replica that is down
	dir := t.TempDir()
	total := writeImportFiles(t, dir, false)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok-123\n"), 0o600)
	if err := importCommand(context.Background(), []string{"--addr", deadAddr + "," + addr, "--dir", dir, "--token-file", tok, "--in-flight", "2"}); err != nil {
		t.Fatalf("import through %s,%s (the first down): %v", deadAddr, addr, err)
	}
	if imp.rows != total {
		t.Errorf("the replica saw %d rows, want %d", imp.rows, total)
	}
	err = importCommand(context.Background(), []string{"--addr", addr + ",catalogue", "--dir", dir, "--token-file", tok})
	if err == nil || !strings.Contains(err.Error(), `"catalogue" is not a host:port address`) {
		t.Errorf("a bad address in the list: %v", err)
	}
}
