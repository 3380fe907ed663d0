package i18n

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestNegotiate(t *testing.T) {
	cases := []struct {
		header []string
		want   string
	}{
		{nil, English},
		{[]string{""}, English},
		{[]string{"pl"}, Polish},
		{[]string{"PL"}, Polish},
		{[]string{"pl-PL"}, Polish},
		{[]string{"pl, pl-PL;q=0.9, en;q=0.8"}, Polish},
		{[]string{"en, pl;q=0.9"}, English},
		{[]string{"en;q=0.5, pl;q=0.9"}, Polish},
		{[]string{"de, pl;q=0.1"}, Polish},            // the only supported language, however low
		{[]string{"de, fr"}, English},                 // nothing supported: the default
		{[]string{"pl;q=0"}, English},                 // q=0: not acceptable
		{[]string{"*"}, English},                      // any language: the default
		{[]string{"pl;q=0.8, *;q=0.9"}, English},      // "*" ranked above Polish
		{[]string{"pl;q=abc"}, English},               // a malformed q-value drops the element
		{[]string{"pl;q=1.5"}, English},               // out of range too
		{[]string{"en-US;q=0.7", "pl;q=0.8"}, Polish}, // several header lines
		{[]string{"pl ; q=0.7 , en ; q=0.7"}, Polish}, // ties go to the first
		{[]string{"plx"}, English},                    // another language, not a region of pl
	}
	for _, c := range cases {
		if got := Negotiate(c.header...); got != c.want {
			t.Errorf("Negotiate(%q) = %s, want %s", c.header, got, c.want)
		}
	}
}

func TestVerbs(t *testing.T) {
	cases := []struct {
		en, pl string
		same   bool
	}{
		{"at most %d characters", "najwyżej %d znaków", true},
		{"column %d %q repeats column %d", "kolumna %[1]d %[2]q powtarza kolumnę %[3]d", true},
		{"%s has %d", "%[2]d ma %[1]s", true},
		{"%s has %d", "%d ma %s", false},     // the arguments swapped without indices
		{"at most %d", "najwyżej %s", false}, // another verb
		{"at most %d", "najwyżej", false},    // an argument dropped
		{"100%% sure", "w 100%% pewne", true},
		{"%q: %v", "%q: %v", true},
		{"%s", "%s %s", false}, // an argument more
	}
	for _, c := range cases {
		if got := SameVerbs(c.en, c.pl); got != c.same {
			t.Errorf("SameVerbs(%q, %q) = %v, want %v", c.en, c.pl, got, c.same)
		}
	}
}

// TestSprintfAndTranslate: a kept format is translated with its arguments (nested ones too); a text already
// filled in is matched against the catalogue; English and unknown texts pass through unchanged.
func TestSprintfAndTranslate(t *testing.T) {
	nested := NewMsg("must be %d digits", 7)
	cases := []struct {
		name, got, want string
	}{
		{"format", Sprintf(Polish, "must be at most %d characters", 200), "może mieć najwyżej 200 znaków"},
		{"nested message", Sprintf(Polish, "must be a TERYT TERC code of a gmina: %v", nested), "musi być kodem TERYT TERC gminy: musi mieć 7 cyfr"},
		{"nested error text", Sprintf(Polish, "%s: %v", "filter", errors.New("must be 6 characters in the form NN-NNN")), "filter: musi mieć 6 znaków w postaci NN-NNN"},
		{"English", Sprintf(English, "must be a TERYT TERC code of a gmina: %v", nested), "must be a TERYT TERC code of a gmina: must be 7 digits"},
		{"unknown format", Sprintf(Polish, "no such text %d", 1), "no such text 1"},
		{"plain text with %", Text(Polish, "100% unknown"), "100% unknown"},
		{"filled in", Translate(Polish, `column 3 "x" repeats column 1 (both are nazwa)`), `kolumna 3 "x" powtarza kolumnę 1 (obie to nazwa)`},
		{"filled in, nested", Translate(Polish, "must be a TERYT TERC code of a gmina: must be 7 digits"), "musi być kodem TERYT TERC gminy: musi mieć 7 cyfr"},
		{"unknown filled in", Translate(Polish, "something else entirely"), "something else entirely"},
		{"Msg prints English", nested.String(), "must be 7 digits"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestNoCatchAllPattern: formats that are only verbs ("%v", "%s: %s" has text) would match any message; "%v"
// matching its own argument recursed without end, depending on the map's order.
func TestNoCatchAllPattern(t *testing.T) {
	if _, ok := polish["%v"]; !ok {
		t.Fatal("the catalogue has no entry for the bare verb: this test checks nothing")
	}
	for _, p := range patterns() {
		if p.literal == 0 {
			t.Errorf("pattern %s of %q matches any text", p.re, p.english)
		}
	}
	if got := Translate(Polish, "x"); got != "x" {
		t.Errorf("Translate(x) = %q", got)
	}
}

func TestLocalizeStatus(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "the request has invalid fields").WithDetails(
		&errdetails.ErrorInfo{Reason: "INVALID_FIELDS", Domain: "cus.gov.pl"},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "resident.pesel", Description: "not a valid PESEL (11 digits, a real date of birth, a matching check digit)"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	pl := LocalizeStatus(st, Polish)
	if pl.Code() != codes.InvalidArgument || pl.Message() != "żądanie zawiera nieprawidłowe pola" || !IsLocalized(pl) {
		t.Fatalf("got %v", pl.Proto())
	}
	var reason, field, desc string
	for _, d := range pl.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			field, desc = d.GetFieldViolations()[0].GetField(), d.GetFieldViolations()[0].GetDescription()
		}
	}
	if reason != "INVALID_FIELDS" || field != "resident.pesel" || desc != "to nie jest poprawny numer PESEL (11 cyfr, prawdziwa data urodzenia, zgodna cyfra kontrolna)" {
		t.Errorf("details: %s %s %q", reason, field, desc)
	}
	if again := LocalizeStatus(pl, Polish); again.Proto().String() != pl.Proto().String() {
		t.Error("a localized status was translated again")
	}
	if en := LocalizeStatus(st, English); en != st {
		t.Error("English changed the status")
	}
}

func TestReasonsHaveBothLanguages(t *testing.T) {
	list := Reasons()
	if len(list) < 100 {
		t.Fatalf("only %d reasons", len(list))
	}
	if pl, ok := ReasonText(Polish, "STALE_ETAG"); !ok || pl == "" {
		t.Error("STALE_ETAG has no Polish description")
	}
	if _, ok := ReasonText(English, "NO_SUCH_REASON"); ok {
		t.Error("an unknown reason has a description")
	}
}

// The cost of an error in Polish: a kept format (the services' path) and a text matched against every format
// of the catalogue (the gateway's path for texts made elsewhere).
func BenchmarkSprintfPolish(b *testing.B) {
	nested := NewMsg("must be %d digits", 7)
	for b.Loop() {
		_ = Sprintf(Polish, "must be a TERYT TERC code of a gmina: %v", nested)
	}
}

func BenchmarkTranslateFilledIn(b *testing.B) {
	for b.Loop() {
		_ = Translate(Polish, `column 3 "x" repeats column 1 (both are nazwa)`)
	}
}

func BenchmarkTranslateUnknown(b *testing.B) {
	for b.Loop() {
		_ = Translate(Polish, "a text the catalogue does not have, of some length, as a dependency might send")
	}
}
