package grpcserver

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// slowReplica's GetService outlives the grace period: it notices the cancellation only after a while, as a
// handler in the middle of a storage transaction would.
type slowReplica struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	entered  chan struct{}
	returned atomic.Bool
}

func (r *slowReplica) GetService(ctx context.Context, _ *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	close(r.entered)
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond) // finishing its transaction
	r.returned.Store(true)
	return nil, ctx.Err()
}

// TestHardStopWaitsForHandlers: after the grace period the server stops hard, cancelling the calls left; Serve
// returns only once their handlers have, so the service's store is not closed under a running handler.
func TestHardStopWaitsForHandlers(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:0", ShutdownGrace: 100 * time.Millisecond}, zap.NewNop())
	r := &slowReplica{entered: make(chan struct{})}
	cataloguev1.RegisterCatalogueServiceServer(s.GRPC(), r)
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ls) }()
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	callDone := make(chan error, 1)
	go func() {
		_, err := cataloguev1.NewCatalogueServiceClient(conn).GetService(context.Background(), &cataloguev1.GetServiceRequest{})
		callDone <- err
	}()
	<-r.entered
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !r.returned.Load() {
		t.Fatal("Serve returned while a handler was still running")
	}
	if err := <-callDone; err == nil {
		t.Fatal("the call cut by the hard stop succeeded")
	}
}
