package domain

import (
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// failedField is a FAILED_PRECONDITION naming the request field whose object is in the wrong state.
func failedField(reason, field, description string) *apierr.Error {
	e := &apierr.Error{Kind: apierr.KindFailedPrecondition, Reason: reason,
		Violations: []apierr.FieldViolation{{Field: field, Description: description, Reason: reason}},
		Metadata:   map[string]string{"field": field}}
	return e.Withf("%s: %v", field, i18n.NewMsg(description))
}

// Errors of the checks a referral's agreement and consent must pass.
var (
	ErrAgreementOtherService = failedField("AGREEMENT_NOT_VALID", "referral.agreement", "the agreement is not for referral.service")
	ErrAgreementNotActive    = failedField("AGREEMENT_NOT_ACTIVE", "referral.agreement", "the agreement is not active (suspended or terminated)")
	ErrAgreementNotInForce   = failedField("AGREEMENT_NOT_IN_FORCE", "referral.agreement", "the agreement's period does not cover today")
	ErrConsentOtherProvider  = failedField("CONSENT_NOT_FOR_PROVIDER", "referral.consent", "the consent is for another provider")
)

// CheckAgreement checks the agreement a referral goes through, as the provider service returned it: for the
// referral's service and provider, active, and in force on day (YYYY-MM-DD). An unset status is ACTIVE (the
// provider service's default); an empty start or end date does not bound the period.
func CheckAgreement(ag *providerv1.Agreement, service, provider, day string) error {
	if ag.GetService() != service {
		return ErrAgreementOtherService
	}
	if ag.GetName() != "" && !strings.HasPrefix(ag.GetName(), provider+"/") {
		return failedField("AGREEMENT_NOT_VALID", "referral.agreement", "the agreement is not referral.provider's")
	}
	switch ag.GetStatus() {
	case providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, providerv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED:
	default:
		return ErrAgreementNotActive.With("status", ag.GetStatus().String())
	}
	if s := ag.GetStartDate(); s != "" && s > day {
		return ErrAgreementNotInForce.With("start_date", s)
	}
	if e := ag.GetEndDate(); e != "" && e < day {
		return ErrAgreementNotInForce.With("end_date", e)
	}
	return nil
}

// CheckConsentProvider refuses a consent named for another provider than the referral's.
func CheckConsentProvider(c *referralv1.Consent, provider string) error {
	if c.GetProvider() != "" && c.GetProvider() != provider {
		return ErrConsentOtherProvider
	}
	return nil
}

// ValidateCaseUpdate validates a case after an update.
func ValidateCaseUpdate(c *referralv1.Case) error {
	if err := ValidateCase(c); err != nil {
		return err
	}
	var v apierr.Violations
	if c.GetStatus() == referralv1.CaseStatus_CASE_STATUS_UNSPECIFIED || referralv1.CaseStatus_name[int32(c.GetStatus())] == "" {
		v.Add("case.status", "must be OPEN, ACTIVE or CLOSED")
	}
	if c.GetCoordinator() == "" {
		v.Add("case.coordinator", "required")
	}
	return v.Err()
}

// ValidatePlanUpdate validates a plan after an update (goals, planned services, review dates); the due date
// stays as it was set on creation.
func ValidatePlanUpdate(p *referralv1.Plan) error {
	due := p.GetDueDate()
	err := NormalizePlan(p, time.Time{})
	p.DueDate = due
	return err
}

// NormalizeReview validates a review of plan p recorded on today and fills its reviewer.
func NormalizeReview(r *referralv1.PlanReview, p *referralv1.Plan, today, caller string) error {
	var v apierr.Violations
	if d, ok := checkDate(&v, "review.review_date", r.GetReviewDate(), true); ok {
		switch day := d.Format(time.DateOnly); {
		case day > today:
			v.Add("review.review_date", "is in the future")
		case day < p.GetStartDate():
			v.Add("review.review_date", "before the plan's start_date")
		}
	}
	checkLen(&v, "review.summary", r.GetSummary(), 4000, true)
	checkLen(&v, "review.reviewer", r.GetReviewer(), 200, false)
	if _, ok := checkDate(&v, "review.next_review_date", r.GetNextReviewDate(), false); ok {
		if r.GetNextReviewDate() <= r.GetReviewDate() {
			v.Add("review.next_review_date", "must be after review_date")
		} else if p.GetEndDate() != "" && r.GetNextReviewDate() > p.GetEndDate() {
			v.Add("review.next_review_date", "after the plan's end_date")
		}
	}
	if r.GetReviewer() == "" {
		r.Reviewer = caller
	}
	return v.Err()
}

// PlanOverdue says whether a plan is overdue on day (YYYY-MM-DD): a draft past its due date; an approved plan
// with a planned review date on or before day and no review recorded on or after it, with its next review date
// (from the latest review) before day, or past its end date.
func PlanOverdue(p *referralv1.Plan, day string) bool {
	switch p.GetStatus() {
	case referralv1.PlanStatus_PLAN_STATUS_DRAFT:
		return p.GetDueDate() < day
	case referralv1.PlanStatus_PLAN_STATUS_APPROVED:
		last := ""
		for _, r := range p.GetReviews() {
			last = max(last, r.GetReviewDate())
		}
		for _, r := range p.GetReviewDates() {
			if r <= day && r > last {
				return true
			}
		}
		if n := p.GetNextReviewDate(); n != "" && n < day {
			return true
		}
		return p.GetEndDate() < day
	}
	return false
}
