// Package storage is the suite's embedded key-value backend: one bbolt file per service behind a narrow,
// etcd-like interface (ordered keys in named buckets, read and write transactions, one monotonically increasing
// revision, a change log read from a revision, and a notification when a new revision commits).
//
// It is the only package of the platform that imports bbolt; a service's store package builds on it and is the
// only package of that service that touches storage. Writes are group-committed: a single commit loop takes
// every write that queued while the previous commit was being synced and commits them in one bbolt transaction,
// so a write is acknowledged only after fsync while concurrent writers share the cost of it.
package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

// Bucket names a bbolt bucket. Each service declares its buckets in one place (its store's schema).
type Bucket string

// Buckets the backend itself owns. Services must not declare these names.
const (
	// BucketMeta holds the schema version and the revision counter.
	BucketMeta Bucket = "_meta"
	// BucketChanges holds the change log: 8-byte big-endian revision -> service-defined record.
	BucketChanges Bucket = "_changes"
	// BucketRequests maps idempotency keys (request ids) to what the first request produced.
	BucketRequests Bucket = "_requests"
)

var (
	keySchemaVersion = []byte("schema_version")
	keyRevision      = []byte("revision")
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("storage: backend is closed")

// Migration upgrades the data from version From to From+1 inside one write transaction.
type Migration struct {
	From int
	Run  func(tx Tx) error
}

// Options configure Open.
type Options struct {
	// Buckets the service uses; created when missing.
	Buckets []Bucket
	// SchemaVersion the running code expects.
	SchemaVersion int
	// Migrations from older schema versions, applied in order at start-up.
	Migrations []Migration
	// OpenTimeout bounds the wait for the file lock, so a second process fails fast. Default 1s.
	OpenTimeout time.Duration
	// MaxBatch caps the writes in one group commit. Default 1000.
	MaxBatch int
	// Logger for start-up and commit errors; never given values, only sizes and durations.
	Logger *zap.Logger
}

// ReadTx is a read-only view of one consistent snapshot. Byte slices it returns are valid only inside the
// transaction; copy what must outlive it.
type ReadTx interface {
	// Get returns the value of key, or nil.
	Get(b Bucket, key []byte) []byte
	// Scan calls fn for keys >= from in order until fn returns false or an error.
	Scan(b Bucket, from []byte, fn func(key, value []byte) (bool, error)) error
	// ScanPrefix calls fn for keys with the prefix, in order, until fn returns false or an error.
	ScanPrefix(b Bucket, prefix []byte, fn func(key, value []byte) (bool, error)) error
	// Count returns the number of keys in a bucket.
	Count(b Bucket) int
	// Revision is the revision of the snapshot (of this transaction, in a write transaction).
	Revision() int64
}

// Tx is a write transaction. Its function may run more than once (a group commit is retried without a
// member that failed), so it must depend only on the transaction and its own inputs.
type Tx interface {
	ReadTx
	// Put sets key to value.
	Put(b Bucket, key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(b Bucket, key []byte) error
	// NextRevision bumps the revision counter and returns the new revision.
	NextRevision() int64
	// AppendChange records value as the change at rev (from NextRevision).
	AppendChange(rev int64, value []byte) error
}

// Backend is an open data file.
type Backend struct {
	db       *bolt.DB
	path     string
	absPath  string // the key of the file's fault injections and supervisors (faults.go)
	log      *zap.Logger
	maxBatch int

	queue chan *writeReq
	stop  chan struct{}
	done  chan struct{}

	closeOnce sync.Once
	closed    atomic.Bool
	// revision mirrors the newest committed revision for Revision(); a commit never starts from it, it reads
	// the counter inside its own transaction (a failed commit may have published more than this says).
	revision atomic.Int64

	// failure is set once, by the first commit whose outcome on disk is unknown (faults.go); failedCh is then
	// closed. After it every write is refused.
	failMu   sync.Mutex
	failure  error
	failedCh chan struct{}

	notifyMu sync.Mutex
	notifyCh chan struct{}

	// Compaction (compact.go) swaps db: writeMu is held by each commit and by a compaction (writers wait,
	// readers do not); hmu guards db for readers, counted in readers so a swapped-out handle is closed by
	// its last reader (retired).
	writeMu     sync.Mutex
	compactMu   sync.Mutex
	hmu         sync.Mutex
	readers     map[*bolt.DB]int
	retired     map[*bolt.DB]bool
	compactHook atomic.Pointer[func(CompactStage) error]
	capture     *capture // set (under writeMu) while a compaction copies

	gc gcState // change-log compaction and request expiry (changes.go, requests.go)
}

type writeReq struct {
	ctx context.Context
	fn  func(Tx) error
	err chan error
}

// Open opens (creating if needed) the data file at path, declares the buckets, checks the schema version and
// runs migrations, and starts the commit loop.
func Open(path string, opts Options) (*Backend, error) {
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.SchemaVersion <= 0 {
		opts.SchemaVersion = 1
	}
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
	b := &Backend{
		db: db, path: path, absPath: absPath(path), log: opts.Logger, maxBatch: opts.MaxBatch,
		queue:    make(chan *writeReq, 4096),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		notifyCh: make(chan struct{}),
		failedCh: make(chan struct{}),
		readers:  map[*bolt.DB]int{},
		retired:  map[*bolt.DB]bool{},
	}
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
		meta := btx.Bucket([]byte(BucketMeta))
		if v := meta.Get(keyRevision); len(v) == 8 {
			b.revision.Store(int64(binary.BigEndian.Uint64(v)))
		}
		version := 0
		if v := meta.Get(keySchemaVersion); len(v) == 8 {
			version = int(binary.BigEndian.Uint64(v))
		} else if v == nil {
			// A new file starts at the current version.
			version = opts.SchemaVersion
		}
		if version > opts.SchemaVersion {
			return fmt.Errorf("data file %s has schema version %d, newer than this binary supports (%d)", b.path, version, opts.SchemaVersion)
		}
		for version < opts.SchemaVersion {
			var m *Migration
			for i := range opts.Migrations {
				if opts.Migrations[i].From == version {
					m = &opts.Migrations[i]
				}
			}
			if m == nil {
				return fmt.Errorf("no migration from schema version %d", version)
			}
			t := &txn{btx: btx, rev: revisionOf(btx)}
			if err := m.Run(t); err != nil {
				return fmt.Errorf("migrate schema %d -> %d: %w", version, version+1, err)
			}
			if err := t.flushRevision(); err != nil {
				return err
			}
			b.revision.Store(t.rev)
			b.log.Info("schema migrated", zap.Int("from", version), zap.Int("to", version+1))
			version++
		}
		return meta.Put(keySchemaVersion, u64(uint64(version)))
	})
}

