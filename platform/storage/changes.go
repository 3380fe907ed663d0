package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
)

// Change-log compaction. The change log would otherwise keep every change forever; the maintenance worker
// (RunMaintenance) deletes changes older than a retention window and raises a compaction point kept in
// _meta. A consumer whose cursor is below the compaction point can no longer be told what it missed (deletes
// among it), so its read is refused with ErrCompacted and it resyncs from a full listing.
//
// "Older than the window" is a time, revisions are counters: the worker records (time, revision) checkpoints
// in BucketCheckpoints once per run (one a minute by default), and the window maps to the revision of the newest
// checkpoint at or before now-window.
//
// A store may declare its log key-compacted (SetChangeKeeper): it removes an entry itself when a newer change
// of the same resource supersedes it, and compaction keeps entries the keeper says are still the newest of a
// live resource. Reading such a log from revision 0 is then a full listing, so after 0 is always served.

// BucketCheckpoints maps a checkpoint's time (8-byte big-endian unix seconds) to the revision then.
const BucketCheckpoints Bucket = "_checkpoints"

var (
	keyCompacted = []byte("compacted_revision")
	// keySwept: the changes at or below it are deleted (all but the kept ones). It trails keyCompacted while a
	// compaction runs, so one cut short (crash, shutdown) is finished by the next, and a compaction scans only
	// the changes above the previous one: a kept entry that a later write supersedes is deleted by that write.
	keySwept = []byte("compacted_swept")
)

// ErrCompacted refuses a change-feed read whose cursor is below the compaction point. Match it with
// errors.Is; the returned copy carries the compaction point in ErrorInfo metadata ("compacted_revision").
var ErrCompacted = apierr.New(apierr.KindOutOfRange, "CHANGES_COMPACTED",
	"the changes after this revision were compacted away; resync from a full listing, then follow the feed from the revision of that listing")

// compactBatch bounds the deletes of one transaction, so compaction never holds one giant write.
const compactBatch = 1000

// gcState is the backend's part of change-log compaction and request expiry.
type gcState struct {
	// keep says whether a change at or below the compaction point stays (key-compacted logs); nil: none stays.
	keep atomic.Pointer[func(tx ReadTx, rev int64, value []byte) bool]
	// sideLogs are compacted with the change log (DeclareSideLog).
	sideLogs atomic.Pointer[[]sideLog]
}

// sideLog is a revision-keyed log a store keeps beside the change log (DeclareSideLog).
type sideLog struct {
	bucket Bucket
	dead   func(tx ReadTx, rev int64, value []byte) bool
}

// DeclareSideLog declares bucket a log kept beside the change log, keyed by revision (RevisionKey) and
// key-compacted by its store (one entry per live resource, plus the tombstones of deletes): the catalogue's log
// of the entries federated from its peers, which are not changes of its own feed. Each compaction of the change
// log then also deletes the entries of bucket at or below the compaction point that dead reports (its
// tombstones), and ViewSideLog refuses a read from below that point as ViewChanges does, so the log stays
// bounded by the live data and a reader that might have missed a delete is told to resync. Call it before
// serving.
func (b *Backend) DeclareSideLog(bucket Bucket, dead func(tx ReadTx, rev int64, value []byte) bool) {
	var logs []sideLog
	if p := b.gc.sideLogs.Load(); p != nil {
		logs = append(logs, *p...)
	}
	logs = append(logs, sideLog{bucket: bucket, dead: dead})
	b.gc.sideLogs.Store(&logs)
}

func (b *Backend) sideLogList() []sideLog {
	if p := b.gc.sideLogs.Load(); p != nil {
		return *p
	}
	return nil
}

// sideSweptKey is where the meta bucket records how far a side log was swept (as keySwept for the changes).
func sideSweptKey(bucket Bucket) []byte { return []byte("compacted_swept/" + string(bucket)) }

