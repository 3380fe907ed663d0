package server_test

import (
	"testing"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Provider staff see the fee they charge, never the income or household situation it was computed from.
func TestProvidersDoNotSeeTheResidentsIncome(t *testing.T) {
	h := start(t)
	res, consent, kase := h.seed(t, pesel(t, "850312", 123), 95000, 3)
	r := h.refer(t, res, consent, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	staff, err := h.client.GetReferral(h.coord(t), &referralv1.GetReferralRequest{Name: r.GetName()})
	if err != nil || staff.GetFee().GetIncomePerPersonGrosze() != 95000 {
		t.Fatalf("staff view: %v %v", staff.GetFee(), err)
	}
	got, err := h.client.GetReferral(h.prov(t), &referralv1.GetReferralRequest{Name: r.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	fee := got.GetFee()
	if fee.GetIncomePerPersonGrosze() != 0 || fee.GetCriterionGrosze() != 0 || fee.GetCriterionKind() != 0 {
		t.Fatalf("provider sees the income basis: %v", fee)
	}
	if fee.GetPriceGrosze() != staff.GetFee().GetPriceGrosze() || fee.GetAmountGrosze() != staff.GetFee().GetAmountGrosze() {
		t.Fatalf("provider lost the fee itself: %v", fee)
	}
	list, err := h.client.ListReferrals(h.prov(t), &referralv1.ListReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list.GetReferrals() {
		if x.GetFee().GetIncomePerPersonGrosze() != 0 {
			t.Fatal("the list shows a provider the income")
		}
	}
	stream, err := h.client.WatchReferrals(h.prov(t), &referralv1.WatchReferralsRequest{AfterRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev := nextChange(t, stream)
	if ev.GetReferral().GetFee() == nil || ev.GetReferral().GetFee().GetIncomePerPersonGrosze() != 0 {
		t.Fatal("the watch stream shows a provider the income")
	}
}
