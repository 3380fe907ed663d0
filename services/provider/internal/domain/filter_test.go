package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
)

// An order_by is capped at five keys and names each field once, for providers and agreements alike.
func TestParseOrderLimitsKeys(t *testing.T) {
	for _, ok := range []string{"", "display_name desc, create_time"} {
		if _, err := ParseProviderOrder(ok); err != nil {
			t.Errorf("providers %q: %v", ok, err)
		}
	}
	if _, err := ParseAgreementOrder("start_date desc"); err != nil {
		t.Errorf("agreements: %v", err)
	}
	for _, c := range []struct {
		in, reason string
		parse      func(string) error
	}{
		{strings.Repeat("display_name,", 3000) + "display_name", "TOO_MANY_ORDER_KEYS", func(s string) error { _, err := ParseProviderOrder(s); return err }},
		{"display_name, display_name desc", "REPEATED_ORDER_KEY", func(s string) error { _, err := ParseProviderOrder(s); return err }},
		{strings.Repeat("start_date,", 6) + "start_date", "TOO_MANY_ORDER_KEYS", func(s string) error { _, err := ParseAgreementOrder(s); return err }},
		{"start_date, start_date", "REPEATED_ORDER_KEY", func(s string) error { _, err := ParseAgreementOrder(s); return err }},
		{"display_name sideways", ReasonInvalidValue, func(s string) error { _, err := ParseProviderOrder(s); return err }},
	} {
		err := c.parse(c.in)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Kind != apierr.KindInvalidArgument || len(ae.Violations) != 1 ||
			ae.Violations[0].Field != "order_by" || ae.Violations[0].Reason != c.reason {
			t.Errorf("%.50q: got %v, want INVALID_ARGUMENT on order_by with %s", c.in, err, c.reason)
		}
	}
}
