// Package demo holds the demo data of the referral service for CUS Rawicz: invented residents, their consents,
// three cases, one approved plan and referrals in several statuses to the demo catalogue's services at the
// demo provider registry's providers. It is loaded by `referral serve --demo-data` (and so by `make run`) when
// the store is empty.
//
// Everything is created through the service's own handlers (server.Server), the same code paths a client
// takes, with the same validation, audit entries and change feed. Only the two dependencies are different:
// instead of calling the catalogue and provider services, which need not be up when the referral service
// starts, the loader gives the handlers snapshotCatalogue and snapshotProvider below. They answer from a
// copy of the few demo services (status, areas, fee rules, age ranges, target groups, whether a decyzja is
// required) and agreements the demo referrals use; the fee on each referral is computed, and the service's
// rules are applied, by the real code from that copy. The test in demo_test.go checks the copy against
// services/catalogue/internal/demo/rawicz.json and services/provider/internal/demo/rawicz.json.
//
// One consequence, accepted for a demo: the capacity the accepted and in-progress demo referrals hold is
// "reserved" only in snapshotProvider, not in the provider service's reservations.
//
// The people are invented. Their PESEL numbers are computed (a birth date, a serial, the check digit from
// platform/plid), not copied from any document; one resident is a foreigner without a PESEL.
package demo

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// The demo staff: the subjects the demo's records and audit entries name.
var (
	coordinator = &auth.Principal{Subject: "demo-koordynator", Roles: []auth.Role{auth.RoleCoordinator}, Via: "demo"}
	director    = &auth.Principal{Subject: "demo-dyrektor", Roles: []auth.Role{auth.RoleDirector}, Via: "demo"}
)

func providerStaff(providerID string) *auth.Principal {
	return &auth.Principal{Subject: "demo-realizator-" + providerID[len(providerID)-3:], Roles: []auth.Role{auth.RoleProvider}, ProviderID: providerID, Via: "demo"}
}

// ids of the demo catalogue (services/catalogue/internal/demo/rawicz.json) and provider registry
// (services/provider/internal/demo/rawicz.json).
const (
	svcPsychologist = "services/0194c050-3022-7053-8000-000000000007"
	svcCommunity    = "services/0194c050-3022-7053-8000-000000000009"
	svcCare         = "services/0194c050-3022-7053-8000-000000000014"
	svcSeniorDay    = "services/0194c050-3022-7053-8000-000000000017"
	svcMeals        = "services/0194c050-3022-7053-8000-000000000018"
	svcRespite      = "services/0194c050-3022-7053-8000-000000000032"
	svcTransport    = "services/0194c050-3022-7053-8000-000000000033"

	provCUS        = "0194c050-3022-7053-b000-000000000001" // Centrum Usług Społecznych w Rawiczu
	provRazem      = "0194c050-3022-7053-b000-000000000004" // Stowarzyszenie „Razem”
	provSmaki      = "0194c050-3022-7053-b000-000000000005" // Spółdzielnia Socjalna „Smaki Rawicza”
	provDobryStart = "0194c050-3022-7053-b000-000000000006" // Fundacja „Dobry Start”
)

func agreement(provider, id string) string {
	return "providers/" + provider + "/agreements/0194c050-3022-7053-c000-0000000000" + id
}

// Agreements the demo referrals go through: agreement name -> service (a copy of the provider demo).
var Agreements = map[string]string{
	agreement(provCUS, "01"):        svcCare,
	agreement(provCUS, "03"):        svcTransport,
	agreement(provCUS, "05"):        svcSeniorDay,
	agreement(provRazem, "11"):      svcRespite,
	agreement(provSmaki, "13"):      svcMeals,
	agreement(provDobryStart, "15"): svcCommunity,
	agreement(provDobryStart, "17"): svcPsychologist,
}

func to(p int32) *int32 { return &p }

func bands(b ...*cataloguev1.IncomeBand) []*cataloguev1.IncomeBand { return b }

