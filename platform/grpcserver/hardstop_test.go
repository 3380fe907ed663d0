package grpcserver

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestHardStopWaitsForHandlers: after the grace period the server stops hard, cancelling the calls left; Serve
// returns only once their handlers have, so the service's store is not closed under a running handler.
func TestHardStopWaitsForHandlers(t *testing.T) {
	entered := make(chan struct{})
	var returned atomic.Bool
	// The handler outlives the grace period: it notices the cancellation only after a while, as a handler in
	// the middle of a storage transaction would.
	conn, _, stop, done := startProbeGrace(t, 100*time.Millisecond, func(ctx context.Context) error {
		close(entered)
		<-ctx.Done()
		time.Sleep(300 * time.Millisecond) // finishing its transaction
		returned.Store(true)
		return ctx.Err()
	})
	callDone := make(chan error, 1)
	go func() { _, err := call(conn); callDone <- err }()
	<-entered
	stop()
	err := <-done
	done <- err // for the cleanup
	if err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Fatal("Serve returned while a handler was still running")
	}
	if err := <-callDone; err == nil {
		t.Fatal("the call cut by the hard stop succeeded")
	}
}
