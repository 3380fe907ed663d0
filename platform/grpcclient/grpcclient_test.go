package grpcclient_test

import (
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	_ "github.com/cus-suite/cus/proto/cus/provider/v1"
	_ "github.com/cus-suite/cus/proto/cus/referral/v1"

	"github.com/cus-suite/cus/platform/grpcclient"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		addr       string
		want       grpcclient.Target
		replicated bool
		loopback   bool
		err        string
	}{
		{addr: "127.0.0.1:7001", want: grpcclient.Target{Addrs: []string{"127.0.0.1:7001"}}, loopback: true},
		{addr: "localhost:7001", want: grpcclient.Target{Addrs: []string{"localhost:7001"}}, loopback: true},
		{addr: "10.0.0.5:7001", want: grpcclient.Target{Addrs: []string{"10.0.0.5:7001"}}},
		{addr: "127.0.0.1:7001, 127.0.0.1:7011", want: grpcclient.Target{Addrs: []string{"127.0.0.1:7001", "127.0.0.1:7011"}}, replicated: true, loopback: true},
		{addr: "127.0.0.1:7001,10.0.0.5:7001", want: grpcclient.Target{Addrs: []string{"127.0.0.1:7001", "10.0.0.5:7001"}}, replicated: true},
		{addr: "dns:///cus-catalogue.cus-rawicz.svc:7001", want: grpcclient.Target{DNS: "cus-catalogue.cus-rawicz.svc:7001"}, replicated: true},
		{addr: "dns:///localhost:7001", want: grpcclient.Target{DNS: "localhost:7001"}, replicated: true, loopback: true},
		{addr: "", err: "not a host:port"},
		{addr: "catalogue", err: "not a host:port"},
		{addr: "127.0.0.1:7001,", err: "not a host:port"},
		{addr: "a:1,a:1", err: "listed twice"},
		{addr: "dns:///catalogue", err: "not a host:port"},
		{addr: "dns://8.8.8.8/catalogue:7001", err: "only scheme"},
		{addr: "xds:///catalogue:7001", err: "only scheme"},
		{addr: "unix:///run/cus.sock", err: "only scheme"},
	} {
		got, err := grpcclient.Parse(tc.addr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", tc.addr, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.Addrs, tc.want.Addrs) || got.DNS != tc.want.DNS {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.addr, got, err, tc.want)
			continue
		}
		if got.Replicated() != tc.replicated {
			t.Errorf("Parse(%q).Replicated() = %v", tc.addr, got.Replicated())
		}
		if grpcclient.IsLoopback(tc.addr) != tc.loopback {
			t.Errorf("IsLoopback(%q) = %v", tc.addr, !tc.loopback)
		}
	}
}

