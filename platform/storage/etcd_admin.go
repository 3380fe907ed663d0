package storage

// Backup, copy into etcd, compaction, maintenance and statistics of the etcd engine (package doc).

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// snapshot writes every bucket key of the prefix, read at one etcd revision, into a bbolt file in the scratch
// directory, then streams that file: a backup of either engine is a bbolt data file.
func (e *etcdEngine) snapshot(b *Backend, begin func(size, revision int64) io.Writer) (int64, error) {
	f, err := os.CreateTemp(e.opt.ScratchDir, "cus-etcd-backup-*.db")
	if err != nil {
		return 0, fmt.Errorf("backup scratch file: %w", err)
	}
	tmp := f.Name()
	_ = f.Close()
	defer os.Remove(tmp)
	ctx, cancel := e.rctx()
	at, err := e.current(ctx)
	cancel()
	if err != nil {
		return 0, unavailable(err)
	}
	if err := e.writeBolt(tmp, at, b.buckets); err != nil {
		return 0, err
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return 0, err
	}
	in, err := os.Open(tmp)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	return io.Copy(begin(fi.Size(), at.ours), in)
}

// writeBolt copies the prefix at snapshot at into a new bbolt file at path, in transactions of about 1 MiB.
func (e *etcdEngine) writeBolt(path string, at point, buckets []Bucket) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: pageSize, NoSync: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Update(func(btx *bolt.Tx) error {
		for _, name := range append([]Bucket{BucketMeta, BucketChanges, BucketRequests, BucketCheckpoints}, buckets...) {
			if _, err := btx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	btx, err := db.Begin(true)
	if err != nil {
		return err
	}
	defer func() { _ = btx.Rollback() }()
	size := 0
	r := &etcdRead{e: e, at: at}
	// Bucket keys only: the engine's own keys (prefix + 0x00) sort before every bucket name.
	_, err = r.rangeAt(e.prefix+"\x01", clientv3.GetPrefixRangeEnd(e.prefix), func(k string, v []byte) (bool, error) {
		bucket, key, ok := e.splitKey([]byte(k))
		if !ok {
			return true, nil
		}
		if size > 1<<20 {
			if err := btx.Commit(); err != nil {
				return false, err
			}
			if btx, err = db.Begin(true); err != nil {
				return false, err
			}
			size = 0
		}
		bk, err := btx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return false, err
		}
		bk.FillPercent = fillPercent(bucket)
		size += len(k) + len(v)
		return true, bk.Put(key, v)
	})
	if err != nil {
		if r.err != nil {
			return unavailable(err)
		}
		return err
	}
	if err := btx.Commit(); err != nil {
		return err
	}
	return db.Sync()
}

// MigrateToEtcd copies the data file src (a service's file, stopped, or a backup of either engine) into the
// empty etcd prefix opts.Engine.Etcd.Prefix, keeping its revisions, change log and feed id: the core of moving
// a gmina's data from bbolt to etcd. src is verified first (VerifyBackup). It refuses a prefix that holds
// anything, and writes in Txns within etcd's limits with the _meta bucket and the commit key last, so a
// replica opening the prefix before the copy is whole is refused (Open) and a copy cut short is never served.
// The journals named in opts.Journals that src has beside it (JournalFile(src, name), as a bbolt store keeps
// them) are copied into the etcd journals first, each record once however often the copy is run (they are
// outside the prefix: a backup does not carry them, so put the journal file of the data directory beside a
// backup copied from elsewhere under the backup's name). It returns the number of keys copied, journals not
// counted (they are logged).
func MigrateToEtcd(ctx context.Context, src string, opts Options) (int, error) {
	return copyToEtcd(ctx, src, opts, false)
}

// RestoreToEtcd is MigrateToEtcd giving the copy a new feed id, as Restore does on bbolt: every consumer of
// the replaced history resyncs.
func RestoreToEtcd(ctx context.Context, src string, opts Options) (int, error) {
	return copyToEtcd(ctx, src, opts, true)
}

func copyToEtcd(ctx context.Context, src string, opts Options, newFeedID bool) (int, error) {
	eo := opts.Engine.Etcd.withDefaults()
	if err := eo.validate(); err != nil {
		return 0, err
	}
	timeout := opts.OpenTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	if err := VerifyBackup(src, timeout); err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return 0, fmt.Errorf("data file %s is locked by a running service: stop it first, or copy from a backup", src)
		}
		return 0, err
	}
	cli := eo.Client
	if cli == nil {
		if opts.Logger == nil {
			opts.Logger = zap.NewNop()
		}
		c, err := dialEtcd(eo, opts.Logger)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		cli = c
	}
	e := &etcdEngine{cli: cli, prefix: eo.Prefix, opt: eo, kCommit: eo.Prefix + etcdCommitKey}
	resp, err := cli.Get(ctx, eo.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcd prefix %s: %w", eo.Prefix, err)
	}
	if resp.Count > 0 {
		return 0, fmt.Errorf("etcd prefix %s holds %d keys: a copy goes only into an empty prefix (nothing was copied)", eo.Prefix, resp.Count)
	}
	// The journals first (outside the prefix, so a copy cut short and run again finds the prefix empty and
	// adds no record twice): the file of each beside src, as a bbolt store keeps it.
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	for _, name := range opts.Journals {
		if _, err := e.importJournalFile(ctx, log, name, JournalFile(src, name), false); err != nil {
			return 0, fmt.Errorf("copy the journal beside %s (nothing of the data was copied): %w", src, err)
		}
	}
	db, err := bolt.Open(src, 0o400, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", src, err)
	}
	defer db.Close()
	var ops []clientv3.Op
	size, copied, first := 0, 0, true
	flush := func(last bool) error {
		if len(ops) == 0 && !last {
			return nil
		}
		// Nobody may have opened the prefix meanwhile; the first Txn also finds it still empty.
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(e.kCommit), "=", 0)}
		if first {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(eo.Prefix), "=", 0).WithPrefix())
		}
		tr, err := cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("copy into etcd prefix %s (after %d keys; empty the prefix and copy again): %w", eo.Prefix, copied, err)
		}
		if !tr.Succeeded {
			return fmt.Errorf("etcd prefix %s was written by someone else during the copy (after %d keys); empty it and copy again", eo.Prefix, copied)
		}
		copied += len(ops)
		ops, size, first = ops[:0], 0, false
		return nil
	}
	var metaOps []clientv3.Op
	var rev int64
	err = db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				if v == nil {
					return fmt.Errorf("bucket %q holds a nested bucket, which the backend never writes", name)
				}
				if Bucket(name) == BucketMeta {
					switch {
					case string(k) == string(keyFeedID) && newFeedID:
						v = []byte(uuid.NewString())
					case string(k) == string(keyRevision) && len(v) == 8:
						rev = int64(binary.BigEndian.Uint64(v))
					}
					metaOps = append(metaOps, clientv3.OpPut(e.key(Bucket(name), k), string(v)))
					return nil
				}
				n := len(k) + len(v) + len(eo.Prefix) + len(name) + 16
				if len(ops)+2 > eo.MaxTxnOps || size+n > eo.MaxRequestBytes/2 {
					if err := flush(false); err != nil {
						return err
					}
				}
				ops = append(ops, clientv3.OpPut(e.key(Bucket(name), k), string(v)))
				size += n
				return nil
			})
		})
	})
	if err != nil {
		return copied, err
	}
	if err := flush(false); err != nil {
		return copied, err
	}
	nonce := make([]byte, nonceLen, nonceLen+8)
	_, _ = rand.Read(nonce)
	ops = append(metaOps, clientv3.OpPut(e.kCommit, string(append(nonce, u64(uint64(rev))...))))
	if err := flush(true); err != nil {
		return copied, err
	}
	return copied - 1, nil
}

