package sheet

import (
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
)

// TestTooManyRowsInPolish: the export limit error keeps its format, so a Polish caller reads it whole in
// Polish, the kind of record included.
func TestTooManyRowsInPolish(t *testing.T) {
	for _, tc := range []struct{ what, en, pl string }{
		{"services",
			"matches 50001 services; an export holds at most 50000: narrow the filter",
			"liczba pasujących pozycji (usługi): 50001; eksport może zawierać najwyżej 50000 pozycji: zawęź filtr"},
		{"agreements",
			"matches 50001 agreements; an export holds at most 50000: narrow the filter",
			"liczba pasujących pozycji (umowy): 50001; eksport może zawierać najwyżej 50000 pozycji: zawęź filtr"},
	} {
		e, ok := apierr.As(TooManyRows("filter", MaxExportRows+1, tc.what))
		if !ok || len(e.Violations) != 1 || e.Violations[0].Field != "filter" {
			t.Fatalf("%s: err = %#v, want one violation of filter", tc.what, e)
		}
		if got := e.Violations[0].Description; got != tc.en {
			t.Errorf("English: %q, want %q", got, tc.en)
		}
		if got := e.Localize(i18n.Polish).Violations[0].Description; got != tc.pl {
			t.Errorf("Polish: %q, want %q", got, tc.pl)
		}
	}
}
