// Package rest builds the gateway's HTTP handler: the REST/JSON mapping of the services (grpc-gateway), with
// the suite's error format, a header allowlist, body caps, CORS, request ids, access logs and metrics, plus
// /healthz, /openapi.json, /docs, the HSDS read API and the residents' pages at / (gateway/internal/web).
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/gateway/internal/docs"
	"github.com/cus-suite/cus/gateway/internal/hsds"
	"github.com/cus-suite/cus/gateway/internal/openapi"
	"github.com/cus-suite/cus/gateway/internal/web"
	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
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
	Backends map[string]grpc.ClientConnInterface
	// Collectors are further metrics served on /metrics (the backend stream pools').
	Collectors []prometheus.Collector
	// BodyReadTimeout bounds the time a client may take to send the body of a request that is not a stream
	// (0: no bound). The HTTP server has no overall read timeout, which would end watches; this one cuts off
	// slow senders of bodies instead.
	BodyReadTimeout time.Duration
	// TrustedProxies are reverse proxies in front of the gateway: for a request from one of them, the client is
	// the rightmost X-Forwarded-For address that is not a trusted proxy. The gateway then forwards that one
	// address, so the services limit and log per client.
	TrustedProxies []netip.Prefix
	// PublicCacheTTL is how long anonymous reads of single public resources may be answered from memory;
	// 0 disables the cache.
	PublicCacheTTL time.Duration
	// Site describes the CUS on the residents' pages served at / (name, contact, accessibility declaration);
	// a site named after InstanceName, without contact details, when its Name is empty.
	Site web.Site
	// IncomeCriteria are the income criteria of the pages' fee calculator (platform/fee defaults when empty).
	IncomeCriteria []fee.Criterion
	// Streams ends when the gateway starts shutting down: open watch streams end with it, so a graceful
	// shutdown does not wait for long-lived responses.
	Streams context.Context
}

// Headers that reach the services, besides Authorization, which grpc-gateway always forwards as the
// "authorization" metadata (listing it here too would send it twice). Everything else, including the
// Grpc-Metadata-* headers that grpc-gateway would pass by default, is dropped: a client must not be able to set
// metadata the services trust.
var forwardedHeaders = map[string]string{
	"X-Request-Id":    "x-request-id",
	"Accept-Language": "accept-language",
}

// Response metadata that becomes response headers: only the file name of a spreadsheet export
// (Content-Disposition, set by the Export* RPCs). The request id header is set by the gateway itself (and
// forwarded to the services, which keep it), so passing the services' copy back would only duplicate it.
var returnedHeaders = map[string]string{"content-disposition": "Content-Disposition"}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// apiVersionPath matches paths of API versions the gateway does not serve (/v2/..., /v1beta/...), answered as API errors.
var apiVersionPath = regexp.MustCompile(`^/v[0-9]+[a-z0-9]*(/|$)`)

// Conns are the gateway's connections to the services; Provider and Referral are optional (their routes are
// served only when they are configured).
type Conns struct {
	Catalogue grpc.ClientConnInterface
	Provider  grpc.ClientConnInterface
	Referral  grpc.ClientConnInterface
}

