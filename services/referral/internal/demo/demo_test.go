package demo_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/demo"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

var key = []byte("0123456789abcdef0123456789abcdef-demo-test")

var ring, _ = store.KeyRingOf("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})

func TestLoadIntoFreshStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "referral.db"), key, nil, store.WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	sum, err := demo.Load(ctx, st, server.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (demo.Summary{Residents: 5, Consents: 5, Cases: 3, Plans: 1, Referrals: 6}) {
		t.Fatalf("summary %+v", sum)
	}

	residents, _, err := st.ListResidents("", 100)
	if err != nil || len(residents) != 5 {
		t.Fatalf("residents %d %v", len(residents), err)
	}
	withoutPESEL := 0
	for _, r := range residents {
		if r.GetPesel() == "" {
			withoutPESEL++
			continue
		}
		if _, _, err := plid.ParsePESEL(r.GetPesel()); err != nil {
			t.Errorf("%s: %v", r.GetFamilyName(), err)
		}
		if id, err := st.LookupPESEL(r.GetPesel()); err != nil || "residents/"+id != r.GetName() {
			t.Errorf("PESEL index of %s: %q %v", r.GetFamilyName(), id, err)
		}
	}
	if withoutPESEL != 1 {
		t.Fatalf("%d residents without a PESEL, want the one foreigner", withoutPESEL)
	}

	statuses := map[referralv1.ReferralStatus]*referralv1.Referral{}
	if err := st.ForEachReferral(func(r *referralv1.Referral) error { statuses[r.GetStatus()] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range []referralv1.ReferralStatus{
		referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED, referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED,
		referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS,
		referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED, referralv1.ReferralStatus_REFERRAL_STATUS_REJECTED,
	} {
		if statuses[s] == nil {
			t.Errorf("no demo referral in %s", s)
		}
	}
	if c := statuses[referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED]; c.GetOutcome().GetCode() != referralv1.OutcomeCode_OUTCOME_CODE_GOT_HELP {
		t.Errorf("completed without outcome: %v", c)
	}
	if r := statuses[referralv1.ReferralStatus_REFERRAL_STATUS_REJECTED]; r.GetStatusReason() == "" {
		t.Errorf("rejected without reason: %v", r)
	}
	// Usługi opiekuńcze for 1 350 zł alone, 2026: 133.7% of 1 010 zł, band 1, 5% of 25 zł.
	if f := statuses[referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS].GetFee(); f.GetBand() != 1 || f.GetPayablePercent() != 5 || f.GetAmountGrosze() != 125 || f.GetCriterionFrom() != "2025-01-01" {
		t.Errorf("fee of the care referral: %v", f)
	}

	// The care services are granted by a decyzja: the demo referral carries its reference.
	if ref := statuses[referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS].GetDecisionReference(); ref == "" {
		t.Errorf("the care referral has no decision reference")
	}

	approved := 0
	if err := st.ForEachPlan("", func(p *referralv1.Plan) error {
		if p.GetStatus() == referralv1.PlanStatus_PLAN_STATUS_APPROVED && p.GetApprover() != "" {
			approved++
		}
		return nil
	}); err != nil || approved != 1 {
		t.Fatalf("approved plans %d %v", approved, err)
	}
	if n, broken, err := st.VerifyAudit(); err != nil || broken != 0 || n == 0 {
		t.Fatalf("audit chain: %d entries, broken at %d, %v", n, broken, err)
	}

	// A second start with the same store loads nothing.
	again, err := demo.Load(ctx, st, server.Options{}, nil)
	if err != nil || again != (demo.Summary{}) {
		t.Fatalf("second load: %+v %v", again, err)
	}
}

// TestSnapshotMatchesTheOtherDemos checks the copy of demo services and agreements the loader answers from
// against the catalogue's and provider registry's demo files, so the two cannot drift apart silently.
func TestSnapshotMatchesTheOtherDemos(t *testing.T) {
	services := filepath.Join("..", "..", "..", "catalogue", "internal", "demo", "rawicz.json")
	var cat struct{ Services []json.RawMessage }
	readJSON(t, services, &cat)
	found := 0
	for _, raw := range cat.Services {
		req := &cataloguev1.CreateServiceRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, req); err != nil {
			t.Fatal(err)
		}
		name := "services/" + req.GetServiceId()
		want, ok := demo.Services[name]
		if !ok {
			continue
		}
		found++
		if !proto.Equal(want.GetFee(), req.GetService().GetFee()) && !sameBands(want.GetFee(), req.GetService().GetFee()) {
			t.Errorf("%s: fee rule differs from the catalogue demo:\n copy %v\n demo %v", name, want.GetFee(), req.GetService().GetFee())
		}
		// The rules a referral must meet (CheckEligibility) are copied exactly; a status left unset in the
		// catalogue demo is ACTIVE there.
		got := req.GetService()
		if st := got.GetStatus(); want.GetStatus() != st && !(st == cataloguev1.ServiceStatus_SERVICE_STATUS_UNSPECIFIED && want.GetStatus() == cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE) {
			t.Errorf("%s: status %s, the catalogue demo says %s", name, want.GetStatus(), st)
		}
		if want.GetRequiresDecision() != got.GetRequiresDecision() {
			t.Errorf("%s: requires_decision %v, the catalogue demo says %v", name, want.GetRequiresDecision(), got.GetRequiresDecision())
		}
		if !proto.Equal(&cataloguev1.Service{MinimumAge: want.MinimumAge, MaximumAge: want.MaximumAge},
			&cataloguev1.Service{MinimumAge: got.MinimumAge, MaximumAge: got.MaximumAge}) {
			t.Errorf("%s: age range differs from the catalogue demo", name)
		}
		if !slices.Equal(want.GetTargetGroups(), got.GetTargetGroups()) {
			t.Errorf("%s: target groups %v, the catalogue demo says %v", name, want.GetTargetGroups(), got.GetTargetGroups())
		}
		if len(want.GetAreas()) != len(req.GetService().GetAreas()) {
			t.Errorf("%s: areas differ", name)
		}
		for i := range want.GetAreas() {
			if i < len(req.GetService().GetAreas()) && want.GetAreas()[i] != req.GetService().GetAreas()[i] {
				t.Errorf("%s: areas differ", name)
			}
		}
	}
	if found != len(demo.Services) {
		t.Errorf("%d of %d demo services found in the catalogue demo", found, len(demo.Services))
	}

	agreements := filepath.Join("..", "..", "..", "provider", "internal", "demo", "rawicz.json")
	var prov struct{ Agreements []json.RawMessage }
	readJSON(t, agreements, &prov)
	found = 0
	for _, raw := range prov.Agreements {
		req := &providerv1.CreateAgreementRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, req); err != nil {
			t.Fatal(err)
		}
		name := req.GetParent() + "/agreements/" + req.GetAgreementId()
		if svc, ok := demo.Agreements[name]; ok {
			found++
			if svc != req.GetAgreement().GetService() {
				t.Errorf("%s: service %s, the provider demo says %s", name, svc, req.GetAgreement().GetService())
			}
		}
	}
	if found != len(demo.Agreements) {
		t.Errorf("%d of %d demo agreements found in the provider demo", found, len(demo.Agreements))
	}
}

// sameBands compares what the fee computation uses (the copy leaves out the legal basis and description).
func sameBands(a, b *cataloguev1.FeeRule) bool {
	if a.GetPriceGrosze() != b.GetPriceGrosze() || a.GetUnit() != b.GetUnit() || len(a.GetIncomeBands()) != len(b.GetIncomeBands()) {
		return false
	}
	for i, x := range a.GetIncomeBands() {
		if !proto.Equal(x, b.GetIncomeBands()[i]) {
			return false
		}
	}
	return true
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is not in this checkout", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
