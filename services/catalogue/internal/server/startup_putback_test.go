package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

func reviewCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A snapshot found unusable is removed. When the data file is put back from a copy of itself (same feed id: a
// cp of a backup, a volume snapshot of the data file alone), the first start rebuilds ("newer than the data
// file"); were the stale snapshot left, then once the new history passed its revision a start before the first
// periodic snapshot (a crash, a failed snapshot write) would use it: writes of the new history missing from
// search, entries of the abandoned history found.
func TestUnusableSnapshotIsRemoved(t *testing.T) {
	dir := t.TempDir()
	db, backup, snap := filepath.Join(dir, "catalogue.db"), filepath.Join(dir, "backup.db"), filepath.Join(dir, "catalogue.search")
	ctx := context.Background()
	open := func() (*Server, *store.Store) {
		st, err := store.Open(db, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		return New(st, "3022053", zap.NewNop()), st
	}
	create := func(srv *Server, st *store.Store, i int, name string) {
		out, rev, _, err := st.CreateService(ctx, fmt.Sprintf("0194c050-3022-7053-8000-%012d", i), service(name), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		srv.indexed(out, rev)
	}

	srv, st := open()
	if _, err := srv.OpenIndex(ctx, snap); err != nil {
		t.Fatal(err)
	}
	create(srv, st, 1, "Biblioteka")
	_ = st.Close()
	reviewCopy(t, db, backup) // revision 1

	srv, st = open()
	if _, err := srv.OpenIndex(ctx, snap); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		create(srv, st, i, "Kwiaciarnia")
	}
	if _, err := srv.SaveIndex(snap); err != nil { // revision 4
		t.Fatal(err)
	}
	_ = st.Close()

	reviewCopy(t, backup, db) // the file is put back: revision 1, same feed id

	srv, st = open()
	load, err := srv.OpenIndex(ctx, snap)
	if err != nil || load.FromSnapshot {
		t.Fatalf("first start after the file was put back: %+v %v", load, err)
	}
	for i := 10; i < 15; i++ { // revisions 2..6 of the new history
		create(srv, st, i, "Apteka")
	}
	_ = st.Close() // crash: the first snapshot was not written yet

	srv, st = open()
	defer st.Close()
	load, err = srv.OpenIndex(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if k, a := found(srv, "kwiaciarnia"), found(srv, "apteka"); k != 0 || a != 5 {
		t.Fatalf("start %+v: search finds %d services of the abandoned history (not in the store) and %d of the 5 acknowledged ones", load, k, a)
	}
}
