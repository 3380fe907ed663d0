// Package rest builds the gateway's HTTP handler: the REST/JSON mapping of the services (grpc-gateway), with
// the suite's error format, a header allowlist, body caps, CORS, request ids, access logs and metrics, plus
// /healthz, /openapi.json, /docs and the HSDS read API.
package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // error details must be registered to marshal
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/gateway/internal/docs"
	"github.com/cus-suite/cus/gateway/internal/hsds"
	"github.com/cus-suite/cus/gateway/internal/openapi"
	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Options configure the handler.
type Options struct {
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// CORSOrigins are the browser origins allowed to call the API; "*" allows any.
	CORSOrigins []string
	// PublicURL is the gateway's external URL, used in HSDS links and the docs page.
	PublicURL string
	// InstanceName appears in HSDS metadata and the docs page.
	InstanceName string
	// Backends are the gRPC connections, by service name, for /healthz.
	Backends map[string]*grpc.ClientConn
}

// Headers that reach the services, besides Authorization, which grpc-gateway always forwards as the
// "authorization" metadata (listing it here too would send it twice). Everything else, including the
// Grpc-Metadata-* headers that grpc-gateway would pass by default, is dropped: a client must not be able to set
// metadata the services trust.
var forwardedHeaders = map[string]string{
	"X-Request-Id":    "x-request-id",
	"Accept-Language": "accept-language",
}

// Response metadata that becomes response headers: none. The request id header is set by the gateway itself
// (and forwarded to the services, which keep it), so passing the services' copy back would only duplicate it.
var returnedHeaders = map[string]string{}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// New builds the gateway's handler over connections to the services.
func New(ctx context.Context, catalogue *grpc.ClientConn, opts Options, log *zap.Logger) (http.Handler, error) {
	marshaler := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			md, ok := forwardedHeaders[textproto.CanonicalMIMEHeaderKey(key)]
			return md, ok
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			h, ok := returnedHeaders[key]
			return h, ok
		}),
		runtime.WithOutgoingTrailerMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithDisablePathLengthFallback(),
	)
	if err := cataloguev1.RegisterCatalogueServiceHandler(ctx, gw, catalogue); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cus_http_requests_total", Help: "HTTP requests handled by the gateway, by method and status code.",
	}, []string{"method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cus_http_request_duration_seconds", Help: "Time to answer an HTTP request.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"method"})
	reg.MustRegister(requests, duration)

	doc, err := openapi.Document()
	if err != nil {
		return nil, err
	}
	page, err := docs.Render(doc, docs.Options{Title: "CUS API reference", PublicURL: opts.PublicURL, InstanceName: opts.InstanceName})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.Handle("/hsds/", hsds.NewHandler(cataloguev1.NewCatalogueServiceClient(catalogue), hsds.Options{
		BaseURL: strings.TrimSuffix(opts.PublicURL, "/") + "/hsds", Publisher: opts.InstanceName,
	}))
	mux.Handle("/hsds", http.RedirectHandler("/hsds/", http.StatusMovedPermanently))
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("/docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.Handle("/healthz", healthHandler(opts.Backends))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/docs", http.StatusFound)
			return
		}
		writeStatus(w, http.StatusNotFound, codes.NotFound, "ROUTE_NOT_FOUND",
			fmt.Sprintf("no route %s %s; see /openapi.json for the API", r.Method, r.URL.Path))
	})

	var h http.Handler = mux
	h = limitBody(h, opts.MaxBodyBytes)
	h = cors(h, opts.CORSOrigins)
	h = observe(h, log, requests, duration)
	return h, nil
}

// observe gives every request an id (kept from the client when plain, else new), logs it without the query
// string or body (they may carry personal data), and counts it.
func observe(next http.Handler, log *zap.Logger, requests *prometheus.CounterVec, duration *prometheus.HistogramVec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
			r.Header.Set("X-Request-Id", id)
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		requests.WithLabelValues(r.Method, strconv.Itoa(rec.status)).Inc()
		duration.WithLabelValues(r.Method).Observe(time.Since(start).Seconds())
		log.Info("http",
			zap.String("request_id", id),
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", rec.status),
			zap.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming responses (WatchChanges as NDJSON) flowing through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// limitBody refuses bodies above max with 413 before reading them, and cuts off bodies that lie about their size.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE",
				fmt.Sprintf("the request body is larger than %d bytes", max))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflights and sets CORS headers for allowed origins only.
func cors(next http.Handler, origins []string) http.Handler {
	allowed := map[string]bool{}
	any := false
	for _, o := range origins {
		if o == "*" {
			any = true
		}
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (any || allowed[origin]) {
			h := w.Header()
			if any {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
			h.Set("Access-Control-Expose-Headers", "X-Request-Id")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id, Accept-Language")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// errorHandler writes a gRPC error as google.rpc.Status JSON with the HTTP code of api-style.md.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	if st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), "http: request body too large") {
		writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE", "the request body is too large")
		return
	}
	if st.Code() == codes.Unavailable && !hasErrorInfo(st) {
		// The backend could not be reached: say so without the dial error's internals.
		st = withInfo(codes.Unavailable, "BACKEND_UNAVAILABLE", "the service behind this route is unavailable; retry later")
	} else if st.Code() == codes.InvalidArgument && !hasErrorInfo(st) {
		// Decoding errors from the gateway itself (malformed JSON, unknown field or enum value, bad query
		// parameter) carry the parser's message, which names the field; keep it and add the reason.
		st = withInfo(codes.InvalidArgument, "MALFORMED_REQUEST", st.Message())
	} else if st.Code() == codes.Unknown || st.Code() == codes.Internal {
		st = withInfo(st.Code(), "INTERNAL", "internal error")
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, st.Err())
}

func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return true
		}
	}
	return false
}

func withInfo(code codes.Code, reason, msg string) *status.Status {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain})
	if err != nil {
		return status.New(code, msg)
	}
	return st
}

// routingErrorHandler makes an unknown route distinguishable from an unknown resource: reason ROUTE_NOT_FOUND
// (or METHOD_NOT_ALLOWED) instead of a resource's *_NOT_FOUND.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		writeStatus(w, http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED",
			fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
	case http.StatusBadRequest:
		writeStatus(w, http.StatusBadRequest, codes.InvalidArgument, "MALFORMED_PATH", "the request path is malformed")
	default:
		writeStatus(w, http.StatusNotFound, codes.NotFound, "ROUTE_NOT_FOUND",
			fmt.Sprintf("no route %s %s; see /openapi.json for the API", r.Method, r.URL.Path))
	}
}

// writeStatus writes a google.rpc.Status JSON body with an ErrorInfo, for errors the gateway itself raises.
func writeStatus(w http.ResponseWriter, httpStatus int, code codes.Code, reason, msg string) {
	st := withInfo(code, reason, msg)
	b, err := protojson.Marshal(st.Proto())
	if err != nil {
		b = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// healthHandler reports SERVING only when every backend does.
func healthHandler(backends map[string]*grpc.ClientConn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		out := map[string]string{}
		healthy := true
		for name, conn := range backends {
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			switch {
			case err != nil:
				out[name] = "UNREACHABLE"
				healthy = false
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				out[name] = resp.GetStatus().String()
				healthy = false
			default:
				out[name] = "SERVING"
			}
		}
		body := map[string]any{"status": "SERVING", "backends": out}
		code := http.StatusOK
		if !healthy {
			body["status"] = "NOT_SERVING"
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
}
