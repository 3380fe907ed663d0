package grpcserver

import (
	"context"
	"errors"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/storage"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

var kindCodes = map[apierr.Kind]codes.Code{
	apierr.KindInvalidArgument:    codes.InvalidArgument,
	apierr.KindNotFound:           codes.NotFound,
	apierr.KindAlreadyExists:      codes.AlreadyExists,
	apierr.KindAborted:            codes.Aborted,
	apierr.KindFailedPrecondition: codes.FailedPrecondition,
	apierr.KindPermissionDenied:   codes.PermissionDenied,
	apierr.KindUnauthenticated:    codes.Unauthenticated,
	apierr.KindResourceExhausted:  codes.ResourceExhausted,
	apierr.KindUnavailable:        codes.Unavailable,
	apierr.KindDeadlineExceeded:   codes.DeadlineExceeded,
	apierr.KindOutOfRange:         codes.OutOfRange,
}

// ToStatus is the one place where errors become gRPC statuses. Domain errors keep their code, message,
// ErrorInfo and field violations; context errors keep their meaning; a status made elsewhere passes through;
// anything else becomes INTERNAL with no text, so no internals (paths, Go error chains) ever reach a client.
func ToStatus(err error) *status.Status { return StatusIn(err, i18n.English) }

// StatusIn is ToStatus with the message and field violation descriptions in lang (platform/i18n), and, for a
// language other than English, a google.rpc.LocalizedMessage (AIP-193). The code, the ErrorInfo reason and
// metadata and the field paths are the same in every language: clients switch on those, never on text.
func StatusIn(err error, lang string) *status.Status {
	if err == nil {
		return nil
	}
	if e, ok := apierr.As(err); ok {
		code, known := kindCodes[e.Kind]
		if !known {
			code = codes.Internal
		}
		e = e.Localize(lang)
		st := status.New(code, e.Message)
		details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.Reason, Domain: apierr.Domain, Metadata: e.Metadata}}
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range e.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: v.Field, Description: v.Description, Reason: v.Reason,
				})
			}
			details = append(details, br)
		}
		if lang != i18n.English {
			details = append(details, i18n.Localized(lang, e.Message))
		}
		withDetails, derr := st.WithDetails(details...)
		if derr != nil {
			return st
		}
		return withDetails
	}
	if _, ok := status.FromError(err); ok {
		// Made elsewhere (a dependency's answer passed on): translated by its text, if it was not already.
		return i18n.LocalizeStatus(status.Convert(err), lang)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return reasoned(lang, codes.DeadlineExceeded, "DEADLINE_EXCEEDED", "the deadline passed before the call completed")
	case errors.Is(err, context.Canceled):
		return reasoned(lang, codes.Canceled, "CANCELLED", "the call was cancelled")
	case errors.Is(err, storage.ErrClosed):
		return reasoned(lang, codes.Unavailable, "SHUTTING_DOWN", "the service is shutting down; retry on another instance or later")
	}
	return reasoned(lang, codes.Internal, "INTERNAL", "internal error")
}

func reasoned(lang string, code codes.Code, reason, msg string) *status.Status {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain}}
	if lang != i18n.English {
		msg = i18n.Text(lang, msg)
		details = append(details, i18n.Localized(lang, msg))
	}
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		return status.New(code, msg)
	}
	return st
}
