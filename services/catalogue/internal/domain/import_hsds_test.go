package domain

import (
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
)

// TestParseHSDSRefusalsInPolish: a file that is not HSDS JSON is refused with what is wrong with the JSON, and
// the whole description, the JSON problem included, reads in Polish for a Polish caller.
func TestParseHSDSRefusalsInPolish(t *testing.T) {
	for _, tc := range []struct {
		name, file, en, pl string
	}{
		{"list with a syntax error", `[{"id": "a"},}]`,
			"is not an HSDS JSON list of services: syntax error at byte 14",
			"nie jest listą usług w formacie HSDS JSON: błąd składni w bajcie 14"},
		{"page whose contents is a number", `{"contents": 5}`,
			"is not an HSDS JSON page of services: the field contents holds a JSON number of the wrong type",
			"nie jest stroną usług w formacie HSDS JSON: pole contents zawiera wartość JSON niewłaściwego typu (number)"},
		{"page without contents", `{"total_items": 0}`,
			"is an HSDS JSON object without contents; send a list of services or a page with contents",
			"jest obiektem HSDS JSON bez pola contents; wyślij listę usług albo stronę z polem contents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHSDS("content", []byte(tc.file))
			e, ok := apierr.As(err)
			if !ok || e.Kind != apierr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "content" {
				t.Fatalf("err = %v, want INVALID_ARGUMENT on content", err)
			}
			if got := e.Violations[0].Description; got != tc.en {
				t.Errorf("English: %q, want %q", got, tc.en)
			}
			if got := e.Localize(i18n.Polish).Violations[0].Description; got != tc.pl {
				t.Errorf("Polish: %q, want %q", got, tc.pl)
			}
		})
	}
}
