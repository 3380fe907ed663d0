package server_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// The three benchmarks run 64 concurrent callers and report durable writes per second, in the same run:
//
//	go test -run XXX -bench . -benchtime 3s ./internal/...
//
// BenchmarkCreateReferral64 is the whole path: gRPC over loopback, the production interceptor chain (token
// verification, Policy), the handler (validation, idempotency check, calls to fake catalogue and provider
// servers on loopback, fee computation) and one bbolt group commit with the referral, its change-feed entry
// and its audit entry. BenchmarkStorageUpdate64 is platform/storage's commit loop alone with a value of the
// same size; BenchmarkBoltBatch64 is raw bbolt Batch, the baseline. All three fsync each commit.

// referralBytes is about the size of a stored referral record (measured in the first benchmark, used by the
// other two; 1 KiB when they run alone).
var referralBytes atomic.Int64

func valueSize() int {
	if n := referralBytes.Load(); n > 0 {
		return int(n)
	}
	return 1024
}

// parallel64 runs op b.N times from exactly 64 goroutines and reports writes/s.
func parallel64(b *testing.B, op func(i int64) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

func BenchmarkCreateReferral64(b *testing.B) {
	h := start(b)
	res, con, kase := h.seed(b, pesel(b, "900101", 1111), 120000, 1)
	tok := h.mint(auth.TokenRequest{Subject: "u-coordinator", Roles: []auth.Role{auth.RoleCoordinator}})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	req := &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{Resident: res, Consent: con, Case: kase,
		Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName, Units: 10, Note: "benchmark"}}
	first, err := h.client.CreateReferral(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	first.ResidentSummary = nil
	referralBytes.Store(int64(proto.Size(first) + 8))
	defer b.ReportMetric(float64(referralBytes.Load()), "B/value")
	parallel64(b, func(int64) error {
		_, err := h.client.CreateReferral(ctx, req)
		return err
	})
}

func BenchmarkStorageUpdate64(b *testing.B) {
	be, err := storage.Open(filepath.Join(b.TempDir(), "s.db"), storage.Options{Buckets: []storage.Bucket{"items"}, SchemaVersion: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	size := valueSize()
	defer b.ReportMetric(float64(size), "B/value") // after parallel64: ResetTimer deletes reported metrics
	parallel64(b, func(k int64) error {
		return be.Update(context.Background(), func(tx storage.Tx) error {
			rev := tx.NextRevision()
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], uint64(k))
			if err := tx.Put("items", key[:], make([]byte, size)); err != nil {
				return err
			}
			return tx.AppendChange(rev, key[:])
		})
	})
}

func BenchmarkBoltBatch64(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("items")); return err }); err != nil {
		b.Fatal(err)
	}
	size := valueSize()
	defer b.ReportMetric(float64(size), "B/value") // after parallel64: ResetTimer deletes reported metrics
	parallel64(b, func(k int64) error {
		return db.Batch(func(tx *bolt.Tx) error {
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], uint64(k))
			return tx.Bucket([]byte("items")).Put(key[:], make([]byte, size))
		})
	})
}
