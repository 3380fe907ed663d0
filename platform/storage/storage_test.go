package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const bucketItems Bucket = "items"

func open(t testing.TB, path string) *Backend {
	t.Helper()
	b, err := Open(path, Options{Buckets: []Bucket{bucketItems}, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(b *Backend, key string) error {
	return b.Update(context.Background(), func(tx Tx) error {
		rev := tx.NextRevision()
		if err := tx.Put(bucketItems, []byte(key), []byte(fmt.Sprint(rev))); err != nil {
			return err
		}
		return tx.AppendChange(rev, []byte(key))
	})
}

func TestConcurrentWritesAllCommitWithGaplessRevisions(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		const writers, each = 64, 20
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := put(b, fmt.Sprintf("k-%02d-%03d", w, i)); err != nil {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		if got := b.Revision(); got != writers*each {
			t.Fatalf("revision = %d, want %d", got, writers*each)
		}
		var prev int64
		seen := map[string]bool{}
		if err := b.Changes(0, 0, func(rev int64, v []byte) (bool, error) {
			if rev != prev+1 {
				return false, fmt.Errorf("gap: %d after %d", rev, prev)
			}
			prev = rev
			seen[string(v)] = true
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != writers*each {
			t.Fatalf("changes for %d keys, want %d", len(seen), writers*each)
		}
	})
}

func TestFailingWriterDoesNotAffectOthersOfTheGroup(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, 100)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = b.Update(context.Background(), func(tx Tx) error {
					rev := tx.NextRevision()
					if err := tx.Put(bucketItems, []byte(fmt.Sprintf("k%03d", i)), []byte("v")); err != nil {
						return err
					}
					if err := tx.AppendChange(rev, []byte("c")); err != nil {
						return err
					}
					if i%7 == 0 {
						return boom // after writing: its writes must vanish
					}
					return nil
				})
			}(i)
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if i%7 == 0 {
				if !errors.Is(err, boom) {
					t.Fatalf("writer %d: err = %v, want boom", i, err)
				}
				failed++
			} else if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		err := b.View(func(tx ReadTx) error {
			for i := 0; i < 100; i++ {
				got := tx.Get(bucketItems, []byte(fmt.Sprintf("k%03d", i)))
				if (i%7 == 0) != (got == nil) {
					return fmt.Errorf("key %d present=%v", i, got != nil)
				}
			}
			if n := tx.Count(BucketChanges); n != 100-failed {
				return fmt.Errorf("changes = %d, want %d", n, 100-failed)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if b.Revision() != int64(100-failed) {
			t.Fatalf("revision %d, want %d", b.Revision(), 100-failed)
		}
	})
}

func TestReopenKeepsDataAndRevision(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		for i := 0; i < 5; i++ {
			if err := put(b, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		b.Close()
		b = p.open(t)
		defer b.Close()
		if b.Revision() != 5 {
			t.Fatalf("revision after reopen = %d", b.Revision())
		}
		if err := put(b, "x"); err != nil {
			t.Fatal(err)
		}
		if b.Revision() != 6 {
			t.Fatalf("revision = %d, want 6", b.Revision())
		}
	})
}

func TestSecondOpenFailsFastNamingTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	b := open(t, path)
	defer b.Close()
	_, err := Open(path, Options{OpenTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("err = %v", err)
	}
}

func TestSchemaVersionAndMigrations(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		if err := put(b, "a"); err != nil {
			t.Fatal(err)
		}
		b.Close()
		// A newer binary migrates 1 -> 2 -> 3.
		var ran []int
		b, err := p.openWith(Options{SchemaVersion: 3, Migrations: []Migration{
			{From: 2, Run: func(tx Tx) error { ran = append(ran, 2); return nil }},
			{From: 1, Run: func(tx Tx) error {
				ran = append(ran, 1)
				return tx.Put(bucketItems, []byte("migrated"), []byte("yes"))
			}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if fmt.Sprint(ran) != "[1 2]" {
			t.Fatalf("migrations ran %v", ran)
		}
		// An older binary refuses the newer file.
		_, err = p.openWith(Options{SchemaVersion: 2})
		if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestChangedNotifiesOnCommit(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		ch := b.Changed()
		select {
		case <-ch:
			t.Fatal("notified before any commit")
		default:
		}
		if err := put(b, "a"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no notification after commit")
		}
	})
}

func TestCancelledBeforeCommitWritesNothing(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := b.Update(ctx, func(tx Tx) error { tx.NextRevision(); return tx.Put(bucketItems, []byte("x"), []byte("y")) })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if b.Revision() != 0 {
			t.Fatalf("revision = %d", b.Revision())
		}
	})
}

func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	b := open(t, filepath.Join(dir, "d.db"))
	for i := 0; i < 50; i++ {
		if err := put(b, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	// Restore onto the live file must be refused.
	backup := filepath.Join(dir, "backup.db")
	if err := writeFile(backup, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := Restore(backup, filepath.Join(dir, "d.db"), 100*time.Millisecond); err == nil {
		t.Fatal("restore over a file in use succeeded")
	}
	b.Close()
	target := filepath.Join(dir, "restored.db")
	if err := Restore(backup, target, time.Second); err != nil {
		t.Fatal(err)
	}
	r := open(t, target)
	defer r.Close()
	if r.Revision() != 50 {
		t.Fatalf("restored revision = %d", r.Revision())
	}
	if err := Restore(filepath.Join(dir, "missing.db"), target, time.Second); err == nil {
		t.Fatal("restore from a missing file succeeded")
	}
}

func TestClosedBackendRefusesWrites(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		b.Close()
		if err := put(b, "a"); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPanickingWriterFailsAloneAndTheLoopSurvives(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		err := b.Update(context.Background(), func(tx Tx) error {
			if tx.NextRevision() > 0 {
				panic("boom")
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Fatalf("err = %v", err)
		}
		if err := put(b, "after"); err != nil || b.Revision() != 1 {
			t.Fatalf("loop did not survive: %v, revision %d", err, b.Revision())
		}
	})
}
