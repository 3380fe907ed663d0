// Package server implements cus.referral.v1.ReferralService: thin handlers that validate, apply the domain's
// rules, call the catalogue and provider services with deadlines, and write through the store with an audit
// entry in the same transaction.
package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/webhook"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// Options configure the server.
type Options struct {
	// Criteria are the dated income criteria; DefaultCriteria when empty.
	Criteria []domain.Criterion
	// CallTimeout bounds each call to the catalogue and provider services. Default 3s.
	CallTimeout time.Duration
	// ServiceToken, when set, is the bearer token the service presents to the provider service for capacity
	// calls; otherwise the caller's authorization is forwarded.
	ServiceToken func() string
	// AuditInterval is how often Run writes the summary of anonymous refusals and anchors the audit chain's
	// head. Default 1 minute.
	AuditInterval time.Duration
	// AuditAnchorFile is an append-only file of "<time> <sequence> <hash>" lines anchoring the audit chain
	// outside the data file; VerifyAuditChain checks the chain against it. Empty: no anchoring.
	AuditAnchorFile string
	// MaxWatchesPerCaller caps the open watches of one principal (default 8), MaxWatches those of everyone
	// (default 512); beyond them a watch is RESOURCE_EXHAUSTED (TOO_MANY_WATCHES).
	MaxWatchesPerCaller int
	MaxWatches          int
	// WatchHeartbeat is how often a watch sends a heartbeat carrying the revision reached. Default 15s.
	WatchHeartbeat time.Duration
	// ReleaseRetry is how often deferred capacity releases are retried. Default 30s.
	ReleaseRetry time.Duration
	// Webhooks configure the webhooks (webhooks.go).
	Webhooks WebhookOptions
}

// Server is the referral service.
type Server struct {
	referralv1.UnimplementedReferralServiceServer
	st        *store.Store
	catalogue cataloguev1.CatalogueServiceClient
	provider  providerv1.ProviderServiceClient
	log       *zap.Logger
	opts      Options
	now       func() time.Time
	stop      chan struct{}
	denials   denialCounter

	anchorMu   sync.Mutex
	lastAnchor int64

	watchMu     sync.Mutex
	watchers    map[string]int
	watchersAll int

	hooks *webhook.Engine
}

// New builds the server.
func New(st *store.Store, catalogue cataloguev1.CatalogueServiceClient, provider providerv1.ProviderServiceClient, log *zap.Logger, opts Options) *Server {
	if len(opts.Criteria) == 0 {
		opts.Criteria = domain.DefaultCriteria()
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 3 * time.Second
	}
	if opts.AuditInterval <= 0 {
		opts.AuditInterval = time.Minute
	}
	if opts.MaxWatchesPerCaller <= 0 {
		opts.MaxWatchesPerCaller = 8
	}
	if opts.MaxWatches <= 0 {
		opts.MaxWatches = 512
	}
	if opts.WatchHeartbeat <= 0 {
		opts.WatchHeartbeat = 15 * time.Second
	}
	if opts.ReleaseRetry <= 0 {
		opts.ReleaseRetry = 30 * time.Second
	}
	s := &Server{st: st, catalogue: catalogue, provider: provider, log: log, opts: opts,
		now: func() time.Time { return time.Now().UTC() }, stop: make(chan struct{}), watchers: map[string]int{}}
	s.hooks = newWebhooks(s)
	return s
}

// Shutdown ends watch streams.
func (s *Server) Shutdown() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
}

// --- callers, audit ---

func roleString(p *auth.Principal) string {
	rs := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		rs[i] = string(r)
	}
	return strings.Join(rs, ",")
}

func entry(ctx context.Context, action, resource string, decision referralv1.AuditDecision, reason string) *referralv1.AuditEntry {
	p := auth.FromContext(ctx)
	return &referralv1.AuditEntry{Subject: p.Subject, Role: roleString(p), Action: action, Resource: resource, Decision: decision, Reason: reason}
}

func allowed(ctx context.Context, action, resource, reason string) store.Write {
	return store.Write{Audit: entry(ctx, action, resource, referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, reason)}
}

// audit records a refused or failed call; it never fails the call, which fails anyway (but logs without
// values). A successful read is recorded by read, which fails closed.
func (s *Server) audit(ctx context.Context, action, resource string, err error) {
	if err == nil {
		// Not reached by the handlers; kept safe: a read goes through read.
		_ = s.read(ctx, action, resource, nil, "")
		return
	}
	if !wellFormed(resource) && !collections[resource] {
		// The name of a refused request is the caller's text: recorded only when it is one of ours.
		resource = invalidName
	}
	d, reason := referralv1.AuditDecision_AUDIT_DECISION_FAILED, reasonOf(err)
	if e, ok := apierr.As(err); ok && (e.Kind == apierr.KindPermissionDenied || errors.Is(err, domain.ErrReferralNotFound) && s.isProvider(ctx)) {
		d = referralv1.AuditDecision_AUDIT_DECISION_DENIED
	}
	if aerr := s.st.Audit(context.WithoutCancel(ctx), entry(ctx, action, resource, d, reason)); aerr != nil {
		s.log.Error("audit entry not written", zap.String("action", action), zap.Error(aerr))
	}
}

