// Package storage is the suite's storage contract and its two engines: ordered keys in named buckets, read and
// write transactions, one monotonically increasing revision, a change log read from a revision, a notification
// when a new revision commits, backup, restore and compaction. A service's store package builds on it and is the
// only package of that service that touches storage; this package is the only one that imports bbolt or the
// etcd client.
//
// The contract (this file): *Backend with View and Update, the generic machinery that works on transactions
// (change-log compaction and checkpoints in changes.go, idempotency records in requests.go, schema migrations
// and the feed id here and in backup.go, maintenance) and the group commit: a single commit loop takes every
// write that queued while the previous commit was being made durable and commits them together, so a write is
// acknowledged only once it is durable while concurrent writers share the cost of it. Each engine implements
// the commit of one group, read transactions, backup and compaction:
//
//   - bbolt (bolt.go, the default): one file per service at Options.Path (or Open's path), one bbolt
//     transaction per group, fsync before acknowledging; faults.go says what a failed commit means.
//   - etcd (etcd.go): a prefix per service on an etcd cluster shared by every replica of the service.
//
// # The etcd engine
//
// Keys: a key of bucket B is prefix + B + 0x00 + key (bucket names never hold 0x00); the engine's own keys
// are prefix + 0x00 + name, so they never collide with a bucket's. The revision counter stays in the _meta
// bucket, exactly as in a bbolt file, so revisions, etags and change feeds are the same on both engines and a
// bbolt file moved to etcd (MigrateToEtcd) keeps its revisions and feed id. etcd's own revision is used only
// for snapshots and compare-and-swap; it never reaches a client.
//
// Writes: a group reads from one etcd revision R (a snapshot: every read of the group is served at R, its
// own writes overlaid), buffers its writes and commits them as one etcd Txn guarded by a compare on the
// ModRevision of the commit key (prefix + 0x00 "commit"), which every commit rewrites with a fresh nonce and
// the new revision. Commits of all replicas on one prefix are therefore serialised: a group whose snapshot is
// stale loses the compare and runs again from a new snapshot (a Tx function may run more than once: that is
// the contract of both engines), so a read-check-write in one Update (a capacity check) can never be
// overtaken by another replica. A group is split into several Txns when it would pass etcd's limits
// (EtcdOptions.MaxTxnOps, MaxRequestBytes, which must not exceed the cluster's --max-txn-ops and
// --max-request-bytes); one write too large alone is refused with ErrWriteTooLarge and nothing of it is written.
//
// An outcome the client does not know (a timeout, a lost leader) is resolved before anyone is answered: the
// engine watches the commit key from R+1, where the first put names the commit that won the compare; if it
// carries the group's nonce the group committed, otherwise the group runs again. If nothing was committed yet,
// the engine fences with a Txn of the same compare that only rewrites the commit key, so the lost Txn can never
// apply later. A write is thus acknowledged only once it is in etcd (a quorum's WAL, fsynced) and never applied
// twice. When the outcome cannot be learnt (etcd unreachable for EtcdOptions.ResolveTimeout, or its history
// compacted past the group's snapshot meanwhile) the backend fails as a bbolt backend does after a failed
// fsync (ErrFailed; the process restarts). Each request is bounded by EtcdOptions.RequestTimeout (2 s), well
// below the server's own timeout, and reads are tried again on another member, so a leader's failover costs a
// writer a few hundred milliseconds (TestEtcdLeaderKilledUnderWritesLosesNothingAcknowledged). A group that
// could not even read its snapshot is refused with ErrUnavailable: nothing of it was written.
//
// Schema migrations run in the first commit of an Open, so on etcd a migration must fit in one Txn; move a
// bbolt file to etcd (MigrateToEtcd, cusctl migrate-to-etcd) after the same release has opened it once.
//
// Reads: View reads at one etcd revision, taken by a linearizable read of the revision key, so a View sees
// every write acknowledged anywhere before it began. Get is one range request, Scan and ScanPrefix read pages
// of scanPage keys, Count is a count-only range. Revision() and Changed() follow an etcd watch on the commit
// key, so a write by another replica wakes this one; the watch is re-established after errors and after etcd
// compacts its history past it (the current revision is read again: no commit is missed, a wake-up may be
// spurious).
//
// Backup on etcd writes every key of the prefix, read at one revision, into a bbolt file and streams that, so
// backups have one format: VerifyBackup and Restore work for both engines, and MigrateToEtcd copies such a file
// (or any data file) into an empty prefix.
//
// Maintenance on etcd: change-log compaction, checkpoints and request expiry are the generic code. Each run
// also compacts etcd's history to the etcd revision this process saw EtcdOptions.HistoryRetention ago (1 h by
// default; every replica may do it, compaction to the same or an older revision is a no-op), and at most once
// per EtcdOptions.DefragInterval (24 h) defragments each member whose database is less than half in use.
// Compact() means the same as on bbolt - deleted personal data must not linger - so on etcd it compacts the
// history up to the current revision and defragments every member; RequireCompaction journals it in the
// prefix (prefix + 0x00 "compact-pending") and Open finishes a journaled one.
package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Bucket names a bucket (a bbolt bucket; a key range on etcd). Each service declares its buckets in one place (its store's schema).
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
	// Engine chooses bbolt (the default) or etcd (engine.go).
	Engine Engine
	// Journals names the journals the store keeps (AppendJournal). On etcd, Open imports the file each kept
	// beside path when the store ran with its journals in files (JournalFile(path, name)), then renames it
	// "<file>.imported"; MigrateToEtcd copies those beside its source file.
	Journals []string

	testPath string // the bbolt path an etcd store stands in for (SetTestEngine)
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

// Backend is an open store: a bbolt data file (db) or a prefix on an etcd cluster (etcd).
type Backend struct {
	db       *bolt.DB
	etcd     *etcdEngine
	path     string
	absPath  string // the key of the store's fault injections and supervisors (faults.go)
	log      *zap.Logger
	maxBatch int
	buckets  []Bucket // the service's, declared at Open

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

// Open opens the backend: on bbolt (the default) the data file at path, created if needed; on etcd
// (opts.Engine.Kind == EngineEtcd) the prefix opts.Engine.Etcd.Prefix, path then naming nothing. It checks the
// schema version and runs migrations, gives a new store a feed id, and starts the commit loop.
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
	switch opts.Engine.Kind {
	case EngineBolt, "":
		if b, ok, err := openTestEngine(path, opts); ok {
			return b, err
		}
		return openBolt(path, opts)
	case EngineEtcd:
		return openEtcd(path, opts)
	default:
		return nil, fmt.Errorf("storage engine %q is not known (want %q or %q)", opts.Engine.Kind, EngineBolt, EngineEtcd)
	}
}

func newBackend(path, key string, opts Options) *Backend {
	return &Backend{
		path: path, absPath: key, log: opts.Logger, maxBatch: opts.MaxBatch, buckets: opts.Buckets,
		queue:    make(chan *writeReq, 4096),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		notifyCh: make(chan struct{}),
		failedCh: make(chan struct{}),
		readers:  map[*bolt.DB]int{},
		retired:  map[*bolt.DB]bool{},
	}
}

// prepare runs in the first write transaction of an Open, on either engine: it checks the schema version, runs
// the migrations, records the version, and gives a store without a feed id one (after the migrations, which
// may adopt a service's older feed id). It may run more than once (etcd: a lost compare), so it only logs.
func prepare(t Tx, opts Options, where string) (migrated []int, err error) {
	version := 0
	if v := t.Get(BucketMeta, keySchemaVersion); len(v) == 8 {
		version = int(binary.BigEndian.Uint64(v))
	} else if v == nil {
		// A new store starts at the current version.
		version = opts.SchemaVersion
	}
	if version > opts.SchemaVersion {
		return nil, fmt.Errorf("data %s has schema version %d, newer than this binary supports (%d)", where, version, opts.SchemaVersion)
	}
	for version < opts.SchemaVersion {
		var m *Migration
		for i := range opts.Migrations {
			if opts.Migrations[i].From == version {
				m = &opts.Migrations[i]
			}
		}
		if m == nil {
			return nil, fmt.Errorf("no migration from schema version %d", version)
		}
		if err := m.Run(t); err != nil {
			return nil, fmt.Errorf("migrate schema %d -> %d: %w", version, version+1, err)
		}
		migrated = append(migrated, version)
		version++
	}
	if v := t.Get(BucketMeta, keySchemaVersion); string(v) != string(u64(uint64(version))) {
		if err := t.Put(BucketMeta, keySchemaVersion, u64(uint64(version))); err != nil {
			return nil, err
		}
	}
	if t.Get(BucketMeta, keyFeedID) == nil {
		if err := t.Put(BucketMeta, keyFeedID, []byte(uuid.NewString())); err != nil {
			return nil, err
		}
	}
	return migrated, nil
}

// Path is the data file's path.
func (b *Backend) Path() string { return b.path }

// Revision is the newest committed revision.
func (b *Backend) Revision() int64 { return b.revision.Load() }

// AwaitRevision reports whether Revision reaches rev, waiting up to within for it on etcd. A replica learns of
// the other replicas' commits from its etcd watch, a few milliseconds after them: a client that resumes a watch
// or a feed here from a revision another replica served may be that far ahead, and must not be told that the
// revision does not exist. On bbolt this process is the file's only writer: a revision above its own is
// never coming (the data was restored from an older backup), so nothing is waited for.
func (b *Backend) AwaitRevision(ctx context.Context, rev int64, within time.Duration) bool {
	if b.Revision() >= rev {
		return true
	}
	if b.etcd == nil || within <= 0 {
		return false
	}
	t := time.NewTimer(within)
	defer t.Stop()
	for {
		changed := b.Changed()
		if b.Revision() >= rev {
			return true
		}
		select {
		case <-changed:
		case <-t.C:
			return b.Revision() >= rev
		case <-ctx.Done():
			return false
		}
	}
}

// Changed returns a channel closed at the next commit that advances the revision. Take it before reading,
// then wait on it, and no commit is missed.
func (b *Backend) Changed() <-chan struct{} {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	return b.notifyCh
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (b *Backend) View(fn func(ReadTx) error) error {
	if b.etcd != nil {
		return b.etcd.view(fn)
	}
	db, release := b.acquire()
	defer release()
	return db.View(func(btx *bolt.Tx) error {
		t := &txn{btx: btx, rev: revisionOf(btx)}
		return fn(t)
	})
}

// Update runs fn in a write transaction shared with concurrent writers and returns after the commit is
// durable (bbolt: fsynced; etcd: in a quorum's log). fn's error is returned as is and its writes are discarded; other writers are not affected.
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
		if b.etcd != nil {
			b.etcd.commit(b, batch)
		} else {
			b.commit(batch)
		}
	}
}

// advance publishes rev as the newest revision and wakes the watchers if it moved forward (on etcd both the
// commit loop and the watch of other replicas' commits advance it, in either order).
func (b *Backend) advance(rev int64) {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	if rev <= b.revision.Load() {
		return
	}
	b.revision.Store(rev)
	close(b.notifyCh)
	b.notifyCh = make(chan struct{})
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

// Close stops the commit loop (refusing queued writes) and closes the file (on etcd: stops the watch and
// closes the client).
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		<-b.done
		if b.etcd != nil {
			err = b.etcd.close()
			return
		}
		b.compactMu.Lock() // a compaction in progress finishes first
		defer b.compactMu.Unlock()
		b.hmu.Lock()
		db := b.db
		b.hmu.Unlock()
		err = db.Close()
	})
	return err
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
