// Package server implements cus.provider.v1.ProviderService: each handler validates the request, decides what
// the caller may see or change, applies the domain's rules, and calls the store; errors are domain errors that
// platform/grpcserver maps to statuses in one place.
package server

import (
	"context"
	"regexp"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
	"github.com/cus-suite/cus/services/provider/internal/store"
)

// ServiceChecker looks up, in the catalogue, the service an agreement is to cover, before the agreement is
// written: the handlers apply the catalogue's rules to it (domain.CheckServiceOffered,
// domain.CheckNotContractedOut). It returns domain.ErrServiceNotInCatalogue (NOT_FOUND) for a service the
// catalogue does not have, which the handler reports as a violation of agreement.service, and an UNAVAILABLE
// error when the catalogue cannot be asked, which is passed on with nothing written. The process wires
// CatalogueServices (package app); FormatOnly is for tests of handlers that do not touch agreements' services.
type ServiceChecker interface {
	LookupService(ctx context.Context, service string) (*cataloguev1.Service, error)
}

// FormatOnly is the ServiceChecker that accepts every well-formed `services/{uuid}` as an ACTIVE service that
// needs no decision. Never used by the process.
type FormatOnly struct{}

// LookupService returns an empty (unrestricted) service.
func (FormatOnly) LookupService(_ context.Context, name string) (*cataloguev1.Service, error) {
	return &cataloguev1.Service{Name: name}, nil
}

// CatalogueServices is the ServiceChecker backed by the catalogue service (GetService, a public read: no token
// is sent, the caller's is not forwarded).
type CatalogueServices struct {
	Client cataloguev1.CatalogueServiceClient
	// Timeout bounds each call (default 3s).
	Timeout time.Duration
	// WaitForReady makes a call wait (within Timeout) for a catalogue that is not up yet instead of failing at
	// once: for the demo load at start, when the catalogue may be starting too.
	WaitForReady bool
	Log          *zap.Logger
}

// LookupService implements ServiceChecker.
func (c CatalogueServices) LookupService(ctx context.Context, name string) (*cataloguev1.Service, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	svc, err := c.Client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: name}, grpc.WaitForReady(c.WaitForReady))
	switch code := status.Code(err); {
	case err == nil:
		return svc, nil
	case code == codes.NotFound:
		return nil, domain.ErrServiceNotInCatalogue
	default:
		// Whatever the catalogue's trouble (down, slow, refusing this registry), the agreement waits for it.
		if c.Log != nil {
			c.Log.Warn("catalogue lookup of an agreement's service failed", zap.String("service", name),
				zap.String("code", code.String()), zap.String("request_id", grpcserver.RequestID(ctx)))
		}
		return nil, domain.ErrCatalogueUnavailable
	}
}

// Server is the provider registry's gRPC service.
type Server struct {
	providerv1.UnimplementedProviderServiceServer

	store    *store.Store
	log      *zap.Logger
	services ServiceChecker
	now      func() time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithServiceChecker sets how agreement services are checked (default FormatOnly).
func WithServiceChecker(c ServiceChecker) Option { return func(s *Server) { s.services = c } }

// WithClock sets the clock that decides "today" for agreement periods (tests).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New returns a server over an open store.
func New(st *store.Store, log *zap.Logger, opts ...Option) *Server {
	s := &Server{store: st, log: log, services: FormatOnly{}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// today is the calendar day in Poland, against which agreement periods are checked.
func (s *Server) today() string { return domain.Today(s.now()) }

// scope is what a caller may see and change of the registry's non-public objects: everything (CUS staff,
// integrations), one provider's (provider staff), or nothing.
type scope struct {
	all      bool
	provider string
}

func (sc scope) sees(providerID string) bool {
	return sc.all || (sc.provider != "" && sc.provider == providerID)
}

// scopeOf decides the scope of the caller of method: callers admitted by a role other than RoleProvider see
// everything; callers admitted only as provider staff see their own provider's objects. A caller the policy did
// not admit (the server run without the interceptor) sees nothing: fail closed.
func scopeOf(ctx context.Context, method string) scope {
	p := auth.FromContext(ctx)
	for _, allowed := range Policy.Methods[method] {
		if allowed == auth.RoleAnonymous {
			return scope{all: true}
		}
		if allowed != auth.RoleProvider && p.Has(allowed) {
			return scope{all: true}
		}
	}
	if p.Has(auth.RoleProvider) && domain.IsUUID(p.ProviderID) {
		return scope{provider: p.ProviderID}
	}
	return scope{}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func checkRequestID(id string) error {
	if id != "" && !requestIDPattern.MatchString(id) {
		return domain.Invalid("request_id", domain.ReasonInvalidFormat, "must be 1 to 100 characters of letters, digits, . _ - (a UUID is best)")
	}
	return nil
}

func required(field string) error { return domain.Invalid(field, domain.ReasonRequired, "is required") }

func checkEtag(sent, current string) error {
	if sent != "" && sent != current {
		return apierr.ErrStaleEtag
	}
	return nil
}
