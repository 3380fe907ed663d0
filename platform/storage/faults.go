package storage

// What a commit failure means, and what the backend does about it (docs/decisions.md, "A failed commit ends
// the process").
//
// bbolt writes a commit in two steps: the dirty pages (then fdatasync), then the meta page that publishes them
// (then fdatasync). A failure while the pages are written, before the meta page, leaves the file as it was:
// bbolt rolls back, and nothing of the group is in the file. That is the case of a full disk (ENOSPC from the
// page writes), and the backend refuses the group with DISK_FULL and stays healthy; the next commit tries
// again, so writes resume by themselves once space is freed.
//
// Any other failure leaves the outcome unknown: a failed fdatasync may have lost pages the kernel has since
// marked clean, and once the meta page is written the commit is published to every later transaction of this
// process even though the caller is told it failed (etcd-io/bbolt#233). The backend then fails for good: the
// group's callers and every later writer get STORAGE_FAILED (UNAVAILABLE), Failed() is closed, and the
// services end Run with an error so the supervisor (systemd, Kubernetes) restarts the process, which reads the
// file again from disk - revision, caches and the catalogue's search index included - as PostgreSQL does
// after a failed fsync.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
)

// ErrFailed is returned by every write after a commit whose outcome on disk is unknown; the process must be
// restarted to read the file again. errors.Is matches it by kind and reason.
var ErrFailed = apierr.New(apierr.KindUnavailable, "STORAGE_FAILED",
	"the data file could not be written safely; the service stops taking writes and restarts")

// ErrDiskFull refuses a group commit that did not fit on the disk; nothing of it was written and later writes
// are tried again. errors.Is matches it by kind and reason.
var ErrDiskFull = apierr.New(apierr.KindResourceExhausted, "DISK_FULL",
	"the disk holding the data file is full; the write was not saved (reads are still served)")

// Failed returns a channel closed when the backend fails (a commit whose outcome on disk is unknown).
func (b *Backend) Failed() <-chan struct{} { return b.failedCh }

// Err returns ErrFailed (wrapping the commit's cause) once the backend has failed, otherwise nil.
func (b *Backend) Err() error {
	b.failMu.Lock()
	defer b.failMu.Unlock()
	return b.failure
}

// commitTx commits btx, honouring injected faults (InjectFault).
func (b *Backend) commitTx(btx *bolt.Tx) error {
	if injected.Load() > 0 {
		if err := takeFault(b.absPath, FaultBeforeCommit); err != nil {
			_ = btx.Rollback()
			return err
		}
	}
	if err := btx.Commit(); err != nil {
		return err
	}
	if injected.Load() > 0 {
		if err := takeFault(b.absPath, FaultAfterCommit); err != nil {
			return err
		}
	}
	return nil
}

// commitFailed answers a group whose commit (transaction txid, 0 when none began) failed with err: a clean
// refusal when the disk is full and nothing was published, otherwise the backend fails.
func (b *Backend) commitFailed(batch []*writeReq, txid int64, err error) {
	if txid > 0 && isDiskFull(err) && !b.published(txid) {
		b.log.Warn("commit refused: the disk is full", zap.Int("writes", len(batch)), zap.Error(err))
		for _, r := range batch {
			r.err <- ErrDiskFull
		}
		return
	}
	b.log.Error("commit failed: the data file's state is unknown; refusing writes until the service restarts",
		zap.Int("writes", len(batch)), zap.Error(err))
	failure := b.fail(err)
	// Readers of this process see whatever bbolt published; keep Revision and the watchers in step with them
	// until the process exits.
	_ = b.db.View(func(btx *bolt.Tx) error {
		b.advance(revisionOf(btx))
		return nil
	})
	for _, r := range batch {
		r.err <- failure
	}
}

// fail records the first failure, closes Failed() and tells the supervisors; it returns the recorded error.
func (b *Backend) fail(cause error) error {
	b.failMu.Lock()
	if b.failure != nil {
		err := b.failure
		b.failMu.Unlock()
		return err
	}
	b.failure = &failedError{cause: cause}
	close(b.failedCh)
	err := b.failure
	b.failMu.Unlock()
	notifySupervisors(b.absPath, err)
	return err
}

// failedError is ErrFailed carrying the commit's cause for logs; the client sees only ErrFailed.
type failedError struct{ cause error }

func (e *failedError) Error() string { return ErrFailed.Message + ": " + e.cause.Error() }

// Unwrap gives errors.Is/As both the public error (for the status) and the cause.
func (e *failedError) Unwrap() []error { return []error{ErrFailed, e.cause} }

// published reports whether the meta page of write transaction txid is the file's current one, that is
// whether bbolt published the commit though it reported failure.
func (b *Backend) published(txid int64) bool {
	var cur int64
	_ = b.db.View(func(btx *bolt.Tx) error {
		cur = int64(btx.ID())
		return nil
	})
	return cur >= txid
}

