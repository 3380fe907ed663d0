package server_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// BenchmarkReserveGRPC64 measures durable reservations per second end to end: 64 concurrent callers over one
// loopback gRPC connection, through the production interceptor chain (request id, access log, metrics, errors,
// bearer-token verification and policy), each reservation committed with fsync. Compare with the store-level
// figures of internal/store (BenchmarkReserve64, BenchmarkBoltBatch64):
//
//	cd services/provider && go test -run XXX -bench ReserveGRPC64 -benchtime 3s ./internal/server/
func BenchmarkReserveGRPC64(b *testing.B) {
	h := start(b)
	p := h.createProvider(b, validProvider())
	var agreements []string
	for i := 0; i < 16; i++ {
		agreements = append(agreements, h.createAgreement(b, p.GetName(), validAgreement(1_000_000)).GetName())
	}
	ctx := h.as(b, auth.RoleCoordinator)
	var n atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := int(n.Add(1))
			_, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: agreements[k%len(agreements)], ReferralId: refID(k), Units: 1})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}
