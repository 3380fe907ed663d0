package webhook

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
)

// BenchmarkDeliver measures the engine end to end: b.N events over 16 resources enqueued in batches of 100 (each
// batch one transaction), delivered to a loopback receiver answering 204, signed, each outcome written to the
// data file (fsync'd). It reports delivered events per second.
func BenchmarkDeliver(b *testing.B) {
	rcv := newReceiver(b)
	be, err := storage.Open(filepath.Join(b.TempDir(), "h.db"), storage.Options{Buckets: Buckets})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	g, _ := ParseAllowlist([]string{"http://127.0.0.1"})
	e := New(be, Options{Guard: g})
	sub, err := e.Create(context.Background(), Subscription{URL: rcv.url(), EventTypes: []string{"thing.*"}})
	if err != nil {
		b.Fatal(err)
	}
	rcv.setSecrets(sub.Secrets[0].Value)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += 100 {
		if err := be.Update(context.Background(), func(tx storage.Tx) error {
			for j := i; j < min(i+100, b.N); j++ {
				if err := e.Enqueue(tx, ev(fmt.Sprintf("r%d", j%16), j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		e.Poke()
	}
	for {
		s, err := e.Get(sub.ID)
		if err != nil {
			b.Fatal(err)
		}
		if s.Pending == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
