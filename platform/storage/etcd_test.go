package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/etcdtest"
)

// Tests of the etcd engine's own guarantees: replicas on one prefix, etcd's limits, lost replies, backup
// and the move between engines.

var errFull = errors.New("full")

// reserve is a provider-like capacity check: read the count, refuse past cap, write the count and a
// reservation, in one Update.
func reserve(b *Backend, id string, limit int) error {
	return b.Update(context.Background(), func(tx Tx) error {
		n := 0
		if v := tx.Get(bucketItems, []byte("count")); v != nil {
			n = int(binary.BigEndian.Uint64(v))
		}
		if n >= limit {
			return errFull
		}
		rev := tx.NextRevision()
		if err := tx.Put(bucketItems, []byte("count"), u64(uint64(n+1))); err != nil {
			return err
		}
		if err := tx.Put(bucketItems, []byte("res/"+id), []byte(fmt.Sprint(rev))); err != nil {
			return err
		}
		return tx.AppendChange(rev, []byte(id))
	})
}

func TestTwoReplicasNeverLoseAnIncrementNorPassTheCap(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	a, b := p.open(t), p.open(t)
	defer a.Close()
	defer b.Close()
	for _, tc := range []struct {
		name       string
		limit      int
		wantCommit int
	}{
		{"under the cap", 1000, 200},
		{"past the cap", 150 + 200, 150}, // the second round starts at 200: 150 more fit
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, full := 0, 0
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					be := a
					if i%2 == 1 {
						be = b
					}
					err := reserve(be, fmt.Sprintf("%s-%03d", tc.name, i), tc.limit)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, errFull):
						full++
					default:
						t.Error(err)
					}
				}(i)
			}
			wg.Wait()
			if ok != tc.wantCommit || ok+full != 200 {
				t.Fatalf("committed %d, refused %d; want %d committed", ok, full, tc.wantCommit)
			}
		})
	}
	// Both replicas see one history: the count, the reservations and the change log agree, gapless.
	for name, be := range map[string]*Backend{"a": a, "b": b} {
		err := be.View(func(tx ReadTx) error {
			n := int(binary.BigEndian.Uint64(tx.Get(bucketItems, []byte("count"))))
			res := 0
			if err := tx.ScanPrefix(bucketItems, []byte("res/"), func(_, _ []byte) (bool, error) { res++; return true, nil }); err != nil {
				return err
			}
			if n != 350 || res != 350 || tx.Count(BucketChanges) != 350 || tx.Revision() != 350 {
				return fmt.Errorf("count %d, reservations %d, changes %d, revision %d; want 350 each", n, res, tx.Count(BucketChanges), tx.Revision())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("replica %s: %v", name, err)
		}
	}
}

func TestWriteOnOneReplicaWakesTheOther(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	a, b := p.open(t), p.open(t)
	defer a.Close()
	defer b.Close()
	for i := 0; i < 3; i++ {
		ch := b.Changed()
		if err := put(a, fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("write %d on replica a did not wake replica b", i)
		}
		if b.Revision() != a.Revision() {
			t.Fatalf("revision on b %d, on a %d", b.Revision(), a.Revision())
		}
		if got, _ := readKey(b, fmt.Sprint("k", i)); got != fmt.Sprint(i+1) {
			t.Fatalf("b reads k%d = %q, want %d", i, got, i+1)
		}
	}
}

// commitDirect runs n writers as one group, as the commit loop would if they had all queued meanwhile.
func commitDirect(b *Backend, fns []func(Tx) error) []error {
	reqs := make([]*writeReq, len(fns))
	for i, fn := range fns {
		reqs[i] = &writeReq{ctx: context.Background(), fn: fn, err: make(chan error, 1)}
	}
	b.etcd.commit(b, reqs)
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		select {
		case errs[i] = <-r.err:
		default:
			errs[i] = errors.New("not answered")
		}
	}
	return errs
}

