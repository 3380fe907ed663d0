// Package app wires the gateway process: configuration, connections to the services, the HTTP server and its
// graceful shutdown. cmd/gateway only parses arguments and calls it.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/gateway/internal/backend"
	"github.com/cus-suite/cus/gateway/internal/rest"
	"github.com/cus-suite/cus/gateway/internal/web"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/fee"
	"github.com/cus-suite/cus/platform/grpcclient"
)

// Config of the gateway. Every field has a flag and a CUS_ environment variable.
type Config struct {
	Listen         string
	CatalogueAddr  string
	ProviderAddr   string
	ReferralAddr   string
	PublicURL      string
	InstanceName   string
	CORSOrigins    string
	MaxBodyBytes   int64
	RequestTimeout time.Duration
	ShutdownGrace  time.Duration
	LogLevel       string
	LogFormat      string
	// BackendCA, ClientCert and ClientKey switch the connections to the services to mTLS: the gateway proves
	// itself with a certificate whose SAN is cus://service/gateway and checks the services' certificates.
	BackendCA  string
	ClientCert string
	ClientKey  string
	// TrustedProxies are the reverse proxies (ingress, load balancer) in front of the gateway whose
	// X-Forwarded-For names the client; see rest.Options.TrustedProxies.
	TrustedProxies string
	PublicCacheTTL time.Duration
	// ReadHeaderTimeout and IdleTimeout bound a client that is slow to send its request headers and a kept-alive
	// connection with no request; BodyReadTimeout bounds the sending of the body of a request that is not a
	// stream. There is no server-wide read timeout: REST watches are long-lived and must have none.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	BodyReadTimeout   time.Duration
	// StreamsPerConn and MaxStreamConns bound the watches held open to each service: streams go on their own
	// connections (up to MaxStreamConns of StreamsPerConn streams each), never on the one of unary calls.
	StreamsPerConn int
	MaxStreamConns int
	// ContactFile is the JSON description of the CUS for the residents' pages (name, contact details,
	// accessibility declaration); IncomeCriteriaFile the income criteria of their fee calculator, in the format
	// of the referral service's file of the same flag.
	ContactFile        string
	IncomeCriteriaFile string
}

// RegisterFlags declares the flags of Config on fs with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&c.CatalogueAddr, "catalogue-addr", "127.0.0.1:7001", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the catalogue service")
	fs.StringVar(&c.ProviderAddr, "provider-addr", "", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the provider registry (empty: its routes are not served)")
	fs.StringVar(&c.ReferralAddr, "referral-addr", "", "gRPC address (host:port; replicas: host:port,host:port or dns:///name:port) of the referral service (empty: its routes are not served)")
	fs.StringVar(&c.PublicURL, "public-url", "http://localhost:8080", "external URL of the gateway (links in HSDS and docs)")
	fs.StringVar(&c.InstanceName, "instance-name", "CUS Rawicz", "name of this CUS instance")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "comma-separated browser origins allowed to call the API, or * for any")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest accepted request body in bytes")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 30*time.Second, "deadline of a unary call to a service; a client's Grpc-Timeout may shorten it, never lengthen it")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 10*time.Second, "time in-flight requests get to finish on shutdown")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or console")
	fs.StringVar(&c.BackendCA, "backend-ca", "", "CA (PEM) that signs the services' certificates; enables TLS to the services")
	fs.StringVar(&c.ClientCert, "client-cert", "", "the gateway's client certificate (PEM) for mTLS to the services")
	fs.StringVar(&c.ClientKey, "client-key", "", "the gateway's client key (PEM)")
	fs.DurationVar(&c.PublicCacheTTL, "public-cache-ttl", time.Second, "how long anonymous reads of a single public resource may be answered from memory (0: never)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time a client gets to send the request headers")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 2*time.Minute, "how long a kept-alive connection may wait for its next request")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", time.Minute, "time a client gets to send a request body (watches have no read limit)")
	fs.IntVar(&c.StreamsPerConn, "streams-per-conn", 100, "watches carried on one connection to a service before another is opened (below the services' 256 concurrent streams)")
	fs.IntVar(&c.MaxStreamConns, "max-stream-conns", 10, "connections for watches to each service; beyond streams-per-conn times this, a new watch gets 429 TOO_MANY_STREAMS")
	fs.StringVar(&c.ContactFile, "cus-contact-file", "", "JSON file with the CUS's name, contact details and accessibility declaration for the pages at / (docs/web.md); empty: the instance name only")
	fs.StringVar(&c.IncomeCriteriaFile, "income-criteria-file", "", "JSON file of income criteria (kryterium dochodowe) by date for the pages' fee calculator, as the referral service's; empty: the statutory amounts built in")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDR prefixes of reverse proxies in front of the gateway whose X-Forwarded-For is trusted")
}

