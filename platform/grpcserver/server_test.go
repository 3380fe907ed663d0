package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cus-suite/cus/platform/apierr"
)

// A one-method test service whose behaviour each test sets.
type probe struct {
	fn func(ctx context.Context) error
}

var probeDesc = grpc.ServiceDesc{
	ServiceName: "cus.test.Probe",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return new(emptypb.Empty), srv.(*probe).fn(ctx) }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/cus.test.Probe/Call"}, h)
		},
	}},
}

func startProbe(t *testing.T, fn func(ctx context.Context) error) (*grpc.ClientConn, *observer.ObservedLogs, context.CancelFunc, chan error) {
	t.Helper()
	return startProbeGrace(t, time.Second, fn)
}

// startProbeGrace starts a probe server with the given shutdown grace. done receives what Serve returned; a
// test that takes it puts it back for the cleanup.
func startProbeGrace(t *testing.T, grace time.Duration, fn func(ctx context.Context) error) (*grpc.ClientConn, *observer.ObservedLogs, context.CancelFunc, chan error) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	s := New(Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownGrace: grace}, zap.New(core))
	s.GRPC().RegisterService(&probeDesc, &probe{fn: fn})
	s.ReportHealth("cus.test.Probe")
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ls) }()
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); <-done })
	return conn, logs, cancel, done
}

func call(conn *grpc.ClientConn, md ...string) (metadata.MD, error) {
	var hdr metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), md...)
	err := conn.Invoke(ctx, "/cus.test.Probe/Call", &emptypb.Empty{}, &emptypb.Empty{}, grpc.Header(&hdr))
	return hdr, err
}

func TestDomainErrorBecomesStatusWithDetails(t *testing.T) {
	conn, _, _, _ := startProbe(t, func(context.Context) error {
		var v apierr.Violations
		v.Add("service.display_name", "is required")
		v.Add("service.areas", "at least one area is required")
		return fmt.Errorf("wrapped: %w", v.Err())
	})
	_, err := call(conn)
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || st.Message() != "the request has invalid fields" {
		t.Fatalf("status = %v", st)
	}
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		}
	}
	if info == nil || info.GetReason() != "INVALID_FIELDS" || info.GetDomain() != apierr.Domain {
		t.Fatalf("ErrorInfo = %v", info)
	}
	if br == nil || len(br.GetFieldViolations()) != 2 || br.GetFieldViolations()[1].GetField() != "service.areas" {
		t.Fatalf("BadRequest = %v", br)
	}
}

func TestUnknownErrorsAndPanicsBecomeInternalWithoutText(t *testing.T) {
	secret := "/var/lib/cus/catalogue.db: input/output error"
	for name, fn := range map[string]func(context.Context) error{
		"plain error": func(context.Context) error { return errors.New(secret) },
		"panic":       func(context.Context) error { panic(secret) },
	} {
		t.Run(name, func(t *testing.T) {
			conn, logs, _, _ := startProbe(t, fn)
			_, err := call(conn)
			st := status.Convert(err)
			if st.Code() != codes.Internal || strings.Contains(st.Message(), "input/output") {
				t.Fatalf("status = %v", st)
			}
			for _, e := range logs.All() {
				if strings.Contains(fmt.Sprint(e.ContextMap()), secret) && name == "panic" {
					t.Fatalf("panic value logged: %v", e.ContextMap())
				}
			}
			// The server keeps serving after a panic.
			if _, err := call(conn); status.Code(err) != codes.Internal {
				t.Fatalf("second call: %v", err)
			}
		})
	}
}

func TestRequestIDIsKeptOrMadeAndLogged(t *testing.T) {
	var seen string
	conn, logs, _, _ := startProbe(t, func(ctx context.Context) error { seen = RequestID(ctx); return nil })
	hdr, err := call(conn, RequestIDHeader, "abc-123")
	if err != nil || seen != "abc-123" || fmt.Sprint(hdr.Get(RequestIDHeader)) != "[abc-123]" {
		t.Fatalf("kept id: err %v seen %q header %v", err, seen, hdr)
	}
	hdr, _ = call(conn, RequestIDHeader, "bad id with spaces")
	if seen == "" || strings.Contains(seen, " ") || len(hdr.Get(RequestIDHeader)) != 1 {
		t.Fatalf("a malformed id must be replaced, got %q", seen)
	}
	found := false
	for _, e := range logs.FilterMessage("rpc").All() {
		if e.ContextMap()["request_id"] == "abc-123" && e.ContextMap()["code"] == "OK" {
			found = true
		}
	}
	if !found {
		t.Fatal("access log line with request id and code missing")
	}
}