// compact is Compact on etcd: the history up to now is compacted (physically) and every member
// defragmented, so erased data is gone from etcd's files; a journaled compaction is then done.
func (e *etcdEngine) compact(b *Backend) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*e.opt.RequestTimeout)
	defer cancel()
	at, err := e.current(ctx)
	if err != nil {
		return 0, unavailable(err)
	}
	if _, err := e.cli.Compact(ctx, at.etcd, clientv3.WithCompactPhysical()); err != nil && !isCompacted(err) {
		return 0, fmt.Errorf("etcd compaction to %d: %w", at.etcd, err)
	}
	var size int64
	for _, ep := range e.cli.Endpoints() {
		if _, err := e.cli.Defragment(ctx, ep); err != nil {
			return 0, fmt.Errorf("etcd defragmentation of %s: %w", ep, err)
		}
		if st, err := e.cli.Status(ctx, ep); err == nil {
			size = max(size, st.DbSize)
		}
	}
	if _, err := e.cli.Delete(ctx, e.kPending); err != nil {
		return 0, unavailable(err)
	}
	b.wake()
	b.log.Info("etcd history compacted and defragmented", zap.Int64("etcd_revision", at.etcd), zap.Int64("db_bytes", size))
	return size, nil
}

func (e *etcdEngine) requireCompaction() error {
	ctx, cancel := e.rctx()
	defer cancel()
	if _, err := e.cli.Put(ctx, e.kPending, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("journal the compaction: %w", unavailable(err))
	}
	return nil
}

