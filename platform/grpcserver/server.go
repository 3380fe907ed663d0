// Package grpcserver is the one way the suite builds and runs a gRPC server: an ordered interceptor chain
// (request id, access log, metrics, panic recovery, error mapping), grpc.health.v1, server reflection,
// explicit resource limits, a Prometheus endpoint, and a graceful shutdown when the context ends.
package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// Config holds the listen addresses and limits of a server.
type Config struct {
	// Addr is the gRPC listen address, e.g. "127.0.0.1:7001".
	Addr string
	// AdminAddr serves /metrics and the service's admin handlers (e.g. /backup); empty disables it.
	AdminAddr string
	// MaxRecvMsgBytes caps one incoming message. Default 4 MiB.
	MaxRecvMsgBytes int
	// MaxConcurrentStreams caps streams per connection. Default 256.
	MaxConcurrentStreams uint32
	// ShutdownGrace is how long in-flight calls may finish after a stop signal (after the drain period).
	// Default 10s.
	ShutdownGrace time.Duration
	// DrainPeriod is how long a stopping server keeps serving while it reports NOT_SERVING, before it ends its
	// open streams and stops: the time load balancers and clients' health checks take to send new calls to
	// other replicas. 0 (a single replica, which nobody takes over from) ends the streams at once.
	DrainPeriod time.Duration
	// Auth authenticates callers and enforces the service's policy; nil serves everything to everyone and is
	// only for tests of the platform itself.
	Auth *auth.Authenticator
	// Limits bound callers (rate, concurrency).
	Limits Limits
}

// Server is a configured, not yet running, gRPC server.
type Server struct {
	cfg      Config
	log      *zap.Logger
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	admin    *http.ServeMux
	services []string
	onStop   []func()
	limits   *limiter
	streams  *streams

	// Health gating (HoldServing): SERVING is reported only while the server serves, is not stopping, and
	// nothing holds it.
	healthMu sync.Mutex
	holds    int
	up       bool
	stopping bool
}

// OnShutdown registers fn to run when shutdown starts, before GracefulStop: long-lived streams (watches) use
// it to end themselves, so the graceful stop does not wait the whole grace period for them.
func (s *Server) OnShutdown(fn func()) { s.onStop = append(s.onStop, fn) }

// New builds a server with the suite's interceptor chain. Register services on Server.GRPC(), then Run.
func New(cfg Config, log *zap.Logger, extra ...grpc.ServerOption) *Server {
	if cfg.MaxRecvMsgBytes <= 0 {
		cfg.MaxRecvMsgBytes = 4 << 20
	}
	if cfg.MaxConcurrentStreams == 0 {
		cfg.MaxConcurrentStreams = 256
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := &chain{log: log, metrics: newRPCMetrics(reg)}
	unary, stream := c.unary(), c.stream()
	// Inside the error mapping (so an ended stream's UNAVAILABLE carries its ErrorInfo), outside everything that
	// may refuse a stream: only streams that run are tracked.
	open := newStreams()
	stream = append(stream, open.intercept)
	lim := newLimiter(cfg.Limits)
	unary = append(unary, lim.unaryAddress)
	stream = append(stream, lim.streamAddress)
	if cfg.Auth != nil {
		unary = append(unary, cfg.Auth.Unary())
		stream = append(stream, cfg.Auth.Stream())
	}
	unary = append(unary, lim.unaryCaller)
	stream = append(stream, lim.streamCaller)
	opts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
		// A hard Stop after the grace period cancels the calls still running; it also waits for their handlers
		// to return, so Serve returns (and the service closes its store) only once no handler can touch it.
		grpc.WaitForHandlers(true),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 15 * time.Minute,
			// Clients that balance over dns:///name (platform/grpcclient) look the name up again only when a
			// connection ends, so a replica added by scaling up would get no calls from them. Ending each
			// connection after 5 minutes (GOAWAY: new calls move to a new connection, open streams finish on
			// the old one, with no grace limit) bounds that time.
			MaxConnectionAge: 5 * time.Minute,
			Time:             2 * time.Minute,
			Timeout:          20 * time.Second,
		}),
	}, extra...)
	s := &Server{
		cfg: cfg, log: log, limits: lim, streams: open,
		grpc:     grpc.NewServer(opts...),
		health:   health.NewServer(),
		registry: reg,
		admin:    http.NewServeMux(),
	}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.admin.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.admin.HandleFunc("/readyz", s.readyz)
	// Start NOT_SERVING; Run flips to SERVING once the listener is up.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s
}

// readyz answers the admin port's readiness probe with the gRPC health of the whole server: 200 SERVING,
// otherwise 503 with the status (NOT_SERVING while the service loads, e.g. the catalogue's search index, and
// while it drains). Kubernetes' own gRPC probe cannot speak TLS, and a TCP probe passes as soon as the port
// opens; this one says what grpc.health.v1 says, over the private plaintext admin port.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	resp, err := s.health.Check(r.Context(), &healthpb.HealthCheckRequest{})
	st := healthpb.HealthCheckResponse_SERVICE_UNKNOWN
	if err == nil {
		st = resp.GetStatus()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if st != healthpb.HealthCheckResponse_SERVING {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(st.String() + "\n"))
}

