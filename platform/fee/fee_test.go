package fee

import (
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

func p32(v int32) *int32 { return &v }

func TestForAcrossBandEdges(t *testing.T) {
	rule := &cataloguev1.FeeRule{PriceGrosze: 2550, IncomeBands: []*cataloguev1.IncomeBand{
		{FromPercent: 0, ToPercent: p32(100), PayablePercent: 0},
		{FromPercent: 100, ToPercent: p32(150), PayablePercent: 10},
		{FromPercent: 150, ToPercent: p32(250), PayablePercent: 50},
		{FromPercent: 250, PayablePercent: 100},
	}}
	const criterion = 77600 // 776 zł
	cases := []struct {
		income  int64
		band    int
		payable int32
		amount  int64
	}{
		{0, 0, 0, 0},
		{77599, 0, 0, 0},         // just under 100%
		{77600, 1, 10, 255},      // exactly 100%: the next band (255 grosze, rounded from 255.0)
		{116399, 1, 10, 255},     // just under 150%
		{116400, 2, 50, 1275},    // exactly 150%
		{193999, 2, 50, 1275},    // just under 250%
		{194000, 3, 100, 2550},   // exactly 250%
		{10000000, 3, 100, 2550}, // far above
	}
	for _, c := range cases {
		q := For(rule, c.income, criterion)
		if q.Band != c.band || q.PayablePercent != c.payable || q.AmountGrosze != c.amount || q.Exempt != (c.amount == 0) {
			t.Errorf("income %d: got %+v, want band %d payable %d amount %d", c.income, q, c.band, c.payable, c.amount)
		}
	}
	// Half a grosz rounds up: 10% of 2555 = 255.5 -> 256.
	rule.PriceGrosze = 2555
	if q := For(rule, 80000, criterion); q.AmountGrosze != 256 {
		t.Errorf("rounding: %d", q.AmountGrosze)
	}
	if q := For(nil, 0, criterion); !q.Exempt || q.Band != -1 {
		t.Errorf("no rule: %+v", q)
	}
	if q := For(&cataloguev1.FeeRule{PriceGrosze: 1000}, 0, criterion); q.AmountGrosze != 1000 || q.Band != -1 {
		t.Errorf("no bands: %+v", q)
	}
}

func TestCriteria(t *testing.T) {
	cs := DefaultCriteria()
	if err := CheckCriteria(cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		day  string
		from string
		ok   bool
	}{{"2021-12-31", "", false}, {"2022-01-01", "2022-01-01", true}, {"2024-12-31", "2022-01-01", true}, {"2025-01-01", "2025-01-01", true}} {
		got, ok := CriterionOn(cs, c.day)
		if ok != c.ok || got.From != c.from {
			t.Errorf("%s: %+v %v", c.day, got, ok)
		}
	}
	c, _ := CriterionOn(cs, "2026-06-01")
	if c.ForHousehold(1) != 101000 || c.ForHousehold(0) != 101000 || c.ForHousehold(3) != 82300 {
		t.Errorf("household amounts: %d %d", c.ForHousehold(1), c.ForHousehold(3))
	}
	if CheckCriteria(nil) == nil || CheckCriteria([]Criterion{{From: "2025-13-01", SingleGrosze: 1, FamilyGrosze: 1}}) == nil ||
		CheckCriteria([]Criterion{{From: "2025-01-01", SingleGrosze: 0, FamilyGrosze: 1}}) == nil {
		t.Error("a bad criteria list was accepted")
	}
}