// Path is the data file's path.
func (b *Backend) Path() string { return b.path }

// Revision is the newest committed revision.
func (b *Backend) Revision() int64 { return b.revision.Load() }

// Changed returns a channel closed at the next commit that advances the revision. Take it before reading,
// then wait on it, and no commit is missed.
func (b *Backend) Changed() <-chan struct{} {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	return b.notifyCh
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (b *Backend) View(fn func(ReadTx) error) error {
	db, release := b.acquire()
	defer release()
	return db.View(func(btx *bolt.Tx) error {
		t := &txn{btx: btx, rev: revisionOf(btx)}
		return fn(t)
	})
}

// Update runs fn in a write transaction shared with concurrent writers and returns after the commit is on
// disk. fn's error is returned as is and its writes are discarded; other writers are not affected.
func (b *Backend) Update(ctx context.Context, fn func(Tx) error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := b.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case b.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return ErrClosed
	}
	// Once queued, the write is committed or refused by the loop; wait for the answer even if ctx ends, so a
	// caller never reports failure for a write that then commits.
	return <-req.err
}

func (b *Backend) commitLoop() {
	defer close(b.done)
	for {
		var first *writeReq
		select {
		case first = <-b.queue:
		case <-b.stop:
			// Refuse what is still queued.
			for {
				select {
				case r := <-b.queue:
					r.err <- ErrClosed
				default:
					return
				}
			}
		}
		batch := []*writeReq{first}
	drain:
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		b.commit(batch)
	}
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

// advance publishes rev as the newest revision and wakes the watchers if it moved.
func (b *Backend) advance(rev int64) {
	if rev == b.revision.Load() {
		return
	}
	b.revision.Store(rev)
	b.notifyMu.Lock()
	close(b.notifyCh)
	b.notifyCh = make(chan struct{})
	b.notifyMu.Unlock()
}

// runMember runs one writer's function, turning a panic into that writer's error: the commit loop serves
// every writer, so one writer's bug must not take it (and the process) down.
func runMember(fn func(Tx) error, t Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("storage: write function panicked: %v", r)
		}
	}()
	return fn(t)
}

// Changes calls fn for each change with a revision above after, in order, until fn returns false or limit
// changes were read (limit <= 0: no limit). It reads one consistent snapshot; a cursor below the compaction
// point gets ErrCompacted (changes.go).
func (b *Backend) Changes(after int64, limit int, fn func(rev int64, value []byte) (bool, error)) error {
	n := 0
	return b.ViewChanges(after, func(_ ReadTx, rev int64, v []byte) (bool, error) {
		if limit > 0 && n >= limit {
			return false, nil
		}
		n++
		return fn(rev, v)
	})
}

// Close stops the commit loop (refusing queued writes) and closes the file.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		<-b.done
		b.compactMu.Lock() // a compaction in progress finishes first
		defer b.compactMu.Unlock()
		b.hmu.Lock()
		db := b.db
		b.hmu.Unlock()
		err = db.Close()
	})
	return err
}

// txn implements Tx over a bbolt transaction.
type txn struct {
	btx *bolt.Tx
	rev int64
	// capture, during a compaction's copy, receives this transaction's writes once it commits (compact.go).
	capture *capture
	pending []mutation
}

func (t *txn) bucket(b Bucket) *bolt.Bucket {
	bk := t.btx.Bucket([]byte(b))
	if bk == nil {
		// Buckets are declared at Open; a missing one is a programming error.
		panic(fmt.Sprintf("storage: bucket %q is not declared", b))
	}
	bk.FillPercent = fillPercent(b)
	return bk
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
	return t.bucket(b).Put(key, value)
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

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// RevisionKey encodes a revision as an ordered key.
func RevisionKey(rev int64) []byte { return u64(uint64(rev)) }

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}
