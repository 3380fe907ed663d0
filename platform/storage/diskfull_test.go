package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage/storagetest"
)

func bigValue(key string, rev int64) []byte {
	return append([]byte(fmt.Sprintf("%s@%d|", key, rev)), bytes.Repeat([]byte{'x'}, 6000)...)
}

func putBig(b *Backend, key string) error {
	return b.Update(context.Background(), func(tx Tx) error {
		rev := tx.NextRevision()
		if err := tx.Put(bucketItems, []byte(key), bigValue(key, rev)); err != nil {
			return err
		}
		return tx.AppendChange(rev, []byte(key))
	})
}

// A full disk refuses writes with RESOURCE_EXHAUSTED / DISK_FULL, keeps serving reads, loses nothing
// acknowledged, and takes writes again once space is freed, with no restart.
func TestDiskFull(t *testing.T) {
	mnt := storagetest.SmallFilesystem(t, 48)
	path := filepath.Join(mnt, "data", "d.db")
	b := open(t, path)
	defer func() { _ = b.Close() }()
	var acked []string
	write := func(k string) error {
		err := putBig(b, k)
		if err == nil {
			acked = append(acked, k)
		}
		return err
	}
	for i := 0; i < 200; i++ {
		if err := write(fmt.Sprintf("before-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	filler := filepath.Join(mnt, "filler")
	filled := storagetest.Fill(t, filler)
	// The file may still have free pages: writes fit there until they are used up, then the disk refuses.
	refused := 0
	var firstRefusal int
	for i := 0; i < 5000 && refused < 20; i++ {
		err := write(fmt.Sprintf("full-%04d", i))
		if err == nil {
			continue
		}
		if refused == 0 {
			firstRefusal = i
		}
		refused++
		e, ok := apierr.As(err)
		if !ok || e.Kind != apierr.KindResourceExhausted || e.Reason != "DISK_FULL" {
			t.Fatalf("write on a full disk: %v, want RESOURCE_EXHAUSTED DISK_FULL", err)
		}
	}
	if refused == 0 {
		t.Fatal("no write was refused on a full disk")
	}
	if isFailed(b) {
		t.Fatal("a full disk failed the backend")
	}
	// Reads are served, and every acknowledged write is there.
	for _, k := range acked {
		if v, ok := getItem(t, b, k); !ok || !bytes.HasPrefix([]byte(v), []byte(k+"@")) {
			t.Fatalf("acknowledged %s unreadable on a full disk", k)
		}
	}
	if got := b.Revision(); got != int64(len(acked)) {
		t.Fatalf("revision %d after %d acknowledged writes", got, len(acked))
	}
	// Free the space: writes resume by themselves.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	syscall.Sync()
	for i := 0; i < 50; i++ {
		if err := write(fmt.Sprintf("after-%04d", i)); err != nil {
			t.Fatalf("write after space was freed: %v", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(t, path)
	if got := b.Revision(); got != int64(len(acked)) {
		t.Fatalf("revision after reopen %d, %d writes acknowledged", got, len(acked))
	}
	log := changeLog(t, b)
	for i, k := range acked {
		rev := int64(i + 1)
		if log[rev] != k {
			t.Fatalf("change %d is %q, want %q", rev, log[rev], k)
		}
		if v, ok := getItem(t, b, k); !ok || !bytes.Equal([]byte(v), bigValue(k, rev)) {
			t.Fatalf("acknowledged %s lost or changed after reopen", k)
		}
	}
	if len(log) != len(acked) {
		t.Fatalf("%d changes logged, %d acknowledged: a refused write got in", len(log), len(acked))
	}
	t.Logf("filler %d KiB; %d writes fitted in the full disk, %d refused with DISK_FULL, %d acknowledged in all, all present after reopen",
		filled>>10, firstRefusal, refused, len(acked))
}
