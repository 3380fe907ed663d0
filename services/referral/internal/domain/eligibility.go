package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Refusals of a referral by the rules of the catalogue service it is for. Each is FAILED_PRECONDITION (the
// request is well formed; the service or the resident is not in the state the referral needs) with a field
// violation naming the request field to look at. Messages and metadata name the service's rules, never the
// resident's data (no age, no birth date, no declared group).
var (
	ErrServiceNotActive    = failedField("SERVICE_NOT_ACTIVE", "referral.service", "the service is not offered now (its status is not ACTIVE)")
	ErrDecisionRequired    = failedField("DECISION_REQUIRED", "referral.decision_reference", "the service is granted by an administrative decision (decyzja); give the decision's reference")
	ErrDecisionNotRequired = failedField("DECISION_NOT_REQUIRED", "referral.decision_reference", "the service is not granted by an administrative decision; leave the field empty")
	ErrAgeOutsideService   = failedField("RESIDENT_AGE_OUTSIDE_SERVICE", "referral.resident", "the resident's age is outside the service's age range")
	ErrNotInTargetGroups   = failedField("RESIDENT_NOT_IN_TARGET_GROUPS", "referral.resident", "the resident is in none of the service's target groups")
	ErrResidentAgeUnknown  = failedField("RESIDENT_AGE_UNKNOWN", "referral.resident", "the resident has no valid birth_date; the service's age range needs it")
	// ErrReferralConsentWithdrawn is ErrConsentWithdrawn (same reason) for a new referral, naming its consent.
	ErrReferralConsentWithdrawn = failedField("CONSENT_WITHDRAWN", "referral.consent", "the consent has been withdrawn; record a new one to refer")
)

// Ages (in full years) of the target groups derived from a birth date: dzieci do lat 3, dzieci i młodzież
// (under 18), seniorzy (60 and over, osoba starsza of the act on older persons).
const (
	childUnder3Age = 3
	adultAge       = 18
	seniorAge      = 60

	maxDecisionReferenceLen = 100
)

// declarableTargetGroups are the groups a resident's data cannot show; staff record them on the evidence.
var declarableTargetGroups = []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES,
	cataloguev1.TargetGroup_TARGET_GROUP_CARERS, cataloguev1.TargetGroup_TARGET_GROUP_UNEMPLOYED}

// AgeOn is the age in full years on day of a person born on birth (both calendar days). A person born on
// 29 February turns a year older on 1 March in common years.
func AgeOn(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		age--
	}
	return age
}

// ResidentTargetGroups are the target groups (grupy docelowe) the resident is in on day: those derived from
// the data (children under 3 and children and youth under 18 or seniors from 60 by age, families when the
// household has more than one person, all residents always) and those declared (disability, carer,
// unemployed), which nothing in the data can show. Without a valid birth date no age group is derived.
func ResidentTargetGroups(r *referralv1.Resident, day time.Time) []cataloguev1.TargetGroup {
	groups := []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS}
	if birth, err := time.Parse(time.DateOnly, r.GetBirthDate()); err == nil {
		switch age := AgeOn(birth, day); {
		case age < childUnder3Age:
			groups = append(groups, cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3, cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH)
		case age < adultAge:
			groups = append(groups, cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH)
		case age >= seniorAge:
			groups = append(groups, cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)
		}
	}
	if r.GetHouseholdSize() > 1 {
		groups = append(groups, cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES)
	}
	for _, g := range r.GetDeclaredTargetGroups() {
		if slices.Contains(declarableTargetGroups, g) && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return groups
}

