package apierr

import (
	"testing"

	"github.com/cus-suite/cus/platform/i18n"
)

// TestLocalizeKeepsEverythingButTheText: a localized error has the kind, reason, metadata and field paths of
// the English one; only the message and descriptions change, and the English error is left as it was.
func TestLocalizeKeepsEverythingButTheText(t *testing.T) {
	var v Violations
	v.Add("query", "must be at most %d characters", 200)
	v.AddReason("update_mask", "NOT_ALLOWED", "path %q is listed twice", "display_name")
	invalid, ok := As(v.Err())
	if !ok {
		t.Fatal("Violations.Err is not an *Error")
	}
	cases := []struct {
		name   string
		err    *Error
		pl     string
		plDesc []string
	}{
		{"violations", invalid, "żądanie zawiera nieprawidłowe pola",
			[]string{"może mieć najwyżej 200 znaków", `ścieżka "display_name" występuje dwukrotnie`}},
		{"Invalidf", Invalidf("name", "must be %s{uuid}", "services/"), "żądanie zawiera nieprawidłowe pola",
			[]string{"musi mieć postać services/{uuid}"}},
		{"Invalid with a plain text", Invalid("service_id", "must be a UUID"), "żądanie zawiera nieprawidłowe pola",
			[]string{"musi być identyfikatorem UUID"}},
		{"Withf and metadata", ErrStaleEtag.With("resource", "services/x").Withf("the service has %d open watches, its limit (--max-watches); retry later", 3),
			"usługa ma już 3 otwartych obserwacji, czyli swój limit (--max-watches); spróbuj ponownie później", nil},
	}
	for _, c := range cases {
		english := c.err.Error()
		pl := c.err.Localize(i18n.Polish)
		if pl.Kind != c.err.Kind || pl.Reason != c.err.Reason || len(pl.Metadata) != len(c.err.Metadata) {
			t.Errorf("%s: kind, reason or metadata changed: %+v", c.name, pl)
		}
		if pl.Message != c.pl {
			t.Errorf("%s: message %q, want %q", c.name, pl.Message, c.pl)
		}
		if len(pl.Violations) != len(c.plDesc) {
			t.Fatalf("%s: %d violations, want %d", c.name, len(pl.Violations), len(c.plDesc))
		}
		for i, d := range c.plDesc {
			if pl.Violations[i].Description != d || pl.Violations[i].Field != c.err.Violations[i].Field || pl.Violations[i].Reason != c.err.Violations[i].Reason {
				t.Errorf("%s: violation %d = %+v, want %q on %s", c.name, i, pl.Violations[i], d, c.err.Violations[i].Field)
			}
		}
		if c.err.Error() != english || c.err.Localize(i18n.English) != c.err {
			t.Errorf("%s: the English error changed", c.name)
		}
	}
}