// New builds the gateway's handler over connections to the services.
func New(ctx context.Context, conns Conns, opts Options, log *zap.Logger) (http.Handler, error) {
	conns = withIfMatch(conns) // If-Match becomes the request's etag (etag.go)
	catalogue := conns.Catalogue
	doc, err := openapi.Document()
	if err != nil {
		return nil, err
	}
	docV2, err := openapi.DocumentV2()
	if err != nil {
		return nil, err
	}
	// The route table reads the 2.0 document: its path patterns are grpc-gateway's own templates.
	routes, err := newRouteTable(docV2)
	if err != nil {
		return nil, err
	}
	marshaler := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	gw := runtime.NewServeMux(
		// HTTPBodyMarshaler writes a google.api.HttpBody response (the spreadsheet exports) as its raw bytes with
		// its own Content-Type; every other message is JSON.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: marshaler}),
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
		runtime.WithRoutingErrorHandler(routingErrorHandler(routes)),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithForwardResponseOption(etagHeader),
	)
	// The handlers call through the given connections (Register*HandlerClient), which may route streams apart
	// from unary calls (gateway/internal/backend).
	if err := cataloguev1.RegisterCatalogueServiceHandlerClient(ctx, gw, cataloguev1.NewCatalogueServiceClient(catalogue)); err != nil {
		return nil, err
	}
	if conns.Provider != nil {
		if err := providerv1.RegisterProviderServiceHandlerClient(ctx, gw, providerv1.NewProviderServiceClient(conns.Provider)); err != nil {
			return nil, err
		}
	}
	if conns.Referral != nil {
		if err := referralv1.RegisterReferralServiceHandlerClient(ctx, gw, referralv1.NewReferralServiceClient(conns.Referral)); err != nil {
			return nil, err
		}
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
	reg.MustRegister(opts.Collectors...)

	page, err := docs.Render(doc, docs.Options{Title: "CUS API reference", PublicURL: opts.PublicURL, InstanceName: opts.InstanceName})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", withConditionalRequests(newPublicCache(opts.PublicCacheTTL, 10000).middleware(gw)))
	hopts := hsds.Options{
		BaseURL: strings.TrimSuffix(opts.PublicURL, "/") + "/hsds", Publisher: opts.InstanceName, Logger: log,
	}
	if conns.Provider != nil {
		hopts.Providers = providerv1.NewProviderServiceClient(conns.Provider)
	}
	mux.Handle("/hsds/", forwardClient(hsds.NewHandler(cataloguev1.NewCatalogueServiceClient(catalogue), hopts)))
	mux.Handle("/hsds", http.RedirectHandler("/hsds/", http.StatusMovedPermanently))
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("/openapi-v2.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(docV2)
	})
	mux.HandleFunc("/docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.Handle("/healthz", healthHandler(opts.Backends))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// The residents' pages own every other path; what looks like another API version stays a JSON 404.
	site := opts.Site
	if site.Name == "" {
		site = web.DefaultSite(opts.InstanceName)
	}
	wopts := web.Options{Catalogue: cataloguev1.NewCatalogueServiceClient(catalogue), PublicURL: opts.PublicURL,
		Site: site, Criteria: opts.IncomeCriteria, Logger: log}
	if conns.Provider != nil {
		wopts.Providers = providerv1.NewProviderServiceClient(conns.Provider)
	}
	pages, err := web.New(wopts)
	if err != nil {
		return nil, err
	}
	pageCache := newPublicCache(opts.PublicCacheTTL, 1000)
	pageCache.match = web.Cacheable
	pagesHandler := forwardClient(pageCache.middleware(pages))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if apiVersionPath.MatchString(r.URL.Path) {
			writeStatus(w, r, http.StatusNotFound, codes.NotFound, "ROUTE_NOT_FOUND",
				fmt.Sprintf("no route %s %s; see /openapi.json for the API", r.Method, r.URL.Path))
			return
		}
		pagesHandler.ServeHTTP(w, r)
	})

	var h http.Handler = mux
	if opts.Streams != nil {
		h = endStreamsOnShutdown(h, opts.Streams)
	}
	h = limitBody(h, opts.MaxBodyBytes)
	h = cors(h, opts.CORSOrigins)
	h = observe(h, log, requests, duration)
	h = clientAddress(h, opts.TrustedProxies)
	h = bodyReadDeadline(h, opts.BodyReadTimeout)
	return h, nil
}

// clientAddress replaces the connection's address with the client's when the connection comes from a trusted
// proxy, and drops any X-Forwarded-For the client sent, so what reaches the services (grpc-gateway appends the
// remote address to x-forwarded-for) names exactly the client, and cannot be forged from outside.
func clientAddress(next http.Handler, trusted []netip.Prefix) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && isTrusted(remote.Addr()) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, perr := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if perr != nil {
					break
				}
				if !isTrusted(a) {
					r.RemoteAddr = netip.AddrPortFrom(a, 0).String()
					break
				}
			}
		}
		r.Header.Del("X-Forwarded-For")
		next.ServeHTTP(w, r)
	})
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8", p)
		}
		out = append(out, pfx)
	}
	return out, nil
}

// forwardClient gives handlers that call the services themselves (HSDS) what grpc-gateway gives the /v1
// routes: the request id, and the client's address appended to x-forwarded-for, so the services log and limit
// per client rather than per gateway.
func forwardClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md := metadata.Pairs("x-request-id", r.Header.Get("X-Request-Id"))
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			md.Set("x-forwarded-for", host)
		}
		next.ServeHTTP(w, r.WithContext(metadata.NewOutgoingContext(r.Context(), md)))
	})
}