// CheckEligibility applies the catalogue service's rules to a referral of resident on day, in this order:
// the service is ACTIVE (an unset status counts as ACTIVE, as the catalogue treats it on create); the decision
// reference is given exactly when the service requires an administrative decision; the resident's age on day
// is within minimum_age..maximum_age (inclusive, either bound absent meaning none); the resident is in at least
// one of the service's target groups (a service listing none, or TARGET_GROUP_ALL_RESIDENTS, is open to all).
// The first rule broken is returned.
func CheckEligibility(svc *cataloguev1.Service, r *referralv1.Resident, decisionReference string, day time.Time) error {
	switch svc.GetStatus() {
	case cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE, cataloguev1.ServiceStatus_SERVICE_STATUS_UNSPECIFIED:
	default:
		return ErrServiceNotActive.With("status", svc.GetStatus().String())
	}
	switch {
	case svc.GetRequiresDecision() && strings.TrimSpace(decisionReference) == "":
		return ErrDecisionRequired
	case !svc.GetRequiresDecision() && decisionReference != "":
		return ErrDecisionNotRequired
	}
	if svc.MinimumAge != nil || svc.MaximumAge != nil {
		birth, err := time.Parse(time.DateOnly, r.GetBirthDate())
		if err != nil {
			return ErrResidentAgeUnknown
		}
		age := AgeOn(birth, day)
		if (svc.MinimumAge != nil && age < int(svc.GetMinimumAge())) || (svc.MaximumAge != nil && age > int(svc.GetMaximumAge())) {
			return ErrAgeOutsideService.With("age_range", ageRange(svc))
		}
	}
	wanted := svc.GetTargetGroups()
	if len(wanted) == 0 || slices.Contains(wanted, cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS) {
		return nil
	}
	has := ResidentTargetGroups(r, day)
	for _, g := range wanted {
		if slices.Contains(has, g) {
			return nil
		}
	}
	names := make([]string, len(wanted))
	for i, g := range wanted {
		names[i] = g.String()
	}
	return ErrNotInTargetGroups.With("target_groups", strings.Join(names, ","))
}

// ageRange shows the service's bounds, e.g. "6-18", "60-", "-3".
func ageRange(svc *cataloguev1.Service) string {
	var lo, hi string
	if svc.MinimumAge != nil {
		lo = fmt.Sprint(svc.GetMinimumAge())
	}
	if svc.MaximumAge != nil {
		hi = fmt.Sprint(svc.GetMaximumAge())
	}
	return lo + "-" + hi
}

// checkDeclaredTargetGroups lets a resident declare only the groups nothing in the data can show, each once.
func checkDeclaredTargetGroups(v *apierr.Violations, groups []cataloguev1.TargetGroup) {
	seen := map[cataloguev1.TargetGroup]bool{}
	for i, g := range groups {
		field := "resident.declared_target_groups[" + itoa(i) + "]"
		switch {
		case !slices.Contains(declarableTargetGroups, g):
			v.Add(field, "only TARGET_GROUP_PERSONS_WITH_DISABILITIES, TARGET_GROUP_CARERS or TARGET_GROUP_UNEMPLOYED can be declared; the other groups are derived from birth_date and household_size")
		case seen[g]:
			v.Add(field, "declared twice")
		}
		seen[g] = true
	}
}

// checkDecisionReference checks the format of a referral's decision reference (znak sprawy decyzji); whether
// one is needed is the catalogue service's rule (CheckEligibility).
func checkDecisionReference(v *apierr.Violations, s string) {
	if s == "" {
		return
	}
	checkLen(v, "referral.decision_reference", s, maxDecisionReferenceLen, true)
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		v.Add("referral.decision_reference", "must not contain control characters")
	}
}

// receiveTimeSkew is how far in the future a case's receive_time may be: the clocks of the gmina's document
// system and of this service may differ by that much.
const receiveTimeSkew = 5 * time.Minute

// CheckReceiveTime refuses a case's receive time (when the wniosek was received: the queue order) later than
// now plus a small clock skew; a case received in the future would jump ahead of nobody but sort after every
// real one, and its plan's due date would be computed from a day that has not come.
func CheckReceiveTime(c *referralv1.Case, now time.Time) error {
	if c.GetReceiveTime() == nil {
		return nil
	}
	var v apierr.Violations
	if err := c.GetReceiveTime().CheckValid(); err != nil {
		v.Add("case.receive_time", "not a valid timestamp")
	} else if c.GetReceiveTime().AsTime().After(now.Add(receiveTimeSkew)) {
		v.Add("case.receive_time", "is in the future")
	}
	return v.Err()
}
