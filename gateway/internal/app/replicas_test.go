package app

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// The --*-addr flags take one address, a list of replicas or dns:///name:port; plaintext stays loopback-only,
// for every replica of a list.
func TestBackendAddressesAreValidated(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  string // the flag the error must name, "" for none
	}{
		{[]string{"--catalogue-addr", "127.0.0.1:7001,127.0.0.1:7011"}, ""},
		{[]string{"--catalogue-addr", "dns:///localhost:7001", "--provider-addr", "127.0.0.1:7002, 127.0.0.1:7012"}, ""},
		{[]string{"--catalogue-addr", "dns:///cus-catalogue-replicas:7001", "--backend-ca", "ca.pem"}, ""},
		{[]string{"--catalogue-addr", "xds:///cus-catalogue:7001"}, "catalogue-addr"},
		{[]string{"--catalogue-addr", "127.0.0.1:7001,"}, "catalogue-addr"},
		{[]string{"--provider-addr", "127.0.0.1:7002,10.0.0.5:7002"}, "backend-ca"},
		{[]string{"--referral-addr", "dns:///cus-referral-replicas:7003"}, "backend-ca"},
	} {
		var c Config
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: %v, want an error naming --%s", tc.args, err, tc.bad)
		}
	}
}

// flakyCatalogue is one replica of the catalogue; a failing one answers UNAVAILABLE, as a replica whose storage
// is briefly out of reach does.
type flakyCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	name  string
	fail  bool
	calls atomic.Int32
}

func (f *flakyCatalogue) GetService(_ context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	f.calls.Add(1)
	if f.fail {
		return nil, status.Error(codes.Unavailable, "storage unavailable")
	}
	return &cataloguev1.Service{Name: req.GetName(), DisplayName: f.name}, nil
}

func (f *flakyCatalogue) DeleteService(context.Context, *cataloguev1.DeleteServiceRequest) (*emptypb.Empty, error) {
	f.calls.Add(1)
	if f.fail {
		return nil, status.Error(codes.Unavailable, "storage unavailable")
	}
	return &emptypb.Empty{}, nil
}

// A gateway whose --catalogue-addr lists two replicas, one of them failing: every read is answered (retried on
// the other replica), while a delete that met the failing replica reaches the client as 503, never resent.
func TestGatewayOverReplicas(t *testing.T) {
	a, b := &flakyCatalogue{name: "a", fail: true}, &flakyCatalogue{name: "b"}
	// No cache of public reads: every GET must reach a replica.
	base := startGateway(t, "--public-cache-ttl", "0s", "--catalogue-addr", serveReplica(t, a)+","+serveReplica(t, b))
	get := func(method string) (int, string) {
		req, _ := http.NewRequest(method, base+"/v1/services/0194c050-3022-7053-8000-000000000001", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// Every read is answered, from the start (while the gateway connects to the replicas) and once it balances
	// over both of them.
	deadline := time.Now().Add(10 * time.Second)
	for a.calls.Load() == 0 && time.Now().Before(deadline) {
		if code, body := get(http.MethodGet); code != http.StatusOK || !strings.Contains(body, `"displayName":"b"`) {
			t.Fatalf("GET while connecting: %d %s", code, body)
		}
	}
	a.calls.Store(0)
	for i := range 6 {
		if code, body := get(http.MethodGet); code != http.StatusOK || !strings.Contains(body, `"displayName":"b"`) {
			t.Fatalf("GET %d: %d %s", i, code, body)
		}
	}
	if a.calls.Load() == 0 {
		t.Fatal("no read reached the failing replica: the test proves nothing")
	}
	a.calls.Store(0)
	b.calls.Store(0)
	var unavailable int32
	for range 6 {
		switch code, body := get(http.MethodDelete); code {
		case http.StatusServiceUnavailable:
			unavailable++
		case http.StatusOK:
		default:
			t.Fatalf("DELETE: %d %s", code, body)
		}
	}
	if unavailable == 0 || unavailable != a.calls.Load() || b.calls.Load() != 6-unavailable {
		t.Errorf("deletes: %d answered 503, a saw %d, b saw %d: want each delete sent once", unavailable, a.calls.Load(), b.calls.Load())
	}
}

func serveReplica(t *testing.T, f *flakyCatalogue) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(srv, f)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// startGateway runs a gateway configured by args and returns its base URL.
func startGateway(t *testing.T, args ...string) string {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(append([]string{"--listen", "127.0.0.1:0", "--log-level", "error"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	addr := make(chan string, 1)
	g.Go(func() error { return Run(ctx, cfg, zap.NewNop(), func(a string) { addr <- a }) })
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
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