func band(from int32, upTo *int32, payable int32) *cataloguev1.IncomeBand {
	return &cataloguev1.IncomeBand{FromPercent: from, ToPercent: upTo, PayablePercent: payable}
}

func groups(g ...cataloguev1.TargetGroup) []cataloguev1.TargetGroup { return g }

const (
	active      = cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE
	allGroup    = cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS
	families    = cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES
	youth       = cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH
	seniors     = cataloguev1.TargetGroup_TARGET_GROUP_SENIORS
	disabled    = cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES
	carers      = cataloguev1.TargetGroup_TARGET_GROUP_CARERS
	decisionRef = "CUS.4011.7.2026" // the decyzja granting the demo's care services
)

// Services is the copy of the demo catalogue's services the demo referrals use: status, areas, fee rules, and
// the rules a referral must meet (age range, target groups, whether a decyzja is required).
var Services = map[string]*cataloguev1.Service{
	svcPsychologist: {Name: svcPsychologist, DisplayName: "Poradnictwo psychologiczne dla dzieci, młodzieży i dorosłych", Status: active,
		TargetGroups: groups(allGroup, families),
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_SUPPORT, cataloguev1.Area_AREA_HEALTH_PROMOTION},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 8000, Currency: "PLN", Unit: cataloguev1.FeeUnit_FEE_UNIT_VISIT,
			IncomeBands: bands(band(0, to(150), 0), band(150, to(250), 50), band(250, nil, 100))}},
	svcCommunity: {Name: svcCommunity, DisplayName: "Świetlica Środowiskowa „Przystań”", Status: active,
		MinimumAge: to(6), MaximumAge: to(18), TargetGroups: groups(youth),
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_SUPPORT, cataloguev1.Area_AREA_PUBLIC_EDUCATION}},
	svcCare: {Name: svcCare, DisplayName: "Usługi opiekuńcze w miejscu zamieszkania", Status: active,
		TargetGroups: groups(seniors, disabled), RequiresDecision: true,
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 2500, Currency: "PLN", Unit: cataloguev1.FeeUnit_FEE_UNIT_HOUR,
			IncomeBands: bands(band(0, to(100), 0), band(100, to(150), 5), band(150, to(200), 10), band(200, to(250), 20),
				band(250, to(300), 40), band(300, nil, 100))}},
	svcSeniorDay: {Name: svcSeniorDay, DisplayName: "Dzienny Dom Senior+", Status: active,
		MinimumAge: to(60), TargetGroups: groups(seniors),
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, cataloguev1.Area_AREA_HEALTH_PROMOTION},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 1500, Currency: "PLN", Unit: cataloguev1.FeeUnit_FEE_UNIT_DAY,
			IncomeBands: bands(band(0, to(100), 0), band(100, to(150), 10), band(150, to(200), 25), band(200, to(250), 50), band(250, nil, 100))}},
	svcMeals: {Name: svcMeals, DisplayName: "Posiłki w Bistro „Dobry Smak”", Status: active,
		TargetGroups: groups(seniors, allGroup),
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 1200, Currency: "PLN", Unit: cataloguev1.FeeUnit_FEE_UNIT_MEAL,
			IncomeBands: bands(band(0, to(100), 0), band(100, to(150), 10), band(150, to(200), 25), band(200, to(250), 50), band(250, nil, 100))}},
	svcRespite: {Name: svcRespite, DisplayName: "Opieka wytchnieniowa", Status: active,
		TargetGroups: groups(carers, disabled),
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_DISABILITY_SUPPORT, cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}},
	svcTransport: {Name: svcTransport, DisplayName: "Transport door-to-door", Status: active,
		TargetGroups: groups(disabled, seniors),
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_DISABILITY_SUPPORT, cataloguev1.Area_AREA_HEALTH_PROMOTION},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 500, Currency: "PLN", Unit: cataloguev1.FeeUnit_FEE_UNIT_VISIT,
			IncomeBands: bands(band(0, to(100), 0), band(100, to(200), 50), band(200, nil, 100))}},
}

// snapshotCatalogue answers GetService from Services. Any other method is not needed by the handlers the
// loader calls (the nil embedded interface would panic, which a test would show).
type snapshotCatalogue struct {
	cataloguev1.CatalogueServiceClient
}

func (snapshotCatalogue) GetService(_ context.Context, r *cataloguev1.GetServiceRequest, _ ...grpc.CallOption) (*cataloguev1.Service, error) {
	if s, ok := Services[r.GetName()]; ok {
		return s, nil
	}
	return nil, status.Error(codes.NotFound, "not a demo service")
}

// snapshotProvider answers GetAgreement from Agreements and grants every reservation (see the package doc).
type snapshotProvider struct {
	providerv1.ProviderServiceClient
}

func (snapshotProvider) GetAgreement(_ context.Context, r *providerv1.GetAgreementRequest, _ ...grpc.CallOption) (*providerv1.Agreement, error) {
	if svc, ok := Agreements[r.GetName()]; ok {
		return &providerv1.Agreement{Name: r.GetName(), Service: svc, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE}, nil
	}
	return nil, status.Error(codes.NotFound, "not a demo agreement")
}

func (snapshotProvider) ReserveCapacity(context.Context, *providerv1.ReserveCapacityRequest, ...grpc.CallOption) (*providerv1.ReserveCapacityResponse, error) {
	return &providerv1.ReserveCapacityResponse{}, nil
}

func (snapshotProvider) ReleaseCapacity(context.Context, *providerv1.ReleaseCapacityRequest, ...grpc.CallOption) (*providerv1.ReleaseCapacityResponse, error) {
	return &providerv1.ReleaseCapacityResponse{Released: true}, nil
}

// PESEL makes a valid-format PESEL from a birth date (YYMMDD with the century in the month, as in a PESEL)
// and a four-digit serial (its last digit even for a woman, odd for a man).
func PESEL(yymmdd string, serial int) (string, error) {
	first := fmt.Sprintf("%s%04d", yymmdd, serial)
	d, err := plid.PESELCheckDigit(first)
	if err != nil {
		return "", err
	}
	return first + string(d), nil
}

// Summary says what Load created.
type Summary struct {
	Residents, Consents, Cases, Plans, Referrals int
}

// birthDateAged is a birth date that makes a person years old today (their birthday a few months back), so
// the demo's ages, and the referrals that depend on them, stay true whenever the demo is loaded.
func birthDateAged(years int) string {
	return time.Now().UTC().AddDate(-years, -3, 0).Format(time.DateOnly)
}

func rawicz(street string) *typev1.Address {
	return &typev1.Address{Address_1: street, City: "Rawicz", PostalCode: "63-900", Region: "wielkopolskie", Country: "PL"}
}

type person struct {
	resident *referralv1.Resident
	yymmdd   string
	serial   int
	consent  *referralv1.Consent
}

func people() []person {
	statutory := func(purpose string) *referralv1.Consent {
		return &referralv1.Consent{Basis: referralv1.LegalBasis_LEGAL_BASIS_STATUTORY_TASK, Purpose: purpose, GivenDate: "2026-01-12",
			Scope: []referralv1.DataScope{referralv1.DataScope_DATA_SCOPE_NAME, referralv1.DataScope_DATA_SCOPE_CONTACT, referralv1.DataScope_DATA_SCOPE_ADDRESS}}
	}
	consent := func(purpose, day string) *referralv1.Consent {
		return &referralv1.Consent{Basis: referralv1.LegalBasis_LEGAL_BASIS_CONSENT, Purpose: purpose, GivenDate: day,
			Scope: []referralv1.DataScope{referralv1.DataScope_DATA_SCOPE_NAME, referralv1.DataScope_DATA_SCOPE_CONTACT}}
	}
	return []person{
		{ // 84, lives alone; 1 350 zł: 133.7% of the single-person criterion.
			resident: &referralv1.Resident{GivenName: "Stanisława", FamilyName: "Kołodziejczak", Phone: "+48 600 100 201",
				Address: rawicz("ul. Jaśminowa 4/2"), TerytCode: "3022053", HouseholdSize: 1, MonthlyIncomePerPersonGrosze: 135000},
			yymmdd: "410317", serial: 4082,
			consent: statutory("usługi opiekuńcze i wsparcie dzienne w ramach IPUS"),
		},
		{ // 73, lives with his wife; 700 zł per person: under the family criterion.
			resident: &referralv1.Resident{GivenName: "Zenon", FamilyName: "Grobelny", Phone: "+48 600 100 202",
				Address: rawicz("ul. Wrzosowa 11"), TerytCode: "3022053", HouseholdSize: 2, MonthlyIncomePerPersonGrosze: 70000},
			yymmdd: "521102", serial: 1357,
			consent: statutory("posiłki dla osoby skierowanej przez CUS"),
		},
		{ // Mother of three; 650 zł per person.
			resident: &referralv1.Resident{GivenName: "Marta", FamilyName: "Sobczak-Nowicka", Phone: "+48 600 100 203", Email: "marta.demo@example.org",
				Address: rawicz("os. Przykładowe 9/14"), TerytCode: "3022053", HouseholdSize: 4, MonthlyIncomePerPersonGrosze: 65000},
			yymmdd: "880621", serial: 2046,
			consent: consent("wsparcie rodziny: poradnictwo i świetlica dla dzieci", "2026-02-03"),
		},
		{ // 24, lives alone, a disability (declared on the orzeczenie shown); 1 800 zł: 178% of the single-person criterion.
			resident: &referralv1.Resident{GivenName: "Kacper", FamilyName: "Marciniak", Phone: "+48 600 100 204",
				Address: rawicz("ul. Lipowa 22"), TerytCode: "3022053", HouseholdSize: 1, MonthlyIncomePerPersonGrosze: 180000,
				DeclaredTargetGroups: groups(disabled)},
			yymmdd: "012909", serial: 7731, // born 2001-09-09: the month carries +20 for the 2000s
			consent: consent("opieka wytchnieniowa i transport", "2026-02-10"),
		},
		{ // A boy of a family from abroad, without a PESEL: the birth date is given instead. The świetlica takes
			// children of 6 to 18, so the referral is his; his mother gave the consent as his legal guardian.
			resident: &referralv1.Resident{GivenName: "Maksym", FamilyName: "Kowalenko", BirthDate: birthDateAged(11), Sex: referralv1.Sex_SEX_MALE,
				Phone: "+48 600 100 205", Address: rawicz("ul. Akacjowa 3/5"), TerytCode: "3022053", HouseholdSize: 3, MonthlyIncomePerPersonGrosze: 50000},
			consent: consent("świetlica środowiskowa (zgoda matki jako przedstawicielki ustawowej)", "2026-02-17"),
		},
	}
}

// Load creates the demo data through srv's handlers when the store holds no resident yet; it reports what it
// created (all zero when the store was not empty).
func Load(ctx context.Context, st *store.Store, opts server.Options, log *zap.Logger) (Summary, error) {
	var sum Summary
	existing, _, err := st.ListResidents("", 1)
	if err != nil {
		return sum, err
	}
	if len(existing) > 0 {
		return sum, nil
	}
	if log == nil {
		log = zap.NewNop()
	}
	srv := server.New(st, snapshotCatalogue{}, snapshotProvider{}, log, opts)
	as := func(p *auth.Principal) context.Context { return auth.WithPrincipal(ctx, p) }
	coord := as(coordinator)
	today := time.Now().UTC()

	var residents, consents []string
	for _, p := range people() {
		r := p.resident
		if p.yymmdd != "" {
			if r.Pesel, err = PESEL(p.yymmdd, p.serial); err != nil {
				return sum, fmt.Errorf("demo: PESEL of %s: %w", r.GetFamilyName(), err)
			}
		}
		out, err := srv.CreateResident(coord, &referralv1.CreateResidentRequest{Resident: r})
		if err != nil {
			return sum, fmt.Errorf("demo: resident %s: %w", r.GetFamilyName(), err)
		}
		c, err := srv.CreateConsent(coord, &referralv1.CreateConsentRequest{Parent: out.GetName(), Consent: p.consent})
		if err != nil {
			return sum, fmt.Errorf("demo: consent of %s: %w", r.GetFamilyName(), err)
		}
		residents, consents = append(residents, out.GetName()), append(consents, c.GetName())
		sum.Residents++
		sum.Consents++
	}

	// Three cases, each opened by a wniosek registered in the gmina's document system.
	daysAgo := func(n int) *timestamppb.Timestamp { return timestamppb.New(today.AddDate(0, 0, -n)) }
	cases := []*referralv1.Case{
		{Resident: residents[0], DocumentReference: "CUS.4101.12.2026", ReceiveTime: daysAgo(40),
			Notes: "Wniosek córki. Po hospitalizacji potrzebna pomoc w codziennych czynnościach i kontakt z rówieśnikami.",
			Needs: []*referralv1.AssessedNeed{
				{Area: cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, Description: "pomoc w higienie, zakupach i przygotowaniu posiłków"},
				{Area: cataloguev1.Area_AREA_HEALTH_PROMOTION, Description: "aktywność i kontakt z innymi seniorami"},
			}},
		{Resident: residents[1], DocumentReference: "CUS.4101.15.2026", ReceiveTime: daysAgo(25),
			Needs: []*referralv1.AssessedNeed{{Area: cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, Description: "ciepły posiłek w dni robocze"}}},
		{Resident: residents[2], DocumentReference: "CUS.4101.19.2026", ReceiveTime: daysAgo(12),
			Needs: []*referralv1.AssessedNeed{{Area: cataloguev1.Area_AREA_FAMILY_SUPPORT, Description: "wsparcie psychologiczne matki i zajęcia dla dzieci"}}},
	}
	var caseNames []string
	for _, c := range cases {
		out, err := srv.CreateCase(coord, &referralv1.CreateCaseRequest{Case: c})
		if err != nil {
			return sum, fmt.Errorf("demo: case %s: %w", c.GetDocumentReference(), err)
		}
		caseNames = append(caseNames, out.GetName())
		sum.Cases++
	}

	// One plan (IPUS), drafted by the coordinator and approved by the director.
	start := today.AddDate(0, 0, -30)
	plan, err := srv.CreatePlan(coord, &referralv1.CreatePlanRequest{Parent: caseNames[0], Plan: &referralv1.Plan{
		Goals:           []string{"samodzielne funkcjonowanie w domu z pomocą usług opiekuńczych", "udział w zajęciach Dziennego Domu Senior+ dwa razy w tygodniu"},
		PlannedServices: []string{svcCare, svcSeniorDay, svcTransport},
		StartDate:       start.Format(time.DateOnly),
		ReviewDates:     []string{start.AddDate(0, 3, 0).Format(time.DateOnly), start.AddDate(0, 6, 0).Format(time.DateOnly)},
	}})
	if err != nil {
		return sum, fmt.Errorf("demo: plan: %w", err)
	}
	if _, err := srv.ApprovePlan(as(director), &referralv1.ApprovePlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); err != nil {
		return sum, fmt.Errorf("demo: approve plan: %w", err)
	}
	sum.Plans++

	// Referrals, each taken through the status changes of its story by the party the table names.
	type step struct {
		action  string
		reason  string
		outcome *referralv1.Outcome
	}
	referrals := []struct {
		resident, kase int
		service        string
		provider, ag   string
		decision       string
		units          int32
		priority       referralv1.Priority
		note           string
		steps          []step
	}{
		{0, 0, svcCare, provCUS, agreement(provCUS, "01"), decisionRef, 40, referralv1.Priority_PRIORITY_URGENT,
			"2 godziny dziennie w dni robocze", []step{{action: "accept"}, {action: "start"}}},
		{0, 0, svcSeniorDay, provCUS, agreement(provCUS, "05"), "", 8, referralv1.Priority_PRIORITY_ROUTINE,
			"wtorki i czwartki", nil},
		{1, 1, svcMeals, provSmaki, agreement(provSmaki, "13"), "", 20, referralv1.Priority_PRIORITY_ROUTINE,
			"obiady z dowozem", []step{{action: "receive"}, {action: "accept"}, {action: "start"},
				{action: "complete", outcome: &referralv1.Outcome{Code: referralv1.OutcomeCode_OUTCOME_CODE_GOT_HELP, Note: "20 obiadów wydanych, dalsze na nowy wniosek"}}}},
		{2, 2, svcPsychologist, provDobryStart, agreement(provDobryStart, "17"), "", 5, referralv1.Priority_PRIORITY_ROUTINE,
			"", []step{{action: "receive"}, {action: "accept"}}},
		{3, -1, svcRespite, provRazem, agreement(provRazem, "11"), "", 10, referralv1.Priority_PRIORITY_ROUTINE,
			"", []step{{action: "reject", reason: "brak wolnych miejsc w turnusie marcowym; zapraszamy od maja"}}},
		{4, -1, svcCommunity, provDobryStart, agreement(provDobryStart, "15"), "", 1, referralv1.Priority_PRIORITY_ROUTINE,
			"zajęcia popołudniowe; młodszy brat (8 lat) czeka na miejsce", []step{{action: "receive"}}},
	}
	for i, d := range referrals {
		r := &referralv1.Referral{Resident: residents[d.resident], Consent: consents[d.resident], Service: d.service,
			Provider: "providers/" + d.provider, Agreement: d.ag, DecisionReference: d.decision, Units: d.units, Priority: d.priority, Note: d.note}
		if d.kase >= 0 {
			r.Case = caseNames[d.kase]
		}
		out, err := srv.CreateReferral(coord, &referralv1.CreateReferralRequest{Referral: r})
		if err != nil {
			return sum, fmt.Errorf("demo: referral %d: %w", i, err)
		}
		pctx := as(providerStaff(d.provider))
		for _, s := range d.steps {
			switch s.action {
			case "receive":
				out, err = srv.ReceiveReferral(pctx, &referralv1.ReceiveReferralRequest{Name: out.GetName(), Etag: out.GetEtag()})
			case "accept":
				out, err = srv.AcceptReferral(pctx, &referralv1.AcceptReferralRequest{Name: out.GetName(), Etag: out.GetEtag()})
			case "start":
				out, err = srv.StartReferral(pctx, &referralv1.StartReferralRequest{Name: out.GetName(), Etag: out.GetEtag()})
			case "complete":
				out, err = srv.CompleteReferral(pctx, &referralv1.CompleteReferralRequest{Name: out.GetName(), Etag: out.GetEtag(), Outcome: s.outcome})
			case "reject":
				out, err = srv.RejectReferral(pctx, &referralv1.RejectReferralRequest{Name: out.GetName(), Etag: out.GetEtag(), Reason: s.reason})
			default:
				err = fmt.Errorf("unknown step %q", s.action)
			}
			if err != nil {
				return sum, fmt.Errorf("demo: referral %d, %s: %w", i, s.action, err)
			}
		}
		sum.Referrals++
	}
	log.Info("demo data loaded", zap.Int("residents", sum.Residents), zap.Int("cases", sum.Cases), zap.Int("referrals", sum.Referrals))
	return sum, nil
}
