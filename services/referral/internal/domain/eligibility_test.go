package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

func age(v int32) *int32 { return &v }

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestAgeOnCountsFullYears(t *testing.T) {
	for _, c := range []struct {
		birth, on string
		want      int
	}{
		{"2000-06-15", "2026-06-14", 25},
		{"2000-06-15", "2026-06-15", 26},
		{"2000-02-29", "2026-02-28", 25},
		{"2000-02-29", "2026-03-01", 26},
		{"2000-02-29", "2028-02-29", 28},
		{"2026-01-01", "2026-12-31", 0},
	} {
		if got := domain.AgeOn(day(c.birth), day(c.on)); got != c.want {
			t.Errorf("born %s, on %s: %d, want %d", c.birth, c.on, got, c.want)
		}
	}
}

func TestResidentTargetGroupsAreDerivedAndDeclared(t *testing.T) {
	g := cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS
	under3, youth, families, seniors := cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3, cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH,
		cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES, cataloguev1.TargetGroup_TARGET_GROUP_SENIORS
	disab := cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES
	on := day("2026-06-15")
	for _, c := range []struct {
		name string
		r    *referralv1.Resident
		want []cataloguev1.TargetGroup
	}{
		{"toddler in a family", &referralv1.Resident{BirthDate: "2024-06-16", HouseholdSize: 3}, []cataloguev1.TargetGroup{g, under3, youth, families}},
		{"third birthday", &referralv1.Resident{BirthDate: "2023-06-15", HouseholdSize: 3}, []cataloguev1.TargetGroup{g, youth, families}},
		{"day before 18", &referralv1.Resident{BirthDate: "2008-06-16", HouseholdSize: 1}, []cataloguev1.TargetGroup{g, youth}},
		{"18th birthday", &referralv1.Resident{BirthDate: "2008-06-15", HouseholdSize: 1}, []cataloguev1.TargetGroup{g}},
		{"day before 60", &referralv1.Resident{BirthDate: "1966-06-16", HouseholdSize: 1}, []cataloguev1.TargetGroup{g}},
		{"60th birthday", &referralv1.Resident{BirthDate: "1966-06-15", HouseholdSize: 2}, []cataloguev1.TargetGroup{g, seniors, families}},
		{"declared disability", &referralv1.Resident{BirthDate: "2001-09-09", HouseholdSize: 1,
			DeclaredTargetGroups: []cataloguev1.TargetGroup{disab}}, []cataloguev1.TargetGroup{g, disab}},
		{"a derivable group declared is not taken", &referralv1.Resident{BirthDate: "1990-01-01", HouseholdSize: 1,
			DeclaredTargetGroups: []cataloguev1.TargetGroup{seniors}}, []cataloguev1.TargetGroup{g}},
		{"no birth date", &referralv1.Resident{HouseholdSize: 1}, []cataloguev1.TargetGroup{g}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := domain.ResidentTargetGroups(c.r, on); !slices.Equal(got, c.want) {
				t.Fatalf("%v, want %v", got, c.want)
			}
		})
	}
}

// wantRefusal checks a FAILED_PRECONDITION with reason, naming field.
func wantRefusal(t *testing.T, err error, reason, field string) {
	t.Helper()
	e, ok := apierr.As(err)
	if !ok || e.Kind != apierr.KindFailedPrecondition || e.Reason != reason {
		t.Fatalf("got %v, want FAILED_PRECONDITION %s", err, reason)
	}
	if len(e.Violations) != 1 || e.Violations[0].Field != field || e.Violations[0].Reason != reason {
		t.Fatalf("violations %+v, want one of %s", e.Violations, field)
	}
}

