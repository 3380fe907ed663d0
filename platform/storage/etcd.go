package storage

// The etcd engine (the package doc states its semantics): key layout, snapshot reads, the group commit as
// compare-and-swap Txns on the commit key, resolving unknown outcomes, and the watch that follows other
// replicas' commits. Backup, migration and maintenance on etcd are in etcd_admin.go.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cus-suite/cus/platform/apierr"
)

// ErrUnavailable refuses a read or a write that etcd could not serve (no quorum, unreachable): nothing of a
// refused write was stored, and it may be tried again. errors.Is matches it by kind and reason.
var ErrUnavailable = apierr.New(apierr.KindUnavailable, "STORAGE_UNAVAILABLE",
	"the storage cluster could not serve the request; nothing was saved, try again")

// ErrWriteTooLarge refuses one write that does not fit in one etcd transaction (EtcdOptions.MaxTxnOps,
// MaxRequestBytes); nothing of it was stored. errors.Is matches it by kind and reason.
var ErrWriteTooLarge = apierr.New(apierr.KindResourceExhausted, "WRITE_TOO_LARGE",
	"the write is larger than one storage transaction may be; nothing was saved (split it into smaller requests)")

// scanPage is how many keys one range request of a scan reads.
const scanPage = 512

// Keys of the engine itself, beside the buckets: prefix + 0x00 + name.
const (
	etcdCommitKey  = "\x00commit"
	etcdPendingKey = "\x00compact-pending"
)

// nonceLen is the size of the random nonce that starts the commit key's value; our revision follows it.
const nonceLen = 16

type etcdEngine struct {
	cli       *clientv3.Client
	ownClient bool
	prefix    string
	opt       EtcdOptions
	kCommit   string
	kPending  string
	kRevision string

	stopWatch context.CancelFunc
	watchDone chan struct{}

	maint struct {
		sync.Mutex
		seen       []revAt // etcd revisions seen by Maintain, oldest first
		lastDefrag time.Time
	}
}

type revAt struct {
	at  time.Time
	rev int64
}

