package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

func TestNormalizeKRSAndREGON(t *testing.T) {
	for in, want := range map[string]string{
		"0000123456": "0000123456", "123456": "0000123456", "KRS 123456": "0000123456", "krs0000123456": "0000123456",
		"0000 123 456": "0000123456", "1": "0000000001", "": "", "12345678901": "12345678901", "12a": "12a",
	} {
		if got := NormalizeKRS(in); got != want {
			t.Errorf("NormalizeKRS(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NormalizeREGON(" 302 010–375 "); got != "302010375" {
		t.Errorf("NormalizeREGON = %q", got)
	}
}

func TestLegalBasisFitsKinds(t *testing.T) {
	type K = providerv1.ProviderKind
	type B = providerv1.LegalBasis
	fits := map[B][]K{
		providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT: {providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT},
		providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL: {providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY,
			providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION},
		providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT: {providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY,
			providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION, providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY,
			providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY},
		providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT: {providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY,
			providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION, providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY,
			providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY, providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP},
	}
	for basis, kinds := range fits {
		ok := map[K]bool{}
		for _, k := range kinds {
			ok[k] = true
		}
		for k := range KindRules {
			got, why := LegalBasisFits(k, basis)
			if got != ok[k] || (!got && why == "") {
				t.Errorf("%v with %v: %v %q, want %v", basis, k, got, why, ok[k])
			}
		}
	}
}

func TestCapacityArithmetic(t *testing.T) {
	if n, err := ReserveUnits(10, 7, 3); err != nil || n != 10 {
		t.Fatalf("fill up: %d %v", n, err)
	}
	_, err := ReserveUnits(10, 8, 3)
	e, ok := apierr.As(err)
	if !errors.Is(err, ErrCapacityExhausted) || !ok || e.Metadata["available"] != "2" || e.Metadata["requested"] != "3" {
		t.Fatalf("over capacity: %v %v", err, e)
	}
	// A capacity somehow below the reserved units (never stored, but arithmetic must not go negative).
	if _, err := ReserveUnits(5, 9, 1); !errors.Is(err, ErrCapacityExhausted) {
		t.Fatal("reserved above capacity allowed a reservation")
	}
	if ReleaseUnits(3, 5) != 0 || ReleaseUnits(5, 3) != 2 {
		t.Fatal("release arithmetic")
	}
	hours := &providerv1.Capacity{Amount: 40, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK}
	visits := &providerv1.Capacity{Amount: 40, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_VISITS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK}
	less := &providerv1.Capacity{Amount: 19, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK}
	if CheckCapacityChange(hours, visits, 0) != nil || !errors.Is(CheckCapacityChange(hours, visits, 1), ErrCapacityInUse) ||
		!errors.Is(CheckCapacityChange(hours, less, 20), ErrCapacityBelowReserved) || CheckCapacityChange(hours, less, 19) != nil {
		t.Fatal("capacity change rules")
	}
}

func TestTodayIsThePolishCalendarDay(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC): "2026-12-31", // 23:59 in Warsaw (CET)
		time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC):  "2027-01-01", // midnight in Warsaw
		time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC):   "2026-07-01", // midnight in summer (CEST)
	} {
		if got := Today(in); got != want {
			t.Errorf("Today(%v) = %s, want %s", in, got, want)
		}
	}
	a := &providerv1.Agreement{Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2026-01-01", EndDate: "2026-12-31"}
	if CheckAccepting(a, providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE, Today(time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC))) != nil {
		t.Fatal("the last day in Warsaw is refused")
	}
	if CheckAccepting(a, providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE, Today(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))) != ErrAgreementEnded {
		t.Fatal("the day after the last is accepted")
	}
}

func TestFoldAndKinds(t *testing.T) {
	for in, want := range map[string]string{
		"Miejscowość": "miejscowosc", "  Kod-Pocztowy ": "kod_pocztowy", "E-mail": "e_mail", "Spółka z o.o.": "spolka_z_o_o",
		"ŻŁÓBEK „Promyczek”": "zlobek_promyczek", "": "", "—": "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]providerv1.ProviderKind{
		"Fundacja":                                providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
		"stowarzyszenie zwykłe":                   providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
		"SPÓŁDZIELNIA SOCJALNA":                   providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE,
		"spoldzielnia socjalna":                   providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE,
		"PES":                                     providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY,
		"kościelna osoba prawna":                  providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION,
		"Jednostka gminna":                        providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT,
		"podmiot publiczny":                       providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY,
		"sp. z o.o.":                              providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY,
		"grupa nieformalna":                       providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP,
		"PROVIDER_KIND_SOCIAL_COOPERATIVE":        providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE,
		"informal_group":                          providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP,
		"provider kind foundation or association": providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
	} {
		if got, ok := ParseKind(in); !ok || got != want {
			t.Errorf("ParseKind(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "spółka partnerska", "unspecified", "PROVIDER_KIND_UNSPECIFIED"} {
		if k, ok := ParseKind(in); ok {
			t.Errorf("ParseKind(%q) = %v", in, k)
		}
	}
}

func TestParseProvidersCSV(t *testing.T) {
	f, err := ParseProvidersCSV("csv", "\uFEFFNazwa;Forma prawna;Miejscowość;\r\n\"A; B\";fundacja;Rawicz;\r\n;;;\r\n\r\nC;firma;;\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.Separator != ';' || len(f.Rows) != 2 || f.Rows[0].Cells[ColName] != "A; B" || f.Rows[0].Cells[ColCity] != "Rawicz" ||
		f.Rows[0].Row != 2 || f.Rows[1].Row != 5 || f.HeaderOf(ColCity) != "Miejscowość" {
		t.Fatalf("parsed %+v", f)
	}
	f, err = ParseProvidersCSV("csv", "nazwa,forma_prawna,nip\n\"Fundacja, ta\",fundacja,\"856-734-62-15\"\nX,firma,1,2,3\n")
	if err != nil || f.Separator != ',' || f.Rows[0].Cells[ColName] != "Fundacja, ta" || f.Rows[1].Problem == "" {
		t.Fatalf("comma file: %+v %v", f, err)
	}
	// A header with a trailing separator is fine; a value under it is not.
	f, err = ParseProvidersCSV("csv", "nazwa;forma_prawna;\nA;fundacja;x\n")
	if err != nil || !strings.Contains(f.Rows[0].Problem, "column 3") {
		t.Fatalf("value under an empty header: %+v %v", f, err)
	}
	if got := DecodeCSVText([]byte{'n', 'a', 'z', 'w', 'a', '\n', 0xA3, 0xB9, 'k', 'a'}); got != "nazwa\nŁąka" {
		t.Fatalf("Windows-1250: %q", got)
	}
	if got := DecodeCSVText([]byte("\xef\xbb\xbfŁąka")); got != "Łąka" {
		t.Fatalf("UTF-8 with BOM: %q", got)
	}
}

func TestFilters(t *testing.T) {
	for _, bad := range []string{`kind = `, `kind == X`, `kind = PROVIDER_KIND_GMINA_UNIT AND`, `"x" = 1`, `kind ! 1`, `kind = PROVIDER_KIND_UNSPECIFIED`, `nip < 1`} {
		if _, err := ParseProviderFilter(bad); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
	keep, err := ParseAgreementFilter(`active_on = 2026-12-31 AND end_date > "2026-12-30"`)
	if err != nil {
		t.Fatal(err)
	}
	if !keep(&providerv1.Agreement{StartDate: "2026-01-01"}) || keep(&providerv1.Agreement{StartDate: "2026-01-01", EndDate: "2026-12-30"}) {
		t.Fatal("agreement filter")
	}
}