// ViewSideLog calls fn for each entry of a side log (DeclareSideLog) above after, in order and in one
// snapshot, until fn returns false. Like ViewChanges it returns ErrCompacted when after is above 0 and below
// the compaction point: tombstones there may be gone. From 0 it is a full listing of the live entries.
func (b *Backend) ViewSideLog(bucket Bucket, after int64, fn func(tx ReadTx, rev int64, value []byte) (bool, error)) error {
	return b.View(func(tx ReadTx) error {
		if point := compactedOf(tx); after < point && after != 0 {
			return ErrCompacted.With("compacted_revision", strconv.FormatInt(point, 10))
		}
		return tx.Scan(bucket, u64(uint64(after+1)), func(k, v []byte) (bool, error) {
			if len(k) != 8 {
				return false, fmt.Errorf("%s: malformed revision key %x", bucket, k)
			}
			return fn(tx, int64(binary.BigEndian.Uint64(k)), v)
		})
	})
}

// clock is the time source of checkpoints and request records; tests replace it.
var clock = time.Now

// SetChangeKeeper declares the change log key-compacted: keep reports whether an entry must survive
// compaction (it is the newest change of a resource that still exists). Call it before serving.
func (b *Backend) SetChangeKeeper(keep func(tx ReadTx, rev int64, value []byte) bool) {
	b.gc.keep.Store(&keep)
}

func (b *Backend) keeper() func(ReadTx, int64, []byte) bool {
	if p := b.gc.keep.Load(); p != nil {
		return *p
	}
	return nil
}

// CompactedRevision is the compaction point: changes at or below it may be gone.
func (b *Backend) CompactedRevision() int64 {
	var rev int64
	_ = b.View(func(tx ReadTx) error {
		rev = compactedOf(tx)
		return nil
	})
	return rev
}

