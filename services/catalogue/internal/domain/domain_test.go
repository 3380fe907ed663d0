package domain

import (
	"fmt"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

func TestFilterLanguage(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	doc := &search.Doc{
		Name: "Klub Seniora", Areas: 1 << 9, TargetGroups: 1 << 4, Status: 1, Origin: "3022053",
		Tercs: []string{"3022053"}, Providers: []string{"providers/0194c050-0000-7000-8000-000000000001"},
		Free: true, CreateTime: now, UpdateTime: now,
	}
	cases := map[string]bool{
		"":                    true,
		"area = AREA_CULTURE": true,
		"area = AREA_HOUSING": false,
		"target_group = TARGET_GROUP_SENIORS AND area = AREA_CULTURE": true,
		"status = SERVICE_STATUS_ACTIVE":                              true,
		"status != SERVICE_STATUS_ACTIVE":                             false,
		`origin_terc = "3022053"`:                                     true,
		"origin_terc != 3022053":                                      false,
		"teryt_code = 3006023":                                        false,
		"provider = providers/0194c050-0000-7000-8000-000000000001":   true,
		"free_of_charge = true":                                       true,
		"requires_decision = true":                                    false,
		`display_name = "klub*"`:                                      true,
		`display_name = "Klub Seniora"`:                               true,
		`update_time > "2026-04-30T00:00:00Z"`:                        true,
		`update_time >= "2026-05-01T12:00:00Z"`:                       true,
		`create_time < "2026-05-01T12:00:00Z"`:                        false,
	}
	for f, want := range cases {
		p, err := ParseServiceFilter(f)
		if err != nil {
			t.Errorf("%q: %v", f, err)
			continue
		}
		if got := p(doc); got != want {
			t.Errorf("%q = %v, want %v", f, got, want)
		}
	}
	for _, bad := range []string{"area", "area =", "area AREA_CULTURE", "area == AREA_CULTURE", "area > AREA_CULTURE",
		"x = 1", `display_name = "open`, "area = AREA_CULTURE and", "area = AREA_CULTURE OR status = X", "provider = 12",
		"free_of_charge = maybe", "update_time = soon", "ą = 1"} {
		if _, err := ParseServiceFilter(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseServiceFilter(f *testing.F) {
	for _, s := range []string{"area = AREA_CULTURE", `update_time > "2026-01-01T00:00:00Z"`, "a = \"\\", "=", "AND AND"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseServiceFilter(s)
		if err == nil {
			p(&search.Doc{})
		}
	})
}

func TestPolishSortKeys(t *testing.T) {
	got := SortKeys([]string{"żaba", "zebra", "łódź", "lis", "ćma", "cel", "śliwa", "sowa", "ąb", "ab"})
	if fmt.Sprint(got) != "[ab ąb cel ćma lis łódź sowa śliwa zebra żaba]" {
		t.Fatalf("order %v", got)
	}
}

func TestMaskPaths(t *testing.T) {
	s := &cataloguev1.Service{}
	if f, err := MaskPaths("update_mask", s, nil); err != nil || len(f) != s.ProtoReflect().Descriptor().Fields().Len()-6 {
		t.Fatalf("default mask: %d fields, %v", len(f), err)
	}
	for _, ok := range [][]string{{"etag"}, {"name", "display_name"}, {"fee.unit"}, {"fee.legal_basis.number"}, {"locations"}} {
		if _, err := MaskPaths("update_mask", s, ok); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"create_time"}, {"origin_terc"}, {"nope"}, {"fee.nope"}, {"locations.name"}, {"display_name.x"}, {"display_name", "display_name"}, {"*", "fee"}} {
		if _, err := MaskPaths("update_mask", s, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestApplyNestedMaskKeepsSiblings(t *testing.T) {
	dst := &cataloguev1.Service{DisplayName: "a", Fee: &cataloguev1.FeeRule{PriceGrosze: 100, Unit: cataloguev1.FeeUnit_FEE_UNIT_HOUR, Description: "x"}}
	src := &cataloguev1.Service{DisplayName: "b", Fee: &cataloguev1.FeeRule{PriceGrosze: 250}}
	paths, err := MaskPaths("update_mask", src, []string{"fee.price_grosze", "fee.description"})
	if err != nil {
		t.Fatal(err)
	}
	ApplyMask(dst, src, paths)
	if dst.GetDisplayName() != "a" || dst.GetFee().GetPriceGrosze() != 250 || dst.GetFee().GetUnit() != cataloguev1.FeeUnit_FEE_UNIT_HOUR || dst.GetFee().GetDescription() != "" {
		t.Fatalf("nested mask result: %v", dst)
	}
	empty := &cataloguev1.Service{}
	ApplyMask(empty, src, paths)
	if empty.GetFee().GetPriceGrosze() != 250 {
		t.Fatalf("nested mask into a missing message: %v", empty)
	}
}

func TestParseClock(t *testing.T) {
	for s, want := range map[string]int{"00:00": 0, "08:30": 510, "23:59": 1439} {
		if got, ok := ParseClock(s, false); !ok || got != want {
			t.Errorf("%s = %d %v", s, got, ok)
		}
	}
	if _, ok := ParseClock("24:00", false); ok {
		t.Error("24:00 accepted as opening time")
	}
	if m, ok := ParseClock("24:00", true); !ok || m != 1440 {
		t.Error("24:00 refused as closing time")
	}
	for _, bad := range []string{"8:30", "24:01", "12:60", "", "ab:cd"} {
		if _, ok := ParseClock(bad, true); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