// maintain is the etcd part of a maintenance run: history compaction to the revision seen HistoryRetention
// ago, and a defragmentation of members less than half in use, at most every DefragInterval.
func (e *etcdEngine) maintain(ctx context.Context, b *Backend, now time.Time) {
	e.maint.Lock()
	defer e.maint.Unlock()
	rctx, cancel := context.WithTimeout(ctx, e.opt.RequestTimeout)
	at, err := e.current(rctx)
	cancel()
	if err != nil {
		b.log.Warn("etcd maintenance: no revision", zap.Error(err))
		return
	}
	e.maint.seen = append(e.maint.seen, revAt{at: now, rev: at.etcd})
	cut := now.Add(-e.opt.HistoryRetention)
	var target int64
	i := 0
	for ; i < len(e.maint.seen) && !e.maint.seen[i].at.After(cut); i++ {
		target = e.maint.seen[i].rev
	}
	if i > 1 {
		e.maint.seen = append(e.maint.seen[:0], e.maint.seen[i-1:]...)
	}
	if target > 0 {
		cctx, cancel := context.WithTimeout(ctx, e.opt.RequestTimeout)
		_, err := e.cli.Compact(cctx, target)
		cancel()
		if err != nil && !isCompacted(err) {
			b.log.Warn("etcd history compaction failed", zap.Int64("etcd_revision", target), zap.Error(err))
		}
	}
	if e.opt.DefragInterval < 0 || now.Sub(e.maint.lastDefrag) < e.opt.DefragInterval {
		return
	}
	e.maint.lastDefrag = now
	for _, ep := range e.cli.Endpoints() {
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		st, err := e.cli.Status(dctx, ep)
		if err == nil && st.DbSizeInUse < st.DbSize/2 {
			_, err = e.cli.Defragment(dctx, ep)
			if err == nil {
				b.log.Info("etcd member defragmented", zap.String("endpoint", ep), zap.Int64("db_bytes_before", st.DbSize), zap.Int64("in_use", st.DbSizeInUse))
			}
		}
		cancel()
		if err != nil {
			b.log.Warn("etcd defragmentation failed", zap.String("endpoint", ep), zap.Error(err))
		}
	}
}

// stats counts the keys of each bucket at one revision (etcd keeps no per-bucket page accounting).
func (e *etcdEngine) stats(b *Backend) map[Bucket]BucketStat {
	out := map[Bucket]BucketStat{}
	_ = e.view(func(tx ReadTx) error {
		for _, name := range append([]Bucket{BucketMeta, BucketChanges, BucketRequests, BucketCheckpoints}, b.buckets...) {
			out[name] = BucketStat{Keys: tx.Count(name)}
		}
		return nil
	})
	return out
}
