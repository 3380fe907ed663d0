// Package resourcetest helps the stores' tests prove their data files keep their layout. It is for tests only.
package resourcetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/cus-suite/cus/platform/storage"
)

// Digest hashes every key and value of the buckets, bucket by bucket in key order, from one snapshot of be
// (a *storage.Backend). An idempotency record (storage.BucketRequests) is hashed without its time, which is the
// platform's clock, not the store's. open, when given, turns a value into what is hashed (a store that seals
// its records opens them: sealing draws a fresh nonce).
func Digest(t testing.TB, be interface {
	View(func(storage.ReadTx) error) error
}, buckets []storage.Bucket, open func(b storage.Bucket, k, v []byte) ([]byte, error)) string {
	t.Helper()
	h := sha256.New()
	err := be.View(func(tx storage.ReadTx) error {
		for _, b := range buckets {
			if err := tx.Scan(b, nil, func(k, v []byte) (bool, error) {
				if b == storage.BucketRequests && len(v) >= 8 {
					v = v[8:]
				}
				if open != nil {
					var err error
					if v, err = open(b, k, v); err != nil {
						return false, err
					}
				}
				fmt.Fprintf(h, "%s\x00%x\x00%x\n", b, k, v)
				return true, nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