// openEtcd opens the prefix of opts.Engine.Etcd. path is the store's local data path (may be empty): the
// journal files of an older release beside it are imported (Options.Journals).
func openEtcd(path string, opts Options) (*Backend, error) {
	eo := opts.Engine.Etcd.withDefaults()
	if err := eo.validate(); err != nil {
		return nil, err
	}
	e := &etcdEngine{cli: eo.Client, prefix: eo.Prefix, opt: eo}
	e.kCommit, e.kPending = eo.Prefix+etcdCommitKey, eo.Prefix+etcdPendingKey
	e.kRevision = e.key(BucketMeta, keyRevision)
	if e.cli == nil {
		cli, err := dialEtcd(eo, opts.Logger)
		if err != nil {
			return nil, err
		}
		e.cli, e.ownClient = cli, true
	}
	b := newBackend(etcdLocation(eo.Prefix), etcdLocation(eo.Prefix), opts)
	if opts.testPath != "" { // SetTestEngine (testengine.go)
		b.path, b.absPath = opts.testPath, absPath(opts.testPath)
	}
	b.etcd = e
	fail := func(err error) (*Backend, error) {
		if e.ownClient {
			_ = e.cli.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), eo.DialTimeout)
	defer cancel()
	// A prefix holding data but no commit key is a copy (MigrateToEtcd) under way or cut short: serving it
	// would serve part of a store.
	var resp *clientv3.TxnResponse
	err := e.read(ctx, func(ctx context.Context) (err error) {
		resp, err = e.cli.Txn(ctx).Then(
			clientv3.OpGet(e.kCommit),
			clientv3.OpGet(e.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		).Commit()
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("open etcd prefix %s at %v: %w", eo.Prefix, eo.Endpoints, err))
	}
	if len(resp.Responses[0].GetResponseRange().Kvs) == 0 && resp.Responses[1].GetResponseRange().Count > 0 {
		return fail(fmt.Errorf("etcd prefix %s holds data but no commit key: a copy into it is under way or was cut short (empty the prefix and copy again)", eo.Prefix))
	}
	// The first commit: schema version, migrations, feed id, through the commit path (a replica opening at
	// the same time loses the compare and runs it again on what the winner wrote).
	var migrated []int
	req := &writeReq{ctx: context.Background(), err: make(chan error, 1), fn: func(t Tx) error {
		var err error
		migrated, err = prepare(t, opts, "under etcd prefix "+eo.Prefix)
		return err
	}}
	e.commit(b, []*writeReq{req})
	if err := <-req.err; err != nil {
		return fail(err)
	}
	for _, from := range migrated {
		b.log.Info("schema migrated", zap.Int("from", from), zap.Int("to", from+1))
	}
	// A replica that kept its journals in files beside its data path on etcd (before they moved into etcd)
	// hands their records over once: the file is renamed after its records are in etcd.
	for _, name := range opts.Journals {
		if path == "" {
			break
		}
		if _, err := e.importJournalFile(ctx, b.log, name, JournalFile(path, name), true); err != nil {
			return fail(err)
		}
	}
	cur, err := e.current(ctx)
	if err != nil {
		return fail(err)
	}
	b.revision.Store(cur.ours)
	clearFailure(b.absPath)
	if pending, err := e.pending(ctx); err != nil {
		return fail(err)
	} else if pending {
		b.log.Info("finishing a compaction interrupted by a stop (erased data is removed from etcd's history before serving)")
		if _, err := e.compact(b); err != nil {
			return fail(err)
		}
	}
	e.maint.lastDefrag = time.Now()
	wctx, stop := context.WithCancel(context.Background())
	e.stopWatch, e.watchDone = stop, make(chan struct{})
	go e.watchLoop(wctx, b, cur.etcd+1)
	go b.commitLoop()
	return b, nil
}

func dialEtcd(eo EtcdOptions, log *zap.Logger) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   eo.Endpoints,
		DialTimeout: eo.DialTimeout,
		// The client's own logs (reconnects, retries) at warning and above, into the service's log.
		Logger: log.Named("etcd").WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)),
		// No RejectOldCluster: it asks every endpoint at start-up, so one member down would stop a replica
		// from starting.
	}
	if eo.CertFile != "" || eo.CAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: eo.CertFile, KeyFile: eo.KeyFile, TrustedCAFile: eo.CAFile}
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd at %v: %w", eo.Endpoints, err)
	}
	return cli, nil
}

func (e *etcdEngine) close() error {
	e.stopWatch()
	<-e.watchDone
	if e.ownClient {
		return e.cli.Close()
	}
	return nil
}

func (e *etcdEngine) key(b Bucket, k []byte) string {
	return e.prefix + string(b) + "\x00" + string(k)
}

func (e *etcdEngine) bucketPrefix(b Bucket) string { return e.prefix + string(b) + "\x00" }

// splitKey parses an etcd key of a bucket back into bucket and key.
func (e *etcdEngine) splitKey(k []byte) (Bucket, []byte, bool) {
	rest := k[len(e.prefix):]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 {
		return "", nil, false
	}
	return Bucket(rest[:i]), rest[i+1:], true
}

func (e *etcdEngine) rctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.opt.RequestTimeout)
}

// point is where a snapshot reads: etcd's revision, our revision counter then, and the commit key's
// ModRevision (0: no commit yet) that the snapshot's commit compares.
type point struct {
	etcd, ours, commitMod int64
}

// read runs a read, tried again (on another member: the client balances round robin) while ctx allows, each
// try bounded by RequestTimeout: a member that lost its leader or hangs in a failover is not waited for.
// Reads at a compacted revision are not tried again.
func (e *etcdEngine) read(ctx context.Context, fn func(ctx context.Context) error) error {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		actx, cancel := context.WithTimeout(ctx, e.opt.RequestTimeout)
		err := fn(actx)
		cancel()
		if err == nil || isCompacted(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// readCtx bounds the tries of one read: a failover takes a moment.
func (e *etcdEngine) readCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 3*e.opt.RequestTimeout)
}

