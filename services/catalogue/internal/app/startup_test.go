package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// catalogueRun is one run of the real catalogue process (Run) with its logs.
type catalogueRun struct {
	client cataloguev1.CatalogueServiceClient
	health healthpb.HealthClient
	done   chan error
	cancel context.CancelFunc
	logs   *observer.ObservedLogs
}

// runCatalogue starts Run on cfg and waits until it is ready.
func runCatalogue(t *testing.T, cfg Config) *catalogueRun {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	ctx, cancel := context.WithCancel(context.Background())
	r := &catalogueRun{done: make(chan error, 1), cancel: cancel, logs: logs}
	ready := make(chan string, 1)
	go func() { r.done <- Run(ctx, cfg, zap.New(core), func(g, _ string) { ready <- g }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("not ready")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
	})
	r.client, r.health = cataloguev1.NewCatalogueServiceClient(conn), healthpb.NewHealthClient(conn)
	return r
}

// stop ends the run gracefully and checks it ended cleanly.
func (r *catalogueRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("run ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

// loaded reads how the run loaded its index from its "catalogue ready" log line.
func (r *catalogueRun) loaded(t *testing.T) (fromSnapshot bool, applied int64) {
	t.Helper()
	entries := r.logs.FilterMessage("catalogue ready").All()
	if len(entries) != 1 {
		t.Fatalf("%d 'catalogue ready' lines", len(entries))
	}
	f := entries[0].ContextMap()
	return f["from_snapshot"].(bool), f["changes_applied"].(int64)
}

// notUsed returns the reasons the run logged for not using a snapshot.
func (r *catalogueRun) notUsed() []string {
	var out []string
	for _, e := range r.logs.FilterMessage("search index snapshot not used; rebuilding the index from the store").All() {
		out = append(out, e.ContextMap()["reason"].(string))
	}
	return out
}

func snapshotTestConfig(dir string) Config {
	cfg := failureTestConfig(dir)
	cfg.SnapshotInterval, cfg.SnapshotChanges = 10*time.Minute, 1000
	return cfg
}

// snapQueries exercise text (with and without diacritics, a typo and its suggestion), filters, geo and facets.
func snapQueries() []*cataloguev1.SearchServicesRequest {
	return []*cataloguev1.SearchServicesRequest{
		{PageSize: 100, IncludeInactive: true},
		{Query: "senior", PageSize: 100},
		{Query: "żłobek", PageSize: 100},
		{Query: "swietlca", PageSize: 100},
		{Query: "kwiaciarnia", PageSize: 100},
		{Query: "pomoc", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}, PageSize: 100},
		{Near: &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: 51.6094, Longitude: 16.8583}, RadiusMeters: 5000}, PageSize: 100},
		{TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}, FreeOfCharge: true, PageSize: 100},
	}
}

func searchAll(t *testing.T, c cataloguev1.CatalogueServiceClient) []*cataloguev1.SearchServicesResponse {
	t.Helper()
	var out []*cataloguev1.SearchServicesResponse
	for _, q := range snapQueries() {
		res, err := c.SearchServices(context.Background(), q)
		if err != nil {
			t.Fatalf("search %v: %v", q, err)
		}
		out = append(out, res)
	}
	return out
}

// answer is what a search answered, in short: the results with their scores, the total, the facets (in a
// fixed order) and the suggestion.
func answer(r *cataloguev1.SearchServicesResponse, scores bool) string {
	var b strings.Builder
	var results []string
	for _, x := range r.GetResults() {
		if scores {
			results = append(results, fmt.Sprintf("%s %.6f", strings.TrimPrefix(x.GetService().GetName(), "services/"), x.GetScore()))
		} else {
			results = append(results, strings.TrimPrefix(x.GetService().GetName(), "services/"))
		}
	}
	if !scores {
		// Between an index kept up to date and one rebuilt (whose length averages are fresh) scores differ in
		// the last digits, and so may the order of near ties: compare the sets.
		slices.Sort(results)
	}
	var facets []string
	for _, f := range r.GetAreaFacets() {
		facets = append(facets, fmt.Sprintf("%s=%d", f.GetArea(), f.GetCount()))
	}
	for _, f := range r.GetTargetGroupFacets() {
		facets = append(facets, fmt.Sprintf("%s=%d", f.GetTargetGroup(), f.GetCount()))
	}
	slices.Sort(facets)
	fmt.Fprintf(&b, "total %d, suggestion %q\nfacets %v\nresults %v", r.GetTotalSize(), r.GetSuggestedQuery(), facets, results)
	return b.String()
}

