package domain

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Resource name prefixes.
const (
	ResidentPrefix  = "residents/"
	CasePrefix      = "cases/"
	ReferralPrefix  = "referrals/"
	ServicePrefix   = "services/"
	ProviderPrefix  = "providers/"
	ConsentsSegment = "/consents/"
	PlansSegment    = "/plans/"
)

// Errors of the referral service. Messages name fields and resources, never values of personal data.
var (
	ErrResidentNotFound = apierr.New(apierr.KindNotFound, "RESIDENT_NOT_FOUND", "no such resident")
	ErrResidentExists   = apierr.New(apierr.KindAlreadyExists, "RESIDENT_EXISTS", "a resident with this PESEL is already recorded")
	ErrConsentNotFound  = apierr.New(apierr.KindNotFound, "CONSENT_NOT_FOUND", "no such consent")
	ErrConsentWithdrawn = apierr.New(apierr.KindFailedPrecondition, "CONSENT_WITHDRAWN", "the consent has been withdrawn")
	ErrCaseNotFound     = apierr.New(apierr.KindNotFound, "CASE_NOT_FOUND", "no such case")
	ErrPlanNotFound     = apierr.New(apierr.KindNotFound, "PLAN_NOT_FOUND", "no such plan")
	ErrPlanState        = apierr.New(apierr.KindFailedPrecondition, "PLAN_STATUS_NOT_ALLOWED", "the plan's status does not allow this change")
	ErrCaseHasOpenWork  = apierr.New(apierr.KindFailedPrecondition, "CASE_HAS_OPEN_WORK", "the case still has a plan that is not closed or a referral that has not ended; close or end them first")
	ErrReferralNotFound = apierr.New(apierr.KindNotFound, "REFERRAL_NOT_FOUND", "no such referral")
	ErrReferralExists   = apierr.New(apierr.KindAlreadyExists, "REFERRAL_EXISTS", "a referral with this id exists")
	ErrServiceNotFound  = apierr.New(apierr.KindFailedPrecondition, "SERVICE_NOT_FOUND", "the catalogue has no such service")
	ErrCatalogueDown    = apierr.New(apierr.KindUnavailable, "CATALOGUE_UNAVAILABLE", "the catalogue service is not reachable; nothing was written, retry later")
	ErrProviderDown     = apierr.New(apierr.KindUnavailable, "PROVIDER_SERVICE_UNAVAILABLE", "the provider service is not reachable; nothing was written, retry later")
	ErrAlreadyExists    = apierr.New(apierr.KindAlreadyExists, "ALREADY_EXISTS", "the id is taken")
)

// IDFromName returns the uuid after prefix in name, or a violation of field.
func IDFromName(field, prefix, name string) (string, error) {
	id, ok := strings.CutPrefix(name, prefix)
	if !ok || uuid.Validate(id) != nil {
		return "", apierr.Invalidf(field, "must be %s{uuid}", prefix)
	}
	return strings.ToLower(id), nil
}

// TwoIDs parses `{p1}/{id1}{segment}{id2}` (e.g. residents/{r}/consents/{c}).
func TwoIDs(field, prefix, segment, name string) (string, string, error) {
	rest, ok := strings.CutPrefix(name, prefix)
	if ok {
		if a, b, ok := strings.Cut(rest, segment); ok && uuid.Validate(a) == nil && uuid.Validate(b) == nil {
			return strings.ToLower(a), strings.ToLower(b), nil
		}
	}
	return "", "", apierr.Invalidf(field, "must be %s{uuid}%s{uuid}", prefix, segment)
}

func checkLen(v *apierr.Violations, field, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "at most %d characters", max)
	case !utf8.ValidString(s):
		v.Add(field, "must be UTF-8")
	}
}