// Every RPC of the suite is classified, the classification matches what the request can carry, and no entry
// names an RPC that does not exist.
func TestEveryMethodClassified(t *testing.T) {
	seen := map[string]bool{}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "cus.") && f.Package() != "grpc.health.v1" {
			return true
		}
		for i := 0; i < f.Services().Len(); i++ {
			svc := f.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				m := svc.Methods().Get(j)
				full := "/" + string(svc.FullName()) + "/" + string(m.Name())
				seen[full] = true
				r, ok := grpcclient.Methods[full]
				if !ok {
					t.Errorf("%s is not classified in grpcclient.Methods: may a call failing with UNAVAILABLE be sent again?", full)
					continue
				}
				hasID := m.Input().Fields().ByName("request_id") != nil
				switch {
				case r == grpcclient.WithRequestID && !hasID:
					t.Errorf("%s is WithRequestID but %s has no request_id", full, m.Input().FullName())
				case hasID && r != grpcclient.WithRequestID:
					t.Errorf("%s carries a request_id: classify it WithRequestID (got %d)", full, r)
				case m.IsStreamingServer() && r != grpcclient.Read:
					t.Errorf("%s streams: only its opening can be retried, as a Read (got %d)", full, r)
				case m.IsStreamingClient():
					t.Errorf("%s streams from the client: the retry policy does not fit it", full)
				}
				readName := false
				for _, p := range []string{"Get", "List", "Search", "Watch", "Export", "Lookup", "Verify", "Check"} {
					readName = readName || strings.HasPrefix(string(m.Name()), p)
				}
				if r == grpcclient.Read && !readName {
					t.Errorf("%s is classified Read but its name does not say it reads", full)
				}
				if readName && r != grpcclient.Read {
					t.Errorf("%s is named like a read but classified %d", full, r)
				}
			}
		}
		return true
	})
	if len(seen) < 90 {
		t.Fatalf("only %d methods found: are the proto packages linked in?", len(seen))
	}
	// A new service's package must be linked into this test (imported above), or its RPCs go unchecked.
	protos, err := filepath.Glob("../../proto/cus/*/v1/*.proto")
	if err != nil || len(protos) == 0 {
		t.Fatalf("no protos found: %v", err)
	}
	for _, p := range protos {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range regexp.MustCompile(`(?m)^service (\w+) \{`).FindAllStringSubmatch(string(b), -1) {
			pkg := "cus." + filepath.Base(filepath.Dir(filepath.Dir(p))) + ".v1." + svc[1]
			if !slices.ContainsFunc(slices.Collect(maps.Keys(seen)), func(m string) bool { return strings.HasPrefix(m, "/"+pkg+"/") }) {
				t.Errorf("%s (%s) is not linked into this test: import its Go package", pkg, p)
			}
		}
	}
	for m := range grpcclient.Methods {
		if !seen[m] {
			t.Errorf("grpcclient.Methods names %s, which no service has", m)
		}
	}
}

// A replica of the catalogue for these tests: fail says whether it answers UNAVAILABLE; every call is recorded.
type replica struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	name string
	fail bool

	mu    sync.Mutex
	calls []string // method: request id (for creates)
}

func (r *replica) record(call string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	if r.fail {
		return status.Error(codes.Unavailable, r.name+" unavailable")
	}
	return nil
}

func (r *replica) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

func (r *replica) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *replica) GetService(_ context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	if err := r.record("Get"); err != nil {
		return nil, err
	}
	return &cataloguev1.Service{Name: req.GetName(), DisplayName: r.name}, nil
}

func (r *replica) UpdateService(_ context.Context, req *cataloguev1.UpdateServiceRequest) (*cataloguev1.Service, error) {
	if err := r.record("Update"); err != nil {
		return nil, err
	}
	return &cataloguev1.Service{Name: req.GetService().GetName(), DisplayName: r.name}, nil
}

func (r *replica) CreateService(_ context.Context, req *cataloguev1.CreateServiceRequest) (*cataloguev1.Service, error) {
	if err := r.record("Create:" + req.GetRequestId()); err != nil {
		return nil, err
	}
	return &cataloguev1.Service{Name: "services/x", DisplayName: r.name}, nil
}