// sameAnswers compares two runs' answers to snapQueries: exactly, with scores and order, or as sets.
func sameAnswers(t *testing.T, what string, want, got []*cataloguev1.SearchServicesResponse, exact bool) {
	t.Helper()
	for i := range want {
		if w, g := answer(want[i], exact), answer(got[i], exact); w != g {
			t.Fatalf("%s: query %v answers differently:\n got %s\nwant %s", what, snapQueries()[i], g, w)
		}
	}
}

// storeWrites changes the catalogue behind the process's back (it is stopped), as writes after the last
// snapshot do: a new service, an update that renames one, a delete. It returns the names created, renamed and
// deleted.
func storeWrites(t *testing.T, cfg Config, word string) (created, renamed, deleted string) {
	t.Helper()
	st, err := store.Open(cfg.DataFile(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	if err := st.ForEachService(func(s *cataloguev1.Service, _ int64) error {
		ids = append(ids, strings.TrimPrefix(s.GetName(), "services/"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "0194c050-3022-7053-8000-00000000f101"
	svc := &cataloguev1.Service{DisplayName: "Kwiaciarnia społeczna " + word, Description: "Praca dla osób wychodzących z bezdomności.",
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}, OriginTerc: "3022053", Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
	if _, _, _, err := st.CreateService(ctx, id, svc, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UpdateService(ctx, ids[1], func(cur *cataloguev1.Service) error {
		cur.DisplayName = "Punkt " + word
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteService(ctx, ids[2], func(*cataloguev1.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return "services/" + id, "services/" + ids[1], "services/" + ids[2]
}

func names(res *cataloguev1.SearchServicesResponse) []string {
	var out []string
	for _, r := range res.GetResults() {
		out = append(out, r.GetService().GetName())
	}
	return out
}

// A restart loads the snapshot written at the graceful stop and answers exactly as before; writes made after
// it (a create, an update, a delete) are applied from the change feed; and the result is what a rebuild from
// the store gives.
func TestRestartFromSnapshotServesTheSameAndCatchesUp(t *testing.T) {
	cfg := snapshotTestConfig(t.TempDir())
	first := runCatalogue(t, cfg)
	if fromSnap, _ := first.loaded(t); fromSnap {
		t.Fatal("the first start (an empty store, then the demo) claims a snapshot")
	}
	before := searchAll(t, first.client)
	first.stop(t)
	if _, err := os.Stat(cfg.SnapshotFile()); err != nil {
		t.Fatalf("no snapshot after a graceful stop: %v", err)
	}

	second := runCatalogue(t, cfg)
	if fromSnap, applied := second.loaded(t); !fromSnap || applied != 0 {
		t.Fatalf("restart: from snapshot %v with %d changes, want from the snapshot with none", fromSnap, applied)
	}
	sameAnswers(t, "after a restart from the snapshot", before, searchAll(t, second.client), true)
	second.stop(t)

	created, renamed, deleted := storeWrites(t, cfg, "zielonogórska")
	third := runCatalogue(t, cfg)
	if fromSnap, applied := third.loaded(t); !fromSnap || applied != 3 {
		t.Fatalf("restart after 3 writes: from snapshot %v with %d changes applied, want the snapshot and 3", fromSnap, applied)
	}
	res, err := third.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "zielonogórska", PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res); !slices.Contains(got, created) || !slices.Contains(got, renamed) || len(got) != 2 {
		t.Fatalf("search for the word of the writes after the snapshot: %v, want %s and %s", got, created, renamed)
	}
	all, err := third.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{PageSize: 100, IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names(all), deleted) || all.GetTotalSize() != before[0].GetTotalSize() {
		t.Fatalf("after a create and a delete: %d services (the deleted one listed: %v), want %d", all.GetTotalSize(),
			slices.Contains(names(all), deleted), before[0].GetTotalSize())
	}
	caughtUp := searchAll(t, third.client)
	third.stop(t)

	// The same store rebuilt: the same answers.
	if err := os.Remove(cfg.SnapshotFile()); err != nil {
		t.Fatal(err)
	}
	rebuilt := runCatalogue(t, cfg)
	if fromSnap, _ := rebuilt.loaded(t); fromSnap {
		t.Fatal("started from a snapshot that was removed")
	}
	if reasons := rebuilt.notUsed(); len(reasons) != 0 {
		t.Fatalf("a missing snapshot is the normal first start, not a warning: %v", reasons)
	}
	sameAnswers(t, "snapshot and catch-up vs a rebuild", searchAll(t, rebuilt.client), caughtUp, false)
	rebuilt.stop(t)
}

// A snapshot that does not fit the data file is not used: the start says why (once) and rebuilds, and answers
// like a start that had none.
func TestUnusableSnapshotIsIgnoredWithARebuild(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, cfg Config)
		reason string
	}{
		{"restored from a backup (another feed id)", func(t *testing.T, cfg Config) {
			enginetest.BboltOnly(t, "restores a backup over the data file")
			backup := filepath.Join(t.TempDir(), "backup.db")
			copyFile(t, cfg.DataFile(), backup)
			if err := storage.Restore(backup, cfg.DataFile(), time.Second); err != nil {
				t.Fatal(err)
			}
		}, "another data file"},
		{"a flipped byte", func(t *testing.T, cfg Config) {
			b := readFile(t, cfg.SnapshotFile())
			b[len(b)/2] ^= 0x10
			writeFile(t, cfg.SnapshotFile(), b)
		}, "checksum mismatch"},
		{"cut short", func(t *testing.T, cfg Config) {
			b := readFile(t, cfg.SnapshotFile())
			writeFile(t, cfg.SnapshotFile(), b[:len(b)*2/3])
		}, "truncated"},
		{"another format version", func(t *testing.T, cfg Config) {
			b := readFile(t, cfg.SnapshotFile())
			b[8]++
			writeFile(t, cfg.SnapshotFile(), b)
		}, "format version"},
		{"written by another build", func(t *testing.T, cfg Config) {
			f, err := os.Open(cfg.SnapshotFile())
			if err != nil {
				t.Fatal(err)
			}
			ix, meta, err := search.ReadSnapshot(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			meta.Source = "schema 3, commit 0123456789abcdef"
			out, err := os.Create(cfg.SnapshotFile())
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.WriteSnapshot(out, meta); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
		}, "another build"},
		{"not a snapshot", func(t *testing.T, cfg Config) {
			writeFile(t, cfg.SnapshotFile(), []byte("{}"))
		}, "truncated in the file header"},
		{"newer than the data file (an older file put back by hand)", func(t *testing.T, cfg Config) {
			enginetest.BboltOnly(t, "copies an older data file back by hand")
			// The data file of the first run, copied back over the file that went on: same feed id, but older
			// than the snapshot written after more changes.
			old := filepath.Join(t.TempDir(), "old.db")
			copyFile(t, cfg.DataFile(), old)
			r := runCatalogue(t, cfg)
			r.stop(t)
			storeWrites(t, cfg, "nowsza")
			r = runCatalogue(t, cfg)
			r.stop(t)
			copyFile(t, old, cfg.DataFile())
		}, "newer than the data file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := snapshotTestConfig(t.TempDir())
			first := runCatalogue(t, cfg)
			want := searchAll(t, first.client)
			first.stop(t)
			tt.damage(t, cfg)

			r := runCatalogue(t, cfg)
			if fromSnap, _ := r.loaded(t); fromSnap {
				t.Fatal("the snapshot was used")
			}
			reasons := r.notUsed()
			if len(reasons) != 1 || !strings.Contains(reasons[0], tt.reason) {
				t.Fatalf("logged reasons %q, want one saying %q", reasons, tt.reason)
			}
			got := searchAll(t, r.client)
			if tt.name != "newer than the data file (an older file put back by hand)" {
				sameAnswers(t, "rebuilt", want, got, false)
			}
			r.stop(t)
			// The rebuild wrote a good snapshot: the next start uses it.
			again := runCatalogue(t, cfg)
			if fromSnap, _ := again.loaded(t); !fromSnap {
				t.Fatal("the start after a rebuild did not use the snapshot the rebuild wrote")
			}
			again.stop(t)
		})
	}
}

// A crash (no graceful stop, so no snapshot at the end) after writes loses nothing from search: the start
// loads the older snapshot and applies every write after it from the change feed. A leftover temporary file
// of a snapshot being written when the process died is ignored.
func TestCrashAfterWritesLosesNothingFromSearch(t *testing.T) {
	cfg := snapshotTestConfig(t.TempDir())
	first := runCatalogue(t, cfg)
	first.stop(t)
	older := readFile(t, cfg.SnapshotFile())

	// The writes of the "crashed" run go through the real handlers of a running process (with the index
	// updated); the crash is that its stop never wrote the snapshot: the one of before is put back.
	r := runCatalogue(t, cfg)
	tok := adminToken(t, cfg)
	created, err := r.client.CreateService(tok, &cataloguev1.CreateServiceRequest{Service: &cataloguev1.Service{
		DisplayName: "Kwiaciarnia społeczna po awarii", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS}}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.client.SearchServices(tok, &cataloguev1.SearchServicesRequest{Query: "senior", PageSize: 100})
	if err != nil || len(list.GetResults()) < 2 {
		t.Fatalf("demo seniors: %v %v", list, err)
	}
	victim := list.GetResults()[0].GetService().GetName()
	if _, err := r.client.DeleteService(tok, &cataloguev1.DeleteServiceRequest{Name: victim}); err != nil {
		t.Fatal(err)
	}
	want := searchAll(t, r.client)
	r.stop(t)
	writeFile(t, cfg.SnapshotFile(), older)
	writeFile(t, cfg.SnapshotFile()+".tmp", older[:len(older)/3])

	after := runCatalogue(t, cfg)
	if fromSnap, applied := after.loaded(t); !fromSnap || applied < 2 {
		t.Fatalf("after the crash: from snapshot %v with %d changes, want the older snapshot and the 2 writes", fromSnap, applied)
	}
	got := searchAll(t, after.client)
	sameAnswers(t, "after a crash", want, got, false)
	if n := names(got[4]); !slices.Contains(n, created.GetName()) {
		t.Fatalf("the service created before the crash is not found: %v", n)
	}
	for _, res := range got {
		if slices.Contains(names(res), victim) {
			t.Fatalf("the service deleted before the crash is still found")
		}
	}
	after.stop(t)
}

// While the index loads the process listens but its health says NOT_SERVING (for the server and the
// catalogue service), and calls are held, then refused UNAVAILABLE SEARCH_INDEX_LOADING; once it is loaded
// the health says SERVING and the calls are answered.
func TestHealthNotServingWhileTheIndexLoads(t *testing.T) {
	cfg := snapshotTestConfig(t.TempDir())
	r := runCatalogue(t, cfg) // the demo and a first snapshot
	r.stop(t)

	listening := make(chan string, 1)
	loaded, release := make(chan struct{}), make(chan struct{})
	cfg.listening = func(addr string) { listening <- addr }
	cfg.indexLoaded = func() { close(loaded); <-release }
	cfg.indexWait = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zap.NewNop(), nil) }()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	client := cataloguev1.NewCatalogueServiceClient(conn)
	<-loaded // the slow part: the index is there but not declared ready

	for _, name := range []string{"", cataloguev1.CatalogueService_ServiceDesc.ServiceName} {
		resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("health of %q while loading: %v %v, want NOT_SERVING", name, resp, err)
		}
	}
	_, err = client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "senior"})
	if st := status.Convert(err); st.Code() != codes.Unavailable || reason(st) != "SEARCH_INDEX_LOADING" {
		t.Fatalf("search while loading: %v, want UNAVAILABLE SEARCH_INDEX_LOADING", err)
	}

	r2 := make(chan error, 1)
	watch, err := health.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch while loading: %v %v", m, err)
	}
	close(release)
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch after loading: %v %v, want SERVING", m, err)
	}
	go func() {
		_, err := client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "senior"})
		r2 <- err
	}()
	if err := <-r2; err != nil {
		t.Fatalf("search once ready: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// adminToken is a context with a dev token of the admin role for cfg's dev key.
func adminToken(t *testing.T, cfg Config) context.Context {
	t.Helper()
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "admin", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
}
