package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cus-suite/cus/platform/apierr"
)

// changeLog reads the whole change log as rev -> key.
func changeLog(t *testing.T, b *Backend) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	if err := b.Changes(0, 0, func(rev int64, v []byte) (bool, error) {
		out[rev] = string(v)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func getItem(t *testing.T, b *Backend, key string) (string, bool) {
	t.Helper()
	var v []byte
	if err := b.View(func(tx ReadTx) error {
		v = append([]byte(nil), tx.Get(bucketItems, []byte(key))...)
		if tx.Get(bucketItems, []byte(key)) == nil {
			v = nil
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return string(v), v != nil
}

func isFailed(b *Backend) bool {
	select {
	case <-b.Failed():
		return true
	default:
		return false
	}
}

func wantReason(t *testing.T, err error, kind apierr.Kind, reason string) {
	t.Helper()
	e, ok := apierr.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("error = %v, want kind %d reason %s", err, kind, reason)
	}
}

// A commit that published its data without reporting success must not let any later commit reuse its
// revision. The write below goes to the file behind the commit loop, as a commit published by bbolt but
// reported failed does (etcd-io/bbolt#233); before the fix the loop started from its in-memory revision and
// overwrote change-log entry 2.
func TestCommitReadsRevisionFromTheFileNotFromMemory(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	if err := put(b, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Update(func(btx *bolt.Tx) error {
		tx := &txn{btx: btx, rev: revisionOf(btx)}
		rev := tx.NextRevision()
		if err := tx.AppendChange(rev, []byte("published-behind")); err != nil {
			return err
		}
		return tx.flushRevision()
	}); err != nil {
		t.Fatal(err)
	}
	if err := put(b, "b"); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{1: "a", 2: "published-behind", 3: "b"}
	if got := changeLog(t, b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("change log = %v, want %v", got, want)
	}
	if v, _ := getItem(t, b, "b"); v != "3" {
		t.Fatalf("b written at revision %s, want 3", v)
	}
}

func TestFailedCommit(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "d.db", Err: syscall.ENOSPC}
	cases := []struct {
		name  string
		fault Fault
		// fatal: the backend fails; otherwise the write is refused cleanly and the backend stays writable.
		fatal bool
		// published: the failed write is in the file (the caller was told it failed).
		published bool
	}{
		{"reported failed after bbolt committed (fsync of the meta page)", Fault{Stage: FaultAfterCommit}, true, true},
		{"failed before the commit (fsync of the pages)", Fault{Stage: FaultBeforeCommit}, true, false},
		{"fdatasync failing with ENOSPC stays fatal", Fault{Stage: FaultBeforeCommit, Err: syscall.ENOSPC}, true, false},
		{"page write refused for lack of space", Fault{Stage: FaultBeforeCommit, Err: enospc}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.db")
			b := open(t, path)
			defer func() { _ = b.Close() }()
			sctx, finish := Supervise(context.Background(), path)
			for _, k := range []string{"k1", "k2"} {
				if err := put(b, k); err != nil {
					t.Fatal(err)
				}
			}
			remove := InjectFault(path, tc.fault)
			defer remove()
			err := put(b, "k3")
			if err == nil {
				t.Fatal("the failed commit's caller was told it succeeded")
			}
			if !tc.fatal {
				wantReason(t, err, apierr.KindResourceExhausted, "DISK_FULL")
				if isFailed(b) || sctx.Err() != nil {
					t.Fatal("a full disk failed the backend")
				}
				if _, ok := getItem(t, b, "k3"); ok {
					t.Fatal("a refused write is in the file")
				}
				// Writes resume by themselves.
				if err := put(b, "k4"); err != nil {
					t.Fatalf("write after the refusal: %v", err)
				}
				if got, want := changeLog(t, b), map[int64]string{1: "k1", 2: "k2", 3: "k4"}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("change log = %v, want %v", got, want)
				}
				if err := finish(nil); err != nil {
					t.Fatalf("supervised run ended with %v", err)
				}
				return
			}
			wantReason(t, err, apierr.KindUnavailable, "STORAGE_FAILED")
			if !errors.Is(err, ErrFailed) || !isFailed(b) {
				t.Fatalf("backend not failed after %v", err)
			}
			select {
			case <-sctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the supervised context did not end")
			}
			if err := finish(nil); !errors.Is(err, ErrFailed) {
				t.Fatalf("supervised run ended with %v, want STORAGE_FAILED", err)
			}
			// Every later write is refused, without touching the file.
			for i := 0; i < 3; i++ {
				err := put(b, fmt.Sprintf("later-%d", i))
				wantReason(t, err, apierr.KindUnavailable, "STORAGE_FAILED")
			}
			wantRev := int64(2)
			wantLog := map[int64]string{1: "k1", 2: "k2"}
			if tc.published {
				wantRev = 3
				wantLog[3] = "k3"
			}
			// Readers of this process see what bbolt published, and so does Revision.
			if got := b.Revision(); got != wantRev {
				t.Fatalf("revision = %d, want %d", got, wantRev)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			// The restart reads the file again: the revision comes from disk and writes continue after it.
			b = open(t, path)
			if got := b.Revision(); got != wantRev {
				t.Fatalf("revision after reopen = %d, want %d", got, wantRev)
			}
			if err := put(b, "k5"); err != nil {
				t.Fatalf("write after reopen: %v", err)
			}
			wantLog[wantRev+1] = "k5"
			if got := changeLog(t, b); fmt.Sprint(got) != fmt.Sprint(wantLog) {
				t.Fatalf("change log = %v, want %v (an entry was overwritten or lost)", got, wantLog)
			}
			if v, _ := getItem(t, b, "k5"); v != fmt.Sprint(wantRev+1) {
				t.Fatalf("k5 written at revision %s, want %d", v, wantRev+1)
			}
			for _, k := range []string{"later-0", "later-1", "later-2"} {
				if _, ok := getItem(t, b, k); ok {
					t.Fatalf("refused write %s is in the file", k)
				}
			}
		})
	}
}

// Under concurrent writers, a commit reported failed after it was published: every acknowledged write is in
// the file after a restart, revisions are gapless, no change-log entry was written twice, and no write after
// the failure got in.
func TestFailedCommitUnderConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	b := open(t, path)
	const writers, each = 32, 40
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				k := fmt.Sprintf("w%02d-%03d", w, i)
				err := put(b, k)
				if err == nil {
					mu.Lock()
					acked[k] = true
					mu.Unlock()
					continue
				}
				if !errors.Is(err, ErrFailed) {
					t.Errorf("write %s: %v, want STORAGE_FAILED", k, err)
				}
				return
			}
		}(w)
	}
	close(start)
	// Let some commits through, then fail one after it was published.
	for b.Revision() < 100 {
		time.Sleep(time.Millisecond)
	}
	remove := InjectFault(path, Fault{Stage: FaultAfterCommit})
	defer remove()
	wg.Wait()
	if !isFailed(b) {
		t.Fatal("the backend did not fail")
	}
	failedAt := b.Revision()
	_ = b.Close()
	b = open(t, path)
	defer b.Close()
	if got := b.Revision(); got != failedAt {
		t.Fatalf("revision after reopen = %d, the failed process saw %d", got, failedAt)
	}
	log := changeLog(t, b)
	if int64(len(log)) != failedAt {
		t.Fatalf("%d change-log entries for revision %d", len(log), failedAt)
	}
	seen := map[string]int64{}
	for rev := int64(1); rev <= failedAt; rev++ {
		k, ok := log[rev]
		if !ok {
			t.Fatalf("revision %d missing from the change log", rev)
		}
		if prev, dup := seen[k]; dup {
			t.Fatalf("%s logged at revisions %d and %d", k, prev, rev)
		}
		seen[k] = rev
		if v, _ := getItem(t, b, k); v != fmt.Sprint(rev) {
			t.Fatalf("%s holds revision %s, its change is at %d (overwritten)", k, v, rev)
		}
	}
	for k := range acked {
		if _, ok := seen[k]; !ok {
			t.Fatalf("acknowledged write %s is missing", k)
		}
	}
	// What was published but refused to its caller is in the file (the caller must treat the outcome as
	// unknown, as with any UNAVAILABLE); nothing else is.
	if extra := len(seen) - len(acked); extra < 1 {
		t.Fatalf("the failed group (at least one write) is not in the file: %d logged, %d acknowledged", len(seen), len(acked))
	}
	t.Logf("%d writes acknowledged, %d more published by the failed commit, failure at revision %d", len(acked), len(seen)-len(acked), failedAt)
}

