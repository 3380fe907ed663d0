package filter

import (
	"fmt"
	"strings"
	"testing"
)

type rec struct {
	area string
	n    int
}

var fields = map[string]Field[rec]{
	"area": func(op, v string) (func(rec) bool, error) {
		if op != "=" {
			return nil, fmt.Errorf("supports only =")
		}
		return func(r rec) bool { return r.area == v }, nil
	},
	"n": func(op, v string) (func(rec) bool, error) {
		if op != ">" {
			return nil, fmt.Errorf("supports only >")
		}
		var want int
		if _, err := fmt.Sscan(v, &want); err != nil {
			return nil, fmt.Errorf("takes a number")
		}
		return func(r rec) bool { return r.n > want }, nil
	},
}

func TestParse(t *testing.T) {
	r := rec{area: "AREA_CULTURE", n: 5}
	for f, want := range map[string]bool{"": true, "area = AREA_CULTURE": true, `area = "AREA_CULTURE" AND n > 4`: true, "n > 5": false} {
		p, err := Parse(f, fields)
		if err != nil || p(r) != want {
			t.Errorf("%q: %v %v", f, err, err == nil && p(r))
		}
	}
	for f, msg := range map[string]string{
		"colour = red":                       "unknown field",
		"area":                               "incomplete",
		"area = X OR n > 1":                  "expected AND",
		`area = "open`:                       "unterminated",
		"area < X":                           "supports only",
		"ą = 1":                              "unexpected character",
		strings.Repeat("area = X AND ", 200): "at most 2000",
	} {
		if _, err := Parse(f, fields); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", f, err, msg)
		}
	}
}
