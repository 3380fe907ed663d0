package grpcserver

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
)

// Limits protect a service from one caller, and from everyone at once: a token bucket per caller (its subject,
// or its address when anonymous) and a cap on unary calls in flight. Beyond them a call gets RESOURCE_EXHAUSTED
// (HTTP 429) at once instead of queueing until the process collapses.
type Limits struct {
	// PerCallerRate is the sustained calls per second of one caller; 0 disables the per-caller limit.
	PerCallerRate float64
	// PerCallerBurst is how many calls a caller may make at once above the rate.
	PerCallerBurst int
	// MaxInFlight caps unary calls being handled at once; 0 disables the cap. Streams are not counted: a
	// watch is long-lived by design, and MaxConcurrentStreams bounds them per connection.
	MaxInFlight int
	// TrustedProxies are the addresses of gateways whose x-forwarded-for names the real client, so anonymous
	// web users behind the gateway are limited one by one rather than together.
	TrustedProxies []netip.Prefix
}

var (
	errRateLimited = apierr.New(apierr.KindResourceExhausted, "RATE_LIMITED", "too many requests from this caller; slow down and retry")
	errOverloaded  = apierr.New(apierr.KindResourceExhausted, "OVERLOADED", "the service is at its limit of concurrent requests; retry shortly")
)

type limiter struct {
	cfg      Limits
	inFlight chan struct{}

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg Limits) *limiter {
	l := &limiter{cfg: cfg, buckets: map[string]*bucket{}, swept: time.Now()}
	if cfg.MaxInFlight > 0 {
		l.inFlight = make(chan struct{}, cfg.MaxInFlight)
	}
	if l.cfg.PerCallerBurst <= 0 {
		l.cfg.PerCallerBurst = max(1, int(cfg.PerCallerRate))
	}
	return l
}

func (l *limiter) allow(ctx context.Context) bool {
	if l.cfg.PerCallerRate <= 0 {
		return true
	}
	key := auth.CallerKey(ctx, l.cfg.TrustedProxies)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget idle callers now and then, so many distinct callers cannot grow the map without bound.
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.PerCallerRate), l.cfg.PerCallerBurst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// Health checks are never limited: a load balancer probing a busy service must see it serving.
const healthPrefix = "/grpc.health.v1.Health/"

func (l *limiter) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(ctx, req)
	}
	if !l.allow(ctx) {
		return nil, errRateLimited
	}
	if l.inFlight != nil {
		select {
		case l.inFlight <- struct{}{}:
			defer func() { <-l.inFlight }()
		default:
			return nil, errOverloaded
		}
	}
	return h(ctx, req)
}

func (l *limiter) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(srv, ss)
	}
	if !l.allow(ss.Context()) {
		return errRateLimited
	}
	return h(srv, ss)
}
