package domain

import (
	"errors"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
)

// Violations collects field violations with a stable reason each (apierr.Violations cannot carry reasons).
type Violations struct {
	list []apierr.FieldViolation
}

// Add records a violation of field with a reason.
func (v *Violations) Add(field, reason, format string, args ...any) {
	v.list = append(v.list, apierr.Violationf(field, reason, format, args...))
}

// addPLID records a platform/plid failure under field, keeping its reason; other errors become INVALID_FORMAT.
func (v *Violations) addPLID(field string, err error) {
	var pe *plid.Error
	if errors.As(err, &pe) {
		v.list = append(v.list, apierr.Violationf(field, pe.Reason, "%v", pe))
		return
	}
	v.Add(field, ReasonInvalidFormat, "%v", err)
}

// Len is the number of violations.
func (v *Violations) Len() int { return len(v.list) }

// List returns the violations recorded.
func (v *Violations) List() []apierr.FieldViolation { return v.list }

// Err is nil without violations, else INVALID_ARGUMENT INVALID_FIELDS listing them.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return &apierr.Error{
		Kind:       apierr.KindInvalidArgument,
		Reason:     "INVALID_FIELDS",
		Message:    "the request has invalid fields",
		Violations: append([]apierr.FieldViolation(nil), v.list...),
	}
}

// Invalid is an INVALID_ARGUMENT error for one field.
func Invalid(field, reason, format string, args ...any) error {
	var v Violations
	v.Add(field, reason, format, args...)
	return v.Err()
}
