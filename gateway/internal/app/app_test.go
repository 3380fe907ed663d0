package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// fakeCatalogue answers lists at once, holds watches open (one change every tick until the client goes), and
// records the deadline a GetService arrives with.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	tick time.Duration

	mu       sync.Mutex
	deadline time.Duration // remaining at the last GetService
}

func (f *fakeCatalogue) ListServices(context.Context, *cataloguev1.ListServicesRequest) (*cataloguev1.ListServicesResponse, error) {
	return &cataloguev1.ListServicesResponse{}, nil
}

func (f *fakeCatalogue) GetService(ctx context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	d, ok := ctx.Deadline()
	f.mu.Lock()
	f.deadline = -1
	if ok {
		f.deadline = time.Until(d)
	}
	f.mu.Unlock()
	<-ctx.Done() // a stuck backend: only the deadline ends the call
	return nil, ctx.Err()
}

func (f *fakeCatalogue) CreateService(ctx context.Context, req *cataloguev1.CreateServiceRequest) (*cataloguev1.Service, error) {
	time.Sleep(3 * f.tick) // slower than the body read timeout: the deadline must not cut the answer off
	return &cataloguev1.Service{Name: "services/x", DisplayName: req.GetService().GetDisplayName()}, nil
}

func (f *fakeCatalogue) WatchChanges(req *cataloguev1.WatchChangesRequest, s grpc.ServerStreamingServer[cataloguev1.WatchChangesResponse]) error {
	if err := s.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	t := time.NewTicker(f.tick)
	defer t.Stop()
	for rev := int64(1); ; rev++ {
		if err := s.Send(&cataloguev1.WatchChangesResponse{Change: &cataloguev1.Change{Revision: rev}}); err != nil {
			return err
		}
		select {
		case <-s.Context().Done():
			return nil
		case <-t.C:
		}
	}
}

