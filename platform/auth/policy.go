package auth

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/cus-suite/cus/platform/apierr"
)

// Errors of authorization.
var (
	ErrAuthenticationRequired = apierr.New(apierr.KindUnauthenticated, "AUTHENTICATION_REQUIRED", "this method needs a bearer token")
	ErrRoleNotAllowed         = apierr.New(apierr.KindPermissionDenied, "ROLE_NOT_ALLOWED", "your role may not call this method")
	ErrMethodNotInPolicy      = apierr.New(apierr.KindPermissionDenied, "METHOD_NOT_IN_POLICY", "this method is not open to any caller")
	ErrMalformedAuthorization = apierr.New(apierr.KindUnauthenticated, "AUTHORIZATION_MALFORMED", "the authorization header must be \"Bearer <token>\"")
	ErrTokensNotAccepted      = apierr.New(apierr.KindUnauthenticated, "TOKENS_NOT_ACCEPTED", "this service is configured without an identity provider and accepts no tokens")
)

// Policy is the one declarative table of which role may call which RPC of a service. The interceptor enforces
// it, and docs/authorization.md is generated from it, so the published table is the enforced one.
type Policy struct {
	// Service is the full gRPC service name, e.g. "cus.catalogue.v1.CatalogueService".
	Service string
	// Methods maps a method name to the roles that may call it. RoleAnonymous means anyone, with or
	// without credentials. A method missing from the table is refused to everyone (fail closed).
	Methods map[string][]Role
	// Notes explain a method's rule in the published table (object-level checks, scopes).
	Notes map[string]string
}

// Public lists gRPC infrastructure open to anyone: health checks and reflection (so grpcurl works).
var Public = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Allowed reports whether role r may call method (a full method name "/pkg.Service/Method").
func (p Policy) Allowed(method string, r Role) bool {
	roles, ok := p.rolesOf(method)
	return ok && (slices.Contains(roles, RoleAnonymous) || slices.Contains(roles, r))
}

func (p Policy) rolesOf(fullMethod string) ([]Role, bool) {
	svc, m, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || svc != p.Service {
		return nil, false
	}
	roles, ok := p.Methods[m]
	return roles, ok
}

// Check decides a call: nil, UNAUTHENTICATED for an anonymous caller of a non-public method, or PERMISSION_DENIED.
func (p Policy) Check(fullMethod string, pr *Principal) error {
	for _, prefix := range Public {
		if strings.HasPrefix(fullMethod, prefix) {
			return nil
		}
	}
	roles, ok := p.rolesOf(fullMethod)
	if !ok {
		return ErrMethodNotInPolicy
	}
	if slices.Contains(roles, RoleAnonymous) {
		return nil
	}
	for _, r := range pr.Roles {
		if slices.Contains(roles, r) {
			return nil
		}
	}
	if pr.IsAnonymous() {
		return ErrAuthenticationRequired
	}
	return ErrRoleNotAllowed
}

// Markdown renders the table for docs/.
func (p Policy) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| method |", p.Service)
	for _, r := range Roles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString(" notes |\n|---|")
	for range Roles {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	names := make([]string, 0, len(p.Methods))
	for m := range p.Methods {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		fmt.Fprintf(&b, "| %s |", m)
		for _, r := range Roles {
			mark := ""
			if slices.Contains(p.Methods[m], RoleAnonymous) || slices.Contains(p.Methods[m], r) {
				mark = "yes"
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
		fmt.Fprintf(&b, " %s |\n", p.Notes[m])
	}
	return b.String()
}

// Authenticator turns call credentials into a Principal and enforces a Policy.
type Authenticator struct {
	// Verifier checks bearer tokens; nil means tokens are refused (anonymous calls only).
	Verifier *Verifier
	// Policy of the service.
	Policy Policy
	// ClientCAs decide which identity a client certificate proves (mTLS); nil: certificates prove none.
	ClientCAs *ClientCAs
}

// Close ends the verifier's background work; the server calls it once no call is left.
func (a *Authenticator) Close() {
	if a != nil && a.Verifier != nil {
		a.Verifier.Close()
	}
}

func (a *Authenticator) authenticate(ctx context.Context) (*Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		if p := a.principalFromPeerCert(ctx); p != nil {
			return p, nil
		}
		return Anonymous(), nil
	}
	if len(vals) > 1 {
		return nil, ErrMalformedAuthorization
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return nil, ErrMalformedAuthorization
	}
	if a.Verifier == nil {
		return nil, ErrTokensNotAccepted
	}
	return a.Verifier.Verify(ctx, strings.TrimSpace(token))
}

// principalFromPeerCert is the identity of the connection's client certificate (see tls.go); without client
// certificates, or without CAs configured, it yields nil.
func (a *Authenticator) principalFromPeerCert(ctx context.Context) *Principal {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return nil
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		return a.ClientCAs.Principal(ti)
	}
	return nil
}

// Unary authenticates and authorizes unary calls; the handler finds the caller with FromContext.
func (a *Authenticator) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := a.admit(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// Stream authenticates and authorizes streams.
func (a *Authenticator) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := a.admit(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

func (a *Authenticator) admit(ctx context.Context, method string) (context.Context, error) {
	p, err := a.authenticate(ctx)
	if err != nil {
		return ctx, err
	}
	if err := a.Policy.Check(method, p); err != nil {
		return ctx, err
	}
	return WithPrincipal(ctx, p), nil
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// CallerKey identifies a caller for rate limiting: the subject of an authenticated caller, or the network
// address of an anonymous one (see ClientAddr).
func CallerKey(ctx context.Context, trustedProxies []netip.Prefix) string {
	if p := FromContext(ctx); !p.IsAnonymous() {
		return p.Via + ":" + p.Subject
	}
	if a, ok := ClientAddr(ctx, trustedProxies); ok {
		return "addr:" + a.String()
	}
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.Addr == nil {
		return "anonymous"
	}
	return "addr:" + pr.Addr.String()
}

// ClientAddr is the network address of the client of a call, whoever it claims to be: the peer address, or,
// when the direct peer is a trusted proxy (the gateway), the last entry of x-forwarded-for, which the gateway
// appends from the connection it accepted; entries before it are whatever the client claimed and are ignored.
// It needs no credentials, so limits keyed by it apply before authentication.
func ClientAddr(ctx context.Context, trustedProxies []netip.Prefix) (netip.Addr, bool) {
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.Addr == nil {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddrPort(pr.Addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	ip := addr.Addr().Unmap()
	for _, tp := range trustedProxies {
		if tp.Contains(ip) {
			md, _ := metadata.FromIncomingContext(ctx)
			if fwd := md.Get("x-forwarded-for"); len(fwd) > 0 {
				hops := strings.Split(fwd[len(fwd)-1], ",")
				if client, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
					return client.Unmap().WithZone(""), true
				}
			}
			break
		}
	}
	return ip.WithZone(""), true
}