func checkDate(v *apierr.Violations, field, s string, required bool) (time.Time, bool) {
	if s == "" {
		if required {
			v.Add(field, "required")
		}
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.Add(field, "must be a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return d, true
}

var phoneRe = regexp.MustCompile(`^\+?[0-9 ()-]{3,30}$`)

// NormalizeResident validates a resident to create and derives birth date and sex from the PESEL.
func NormalizeResident(r *referralv1.Resident, today time.Time) error {
	var v apierr.Violations
	checkLen(&v, "resident.given_name", r.GetGivenName(), 100, true)
	checkLen(&v, "resident.family_name", r.GetFamilyName(), 100, true)
	if p := r.GetPesel(); p != "" {
		birth, sex, err := plid.ParsePESEL(p)
		if err != nil {
			// The value is never echoed: only the field and what is wrong with it.
			v.Add("resident.pesel", "not a valid PESEL (11 digits, a real date of birth, a matching check digit)")
		} else {
			bd := birth.Format(time.DateOnly)
			if r.GetBirthDate() != "" && r.GetBirthDate() != bd {
				v.Add("resident.birth_date", "does not match the date of birth the PESEL encodes")
			}
			r.BirthDate = bd
			if sex == plid.SexFemale {
				r.Sex = referralv1.Sex_SEX_FEMALE
			} else {
				r.Sex = referralv1.Sex_SEX_MALE
			}
		}
	} else if d, ok := checkDate(&v, "resident.birth_date", r.GetBirthDate(), true); ok && d.After(today) {
		v.Add("resident.birth_date", "is in the future")
	}
	if p := r.GetPhone(); p != "" && !phoneRe.MatchString(p) {
		v.Add("resident.phone", "must be a phone number: digits, spaces, +, -, ( )")
	}
	if e := r.GetEmail(); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 200 {
			v.Add("resident.email", "must be an e-mail address")
		}
	}
	if a := r.GetAddress(); a != nil {
		checkLen(&v, "resident.address.address_1", a.GetAddress_1(), 200, false)
		checkLen(&v, "resident.address.city", a.GetCity(), 100, false)
		if a.GetPostalCode() != "" && plid.ValidatePostalCode(a.GetPostalCode()) != nil {
			v.Add("resident.address.postal_code", "must be NN-NNN")
		}
	}
	if t := r.GetTerytCode(); t != "" && plid.ValidateTERC(t) != nil {
		v.Add("resident.teryt_code", "must be a TERYT TERC code of a gmina (7 digits)")
	}
	if n := r.GetHouseholdSize(); n < 1 || n > 30 {
		v.Add("resident.household_size", "must be 1 to 30")
	}
	if r.GetMonthlyIncomePerPersonGrosze() < 0 {
		v.Add("resident.monthly_income_per_person_grosze", "must not be negative")
	}
	checkDeclaredTargetGroups(&v, r.GetDeclaredTargetGroups())
	return v.Err()
}

// ValidateConsent validates a consent to record.
func ValidateConsent(c *referralv1.Consent) error {
	var v apierr.Violations
	if c.GetBasis() == referralv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED {
		v.Add("consent.basis", "required")
	}
	checkLen(&v, "consent.purpose", c.GetPurpose(), 500, true)
	if len(c.GetScope()) == 0 {
		v.Add("consent.scope", "at least one part of the data is required")
	}
	for i, s := range c.GetScope() {
		if s == referralv1.DataScope_DATA_SCOPE_UNSPECIFIED || referralv1.DataScope_name[int32(s)] == "" {
			v.Add("consent.scope["+itoa(i)+"]", "not a known scope")
		}
	}
	checkDate(&v, "consent.given_date", c.GetGivenDate(), true)
	if c.GetProvider() != "" {
		if _, err := IDFromName("", ProviderPrefix, c.GetProvider()); err != nil {
			v.Add("consent.provider", "must be providers/{uuid}")
		}
	}
	return v.Err()
}

// ValidateCase validates a case to open.
func ValidateCase(c *referralv1.Case) error {
	var v apierr.Violations
	if _, err := IDFromName("case.resident", ResidentPrefix, c.GetResident()); err != nil {
		v.Add("case.resident", "must be residents/{uuid}")
	}
	checkLen(&v, "case.document_reference", c.GetDocumentReference(), 100, false)
	checkLen(&v, "case.coordinator", c.GetCoordinator(), 200, false)
	checkLen(&v, "case.notes", c.GetNotes(), 4000, false)
	if len(c.GetNeeds()) > 14 {
		v.Add("case.needs", "at most 14 (one per area)")
	}
	for i, n := range c.GetNeeds() {
		if n.GetArea() == 0 || int32(n.GetArea()) > 14 {
			v.Add("case.needs["+itoa(i)+"].area", "required: one of the 14 areas")
		}
		checkLen(&v, "case.needs["+itoa(i)+"].description", n.GetDescription(), 2000, false)
	}
	return v.Err()
}

// NormalizePlan validates a plan to draft on a case received at receive and sets its due and end dates.
func NormalizePlan(p *referralv1.Plan, receive time.Time) error {
	var v apierr.Violations
	if len(p.GetGoals()) == 0 || len(p.GetGoals()) > 20 {
		v.Add("plan.goals", "1 to 20 goals")
	}
	for i, g := range p.GetGoals() {
		checkLen(&v, "plan.goals["+itoa(i)+"]", g, 500, true)
	}
	if len(p.GetPlannedServices()) > 50 {
		v.Add("plan.planned_services", "at most 50")
	}
	for i, s := range p.GetPlannedServices() {
		if _, err := IDFromName("", ServicePrefix, s); err != nil {
			v.Add("plan.planned_services["+itoa(i)+"]", "must be services/{uuid}")
		}
	}
	start, okStart := checkDate(&v, "plan.start_date", p.GetStartDate(), true)
	if okStart {
		maxEnd := start.AddDate(1, 0, -1)
		if p.GetEndDate() == "" {
			p.EndDate = maxEnd.Format(time.DateOnly)
		}
		if end, ok := checkDate(&v, "plan.end_date", p.GetEndDate(), false); ok {
			if end.Before(start) {
				v.Add("plan.end_date", "before start_date")
			} else if end.After(maxEnd) {
				v.Add("plan.end_date", "a plan is valid at most one year (until %s)", maxEnd.Format(time.DateOnly))
			}
		}
		for i, r := range p.GetReviewDates() {
			if d, ok := checkDate(&v, "plan.review_dates["+itoa(i)+"]", r, true); ok && (d.Before(start) || r > p.GetEndDate()) {
				v.Add("plan.review_dates["+itoa(i)+"]", "outside the plan's period")
			}
		}
	}
	p.DueDate = receive.UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	return v.Err()
}

// ValidateReferral validates a referral to create (names only; existence is checked by the server).
func ValidateReferral(r *referralv1.Referral) error {
	var v apierr.Violations
	if _, err := IDFromName("", ResidentPrefix, r.GetResident()); err != nil {
		v.Add("referral.resident", "must be residents/{uuid}")
	}
	if r.GetCase() != "" {
		if _, err := IDFromName("", CasePrefix, r.GetCase()); err != nil {
			v.Add("referral.case", "must be cases/{uuid}")
		}
	}
	if _, _, err := TwoIDs("", ResidentPrefix, ConsentsSegment, r.GetConsent()); err != nil {
		v.Add("referral.consent", "must be residents/{uuid}/consents/{uuid}")
	} else if !strings.HasPrefix(r.GetConsent(), r.GetResident()+"/") {
		v.Add("referral.consent", "must be a consent of referral.resident")
	}
	if _, err := IDFromName("", ServicePrefix, r.GetService()); err != nil {
		v.Add("referral.service", "must be services/{uuid}")
	}
	if _, err := IDFromName("", ProviderPrefix, r.GetProvider()); err != nil {
		v.Add("referral.provider", "must be providers/{uuid}")
	}
	if _, _, err := TwoIDs("", ProviderPrefix, "/agreements/", r.GetAgreement()); err != nil {
		v.Add("referral.agreement", "must be providers/{uuid}/agreements/{uuid}")
	} else if !strings.HasPrefix(r.GetAgreement(), r.GetProvider()+"/") {
		v.Add("referral.agreement", "must be an agreement of referral.provider")
	}
	if u := r.GetUnits(); u < 0 || u > 1000 {
		v.Add("referral.units", "must be 1 to 1000")
	}
	if referralv1.Priority_name[int32(r.GetPriority())] == "" {
		v.Add("referral.priority", "not a known priority")
	}
	checkDate(&v, "referral.response_due_date", r.GetResponseDueDate(), false)
	checkLen(&v, "referral.note", r.GetNote(), 2000, false)
	checkDecisionReference(&v, r.GetDecisionReference())
	return v.Err()
}

// CheckReason checks a transition's free text.
func CheckReason(field, s string) error {
	var v apierr.Violations
	checkLen(&v, field, s, 1000, false)
	return v.Err()
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
