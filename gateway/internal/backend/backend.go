// Package backend owns the gateway's connections to one service: one HTTP/2 connection for unary calls and a
// bounded pool of connections for streams (watches), so long-lived streams never take the stream slots unary
// calls need. A service accepts a limited number of concurrent streams per connection (MaxConcurrentStreams,
// 256 in platform/grpcserver); when every watch shared the one connection of the unary calls, a few hundred
// watches left a coordinator's list queued behind them until its deadline.
package backend

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/apierr"
)

// ReasonTooManyStreams is the ErrorInfo reason of a stream refused because the pool is full.
const ReasonTooManyStreams = "TOO_MANY_STREAMS"

// Limits bound the stream pool of one backend.
type Limits struct {
	// StreamsPerConn is how many streams a pool connection carries before another one is opened; it must stay
	// below the service's MaxConcurrentStreams, or streams would queue on the connection.
	StreamsPerConn int
	// MaxStreamConns is how many pool connections may be open; beyond MaxStreamConns*StreamsPerConn open
	// streams a new stream is refused at once with RESOURCE_EXHAUSTED.
	MaxStreamConns int
}

// Dial opens a (lazy) client connection to the backend; Conn calls it for its unary connection and for each
// pool connection.
type Dial func() (*grpc.ClientConn, error)

// Conn is a grpc.ClientConnInterface over one backend: Invoke goes to the unary connection, NewStream to the
// pool connection with the fewest open streams.
type Conn struct {
	name    string
	unary   *grpc.ClientConn
	dial    Dial
	limits  Limits
	metrics *Metrics

	mu     sync.Mutex
	pool   []*poolConn
	closed bool
}

type poolConn struct {
	cc   *grpc.ClientConn
	open int
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// New opens the unary connection of a backend called name; pool connections open on demand. metrics may be nil.
func New(name string, dial Dial, limits Limits, metrics *Metrics) (*Conn, error) {
	if limits.StreamsPerConn < 1 || limits.MaxStreamConns < 1 {
		return nil, fmt.Errorf("backend %s: stream limits must be positive, got %+v", name, limits)
	}
	unary, err := dial()
	if err != nil {
		return nil, err
	}
	return &Conn{name: name, unary: unary, dial: dial, limits: limits, metrics: metrics}, nil
}

// Invoke sends a unary call on the unary connection.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.unary.Invoke(ctx, method, args, reply, opts...)
}

// NewStream opens a stream on the least loaded pool connection, opening a pool connection when all carry
// StreamsPerConn streams, and refusing with RESOURCE_EXHAUSTED TOO_MANY_STREAMS when the pool is full.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	pc, err := c.acquire()
	if err != nil {
		return nil, err
	}
	var once sync.Once
	release := func() { once.Do(func() { c.release(pc) }) }
	// The stream is over when its context ends (the REST client went away, the gateway shuts down) or when a
	// receive fails (io.EOF included); whichever comes first gives the slot back.
	stop := context.AfterFunc(ctx, release)
	s, err := pc.cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		stop()
		release()
		return nil, err
	}
	return &stream{ClientStream: s, done: func() { stop(); release() }}, nil
}

func (c *Conn) acquire() (*poolConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, status.Error(codes.Unavailable, "the gateway is shutting down")
	}
	var best *poolConn
	for _, pc := range c.pool {
		if pc.open < c.limits.StreamsPerConn && (best == nil || pc.open < best.open) {
			best = pc
		}
	}
	if best == nil {
		if len(c.pool) >= c.limits.MaxStreamConns {
			c.metrics.refused(c.name)
			return nil, tooManyStreams(c.limits.StreamsPerConn * c.limits.MaxStreamConns)
		}
		cc, err := c.dial()
		if err != nil {
			return nil, err
		}
		best = &poolConn{cc: cc}
		c.pool = append(c.pool, best)
		c.metrics.conns(c.name, len(c.pool))
	}
	best.open++
	c.metrics.streams(c.name, 1)
	return best, nil
}

func (c *Conn) release(pc *poolConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc.open--
	c.metrics.streams(c.name, -1)
}

// OpenStreams is the number of streams open on the pool.
func (c *Conn) OpenStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, pc := range c.pool {
		n += pc.open
	}
	return n
}

// Close closes the unary connection and every pool connection; streams still open end with them.
func (c *Conn) Close() error {
	c.mu.Lock()
	pool := c.pool
	c.pool, c.closed = nil, true
	c.mu.Unlock()
	err := c.unary.Close()
	for _, pc := range pool {
		if cerr := pc.cc.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func tooManyStreams(max int) error {
	msg := fmt.Sprintf("the gateway already carries %d open streams to this service; close a watch or retry later", max)
	st, err := status.New(codes.ResourceExhausted, msg).WithDetails(&errdetails.ErrorInfo{Reason: ReasonTooManyStreams, Domain: apierr.Domain})
	if err != nil {
		return status.Error(codes.ResourceExhausted, msg)
	}
	return st.Err()
}

// stream gives its pool slot back when a receive fails: the stream is over.
type stream struct {
	grpc.ClientStream
	done func()
}

func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.done()
	}
	return err
}

// Metrics are the pool's gauges and counters, by backend.
type Metrics struct {
	open    *prometheus.GaugeVec
	pool    *prometheus.GaugeVec
	refusal *prometheus.CounterVec
}

// NewMetrics makes the metrics; register them with Collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cus_gateway_backend_streams_open", Help: "Streams (watches) the gateway holds open to a service.",
		}, []string{"backend"}),
		pool: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cus_gateway_backend_stream_conns", Help: "Connections the gateway keeps to a service for streams.",
		}, []string{"backend"}),
		refusal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cus_gateway_backend_streams_refused_total", Help: "Streams refused because the pool of a service was full.",
		}, []string{"backend"}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.open, m.pool, m.refusal}
}

func (m *Metrics) streams(backend string, delta float64) {
	if m != nil {
		m.open.WithLabelValues(backend).Add(delta)
	}
}

func (m *Metrics) conns(backend string, n int) {
	if m != nil {
		m.pool.WithLabelValues(backend).Set(float64(n))
	}
}

func (m *Metrics) refused(backend string) {
	if m != nil {
		m.refusal.WithLabelValues(backend).Inc()
	}
}
