package server

import (
	"context"
	"strings"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// Subjects of refusals of callers without a valid identity; their refusals are counted, not written one by one.
const (
	subjectAnonymous    = "anonymous"
	subjectInvalidToken = "invalid-token"
	// invalidName stands in the audit log for a resource name that is not one of this service's: the raw
	// text of a refused request is never copied in (it could be 6,000 characters, or a PESEL).
	invalidName = "invalid-name"
	// maxDenialKeys bounds the counters between two summaries; beyond it refusals are counted under "other".
	maxDenialKeys = 256
)

type denialKey struct{ subject, method, reason string }

// denialCounter counts the refusals of callers without a valid identity (anonymous, invalid or expired
// token) in memory, by method and reason, until the next summary: a flood of them costs a map increment, not
// a synced write of the append-only chain each.
type denialCounter struct {
	mu     sync.Mutex
	counts map[denialKey]int64
}

func (d *denialCounter) add(k denialKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counts == nil {
		d.counts = map[denialKey]int64{}
	}
	if _, ok := d.counts[k]; !ok && len(d.counts) >= maxDenialKeys {
		k = denialKey{subject: k.subject, method: "other", reason: "other"}
	}
	d.counts[k]++
}

// flush writes one summary entry per (subject, method, reason) counted since the previous summary, with count
// set (its time is when it is written). Counts that cannot be written are kept for the next flush.
func (d *denialCounter) flush(ctx context.Context, st *store.Store, log *zap.Logger) {
	d.mu.Lock()
	counts := d.counts
	d.counts = nil
	d.mu.Unlock()
	for k, n := range counts {
		e := &referralv1.AuditEntry{Subject: k.subject, Action: k.method, Decision: referralv1.AuditDecision_AUDIT_DECISION_DENIED,
			Reason: k.reason, Count: n}
		if err := st.Audit(ctx, e); err != nil {
			log.Error("summary of refused calls not written; kept for the next one", zap.String("action", k.method), zap.Int64("count", n), zap.Error(err))
			d.mu.Lock()
			if d.counts == nil {
				d.counts = map[denialKey]int64{}
			}
			d.counts[k] += n
			d.mu.Unlock()
		}
	}
}

// AuditDenials returns server options with an outermost interceptor that audits every call of this service
// refused by the policy (PERMISSION_DENIED, UNAUTHENTICATED): the platform's chain refuses them before any
// handler runs. The caller is identified again from its token only on refusal. A refusal of an authenticated
// principal is written at once, one entry per call; refusals of anonymous callers and of invalid or expired
// tokens are counted and summarised (Run writes the summaries). Only a well-formed resource name of this
// service is recorded, anything else as "invalid-name".
func (s *Server) AuditDenials(v *auth.Verifier) []grpc.ServerOption {
	prefix := "/" + referralv1.ReferralService_ServiceDesc.ServiceName + "/"
	record := func(ctx context.Context, method string, req any, err error) {
		code := status.Code(err)
		if (code != codes.PermissionDenied && code != codes.Unauthenticated) || !strings.HasPrefix(method, prefix) {
			return
		}
		action := strings.TrimPrefix(method, prefix)
		if _, known := Policy.Methods[action]; !known {
			action = "unknown"
		}
		var p *auth.Principal
		if md, ok := metadata.FromIncomingContext(ctx); ok && v != nil {
			if a := md.Get("authorization"); len(a) == 1 {
				if _, tok, ok := strings.Cut(a[0], " "); ok {
					if got, err := v.Verify(ctx, strings.TrimSpace(tok)); err == nil {
						p = got
					} else {
						s.denials.add(denialKey{subjectInvalidToken, action, reasonOf(err)})
						return
					}
				}
			}
		}
		if p == nil || p.Subject == "" {
			s.denials.add(denialKey{subjectAnonymous, action, code.String()})
			return
		}
		e := &referralv1.AuditEntry{Subject: p.Subject, Role: roleString(p), Action: action, Resource: auditedName(req),
			Decision: referralv1.AuditDecision_AUDIT_DECISION_DENIED, Reason: code.String()}
		if err := s.st.Audit(context.WithoutCancel(ctx), e); err != nil {
			s.log.Error("audit entry of a refusal not written", zap.String("action", action), zap.Error(err))
		}
	}
	return []grpc.ServerOption{
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if err != nil {
				record(ctx, info.FullMethod, req, err)
			}
			return resp, err
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			err := h(srv, ss)
			if err != nil {
				record(ss.Context(), info.FullMethod, nil, err)
			}
			return err
		}),
	}
}

// auditedName is the resource a refused request named, if it is a well-formed name of this service;
// "invalid-name" for any other text, "" when the request named none.
func auditedName(req any) string {
	name := ""
	if n, ok := req.(interface{ GetName() string }); ok {
		name = n.GetName()
	}
	if n, ok := req.(interface{ GetParent() string }); ok && name == "" {
		name = n.GetParent()
	}
	if name == "" {
		return ""
	}
	if wellFormed(name) {
		return name
	}
	return invalidName
}

// wellFormed says whether name is a resource name of this service: residents/{uuid},
// residents/{uuid}/consents/{uuid}, cases/{uuid}, cases/{uuid}/plans/{uuid} or referrals/{uuid}.
func wellFormed(name string) bool {
	if len(name) > 100 {
		return false
	}
	for _, p := range []string{domain.ResidentPrefix, domain.CasePrefix, domain.ReferralPrefix} {
		if _, err := domain.IDFromName("", p, name); err == nil {
			return true
		}
	}
	if _, _, err := domain.TwoIDs("", domain.ResidentPrefix, domain.ConsentsSegment, name); err == nil {
		return true
	}
	_, _, err := domain.TwoIDs("", domain.CasePrefix, domain.PlansSegment, name)
	return err == nil
}