// current reads the commit key and the revision key in one linearizable request.
func (e *etcdEngine) current(ctx context.Context) (point, error) {
	var resp *clientv3.TxnResponse
	err := e.read(ctx, func(ctx context.Context) (err error) {
		resp, err = e.cli.Txn(ctx).Then(clientv3.OpGet(e.kCommit), clientv3.OpGet(e.kRevision)).Commit()
		return err
	})
	if err != nil {
		return point{}, err
	}
	p := point{etcd: resp.Header.Revision}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		p.commitMod = kvs[0].ModRevision
	}
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 && len(kvs[0].Value) == 8 {
		p.ours = int64(binary.BigEndian.Uint64(kvs[0].Value))
	}
	return p, nil
}

func unavailable(err error) error {
	return &storeError{public: ErrUnavailable, cause: err}
}

// storeError is a public error carrying its cause for logs (the client sees only the public one).
type storeError struct {
	public *apierr.Error
	cause  error
}

func (e *storeError) Error() string   { return e.public.Message + ": " + e.cause.Error() }
func (e *storeError) Unwrap() []error { return []error{e.public, e.cause} }

// etcdRead is a read-only snapshot at one etcd revision. A read error is kept in err (the ReadTx methods
// have none) and returned by View in place of fn's result.
type etcdRead struct {
	e    *etcdEngine
	at   point
	err  error
	seen map[string][]byte // Gets at this snapshot, for the write transactions that rerun on it (nil: no cache)
}

func (t *etcdRead) setErr(err error) {
	if t.err == nil {
		t.err = err
	}
}

func (t *etcdRead) getAt(k string) []byte {
	if t.seen != nil {
		if v, ok := t.seen[k]; ok {
			return v
		}
	}
	if t.err != nil {
		return nil
	}
	ctx, cancel := t.e.readCtx()
	defer cancel()
	var resp *clientv3.GetResponse
	err := t.e.read(ctx, func(ctx context.Context) (err error) {
		resp, err = t.e.cli.Get(ctx, k, clientv3.WithRev(t.at.etcd))
		return err
	})
	if err != nil {
		t.setErr(err)
		return nil
	}
	var v []byte
	if len(resp.Kvs) > 0 {
		v = resp.Kvs[0].Value
		if v == nil {
			v = []byte{}
		}
	}
	if t.seen != nil {
		t.seen[k] = v
	}
	return v
}

