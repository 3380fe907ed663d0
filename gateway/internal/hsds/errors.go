package hsds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
)

// Errors are google.rpc.Status objects, as everywhere in the suite's REST API: {"code": <gRPC code>,
// "message": "...", "details": [ErrorInfo, BadRequest...]}, with the HTTP status of api-style.md. Field
// names follow protojson (lowerCamelCase, e.g. fieldViolations) so that clients parse HSDS errors with the
// same code as the REST gateway's.

// apiError is an error ready to be written: a status and its HTTP code.
type apiError struct {
	httpStatus int
	st         *status.Status
}

func (e *apiError) Error() string { return e.st.Message() }

func newAPIError(code codes.Code, httpStatus int, reason, message string, metadata map[string]string, extra ...*errdetails.BadRequest) *apiError {
	st := status.New(code, message)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain, Metadata: metadata}}
	for _, br := range extra {
		details = append(details, br)
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return &apiError{httpStatus: httpStatus, st: st}
}

var (
	errRouteNotFound = newAPIError(codes.NotFound, http.StatusNotFound, "ROUTE_NOT_FOUND",
		"no such HSDS endpoint; see the openapi_url at /hsds/", nil)
	errMethodNotAllowed = newAPIError(codes.Unimplemented, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
		"the HSDS API is read-only: use GET or HEAD", nil)
	errInternal    = newAPIError(codes.Internal, http.StatusInternalServerError, "INTERNAL", "internal error", nil)
	errUnavailable = newAPIError(codes.Unavailable, http.StatusServiceUnavailable, "BACKEND_UNAVAILABLE",
		"the catalogue is temporarily unavailable; retry later", nil)
	errDeadline = newAPIError(codes.DeadlineExceeded, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED",
		"the catalogue did not answer in time; retry later", nil)
	errBusy = newAPIError(codes.ResourceExhausted, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
		"the catalogue is busy; retry later", nil)
	errProvidersUnavailable = newAPIError(codes.Unavailable, http.StatusServiceUnavailable, "BACKEND_UNAVAILABLE",
		"the provider registry is temporarily unavailable; retry later", nil)
	errProvidersDeadline = newAPIError(codes.DeadlineExceeded, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED",
		"the provider registry did not answer in time; retry later", nil)
	errProvidersBusy = newAPIError(codes.ResourceExhausted, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
		"the provider registry is busy; retry later", nil)
	errCancelled = newAPIError(codes.Canceled, 499, "CANCELLED", "the request was cancelled", nil)
)

// violation is one bad query parameter.
type violation struct{ field, description string }

// invalidParams is the 400 for bad query or path parameters, naming each one (BadRequest.field_violations),
// with the reason the suite's services use for invalid fields.
func invalidParams(vs ...violation) *apiError {
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.field, Description: v.description,
		})
	}
	return newAPIError(codes.InvalidArgument, http.StatusBadRequest, "INVALID_FIELDS",
		"the request has invalid parameters", nil, br)
}

func notFound(reason, message, id string) *apiError {
	return newAPIError(codes.NotFound, http.StatusNotFound, reason, message, map[string]string{"id": id})
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// httpStatus maps a gRPC code to HTTP as api-style.md (and grpc-gateway) do.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Canceled:
		return 499
	default:
		return http.StatusInternalServerError
	}
}

// backend is a service the handler reads from, with the fixed answers for its failures.
type backend struct {
	name                        string // in logs
	unavailable, deadline, busy *apiError
}

var (
	catalogueBackend = backend{"catalogue", errUnavailable, errDeadline, errBusy}
	providerBackend  = backend{"provider registry", errProvidersUnavailable, errProvidersDeadline, errProvidersBusy}
)

// backendError answers for a failed catalogue call (see backendErrorOf).
func (h *handler) backendError(w http.ResponseWriter, r *http.Request, err error) {
	h.backendErrorOf(w, r, err, catalogueBackend)
}

// backendErrorOf answers for a failed call to b. Only the codes whose messages the services write for
// clients (invalid input, not found, preconditions; see platform/apierr) pass through with their text and
// details. Everything else gets a fixed message: a gRPC client error such as UNAVAILABLE carries transport
// text (addresses, dial errors) that must not reach the public.
func (h *handler) backendErrorOf(w http.ResponseWriter, r *http.Request, err error, b backend) {
	st, ok := status.FromError(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		st, ok = status.New(codes.DeadlineExceeded, ""), true
	case errors.Is(err, context.Canceled):
		st, ok = status.New(codes.Canceled, ""), true
	}
	if !ok {
		h.log.Error("hsds: "+b.name+" data cannot be published", zap.String("path", r.URL.Path), zap.Error(err))
		h.writeError(w, r, errInternal)
		return
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.OutOfRange,
		codes.AlreadyExists, codes.Aborted:
		h.writeError(w, r, &apiError{httpStatus: httpStatus(st.Code()), st: st})
	case codes.ResourceExhausted:
		// The services' limits answer with a client-facing reason (RATE_LIMITED, OVERLOADED): pass it on.
		// A RESOURCE_EXHAUSTED without ErrorInfo comes from the gRPC client itself (message too large) and
		// carries transport text: answer busy instead.
		if hasErrorInfo(st) {
			h.writeError(w, r, &apiError{httpStatus: httpStatus(st.Code()), st: st})
		} else {
			h.log.Warn("hsds: "+b.name+" call exhausted a limit", zap.String("path", r.URL.Path), zap.Error(err))
			h.writeError(w, r, b.busy)
		}
	case codes.Unavailable:
		h.log.Warn("hsds: "+b.name+" unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		h.writeError(w, r, b.unavailable)
	case codes.DeadlineExceeded:
		h.log.Warn("hsds: "+b.name+" call timed out", zap.String("path", r.URL.Path), zap.Error(err))
		h.writeError(w, r, b.deadline)
	case codes.Canceled:
		h.writeError(w, r, errCancelled)
	default:
		h.log.Error("hsds: "+b.name+" call failed", zap.String("path", r.URL.Path),
			zap.Stringer("code", st.Code()), zap.Error(err))
		h.writeError(w, r, errInternal)
	}
}

// statusJSON is google.rpc.Status as JSON. It is assembled here rather than by protojson on the Status
// message so that "details" is always an array (protojson omits it when empty) while unset detail fields
// stay omitted (protojson's EmitUnpopulated would fill them with "" and null), and so that the output has
// stable whitespace (protojson varies it on purpose).
type statusJSON struct {
	Code    int32             `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// writeError writes e as a google.rpc.Status. A detail passed through from the catalogue whose type is
// unknown here is left out rather than failing the whole answer.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	// In the client's language (platform/i18n): the reason and field names stay, the texts are translated.
	w.Header().Add("Vary", "Accept-Language")
	p := i18n.LocalizeStatus(e.st, i18n.Negotiate(r.Header.Values("Accept-Language")...)).Proto()
	out := statusJSON{Code: p.GetCode(), Message: p.GetMessage(), Details: []json.RawMessage{}}
	for _, d := range p.GetDetails() {
		if b, err := protojson.Marshal(d); err == nil {
			out.Details = append(out.Details, b)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		buf.Reset()
		buf.WriteString(`{"code":13,"message":"internal error","details":[]}` + "\n")
	}
	h.writeBody(w, r, e.httpStatus, buf.Bytes())
}

func itoa(n int) string { return strconv.Itoa(n) }

func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return true
		}
	}
	return false
}
