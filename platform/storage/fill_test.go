package storage

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A sequential bucket's pages are filled for appends (sequentialFill); a transaction that writes inside its key
// range, as a catalogue federating other gminas' services does all over its services bucket, has them split at
// bbolt's default, so the bucket does not end up half empty; appends still fill their pages.
func TestScatteredWritesKeepASequentialBucketsPagesFilled(t *testing.T) {
	const bucket Bucket = "test_fill_sequential"
	DeclareSequential(bucket)
	b, err := Open(filepath.Join(t.TempDir(), "fill.db"), Options{Buckets: []Bucket{bucket}, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	value := make([]byte, 1200) // a service record's size: about 13 to a 16 KiB page
	key := func(k uint64) []byte { return binary.BigEndian.AppendUint64(nil, k) }
	write := func(keys []uint64) {
		t.Helper()
		err := b.Update(context.Background(), func(tx Tx) error {
			for _, k := range keys {
				if err := tx.Put(bucket, key(k), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fill := func() float64 {
		t.Helper()
		var f float64
		if err := b.db.View(func(btx *bolt.Tx) error {
			st := btx.Bucket([]byte(bucket)).Stats()
			f = float64(st.LeafInuse) / float64(st.LeafAlloc)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Appends, 100 a transaction: pages filled.
	for lo := uint64(0); lo < 4000; lo += 100 {
		var keys []uint64
		for k := lo; k < lo+100; k++ {
			keys = append(keys, k<<32)
		}
		write(keys)
	}
	if f := fill(); f < 0.85 {
		t.Fatalf("appended pages are %.0f%% full, want at least 85%%", 100*f)
	}
	// Inserts all over the range, 100 a transaction, until the bucket holds three times as much.
	r := rand.New(rand.NewPCG(1, 2))
	for range 80 {
		keys := make([]uint64, 100)
		for i := range keys {
			keys[i] = r.Uint64N(4000 << 32)
		}
		write(keys)
	}
	if f := fill(); f < 0.62 {
		t.Fatalf("after inserts all over the bucket its pages are %.0f%% full, want at least 62%%", 100*f)
	}
	t.Logf("pages %.0f%% full", 100*fill())
}