// GRPC is the underlying server, for registering services.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Registry is the Prometheus registry of this server, for service metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// HandleAdmin adds an HTTP handler to the admin listener.
func (s *Server) HandleAdmin(pattern string, h http.Handler) { s.admin.Handle(pattern, h) }

// ReportHealth names a service whose health is reported under its full name as well as "".
func (s *Server) ReportHealth(serviceName string) {
	s.services = append(s.services, serviceName)
	s.health.SetServingStatus(serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
}

// HoldServing keeps the health NOT_SERVING, even once Serve runs, until the returned release is called (once;
// later calls do nothing). A service that listens before it can answer (a search index still loading) holds
// it, so load balancers and probes route no traffic to it while callers can already connect. Call it before
// Serve; the health becomes SERVING when the last hold is released while serving.
func (s *Server) HoldServing() (release func()) {
	s.healthMu.Lock()
	s.holds++
	s.healthMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.healthMu.Lock()
			defer s.healthMu.Unlock()
			s.holds--
			if s.holds == 0 && s.up && !s.stopping {
				s.setServing(healthpb.HealthCheckResponse_SERVING)
			}
		})
	}
}

// Listen binds the gRPC address (and admin address); Run then serves on them. Separate so that callers
// (tests, `make run`) learn the bound addresses before serving.
type Listeners struct {
	GRPC  net.Listener
	Admin net.Listener
}

// Listen binds the configured addresses.
func (s *Server) Listen() (*Listeners, error) {
	gl, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	l := &Listeners{GRPC: gl}
	if s.cfg.AdminAddr != "" {
		al, err := net.Listen("tcp", s.cfg.AdminAddr)
		if err != nil {
			gl.Close()
			return nil, fmt.Errorf("listen on %s: %w", s.cfg.AdminAddr, err)
		}
		l.Admin = al
	}
	return l, nil
}

// Serve serves until ctx ends, then drains and shuts down (see drain).
func (s *Server) Serve(ctx context.Context, l *Listeners) error {
	g, gctx := errgroup.WithContext(ctx)
	var adminSrv *http.Server
	g.Go(func() error {
		if err := s.grpc.Serve(l.GRPC); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc serve: %w", err)
		}
		return nil
	})
	if l.Admin != nil {
		adminSrv = &http.Server{Handler: s.admin, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := adminSrv.Serve(l.Admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("admin serve: %w", err)
			}
			return nil
		})
	}
	s.healthMu.Lock()
	s.up = true
	if s.holds == 0 {
		s.setServing(healthpb.HealthCheckResponse_SERVING)
	}
	s.healthMu.Unlock()
	s.log.Info("serving", zap.String("grpc", l.GRPC.Addr().String()), zap.Stringer("admin", addrOf(l.Admin)))
	g.Go(func() error {
		<-gctx.Done()
		s.drain()
		if adminSrv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = adminSrv.Shutdown(sctx)
		}
		// After the last call and admin request: a key fetch still running is joined here.
		s.cfg.Auth.Close()
		return nil
	})
	return g.Wait()
}

// drain hands a stopping replica's clients over to the others without losing a call or an event:
//  1. health NOT_SERVING at once (grpc.health.v1 and /readyz): Kubernetes takes the pod out of its Service,
//     and clients balancing over replicas (platform/grpcclient) stop picking it;
//  2. for DrainPeriod, everything is still served: calls already on their way land and succeed;
//  3. open streams end with UNAVAILABLE SHUTTING_DOWN (the services' OnShutdown hooks first, then any stream
//     still open): a watcher reconnects, lands on another replica and resumes from the last revision it saw;
//  4. GracefulStop lets in-flight unary calls finish, bounded by ShutdownGrace, then a hard Stop that cancels
//     them and waits for their handlers to return (drain returns after them, so the store outlives them).
func (s *Server) drain() {
	s.healthMu.Lock()
	s.stopping = true
	s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.Shutdown()
	s.healthMu.Unlock()
	if s.cfg.DrainPeriod > 0 {
		s.log.Info("draining: NOT_SERVING, still answering", zap.Duration("drain_period", s.cfg.DrainPeriod),
			zap.Int("open_streams", s.streams.count()))
		time.Sleep(s.cfg.DrainPeriod)
	}
	for _, fn := range s.onStop {
		fn()
	}
	if n := s.streams.endAll(); n > 0 {
		s.log.Info("ended open streams with UNAVAILABLE for their clients to resume elsewhere", zap.Int("streams", n))
	}
	var g errgroup.Group
	stopped := make(chan struct{})
	g.Go(func() error { s.grpc.GracefulStop(); close(stopped); return nil })
	t := time.NewTimer(s.cfg.ShutdownGrace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		s.log.Warn("grace period over, stopping hard", zap.Duration("grace", s.cfg.ShutdownGrace))
		s.grpc.Stop() // cancels the calls left and waits for their handlers (WaitForHandlers)
	}
	_ = g.Wait() // GracefulStop returns once Stop has
}

func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", st)
	for _, name := range s.services {
		s.health.SetServingStatus(name, st)
	}
}

type addrStringer struct{ a net.Addr }

func (a addrStringer) String() string {
	if a.a == nil {
		return ""
	}
	return a.a.String()
}

func addrOf(l net.Listener) fmt.Stringer {
	if l == nil {
		return addrStringer{}
	}
	return addrStringer{l.Addr()}
}
