package server

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// AuditDenials returns server options with an outermost interceptor that writes an audit entry for every call
// of this service refused by the policy (PERMISSION_DENIED, UNAUTHENTICATED): the platform's chain refuses
// them before any handler runs. The caller is identified again from its token only on refusal.
func AuditDenials(st *store.Store, v *auth.Verifier) []grpc.ServerOption {
	prefix := "/" + referralv1.ReferralService_ServiceDesc.ServiceName + "/"
	record := func(ctx context.Context, method string, req any, err error) {
		code := status.Code(err)
		if (code != codes.PermissionDenied && code != codes.Unauthenticated) || !strings.HasPrefix(method, prefix) {
			return
		}
		p := auth.Anonymous()
		if md, ok := metadata.FromIncomingContext(ctx); ok && v != nil {
			if a := md.Get("authorization"); len(a) == 1 {
				if _, tok, ok := strings.Cut(a[0], " "); ok {
					if got, err := v.Verify(ctx, strings.TrimSpace(tok)); err == nil {
						p = got
					} else {
						p = &auth.Principal{Subject: "invalid-token", Roles: nil}
					}
				}
			}
		}
		resource := ""
		if n, ok := req.(interface{ GetName() string }); ok {
			resource = n.GetName()
		} else if n, ok := req.(interface{ GetParent() string }); ok {
			resource = n.GetParent()
		}
		e := &referralv1.AuditEntry{Subject: p.Subject, Role: roleString(p), Action: strings.TrimPrefix(method, prefix), Resource: resource,
			Decision: referralv1.AuditDecision_AUDIT_DECISION_DENIED, Reason: code.String()}
		_ = st.Audit(context.WithoutCancel(ctx), e)
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
