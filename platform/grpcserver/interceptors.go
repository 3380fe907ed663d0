package grpcserver

import (
	"context"
	"regexp"
	"time"

	"github.com/cus-suite/cus/platform/i18n"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader carries the request id between the gateway, the services and the client.
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

// RequestID returns the request id of the call in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// A client-sent request id is kept only when it is short and plain, so logs cannot be flooded or forged.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestIDFrom(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && validRequestID.MatchString(v[0]) {
			return v[0]
		}
	}
	return uuid.NewString()
}

// The chain, outermost first. Each step's position matters:
//  1. request id: every later step and the handler can log it; it is echoed in the response header.
//  2. access log: logs the final code, after errors were mapped and panics recovered.
//  3. metrics: counts the same final code.
//  4. recovery: a panic becomes INTERNAL without its text.
//  5. error mapping: domain errors become statuses with ErrorInfo, in one place (ToStatus), in the language of
//     the caller's accept-language metadata (StatusIn, platform/i18n).
//  6. limits per client address and in flight (Config.Limits), BEFORE authentication: a call that will be
//     refused (no token, a forged one, a garbage key id) is limited like any other, so refusals cannot be used
//     to make the service verify signatures, fetch keys or write audit entries without bound.
//  7. authentication and the service's policy (Config.Auth), inside the mapping so refusals carry ErrorInfo.
//  8. limits per principal (Config.Limits), after authentication so callers are told apart.
//
// Options passed to New (grpc.UnaryInterceptor) run outside this chain, before step 1; none may do
// per-call work before step 6 that a flood of refused calls could abuse.
type chain struct {
	log     *zap.Logger
	metrics *rpcMetrics
}

func (c *chain) unary() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{c.unaryRequestID, c.unaryAccessLog, c.unaryMetrics, c.unaryRecover, unaryErrors}
}

func (c *chain) stream() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{c.streamRequestID, c.streamAccessLog, c.streamMetrics, c.streamRecover, streamErrors}
}

func (c *chain) unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	id := requestIDFrom(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return h(context.WithValue(ctx, requestIDKey{}, id), req)
}

func (c *chain) streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	id := requestIDFrom(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
	return h(srv, &ctxStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), requestIDKey{}, id)})
}

// The access log has the method, code, duration and request id, and never the request or response body:
// those may hold personal data.
func (c *chain) unaryAccessLog(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	c.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (c *chain) streamAccessLog(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	err := h(srv, ss)
	c.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

func (c *chain) logCall(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	fields := []zap.Field{
		zap.String("request_id", RequestID(ctx)),
		zap.String("method", method),
		zap.String("code", code.String()),
		zap.Duration("duration", time.Since(start)),
	}
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		c.log.Error("rpc", fields...)
	default:
		c.log.Info("rpc", fields...)
	}
}

type rpcMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRPCMetrics(reg prometheus.Registerer) *rpcMetrics {
	m := &rpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cus_grpc_requests_total", Help: "gRPC calls handled, by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cus_grpc_request_duration_seconds", Help: "Time to handle a gRPC call (for streams: the stream's life).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (c *chain) unaryMetrics(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	c.metrics.observe(info.FullMethod, start, err)
	return resp, err
}

func (c *chain) streamMetrics(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	err := h(srv, ss)
	c.metrics.observe(info.FullMethod, start, err)
	return err
}

func (m *rpcMetrics) observe(method string, start time.Time, err error) {
	m.requests.WithLabelValues(method, status.Code(err).String()).Inc()
	m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

func (c *chain) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logPanic(ctx, info.FullMethod, r)
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return h(ctx, req)
}

func (c *chain) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logPanic(ss.Context(), info.FullMethod, r)
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return h(srv, ss)
}

// logPanic logs where the panic happened but not its value, which may hold request data.
func (c *chain) logPanic(ctx context.Context, method string, r any) {
	c.log.Error("panic in handler",
		zap.String("request_id", RequestID(ctx)),
		zap.String("method", method),
		zap.String("panic_type", typeName(r)),
		zap.StackSkip("stack", 3))
}

func typeName(v any) string {
	switch v.(type) {
	case error:
		return "error"
	case string:
		return "string"
	default:
		return "other"
	}
}

func unaryErrors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		return nil, StatusIn(err, i18n.FromIncoming(ctx)).Err()
	}
	return resp, nil
}

func streamErrors(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := h(srv, ss); err != nil {
		return StatusIn(err, i18n.FromIncoming(ss.Context())).Err()
	}
	return nil
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