func TestHealthServingThenNotServingOnShutdown(t *testing.T) {
	conn, _, cancel, done := startProbe(t, func(context.Context) error { return nil })
	hc := healthpb.NewHealthClient(conn)
	resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "cus.test.Probe"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v %v", resp, err)
	}
	watch, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch first = %v %v", m, err)
	}
	cancel()
	if m, err := watch.Recv(); err == nil && m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("after shutdown: %v", m)
	}
	select {
	case err := <-done:
		done <- err // the cleanup waits on it too
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop within the grace period")
	}
}

func TestHoldServingKeepsHealthNotServingUntilReleased(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownGrace: time.Second}, zap.NewNop())
	s.GRPC().RegisterService(&probeDesc, &probe{fn: func(context.Context) error { return nil }})
	s.ReportHealth("cus.test.Probe")
	release := s.HoldServing()
	releaseOther := s.HoldServing()
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ls) }()
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	watch, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "cus.test.Probe"})
	if err != nil {
		t.Fatal(err)
	}
	next := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		m, err := watch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return m.GetStatus()
	}
	if st := next(); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("held: %v, want NOT_SERVING", st)
	}
	// The admin port's readiness probe says the same.
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + ls.Admin.Addr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || body != "NOT_SERVING" {
		t.Fatalf("/readyz while held: %d %q, want 503 NOT_SERVING", code, body)
	}
	// The server answers while held (callers connect; only the health says to wait).
	if _, err := call(conn); err != nil {
		t.Fatalf("a call while held: %v", err)
	}
	release()
	release() // a second release of the same hold does not release another
	for _, name := range []string{"", "cus.test.Probe"} {
		if resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name}); err != nil ||
			resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("one hold left, health of %q = %v %v", name, resp, err)
		}
	}
	releaseOther()
	if st := next(); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("released: %v, want SERVING", st)
	}
	if resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("released, health of the server = %v %v", resp, err)
	}
	if code, body := readyz(); code != http.StatusOK || body != "SERVING" {
		t.Fatalf("/readyz released: %d %q, want 200 SERVING", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestToStatusMapsContextAndStorageErrors(t *testing.T) {
	cases := map[error]codes.Code{
		context.DeadlineExceeded:                       codes.DeadlineExceeded,
		fmt.Errorf("x: %w", context.Canceled):          codes.Canceled,
		apierr.ErrStaleEtag:                            codes.Aborted,
		apierr.New(apierr.KindNotFound, "X", "x"):      codes.NotFound,
		status.Error(codes.ResourceExhausted, "quota"): codes.ResourceExhausted,
	}
	for err, want := range cases {
		if got := ToStatus(err).Code(); got != want {
			t.Errorf("%v -> %v, want %v", err, got, want)
		}
	}
}

func TestPerCallerRateLimitAndInFlightCap(t *testing.T) {
	core, _ := observer.New(zap.DebugLevel)
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	s := New(Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, Limits: Limits{PerCallerRate: 1, PerCallerBurst: 3}}, zap.New(core))
	slow := &probe{fn: func(ctx context.Context) error {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("slow")) > 0 {
			entered <- struct{}{}
			<-release
		}
		return nil
	}}
	s.GRPC().RegisterService(&probeDesc, slow)
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ls) }()
	defer func() { cancel(); <-done }()
	conn, _ := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	// Burst of 3 passes, the 4th within the same second is RATE_LIMITED.
	for i := 0; i < 3; i++ {
		if _, err := call(conn); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err = call(conn)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted {
		t.Fatalf("4th call: %v", err)
	}
	close(release)
}

func TestInFlightCapAnswersOverloaded(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	s := New(Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, Limits: Limits{MaxInFlight: 2}}, zap.NewNop())
	s.GRPC().RegisterService(&probeDesc, &probe{fn: func(ctx context.Context) error {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("slow")) > 0 {
			entered <- struct{}{}
			<-release
		}
		return nil
	}})
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ls) }()
	defer func() { cancel(); <-done }()
	conn, _ := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	results := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { _, err := call(conn, "slow", "1"); results <- err }()
	}
	<-entered
	<-entered
	_, err = call(conn)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(fmt.Sprint(st.Details()), "OVERLOADED") {
		t.Fatalf("third concurrent call: %v", err)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := call(conn); err != nil {
		t.Fatalf("after release: %v", err)
	}
}
