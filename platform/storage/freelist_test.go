package storage

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
)

// freelistPage reads the freelist page id of the newest valid meta page of a closed data file (the layout
// checkLength reads); bbolt writes all ones there when the freelist is not persisted.
func freelistPage(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var best, bestTx uint64
	found := false
	for _, off := range []int64{0, pageSize} {
		buf := make([]byte, 16+64)
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		m := buf[16:]
		h := fnv.New64a()
		h.Write(m[:56])
		if binary.LittleEndian.Uint32(m) != 0xED0CDAED || h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
			continue
		}
		if tx := binary.LittleEndian.Uint64(m[48:]); !found || tx > bestTx {
			best, bestTx, found = binary.LittleEndian.Uint64(m[32:]), tx, true
		}
	}
	if !found {
		t.Fatalf("%s has no valid meta page", path)
	}
	return best
}

// The freelist is kept in the file, so an open reads one page instead of walking every page of the file
// (which took about a second and made the whole file resident at 500,000 catalogue services); a compacted
// file keeps it too.
func TestFreelistIsPersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	b := open(t, path)
	for i := range 200 {
		if err := put(b, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if pg := freelistPage(t, path); pg == ^uint64(0) {
		t.Fatal("the data file has no persisted freelist: every open walks the whole file")
	}
}