// isDiskFull reports whether err is a page write refused for lack of space. Only a failed write(2) counts: a
// failed fdatasync, even with ENOSPC, may have dropped pages already written and stays fatal.
func isDiskFull(err error) bool {
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "write" {
		return false
	}
	return errors.Is(pe.Err, syscall.ENOSPC) || errors.Is(pe.Err, syscall.EDQUOT)
}

func absPath(path string) string {
	if strings.HasPrefix(path, "etcd:") {
		return path // an etcd prefix (Engine.Location), not a file
	}
	if p, err := filepath.Abs(path); err == nil {
		return p
	}
	return filepath.Clean(path)
}

// FaultStage says where an injected commit fault strikes.
type FaultStage int

const (
	// FaultBeforeCommit fails the commit before bbolt writes anything (the transaction is rolled back), as a
	// failed page write or fdatasync of the pages does.
	FaultBeforeCommit FaultStage = iota + 1
	// FaultAfterCommit reports failure after bbolt committed: the data is in the file but the caller is told
	// the commit failed, as when the fdatasync of the meta page fails (etcd-io/bbolt#233).
	FaultAfterCommit
)

// Fault is a commit failure injected by a test.
type Fault struct {
	Stage FaultStage
	// Err is what the commit reports; default an EIO from fdatasync.
	Err error
	// Times is the number of commits it fails; default 1.
	Times int
}

var (
	// injected counts the data files with faults pending, so commits skip the lookup when there are none.
	injected atomic.Int64
	registry = struct {
		sync.Mutex
		faults      map[string][]*Fault
		supervisors map[string]map[int]func(error)
		failed      map[string]error
		next        int
	}{faults: map[string][]*Fault{}, supervisors: map[string]map[int]func(error){}, failed: map[string]error{}}
)

// InjectFault makes the next commits of the data file at path fail as f says. It is for tests (of this
// package and of the services' handling of a failed store); it returns a function that removes what is left
// of the fault.
func InjectFault(path string, f Fault) (remove func()) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Err == nil {
		f.Err = syscall.EIO
	}
	key := absPath(path)
	fp := &f
	registry.Lock()
	registry.faults[key] = append(registry.faults[key], fp)
	injected.Add(1)
	registry.Unlock()
	return func() {
		registry.Lock()
		defer registry.Unlock()
		list := registry.faults[key]
		for i, g := range list {
			if g == fp {
				registry.faults[key] = append(list[:i:i], list[i+1:]...)
				injected.Add(-1)
				break
			}
		}
		if len(registry.faults[key]) == 0 {
			delete(registry.faults, key)
		}
	}
}

// takeFault consumes one pending fault of the file at stage.
func takeFault(key string, stage FaultStage) error {
	registry.Lock()
	defer registry.Unlock()
	list := registry.faults[key]
	for i, f := range list {
		if f.Stage != stage {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			registry.faults[key] = append(list[:i:i], list[i+1:]...)
			injected.Add(-1)
			if len(registry.faults[key]) == 0 {
				delete(registry.faults, key)
			}
		}
		return f.Err
	}
	return nil
}

// Supervise ties a service's run to the data file at path: the returned context ends when ctx does or when a
// backend of that file fails (now or later, across reopenings of the file in this process), and finish turns
// the run's result into the failure, so Run returns an error and the process exits non-zero for its
// supervisor to restart it. Call finish exactly once, with what the run returned.
func Supervise(ctx context.Context, path string) (context.Context, func(error) error) {
	key := absPath(path)
	ctx, cancel := context.WithCancelCause(ctx)
	registry.Lock()
	id := registry.next
	registry.next++
	if registry.supervisors[key] == nil {
		registry.supervisors[key] = map[int]func(error){}
	}
	registry.supervisors[key][id] = cancel
	already := registry.failed[key]
	registry.Unlock()
	if already != nil {
		cancel(already)
	}
	finish := func(runErr error) error {
		registry.Lock()
		delete(registry.supervisors[key], id)
		if len(registry.supervisors[key]) == 0 {
			delete(registry.supervisors, key)
		}
		failure := registry.failed[key]
		registry.Unlock()
		cancel(nil)
		if failure != nil {
			return fmt.Errorf("data file %s: %w", path, failure)
		}
		return runErr
	}
	return ctx, finish
}

func notifySupervisors(key string, err error) {
	registry.Lock()
	registry.failed[key] = err
	fns := make([]func(error), 0, len(registry.supervisors[key]))
	for _, fn := range registry.supervisors[key] {
		fns = append(fns, fn)
	}
	registry.Unlock()
	for _, fn := range fns {
		fn(err)
	}
}

func clearFailure(key string) {
	registry.Lock()
	delete(registry.failed, key)
	registry.Unlock()
}
