package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	be, err := Open(path, Options{Buckets: []Bucket{"items"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Update(context.Background(), func(tx Tx) error {
		tx.NextRevision()
		return tx.Put("items", []byte("a"), []byte("1"))
	}); err != nil {
		t.Fatal(err)
	}
	// The writer holds the file: a read-only open waits for its lock, then says so.
	if _, err := OpenReadOnly(path, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("open beside the writer: %v", err)
	}
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.View(func(tx ReadTx) error {
		if string(tx.Get("items", []byte("a"))) != "1" || tx.Count("items") != 1 || tx.Revision() != 1 {
			t.Errorf("read %q, count %d, revision %d", tx.Get("items", []byte("a")), tx.Count("items"), tx.Revision())
		}
		// A bucket this file was never given reads as empty.
		n := 0
		_ = tx.ScanPrefix("missing", nil, func(_, _ []byte) (bool, error) { n++; return true, nil })
		if tx.Get("missing", []byte("a")) != nil || tx.Count("missing") != 0 || n != 0 {
			t.Error("a missing bucket is not empty")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
