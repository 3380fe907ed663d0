package storage

// The bbolt engine: one data file per service, one bbolt transaction per group commit, fsync before the group
// is acknowledged. File compaction is in compact.go, commit faults in faults.go.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

func openBolt(path string, opts Options) (*Backend, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.OpenTimeout,
		PageSize: pageSize, // new files only (changes.go says why)
		// The freelist is written with each commit (one small page with a compacted file) rather than rebuilt
		// at open: without it bbolt walks and checks every page of the file at every start, which at 500,000
		// catalogue services cost about a second and kept the whole 0.8 GB file resident (docs/performance.md).
		// A file written without it gets its freelist at its first commit.
		NoFreelistSync: false,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("data file %s is locked by another process (is the service already running?)", path)
		}
		return nil, fmt.Errorf("open data file %s: %w", path, err)
	}
	db.AllocSize = allocSize
	b := newBackend(path, absPath(path), opts)
	b.db = db
	if err := b.init(opts); err != nil {
		_ = db.Close()
		return nil, err
	}
	// The file was read again from disk: an earlier failure of it in this process is over.
	clearFailure(b.absPath)
	// A compaction journaled before a crash is finished before serving (compact.go).
	if err := b.openPending(); err != nil {
		_ = b.db.Close()
		return nil, err
	}
	go b.commitLoop()
	return b, nil
}

func (b *Backend) init(opts Options) error {
	return b.db.Update(func(btx *bolt.Tx) error {
		all := append([]Bucket{BucketMeta, BucketChanges, BucketRequests, BucketCheckpoints}, opts.Buckets...)
		for _, name := range all {
			if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		t := &txn{btx: btx, rev: revisionOf(btx)}
		migrated, err := prepare(t, opts, "file "+b.path)
		if err != nil {
			return err
		}
		if len(migrated) > 0 {
			if err := t.flushRevision(); err != nil {
				return err
			}
		}
		for _, from := range migrated {
			b.log.Info("schema migrated", zap.Int("from", from), zap.Int("to", from+1))
		}
		b.revision.Store(t.rev)
		return nil
	})
}

func (b *Backend) commit(batch []*writeReq) {
	// A compaction holds writeMu while it copies and swaps the file (compact.go).
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	// Drop writes whose callers gave up before their turn: nothing of theirs is written.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	batch = live
	if err := b.Err(); err != nil {
		// A commit failed before: the file's state is not what this process believes, so nothing more is
		// written until a restart has read it again.
		for _, r := range batch {
			r.err <- err
		}
		return
	}
	for len(batch) > 0 {
		btx, err := b.db.Begin(true)
		if err != nil {
			b.commitFailed(batch, 0, err)
			return
		}
		txid := int64(btx.ID())
		// The revision is read inside the transaction, from the file: after a commit that reported failure
		// but was published (etcd-io/bbolt#233) the file is ahead of anything kept in memory.
		t := &txn{btx: btx, rev: revisionOf(btx), capture: b.capture}
		failed := -1
		var failErr error
		for i, r := range batch {
			if err := runMember(r.fn, t); err != nil {
				failed, failErr = i, err
				break
			}
		}
		if failed >= 0 {
			_ = btx.Rollback()
			// The member's error is its answer; the others run again without it, from the same state.
			batch[failed].err <- failErr
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			continue
		}
		newRev := t.rev
		if err := t.flushRevision(); err != nil {
			// Nothing reached the file: an ordinary error of this group.
			_ = btx.Rollback()
			for _, r := range batch {
				r.err <- fmt.Errorf("storage commit: %w", err)
			}
			return
		}
		if err := b.commitTx(btx); err != nil {
			b.commitFailed(batch, txid, err)
			return
		}
		b.advance(newRev)
		for _, r := range batch {
			r.err <- nil
		}
		return
	}
}

// txn implements Tx over a bbolt transaction.
type txn struct {
	btx *bolt.Tx
	rev int64
	// capture, during a compaction's copy, receives this transaction's writes once it commits (compact.go).
	capture *capture
	pending []mutation
	// tails holds, for each sequential bucket this transaction wrote, the largest key it held or was given;
	// a write below it marks the bucket scattered (tails[b] == nil) for the rest of the transaction.
	tails map[Bucket][]byte
}

func (t *txn) bucket(b Bucket) *bolt.Bucket {
	bk := t.btx.Bucket([]byte(b))
	if bk == nil {
		// Buckets are declared at Open; a missing one is a programming error.
		panic(fmt.Sprintf("storage: bucket %q is not declared", b))
	}
	bk.FillPercent = fillPercent(b)
	if tail, ok := t.tails[b]; ok && tail == nil {
		bk.FillPercent = bolt.DefaultFillPercent
	}
	return bk
}

// notePut keeps a sequential bucket's pages filled only while this transaction appends to it. A sequential
// bucket's pages are split at sequentialFill, right for appends: the page left behind is never written
// again. A write inside the key range (a federated entry, whose id sorts among the others; a record updated
// in place that outgrows its page; ids from another system's import) splits its page there too, and a page
// split 95/5 in the middle overflows at its next write and splits again: inserts all over a bucket then
// leave it about half empty (a catalogue of 500,000 federated services took 1,395 MiB of file, 1,171 MiB with
// this). Such a transaction has the bucket's pages split at bbolt's default instead. One transaction may carry
// several writers (the commit loop's group): a tail page split then is the cost of one commit.
func (t *txn) notePut(b Bucket, bk *bolt.Bucket, key []byte) {
	if bk.FillPercent != sequentialFill {
		return
	}
	tail, ok := t.tails[b]
	if !ok {
		if t.tails == nil {
			t.tails = make(map[Bucket][]byte, 2)
		}
		last, _ := bk.Cursor().Last()
		tail = bytes.Clone(last)
		if tail == nil {
			tail = []byte{}
		}
	}
	if len(tail) > 0 && bytes.Compare(key, tail) < 0 {
		t.tails[b] = nil
		bk.FillPercent = bolt.DefaultFillPercent
		return
	}
	t.tails[b] = append(tail[:0], key...)
}

func (t *txn) Get(b Bucket, key []byte) []byte { return t.bucket(b).Get(key) }

func (t *txn) Scan(b Bucket, from []byte, fn func(k, v []byte) (bool, error)) error {
	c := t.bucket(b).Cursor()
	var k, v []byte
	if from == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(from)
	}
	for ; k != nil; k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *txn) ScanPrefix(b Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	c := t.bucket(b).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *txn) Count(b Bucket) int { return t.bucket(b).Stats().KeyN }

func (t *txn) Revision() int64 { return t.rev }

func (t *txn) Put(b Bucket, key, value []byte) error {
	t.record(b, key, value, false)
	bk := t.bucket(b)
	t.notePut(b, bk, key)
	return bk.Put(key, value)
}

func (t *txn) Delete(b Bucket, key []byte) error {
	t.record(b, key, nil, true)
	return t.bucket(b).Delete(key)
}

func (t *txn) NextRevision() int64 {
	t.rev++
	return t.rev
}

func (t *txn) AppendChange(rev int64, value []byte) error {
	return t.Put(BucketChanges, u64(uint64(rev)), value)
}

func (t *txn) flushRevision() error {
	return t.Put(BucketMeta, keyRevision, u64(uint64(t.rev)))
}

func revisionOf(btx *bolt.Tx) int64 {
	if v := btx.Bucket([]byte(BucketMeta)).Get(keyRevision); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}
