package storage

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestRequestRecordsExpireAfterTheirWindow(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock = func() time.Time { return now }
		defer func() { clock = time.Now }()
		if err := b.SetRequestTTL(context.Background(), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		hash := bytes.Repeat([]byte{7}, 32)
		remember := func(key string) {
			t.Helper()
			if err := b.Update(context.Background(), func(tx Tx) error {
				return RememberRequest(tx, []byte(key), hash, []byte("resp-"+key))
			}); err != nil {
				t.Fatal(err)
			}
		}
		lookup := func(key string) (found bool) {
			_ = b.View(func(tx ReadTx) error {
				h, p, ok := LookupRequest(tx, []byte(key))
				if ok && (!bytes.Equal(h, hash) || string(p) != "resp-"+key) {
					t.Errorf("%s: got %x %q", key, h, p)
				}
				found = ok
				return nil
			})
			return found
		}
		for i := 0; i < compactBatch+10; i++ {
			remember(fmt.Sprint("old/", i))
		}
		now = now.Add(20 * time.Hour)
		remember("new/1")
		if !lookup("old/1") || !lookup("new/1") {
			t.Fatal("records inside the window must be found")
		}
		now = now.Add(5 * time.Hour) // old ones are 25 h old, the new one 5 h
		if lookup("old/1") {
			t.Fatal("a record older than the TTL must be ignored")
		}
		if !lookup("new/1") {
			t.Fatal("a record inside the window must still be found")
		}
		n, err := b.ExpireRequests(context.Background(), now.Add(-24*time.Hour))
		if err != nil || n != compactBatch+10 {
			t.Fatalf("ExpireRequests = %d, %v", n, err)
		}
		var left int
		_ = b.View(func(tx ReadTx) error { left = tx.Count(BucketRequests); return nil })
		if left != 1 {
			t.Fatalf("%d records left, want 1", left)
		}
	})
}

func TestMigrateRequestsStampsOldRecordsWithTheMigrationTime(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	hash := bytes.Repeat([]byte{9}, 32)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := b.Update(context.Background(), func(tx Tx) error {
		if err := tx.Put(BucketRequests, []byte("m/1"), append(append([]byte(nil), hash...), "payload"...)); err != nil {
			return err
		}
		return MigrateRequests(tx, at)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.View(func(tx ReadTx) error {
		w, h, p, ok := DecodeRequest(tx.Get(BucketRequests, []byte("m/1")))
		if !ok || !w.Equal(at) || !bytes.Equal(h, hash) || string(p) != "payload" {
			t.Errorf("migrated record = %v %x %q %v", w, h, p, ok)
		}
		return nil
	})
}
