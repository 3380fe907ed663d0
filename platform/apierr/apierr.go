// Package apierr is the suite's error model, free of transport types so that domain packages can use it.
//
// A domain returns an *Error: a Kind (which becomes the canonical gRPC code), a stable UPPER_SNAKE Reason (the
// ErrorInfo reason integrators switch on), a short English message without internals, and for invalid input
// one FieldViolation per bad field. The mapping to google.rpc.Status lives in one place:
// platform/grpcserver's error interceptor. Any other error that reaches it becomes INTERNAL with no text.
package apierr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cus-suite/cus/platform/i18n"
)

// Domain is the one ErrorInfo domain of the suite.
const Domain = "cus.gov.pl"

// Kind classifies an error; each kind maps to one canonical gRPC code.
type Kind int

// The kinds of errors a domain may return.
const (
	KindInvalidArgument Kind = iota + 1
	KindNotFound
	KindAlreadyExists
	KindAborted
	KindFailedPrecondition
	KindPermissionDenied
	KindUnauthenticated
	KindResourceExhausted
	KindUnavailable
	KindDeadlineExceeded
	KindOutOfRange
)

// FieldViolation names one bad field of a request (BadRequest.FieldViolation).
type FieldViolation struct {
	// Field is the path of the field in the request, e.g. "service.locations[0].teryt_code".
	Field string
	// Description says what is wrong, e.g. "must be 7 digits".
	Description string
	// Reason is an optional stable UPPER_SNAKE code of the violation.
	Reason string

	// format and args made Description (empty format: Description is a plain text, its own catalogue key).
	format string
	args   []any
}

// Violationf makes a violation whose description is formatted, keeping the format for translation.
func Violationf(field, reason, format string, args ...any) FieldViolation {
	return FieldViolation{Field: field, Reason: reason, Description: fmt.Sprintf(format, args...), format: format, args: args}
}

// MessageFormat is the English format of the description and its arguments (i18n.Formatted).
func (v FieldViolation) MessageFormat() (string, []any) {
	if v.format == "" {
		return v.Description, nil
	}
	return v.format, v.args
}

// Error is a domain error with everything a client needs and nothing it must not see.
type Error struct {
	Kind       Kind
	Reason     string
	Message    string
	Violations []FieldViolation
	// Metadata goes to ErrorInfo.metadata, e.g. {"resource": "services/…"}. Never personal data.
	Metadata map[string]string

	// format and args made Message (empty format: Message is a plain text, its own catalogue key).
	format string
	args   []any
}

// MessageFormat is the English format of the message and its arguments (i18n.Formatted).
func (e *Error) MessageFormat() (string, []any) {
	if e.format == "" {
		return e.Message, nil
	}
	return e.format, e.args
}

// Localize returns e with its message and violation descriptions in lang (platform/i18n); the kind, reason,
// field paths and metadata do not change. English returns e itself.
func (e *Error) Localize(lang string) *Error {
	if lang == i18n.English {
		return e
	}
	c := *e
	f, a := e.MessageFormat()
	c.Message = i18n.Sprintf(lang, f, a...)
	c.Violations = make([]FieldViolation, len(e.Violations))
	for i, v := range e.Violations {
		f, a := v.MessageFormat()
		v.Description = i18n.Sprintf(lang, f, a...)
		c.Violations[i] = v
	}
	return &c
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Description)
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Is makes errors.Is match two *Error values with the same kind and reason, so sentinels work even when
// a copy carries extra metadata.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Reason == e.Reason
}

// With returns a copy of e with metadata added; the sentinel itself is never mutated.
func (e *Error) With(key, value string) *Error {
	c := *e
	c.Metadata = make(map[string]string, len(e.Metadata)+1)
	for k, v := range e.Metadata {
		c.Metadata[k] = v
	}
	c.Metadata[key] = value
	return &c
}

// Withf returns a copy of e with its message replaced.
func (e *Error) Withf(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	c.format, c.args = format, args
	return &c
}

// New makes an error of a kind with a reason and message.
func New(kind Kind, reason, message string) *Error {
	return &Error{Kind: kind, Reason: reason, Message: message}
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Violations collects field violations while a request is validated.
type Violations struct {
	list []FieldViolation
}

// Add records a violation of field.
func (v *Violations) Add(field, format string, args ...any) {
	v.list = append(v.list, Violationf(field, "", format, args...))
}

// AddReason records a violation of field with a stable UPPER_SNAKE reason (BadRequest.FieldViolation.reason).
func (v *Violations) AddReason(field, reason, format string, args ...any) {
	v.list = append(v.list, Violationf(field, reason, format, args...))
}

// Len is the number of violations recorded.
func (v *Violations) Len() int { return len(v.list) }

// List returns the violations recorded.
func (v *Violations) List() []FieldViolation { return v.list }

// Err returns nil when nothing was recorded, or an INVALID_ARGUMENT error with reason INVALID_FIELDS (or the
// given reason) listing every violation.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &Error{
		Kind:       KindInvalidArgument,
		Reason:     "INVALID_FIELDS",
		Message:    "the request has invalid fields",
		Violations: append([]FieldViolation(nil), v.list...),
	}
}

// Invalid returns an INVALID_ARGUMENT error for one field.
func Invalid(field, description string) *Error {
	return &Error{
		Kind:       KindInvalidArgument,
		Reason:     "INVALID_FIELDS",
		Message:    "the request has invalid fields",
		Violations: []FieldViolation{{Field: field, Description: description}},
	}
}

// Invalidf returns an INVALID_ARGUMENT error for one field whose description is formatted.
func Invalidf(field, format string, args ...any) *Error {
	e := Invalid(field, "")
	e.Violations[0] = Violationf(field, "", format, args...)
	return e
}

// Common errors shared by every service.
var (
	// ErrStaleEtag means the etag sent is not the current one: re-read and retry.
	ErrStaleEtag = New(KindAborted, "STALE_ETAG", "the etag does not match the current version; read the resource again and retry")
	// ErrInvalidPageToken means the page token is malformed or belongs to another query.
	ErrInvalidPageToken = New(KindInvalidArgument, "INVALID_PAGE_TOKEN", "the page token is malformed or was issued for other parameters")
	// ErrRequestIDReused means a request_id was first used for a different request.
	ErrRequestIDReused = New(KindInvalidArgument, "REQUEST_ID_REUSED", "the request_id was already used for a different request")
	// ErrUnavailable means a dependency (storage, another service) cannot serve now; retrying later may succeed.
	ErrUnavailable = New(KindUnavailable, "UNAVAILABLE", "the service is temporarily unavailable; retry later")
)
