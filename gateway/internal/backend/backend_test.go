package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// watcher ends a watch after one change when the request asks from revision 1, and holds it open otherwise.
type watcher struct {
	cataloguev1.UnimplementedCatalogueServiceServer
}

func (watcher) WatchChanges(req *cataloguev1.WatchChangesRequest, s grpc.ServerStreamingServer[cataloguev1.WatchChangesResponse]) error {
	if err := s.Send(&cataloguev1.WatchChangesResponse{Change: &cataloguev1.Change{Revision: 1}}); err != nil {
		return err
	}
	if req.GetAfterRevision() == 1 {
		return nil
	}
	<-s.Context().Done()
	return nil
}

func serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(srv, watcher{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	var g errgroup.Group
	g.Go(func() error { return srv.Serve(lis) })
	t.Cleanup(func() {
		srv.Stop()
		_ = g.Wait()
	})
	return lis.Addr().String()
}

// Streams fill pool connections up to StreamsPerConn each, never the unary connection; beyond the pool a stream
// is refused with RESOURCE_EXHAUSTED TOO_MANY_STREAMS; a stream that ends, by EOF or by its context, frees its slot.
func TestPoolBoundsStreams(t *testing.T) {
	addr := serve(t)
	dials := 0
	conn, err := New("catalogue", func() (*grpc.ClientConn, error) {
		dials++
		return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}, Limits{StreamsPerConn: 2, MaxStreamConns: 2}, NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	held, endHeld := context.WithCancel(ctx)
	for i := range 4 {
		s, err := client.WatchChanges(held, &cataloguev1.WatchChangesRequest{})
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
	}
	if dials != 3 || conn.OpenStreams() != 4 {
		t.Fatalf("%d dials, %d open streams; want 1 unary + 2 pool connections carrying 4", dials, conn.OpenStreams())
	}
	_, err = client.WatchChanges(ctx, &cataloguev1.WatchChangesRequest{})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || len(st.Details()) != 1 || st.Details()[0].(*errdetails.ErrorInfo).GetReason() != ReasonTooManyStreams {
		t.Fatalf("5th stream: %v, want RESOURCE_EXHAUSTED %s", err, ReasonTooManyStreams)
	}
	// Unary calls do not wait for stream slots.
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("unary call with the pool full: %v", err)
	}

	endHeld()
	for conn.OpenStreams() != 0 {
		if ctx.Err() != nil {
			t.Fatal("cancelled streams still hold their slots")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A stream that ends by itself frees its slot at its EOF.
	for i := range 10 {
		s, err := client.WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: 1})
		if err != nil {
			t.Fatalf("short stream %d: %v", i+1, err)
		}
		for {
			if _, err := s.Recv(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := conn.OpenStreams(); n != 0 || dials != 3 {
		t.Fatalf("%d streams open, %d dials after short streams ended", n, dials)
	}
}
