package server

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

func openServer(t *testing.T, path string) (*Server, *store.Store) {
	t.Helper()
	st, err := store.Open(path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv := New(st, "3022053", zap.NewNop())
	if _, err := srv.LoadIndex(); err != nil {
		t.Fatal(err)
	}
	return srv, st
}

func service(name string) *cataloguev1.Service {
	return &cataloguev1.Service{DisplayName: name, OriginTerc: "3022053", Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE}}
}

func found(srv *Server, text string) int {
	return srv.Index().Search(search.Query{Text: text}).Total
}

// A write between its commit and its index update is not claimed by a snapshot taken meanwhile: the snapshot's
// revision stays below it, so the next start applies it from the change feed. Once the index has it, the next
// snapshot's revision covers it.
func TestSnapshotRevisionStaysBelowAWriteInFlight(t *testing.T) {
	dir := t.TempDir()
	srv, st := openServer(t, filepath.Join(dir, "catalogue.db"))
	ctx := context.Background()
	if _, _, _, err := st.CreateService(ctx, "0194c050-3022-7053-8000-000000000001", service("Biblioteka"), "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.LoadIndex(); err != nil {
		t.Fatal(err)
	}
	end := srv.beginWrite()
	out, rev, _, err := st.CreateService(ctx, "0194c050-3022-7053-8000-000000000002", service("Kwiaciarnia"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Committed, not yet in the index: a snapshot now.
	early := filepath.Join(dir, "early.search")
	meta, err := srv.SaveIndex(early)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Revision >= rev {
		t.Fatalf("a snapshot taken between a write's commit (revision %d) and its index update claims revision %d", rev, meta.Revision)
	}
	srv.indexed(out, rev)
	end()
	late := filepath.Join(dir, "late.search")
	if meta, err = srv.SaveIndex(late); err != nil || meta.Revision != rev {
		t.Fatalf("once indexed: snapshot revision %d (%v), want %d", meta.Revision, err, rev)
	}

	// Both snapshots give a start that finds the write.
	for _, path := range []string{early, late} {
		again := New(st, "3022053", zap.NewNop())
		load, err := again.OpenIndex(ctx, path)
		if err != nil || !load.FromSnapshot {
			t.Fatalf("%s: %+v %v", filepath.Base(path), load, err)
		}
		if found(again, "kwiaciarnia") != 1 || found(again, "biblioteka") != 1 {
			t.Fatalf("%s: the start from it lost a write (%+v)", filepath.Base(path), load)
		}
	}
}

// The gate holds the catalogue's calls until the index is ready and then lets them through; other services
// (health, reflection) are never held; a call that waits too long is refused UNAVAILABLE SEARCH_INDEX_LOADING.
func TestIndexGate(t *testing.T) {
	srv, _ := openServer(t, filepath.Join(t.TempDir(), "catalogue.db"))
	unary, stream := srv.IndexGate()
	catalogue := &grpc.UnaryServerInfo{FullMethod: "/cus.catalogue.v1.CatalogueService/SearchServices"}
	health := &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}
	handler := func(context.Context, any) (any, error) { return "answered", nil }

	if got, err := unary(context.Background(), nil, health, handler); err != nil || got != "answered" {
		t.Fatalf("health while loading: %v %v", got, err)
	}

	srv.SetIndexWait(50 * time.Millisecond)
	_, err := unary(context.Background(), nil, catalogue, handler)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Kind != apierr.KindUnavailable || e.Reason != "SEARCH_INDEX_LOADING" ||
		!strings.Contains(e.Message, "search index") {
		t.Fatalf("a call that waited too long: %v, want UNAVAILABLE SEARCH_INDEX_LOADING", err)
	}
	err = stream(nil, ctxStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/cus.catalogue.v1.CatalogueService/WatchServices"},
		func(any, grpc.ServerStream) error { return nil })
	if err == nil {
		t.Fatal("a stream opened while loading was not held")
	}

	srv.SetIndexWait(time.Minute)
	result := make(chan any, 1)
	go func() {
		got, err := unary(context.Background(), nil, catalogue, handler)
		if err != nil {
			got = err
		}
		result <- got
	}()
	select {
	case got := <-result:
		t.Fatalf("a call went through before the index was ready: %v", got)
	case <-time.After(100 * time.Millisecond):
	}
	srv.MarkIndexReady()
	if got := <-result; got != "answered" {
		t.Fatalf("the held call, once ready: %v", got)
	}
	if got, err := unary(context.Background(), nil, catalogue, handler); err != nil || got != "answered" {
		t.Fatalf("a call once ready: %v %v", got, err)
	}
}

// ctxStream is the part of a server stream the gate reads.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }
