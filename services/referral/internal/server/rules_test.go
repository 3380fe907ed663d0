package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// rulesCatalogue answers GetService for serviceName (so the harness's agreements fit) with rules a test sets:
// status, age range, target groups, requires_decision.
type rulesCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu  sync.Mutex
	svc *cataloguev1.Service
}

func (c *rulesCatalogue) set(svc *cataloguev1.Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.svc = svc
}

func (c *rulesCatalogue) GetService(ctx context.Context, r *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	base, err := fakeCatalogue{}.GetService(ctx, r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	proto.Merge(base, c.svc)
	return base, nil
}

// startRules is start with a rulesCatalogue in front of the referral service instead of fakeCatalogue.
func startRules(t *testing.T) (*harness, *rulesCatalogue) {
	t.Helper()
	cat := &rulesCatalogue{svc: &cataloguev1.Service{}}
	return startWith(t, cat), cat
}

func referralsIn(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	if err := st.ForEachReferral(func(*referralv1.Referral) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReferralFollowsTheServiceRules: a referral is refused, with nothing written, when the catalogue service
// is not active, requires a decyzja that is not given (or is given a reference it does not require), or when
// the resident's age or target groups do not fit it; each refusal is FAILED_PRECONDITION naming its field.
func TestReferralFollowsTheServiceRules(t *testing.T) {
	h, cat := startRules(t)
	year := time.Now().UTC().Year()
	// yymmdd of a birth date years ago on 1 January (the month carries +20 for the 2000s, as in a PESEL).
	bornYearsAgo := func(years int) string {
		y := year - years
		mm := "01"
		if y >= 2000 {
			mm = "21"
		}
		return strings.Repeat("0", 2-len(itoa(y%100))) + itoa(y%100) + mm + "01"
	}
	adult, adultConsent, _ := h.seed(t, pesel(t, bornYearsAgo(40), 1001), 0, 1)
	senior, seniorConsent, _ := h.seed(t, pesel(t, bornYearsAgo(75), 1002), 0, 1)
	child, childConsent, _ := h.seed(t, pesel(t, bornYearsAgo(10), 1003), 0, 3)
	people := map[string][2]string{"adult": {adult, adultConsent}, "senior": {senior, seniorConsent}, "child": {child, childConsent}}
	groups := func(g ...cataloguev1.TargetGroup) []cataloguev1.TargetGroup { return g }
	disab := cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES

	for _, c := range []struct {
		name          string
		svc           *cataloguev1.Service
		who, decision string
		reason, field string // empty: created
	}{
		{"inactive service", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE}, "adult", "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"defunct service", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT}, "adult", "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"temporarily closed service", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED}, "adult", "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"decyzja required, none given", &cataloguev1.Service{RequiresDecision: true}, "senior", "", "DECISION_REQUIRED", "referral.decision_reference"},
		{"decyzja given where none is required", &cataloguev1.Service{}, "senior", "CUS.4011.1.2026", "DECISION_NOT_REQUIRED", "referral.decision_reference"},
		{"younger than the minimum age", &cataloguev1.Service{MinimumAge: i32(60)}, "adult", "", "RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident"},
		{"older than the maximum age", &cataloguev1.Service{MinimumAge: i32(6), MaximumAge: i32(18)}, "adult", "", "RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident"},
		{"not a senior", &cataloguev1.Service{TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)}, "adult", "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},
		{"not a family", &cataloguev1.Service{TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES)}, "senior", "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},
		{"no declared disability", &cataloguev1.Service{TargetGroups: groups(disab)}, "adult", "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},

		{"decyzja required and given", &cataloguev1.Service{RequiresDecision: true, TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)}, "senior", "CUS.4011.1.2026", "", ""},
		{"a child in a children's service", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE, MinimumAge: i32(6), MaximumAge: i32(18),
			TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH)}, "child", "", "", ""},
		{"a senior in a 60+ service", &cataloguev1.Service{MinimumAge: i32(60), TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)}, "senior", "", "", ""},
		{"open to all residents", &cataloguev1.Service{TargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS, cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS)}, "adult", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat.set(c.svc)
			before := referralsIn(t, h.store)
			p := people[c.who]
			_, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
				Resident: p[0], Consent: p[1], Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName,
				DecisionReference: c.decision}})
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRefused(t, c.name, err, codes.FailedPrecondition, c.reason, c.field)
			if n := referralsIn(t, h.store); n != before {
				t.Fatalf("a refused referral was written: %d referrals, were %d", n, before)
			}
		})
	}

	// A disability declared on the resident (the orzeczenie shown to staff) opens the disability service.
	cat.set(&cataloguev1.Service{TargetGroups: groups(disab)})
	r, err := h.client.GetResident(h.coord(t), &referralv1.GetResidentRequest{Name: adult})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.UpdateResident(h.coord(t), &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: adult, Etag: r.GetEtag(),
		DeclaredTargetGroups: groups(disab)}, UpdateMask: mask("declared_target_groups")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: adult, Consent: adultConsent, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName}}); err != nil {
		t.Fatalf("with a declared disability: %v", err)
	}
	// A group derived from the data cannot be declared instead.
	_, err = h.client.UpdateResident(h.coord(t), &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: adult,
		DeclaredTargetGroups: groups(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)}, UpdateMask: mask("declared_target_groups")})
	wantRefused(t, "declaring a derived group", err, codes.InvalidArgument, "", "resident.declared_target_groups[0]")

	// The refusals name the service's rules, never the resident's data.
	for _, e := range h.logs.All() {
		if strings.Contains(e.Message, bornYearsAgo(40)) {
			t.Fatalf("a log shows a birth date: %v", e)
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestWithdrawnConsentRefusesNewReferrals: once the resident withdraws the consent, no new referral may go
// through it (FAILED_PRECONDITION CONSENT_WITHDRAWN naming referral.consent), and nothing is written.
func TestWithdrawnConsentRefusesNewReferrals(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "850707", 2222), 0, 1)
	h.refer(t, res, con, kase, 0) // allowed while the consent stands
	ctx := h.coord(t)
	if _, err := h.client.WithdrawConsent(ctx, &referralv1.WithdrawConsentRequest{Name: con}); err != nil {
		t.Fatal(err)
	}
	before := referralsIn(t, h.store)
	_, err := h.client.CreateReferral(ctx, &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName}})
	wantRefused(t, "referral through a withdrawn consent", err, codes.FailedPrecondition, "CONSENT_WITHDRAWN", "referral.consent")
	if n := referralsIn(t, h.store); n != before {
		t.Fatalf("written through a withdrawn consent: %d referrals, were %d", n, before)
	}
	// A new consent lets the CUS refer again.
	fresh, err := h.client.CreateConsent(ctx, &referralv1.CreateConsentRequest{Parent: res, Consent: &referralv1.Consent{
		Basis: referralv1.LegalBasis_LEGAL_BASIS_CONSENT, Purpose: "ponowna zgoda", GivenDate: time.Now().UTC().Format(time.DateOnly),
		Scope: []referralv1.DataScope{referralv1.DataScope_DATA_SCOPE_NAME}}})
	if err != nil {
		t.Fatal(err)
	}
	h.refer(t, res, fresh.GetName(), kase, 0)
}

// TestCaseReceiveTimeCannotBeInTheFuture: a wniosek cannot have been received later than now (a few minutes of
// clock skew allowed); the receive time is set on creation only and no update mask may name it.
func TestCaseReceiveTimeCannotBeInTheFuture(t *testing.T) {
	h := start(t)
	res, _, _ := h.seed(t, pesel(t, "700303", 3333), 0, 1)
	ctx := h.coord(t)
	now := time.Now()
	for _, c := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"a month ago", now.AddDate(0, -1, 0), true},
		{"a minute ahead (clock skew)", now.Add(time.Minute), true},
		{"an hour ahead", now.Add(time.Hour), false},
		{"next year", now.AddDate(1, 0, 0), false},
	} {
		_, err := h.client.CreateCase(ctx, &referralv1.CreateCaseRequest{Case: &referralv1.Case{Resident: res, ReceiveTime: timestamppb.New(c.at)}})
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		wantRefused(t, c.name, err, codes.InvalidArgument, "", "case.receive_time")
	}
	k, err := h.client.CreateCase(ctx, &referralv1.CreateCaseRequest{Case: &referralv1.Case{Resident: res}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: k.GetName(),
		ReceiveTime: timestamppb.New(now.AddDate(1, 0, 0))}, UpdateMask: mask("receive_time")})
	wantRefused(t, "updating receive_time", err, codes.InvalidArgument, "", "update_mask")
	got, err := h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: k.GetName(), Status: referralv1.CaseStatus_CASE_STATUS_OPEN,
		Coordinator: "u-coordinator", ReceiveTime: timestamppb.New(now.AddDate(1, 0, 0))}})
	if err != nil || !got.GetReceiveTime().AsTime().Equal(k.GetReceiveTime().AsTime()) {
		t.Fatalf("a whole-case update moved the receive time: %v %v", got.GetReceiveTime(), err)
	}
}
