package server

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// A snapshot at revision 0 that already holds a document (taken while the first write of an empty store was
// between its commit and its index update, e.g. the first periodic snapshot racing the calls the gate held)
// must not be caught up with ListChanges(0), which a key-compacted feed serves as a full listing even below
// the compaction point: a delete compacted away since would never be applied, and the deleted service would
// stay searchable. A snapshot below the compaction point means a rebuild.
func TestSnapshotBelowTheCompactionPointIsNotUsed(t *testing.T) {
	dir := t.TempDir()
	db, snap := filepath.Join(dir, "catalogue.db"), filepath.Join(dir, "catalogue.search")
	ctx := context.Background()
	st, err := store.Open(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(st, "3022053", zap.NewNop())
	if _, err := srv.OpenIndex(ctx, snap); err != nil {
		t.Fatal(err)
	}
	slow := srv.beginWrite() // a first write, registered at revision 0, still on its way
	const id = "0194c050-3022-7053-8000-000000000002"
	out, rev, _, err := st.CreateService(ctx, id, service("Kwiaciarnia"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.indexed(out, rev)
	meta, err := srv.SaveIndex(snap)
	if err != nil || meta.Revision != 0 {
		t.Fatalf("snapshot %+v %v", meta, err)
	}
	slow()
	drev, err := st.DeleteService(ctx, id, func(*cataloguev1.Service) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	srv.removed(id, drev)
	// Retention passes: the change feed is compacted past the delete.
	if _, err := st.Backend().CompactChanges(ctx, drev); err != nil {
		t.Fatal(err)
	}
	_ = st.Close() // crash: fewer than --index-snapshot-changes since the snapshot, none written

	st, err = store.Open(db, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv = New(st, "3022053", zap.NewNop())
	load, err := srv.OpenIndex(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if n := found(srv, "kwiaciarnia"); n != 0 {
		t.Fatalf("start %+v (compaction point %d): the deleted service is found %d time(s)", load, st.Backend().CompactedRevision(), n)
	}
}
