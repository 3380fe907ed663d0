// Package grpcclient is the one way the gateway and the services dial another service of the suite. It owns
// the address syntax of the --*-addr flags (one host:port, a comma-separated list of replicas, or
// dns:///name:port), round-robin balancing over the replicas with client-side health checking, keepalive fit
// for replicas that go away, the transport credentials built from --backend-ca/--client-cert/--client-key, and
// the retry policy: UNAVAILABLE is retried, on another replica, only for the methods classified idempotent in
// methods.go.
package grpcclient

import (
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	// Registers the client side of grpc.health.v1, which the service config's healthCheckConfig turns on:
	// a replica that reports NOT_SERVING (it is starting or draining) gets no new calls.
	_ "google.golang.org/grpc/health"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
)

// dnsScheme is the one URI scheme an address may carry: gRPC's own DNS resolver, which returns every A/AAAA
// record of the name, i.e. every ready pod behind a Kubernetes headless Service.
const dnsScheme = "dns:///"

// listScheme names the resolver of a fixed list of replicas; it is local to each connection.
const listScheme = "cus-replicas"

// Target is a parsed service address.
type Target struct {
	// Addrs are the replicas of a list (one for a plain host:port); empty for a DNS name.
	Addrs []string
	// DNS is the name:port of a dns:/// address.
	DNS string
}

// Replicated reports whether the address may name more than one replica: then a replica that reports
// NOT_SERVING is skipped. A single host:port keeps today's behaviour: calls go to it whatever its health says,
// and its own answers (UNAVAILABLE while it loads) reach the caller.
func (t Target) Replicated() bool { return t.DNS != "" || len(t.Addrs) > 1 }

// Hosts are the host names or IPs the address names (the DNS name for dns:///).
func (t Target) Hosts() []string {
	if t.DNS != "" {
		h, _, _ := net.SplitHostPort(t.DNS)
		return []string{h}
	}
	out := make([]string, len(t.Addrs))
	for i, a := range t.Addrs {
		out[i], _, _ = net.SplitHostPort(a)
	}
	return out
}

// Parse reads an address: "host:port", "host1:port,host2:port" (replicas) or "dns:///name:port".
func Parse(addr string) (Target, error) {
	addr = strings.TrimSpace(addr)
	if rest, ok := strings.CutPrefix(addr, dnsScheme); ok {
		if err := hostPort(rest); err != nil {
			return Target{}, err
		}
		return Target{DNS: rest}, nil
	}
	if strings.Contains(addr, "://") || strings.Contains(addr, ":///") {
		return Target{}, fmt.Errorf("%q: the only scheme understood is dns:/// (e.g. dns:///cus-catalogue.cus-rawicz.svc:7001); a list of replicas is host:port,host:port", addr)
	}
	var t Target
	seen := map[string]bool{}
	for _, a := range strings.Split(addr, ",") {
		a = strings.TrimSpace(a)
		if err := hostPort(a); err != nil {
			return Target{}, err
		}
		if seen[a] {
			return Target{}, fmt.Errorf("%q is listed twice", a)
		}
		seen[a] = true
		t.Addrs = append(t.Addrs, a)
	}
	return t, nil
}

func hostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("%q is not a host:port address", a)
	}
	return nil
}

// IsLoopback reports whether every replica the address names is on loopback, where plaintext is allowed.
func IsLoopback(addr string) bool {
	t, err := Parse(addr)
	if err != nil {
		return false
	}
	if t.DNS != "" {
		return auth.IsLoopback(t.DNS)
	}
	for _, a := range t.Addrs {
		if !auth.IsLoopback(a) {
			return false
		}
	}
	return true
}

// Credentials are the transport credentials of the suite's internal calls: TLS verified against caFile
// (--backend-ca), presenting certFile/keyFile (--client-cert/--client-key) when set; plaintext without a CA,
// which the binaries allow only to loopback (IsLoopback).
func Credentials(caFile, certFile, keyFile string) (credentials.TransportCredentials, error) {
	if caFile == "" {
		return insecure.NewCredentials(), nil
	}
	tc, err := auth.ClientTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, fmt.Errorf("--backend-ca: %w", err)
	}
	return credentials.NewTLS(tc), nil
}

// Keepalive of connections to replicas: a replica that vanishes without closing its connections (a node lost,
// a network partition) is found dead within Time+Timeout and its calls go to the others. Time stays above the
// servers' enforcement minimum (10 s, platform/grpcserver), or they would close the connection.
var Keepalive = keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}

// reconnect is the backoff of reconnecting to a replica: a restarted pod is back within seconds, so the
// default's two minutes at most would leave it without calls for long after it is ready.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 250 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// Dial makes a client connection to addr (see Parse) with creds. Like grpc.NewClient it connects lazily; extra
// options (message sizes, interceptors of the caller) come after the suite's own.
func Dial(addr string, creds credentials.TransportCredentials, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	t, err := Parse(addr)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(ServiceConfig(t.Replicated())),
		grpc.WithKeepaliveParams(Keepalive),
		grpc.WithConnectParams(reconnect),
		grpc.WithChainUnaryInterceptor(fillRequestID),
	}
	target := "dns:///" + t.DNS
	if t.DNS == "" {
		// A fixed list: a resolver of this connection alone hands gRPC the addresses, each with its own host as
		// the TLS server name (the certificate of a replica names that replica's address).
		r := manual.NewBuilderWithScheme(listScheme)
		st := resolver.State{}
		for _, a := range t.Addrs {
			host, _, _ := net.SplitHostPort(a)
			st.Endpoints = append(st.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a, ServerName: host}}})
		}
		r.InitialState(st)
		opts = append(opts, grpc.WithResolvers(r))
		target = listScheme + ":///" + t.Addrs[0]
	}
	return grpc.NewClient(target, append(opts, extra...)...)
}

// CheckAddr reports a --*-addr flag whose value Parse refuses.
func CheckAddr(ch *config.Checker, flagName, addr string) {
	if _, err := Parse(addr); err != nil {
		ch.Fail(flagName, "%v", err)
	}
}
