package storage

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by OpenReadOnly when another process holds the data file open for writing.
var ErrLocked = errors.New("storage: the data file is locked by another process")

// ReadOnly is a data file opened only to be read: a backup, or a service's file before it starts (to check its
// keys). Nothing is created, migrated or written, and no commit loop runs.
type ReadOnly struct {
	db *bolt.DB
}

// OpenReadOnly opens the data file at path read-only, waiting at most timeout for a writer's lock (then
// ErrLocked).
func OpenReadOnly(path string, timeout time.Duration) (*ReadOnly, error) {
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, err
	}
	return &ReadOnly{db: db}, nil
}

// View runs fn on a consistent snapshot of the file. A bucket the file does not have reads as empty (the file
// may have been written by an older version).
func (r *ReadOnly) View(fn func(ReadTx) error) error {
	return r.db.View(func(btx *bolt.Tx) error {
		var rev int64
		if btx.Bucket([]byte(BucketMeta)) != nil {
			rev = revisionOf(btx)
		}
		return fn(readOnlyTx{txn: &txn{btx: btx, rev: rev}})
	})
}

// Close closes the file.
func (r *ReadOnly) Close() error { return r.db.Close() }

// readOnlyTx is a ReadTx over a file that may lack some buckets.
type readOnlyTx struct{ *txn }

func (t readOnlyTx) has(b Bucket) bool { return t.btx.Bucket([]byte(b)) != nil }

func (t readOnlyTx) Get(b Bucket, key []byte) []byte {
	if !t.has(b) {
		return nil
	}
	return t.txn.Get(b, key)
}

func (t readOnlyTx) Scan(b Bucket, from []byte, fn func(k, v []byte) (bool, error)) error {
	if !t.has(b) {
		return nil
	}
	return t.txn.Scan(b, from, fn)
}

func (t readOnlyTx) ScanPrefix(b Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	if !t.has(b) {
		return nil
	}
	return t.txn.ScanPrefix(b, prefix, fn)
}

func (t readOnlyTx) Count(b Bucket) int {
	if !t.has(b) {
		return 0
	}
	return t.txn.Count(b)
}
