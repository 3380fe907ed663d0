package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Provider staff see what they need to deliver a service and to charge its fee (price, share payable,
// amount, exemption), never the resident's income or household situation that the fee was computed from.
// The redaction is one interceptor over every response, so no handler can forget it.
var providerHiddenFeeFields = []protoreflect.Name{"income_per_person_grosze", "criterion_grosze", "criterion_kind", "band", "criterion_from"}

var feeSnapshotName = (&referralv1.FeeSnapshot{}).ProtoReflect().Descriptor().FullName()

// providerOnly reports whether the caller acts only as provider staff.
func providerOnly(ctx context.Context) bool {
	p := auth.FromContext(ctx)
	return p.Has(auth.RoleProvider) && !isStaff(p) && !p.Has(auth.RoleAdmin)
}

// redactForProvider returns msg, or a copy with every FeeSnapshot's private fields cleared.
func redactForProvider(msg any) any {
	m, ok := msg.(proto.Message)
	if !ok {
		return msg
	}
	c := proto.Clone(m)
	clearFees(c.ProtoReflect())
	return c
}

func clearFees(m protoreflect.Message) {
	if m.Descriptor().FullName() == feeSnapshotName {
		for _, name := range providerHiddenFeeFields {
			if fd := m.Descriptor().Fields().ByName(name); fd != nil {
				m.Clear(fd)
			}
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				clearFees(l.Get(i).Message())
			}
		case fd.IsMap():
		case fd.Message() != nil:
			clearFees(v.Message())
		}
		return true
	})
}

// RedactForProviders is the interceptor pair that applies the redaction to unary responses and stream messages.
func RedactForProviders() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if err != nil || !providerOnly(ctx) {
				return resp, err
			}
			return redactForProvider(resp), nil
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if !providerOnly(ss.Context()) {
				return h(srv, ss)
			}
			return h(srv, &redactingStream{ServerStream: ss})
		}),
	}
}

type redactingStream struct{ grpc.ServerStream }

func (r *redactingStream) SendMsg(m any) error { return r.ServerStream.SendMsg(redactForProvider(m)) }