// rangeAt calls fn for the keys in [start, end) at the snapshot, in pages; it reports whether fn stopped it.
func (t *etcdRead) rangeAt(start, end string, fn func(k string, v []byte) (bool, error)) (stopped bool, err error) {
	if t.err != nil {
		return true, t.err
	}
	for {
		ctx, cancel := t.e.readCtx()
		var resp *clientv3.GetResponse
		err := t.e.read(ctx, func(ctx context.Context) (err error) {
			resp, err = t.e.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithRev(t.at.etcd), clientv3.WithLimit(scanPage))
			return err
		})
		cancel()
		if err != nil {
			t.setErr(err)
			return true, t.err
		}
		for _, kv := range resp.Kvs {
			v := kv.Value
			if v == nil {
				v = []byte{}
			}
			more, err := fn(string(kv.Key), v)
			if err != nil || !more {
				return true, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return false, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func (t *etcdRead) Get(b Bucket, key []byte) []byte { return t.getAt(t.e.key(b, key)) }

func (t *etcdRead) Scan(b Bucket, from []byte, fn func(k, v []byte) (bool, error)) error {
	bp := t.e.bucketPrefix(b)
	_, err := t.rangeAt(bp+string(from), clientv3.GetPrefixRangeEnd(bp), func(k string, v []byte) (bool, error) {
		return fn([]byte(k[len(bp):]), v)
	})
	return err
}

func (t *etcdRead) ScanPrefix(b Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	bp := t.e.bucketPrefix(b)
	_, err := t.rangeAt(bp+string(prefix), clientv3.GetPrefixRangeEnd(bp+string(prefix)), func(k string, v []byte) (bool, error) {
		return fn([]byte(k[len(bp):]), v)
	})
	return err
}

func (t *etcdRead) countAt(b Bucket) int {
	if t.err != nil {
		return 0
	}
	ctx, cancel := t.e.readCtx()
	defer cancel()
	var resp *clientv3.GetResponse
	err := t.e.read(ctx, func(ctx context.Context) (err error) {
		resp, err = t.e.cli.Get(ctx, t.e.bucketPrefix(b), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(t.at.etcd))
		return err
	})
	if err != nil {
		t.setErr(err)
		return 0
	}
	return int(resp.Count)
}

func (t *etcdRead) Count(b Bucket) int { return t.countAt(b) }

func (t *etcdRead) Revision() int64 { return t.at.ours }

func (e *etcdEngine) view(fn func(ReadTx) error) error {
	ctx, cancel := e.readCtx()
	at, err := e.current(ctx)
	cancel()
	if err != nil {
		return unavailable(err)
	}
	t := &etcdRead{e: e, at: at}
	ferr := fn(t)
	if t.err != nil {
		// fn saw a read fail (as a missing key): its own result means nothing.
		return unavailable(t.err)
	}
	return ferr
}

// etcdWrite is a buffered write of a transaction.
type etcdWrite struct {
	value []byte
	del   bool
}

type undo struct {
	key  string
	prev *etcdWrite // nil: the key had no buffered write
}

// etcdTx is a write transaction of a group: reads at the group's snapshot with the group's buffered writes
// over them. Each member's writes can be undone (a member that fails, or that would make the Txn too large).
type etcdTx struct {
	etcdRead
	rev    int64
	writes map[string]*etcdWrite
	log    []undo
}

func (t *etcdTx) Get(b Bucket, key []byte) []byte {
	k := t.e.key(b, key)
	if w, ok := t.writes[k]; ok {
		if w.del {
			return nil
		}
		return w.value
	}
	return t.getAt(k)
}

// scanOverlay merges the buffered writes in [start, end) into the snapshot's keys.
func (t *etcdTx) scanOverlay(bp, start, end string, fn func(k, v []byte) (bool, error)) error {
	var ov []string
	for k := range t.writes {
		if k >= start && k < end {
			ov = append(ov, k)
		}
	}
	sort.Strings(ov)
	i := 0
	emit := func(k string) (bool, error) {
		w := t.writes[k]
		if w.del {
			return true, nil
		}
		return fn([]byte(k[len(bp):]), w.value)
	}
	stopped, err := t.rangeAt(start, end, func(k string, v []byte) (bool, error) {
		for ; i < len(ov) && ov[i] < k; i++ {
			if more, err := emit(ov[i]); err != nil || !more {
				return false, err
			}
		}
		if i < len(ov) && ov[i] == k {
			i++
			return emit(k)
		}
		return fn([]byte(k[len(bp):]), v)
	})
	if stopped || err != nil {
		return err
	}
	for ; i < len(ov); i++ {
		if more, err := emit(ov[i]); err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *etcdTx) Scan(b Bucket, from []byte, fn func(k, v []byte) (bool, error)) error {
	bp := t.e.bucketPrefix(b)
	return t.scanOverlay(bp, bp+string(from), clientv3.GetPrefixRangeEnd(bp), fn)
}

func (t *etcdTx) ScanPrefix(b Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	bp := t.e.bucketPrefix(b)
	return t.scanOverlay(bp, bp+string(prefix), clientv3.GetPrefixRangeEnd(bp+string(prefix)), fn)
}

func (t *etcdTx) Count(b Bucket) int {
	n := t.countAt(b)
	bp := t.e.bucketPrefix(b)
	for k, w := range t.writes {
		if len(k) < len(bp) || k[:len(bp)] != bp {
			continue
		}
		existed := t.getAt(k) != nil
		switch {
		case w.del && existed:
			n--
		case !w.del && !existed:
			n++
		}
	}
	return n
}

func (t *etcdTx) Revision() int64 { return t.rev }

func (t *etcdTx) set(k string, w *etcdWrite) {
	t.log = append(t.log, undo{key: k, prev: t.writes[k]})
	t.writes[k] = w
}

func (t *etcdTx) Put(b Bucket, key, value []byte) error {
	t.set(t.e.key(b, key), &etcdWrite{value: bytes.Clone(value)})
	return nil
}

func (t *etcdTx) Delete(b Bucket, key []byte) error {
	t.set(t.e.key(b, key), &etcdWrite{del: true})
	return nil
}

func (t *etcdTx) NextRevision() int64 {
	t.rev++
	return t.rev
}

func (t *etcdTx) AppendChange(rev int64, value []byte) error {
	return t.Put(BucketChanges, u64(uint64(rev)), value)
}

type txMark struct {
	log int
	rev int64
}

func (t *etcdTx) mark() txMark { return txMark{log: len(t.log), rev: t.rev} }

// rollback undoes the writes made since m.
func (t *etcdTx) rollback(m txMark) {
	for i := len(t.log) - 1; i >= m.log; i-- {
		u := t.log[i]
		if u.prev == nil {
			delete(t.writes, u.key)
		} else {
			t.writes[u.key] = u.prev
		}
	}
	t.log = t.log[:m.log]
	t.rev = m.rev
}

// size is what the Txn of the buffered writes takes: operations (with the revision and commit keys) and
// about the bytes of the request.
func (t *etcdTx) size() (ops, reqBytes int) {
	ops = len(t.writes) + 2
	reqBytes = 256
	for k, w := range t.writes {
		reqBytes += len(k) + len(w.value) + 16
	}
	return ops, reqBytes
}

func (e *etcdEngine) fits(t *etcdTx) bool {
	ops, n := t.size()
	// The request's encoding adds a little to the bytes counted; keep a margin below the cluster's limit.
	return ops <= e.opt.MaxTxnOps && n <= e.opt.MaxRequestBytes-e.opt.MaxRequestBytes/16
}

// WriteLimit is what one Update may write on this backend, for a store that splits large work (an import)
// into several Updates: keys written (puts and deletes) and about the bytes of keys and values. 0 means no
// limit (bbolt); on etcd they follow EtcdOptions.MaxTxnOps and MaxRequestBytes.
func (b *Backend) WriteLimit() (keys, bytes int) {
	if b.etcd == nil {
		return 0, 0
	}
	return b.etcd.opt.MaxTxnOps - 2, b.etcd.opt.MaxRequestBytes - b.etcd.opt.MaxRequestBytes/16 - 256
}

// ItemsPerWrite is how many items one Update may write on this backend when each item writes at most keysPer
// keys (puts and deletes) of at most bytesPer bytes of keys and values, beside reserveKeys keys of the Update's
// own (an idempotency record, a counter): most on an engine without limits (bbolt), where most is the batch a
// store would choose anyway; on etcd as many as fit WriteLimit, and at least 1. A store that splits large work
// (an import) into several Updates sizes its batches with it, so the work goes through in batches instead of
// being refused as one write too large (ErrWriteTooLarge).
func (b *Backend) ItemsPerWrite(most, keysPer, bytesPer, reserveKeys int) int {
	keys, size := b.WriteLimit()
	if keys <= 0 {
		return max(1, most)
	}
	n := most
	if keysPer > 0 {
		n = min(n, (keys-reserveKeys)/keysPer)
	}
	if size > 0 && bytesPer > 0 {
		n = min(n, size/bytesPer)
	}
	return max(1, n)
}

// maxWriteOps is how many keys one Update may write on this backend (sweeps of compaction and expiry).
func (b *Backend) maxWriteOps() int {
	if b.etcd != nil {
		return max(1, min(compactBatch, b.etcd.opt.MaxTxnOps-8))
	}
	return compactBatch
}

type outcome int

const (
	committed outcome = iota + 1
	notCommitted
	unknown
)

// commit commits a group (package doc): in one or more Txns, each from a fresh snapshot, each member either
// committed once or answered with its own error, ErrWriteTooLarge, ErrUnavailable or ErrFailed.
func (e *etcdEngine) commit(b *Backend, batch []*writeReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
	}
	pending := live
	if err := b.Err(); err != nil {
		for _, r := range pending {
			r.err <- err
		}
		return
	}
	limit := len(pending) // members per Txn; halved when etcd refuses a Txn as too large
	lost := 0             // compares lost in a row
	for len(pending) > 0 {
		// A failover takes a moment: the snapshot read waits for it, up to a few request timeouts.
		ctx, cancel := e.readCtx()
		at, err := e.current(ctx)
		cancel()
		if err != nil {
			b.log.Warn("etcd snapshot read failed; the group is refused", zap.Int("writes", len(pending)), zap.Error(err))
			for _, r := range pending {
				r.err <- unavailable(err)
			}
			return
		}
		t := &etcdTx{etcdRead: etcdRead{e: e, at: at, seen: map[string][]byte{}}, rev: at.ours, writes: map[string]*etcdWrite{}}
		// members run in this Txn; rest wait for the next one. A member answered with its own error (or as too
		// large) is in neither: it is never run again.
		var members, rest []*writeReq
		for i, r := range pending {
			if len(members) >= limit {
				rest = pending[i:]
				break
			}
			m := t.mark()
			err := runMember(r.fn, t)
			if t.err != nil {
				// A read failed: the member's view was wrong, whatever it returned; it is answered below.
				rest = pending[i:]
				break
			}
			if err != nil {
				t.rollback(m)
				r.err <- err
				continue
			}
			if !e.fits(t) {
				n := len(t.log) - m.log
				_, size := t.size()
				t.rollback(m)
				if len(members) == 0 {
					r.err <- ErrWriteTooLarge.Withf("one write of %d keys or about %d bytes (limits per transaction: %d keys, %d bytes)",
						n, size, e.opt.MaxTxnOps-2, e.opt.MaxRequestBytes)
					continue
				}
				rest = pending[i:]
				break
			}
			members = append(members, r)
		}
		pending = append(members[:len(members):len(members)], rest...)
		if t.err != nil {
			if isCompacted(t.err) {
				continue // the snapshot was compacted away under it: read a new one
			}
			b.log.Warn("etcd read failed in a write; the group is refused", zap.Int("writes", len(pending)), zap.Error(t.err))
			for _, r := range pending {
				r.err <- unavailable(t.err)
			}
			return
		}
		if len(members) == 0 {
			continue
		}
		if len(t.writes) == 0 && t.rev == at.ours {
			// Nothing to write (a check that found nothing to do): the members' reads were linearizable at
			// the snapshot, which is their answer; a Txn would only wake every replica for nothing.
			for _, r := range members {
				r.err <- nil
			}
			pending, limit = rest, max(1, len(rest))
			continue
		}
		res, rerr := e.commitTxn(b, t)
		switch res {
		case committed:
			b.advance(t.rev)
			for _, r := range members {
				r.err <- nil
			}
			pending, lost, limit = rest, 0, max(1, len(rest))
		case notCommitted:
			if rerr != nil && (errors.Is(rerr, rpctypes.ErrTooManyOps) || errors.Is(rerr, rpctypes.ErrRequestTooLarge)) {
				if len(members) == 1 {
					members[0].err <- ErrWriteTooLarge.Withf("etcd refused the write: %v", rerr)
					pending = rest
				} else {
					limit = max(1, len(members)/2)
				}
				continue
			}
			// Another replica committed since the snapshot: run the group again on the new state.
			lost++
			if lost > 3 {
				time.Sleep(time.Duration(min(lost, 20)) * time.Millisecond)
			}
		default:
			failure := b.fail(rerr)
			b.log.Error("etcd commit outcome unknown; refusing writes until the service restarts",
				zap.Int("writes", len(pending)), zap.Error(rerr))
			for _, r := range pending {
				r.err <- failure
			}
			return
		}
	}
}

func isCompacted(err error) bool { return errors.Is(err, rpctypes.ErrCompacted) }

// commitTxn sends the group's Txn and learns its outcome (package doc). The error says why an outcome is not
// committed (etcd's refusal) or unknown.
func (e *etcdEngine) commitTxn(b *Backend, t *etcdTx) (outcome, error) {
	nonce := make([]byte, nonceLen, nonceLen+8)
	_, _ = rand.Read(nonce)
	ops := make([]clientv3.Op, 0, len(t.writes)+2)
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == e.kRevision {
			continue // written below, from the counter
		}
		if w := t.writes[k]; w.del {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, string(w.value)))
		}
	}
	if t.rev != t.at.ours || t.writes[e.kRevision] != nil {
		ops = append(ops, clientv3.OpPut(e.kRevision, string(u64(uint64(t.rev)))))
	}
	ops = append(ops, clientv3.OpPut(e.kCommit, string(append(nonce, u64(uint64(t.rev))...))))
	var err error
	if injected.Load() > 0 {
		err = takeFault(b.absPath, FaultBeforeCommit)
	}
	if err == nil {
		ctx, cancel := e.rctx()
		var resp *clientv3.TxnResponse
		resp, err = e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(e.kCommit), "=", t.at.commitMod)).Then(ops...).Commit()
		cancel()
		if err == nil && injected.Load() > 0 {
			err = takeFault(b.absPath, FaultAfterCommit)
		}
		if err == nil {
			if resp.Succeeded {
				return committed, nil
			}
			return notCommitted, nil
		}
		if errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrRequestTooLarge) {
			return notCommitted, err // refused before anything was proposed
		}
	}
	b.log.Warn("etcd commit reply lost; learning its outcome", zap.Error(err))
	res, rerr := e.resolve(t.at.commitMod, t.at.ours, nonce)
	if res == unknown {
		if rerr == nil {
			rerr = errors.New("no answer")
		}
		return unknown, fmt.Errorf("commit outcome unknown after %v: %w (last: %w)", e.opt.ResolveTimeout, err, rerr)
	}
	return res, nil
}

