package domain

import (
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // agreement periods are Polish calendar days; do not depend on the host's zoneinfo

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// warsaw is the time zone agreement periods are read in.
var warsaw = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600) // unreachable with time/tzdata linked in
}()

// Today is the calendar day in Poland at t, YYYY-MM-DD: an agreement's last day lasts until midnight in Warsaw,
// not in UTC.
func Today(t time.Time) string { return t.In(warsaw).Format(time.DateOnly) }

// LegalBasisFits reports whether an agreement on basis may be made with a provider of kind, and if not, why.
// An informal group can only sign a volunteer agreement, a gmina unit only deliver in-house.
func LegalBasisFits(kind providerv1.ProviderKind, basis providerv1.LegalBasis) (bool, string) {
	switch basis {
	case providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT:
		if kind != providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT {
			return false, "in-house delivery is only for units of the gmina"
		}
	case providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL:
		switch kind {
		case providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION, providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE,
			providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY, providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:
		default:
			return false, "an open call under the public-benefit act is for foundations, associations, social cooperatives, other social economy entities and church organisations"
		}
	case providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT:
		switch kind {
		case providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT:
			return false, "a gmina unit delivers in-house, not under a public contract"
		case providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP:
			return false, "an informal group cannot be a party to a public contract; use a volunteer agreement"
		}
	case providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT:
		if kind == providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT {
			return false, "a gmina unit delivers in-house, not under a volunteer agreement"
		}
	}
	return true, ""
}

// CheckKindFitsAgreements is the rule for changing a provider's kind: every agreement it has must still have a
// legal basis that suits the new kind. field names the kind in the error.
func CheckKindFitsAgreements(field string, kind providerv1.ProviderKind, agreements []*providerv1.Agreement) error {
	for _, a := range agreements {
		if ok, why := LegalBasisFits(kind, a.GetLegalBasis()); !ok {
			return Invalid(field, ReasonNotAllowed, "%s has an agreement (%s) on %s: %s", i18n.NewMsg(KindLabel(kind)), a.GetName(), a.GetLegalBasis(), i18n.NewMsg(why))
		}
	}
	return nil
}

// NormaliseAgreement brings an agreement to its stored form: default status, status_reason cleared when ACTIVE,
// the service name in lower case.
func NormaliseAgreement(a *providerv1.Agreement) {
	if a.GetStatus() == providerv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED {
		a.Status = providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE
	}
	if a.GetStatus() == providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE {
		a.StatusReason = ""
	}
	if s, ok := strings.CutPrefix(a.GetService(), ServicePrefix); ok {
		a.Service = ServicePrefix + strings.ToLower(s)
	}
}

// ValidateAgreement checks an agreement as it would be stored, recording violations under prefix.
func ValidateAgreement(a *providerv1.Agreement, prefix string, v *Violations) {
	c := checker{v: v, prefix: prefix}
	c.text("display_name", a.GetDisplayName(), MaxNameLen, false)
	c.text("reference_number", a.GetReferenceNumber(), MaxReferenceLen, false)
	c.text("description", a.GetDescription(), MaxNotesLen, false)
	if _, err := ParseServiceName(prefix+"service", a.GetService()); err != nil {
		e, _ := apierr.As(err)
		v.list = append(v.list, e.Violations...)
	}
	basis := a.GetLegalBasis()
	if _, ok := providerv1.LegalBasis_name[int32(basis)]; !ok || basis == providerv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED {
		if basis == providerv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED {
			c.add("legal_basis", ReasonRequired, "is required")
		} else {
			c.add("legal_basis", ReasonInvalidValue, "unknown legal basis %d", basis)
		}
	}
	start, okStart := c.date("start_date", a.GetStartDate())
	if a.GetStartDate() == "" {
		c.add("start_date", ReasonRequired, "is required")
	}
	end, okEnd := c.date("end_date", a.GetEndDate())
	if okStart && okEnd && end.Before(start) {
		c.add("end_date", ReasonInvalidValue, "must not be before start_date")
	}
	if a.GetEndDate() == "" && (basis == providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL || basis == providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT) {
		c.add("end_date", ReasonRequired, "is required for an agreement on %s (such agreements are for a fixed term)", basis)
	}
	if cp := a.GetCapacity(); cp == nil {
		c.add("capacity", ReasonRequired, "is required")
	} else {
		if cp.GetAmount() < 1 || cp.GetAmount() > MaxCapacity {
			c.add("capacity.amount", ReasonInvalidValue, "must be between 1 and %d", MaxCapacity)
		}
		if _, ok := providerv1.CapacityUnit_name[int32(cp.GetUnit())]; !ok || cp.GetUnit() == providerv1.CapacityUnit_CAPACITY_UNIT_UNSPECIFIED {
			c.add("capacity.unit", ReasonRequired, "must be one of CAPACITY_UNIT_HOURS, _PLACES, _VISITS, _MEALS")
		}
		if _, ok := providerv1.CapacityPeriod_name[int32(cp.GetPeriod())]; !ok || cp.GetPeriod() == providerv1.CapacityPeriod_CAPACITY_PERIOD_UNSPECIFIED {
			c.add("capacity.period", ReasonRequired, "must be one of CAPACITY_PERIOD_WEEK, _MONTH, _YEAR, _WHOLE_AGREEMENT")
		}
	}
	if f := a.GetFunding(); f == nil {
		c.add("funding", ReasonRequired, "is required")
	} else {
		checkFunding(c, f)
	}
	st := a.GetStatus()
	if _, ok := providerv1.AgreementStatus_name[int32(st)]; !ok || st == providerv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED {
		c.add("status", ReasonInvalidValue, "unknown status %d", st)
	} else if st != providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE {
		c.text("status_reason", a.GetStatusReason(), MaxReasonLen, true)
	}
}