func etcdRevision(t *testing.T) int64 {
	t.Helper()
	resp, err := rawClient(t).Get(context.Background(), "/none")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func TestGroupLargerThanEtcdTxnLimitCommitsWhole(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	b := p.open(t)
	defer b.Close()
	const writers = 300 // two keys each: about five times etcd's 128 operations per Txn
	fns := make([]func(Tx) error, writers)
	for i := range fns {
		fns[i] = func(tx Tx) error {
			rev := tx.NextRevision()
			if err := tx.Put(bucketItems, []byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprint(rev))); err != nil {
				return err
			}
			return tx.AppendChange(rev, []byte(fmt.Sprint(i)))
		}
	}
	before := etcdRevision(t)
	for i, err := range commitDirect(b, fns) {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if txns := etcdRevision(t) - before; txns < 5 {
		t.Fatalf("the group took %d etcd transactions; it cannot fit in fewer than 5", txns)
	}
	if b.Revision() != writers {
		t.Fatalf("revision %d, want %d", b.Revision(), writers)
	}
	got, err := revs(t, b, 0)
	if err != nil || len(got) != writers || got[writers-1] != writers {
		t.Fatalf("change log: %d entries, last %v, %v", len(got), got[len(got)-1:], err)
	}
}

func TestOversizeWriteIsRefusedWhole(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	b := p.open(t)
	defer b.Close()
	if err := put(b, "before"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func(tx Tx) error
	}{
		{"too many keys", func(tx Tx) error {
			tx.NextRevision()
			for i := 0; i < 200; i++ {
				if err := tx.Put(bucketItems, []byte(fmt.Sprintf("many/%03d", i)), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		}},
		{"too many bytes", func(tx Tx) error {
			tx.NextRevision()
			return tx.Put(bucketItems, []byte("big"), bytes.Repeat([]byte("x"), 2<<20))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A small write queued beside it commits; the large one changes nothing.
			errs := commitDirect(b, []func(Tx) error{tc.fn, func(tx Tx) error {
				return tx.Put(bucketItems, []byte("beside-"+tc.name), []byte("v"))
			}})
			e, ok := apierr.As(errs[0])
			if !errors.Is(errs[0], ErrWriteTooLarge) || !ok || e.Kind != apierr.KindResourceExhausted || !strings.Contains(e.Error(), "limits per transaction") {
				t.Fatalf("err = %v, want WRITE_TOO_LARGE naming the limits", errs[0])
			}
			if errs[1] != nil {
				t.Fatalf("the write beside it: %v", errs[1])
			}
			if b.Revision() != 1 {
				t.Fatalf("revision %d, want 1", b.Revision())
			}
			_ = b.View(func(tx ReadTx) error {
				if tx.Get(bucketItems, []byte("big")) != nil || tx.Get(bucketItems, []byte("many/000")) != nil {
					t.Error("a refused write left keys behind")
				}
				if tx.Get(bucketItems, []byte("beside-"+tc.name)) == nil {
					t.Error("the write beside it is missing")
				}
				return nil
			})
		})
	}
	// WriteLimit is honest: a write of exactly its keys commits, one more is refused.
	keys, size := b.WriteLimit()
	if keys != DefaultEtcdMaxTxnOps-2 || size <= 0 || size >= DefaultEtcdMaxRequestBytes {
		t.Fatalf("WriteLimit = %d keys, %d bytes", keys, size)
	}
	for _, n := range []int{keys, keys + 1} {
		err := b.Update(context.Background(), func(tx Tx) error {
			rev := tx.NextRevision()
			for i := 1; i < n; i++ {
				if err := tx.Put(bucketItems, []byte(fmt.Sprintf("limit-%d/%03d", n, i)), []byte("v")); err != nil {
					return err
				}
			}
			return tx.AppendChange(rev, []byte("limit"))
		})
		if (n == keys) != (err == nil) || (n > keys && !errors.Is(err, ErrWriteTooLarge)) {
			t.Fatalf("a write of %d keys (limit %d): %v", n, keys, err)
		}
	}
	// Through Update as a service calls it.
	if err := b.Update(context.Background(), func(tx Tx) error {
		return tx.Put(bucketItems, []byte("big"), bytes.Repeat([]byte("x"), 2<<20))
	}); !errors.Is(err, ErrWriteTooLarge) {
		t.Fatalf("Update: err = %v", err)
	}
}

// ItemsPerWrite sizes batches that etcd takes whole at its default limits, by keys and by bytes, and one
// item more than it says does not fit; on bbolt it is the batch the store asks for.
func TestItemsPerWriteFitsOneTransaction(t *testing.T) {
	bb := newPlace(t, EngineBolt).open(t)
	defer bb.Close()
	if n := bb.ItemsPerWrite(4000, 9, 32<<10, 8); n != 4000 {
		t.Fatalf("bbolt: ItemsPerWrite = %d, want the 4000 asked", n)
	}
	b := newPlace(t, EngineEtcd).open(t)
	defer b.Close()
	for _, tc := range []struct {
		name              string
		keysPer, bytesPer int
	}{{"bound by keys", 9, 1 << 10}, {"bound by bytes", 2, 100 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			n := b.ItemsPerWrite(4000, tc.keysPer, tc.bytesPer, 8)
			if n < 1 || n >= 4000 {
				t.Fatalf("ItemsPerWrite = %d", n)
			}
			// Each item writes keysPer keys, bytesPer bytes in all; the Update's own 8 keys beside them.
			write := func(items int) error {
				return b.Update(context.Background(), func(tx Tx) error {
					rev := tx.NextRevision()
					for i := 0; i < items; i++ {
						for k := 0; k < tc.keysPer; k++ {
							key := []byte(fmt.Sprintf("%s/%d/%04d/%d", tc.name, items, i, k))
							if err := tx.Put(bucketItems, key, bytes.Repeat([]byte("x"), tc.bytesPer/tc.keysPer-len(key))); err != nil {
								return err
							}
						}
					}
					for k := 0; k < 7; k++ {
						if err := tx.Put(bucketItems, []byte(fmt.Sprintf("%s/own/%d/%d", tc.name, items, k)), []byte("v")); err != nil {
							return err
						}
					}
					return tx.AppendChange(rev, []byte("batch"))
				})
			}
			if err := write(n); err != nil {
				t.Fatalf("a batch of ItemsPerWrite = %d items: %v", n, err)
			}
			if err := write(n + 1); !errors.Is(err, ErrWriteTooLarge) {
				t.Fatalf("a batch of %d items, one more than ItemsPerWrite: err = %v, want ErrWriteTooLarge", n+1, err)
			}
		})
	}
}

// A commit whose reply is lost (FaultAfterCommit: etcd applied it) must be acknowledged once, not run again;
// one whose request is lost (FaultBeforeCommit) must run again, once.
func TestLostCommitReplyIsResolvedNeverAppliedTwice(t *testing.T) {
	for name, stage := range map[string]FaultStage{"reply lost": FaultAfterCommit, "request lost": FaultBeforeCommit} {
		t.Run(name, func(t *testing.T) {
			p := newPlace(t, EngineEtcd)
			b := p.open(t)
			defer b.Close()
			remove := InjectFault(b.Path(), Fault{Stage: stage})
			defer remove()
			runs := 0
			err := b.Update(context.Background(), func(tx Tx) error {
				runs++
				return reserveIn(tx)
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if isFailed(b) {
				t.Fatal("a resolved outcome failed the backend")
			}
			if err := b.View(func(tx ReadTx) error {
				if n := binary.BigEndian.Uint64(tx.Get(bucketItems, []byte("count"))); n != 1 || tx.Revision() != 1 {
					return fmt.Errorf("count %d, revision %d after %d runs; want 1, 1", n, tx.Revision(), runs)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := put(b, "after"); err != nil || b.Revision() != 2 {
				t.Fatalf("next write: %v, revision %d", err, b.Revision())
			}
		})
	}
}

func reserveIn(tx Tx) error {
	n := uint64(0)
	if v := tx.Get(bucketItems, []byte("count")); v != nil {
		n = binary.BigEndian.Uint64(v)
	}
	rev := tx.NextRevision()
	if err := tx.Put(bucketItems, []byte("count"), u64(n+1)); err != nil {
		return err
	}
	return tx.AppendChange(rev, []byte("c"))
}

func feedAndRevision(t *testing.T, b *Backend) (string, int64) {
	t.Helper()
	return b.FeedID(), b.Revision()
}

func TestEtcdBackupVerifiesAndMovesBetweenEngines(t *testing.T) {
	dir := t.TempDir()
	src := newPlace(t, EngineEtcd)
	b := src.open(t)
	for i := 0; i < 300; i++ { // more keys than one Txn of the copy takes
		if err := put(b, fmt.Sprintf("k%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.CompactChanges(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	feed, rev := feedAndRevision(t, b)
	backup := filepath.Join(dir, "etcd-backup.db")
	var buf bytes.Buffer
	var hdrSize, hdrRev int64
	n, err := b.Snapshot(func(size, revision int64) io.Writer {
		hdrSize, hdrRev = size, revision
		return &buf
	})
	if err != nil || n != hdrSize || hdrRev != rev {
		t.Fatalf("snapshot: %d bytes of %d, revision %d (want %d), %v", n, hdrSize, hdrRev, rev, err)
	}
	b.Close()
	if err := os.WriteFile(backup, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := VerifyBackup(backup, time.Second); err != nil {
		t.Fatalf("the etcd backup does not verify: %v", err)
	}

	// Into bbolt, as a restore: revisions and data kept, a new feed id (Restore's rule).
	boltPath := filepath.Join(dir, "restored.db")
	if err := Restore(backup, boltPath, time.Second); err != nil {
		t.Fatal(err)
	}
	bb := open(t, boltPath)
	if bb.Revision() != rev || bb.CompactedRevision() != 10 || bb.FeedID() == feed || bb.FeedID() == "" {
		t.Fatalf("bbolt copy: revision %d (want %d), compacted %d, feed %q (etcd's %q)", bb.Revision(), rev, bb.CompactedRevision(), bb.FeedID(), feed)
	}
	if got, _ := readKey(bb, "k299"); got != fmt.Sprint(rev) {
		t.Fatalf("k299 = %q", got)
	}
	boltFeed := bb.FeedID()
	if err := put(bb, "written-on-bbolt"); err != nil {
		t.Fatal(err)
	}
	bb.Close()

	// Back into etcd, as a migration: revisions and feed id kept, and it serves writes on from there.
	dst := newPlace(t, EngineEtcd)
	copied, err := MigrateToEtcd(context.Background(), boltPath, dst.options(Options{}))
	if err != nil || copied < 300 {
		t.Fatalf("MigrateToEtcd: %d keys, %v", copied, err)
	}
	e := dst.open(t)
	defer e.Close()
	if f, r := feedAndRevision(t, e); f != boltFeed || r != rev+1 {
		t.Fatalf("etcd copy: feed %q revision %d; want %q, %d", f, r, boltFeed, rev+1)
	}
	if got, _ := readKey(e, "written-on-bbolt"); got != fmt.Sprint(rev+1) {
		t.Fatalf("written-on-bbolt = %q", got)
	}
	if changes, err := revs(t, e, 10); err != nil || len(changes) != int(rev+1-10) {
		t.Fatalf("change log after 10: %d entries, %v", len(changes), err)
	}
	if err := put(e, "after-move"); err != nil || e.Revision() != rev+2 {
		t.Fatalf("write after the move: %v, revision %d", err, e.Revision())
	}

	// The etcd backup itself migrates with etcd's feed id; a non-empty prefix is refused and left alone.
	again := newPlace(t, EngineEtcd)
	if _, err := MigrateToEtcd(context.Background(), backup, again.options(Options{})); err != nil {
		t.Fatal(err)
	}
	a := again.open(t)
	if f, r := feedAndRevision(t, a); f != feed || r != rev {
		t.Fatalf("backup migrated: feed %q revision %d; want %q, %d", f, r, feed, rev)
	}
	a.Close()
	if _, err := MigrateToEtcd(context.Background(), backup, dst.options(Options{})); err == nil || !strings.Contains(err.Error(), "empty prefix") {
		t.Fatalf("copy into a used prefix: %v", err)
	}
	if got, _ := readKey(e, "after-move"); got != fmt.Sprint(rev+2) {
		t.Fatalf("the refused copy changed the prefix: after-move = %q", got)
	}
	// A restore into etcd gives a new feed id.
	fresh := newPlace(t, EngineEtcd)
	if _, err := RestoreToEtcd(context.Background(), backup, fresh.options(Options{})); err != nil {
		t.Fatal(err)
	}
	r := fresh.open(t)
	if f, rv := feedAndRevision(t, r); f == feed || f == "" || rv != rev {
		t.Fatalf("restored into etcd: feed %q (old %q), revision %d", f, feed, rv)
	}
	r.Close()
}

func TestOpenRefusesAPrefixWithDataButNoCommitKey(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	if _, err := rawClient(t).Put(context.Background(), p.etcd.Prefix+"items\x00half", "copied"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.openWith(Options{}); err == nil || !strings.Contains(err.Error(), "no commit key") {
		t.Fatalf("err = %v", err)
	}
}

func TestEtcdCompactRemovesErasedDataFromHistory(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	b := p.open(t)
	defer b.Close()
	if err := put(b, "pesel-like"); err != nil {
		t.Fatal(err)
	}
	cli := rawClient(t)
	key := p.etcd.Prefix + string(bucketItems) + "\x00pesel-like"
	resp, err := cli.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw get: %v", err)
	}
	written := resp.Kvs[0].ModRevision
	if err := b.RequireCompaction(); err != nil || !b.CompactionPending() {
		t.Fatalf("RequireCompaction: %v, pending %v", err, b.CompactionPending())
	}
	if err := b.Update(context.Background(), func(tx Tx) error { return tx.Delete(bucketItems, []byte("pesel-like")) }); err != nil {
		t.Fatal(err)
	}
	// Before Compact the erased value is still in etcd's history.
	if old, err := cli.Get(context.Background(), key, clientv3.WithRev(written)); err != nil || len(old.Kvs) != 1 {
		t.Fatalf("history before Compact: %v", err)
	}
	if _, err := b.Compact(); err != nil {
		t.Fatal(err)
	}
	if b.CompactionPending() {
		t.Fatal("compaction still pending after Compact")
	}
	if _, err := cli.Get(context.Background(), key, clientv3.WithRev(written)); !isCompacted(err) {
		t.Fatalf("history after Compact: err = %v, want compacted", err)
	}
	// The backend keeps serving (its watch follows on past the compaction).
	ch := b.Changed()
	if err := put(b, "after"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the compaction")
	}
}

// The leader of a three-member cluster is killed under a write load: every acknowledged write is there
// afterwards, nothing else is (a refused write saved nothing), revisions stay gapless, and writes resume.
func TestEtcdLeaderKilledUnderWritesLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-member cluster and a failover")
	}
	c := etcdtest.Start(t, 3)
	clusters.Store(t, c)
	p := newPlace(t, EngineEtcd)
	b := p.open(t)
	defer b.Close()
	// Another replica only watches: its watch stream may be on the member killed, and must come back.
	obs := p.open(t)
	defer obs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		refused  int
		killedAt time.Time
		resumed  time.Duration
		wg       sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("w%d-%05d", w, i)
				err := put(b, key)
				mu.Lock()
				if err == nil {
					acked[key] = true
					if !killedAt.IsZero() && resumed == 0 {
						resumed = time.Since(killedAt)
					}
				} else if errors.Is(err, ErrUnavailable) {
					refused++
				} else {
					t.Errorf("write %s: %v", key, err)
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(500 * time.Millisecond)
	leader := c.Leader()
	mu.Lock()
	before := len(acked)
	killedAt = time.Now()
	mu.Unlock()
	c.Kill(leader)
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if resumed == 0 {
		t.Fatalf("no write acknowledged after the leader (member %d) was killed", leader)
	}
	t.Logf("writes acknowledged: %d before the kill, %d in all; %d refused as unavailable; first write acknowledged %v after the kill",
		before, len(acked), refused, resumed)
	if isFailed(b) {
		t.Fatal("the backend failed")
	}
	for deadline := time.Now().Add(10 * time.Second); obs.Revision() != int64(len(acked)); {
		if time.Now().After(deadline) {
			t.Fatalf("the watching replica is at revision %d, the writes at %d", obs.Revision(), len(acked))
		}
		select {
		case <-obs.Changed():
		case <-time.After(100 * time.Millisecond):
		}
	}
	// A replica opened afresh reads exactly the acknowledged writes.
	r := p.open(t)
	defer r.Close()
	err := r.View(func(tx ReadTx) error {
		n := 0
		if err := tx.Scan(bucketItems, nil, func(k, _ []byte) (bool, error) {
			if !acked[string(k)] {
				return false, fmt.Errorf("key %s is stored but was never acknowledged", k)
			}
			n++
			return true, nil
		}); err != nil {
			return err
		}
		if n != len(acked) || tx.Revision() != int64(len(acked)) || tx.Count(BucketChanges) != len(acked) {
			return fmt.Errorf("%d keys, revision %d, %d changes; want %d each", n, tx.Revision(), tx.Count(BucketChanges), len(acked))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A replica asked for a revision another replica has just committed waits for its watch to bring it (a
// watcher resuming here from that replica's last revision must not be refused); a revision that no replica
// has committed is refused after the wait; on bbolt nothing is waited for. Without the wait, b is asked the
// moment a's commit returns, before its watch has told it, and some of the 20 rounds fail.
func TestAwaitRevisionFollowsTheOtherReplica(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	a, b := p.open(t), p.open(t)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	for i := range 20 {
		if err := put(a, fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
		if rev := a.Revision(); !b.AwaitRevision(ctx, rev, 10*time.Second) || b.Revision() < rev {
			t.Fatalf("round %d: b did not reach a's revision %d (at %d)", i, rev, b.Revision())
		}
	}
	if b.AwaitRevision(ctx, a.Revision()+1000, 50*time.Millisecond) {
		t.Error("b reached a revision nobody committed")
	}
	bolt := newPlace(t, EngineBolt).open(t)
	defer bolt.Close()
	began := time.Now()
	if bolt.AwaitRevision(ctx, bolt.Revision()+1, time.Minute) || time.Since(began) > 10*time.Second {
		t.Error("bbolt waited for a revision above its own")
	}
}
