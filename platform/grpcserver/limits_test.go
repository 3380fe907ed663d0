package grpcserver

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
)

// countingKeys is a key source that counts how often the authenticator asks it for a key.
type countingKeys struct {
	calls atomic.Int32
	keys  auth.StaticKeys
}

func (c *countingKeys) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	c.calls.Add(1)
	return c.keys.Key(ctx, kid)
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// serveWith starts a server with cfg (and extra options) and the probe service, and returns a client.
func serveWith(t *testing.T, cfg Config, extra ...grpc.ServerOption) (*Server, *grpc.ClientConn) {
	t.Helper()
	cfg.Addr, cfg.ShutdownGrace = "127.0.0.1:0", time.Second
	s := New(cfg, zap.NewNop(), extra...)
	s.GRPC().RegisterService(&probeDesc, &probe{fn: func(context.Context) error { return nil }})
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
	return s, conn
}

// TestAddressLimitBeforeAuthentication: anonymous and invalid-token calls from one address are limited like
// any other: past the address's burst they get RESOURCE_EXHAUSTED (RATE_LIMITED) without the authenticator
// being asked, even with an extra outermost interceptor (the referral service's audit of denials) in front.
// Before, the limiter ran after authorization, so refused calls passed no limit at all.
func TestAddressLimitBeforeAuthentication(t *testing.T) {
	dir := t.TempDir()
	trusted, err := auth.EnsureDevKey(filepath.Join(dir, "trusted"))
	if err != nil {
		t.Fatal(err)
	}
	forger, err := auth.EnsureDevKey(filepath.Join(dir, "forger"))
	if err != nil {
		t.Fatal(err)
	}
	keys := &countingKeys{keys: auth.StaticKeys{Keys: []jose.JSONWebKey{trusted.Public()}}}
	v, err := auth.NewVerifier(auth.VerifierConfig{Issuer: auth.DevIssuer, Audience: auth.DevAudience, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	policy := auth.Policy{Service: "cus.test.Probe", Methods: map[string][]auth.Role{"Call": {auth.RoleCoordinator}}}
	var outer sync.Map // code -> count, as the outermost interceptor saw them
	audit := grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		n, _ := outer.LoadOrStore(status.Code(err), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		return resp, err
	})
	_, conn := serveWith(t, Config{
		Auth:   &auth.Authenticator{Verifier: v, Policy: policy},
		Limits: Limits{PerAddressRate: 0.001, PerAddressBurst: 3, PerCallerRate: 1000, PerCallerBurst: 1000},
	}, audit)
	forged, err := auth.Mint(forger, auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}

	const n = 40
	var codesSeen []string
	for i := range n {
		var err error
		if i%2 == 0 {
			_, err = call(conn) // anonymous
		} else {
			_, err = call(conn, "authorization", "Bearer "+forged)
		}
		codesSeen = append(codesSeen, status.Code(err).String()+"/"+reasonOf(err))
		if i < 3 {
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("call %d within the burst: %v", i, err)
			}
			continue
		}
		if status.Code(err) != codes.ResourceExhausted || reasonOf(err) != "RATE_LIMITED" {
			t.Fatalf("call %d past the address's burst: %v (all: %v)", i, err, codesSeen)
		}
	}
	if got := keys.calls.Load(); got != 1 {
		t.Fatalf("the authenticator looked up %d keys, want 1 (only the forged token within the burst)", got)
	}
	if c, _ := outer.Load(codes.ResourceExhausted); c == nil || c.(*atomic.Int32).Load() != n-3 {
		t.Fatalf("outermost interceptor saw %v RESOURCE_EXHAUSTED, want %d", c, n-3)
	}
	// Health checks stay exempt.
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health during the limit: %v %v", resp, err)
	}
}

