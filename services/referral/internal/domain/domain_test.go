package domain

import (
	"errors"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

func i32(v int32) *int32 { return &v }

func TestFeeBandEdgesAreExact(t *testing.T) {
	rule := &cataloguev1.FeeRule{PriceGrosze: 3001, IncomeBands: []*cataloguev1.IncomeBand{
		{FromPercent: 0, ToPercent: i32(100), PayablePercent: 0},
		{FromPercent: 100, ToPercent: i32(150), PayablePercent: 10},
		{FromPercent: 150, ToPercent: i32(200), PayablePercent: 50},
		{FromPercent: 200, PayablePercent: 100},
	}}
	cs := DefaultCriteria()
	for _, tc := range []struct {
		name      string
		day       string
		household int32
		income    int64
		band      int32
		amount    int32
		criterion int32
	}{
		{"single 2024, just below 100%", "2024-06-01", 1, 77599, 0, 0, 77600},
		{"single 2024, exactly 100%", "2024-06-01", 1, 77600, 1, 300, 77600},   // 3001*10% = 300.1 -> 300
		{"single 2024, exactly 150%", "2024-06-01", 1, 116400, 2, 1501, 77600}, // 1500.5 rounds half up
		{"single 2024, one grosz below 200%", "2024-06-01", 1, 155199, 2, 1501, 77600},
		{"single 2024, exactly 200%", "2024-06-01", 1, 155200, 3, 3001, 77600},
		{"family 2024, exactly 100%", "2024-06-01", 3, 60000, 1, 300, 60000},
		{"family 2024, below", "2024-12-31", 3, 59999, 0, 0, 60000},
		{"single 2025 criterion applies from 2025-01-01", "2025-01-01", 1, 77600, 0, 0, 101000},
		{"single 2025, exactly 100%", "2025-03-01", 1, 101000, 1, 300, 101000},
		{"family 2025, one grosz below 150%", "2025-03-01", 2, 123449, 1, 300, 82300},
		{"family 2025, exactly 150%", "2025-03-01", 2, 123450, 2, 1501, 82300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Fee(rule, tc.household, tc.income, cs, tc.day)
			if f.GetBand() != tc.band || f.GetAmountGrosze() != tc.amount || f.GetCriterionGrosze() != tc.criterion {
				t.Fatalf("got band %d amount %d criterion %d, want %d %d %d", f.GetBand(), f.GetAmountGrosze(), f.GetCriterionGrosze(), tc.band, tc.amount, tc.criterion)
			}
			if f.GetExempt() != (tc.amount == 0) {
				t.Fatalf("exempt = %v", f.GetExempt())
			}
		})
	}
	if f := Fee(&cataloguev1.FeeRule{}, 1, 0, cs, "2025-01-01"); !f.GetExempt() || f.GetBand() != -1 {
		t.Fatalf("free service: %v", f)
	}
	if _, ok := CriterionOn(cs, "2021-12-31"); ok {
		t.Fatal("no criterion before the first entry")
	}
}

func TestStatusMachineTerminalAndResume(t *testing.T) {
	for _, s := range []referralv1.ReferralStatus{sCompleted, sFailed, sRejected, sCancelled, sError} {
		for _, r := range Rules {
			if _, err := Next(r.Action, s, r.By, "x", referralv1.OutcomeCode_OUTCOME_CODE_GOT_HELP, sAccepted); err == nil {
				t.Errorf("%s left terminal %s", r.Action, s)
			}
		}
	}
	if to, err := Next(ActionResume, sOnHold, ActorProvider, "", 0, sInProgress); err != nil || to != sInProgress {
		t.Fatalf("resume: %v %v", to, err)
	}
	if _, err := Next(ActionCancel, sRequested, ActorProvider, "x", 0, 0); !errors.Is(err, ErrActorNotAllowed) {
		t.Fatalf("provider cancel: %v", err)
	}
}