// resolve learns whether the Txn that compared the commit key's ModRevision with mod and wrote nonce
// committed. The first write of the commit key after mod names the Txn that won; if there is none yet, a
// fence (the same compare, rewriting only the commit key) makes sure the lost Txn can never apply.
func (e *etcdEngine) resolve(mod, ours int64, nonce []byte) (outcome, error) {
	deadline := time.Now().Add(e.opt.ResolveTimeout)
	var last error
	for wait := 10 * time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, time.Second) {
		res, err := e.resolveOnce(mod, ours, nonce)
		if err == nil && res != unknown {
			return res, nil
		}
		if err != nil {
			last = err
		}
		time.Sleep(wait)
	}
	return unknown, last
}

func (e *etcdEngine) resolveOnce(mod, ours int64, nonce []byte) (outcome, error) {
	ctx, cancel := e.rctx()
	defer cancel()
	resp, err := e.cli.Get(ctx, e.kCommit)
	if err != nil {
		return unknown, err
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].ModRevision == mod {
		fence := make([]byte, nonceLen, nonceLen+8)
		_, _ = rand.Read(fence)
		f, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(e.kCommit), "=", mod)).
			Then(clientv3.OpPut(e.kCommit, string(append(fence, u64(uint64(ours))...)))).Commit()
		if err != nil {
			return unknown, err
		}
		if f.Succeeded {
			return notCommitted, nil
		}
		// Something committed meanwhile (perhaps the lost Txn itself): look again.
		return unknown, nil
	}
	wch := e.cli.Watch(ctx, e.kCommit, clientv3.WithRev(mod+1))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return unknown, err
		}
		for _, ev := range wr.Events {
			if ev.Type != mvccpb.PUT {
				continue
			}
			if bytes.HasPrefix(ev.Kv.Value, nonce) {
				return committed, nil
			}
			return notCommitted, nil
		}
	}
	return unknown, ctx.Err()
}