func checkFunding(c checker, f *providerv1.Funding) {
	src := f.GetSource()
	if _, ok := providerv1.FundingSource_name[int32(src)]; !ok || src == providerv1.FundingSource_FUNDING_SOURCE_UNSPECIFIED {
		c.add("funding.source", ReasonRequired, "must be one of FUNDING_SOURCE_GMINA_BUDGET, _EU_PROJECT, _STATE_PROGRAMME, _OTHER")
	}
	code := f.GetProjectCode()
	switch {
	case code != "" && src == providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET:
		c.add("funding.project_code", ReasonNotAllowed, "must be empty when the gmina budget funds the agreement")
	case code != "" && !projectPattern.MatchString(code):
		c.add("funding.project_code", ReasonInvalidFormat, "must be up to 60 letters, digits and . / - _ ( ), e.g. FEWP.06.13-IZ.00-0001/24")
	case code == "" && src == providerv1.FundingSource_FUNDING_SOURCE_EU_PROJECT:
		c.add("funding.project_code", ReasonRequired, "the code of the EU project is required")
	}
	c.text("funding.description", f.GetDescription(), MaxReasonLen,
		src == providerv1.FundingSource_FUNDING_SOURCE_STATE_PROGRAMME || src == providerv1.FundingSource_FUNDING_SOURCE_OTHER)
}

// CheckAccepting says whether capacity may be reserved on agreement a of a provider with providerStatus on day
// today (YYYY-MM-DD): nil, or the FAILED_PRECONDITION error ReserveCapacity answers.
func CheckAccepting(a *providerv1.Agreement, providerStatus providerv1.ProviderStatus, today string) *apierr.Error {
	switch {
	case a.GetStatus() != providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE:
		return ErrAgreementNotActive
	case today < a.GetStartDate():
		return ErrAgreementNotStarted
	case a.GetEndDate() != "" && today > a.GetEndDate():
		return ErrAgreementEnded
	case providerStatus != providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE:
		return ErrProviderNotActive
	}
	return nil
}

// ReserveUnits is the capacity arithmetic of a reservation: the new reserved total, or CAPACITY_EXHAUSTED when
// units are not free. reserved is never allowed above capacity, nor below zero.
func ReserveUnits(capacity int32, reserved int64, units int32) (int64, error) {
	free := int64(capacity) - reserved
	if free < 0 {
		free = 0
	}
	if int64(units) > free {
		return reserved, ErrCapacityExhausted.
			With("available", strconv.FormatInt(free, 10)).
			With("requested", strconv.Itoa(int(units)))
	}
	return reserved + int64(units), nil
}

// ReleaseUnits is the capacity arithmetic of a release: never below zero.
func ReleaseUnits(reserved int64, units int32) int64 {
	if n := reserved - int64(units); n > 0 {
		return n
	}
	return 0
}

// CheckCapacityChange is the rule for updating an agreement's capacity while reserved units are held: the amount
// may not drop below them, and the unit or period may change only when nothing is reserved.
func CheckCapacityChange(old, updated *providerv1.Capacity, reserved int64) error {
	if reserved == 0 {
		return nil
	}
	if old.GetUnit() != updated.GetUnit() || old.GetPeriod() != updated.GetPeriod() {
		return ErrCapacityInUse.With("reserved", strconv.FormatInt(reserved, 10))
	}
	if int64(updated.GetAmount()) < reserved {
		return ErrCapacityBelowReserved.With("reserved", strconv.FormatInt(reserved, 10))
	}
	return nil
}

// BuildAvailability computes the availability view of an agreement of provider p with reserved units held.
func BuildAvailability(providerID, agreementID string, a *providerv1.Agreement, p *providerv1.Provider, reserved int64, today string) *providerv1.Availability {
	capacity := int64(a.GetCapacity().GetAmount())
	free := capacity - reserved
	if free < 0 {
		free = 0
	}
	out := &providerv1.Availability{
		Name:                AvailabilityName(providerID, agreementID),
		Agreement:           AgreementName(providerID, agreementID),
		Provider:            ProviderName(providerID),
		ProviderDisplayName: p.GetDisplayName(),
		Service:             a.GetService(),
		Capacity:            a.GetCapacity(),
		Reserved:            int32(reserved),
		Available:           int32(free),
		Accepting:           true,
	}
	if err := CheckAccepting(a, p.GetStatus(), today); err != nil {
		out.Accepting, out.NotAcceptingReason = false, err.Reason
	}
	return out
}