// startSuite serves f over loopback gRPC with at most maxStreams concurrent streams per connection (the
// services have 256), and a gateway in front of it configured by the flags in args; it returns the gateway's
// base URL.
func startSuite(t *testing.T, f *fakeCatalogue, maxStreams uint32, args ...string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxConcurrentStreams(maxStreams))
	cataloguev1.RegisterCatalogueServiceServer(srv, f)
	healthpb.RegisterHealthServer(srv, health.NewServer())

	var cfg Config
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(append([]string{"--listen", "127.0.0.1:0", "--catalogue-addr", lis.Addr().String(), "--log-level", "error"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	g.Go(func() error { return srv.Serve(lis) })
	addr := make(chan string, 1)
	g.Go(func() error { return Run(ctx, cfg, zap.NewNop(), func(a string) { addr <- a }) })
	t.Cleanup(func() {
		cancel()
		srv.Stop()
		if err := g.Wait(); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Error(err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not start")
		return ""
	}
}

// openWatch starts GET /v1/changes:watch and returns the response once its headers came.
func openWatch(ctx context.Context, base string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/changes:watch", nil)
	if err != nil {
		return nil, err
	}
	return newClient().Do(req)
}

// newClient is a client with its own connections, as each watching browser or integration has.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func reasonOf(t *testing.T, body []byte) string {
	t.Helper()
	var st struct {
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("not a status: %s", body)
	}
	for _, d := range st.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

func metric(t *testing.T, base, line string) bool {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

// Watches fill their own connections, never the one unary calls use; beyond the pool a watch is refused at once
// with 429 TOO_MANY_STREAMS. Before, every watch shared the unary calls' one connection: once the backend's
// concurrent streams were taken, lists queued behind the watches until their deadline (504).
func TestWatchesDoNotStarveUnaryCalls(t *testing.T) {
	f := &fakeCatalogue{tick: time.Second}
	// The backend takes 4 streams per connection; the pool carries 3 per connection on at most 2 connections.
	base := startSuite(t, f, 4, "--streams-per-conn", "3", "--max-stream-conns", "2", "--request-timeout", "5s")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var watches []*http.Response
	defer func() {
		for _, w := range watches {
			w.Body.Close()
		}
	}()
	for i := range 6 {
		resp, err := openWatch(ctx, base)
		if err != nil {
			t.Fatalf("watch %d: %v", i+1, err)
		}
		watches = append(watches, resp)
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("watch %d: %d %s", i+1, resp.StatusCode, b)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatalf("watch %d sent nothing: %v", i+1, err)
		}
	}
	refused, err := openWatch(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(refused.Body)
	refused.Body.Close()
	if refused.StatusCode != http.StatusTooManyRequests || reasonOf(t, b) != "TOO_MANY_STREAMS" {
		t.Fatalf("7th watch: %d %s, want 429 TOO_MANY_STREAMS", refused.StatusCode, b)
	}
	for i := range 5 { // more unary calls than the backend has stream slots per connection
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/services", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("list %d with 6 watches open: %v", i+1, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list %d with 6 watches open: %d", i+1, resp.StatusCode)
		}
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if !metric(t, base, `cus_gateway_backend_streams_open{backend="catalogue"} 6`) ||
		!metric(t, base, `cus_gateway_backend_stream_conns{backend="catalogue"} 2`) ||
		!metric(t, base, `cus_gateway_backend_streams_refused_total{backend="catalogue"} 1`) {
		t.Error("the metrics do not show 6 open streams on 2 connections and 1 refused")
	}
	// Closed watches give their slots back.
	for _, w := range watches {
		w.Body.Close()
	}
	watches = nil
	for !metric(t, base, `cus_gateway_backend_streams_open{backend="catalogue"} 0`) {
		if ctx.Err() != nil {
			t.Fatal("closed watches still count as open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := openWatch(ctx, base)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a watch after the others closed: %v %v", resp, err)
	}
	resp.Body.Close()
}

// A watch has no read limit: it outlives the header, idle and body-read limits (there is no overall
// ReadTimeout any more); a slow body sender is cut off with 408 BODY_READ_TIMEOUT after --body-read-timeout, and
// a body sent in time is not cut off while its backend works longer than that limit.
func TestReadLimitsEndSlowBodiesNotWatches(t *testing.T) {
	const limit = 300 * time.Millisecond
	f := &fakeCatalogue{tick: limit / 3}
	base := startSuite(t, f, 256, "--read-header-timeout", limit.String(), "--idle-timeout", limit.String(),
		"--body-read-timeout", limit.String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("watch outlives the limits", func(t *testing.T) {
		resp, err := openWatch(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		start := time.Now()
		n := 0
		for time.Since(start) < 5*limit {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatalf("the watch ended after %v and %d changes: %v", time.Since(start), n, err)
			}
			n++
			println("LINE", time.Since(start).String())
		}
	})

	t.Run("slow body is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "POST /v1/services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"displayName\":")
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a stalled body: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout || reasonOf(t, b) != "BODY_READ_TIMEOUT" {
			t.Fatalf("stalled body: %d %s, want 408 BODY_READ_TIMEOUT", resp.StatusCode, b)
		}
		if waited := time.Since(start); waited > 10*limit {
			t.Errorf("cut off after %v, the limit is %v", waited, limit)
		}
	})

	t.Run("body in time, slow backend", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/services", strings.NewReader(`{"displayName":"Klub Seniora"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
}

// --request-timeout is a ceiling: Grpc-Timeout may lower the deadline of a call, never raise it.
func TestGrpcTimeoutCannotRaiseTheDeadline(t *testing.T) {
	f := &fakeCatalogue{tick: time.Second}
	base := startSuite(t, f, 256, "--request-timeout", "500ms")
	for _, c := range []struct {
		header string
		max    time.Duration
	}{
		{"", 500 * time.Millisecond},
		{"1H", 500 * time.Millisecond},
		{"100m", 100 * time.Millisecond},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/services/0194c050-3022-7053-8000-000000000001", nil)
		if c.header != "" {
			req.Header.Set("Grpc-Timeout", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("Grpc-Timeout %q: %v (the deadline was raised)", c.header, err)
		}
		resp.Body.Close()
		f.mu.Lock()
		got := f.deadline
		f.mu.Unlock()
		if resp.StatusCode != http.StatusGatewayTimeout || got <= 0 || got > c.max {
			t.Errorf("Grpc-Timeout %q: %d, backend deadline %v; want 504 within %v", c.header, resp.StatusCode, got, c.max)
		}
	}
}