func compactedOf(tx ReadTx) int64 {
	if v := tx.Get(BucketMeta, keyCompacted); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// ViewChanges calls fn for each change above after, in order and in one snapshot, until fn returns false. It
// returns ErrCompacted (with the compaction point) when after is below the compaction point, unless the log is
// key-compacted and after is 0 (a full listing).
func (b *Backend) ViewChanges(after int64, fn func(tx ReadTx, rev int64, value []byte) (bool, error)) error {
	keyed := b.keeper() != nil
	return b.View(func(tx ReadTx) error {
		if point := compactedOf(tx); after < point && (after != 0 || !keyed) {
			return ErrCompacted.With("compacted_revision", strconv.FormatInt(point, 10))
		}
		return tx.Scan(BucketChanges, u64(uint64(after+1)), func(k, v []byte) (bool, error) {
			return fn(tx, int64(binary.BigEndian.Uint64(k)), v)
		})
	})
}

// CompactChanges raises the compaction point to upTo (never above the current revision, never down) and
// deletes the changes at or below it, except those a key-compacted log keeps, and the dead entries of the side
// logs at or below it (DeclareSideLog), in transactions of at most compactBatch deletes. It returns how many
// entries it deleted.
func (b *Backend) CompactChanges(ctx context.Context, upTo int64) (int, error) {
	upTo = min(upTo, b.Revision())
	if upTo <= 0 {
		return 0, nil
	}
	logs := b.sideLogList()
	swept := func(tx ReadTx, key []byte) int64 {
		if v := tx.Get(BucketMeta, key); len(v) == 8 {
			return int64(binary.BigEndian.Uint64(v)) + 1
		}
		return 0
	}
	var from int64
	sideFrom := make([]int64, len(logs))
	if err := b.Update(ctx, func(tx Tx) error {
		from = swept(tx, keySwept)
		for i, l := range logs {
			sideFrom[i] = swept(tx, sideSweptKey(l.bucket))
		}
		if point := compactedOf(tx); upTo <= point {
			upTo = point // finish a compaction cut short, if any
			return nil
		}
		return tx.Put(BucketMeta, keyCompacted, u64(uint64(upTo)))
	}); err != nil {
		return 0, err
	}
	deleted := 0
	if from <= upTo {
		keep := b.keeper()
		// An entry found deletable stays deletable (it is superseded or older than the point).
		n, err := b.sweep(ctx, BucketChanges, u64(uint64(from)), u64(uint64(upTo)), func(tx ReadTx, k, v []byte) bool {
			return keep == nil || !keep(tx, int64(binary.BigEndian.Uint64(k)), v)
		})
		deleted += n
		if err != nil {
			return deleted, err
		}
		if err := b.Update(ctx, func(tx Tx) error { return tx.Put(BucketMeta, keySwept, u64(uint64(upTo))) }); err != nil {
			return deleted, err
		}
	}
	for i, l := range logs {
		if sideFrom[i] > upTo {
			continue
		}
		n, err := b.sweep(ctx, l.bucket, u64(uint64(sideFrom[i])), u64(uint64(upTo)), func(tx ReadTx, k, v []byte) bool {
			return len(k) == 8 && l.dead(tx, int64(binary.BigEndian.Uint64(k)), v)
		})
		deleted += n
		if err != nil {
			return deleted, err
		}
		if err := b.Update(ctx, func(tx Tx) error { return tx.Put(BucketMeta, sideSweptKey(l.bucket), u64(uint64(upTo))) }); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// sweep deletes the keys of bucket from `from` on (up to `last` when given) that dead says are dead: it reads
// at most compactBatch of them at a time and deletes each batch in a write of its own, asking dead again inside
// it, so a key written anew meanwhile stays. It returns how many keys it deleted.
func (b *Backend) sweep(ctx context.Context, bucket Bucket, from, last []byte, dead func(tx ReadTx, k, v []byte) bool) (int, error) {
	deleted := 0
	for {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		var keys [][]byte
		done := true
		err := b.View(func(tx ReadTx) error {
			return tx.Scan(bucket, from, func(k, v []byte) (bool, error) {
				if last != nil && bytes.Compare(k, last) > 0 {
					return false, nil
				}
				from = append(append(from[:0:0], k...), 0) // the next key after k
				if dead(tx, k, v) {
					keys = append(keys, append([]byte(nil), k...))
				}
				if len(keys) >= b.maxWriteOps() {
					done = false
					return false, nil
				}
				return true, nil
			})
		})
		if err != nil {
			return deleted, err
		}
		if len(keys) > 0 {
			n := 0
			if err := b.Update(ctx, func(tx Tx) error {
				n = 0
				for _, k := range keys {
					if v := tx.Get(bucket, k); v == nil || !dead(tx, k, v) {
						continue
					}
					if err := tx.Delete(bucket, k); err != nil {
						return err
					}
					n++
				}
				return nil
			}); err != nil {
				return deleted, err
			}
			deleted += n
		}
		if done {
			return deleted, nil
		}
	}
}

// Checkpoint records the current revision at time now, for RevisionBefore.
func (b *Backend) Checkpoint(ctx context.Context, now time.Time) error {
	rev := b.Revision()
	return b.Update(ctx, func(tx Tx) error {
		return tx.Put(BucketCheckpoints, u64(uint64(now.Unix())), u64(uint64(rev)))
	})
}

// RevisionBefore maps a time to the newest revision known to be committed at or before it (by the newest
// checkpoint at or before t), or 0 when no checkpoint is that old.
func (b *Backend) RevisionBefore(t time.Time) int64 {
	var rev int64
	cut := u64(uint64(t.Unix()))
	_ = b.View(func(tx ReadTx) error {
		return tx.Scan(BucketCheckpoints, nil, func(k, v []byte) (bool, error) {
			if string(k) > string(cut) {
				return false, nil
			}
			rev = int64(binary.BigEndian.Uint64(v))
			return true, nil
		})
	})
	return rev
}

// pruneCheckpoints drops checkpoints older than t except the newest of them (still needed to map t).
func (b *Backend) pruneCheckpoints(ctx context.Context, t time.Time) error {
	cut := u64(uint64(t.Unix()))
	var old [][]byte
	_ = b.View(func(tx ReadTx) error {
		return tx.Scan(BucketCheckpoints, nil, func(k, _ []byte) (bool, error) {
			if string(k) > string(cut) || len(old) > b.maxWriteOps() {
				return false, nil
			}
			old = append(old, append([]byte(nil), k...))
			return true, nil
		})
	})
	if len(old) <= 1 {
		return nil
	}
	old = old[:len(old)-1]
	return b.Update(ctx, func(tx Tx) error {
		for _, k := range old {
			if err := tx.Delete(BucketCheckpoints, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Maintenance configures RunMaintenance.
type Maintenance struct {
	// ChangeRetention: changes older than this are compacted away (0 keeps every change).
	ChangeRetention time.Duration
	// RequestTTL: idempotency records older than this are ignored and deleted (0 keeps them).
	RequestTTL time.Duration
	// Interval between runs (and between checkpoints). Default 1 minute.
	Interval time.Duration
}

// RunMaintenance records checkpoints, compacts the change log and expires idempotency records every interval
// until ctx ends. Run it under the server's errgroup and let it return before the backend closes.
func (b *Backend) RunMaintenance(ctx context.Context, m Maintenance) error {
	if m.Interval <= 0 {
		m.Interval = time.Minute
	}
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		b.Maintain(ctx, m)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Maintain is one run of the worker (for a store that drives its own loop). Failures are logged and retried at the next run: a compaction that did
// not happen loses nothing.
func (b *Backend) Maintain(ctx context.Context, m Maintenance) {
	if b.closed.Load() || ctx.Err() != nil {
		return
	}
	now := clock()
	if err := b.SetRequestTTL(ctx, m.RequestTTL); err != nil {
		b.log.Warn("recording the request-id TTL failed", zap.Error(err))
		return
	}
	if err := b.Checkpoint(ctx, now); err != nil {
		b.log.Warn("change-log checkpoint failed", zap.Error(err))
		return
	}
	if m.ChangeRetention > 0 {
		cut := now.Add(-m.ChangeRetention)
		if rev := b.RevisionBefore(cut); rev > 0 {
			n, err := b.CompactChanges(ctx, rev)
			if err != nil {
				b.log.Warn("change-log compaction failed", zap.Int64("up_to", rev), zap.Error(err))
			} else if n > 0 {
				b.log.Info("change log compacted", zap.Int64("up_to", rev), zap.Int("deleted", n))
			}
		}
		if err := b.pruneCheckpoints(ctx, cut); err != nil {
			b.log.Warn("checkpoint pruning failed", zap.Error(err))
		}
	} else if err := b.pruneCheckpoints(ctx, now.Add(-time.Hour)); err != nil {
		b.log.Warn("checkpoint pruning failed", zap.Error(err))
	}
	if m.RequestTTL > 0 {
		n, err := b.ExpireRequests(ctx, now.Add(-m.RequestTTL))
		if err != nil {
			b.log.Warn("request-id expiry failed", zap.Error(err))
		} else if n > 0 {
			b.log.Info("request ids expired", zap.Int("deleted", n))
		}
	}
	if b.etcd != nil {
		b.etcd.maintain(ctx, b, now)
	}
}

// Page layout (docs/decisions.md, "Data that stops growing"). bbolt splits a page when it passes FillPercent of
// the page size, 0.5 by default: right for random keys, but keys that only grow (revisions, UUIDv7 ids) are
// appended at the end, so every page is left half empty and a bucket takes twice its data. Such buckets are
// declared sequential and filled to 95%. With 4 KiB pages and records of about 1.3 KB only two fit a page
// whatever the fill, so new files get 16 KiB pages (existing files keep theirs; bbolt fixes it at creation).
const pageSize = 16 << 10

const sequentialFill = 0.95

// sequential holds the buckets declared with DeclareSequential, by name, for the process.
var sequential sync.Map

func init() {
	DeclareSequential(BucketChanges, BucketCheckpoints)
}

// DeclareSequential marks buckets whose new keys sort after the existing ones (revisions, UUIDv7 ids), so their
// pages are filled instead of split half empty. Bucket names are the schema of a service; call it from its
// store package before Open.
func DeclareSequential(buckets ...Bucket) {
	for _, b := range buckets {
		sequential.Store(b, true)
	}
}

func fillPercent(b Bucket) float64 {
	if _, ok := sequential.Load(b); ok {
		return sequentialFill
	}
	return bolt.DefaultFillPercent
}

// allocSize is how far past its data bbolt grows the file (its default, 16 MiB, is a hole of up to 16 MiB at the
// end of every file; small steps cost one ftruncate per MiB of growth).
const allocSize = 1 << 20
