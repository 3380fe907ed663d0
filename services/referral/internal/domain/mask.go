package domain

import (
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/fieldmask"
)

// Updatable are the update-mask rules of one resource (see platform/fieldmask): its output-only fields, and the
// top-level fields an update may change (Fields), with sub-paths only into those in Nested. Any other field
// (immutable, or changed only by its own method) is refused as not updatable. No mask or "*" means every field
// of Fields.
type Updatable struct {
	Fields map[string]bool
	Nested map[string]bool
	fieldmask.Rules
}

// The fields each update method may change.
var (
	ResidentUpdatable = Updatable{
		Fields: set("given_name", "family_name", "pesel", "birth_date", "sex", "phone", "email", "address", "teryt_code",
			"household_size", "monthly_income_per_person_grosze", "declared_target_groups"),
		Nested: set("address"),
		Rules:  fieldmask.Rules{OutputOnly: set("create_time", "update_time")},
	}
	CaseUpdatable = Updatable{
		Fields: set("notes", "needs", "status", "coordinator"),
		Rules:  fieldmask.Rules{OutputOnly: set("create_time", "update_time")},
	}
	PlanUpdatable = Updatable{
		Fields: set("goals", "planned_services", "review_dates"),
		Rules: fieldmask.Rules{OutputOnly: set("status", "due_date", "approver", "approve_time", "summary", "close_time",
			"create_time", "update_time", "reviews", "next_review_date")},
	}
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// MaskPath is one validated path of an update mask.
type MaskPath = fieldmask.Path

// MaskPaths validates an update mask of msg against u; field names the mask in errors.
func MaskPaths(field string, msg proto.Message, paths []string, u Updatable) ([]MaskPath, error) {
	all, err := u.Paths(field, msg, paths)
	if err != nil {
		return nil, err
	}
	defaulted := len(paths) == 0 || (len(paths) == 1 && paths[0] == "*")
	var v apierr.Violations
	out := make([]MaskPath, 0, len(all))
	for _, p := range all {
		switch {
		case !u.Fields[p.Top()] && defaulted:
			// not part of the default mask
		case !u.Fields[p.Top()]:
			v.AddReason(field, fieldmask.ReasonOutputOnly, "path %q cannot be updated", p.String())
		case len(p) > 1 && !u.Nested[p.Top()]:
			v.AddReason(field, fieldmask.ReasonInvalidPath, "path %q: %s cannot have sub-paths", p.String(), p.Top())
		default:
			out = append(out, p)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyMask copies the masked fields from src to dst.
func ApplyMask(dst, src proto.Message, paths []MaskPath) { fieldmask.Apply(dst, src, paths) }

// Touches says whether any path starts at the top-level field name.
func Touches(paths []MaskPath, name string) bool {
	for _, p := range paths {
		if p.Top() == name {
			return true
		}
	}
	return false
}