// A failure before the service starts supervising (during start-up, e.g. while loading demo data) still ends
// its run; reopening the file, which reads it again, clears it.
func TestSuperviseSeesEarlierFailuresUntilTheFileIsReopened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	b := open(t, path)
	remove := InjectFault(path, Fault{Stage: FaultBeforeCommit})
	defer remove()
	if err := put(b, "k1"); !errors.Is(err, ErrFailed) {
		t.Fatalf("write: %v, want STORAGE_FAILED", err)
	}
	ctx, finish := Supervise(context.Background(), path)
	if ctx.Err() == nil || !errors.Is(context.Cause(ctx), ErrFailed) {
		t.Fatalf("supervised context: %v (cause %v), want ended by STORAGE_FAILED", ctx.Err(), context.Cause(ctx))
	}
	if err := finish(nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("finish: %v, want STORAGE_FAILED", err)
	}
	_ = b.Close()
	b = open(t, path)
	defer b.Close()
	ctx, finish = Supervise(context.Background(), path)
	if ctx.Err() != nil {
		t.Fatalf("supervision of the reopened file ended at once: %v", context.Cause(ctx))
	}
	if err := put(b, "k2"); err != nil {
		t.Fatal(err)
	}
	if err := finish(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("finish: %v, want the run's own result", err)
	}
}
