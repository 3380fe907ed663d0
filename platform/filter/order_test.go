package filter

import (
	"errors"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
)

func TestSplitOrder(t *testing.T) {
	ok := []struct {
		in, def string
		want    []OrderKey
	}{
		{"", "display_name", []OrderKey{{"display_name", false}}},
		{"  ", "start_date", []OrderKey{{"start_date", false}}},
		{"display_name desc, create_time", "", []OrderKey{{"display_name", true}, {"create_time", false}}},
		{"a asc,b desc,c,d,e", "", []OrderKey{{"a", false}, {"b", true}, {"c", false}, {"d", false}, {"e", false}}},
	}
	for _, c := range ok {
		got, err := SplitOrder(c.in, c.def)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: %v, want %v", c.in, got, c.want)
			}
		}
	}
	bad := []struct {
		in, reason, mention string
	}{
		{"a,b,c,d,e,f", ReasonTooManyOrderKeys, "at most 5"},
		{strings.Repeat("display_name,", 5000) + "display_name", ReasonTooManyOrderKeys, "at most 5"},
		{"display_name, display_name desc", ReasonRepeatedOrderKey, "display_name twice"},
		{"display_name sideways", ReasonInvalidOrder, "asc or desc"},
		{"a,,b", ReasonInvalidOrder, "expected a field"},
	}
	for _, c := range bad {
		_, err := SplitOrder(c.in, "x")
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			t.Errorf("%.40q: got %v, want an apierr.Error", c.in, err)
			continue
		}
		if ae.Kind != apierr.KindInvalidArgument || len(ae.Violations) != 1 {
			t.Errorf("%.40q: %+v", c.in, ae)
			continue
		}
		v := ae.Violations[0]
		if v.Field != "order_by" || v.Reason != c.reason || !strings.Contains(v.Description, c.mention) {
			t.Errorf("%.40q: violation %+v, want order_by %s mentioning %q", c.in, v, c.reason, c.mention)
		}
	}
}
