package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deadlock bounds a wait that only a lock held across a file copy would make long: not a performance bound.
const deadlock = 20 * time.Second

func readKey(b *Backend, key string) (string, error) {
	var v string
	err := b.View(func(tx ReadTx) error {
		v = string(tx.Get(bucketItems, []byte(key)))
		return nil
	})
	return v, err
}

// TestReadsAndWritesProceedDuringCompaction: while a compaction is held after its copy (by the test hook),
// reads are answered and writes commit (reads of personal data write audit entries, so reads need writes);
// the writes made during the copy are in the new file after the swap, at their revisions.
func TestReadsAndWritesProceedDuringCompaction(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	fill(t, b, 50)
	inCopy, release := make(chan struct{}), make(chan struct{})
	b.SetCompactHook(func(s CompactStage) error {
		if s == StageCopied {
			close(inCopy)
			<-release
		}
		return nil
	})
	compacted := make(chan error, 1)
	go func() { _, err := b.Compact(); compacted <- err }()
	<-inCopy
	done := make(chan error, 1)
	go func() {
		v, err := readKey(b, "7")
		if err == nil && v != "8" {
			err = errors.New("read " + v)
		}
		if err == nil {
			err = put(b, "during")
		}
		if err == nil {
			err = b.Update(context.Background(), func(tx Tx) error { tx.NextRevision(); return tx.Delete(bucketItems, []byte("3")) })
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadlock):
		t.Fatal("a read or a write waited for the compaction's copy")
	}
	close(release)
	if err := <-compacted; err != nil {
		t.Fatal(err)
	}
	if v, _ := readKey(b, "during"); v != "51" || b.Revision() != 52 {
		t.Fatalf("write during the copy: %q, revision %d", v, b.Revision())
	}
	if v, _ := readKey(b, "3"); v != "" {
		t.Fatalf("delete during the copy undone: %q", v)
	}
	b.Close()
	r := open(t, b.Path())
	defer r.Close()
	if v, _ := readKey(r, "during"); v != "51" || r.Revision() != 52 {
		t.Fatalf("after reopen: %q, revision %d", v, r.Revision())
	}
}

// blockingWriter stands for a slow backup download: it blocks on its first write until released.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	buf     bytes.Buffer
	once    bool
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	if !w.once {
		w.once = true
		close(w.started)
		<-w.release
	}
	return w.buf.Write(p)
}

// TestBackupInProgressDoesNotFreezeCompactionOrReads: with a backup download stalled mid-stream, a
// compaction completes, reads and writes go on, and the backup then finishes as a whole copy of the old file.
func TestBackupInProgressDoesNotFreezeCompactionOrReads(t *testing.T) {
	dir := t.TempDir()
	b := open(t, filepath.Join(dir, "d.db"))
	defer b.Close()
	fill(t, b, 50)
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	backup := make(chan error, 1)
	go func() { _, err := b.Backup(w); backup <- err }()
	<-w.started
	done := make(chan error, 1)
	go func() {
		_, err := b.Compact()
		if err == nil {
			_, err = readKey(b, "1")
		}
		if err == nil {
			err = put(b, "after")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadlock):
		t.Fatal("a stalled backup download froze the compaction, a read or a write")
	}
	close(w.release)
	if err := <-backup; err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(cp, w.buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(cp, time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestCompactionWakesWatchers: the swap closes the Changed channel, so a watcher re-reads from the new file
// instead of waiting on a channel of the old one; the revision is kept.
func TestCompactionWakesWatchers(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	fill(t, b, 5)
	ch := b.Changed()
	if _, err := b.Compact(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by the compaction")
	}
	if b.Revision() != 5 {
		t.Fatalf("revision %d after compaction", b.Revision())
	}
	ch = b.Changed()
	if err := put(b, "x"); err != nil {
		t.Fatal(err)
	}
	<-ch
}

// TestInterruptedCompactionIsFinishedAtOpen: a deletion journaled with RequireCompaction whose compaction
// "crashes" before the swap leaves the deleted bytes in the file and the marker beside it; the next Open
// compacts before serving, and the bytes are gone.
func TestInterruptedCompactionIsFinishedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	b := open(t, path)
	secret := []byte(strings.Repeat("SECRET-PESEL-44051401359-", 40))
	if err := b.Update(context.Background(), func(tx Tx) error { return tx.Put(bucketItems, []byte("s"), secret) }); err != nil {
		t.Fatal(err)
	}
	fill(t, b, 20)
	if err := b.RequireCompaction(); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(context.Background(), func(tx Tx) error { tx.NextRevision(); return tx.Delete(bucketItems, []byte("s")) }); err != nil {
		t.Fatal(err)
	}
	b.SetCompactHook(func(s CompactStage) error { return errors.New("killed") })
	if _, err := b.Compact(); err == nil {
		t.Fatal("compaction with a crash went through")
	}
	rev := b.Revision()
	b.Close()
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, secret[:40]) {
		t.Fatal("precondition: the deleted value should still be in the file's free pages")
	}
	if _, err := os.Stat(path + compactMarkerSuffix); err != nil {
		t.Fatalf("marker: %v", err)
	}
	b = open(t, path)
	defer b.Close()
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, secret[:40]) {
		t.Fatal("the deleted value is still in the file after the next Open")
	}
	if _, err := os.Stat(path + compactMarkerSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker left: %v", err)
	}
	if b.Revision() != rev {
		t.Fatalf("revision %d, want %d", b.Revision(), rev)
	}
}

// TestFailedSwapFailsTheBackend: when the swap cannot be made durable, the backend refuses writes (ErrFailed)
// and says so (Err, Failed) instead of serving on as if healthy; reads still answer.
func TestFailedSwapFailsTheBackend(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	fill(t, b, 5)
	b.SetCompactHook(func(s CompactStage) error {
		if s == StageRenamed {
			return errors.New("injected: directory sync failed")
		}
		return nil
	})
	if _, err := b.Compact(); !errors.Is(err, ErrFailed) {
		t.Fatalf("compact: %v", err)
	}
	select {
	case <-b.Failed():
	default:
		t.Fatal("Failed not closed")
	}
	if err := put(b, "x"); !errors.Is(err, ErrFailed) {
		t.Fatalf("write after a failed swap: %v", err)
	}
	if v, err := readKey(b, "2"); err != nil || v != "3" {
		t.Fatalf("read: %q %v", v, err)
	}
}

var _ io.Writer = (*blockingWriter)(nil)
