package grpcserver

import (
	"container/list"
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

// Limits protect a service from one client, from one caller, and from everyone at once. Two token buckets:
//
//   - per client address, checked BEFORE authentication, so calls that will be refused (no token, a forged or
//     expired token, a garbage kid) are limited too and cannot make the service verify signatures, fetch
//     identity keys or write audit entries without bound;
//   - per principal (its subject, or its address when anonymous), checked after authentication, so one
//     identity cannot use up the service from many addresses.
//
// and a cap on unary calls in flight. Beyond them a call gets RESOURCE_EXHAUSTED (HTTP 429) at once instead of
// queueing until the process collapses.
type Limits struct {
	// PerAddressRate is the sustained calls per second from one client address; 0 disables the limit.
	PerAddressRate float64
	// PerAddressBurst is how many calls one address may make at once above the rate.
	PerAddressBurst int
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
	// MaxTracked caps the buckets each limiter remembers (default 16384): beyond it the least recently seen
	// is forgotten, so a flood from many addresses costs bounded memory.
	MaxTracked int
}

var (
	errRateLimited = apierr.New(apierr.KindResourceExhausted, "RATE_LIMITED", "too many requests from this caller; slow down and retry")
	errOverloaded  = apierr.New(apierr.KindResourceExhausted, "OVERLOADED", "the service is at its limit of concurrent requests; retry shortly")
)

const (
	defaultMaxTracked = 16384
	// A bucket idle this long is full again anyway; forgetting it changes nothing for its caller.
	bucketIdle = 10 * time.Minute
)

type limiter struct {
	cfg       Limits
	inFlight  chan struct{}
	byAddress *buckets // nil when disabled
	byCaller  *buckets // nil when disabled
}

func newLimiter(cfg Limits) *limiter {
	l := &limiter{cfg: cfg}
	if cfg.MaxInFlight > 0 {
		l.inFlight = make(chan struct{}, cfg.MaxInFlight)
	}
	maxTracked := cfg.MaxTracked
	if maxTracked <= 0 {
		maxTracked = defaultMaxTracked
	}
	if cfg.PerAddressRate > 0 {
		l.byAddress = newBuckets(cfg.PerAddressRate, cfg.PerAddressBurst, maxTracked, bucketIdle)
	}
	if cfg.PerCallerRate > 0 {
		l.byCaller = newBuckets(cfg.PerCallerRate, cfg.PerCallerBurst, maxTracked, bucketIdle)
	}
	return l
}

// buckets are token buckets by key, at most max of them: a map for lookup and a list in order of last use,
// so the least recently seen bucket is found in O(1) when one must go.
type buckets struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration

	mu    sync.Mutex
	byKey map[string]*list.Element
	lru   list.List // of *bucket, most recently seen first
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

func newBuckets(perSecond float64, burst, maxEntries int, idle time.Duration) *buckets {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &buckets{limit: rate.Limit(perSecond), burst: burst, max: maxEntries, idle: idle, byKey: map[string]*list.Element{}}
}

// allow takes a token from key's bucket at now.
func (b *buckets) allow(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.byKey[key]; ok {
		bk := e.Value.(*bucket)
		bk.seen = now
		b.lru.MoveToFront(e)
		return bk.lim.AllowN(now, 1)
	}
	// Forget idle buckets from the old end, then the oldest one if still full: a new key costs at most one
	// bucket, and the map never holds more than max.
	for e := b.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).seen) > b.idle; e = b.lru.Back() {
		b.remove(e)
	}
	if b.lru.Len() >= b.max {
		b.remove(b.lru.Back())
	}
	bk := &bucket{key: key, lim: rate.NewLimiter(b.limit, b.burst), seen: now}
	b.byKey[key] = b.lru.PushFront(bk)
	return bk.lim.AllowN(now, 1)
}

func (b *buckets) remove(e *list.Element) {
	delete(b.byKey, e.Value.(*bucket).key)
	b.lru.Remove(e)
}

func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}

// addressKey names the client's network for the per-address limit: the IPv4 address, or the /64 of an IPv6
// one (one subscriber usually holds a whole /64, so per-address keys would let it rotate without limit).
func (l *limiter) addressKey(ctx context.Context) string {
	a, ok := auth.ClientAddr(ctx, l.cfg.TrustedProxies)
	if !ok {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Health checks are never limited: a load balancer probing a busy service must see it serving.
const healthPrefix = "/grpc.health.v1.Health/"

// admitAddress is the step before authentication: the per-address bucket, then a slot in flight (released by
// the returned func), so a refused call costs a map lookup and nothing of the authenticator.
func (l *limiter) admitAddress(ctx context.Context, unary bool) (release func(), err error) {
	if l.byAddress != nil && !l.byAddress.allow(l.addressKey(ctx), time.Now()) {
		return nil, errRateLimited
	}
	if unary && l.inFlight != nil {
		select {
		case l.inFlight <- struct{}{}:
			return func() { <-l.inFlight }, nil
		default:
			return nil, errOverloaded
		}
	}
	return func() {}, nil
}

// admitCaller is the step after authentication, per principal.
func (l *limiter) admitCaller(ctx context.Context) error {
	if l.byCaller != nil && !l.byCaller.allow(auth.CallerKey(ctx, l.cfg.TrustedProxies), time.Now()) {
		return errRateLimited
	}
	return nil
}

func (l *limiter) unaryAddress(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(ctx, req)
	}
	release, err := l.admitAddress(ctx, true)
	if err != nil {
		return nil, err
	}
	defer release()
	return h(ctx, req)
}

func (l *limiter) streamAddress(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(srv, ss)
	}
	if _, err := l.admitAddress(ss.Context(), false); err != nil {
		return err
	}
	return h(srv, ss)
}

func (l *limiter) unaryCaller(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(ctx, req)
	}
	if err := l.admitCaller(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (l *limiter) streamCaller(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(srv, ss)
	}
	if err := l.admitCaller(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}
