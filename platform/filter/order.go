package filter

import (
	"strings"

	"github.com/cus-suite/cus/platform/apierr"
)

// MaxOrderKeys is the most keys an order_by may name. Every key is one more comparison for each pair of records
// that tie on the keys before it, so an unbounded list (thousands of repeated keys) turned one List into seconds
// of CPU. Each service has at most a handful of orderable fields, and a repeated key adds nothing, so five is
// room for any meaningful order.
const MaxOrderKeys = 5

// Reasons of the order_by violations (BadRequest.FieldViolation.reason).
const (
	ReasonInvalidOrder     = "INVALID_VALUE"
	ReasonTooManyOrderKeys = "TOO_MANY_ORDER_KEYS"
	ReasonRepeatedOrderKey = "REPEATED_ORDER_KEY"
)

// OrderKey is one key of an order_by: a field and its direction.
type OrderKey struct {
	Field string
	Desc  bool
}

// SplitOrder splits an AIP-132 order_by ("display_name desc, create_time") into its keys; an empty order_by
// gives def instead. It refuses a key that is not `field [asc|desc]`, more than MaxOrderKeys keys and a field
// named twice, with INVALID_ARGUMENT naming order_by. Whether a field may be ordered by is the caller's to
// check: each service knows its own fields.
func SplitOrder(orderBy, def string) ([]OrderKey, error) {
	bad := func(reason, format string, args ...any) error {
		var v apierr.Violations
		v.AddReason("order_by", reason, format, args...)
		return v.Err()
	}
	if strings.TrimSpace(orderBy) == "" {
		orderBy = def
	}
	// Count before splitting, so a hostile order_by costs no allocation per key.
	if n := strings.Count(orderBy, ",") + 1; n > MaxOrderKeys {
		return nil, bad(ReasonTooManyOrderKeys, "names %d keys; at most %d are allowed", n, MaxOrderKeys)
	}
	keys := make([]OrderKey, 0, MaxOrderKeys)
	for _, part := range strings.Split(orderBy, ",") {
		f := strings.Fields(part)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "desc" && f[1] != "asc") {
			return nil, bad(ReasonInvalidOrder, "%q: expected a field optionally followed by asc or desc", strings.TrimSpace(part))
		}
		for _, k := range keys {
			if k.Field == f[0] {
				return nil, bad(ReasonRepeatedOrderKey, "names %s twice; name each field at most once", f[0])
			}
		}
		keys = append(keys, OrderKey{Field: f[0], Desc: len(f) == 2 && f[1] == "desc"})
	}
	return keys, nil
}