// Validate checks the configuration, naming each bad setting.
func (c *Config) Validate() error {
	var ch config.Checker
	ch.Addr("listen", c.Listen)
	grpcclient.CheckAddr(&ch, "catalogue-addr", c.CatalogueAddr)
	for flagName, addr := range map[string]string{"provider-addr": c.ProviderAddr, "referral-addr": c.ReferralAddr} {
		if addr == "" {
			continue
		}
		grpcclient.CheckAddr(&ch, flagName, addr)
		if c.BackendCA == "" && !grpcclient.IsLoopback(addr) {
			ch.Fail("backend-ca", "plaintext to the services is allowed only on loopback, not to %s", addr)
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.Fail("public-url", "%q is not an absolute http(s) URL", c.PublicURL)
	}
	for _, o := range c.origins() {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			ch.Fail("cors-origins", "%q is not an origin such as https://cus.rawicz.pl", o)
		}
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		ch.Fail("max-body-bytes", "must be between 1024 and %d", 64<<20)
	}
	ch.Positive("request-timeout", c.RequestTimeout)
	ch.Positive("read-header-timeout", c.ReadHeaderTimeout)
	ch.Positive("idle-timeout", c.IdleTimeout)
	ch.Positive("body-read-timeout", c.BodyReadTimeout)
	if c.StreamsPerConn < 1 || c.StreamsPerConn > 250 {
		ch.Fail("streams-per-conn", "must be between 1 and 250 (the services accept 256 concurrent streams per connection)")
	}
	if c.MaxStreamConns < 1 || c.MaxStreamConns > 100 {
		ch.Fail("max-stream-conns", "must be between 1 and 100")
	}
	if (c.ClientCert == "") != (c.ClientKey == "") {
		ch.Fail("client-cert", "--client-cert and --client-key go together")
	}
	if c.ClientCert != "" && c.BackendCA == "" {
		ch.Fail("backend-ca", "mTLS to the services needs the CA of their certificates")
	}
	if c.PublicCacheTTL < 0 || c.PublicCacheTTL > time.Minute {
		ch.Fail("public-cache-ttl", "must be between 0 and 1m")
	}
	if c.ContactFile != "" {
		if _, err := web.LoadSite(c.ContactFile); err != nil {
			ch.Fail("cus-contact-file", "%v", err)
		}
	}
	if c.IncomeCriteriaFile != "" {
		if _, err := fee.LoadCriteria(c.IncomeCriteriaFile); err != nil {
			ch.Fail("income-criteria-file", "%v", err)
		}
	}
	if _, err := rest.ParsePrefixes(c.TrustedProxies); err != nil {
		ch.Fail("trusted-proxies", "%v", err)
	}
	if c.BackendCA == "" && !grpcclient.IsLoopback(c.CatalogueAddr) {
		ch.Fail("backend-ca", "plaintext to the services is allowed only on loopback, not to %s", c.CatalogueAddr)
	}
	ch.Positive("shutdown-grace", c.ShutdownGrace)
	switch c.LogFormat {
	case "json", "console":
	default:
		ch.Fail("log-format", "must be json or console, got %q", c.LogFormat)
	}
	return ch.Err()
}

func (c *Config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Ready reports the bound address once the gateway serves.
type Ready func(addr string)

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config, log *zap.Logger, ready Ready) error {
	creds, err := grpcclient.Credentials(cfg.BackendCA, cfg.ClientCert, cfg.ClientKey)
	if err != nil {
		return err
	}
	dial := func(addr string) backend.Dial {
		return func() (*grpc.ClientConn, error) {
			return grpcclient.Dial(addr, creds,
				grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)),
				grpc.WithChainUnaryInterceptor(deadline(cfg.RequestTimeout)),
				// A watch stream that a replica ends as it drains (or loses) goes on from another replica: the
				// REST client's NDJSON stream does not see it (docs/etcd.md).
				grpcclient.WithWatchResume(),
			)
		}
	}
	metrics := backend.NewMetrics()
	limits := backend.Limits{StreamsPerConn: cfg.StreamsPerConn, MaxStreamConns: cfg.MaxStreamConns}
	conns := rest.Conns{}
	backends := map[string]grpc.ClientConnInterface{}
	for _, b := range []struct {
		name, flag, addr string
		conn             *grpc.ClientConnInterface
	}{
		{"catalogue", "catalogue-addr", cfg.CatalogueAddr, &conns.Catalogue},
		{"provider", "provider-addr", cfg.ProviderAddr, &conns.Provider},
		{"referral", "referral-addr", cfg.ReferralAddr, &conns.Referral},
	} {
		if b.addr == "" {
			continue
		}
		conn, err := backend.New(b.name, dial(b.addr), limits, metrics)
		if err != nil {
			return fmt.Errorf("--%s: %w", b.flag, err)
		}
		defer conn.Close()
		*b.conn = conn
		backends[b.name] = conn
	}
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	proxies, err := rest.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	site := web.DefaultSite(cfg.InstanceName)
	if cfg.ContactFile != "" {
		if site, err = web.LoadSite(cfg.ContactFile); err != nil {
			return fmt.Errorf("--cus-contact-file: %w", err)
		}
	}
	var criteria []fee.Criterion
	if cfg.IncomeCriteriaFile != "" {
		if criteria, err = fee.LoadCriteria(cfg.IncomeCriteriaFile); err != nil {
			return fmt.Errorf("--income-criteria-file: %w", err)
		}
	}
	h, err := rest.New(ctx, conns, rest.Options{
		Site:           site,
		IncomeCriteria: criteria,
		Streams:        streams,
		PublicCacheTTL: cfg.PublicCacheTTL,
		TrustedProxies: proxies,
		MaxBodyBytes:   cfg.MaxBodyBytes, CORSOrigins: cfg.origins(), PublicURL: cfg.PublicURL,
		InstanceName:    cfg.InstanceName,
		Backends:        backends,
		Collectors:      metrics.Collectors(),
		BodyReadTimeout: cfg.BodyReadTimeout,
	}, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("gateway ready", zap.String("http", ln.Addr().String()), zap.String("catalogue", cfg.CatalogueAddr),
		zap.String("provider", cfg.ProviderAddr), zap.String("referral", cfg.ReferralAddr))
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	endStreams() // watches are long-lived by design: end them, clients resume from their revision
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("grace period over, closing connections", zap.Error(err))
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// deadline gives every unary call a deadline of at most d, so a stuck backend cannot hold a request forever. A
// deadline already on the context (grpc-gateway turns a client's Grpc-Timeout header into one) is kept only
// when it is sooner: a client may ask for less time, never for more.
func deadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, cancel := context.WithTimeout(ctx, d) // keeps the parent's deadline when that is sooner
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
