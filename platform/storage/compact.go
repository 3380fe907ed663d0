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
// It holds writers (the commit loop waits on writeMu) but never readers: the copy is a bbolt read transaction
// of the current file, so reads, backups and watches go on against it. The new file is synced, renamed over
// the data file and the directory synced; then, in a section only as long as a pointer swap, readers are
// moved to the new handle. The old handle is closed by its last reader (a backup download that started on it
// finishes on it), so no read ever waits for a file copy or for another read.
//
// A compaction that must happen (after an erasure) is journaled first: RequireCompaction writes the marker
// file <data file>.compact-pending and syncs it before the erasure commits, and the marker is removed only
// after the swap. Open finds a marker left by a crash and compacts before serving.

// compactMarkerSuffix names the journal of a compaction that must happen.
const compactMarkerSuffix = ".compact-pending"

// ErrFailed marks a backend that stopped taking writes because its data file could not be put back in a
// known state (a compaction whose swap could not be made durable). The process must be restarted; Open then
// finishes what was left. Failed() is closed at the same time, for health checks.
var ErrFailed = errors.New("storage: the data file is in an unknown state after a failed compaction; writes are refused until the service restarts")

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

// Err is nil while the backend is healthy, and the reason (errors.Is ErrFailed) once it has failed.
func (b *Backend) Err() error {
	if p := b.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Failed is closed when the backend fails (see ErrFailed): a service stops reporting SERVING then.
func (b *Backend) Failed() <-chan struct{} { return b.failed }

func (b *Backend) fail(cause error) {
	err := fmt.Errorf("%w: %v", ErrFailed, cause)
	if b.failure.CompareAndSwap(nil, &err) {
		b.log.Error("storage failed; writes refused until restart", zap.Error(cause))
		close(b.failed)
	}
}

// RequireCompaction journals that the file must be compacted: it writes the marker and syncs it and its
// directory, so a crash before Compact finishes is followed by a compaction at the next Open. Call it before
// committing the deletion whose bytes must go.
func (b *Backend) RequireCompaction() error {
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
		err = syncDir(filepath.Dir(b.path))
	}
	if err != nil {
		return fmt.Errorf("journal the compaction: %w", err)
	}
	return nil
}

// CompactionPending reports whether a compaction is journaled and not yet done.
func (b *Backend) CompactionPending() bool {
	_, err := os.Stat(b.path + compactMarkerSuffix)
	return err == nil
}

// Compact rewrites the data file with only its live keys and swaps it in, keeping the revision; it returns
// the new file's size. Writes wait meanwhile; reads do not. Watchers are woken (Changed is closed) so they
// re-read from the new file. A journaled compaction's marker is removed once the swap is durable.
func (b *Backend) Compact() (int64, error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if b.closed.Load() {
		return 0, ErrClosed
	}
	if err := b.Err(); err != nil {
		return 0, err
	}
	return b.compactLocked()
}

// compactLocked runs with writeMu held (or before the commit loop starts).
func (b *Backend) compactLocked() (int64, error) {
	start := time.Now()
	old := b.db
	tmp := b.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, fmt.Errorf("compact: %w", err)
	}
	abandon := func(err error) (int64, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("compact: %w", err)
	}
	// bolt.Compact reads old in a read transaction: other readers go on; writers are held by writeMu.
	if err := bolt.Compact(dst, old, 1<<20); err != nil {
		return abandon(err)
	}
	if err := dst.Sync(); err != nil {
		return abandon(err)
	}
	if err := b.hook(StageCopied); err != nil {
		return abandon(err)
	}
	// The open handle follows the inode through the rename; old keeps its own (now nameless) file until its
	// last reader ends.
	if err := os.Rename(tmp, b.path); err != nil {
		return abandon(err)
	}
	err = b.hook(StageRenamed)
	if err == nil {
		err = syncDir(filepath.Dir(b.path))
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
		b.fail(fmt.Errorf("sync the directory after compaction: %w", err))
		b.wake()
		return 0, b.Err()
	}
	if err := os.Remove(b.path + compactMarkerSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("compaction done, its marker not removed (the next start compacts again)", zap.Error(err))
	} else {
		_ = syncDir(filepath.Dir(b.path))
	}
	b.wake()
	var size int64
	if fi, err := os.Stat(b.path); err == nil {
		size = fi.Size()
	}
	b.log.Info("data file compacted", zap.Int64("bytes", size), zap.Duration("took", time.Since(start)))
	return size, nil
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

// openPending runs at Open, before the commit loop: it gives the file a feed id when it has none and finishes
// a compaction a crash interrupted.
func (b *Backend) openPending() error {
	if err := b.ensureFeedID(); err != nil {
		return err
	}
	if !b.CompactionPending() {
		return nil
	}
	b.log.Info("finishing a compaction interrupted by a stop (erased data is removed from the file before serving)")
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	_, err := b.compactLocked()
	return err
}