// isStream tells the routes whose responses are long-lived streams (the watches).
func isStream(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ":watch") }

// errBodyReadTimeout is what a request body returns once its read deadline passed.
var errBodyReadTimeout = errors.New("request body read timeout")

// bodyReadDeadline gives a request that is not a stream d to send its body: a client that trickles a body is cut
// off with 408 instead of holding a connection and a handler. Streams get no deadline: a watch is long-lived by
// design (the server keeps its header and idle timeouts, and has no overall read timeout). The deadline needs
// no lifting: once the body is read, net/http clears it for its background read of the connection.
func bodyReadDeadline(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStream(r) || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)); err == nil {
			r.Body = deadlineBody{r.Body}
		} // else the connection cannot take deadlines (a test recorder): nothing to bound
		next.ServeHTTP(w, r)
	})
}

// deadlineBody names a read timeout as such, so the error handler answers 408 rather than "malformed JSON".
type deadlineBody struct{ io.ReadCloser }

func (b deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		return n, errBodyReadTimeout
	}
	return n, err
}

// endStreamsOnShutdown ends watch responses when streams is done.
func endStreamsOnShutdown(next http.Handler, streams context.Context) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(streams, cancel)
		defer stop()
		uw := &streamErrorUnwrapper{ResponseWriter: w}
		next.ServeHTTP(uw, r.WithContext(ctx))
		uw.finish()
	})
}

// streamErrorUnwrapper makes a watch that fails before its first message answer like every other route: a bare
// google.rpc.Status (grpc-gateway wraps stream errors as {"error": Status}, which stays the format of an error
// ending a stream that already sent results), with the WWW-Authenticate challenge on 401.
type streamErrorUnwrapper struct {
	http.ResponseWriter
	failed bool
	code   int
	buf    []byte
}

func (u *streamErrorUnwrapper) WriteHeader(code int) {
	if code >= 400 {
		u.failed, u.code = true, code
		return
	}
	u.ResponseWriter.WriteHeader(code)
}

func (u *streamErrorUnwrapper) Write(b []byte) (int, error) {
	if u.failed {
		u.buf = append(u.buf, b...)
		return len(b), nil
	}
	return u.ResponseWriter.Write(b)
}

