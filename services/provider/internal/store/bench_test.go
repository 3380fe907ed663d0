package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The figures of the provider registry's capacity path: durable reservations per second at 64 concurrent
// callers (each a transaction that reads the agreement and provider, checks the free units, and writes the
// reservation and the counter, acknowledged after fsync), beside bbolt's own Batch at the same concurrency and a
// similar write, in the same run:
//
//	cd services/provider && go test -run XXX -bench 64 -benchtime 3s ./internal/store/

func parallelism64() int { return max(1, 64/runtime.GOMAXPROCS(0)) }

func benchReserve(b *testing.B, agreements int) {
	st := openStore(b, filepath.Join(b.TempDir(), "provider.db"))
	defer st.Close()
	const pid = "0194c050-3022-7053-b000-000000000001"
	ids := seed(b, st, pid, agreements, 1_000_000)
	var n atomic.Int64
	b.SetParallelism(parallelism64())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			ref := fmt.Sprintf("0194c050-ffff-7000-8000-%012d", k)
			if _, _, _, err := st.Reserve(context.Background(), pid, ids[int(k)%len(ids)], ref, 1, today); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}

// BenchmarkReserve64 spreads 64 callers over 16 agreements.
func BenchmarkReserve64(b *testing.B) { benchReserve(b, 16) }

// BenchmarkReserveOneAgreement64 puts 64 callers on one agreement: the hottest case for one counter.
func BenchmarkReserveOneAgreement64(b *testing.B) { benchReserve(b, 1) }

// BenchmarkBoltBatch64 is the baseline: bbolt's own Batch at the same concurrency, each call writing a
// reservation-sized value and an 8-byte counter.
func BenchmarkBoltBatch64(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_ = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("reservations"))
		return err
	})
	var n atomic.Int64
	b.SetParallelism(parallelism64())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			err := db.Batch(func(tx *bolt.Tx) error {
				bk := tx.Bucket([]byte("reservations"))
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(k))
				if err := bk.Put(key[:], make([]byte, 120)); err != nil {
					return err
				}
				return bk.Put([]byte("counter"), key[:])
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
