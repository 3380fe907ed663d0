package domain

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// hsdsFastSample has every field the catalogue reads, in every JSON shape the fast reader accepts: escapes,
// Polish text, numbers in exponent form, nulls, empty lists, unknown fields of every kind.
const hsdsFastSample = `[{"id": "s-1", "name": "Klub Seniora \"Razem\" \u0142\u00f3d\u017a", "alternate_name": "Klub „Złota Jesień”",
	"description": "Opis\nw dwóch liniach\t\\ \/ \ud83d\ude00", "url": "https://cus.rawicz.pl/a", "email": "cus@rawicz.pl",
	"status": "active", "application_process": "Zgłoszenie", "eligibility_description": "Seniorzy", "fees_description": "Bezpłatnie",
	"minimum_age": 6e1, "maximum_age": null,
	"phones": [{"number": "+48 65 546 00 00", "extension": 12, "type": "voice", "description": "sekretariat"}, {"number": "65 1", "extension": null}],
	"service_at_locations": [{"location": {"id": "x", "name": "Świetlica", "description": "Filia", "latitude": 51.6, "longitude": -16.86E-1,
			"addresses": [{"address_1": "ul. Łąkowa 1", "address_2": "", "city": "Rawicz", "region": "wielkopolskie", "state_province": "wlkp",
				"postal_code": "63-900", "country": "pl", "address_type": "physical"}],
			"accessibility": [{"description": "Podjazd", "details": "wheelchair", "url": "https://a.pl"}]},
		"schedules": [{"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "08:00:00", "closes_at": "16:00:00", "notes": "n"}]},
		{"location": null, "schedules": []}, {"schedules": null}],
	"cost_options": [{"option": "godzina", "amount": 10.5, "currency": "pln", "amount_description": "za godzinę"}],
	"languages": [{"code": "PL"}, {"code": null}, {}],
	"attributes": [{"taxonomy_term": {"id": "1", "code": "seniorzy", "name": "Seniorzy", "term": "t"}}, {"taxonomy_term_id": "pomoc społeczna", "taxonomy_term": null}],
	"service_areas": [{"name": "Rawicz", "description": "Gmina Rawicz. Kod TERYT: 3022053."}],
	"unknown": {"deep": [1, 2, {"x": [true, false, null, -0.5e+3]}], "": "\u0000"}, "Unknown2": [], "x": "a\\\"b"},
	{"id": "s-2"}, {}]`

// decodeHSDSReference is what json.Unmarshal makes of a file, as a list or as a page's contents.
func decodeHSDSReference(t *testing.T, b []byte) []*hsdsService {
	t.Helper()
	var list []*hsdsService
	var err error
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var page struct {
			Contents []*hsdsService `json:"contents"`
		}
		err = json.Unmarshal(b, &page)
		list = page.Contents
	} else {
		err = json.Unmarshal(b, &list)
	}
	if err != nil {
		t.Fatalf("the fast reader accepted %q, which encoding/json refuses: %v", b, err)
	}
	return list
}

func checkHSDSFast(t *testing.T, b []byte) bool {
	t.Helper()
	got, ok := decodeHSDSFast(b)
	if !ok {
		return false
	}
	want := decodeHSDSReference(t, b)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("the fast reader's services of %q differ from encoding/json's:\n%s\n%s", b, g, w)
	}
	return true
}

// TestParseHSDSFastAgreesWithEncodingJSON: whatever the fast reader accepts, encoding/json decodes without
// error into the same services; what it must give up on, it does, and ParseHSDS's answer is then the same.
func TestParseHSDSFastAgreesWithEncodingJSON(t *testing.T) {
	for _, f := range []string{hsdsFastSample, `{"total_items": 3, "contents": ` + hsdsFastSample + `, "page": {"n": 1}}`, `[]`, ` [ ] `, `{"contents": []}`} {
		if !checkHSDSFast(t, []byte(f)) {
			t.Errorf("the fast reader gave up on %.80q", f)
		}
	}
	for _, f := range []string{
		`[{"id": 5}]`, `[{"ID": "a"}]`, `[{"id": "a", "id": "b"}]`, `["tekst"]`, `[null]`, `[{"phones": [null]}]`,
		`[{"minimum_age": "60"}]`, `[{"minimum_age": 1e999}]`, `[{"name": "a\x01"}]`, `[{"n\u0061me": "a"}]`, `[{"nąme": "a"}]`,
		`{"Contents": []}`, `{"contents": [], "contents": []}`, `{"contents": null}`, `{"contents": 5}`, `{}`, `[] []`, `[{},]`,
		`[{"x": 01}]`, `[{"x": 1.}]`, `[{"x": -}]`, `[{"x": tru}]`, `[{"x": "\x"}]`, `[{"name": "\ud800"}]`, `"usługi"`, ``,
		`[{"x": ` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}]`,
	} {
		if _, ok := decodeHSDSFast([]byte(f)); ok && f != `[{"name": "\ud800"}]` {
			t.Errorf("the fast reader accepted %.80q", f)
		}
		checkHSDSFast(t, []byte(f))
		// ParseHSDS answers as before: the stream, or the slow path's refusal.
		items, err := ParseHSDS("content", []byte(f))
		var want []*ImportItem
		var wantErr error
		if s, ok := parseHSDSStream(bytes.TrimSpace([]byte(f))); ok {
			CheckDuplicates(s)
			want = s
		} else {
			want, wantErr = parseHSDSSlow("content", bytes.TrimSpace([]byte(f)))
		}
		if (err == nil) != (wantErr == nil) || len(items) != len(want) {
			t.Errorf("ParseHSDS(%.80q): %d items, %v; before: %d items, %v", f, len(items), err, len(want), wantErr)
		}
	}
	// Random damage to the sample: everything accepted agrees with encoding/json.
	rng := rand.New(rand.NewPCG(5, 6))
	base := []byte(hsdsFastSample)
	accepted := 0
	for range 20000 {
		b := bytes.Clone(base)
		for range 1 + rng.IntN(3) {
			at := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b = append(b[:at], b[at+1:]...)
			case 1:
				const punct = `{}[],:"\ 0-.eE1nul`
				b = append(b[:at], append([]byte{punct[rng.IntN(len(punct))]}, b[at:]...)...)
			case 2:
				b[at] = byte(rng.IntN(256))
			default:
				end := min(len(b), at+rng.IntN(40))
				b = append(b[:at], append(bytes.Clone(b[at:end]), b[at:]...)...)
			}
		}
		if checkHSDSFast(t, b) {
			accepted++
		}
	}
	t.Logf("%d of 20000 damaged files read by the fast reader", accepted)
	if accepted < 1000 {
		t.Errorf("only %d damaged files read by the fast reader: the test shows little", accepted)
	}
}

func FuzzParseHSDSFast(f *testing.F) {
	for _, s := range []string{hsdsFastSample, `[]`, `{"contents": [{"id": "a"}]}`, `[{"id": "a", "phones": [{"number": "1", "extension": 2}]}]`,
		`[{"attributes": [{"taxonomy_term": null}], "service_at_locations": [{"location": {"latitude": 1e2}}]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkHSDSFast(t, b)
	})
}