func (u *streamErrorUnwrapper) Flush() {
	if !u.failed {
		if f, ok := u.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (u *streamErrorUnwrapper) finish() {
	if !u.failed {
		return
	}
	body := u.buf
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Error) > 0 {
		body = env.Error
	}
	if u.code == http.StatusUnauthorized {
		var st struct {
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		challenge := `Bearer realm="cus"`
		if json.Unmarshal(body, &st) == nil {
			for _, d := range st.Details {
				if d.Reason != "" && d.Reason != "AUTHENTICATION_REQUIRED" {
					challenge += `, error="invalid_token"`
				}
			}
		}
		u.Header().Set("WWW-Authenticate", challenge)
	}
	u.Header().Set("Content-Type", "application/json")
	u.Header().Del("Transfer-Encoding")
	u.ResponseWriter.WriteHeader(u.code)
	_, _ = u.ResponseWriter.Write(body)
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
			writeStatus(w, r, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE",
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
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, ETag")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id, Accept-Language, If-Match, If-None-Match")
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
	switch {
	case st.Code() == codes.InvalidArgument && !hasErrorInfo(st) && strings.Contains(st.Message(), errBodyReadTimeout.Error()):
		writeStatus(w, r, http.StatusRequestTimeout, codes.DeadlineExceeded, "BODY_READ_TIMEOUT", "the request body was not sent in time")
		return
	case st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), "http: request body too large"):
		writeStatus(w, r, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE", "the request body is too large")
		return
	case st.Code() == codes.Unavailable && !hasErrorInfo(st):
		// The backend could not be reached: say so without the dial error's internals.
		st = withInfo(codes.Unavailable, "BACKEND_UNAVAILABLE", "the service behind this route is unavailable; retry later")
	case st.Code() == codes.DeadlineExceeded && !hasErrorInfo(st):
		// The gateway's own deadline (--request-timeout, a ceiling on any Grpc-Timeout) ran out before the service
		// answered: say which deadline in our words, not Go's "context deadline exceeded".
		st = withInfo(codes.DeadlineExceeded, "DEADLINE_EXCEEDED", "the service did not answer within the gateway's request deadline; retry later or ask for less")
	case st.Code() == codes.Canceled && !hasErrorInfo(st):
		st = withInfo(codes.Canceled, "CANCELLED", "the request was cancelled before the service answered")
	case st.Code() == codes.InvalidArgument && !hasErrorInfo(st):
		// Decoding errors of the gateway itself (malformed JSON, unknown field or enum value, bad query
		// parameter) carry Go parser text; say what is wrong in our words, naming the field when we can.
		st = withInfo(codes.InvalidArgument, "MALFORMED_REQUEST", describeDecodeError(st.Message()))
	case st.Code() == codes.Unknown || st.Code() == codes.Internal:
		st = withInfo(st.Code(), "INTERNAL", "internal error")
	}
	writeGRPCStatus(w, m, localize(w, r, st))
}

// writeGRPCStatus renders a status with the code mapping of api-style.md. A 401 carries a proper challenge.
func writeGRPCStatus(w http.ResponseWriter, m runtime.Marshaler, st *status.Status) {
	body, err := m.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	code := runtime.HTTPStatusFromCode(st.Code())
	if st.Code() == codes.Unauthenticated {
		challenge := `Bearer realm="cus"`
		if reason := reasonOf(st); reason != "AUTHENTICATION_REQUIRED" && reason != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Del("Trailer")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

var (
	queryFieldError  = regexp.MustCompile(`parsing field "([^"]+)"`)
	unknownJSONField = regexp.MustCompile(`unknown field "([^"]+)"`)
	badEnumValue     = regexp.MustCompile(`invalid value for enum (?:type|field) ([A-Za-z0-9_.]+): "?([^"]*)"?`)
)

// describeDecodeError turns a decoder's message into one for integrators, without Go internals.
func describeDecodeError(msg string) string {
	switch {
	case queryFieldError.MatchString(msg):
		return fmt.Sprintf("query parameter %s has a value of the wrong type", queryFieldError.FindStringSubmatch(msg)[1])
	case unknownJSONField.MatchString(msg):
		return fmt.Sprintf("unknown field %q in the request body (field names are lowerCamelCase, see /openapi.json)", unknownJSONField.FindStringSubmatch(msg)[1])
	case badEnumValue.MatchString(msg):
		m := badEnumValue.FindStringSubmatch(msg)
		return fmt.Sprintf("%q is not a value of %s (see /openapi.json for the values)", m[2], m[1][strings.LastIndex(m[1], ".")+1:])
	case strings.Contains(msg, "EOF"):
		return "the request body is empty or truncated JSON"
	case strings.Contains(msg, "syntax error"), strings.Contains(msg, "invalid character"), strings.Contains(msg, "unexpected token"):
		return "the request body is not valid JSON"
	case strings.Contains(msg, "invalid value for") || strings.Contains(msg, "proto:"):
		return "a field of the request body has a value of the wrong type"
	}
	return "the request could not be decoded"
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
// (or METHOD_NOT_ALLOWED, with the Allow header) instead of a resource's *_NOT_FOUND.
func routingErrorHandler(routes routeTable) runtime.RoutingErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		switch httpStatus {
		case http.StatusMethodNotAllowed:
			if allow := routes.allowed(r.URL.Path); len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
			}
			writeStatus(w, r, http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
		case http.StatusBadRequest:
			writeStatus(w, r, http.StatusBadRequest, codes.InvalidArgument, "MALFORMED_PATH", "the request path is malformed")
		default:
			writeStatus(w, r, http.StatusNotFound, codes.NotFound, "ROUTE_NOT_FOUND",
				fmt.Sprintf("no route %s %s; see /openapi.json for the API", r.Method, r.URL.Path))
		}
	}
}

// writeStatus writes a google.rpc.Status JSON body with an ErrorInfo, for errors the gateway itself raises.
func writeStatus(w http.ResponseWriter, r *http.Request, httpStatus int, code codes.Code, reason, msg string) {
	st := localize(w, r, withInfo(code, reason, msg))
	b, err := protojson.Marshal(st.Proto())
	if err != nil {
		b = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// healthHandler reports SERVING only when every backend does.
func healthHandler(backends map[string]grpc.ClientConnInterface) http.Handler {
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
