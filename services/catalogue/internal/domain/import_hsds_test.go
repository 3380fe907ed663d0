package domain

import (
	"errors"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
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

// TestParseHSDSStreamAgreesWithSlowPath: a well-formed file is read by the streaming decoder (ok), and gives
// the very items the whole-file reader does (ids, keys, names, row problems, the services made); a file the
// stream cannot read whole is left to the slow path (not ok), which reports it.
func TestParseHSDSStreamAgreesWithSlowPath(t *testing.T) {
	const svc = `{"id": "s-1", "name": "Klub Seniora", "status": "active", "minimum_age": 60,
		"phones": [{"number": "+48 65 546 00 00", "extension": 12}], "languages": [{"code": "PL"}],
		"attributes": [{"taxonomy_term": {"code": "seniorzy"}}, {"taxonomy_term_id": "pomoc społeczna"}],
		"service_areas": [{"name": "Rawicz", "description": "Gmina Rawicz. Kod TERYT: 3022053."}],
		"service_at_locations": [{"location": {"id": "x", "name": "Świetlica", "latitude": 51.6, "longitude": 16.86,
			"addresses": [{"address_1": "ul. Łąkowa 1", "city": "Rawicz", "postal_code": "63-900", "country": "pl"}]},
			"schedules": [{"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "08:00:00", "closes_at": "16:00:00"}]}],
		"cost_options": [{"amount": 10.5, "currency": "pln", "option": "godzina"}], "unknown": {"deep": [1, 2]}}`
	for _, tc := range []struct {
		name, file string
		streamed   bool
	}{
		{"list", `[` + svc + `, {"id": "s-2", "name": "Klub"}]`, true},
		{"page", `{"total_items": 2, "contents": [` + svc + `, {"id": "s-2"}], "page": {"n": 1}}`, true},
		{"page, key in other case", `{"Contents": [` + svc + `]}`, true},
		{"empty list", `[]`, true},
		{"rows of the wrong shape", `[{"id": 5, "name": "Klub"}, "tekst", null, {"id": "s-3", "minimum_age": "sześćdziesiąt"}, {"id": "s-1"}]`, true},
		{"syntax error", `[{"id": "a"},}]`, false},
		{"syntax error in a row", `[` + svc + `, {"id": "a" "name": "b"}]`, false},
		{"trailing data", `[` + svc + `] []`, false},
		{"page without contents", `{"total_items": 0}`, false},
		{"page with null contents", `{"contents": null}`, false},
		{"page with contents twice", `{"contents": [], "contents": [` + svc + `]}`, false},
		{"page whose contents is a number", `{"contents": 5}`, false},
		{"not a list", `"usługi"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, ok := parseHSDSStream([]byte(tc.file))
			if ok != tc.streamed {
				t.Fatalf("streamed = %v, want %v", ok, tc.streamed)
			}
			if !ok {
				return
			}
			CheckDuplicates(items)
			want, err := parseHSDSSlow("content", []byte(tc.file))
			if err != nil {
				t.Fatalf("the slow path refuses the file: %v", err)
			}
			if len(items) != len(want) {
				t.Fatalf("%d items, the slow path %d", len(items), len(want))
			}
			for i := range items {
				g, w := items[i], want[i]
				if g.Row != w.Row || g.SourceID != w.SourceID || g.Key != w.Key || g.DisplayName != w.DisplayName {
					t.Errorf("item %d: %+v, want %+v", i, g, w)
				}
				if len(g.Violations) != len(w.Violations) {
					t.Fatalf("item %d: violations %v, want %v", i, g.Violations, w.Violations)
				}
				for j := range g.Violations {
					if !proto.Equal(g.Violations[j], w.Violations[j]) {
						t.Errorf("item %d: violation %v, want %v", i, g.Violations[j], w.Violations[j])
					}
				}
				if (g.apply == nil) != (w.apply == nil) {
					t.Fatalf("item %d: apply %v, want %v", i, g.apply != nil, w.apply != nil)
				}
				if g.apply != nil && !proto.Equal(g.apply(nil), w.apply(nil)) {
					t.Errorf("item %d: service %v, want %v", i, g.apply(nil), w.apply(nil))
				}
			}
		})
	}
}

// BenchmarkParseHSDS reads one HSDS JSON import file (CUS_BENCH_HSDS_FILE, e.g. one that `catalogue generate
// --format hsds` wrote) the fast way (ParseHSDS), the streaming way and the whole-file way, side by side in one run. Skipped without it.
func BenchmarkParseHSDS(b *testing.B) {
	name := os.Getenv("CUS_BENCH_HSDS_FILE")
	if name == "" {
		b.Skip("CUS_BENCH_HSDS_FILE names no HSDS JSON file")
	}
	file, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		parse func([]byte) ([]*ImportItem, error)
	}{
		{"fast", func(f []byte) ([]*ImportItem, error) { return ParseHSDS("content", f) }},
		{"stream", func(f []byte) ([]*ImportItem, error) {
			items, ok := parseHSDSStream(f)
			if !ok {
				return nil, errors.New("the stream does not read the file")
			}
			return items, nil
		}},
		{"whole-file", func(f []byte) ([]*ImportItem, error) { return parseHSDSSlow("content", f) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			n := 0
			for i := 0; i < b.N; i++ {
				items, err := tc.parse(file)
				if err != nil {
					b.Fatal(err)
				}
				n += len(items)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "services/s")
		})
	}
}

// An HSDS row planned again (store.ImportRows replans a row whose record changed since it was planned) gets a
// service of its own each time, the same as the first, whatever the first plan and its commit did to theirs.
func TestHSDSItemAppliedAgain(t *testing.T) {
	const file = `[{"id": "s-1", "name": "Klub Seniora", "attributes": [{"taxonomy_term_id": "pomoc społeczna"}],
		"service_at_locations": [{"location": {"id": "x", "name": "Świetlica"},
			"schedules": [{"byday": "MO", "opens_at": "08:00", "closes_at": "16:00"}]}],
		"cost_options": [{"amount": 10.5, "option": "godzina"}]}]`
	items, err := ParseHSDS("content", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	it := items[0]
	first := it.apply(nil)
	want := proto.Clone(first)
	// What the plan and the commit do to the service they get: defaults, stamps, a merge.
	first.Name, first.Etag = "services/0194c050-0000-7000-8000-000000000001", "e1"
	first.Locations[0].OpeningHours[0].ClosesAt = "17:00"
	first.TargetGroups = append(first.TargetGroups, 3)
	second := it.apply(nil)
	if second == first {
		t.Fatal("the second apply returned the first service again")
	}
	if !proto.Equal(second, want) {
		t.Errorf("second apply: %v, want %v", second, want)
	}
	cur := &cataloguev1.Service{Providers: []string{"providers/0194c050-0000-7000-8000-000000000002"}, TargetGroups: []cataloguev1.TargetGroup{2}}
	third := it.apply(cur)
	if len(third.GetTargetGroups()) != 1 || third.GetTargetGroups()[0] != 2 || len(third.GetProviders()) != 1 {
		t.Errorf("apply on a stored service: groups %v, providers %v, want the stored ones", third.GetTargetGroups(), third.GetProviders())
	}
	if len(second.GetTargetGroups()) != 0 || len(second.GetProviders()) != 0 {
		t.Errorf("the merge changed an earlier service: %v", second)
	}
}