func TestCheckEligibility(t *testing.T) {
	on := day("2026-06-15")
	senior := &referralv1.Resident{BirthDate: "1950-03-01", HouseholdSize: 1}
	child := &referralv1.Resident{BirthDate: "2016-05-05", HouseholdSize: 4}
	adult := &referralv1.Resident{BirthDate: "1990-01-01", HouseholdSize: 1}
	disabled := &referralv1.Resident{BirthDate: "2001-09-09", HouseholdSize: 1,
		DeclaredTargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES}}
	seniors := []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}
	respite := []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CARERS, cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES}
	for _, c := range []struct {
		name          string
		svc           *cataloguev1.Service
		r             *referralv1.Resident
		decision      string
		reason, field string // empty: allowed
	}{
		{"an unrestricted active service", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}, adult, "", "", ""},
		{"status unset counts as active", &cataloguev1.Service{}, adult, "", "", ""},
		{"inactive", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE}, adult, "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"defunct", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT}, adult, "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"temporarily closed", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED}, adult, "", "SERVICE_NOT_ACTIVE", "referral.service"},
		{"decision required, none given", &cataloguev1.Service{RequiresDecision: true}, senior, "", "DECISION_REQUIRED", "referral.decision_reference"},
		{"decision required, blank given", &cataloguev1.Service{RequiresDecision: true}, senior, "  ", "DECISION_REQUIRED", "referral.decision_reference"},
		{"decision required and given", &cataloguev1.Service{RequiresDecision: true}, senior, "OPS.4011.12.2026", "", ""},
		{"decision given where none is needed", &cataloguev1.Service{}, senior, "OPS.4011.12.2026", "DECISION_NOT_REQUIRED", "referral.decision_reference"},
		{"below the minimum age", &cataloguev1.Service{MinimumAge: age(60)}, adult, "", "RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident"},
		{"at the minimum age", &cataloguev1.Service{MinimumAge: age(36)}, &referralv1.Resident{BirthDate: "1990-06-15"}, "", "", ""},
		{"above the maximum age", &cataloguev1.Service{MinimumAge: age(6), MaximumAge: age(18)}, adult, "", "RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident"},
		{"at the maximum age (inclusive)", &cataloguev1.Service{MaximumAge: age(18)}, &referralv1.Resident{BirthDate: "2007-06-16"}, "", "", ""},
		{"a day past the maximum age", &cataloguev1.Service{MaximumAge: age(18)}, &referralv1.Resident{BirthDate: "2007-06-15"}, "", "RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident"},
		{"minimum age 0", &cataloguev1.Service{MinimumAge: age(0), MaximumAge: age(3)}, &referralv1.Resident{BirthDate: "2026-01-01"}, "", "", ""},
		{"age needed, birth date missing", &cataloguev1.Service{MinimumAge: age(60)}, &referralv1.Resident{}, "", "RESIDENT_AGE_UNKNOWN", "referral.resident"},
		{"child in range", &cataloguev1.Service{MinimumAge: age(6), MaximumAge: age(18), TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH}}, child, "", "", ""},
		{"senior service, an adult", &cataloguev1.Service{TargetGroups: seniors}, adult, "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},
		{"senior service, a senior", &cataloguev1.Service{TargetGroups: seniors}, senior, "", "", ""},
		{"families, a household of four", &cataloguev1.Service{TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES}}, child, "", "", ""},
		{"families, a single person", &cataloguev1.Service{TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES}}, adult, "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},
		{"all residents among the groups", &cataloguev1.Service{TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS, cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS}}, adult, "", "", ""},
		{"respite, a declared disability", &cataloguev1.Service{TargetGroups: respite}, disabled, "", "", ""},
		{"respite, nothing declared", &cataloguev1.Service{TargetGroups: respite}, adult, "", "RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident"},
		{"the status is checked first", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT, RequiresDecision: true, TargetGroups: seniors}, adult, "", "SERVICE_NOT_ACTIVE", "referral.service"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := domain.CheckEligibility(c.svc, c.r, c.decision, on)
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRefusal(t, err, c.reason, c.field)
			// The refusal names the service's rule, never the resident's data.
			if strings.Contains(err.Error(), c.r.GetBirthDate()) && c.r.GetBirthDate() != "" {
				t.Fatalf("the error shows the birth date: %v", err)
			}
		})
	}
}

