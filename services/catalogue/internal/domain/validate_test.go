package domain

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// The hand-written pattern checks are the regular expressions they replaced, on the edge cases and on random
// strings over the alphabets that matter.
func TestPatternsMatchTheirRegexps(t *testing.T) {
	checks := []struct {
		re    *regexp.Regexp
		fn    func(string) bool
		alpha string
		cases []string
	}{
		{regexp.MustCompile(`^\+?[0-9][0-9 ()/-]{2,29}$`), validPhone, "+0189 ()/-a\n",
			[]string{"", "+", "+48", "+481", "+48 65 546 00 00", "48-", "(48) 65", "+(48)", "++48123", "123\n", "1234567890123456789012345678901", "123456789012345678901234567890", "+123456789012345678901234567890"}},
		{regexp.MustCompile(`^[0-9]{1,8}$`), validExtension, "0189a \n",
			[]string{"", "1", "12345678", "123456789", "12a", " 1"}},
		{regexp.MustCompile(`^[a-z]{2,3}$`), validLanguage, "azAZ`{1",
			[]string{"", "p", "pl", "pol", "pols", "PL", "pl\n"}},
		{regexp.MustCompile(`^[A-Z]{2}$`), validCountry, "AZaz@[1",
			[]string{"", "P", "PL", "PLN", "pl", "P1"}},
		{regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`), validHHMM, "0123456789:;/",
			[]string{"", "00:00", "23:59", "24:00", "19:60", "09:5", "9:50", "09:59\n", "20:00", "29:00", "1:000", "12:34:56", "0a:00"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range checks {
		for range 20000 {
			b := make([]byte, rng.IntN(8))
			if rng.IntN(4) == 0 {
				b = make([]byte, 25+rng.IntN(10))
			}
			for i := range b {
				b[i] = c.alpha[rng.IntN(len(c.alpha))]
			}
			c.cases = append(c.cases, string(b))
		}
		for _, s := range c.cases {
			if got, want := c.fn(s), c.re.MatchString(s); got != want {
				t.Errorf("%s on %q: %v, the regexp says %v", c.re, s, got, want)
			}
		}
	}
}

// A violation deep in a service names its field by the full path, with the indexes of the elements it is in.
func TestValidateServiceNamesNestedFields(t *testing.T) {
	valid := func() *cataloguev1.Service {
		return &cataloguev1.Service{
			DisplayName:  "Klub Seniora",
			Status:       cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
			Areas:        []cataloguev1.Area{cataloguev1.Area(1), cataloguev1.Area(2)},
			Phones:       []*typev1.Phone{{Number: "+48 65 546 00 00"}, {Number: "65 546 00 01", Extension: "12"}},
			ServiceAreas: []*cataloguev1.GeographicArea{{Name: "Rawicz", TerytCode: "3022053"}},
			Locations: []*cataloguev1.Location{
				{Name: "Świetlica", Address: &typev1.Address{City: "Rawicz", PostalCode: "63-900", Country: "PL"}},
				{Name: "Filia", OpeningHours: []*cataloguev1.OpeningHours{
					{Day: 1, OpensAt: "08:00", ClosesAt: "16:00"}, {Day: 2, OpensAt: "08:00", ClosesAt: "24:00"}}},
			},
			Providers: []string{"providers/0194c050-0000-7000-8000-000000000001"},
			Fee: &cataloguev1.FeeRule{PriceGrosze: 500, Unit: cataloguev1.FeeUnit(1), IncomeBands: []*cataloguev1.IncomeBand{
				{FromPercent: 0, ToPercent: ptr(int32(150)), PayablePercent: 0}, {FromPercent: 150, PayablePercent: 50}}},
		}
	}
	cases := []struct {
		mutate func(*cataloguev1.Service)
		want   []string
	}{
		{func(*cataloguev1.Service) {}, nil},
		{func(s *cataloguev1.Service) { s.Locations[1].OpeningHours[1].OpensAt = "8:00" }, []string{"svc.locations[1].opening_hours[1].opens_at"}},
		{func(s *cataloguev1.Service) { s.Locations[1].OpeningHours[0].ClosesAt = "07:00" }, []string{"svc.locations[1].opening_hours[0].closes_at"}},
		{func(s *cataloguev1.Service) { s.Locations[0].Address.Country = "pl" }, []string{"svc.locations[0].address.country"}},
		{func(s *cataloguev1.Service) { s.Locations[1].Id = "x" }, []string{"svc.locations[1].id"}},
		{func(s *cataloguev1.Service) {
			s.Locations[0].Id = "0194c050-0000-7000-8000-000000000009"
			s.Locations[1].Id = "0194C050-0000-7000-8000-000000000009"
		}, []string{"svc.locations[1].id"}},
		{func(s *cataloguev1.Service) { s.Phones[1].Extension = "12a" }, []string{"svc.phones[1].extension"}},
		{func(s *cataloguev1.Service) { s.Phones[0].Number = "zadzwoń" }, []string{"svc.phones[0].number"}},
		{func(s *cataloguev1.Service) { s.ServiceAreas[0].Name = "" }, []string{"svc.service_areas[0].name"}},
		{func(s *cataloguev1.Service) { s.Providers = append(s.Providers, s.Providers[0], "providers/1") }, []string{"svc.providers[1]", "svc.providers[2]"}},
		{func(s *cataloguev1.Service) { s.Areas = append(s.Areas, 2, 99) }, []string{"svc.areas[2]", "svc.areas[3]"}},
		{func(s *cataloguev1.Service) { s.Fee.Currency = "EUR" }, []string{"svc.fee.currency"}},
		{func(s *cataloguev1.Service) { s.Fee.IncomeBands[1].PayablePercent = 101 }, []string{"svc.fee.income_bands[1].payable_percent"}},
		{func(s *cataloguev1.Service) { s.Languages = []string{"pl", "POL"} }, []string{"svc.languages[1]"}},
	}
	for i, c := range cases {
		s := valid()
		c.mutate(s)
		var v apierr.Violations
		ValidateService(s, "svc.", &v)
		var got []string
		for _, fv := range v.List() {
			got = append(got, fv.Field)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("case %d: violations of %v, want %v", i, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// The one-pass text check finds what utf8.ValidString, utf8.RuneCountInString and a search for NUL find.
func TestTextCheckIsTheThreeChecks(t *testing.T) {
	reference := func(value string, max int, required bool) string {
		switch {
		case !utf8.ValidString(value):
			return "must be valid UTF-8"
		case required && strings.TrimSpace(value) == "":
			return "is required"
		case utf8.RuneCountInString(value) > max:
			return fmt.Sprintf("must be at most %d characters", max)
		case strings.ContainsAny(value, "\x00"):
			return "must not contain NUL characters"
		}
		return ""
	}
	rng := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"a", " ", "ą", "\x00", "\xff", "\xed\xa0\x80", "\uFFFD", "€", "😀", "\xe2\x82", "\t"}
	for range 50000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		value, max, required := b.String(), rng.IntN(6), rng.IntN(2) == 0
		var v apierr.Violations
		checker{v: &v}.text("f", value, max, required)
		got := ""
		if l := v.List(); len(l) > 0 {
			got = l[0].Description
		}
		if want := reference(value, max, required); got != want {
			t.Fatalf("text(%q, %d, %v): %q, want %q", value, max, required, got, want)
		}
	}
}
