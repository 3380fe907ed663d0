package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Compaction rewrites the data file into a fresh one holding only live keys, so deleted data (an erased
// resident: RODO art. 17) does not linger in free pages that later backups would carry.
//
// The copy is a bbolt read transaction of the current file, so reads, backups and watches go on against it;
// writes go on too (reads of personal data write audit entries): the writes committed during the copy are
// captured and applied to the new file in a short section with writers held (writeMu), in which the new file
// is synced, renamed over the data file and the directory synced, and readers are moved to the new handle. The old handle is closed by its last reader (a backup download that started on it
// finishes on it), so no read ever waits for a file copy or for another read.
//
// A compaction that must happen (after an erasure) is journaled first: RequireCompaction writes the marker
// file <data file>.compact-pending and syncs it before the erasure commits, and the marker is removed only
// after the swap. Open finds a marker left by a crash and compacts before serving.

// compactMarkerSuffix names the journal of a compaction that must happen.
const compactMarkerSuffix = ".compact-pending"

// CompactStage names the points where a test hook may stop a compaction.
type CompactStage string

const (
	// StageCopied: the new file is written and synced, not yet renamed into place (a crash here leaves the
	// old file and the marker: the next Open compacts again).
	StageCopied CompactStage = "copied"
	// StageRenamed: the new file was renamed over the data file; an error here is treated as a failed
	// directory sync (the backend fails: writes refused, Failed closed).
	StageRenamed CompactStage = "renamed"
)

// SetCompactHook installs fn, called at each CompactStage; an error it returns stops the compaction there as
// a crash or an I/O error would. For tests (slow compactions, crash simulation, a failed swap); nil removes it.
func (b *Backend) SetCompactHook(fn func(CompactStage) error) {
	if fn == nil {
		b.compactHook.Store(nil)
		return
	}
	b.compactHook.Store(&fn)
}

func (b *Backend) hook(s CompactStage) error {
	if fn := b.compactHook.Load(); fn != nil {
		return (*fn)(s)
	}
	return nil
}

// failCompaction fails the backend (faults.go) because a compaction's swap could not be made durable: the file
// is in an unknown state until the process restarts and Open finishes what was left.
func (b *Backend) failCompaction(cause error) {
	b.log.Error("compaction failed; writes refused until restart", zap.Error(cause))
	_ = b.fail(fmt.Errorf("compaction: %w", cause))
}

// RequireCompaction journals that the file must be compacted: it writes the marker and syncs it and its
// directory, so a crash before Compact finishes is followed by a compaction at the next Open. Call it before
// committing the deletion whose bytes must go.
func (b *Backend) RequireCompaction() error {
	if b.etcd != nil {
		return b.etcd.requireCompaction()
	}
	f, err := os.OpenFile(b.path+compactMarkerSuffix, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal the compaction: %w", err)
	}
	_, err = f.WriteString(time.Now().UTC().Format(time.RFC3339) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = SyncDir(filepath.Dir(b.path))
	}
	if err != nil {
		return fmt.Errorf("journal the compaction: %w", err)
	}
	return nil
}

// CompactionPending reports whether a compaction is journaled and not yet done.
func (b *Backend) CompactionPending() bool {
	if b.etcd != nil {
		ctx, cancel := b.etcd.rctx()
		defer cancel()
		pending, err := b.etcd.pending(ctx)
		return pending || err != nil
	}
	_, err := os.Stat(b.path + compactMarkerSuffix)
	return err == nil
}

// Compact rewrites the data file with only its live keys and swaps it in, keeping the revision; it returns
// the new file's size. Neither reads nor writes wait for the copy: writes committed meanwhile are captured
// and applied to the new file in the short section (writers held) that ends with the swap. Watchers are woken
// (Changed is closed) so they re-read from the new file. A journaled compaction's marker is removed once the
// swap is durable. One compaction runs at a time.
func (b *Backend) Compact() (int64, error) {
	b.compactMu.Lock()
	defer b.compactMu.Unlock()
	if b.closed.Load() {
		return 0, ErrClosed
	}
	if err := b.Err(); err != nil {
		return 0, err
	}
	if b.etcd != nil {
		return b.etcd.compact(b)
	}
	return b.compact()
}

// capture collects the writes committed while a compaction copies (guarded by writeMu: commits hold it).
type capture struct {
	muts []mutation
}

type mutation struct {
	bucket     Bucket
	key, value []byte
	del        bool
}

// record keeps a write of a transaction that runs during a compaction's copy; it reaches the capture only if
// the transaction commits (a group commit retried without a failed member starts a new transaction).
func (t *txn) record(b Bucket, key, value []byte, del bool) {
	if t.capture == nil {
		return
	}
	if t.pending == nil {
		c := t.capture
		t.btx.OnCommit(func() { c.muts = append(c.muts, t.pending...) })
	}
	t.pending = append(t.pending, mutation{bucket: b, key: append([]byte(nil), key...), value: append([]byte(nil), value...), del: del})
}

// compact runs with compactMu held. The copy reads a snapshot taken, with writers held for an instant, at
// the same point the capture starts; the capture is applied and the handle swapped with writers held again.
func (b *Backend) compact() (int64, error) {
	start := time.Now()
	tmp := b.path + ".compact"
	_ = os.Remove(tmp)
	// The same layout as a file made by Open (page size, growth step), since the copy becomes the data file.
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, PageSize: pageSize, NoFreelistSync: false, FreelistType: bolt.FreelistMapType}) // as Open: storage.go
	if err != nil {
		return 0, fmt.Errorf("compact: %w", err)
	}
	dst.AllocSize = allocSize
	b.writeMu.Lock()
	old := b.db
	snap, err := old.Begin(false)
	capt := &capture{}
	if err == nil {
		b.capture = capt
	}
	b.writeMu.Unlock()
	stopCapture := func() {
		b.writeMu.Lock()
		b.capture = nil
		b.writeMu.Unlock()
	}
	abandon := func(err error) (int64, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("compact: %w", err)
	}
	if err != nil {
		return abandon(err)
	}
	err = copyLive(snap, dst)
	_ = snap.Rollback()
	if err == nil {
		err = b.hook(StageCopied)
	}
	if err != nil {
		stopCapture()
		return abandon(err)
	}

	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.capture = nil
	err = dst.Update(func(tx *bolt.Tx) error {
		for _, m := range capt.muts {
			bk := tx.Bucket([]byte(m.bucket))
			if bk == nil {
				return fmt.Errorf("bucket %q missing in the copy", m.bucket)
			}
			if m.del {
				if err := bk.Delete(m.key); err != nil {
					return err
				}
			} else if err := bk.Put(m.key, m.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = dst.Sync()
	}
	if err != nil {
		return abandon(err)
	}
	// The open handle follows the inode through the rename; old keeps its own (now nameless) file until its
	// last reader ends.
	if err := os.Rename(tmp, b.path); err != nil {
		return abandon(err)
	}
	err = b.hook(StageRenamed)
	if err == nil {
		err = SyncDir(filepath.Dir(b.path))
	}
	b.hmu.Lock()
	b.db = dst
	closeOld := b.readers[old] == 0
	if !closeOld {
		b.retired[old] = true // its last reader closes it
	}
	b.hmu.Unlock()
	if closeOld {
		// Nobody reads it and writers are held: Close returns at once.
		_ = old.Close()
	}
	if err != nil {
		// The rename may not survive a crash while later writes would go to the new file: refuse writes.
		b.failCompaction(fmt.Errorf("sync the directory after compaction: %w", err))
		b.wake()
		return 0, b.Err()
	}
	if err := os.Remove(b.path + compactMarkerSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("compaction done, its marker not removed (the next start compacts again)", zap.Error(err))
	} else {
		_ = SyncDir(filepath.Dir(b.path))
	}
	b.wake()
	var size int64
	if fi, err := os.Stat(b.path); err == nil {
		size = fi.Size()
	}
	b.log.Info("data file compacted", zap.Int64("bytes", size), zap.Int("writes_during_copy", len(capt.muts)), zap.Duration("took", time.Since(start)))
	return size, nil
}

// copyLive copies every bucket and key of src into dst, packed (pages filled), in transactions of about
// 1 MiB. The backend's buckets are flat (no nested buckets).
func copyLive(src *bolt.Tx, dst *bolt.DB) error {
	const maxTx = 1 << 20
	dtx, err := dst.Begin(true)
	if err != nil {
		return err
	}
	defer func() { _ = dtx.Rollback() }()
	var size int
	err = src.ForEach(func(name []byte, sb *bolt.Bucket) error {
		db, err := dtx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		db.FillPercent = 1.0
		if err := db.SetSequence(sb.Sequence()); err != nil {
			return err
		}
		c := sb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				return fmt.Errorf("bucket %q holds a nested bucket, which the backend never writes", name)
			}
			if size+len(k)+len(v) > maxTx && size > 0 {
				if err := dtx.Commit(); err != nil {
					return err
				}
				if dtx, err = dst.Begin(true); err != nil {
					return err
				}
				db = dtx.Bucket(name)
				db.FillPercent = 1.0
				size = 0
			}
			if err := db.Put(k, v); err != nil {
				return err
			}
			size += len(k) + len(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return dtx.Commit()
}

// wake closes the Changed channel without a new revision: watchers re-read (from the new file) and wait again.
func (b *Backend) wake() {
	b.notifyMu.Lock()
	close(b.notifyCh)
	b.notifyCh = make(chan struct{})
	b.notifyMu.Unlock()
}

// acquire returns the current handle for one read, counted so that a compaction's swap closes the old
// handle only after its last read; release must be called when the read ends.
func (b *Backend) acquire() (*bolt.DB, func()) {
	b.hmu.Lock()
	db := b.db
	b.readers[db]++
	b.hmu.Unlock()
	return db, func() {
		b.hmu.Lock()
		b.readers[db]--
		last := b.readers[db] == 0
		closeIt := last && b.retired[db]
		if last {
			delete(b.readers, db)
			delete(b.retired, db)
		}
		b.hmu.Unlock()
		if closeIt {
			_ = db.Close()
		}
	}
}

// openPending runs at Open, before the commit loop: it finishes a compaction a crash interrupted.
func (b *Backend) openPending() error {
	if !b.CompactionPending() {
		return nil
	}
	b.log.Info("finishing a compaction interrupted by a stop (erased data is removed from the file before serving)")
	b.compactMu.Lock()
	defer b.compactMu.Unlock()
	_, err := b.compact()
	return err
}