// TestPrincipalLimitAfterAuthentication: the per-principal limit tells authenticated callers apart, so one
// identity at its limit does not limit another from the same address.
func TestPrincipalLimitAfterAuthentication(t *testing.T) {
	key, err := auth.EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Issuer: auth.DevIssuer, Audience: auth.DevAudience, Keys: auth.StaticKeys{Keys: []jose.JSONWebKey{key.Public()}}})
	if err != nil {
		t.Fatal(err)
	}
	policy := auth.Policy{Service: "cus.test.Probe", Methods: map[string][]auth.Role{"Call": {auth.RoleCoordinator}}}
	_, conn := serveWith(t, Config{
		Auth:   &auth.Authenticator{Verifier: v, Policy: policy},
		Limits: Limits{PerAddressRate: 1000, PerAddressBurst: 1000, PerCallerRate: 0.001, PerCallerBurst: 2},
	})
	for _, sub := range []string{"koordynator-1", "koordynator-2"} {
		tok, err := auth.Mint(key, auth.TokenRequest{Subject: sub, Roles: []auth.Role{auth.RoleCoordinator}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			_, err := call(conn, "authorization", "Bearer "+tok)
			if i < 2 && err != nil {
				t.Fatalf("%s call %d: %v", sub, i, err)
			}
			if i == 2 && reasonOf(err) != "RATE_LIMITED" {
				t.Fatalf("%s past its burst: %v", sub, err)
			}
		}
	}
}

// TestAddressBucketsAreBounded: a flood from many client addresses (here forwarded by a trusted proxy) keeps
// at most MaxTracked buckets.
func TestAddressBucketsAreBounded(t *testing.T) {
	s, conn := serveWith(t, Config{Limits: Limits{
		PerAddressRate: 1, PerAddressBurst: 1, MaxTracked: 16,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}})
	for i := range 200 {
		if _, err := call(conn, "x-forwarded-for", fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)); err != nil {
			t.Fatalf("first call of address %d: %v", i, err)
		}
	}
	if n := s.limits.byAddress.len(); n > 16 {
		t.Fatalf("%d address buckets kept, want at most 16", n)
	}
}

func TestBucketsEvictOldestAndIdle(t *testing.T) {
	b := newBuckets(0.001, 1, 100, time.Minute)
	now := time.Unix(1_700_000_000, 0)
	if !b.allow("hot", now) || b.allow("hot", now) {
		t.Fatal("burst of 1: first call allowed, second refused")
	}
	for i := range 1000 {
		b.allow(fmt.Sprintf("k-%d", i), now)
		if i%10 == 0 {
			b.allow("hot", now) // a flooding key stays recent, so it keeps its (empty) bucket
		}
	}
	if b.len() != 100 {
		t.Fatalf("%d buckets, want the cap of 100", b.len())
	}
	if b.allow("hot", now) {
		t.Fatal("a recently seen, exhausted key was forgotten")
	}
	if !b.allow("k-0", now) {
		t.Fatal("the oldest key should have been evicted (a fresh bucket)")
	}
	// Idle buckets go when a new key comes.
	b.allow("late", now.Add(2*time.Minute))
	if b.len() != 1 {
		t.Fatalf("%d buckets after everything went idle, want 1", b.len())
	}
}

// TestIPv6ClientsAreLimitedPerSlash64: one subscriber's /64 is one client, so rotating addresses inside it does
// not escape the address limit.
func TestIPv6ClientsAreLimitedPerSlash64(t *testing.T) {
	_, conn := serveWith(t, Config{Limits: Limits{
		PerAddressRate: 0.001, PerAddressBurst: 2,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}})
	var refused int
	for i := range 10 {
		_, err := call(conn, "x-forwarded-for", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if reasonOf(err) == "RATE_LIMITED" {
			refused++
		}
	}
	if refused != 8 {
		t.Fatalf("%d of 10 calls from one /64 refused, want 8", refused)
	}
	if _, err := call(conn, "x-forwarded-for", "2001:db8:1:3::1"); err != nil && strings.Contains(err.Error(), "too many") {
		t.Fatalf("another /64 is another client: %v", err)
	}
}