// watchLoop follows the commit key from rev: each commit (of any replica) advances Revision and wakes
// Changed. After an error or a compaction of the history it reads the current revision and watches on from there.
func (e *etcdEngine) watchLoop(ctx context.Context, b *Backend, rev int64) {
	defer close(e.watchDone)
	for ctx.Err() == nil {
		wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.kCommit, clientv3.WithRev(rev))
		for wr := range wch {
			if wr.Err() != nil || wr.Canceled {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.PUT && len(ev.Kv.Value) == nonceLen+8 {
					b.advance(int64(binary.BigEndian.Uint64(ev.Kv.Value[nonceLen:])))
				}
				rev = ev.Kv.ModRevision + 1
			}
		}
		if ctx.Err() != nil {
			return
		}
		// Re-sync: whatever was missed is in the current revision.
		rctx, cancel := e.rctx()
		at, err := e.current(rctx)
		cancel()
		if err != nil {
			b.log.Warn("etcd watch lost; retrying", zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		b.advance(at.ours)
		b.wake() // a spurious wake-up is harmless; a missed one is not
		rev = at.etcd + 1
	}
}

func (e *etcdEngine) pending(ctx context.Context) (bool, error) {
	resp, err := e.cli.Get(ctx, e.kPending, clientv3.WithCountOnly())
	if err != nil {
		return false, err
	}
	return resp.Count > 0, nil
}
