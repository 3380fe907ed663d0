package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/cus-suite/cus/platform/etcdtest"
)

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }

// BenchmarkGroupCommit64 measures durable writes/s of the commit loop at 64 concurrent writers; compare with
// BenchmarkBoltBatch64 in the same run (`make bench-storage`).
func BenchmarkGroupCommit64(b *testing.B) {
	be := open(b, filepath.Join(b.TempDir(), "d.db"))
	defer be.Close()
	var n atomic.Int64
	b.SetParallelism(64 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			err := be.Update(context.Background(), func(tx Tx) error {
				rev := tx.NextRevision()
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(k))
				if err := tx.Put(bucketItems, key[:], make([]byte, 256)); err != nil {
					return err
				}
				return tx.AppendChange(rev, key[:])
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkBoltBatch64 is the baseline: bbolt's own Batch at the same concurrency and value size.
func BenchmarkBoltBatch64(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("items")); return err })
	var n atomic.Int64
	b.SetParallelism(64 / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			err := db.Batch(func(tx *bolt.Tx) error {
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(k))
				return tx.Bucket([]byte("items")).Put(key[:], make([]byte, 256))
			})
			if err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkUpdate64 measures durable writes/s through Backend.Update at 64 concurrent callers on each engine:
// bbolt (fsync per group), etcd with one member and with three (fsync on, as in production), beside raw etcd
// puts from etcd's own client at the same concurrency (`make bench-storage`; report the load average with it).
func BenchmarkUpdate64(b *testing.B) {
	for _, tc := range []struct {
		name    string
		members int
	}{{"bbolt", 0}, {"etcd-1", 1}, {"etcd-3", 3}} {
		b.Run(tc.name, func(b *testing.B) {
			var be *Backend
			if tc.members == 0 {
				be = open(b, filepath.Join(b.TempDir(), "d.db"))
			} else {
				c := etcdtest.StartWith(b, tc.members, etcdtest.Options{Fsync: true})
				var err error
				be, err = Open("", Options{Buckets: []Bucket{bucketItems}, Engine: Engine{Kind: EngineEtcd,
					Etcd: EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/bench/"}}})
				if err != nil {
					b.Fatal(err)
				}
			}
			defer be.Close()
			var n atomic.Int64
			b.SetParallelism(64 / max(1, runtimeProcs()))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := n.Add(1)
					err := be.Update(context.Background(), func(tx Tx) error {
						rev := tx.NextRevision()
						var key [8]byte
						binary.BigEndian.PutUint64(key[:], uint64(k))
						if err := tx.Put(bucketItems, key[:], make([]byte, 256)); err != nil {
							return err
						}
						return tx.AppendChange(rev, key[:])
					})
					if err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
	b.Run("etcd-1-raw-put", func(b *testing.B) {
		c := etcdtest.StartWith(b, 1, etcdtest.Options{Fsync: true})
		cli := c.Client(b)
		var n atomic.Int64
		val := string(make([]byte, 256))
		b.SetParallelism(64 / max(1, runtimeProcs()))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cli.Put(context.Background(), fmt.Sprintf("/raw/%016x", n.Add(1)), val); err != nil {
					b.Error(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
}