// collections are the resources of audit entries that name no single record.
var collections = map[string]bool{"": true, "residents": true, "residents/-": true, "cases": true, "cases/-": true,
	"plans": true, "plans/-": true, "referrals": true, "referrals/-": true}

func reasonOf(err error) string {
	if e, ok := apierr.As(err); ok {
		return e.Reason
	}
	if st, ok := status.FromError(err); ok {
		return st.Code().String()
	}
	return "INTERNAL"
}

func (s *Server) isProvider(ctx context.Context) bool {
	return auth.FromContext(ctx).Has(auth.RoleProvider)
}

func isStaff(p *auth.Principal) bool {
	return p.Has(auth.RoleCoordinator) || p.Has(auth.RoleDirector) || p.Has(auth.RoleOrganiser) || p.Has(auth.RoleAdmin)
}

// actorOf says who the caller is to a referral; visible is false when the caller may not see it at all.
func actorOf(p *auth.Principal, r *referralv1.Referral) (actor domain.Actor, visible bool) {
	if p.Has(auth.RoleCoordinator) || p.Has(auth.RoleDirector) {
		return domain.ActorRequester, true
	}
	if p.Has(auth.RoleProvider) && p.ProviderID != "" && r.GetProvider() == domain.ProviderPrefix+strings.ToLower(p.ProviderID) &&
		r.GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT {
		return domain.ActorProvider, true
	}
	return domain.ActorNone, isStaff(p)
}

func reqOf(method, requestID string, hash []byte) store.Req {
	return store.Req{Method: method, ID: requestID, Hash: hash}
}

func newID(given, field string) (string, error) {
	if given == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return "", err
		}
		return id.String(), nil
	}
	if uuid.Validate(given) != nil {
		return "", apierr.Invalid(field, "must be a UUID")
	}
	return strings.ToLower(given), nil
}

func checkRequestID(id string) error {
	if id != "" && (len(id) > 100 || uuid.Validate(id) != nil) {
		return apierr.Invalid("request_id", "must be a UUID")
	}
	return nil
}

func pageSize(n int32, def, max int) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalid("page_size", "must not be negative")
	case n == 0:
		return def, nil
	case int(n) > max:
		return max, nil
	}
	return int(n), nil
}

// outgoing prepares a call to another service: a deadline and the authorization to present.
func (s *Server) outgoing(ctx context.Context) (context.Context, context.CancelFunc) {
	out := context.WithoutCancel(ctx)
	if s.opts.ServiceToken != nil {
		if tok := s.opts.ServiceToken(); tok != "" {
			out = metadata.NewOutgoingContext(out, metadata.Pairs("authorization", "Bearer "+tok))
		}
	} else if md, ok := metadata.FromIncomingContext(ctx); ok {
		if a := md.Get("authorization"); len(a) == 1 {
			out = metadata.NewOutgoingContext(out, metadata.Pairs("authorization", a[0]))
		}
	}
	if rid := metadataValue(ctx, "x-request-id"); rid != "" {
		out = metadata.AppendToOutgoingContext(out, "x-request-id", rid)
	}
	c, cancel := context.WithTimeout(out, s.opts.CallTimeout)
	// The caller's cancellation still ends the call.
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

func metadataValue(ctx context.Context, key string) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(key); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// dependencyError maps an error of another service: unreachable becomes our UNAVAILABLE (down), refusals
// keep their meaning without leaking the other service's text.
func dependencyError(err error, down *apierr.Error, what string) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		return down
	case codes.NotFound:
		if what == "service" {
			return apierr.New(apierr.KindFailedPrecondition, "SERVICE_NOT_FOUND", "the service does not exist")
		}
		return apierr.New(apierr.KindFailedPrecondition, "AGREEMENT_NOT_FOUND", "the agreement does not exist")
	case codes.FailedPrecondition, codes.AlreadyExists, codes.OutOfRange:
		reason := "CAPACITY_NOT_RESERVED"
		for _, d := range st.Details() {
			if ei, ok := d.(interface{ GetReason() string }); ok && ei.GetReason() != "" {
				reason = ei.GetReason()
			}
		}
		// The provider's text is English (this call does not pass the caller's language on): it is translated
		// with the rest when the caller asks for Polish.
		return apierr.New(apierr.KindFailedPrecondition, reason, "").Withf("the provider service refused: %v", i18n.NewMsg(st.Message()))
	case codes.PermissionDenied, codes.Unauthenticated:
		if what == "service" {
			return apierr.New(apierr.KindFailedPrecondition, "DEPENDENCY_REFUSED", "the catalogue service refused this service's credentials")
		}
		return apierr.New(apierr.KindFailedPrecondition, "DEPENDENCY_REFUSED", "the provider service refused this service's credentials")
	}
	return down
}

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }
