package server

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/services/catalogue/internal/search"
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
	enginetest.BboltOnly(t, "copies the data file and puts it back by hand")
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

// A snapshot is judged by what its first frame says before the index is read: one newer than the data file
// is refused as such even when its body is damaged (so a new build or a restore does not read, and hold beside
// the rebuild, a whole index it will not use).
func TestSnapshotIsJudgedByItsHeadFirst(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "catalogue.search")
	st, err := store.Open(filepath.Join(dir, "catalogue.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := search.New()
	for i := range 50 {
		ix.Upsert(search.Doc{ID: fmt.Sprintf("0194c050-3022-7053-8000-%012d", i), Revision: int64(i + 1), Name: "Apteka", Active: true, MinAge: -1, MaxAge: -1})
	}
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf, search.SnapshotMeta{FeedID: st.FeedID(), Source: indexSource(), Revision: 1000}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	b[len(b)-10] ^= 0xff // damage the last frame
	if err := os.WriteFile(snap, b, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := New(st, "3022053", zap.NewNop())
	load, err := srv.OpenIndex(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(load.Rebuilt, "newer than the data file") {
		t.Fatalf("rebuilt because %q, want the snapshot judged newer than the data file by its head", load.Rebuilt)
	}
}