func serve(t testing.TB, r *replica) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(s, r)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// UNAVAILABLE from one replica: a read and a create with a request id are answered by the other; an update is
// not sent again, and its caller gets the UNAVAILABLE.
func TestRetryOnOtherReplica(t *testing.T) {
	a, b := &replica{name: "a", fail: true}, &replica{name: "b"}
	conn, err := grpcclient.Dial(serve(t, a)+","+serve(t, b), insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cataloguev1.NewCatalogueServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Both replicas connected and healthy before counting, so round robin alternates between them.
	waitBoth(ctx, t, c, a, b)
	a.reset()
	b.reset()

	const n = 6
	for i := range n {
		got, err := c.GetService(ctx, &cataloguev1.GetServiceRequest{Name: "services/x"})
		if err != nil || got.GetDisplayName() != "b" {
			t.Fatalf("GetService %d = %v, %v; want b's answer after a's UNAVAILABLE", i, got, err)
		}
	}
	if len(a.seen()) == 0 {
		t.Fatal("no GetService reached the failing replica: the test proves nothing")
	}
	if len(b.seen()) != n {
		t.Errorf("b answered %d GetService calls, want %d", len(b.seen()), n)
	}

	a.reset()
	b.reset()
	var failed int
	for range n {
		_, err := c.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{Service: &cataloguev1.Service{Name: "services/x"}})
		if status.Code(err) == codes.Unavailable {
			failed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if failed == 0 || failed != len(a.seen()) || len(b.seen()) != n-failed {
		t.Errorf("UpdateService: %d failed, a saw %d, b saw %d: want every call to a failed and none sent again to b", failed, len(a.seen()), len(b.seen()))
	}

	a.reset()
	b.reset()
	req := &cataloguev1.CreateServiceRequest{Service: &cataloguev1.Service{DisplayName: "Klub Seniora"}}
	for i := range n {
		got, err := c.CreateService(ctx, req)
		if err != nil || got.GetDisplayName() != "b" {
			t.Fatalf("CreateService %d = %v, %v", i, got, err)
		}
	}
	if req.GetRequestId() != "" {
		t.Error("the caller's request was changed")
	}
	// Every create reaching a was retried on b with the same, generated, request id.
	bIDs := b.seen()
	for _, call := range a.seen() {
		if call == "Create:" || !slices.Contains(bIDs, call) {
			t.Errorf("a saw %q, which b did not see again with the same request id (b saw %v)", call, bIDs)
		}
	}
	if len(a.seen()) == 0 {
		t.Error("no CreateService reached the failing replica")
	}
	// A request id the caller chose is kept.
	b.reset()
	if _, err := c.CreateService(ctx, &cataloguev1.CreateServiceRequest{RequestId: "mine-1", Service: &cataloguev1.Service{DisplayName: "x"}}); err != nil {
		t.Fatal(err)
	}
	if got := b.seen(); !slices.Equal(got, []string{"Create:mine-1"}) {
		t.Errorf("b saw %v, want the caller's request id", got)
	}
}

// waitBoth calls until both replicas have been reached once (a's failures count).
func waitBoth(ctx context.Context, t *testing.T, c cataloguev1.CatalogueServiceClient, a, b *replica) {
	t.Helper()
	for len(a.seen()) == 0 || len(b.seen()) == 0 {
		if ctx.Err() != nil {
			t.Fatal("both replicas never reached")
		}
		_, _ = c.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{})
		time.Sleep(10 * time.Millisecond)
	}
}

// A replica that reports NOT_SERVING gets no calls while another is healthy; a single address keeps today's
// behaviour and is called whatever it reports.
func TestHealthCheckSkipsNotServing(t *testing.T) {
	a, b := &replica{name: "a"}, &replica{name: "b"}
	la, _ := net.Listen("tcp", "127.0.0.1:0")
	sa := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(sa, a)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(sa, hs)
	go func() { _ = sa.Serve(la) }()
	defer sa.Stop()

	conn, err := grpcclient.Dial(la.Addr().String()+","+serve(t, b), insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cataloguev1.NewCatalogueServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 8 {
		if _, err := c.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{}, grpc.WaitForReady(true)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.seen()); n != 0 {
		t.Errorf("the NOT_SERVING replica got %d calls", n)
	}

	single, err := grpcclient.Dial(la.Addr().String(), insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	if _, err := cataloguev1.NewCatalogueServiceClient(single).UpdateService(ctx, &cataloguev1.UpdateServiceRequest{}); err != nil {
		t.Fatalf("a single address is called whatever its health: %v", err)
	}
}

func TestDialRefusesBadAddress(t *testing.T) {
	if _, err := grpcclient.Dial("xds:///catalogue:7001", insecure.NewCredentials()); err == nil {
		t.Fatal("Dial accepted an unknown scheme")
	}
}