func TestDeclaredTargetGroupsAreValidated(t *testing.T) {
	base := func(g ...cataloguev1.TargetGroup) *referralv1.Resident {
		return &referralv1.Resident{GivenName: "A", FamilyName: "B", BirthDate: "1990-01-01", HouseholdSize: 1, DeclaredTargetGroups: g}
	}
	now := day("2026-06-15")
	if err := domain.NormalizeResident(base(cataloguev1.TargetGroup_TARGET_GROUP_CARERS, cataloguev1.TargetGroup_TARGET_GROUP_UNEMPLOYED,
		cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES), now); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*referralv1.Resident{
		"derived group":   base(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS),
		"unspecified":     base(cataloguev1.TargetGroup_TARGET_GROUP_UNSPECIFIED),
		"unknown value":   base(cataloguev1.TargetGroup(99)),
		"declared twice":  base(cataloguev1.TargetGroup_TARGET_GROUP_CARERS, cataloguev1.TargetGroup_TARGET_GROUP_CARERS),
		"all residents":   base(cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS),
		"families (size)": base(cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES),
	} {
		err := domain.NormalizeResident(r, now)
		e, ok := apierr.As(err)
		if !ok || e.Kind != apierr.KindInvalidArgument || len(e.Violations) != 1 || !strings.HasPrefix(e.Violations[0].Field, "resident.declared_target_groups[") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecisionReferenceFormat(t *testing.T) {
	ok := &referralv1.Referral{Resident: "residents/0194c050-3022-7053-a000-000000000001",
		Consent:   "residents/0194c050-3022-7053-a000-000000000001/consents/0194c050-3022-7053-a000-000000000002",
		Service:   "services/0194c050-3022-7053-8000-000000000014",
		Provider:  "providers/0194c050-3022-7053-b000-000000000001",
		Agreement: "providers/0194c050-3022-7053-b000-000000000001/agreements/0194c050-3022-7053-c000-000000000001"}
	for ref, valid := range map[string]bool{
		"":                       true,
		"OPS.4011.12.2026":       true,
		strings.Repeat("x", 100): true,
		strings.Repeat("x", 101): false,
		"line\nbreak":            false,
		" ":                      false,
	} {
		r := proto.Clone(ok).(*referralv1.Referral)
		r.DecisionReference = ref
		err := domain.ValidateReferral(r)
		if valid != (err == nil) {
			t.Errorf("%q: %v", ref, err)
		}
		if err != nil {
			if e, _ := apierr.As(err); e.Kind != apierr.KindInvalidArgument || e.Violations[0].Field != "referral.decision_reference" {
				t.Errorf("%q: %v", ref, err)
			}
		}
	}
}

func TestReceiveTimeInTheFutureIsRefused(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   *timestamppb.Timestamp
		want bool
	}{
		{nil, true},
		{timestamppb.New(now.AddDate(0, 0, -30)), true},
		{timestamppb.New(now.Add(4 * time.Minute)), true}, // clock skew of the document system
		{timestamppb.New(now.Add(6 * time.Minute)), false},
		{timestamppb.New(now.AddDate(1, 0, 0)), false},
		{&timestamppb.Timestamp{Seconds: 1, Nanos: -1}, false},
	} {
		err := domain.CheckReceiveTime(&referralv1.Case{ReceiveTime: c.at}, now)
		if c.want != (err == nil) {
			t.Errorf("%v: %v", c.at, err)
		}
		if err != nil {
			if e, _ := apierr.As(err); e.Kind != apierr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "case.receive_time" {
				t.Errorf("%v: %v", c.at, err)
			}
		}
	}
}

func TestConsentWithdrawnNamesTheConsent(t *testing.T) {
	e, _ := apierr.As(domain.ErrReferralConsentWithdrawn)
	if !errors.Is(domain.ErrReferralConsentWithdrawn, domain.ErrConsentWithdrawn) ||
		len(e.Violations) != 1 || e.Violations[0].Field != "referral.consent" {
		t.Fatalf("%+v", e)
	}
}
