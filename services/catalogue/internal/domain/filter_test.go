package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
)

// An order_by is capped at five keys and names each field once: thousands of repeated keys made every tied
// pair of services cost thousands of comparisons.
func TestParseServiceOrderLimitsKeys(t *testing.T) {
	for _, ok := range []string{"", "display_name desc", "update_time desc, create_time, display_name"} {
		if _, err := ParseServiceOrder(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, c := range []struct{ in, reason string }{
		{strings.Repeat("display_name, ", 2999) + "display_name", "TOO_MANY_ORDER_KEYS"},
		{"display_name, create_time, update_time, display_name desc, create_time desc, update_time desc", "TOO_MANY_ORDER_KEYS"},
		{"create_time, create_time desc", "REPEATED_ORDER_KEY"},
	} {
		_, err := ParseServiceOrder(c.in)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.KindInvalidArgument || len(ae.Violations) != 1 ||
			ae.Violations[0].Field != "order_by" || ae.Violations[0].Reason != c.reason {
			t.Errorf("%.50q: got %v, want INVALID_ARGUMENT on order_by with %s", c.in, err, c.reason)
		}
	}
}
