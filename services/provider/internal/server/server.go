// Package server implements cus.provider.v1.ProviderService: each handler validates the request, decides what
// the caller may see or change, applies the domain's rules, and calls the store; errors are domain errors that
// platform/grpcserver maps to statuses in one place.
package server

import (
	"context"
	"regexp"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
	"github.com/cus-suite/cus/services/provider/internal/store"
)

// ServiceChecker confirms that a catalogue service may be covered by an agreement, before the agreement is
// written. The registry does not call the catalogue yet (FormatOnly); a checker backed by the catalogue's
// client returns an *apierr.Error of kind NOT_FOUND or FAILED_PRECONDITION for a service that does not exist or
// cannot be contracted out (requires_decision), which the handler reports as a violation of agreement.service,
// and UNAVAILABLE when the catalogue cannot be reached, which is passed on with nothing written.
type ServiceChecker interface {
	CheckService(ctx context.Context, service string) error
}

// FormatOnly is the ServiceChecker that accepts every well-formed `services/{uuid}`.
type FormatOnly struct{}

// CheckService accepts the service.
func (FormatOnly) CheckService(context.Context, string) error { return nil }

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
