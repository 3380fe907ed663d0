package storage

import (
	"context"
	"encoding/binary"
	"time"
)

// Idempotency records (BucketRequests) in one format for every service: 8-byte big-endian unix nanoseconds of
// the first request, the 32-byte hash of that request, then what it produced (service-defined). A record older
// than the request TTL is ignored by LookupRequest (the id counts as new) and deleted by ExpireRequests, so the
// bucket holds about one window of requests instead of every request ever made.

const (
	requestTimeLen = 8
	requestHashLen = 32
)

var keyRequestTTL = []byte("request_ttl")

// SetRequestTTL records in the data file the window after which idempotency records are ignored (0: never), so
// LookupRequest, which sees only a transaction, applies it. RunMaintenance sets it at each run.
func (b *Backend) SetRequestTTL(ctx context.Context, ttl time.Duration) error {
	var cur []byte
	_ = b.View(func(tx ReadTx) error { cur = append(cur, tx.Get(BucketMeta, keyRequestTTL)...); return nil })
	if string(cur) == string(u64(uint64(ttl))) {
		return nil
	}
	return b.Update(ctx, func(tx Tx) error { return tx.Put(BucketMeta, keyRequestTTL, u64(uint64(ttl))) })
}

func requestTTL(tx ReadTx) time.Duration {
	if v := tx.Get(BucketMeta, keyRequestTTL); len(v) == 8 {
		return time.Duration(binary.BigEndian.Uint64(v))
	}
	return 0
}

// EncodeRequest builds an idempotency record written at t.
func EncodeRequest(t time.Time, hash, payload []byte) []byte {
	out := make([]byte, requestTimeLen, requestTimeLen+len(hash)+len(payload))
	binary.BigEndian.PutUint64(out, uint64(t.UnixNano()))
	out = append(out, hash...)
	return append(out, payload...)
}

// DecodeRequest splits an idempotency record; ok is false for a value too short to be one.
func DecodeRequest(v []byte) (written time.Time, hash, payload []byte, ok bool) {
	if len(v) < requestTimeLen+requestHashLen {
		return time.Time{}, nil, nil, false
	}
	written = time.Unix(0, int64(binary.BigEndian.Uint64(v[:requestTimeLen])))
	return written, v[requestTimeLen : requestTimeLen+requestHashLen], v[requestTimeLen+requestHashLen:], true
}

// RememberRequest stores what the request with key (method + request id) and hash produced, stamped now.
func RememberRequest(tx Tx, key, hash, payload []byte) error {
	return tx.Put(BucketRequests, key, EncodeRequest(clock(), hash, payload))
}

// LookupRequest returns the hash and payload remembered under key, or found = false when there is none or it
// is older than the request TTL. The slices are valid only inside tx.
func LookupRequest(tx ReadTx, key []byte) (hash, payload []byte, found bool) {
	written, hash, payload, ok := DecodeRequest(tx.Get(BucketRequests, key))
	if !ok {
		return nil, nil, false
	}
	if ttl := requestTTL(tx); ttl > 0 && written.Before(clock().Add(-ttl)) {
		return nil, nil, false
	}
	return hash, payload, true
}

// ExpireRequests deletes idempotency records written before t, in transactions of at most compactBatch
// deletes, and returns how many it deleted.
func (b *Backend) ExpireRequests(ctx context.Context, before time.Time) (int, error) {
	// Asked again inside each write: an id may have been reused since (after it expired).
	return b.sweep(ctx, BucketRequests, nil, nil, func(_ ReadTx, _, v []byte) bool {
		written, _, _, ok := DecodeRequest(v)
		return !ok || written.Before(before)
	})
}

// MigrateRequests rewrites idempotency records of the old layout (hash then payload, no time) in the current
// one, as written at now, so they expire one window after the upgrade. Run it from a schema migration.
func MigrateRequests(tx Tx, now time.Time) error {
	type kv struct{ k, v []byte }
	var all []kv
	if err := tx.Scan(BucketRequests, nil, func(k, v []byte) (bool, error) {
		all = append(all, kv{append([]byte(nil), k...), EncodeRequest(now, v[:min(len(v), requestHashLen)], v[min(len(v), requestHashLen):])})
		return true, nil
	}); err != nil {
		return err
	}
	for _, e := range all {
		if err := tx.Put(BucketRequests, e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}
