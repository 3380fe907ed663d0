package domain

import (
	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Criterion is the income criterion of the social-assistance act (kryterium dochodowe) from a day on; it lives
// in platform/fee, which the gateway's fee calculator shares.
type Criterion = fee.Criterion

// DefaultCriteria are the amounts in force from 2022-01-01 (776 / 600 zł) and from 2025-01-01 (1010 / 823 zł).
// They are configuration, not constants: --income-criteria-file replaces them.
func DefaultCriteria() []Criterion { return fee.DefaultCriteria() }

// LoadCriteria reads a JSON array of criteria from a file and checks it.
func LoadCriteria(path string) ([]Criterion, error) { return fee.LoadCriteria(path) }

// CheckCriteria validates criteria and sorts them by date.
func CheckCriteria(cs []Criterion) error { return fee.CheckCriteria(cs) }

// CriterionOn returns the criterion in force on day (YYYY-MM-DD): the latest whose From is not after it.
func CriterionOn(cs []Criterion, day string) (Criterion, bool) { return fee.CriterionOn(cs, day) }

// FeeQuote is what one resident pays per unit of a service under a fee rule (odpłatność).
type FeeQuote = fee.Quote

// QuoteFee computes the fee of one unit: the one implementation in platform/fee, which the catalogue uses too.
func QuoteFee(rule *cataloguev1.FeeRule, incomeGrosze, criterionGrosze int64) FeeQuote {
	return fee.For(rule, incomeGrosze, criterionGrosze)
}

// Fee computes the fee snapshot of a referral created on day for a resident with the given household size
// and income per person: the single-person criterion for a household of one, the family one otherwise.
func Fee(rule *cataloguev1.FeeRule, householdSize int32, incomeGrosze int64, cs []Criterion, day string) *referralv1.FeeSnapshot {
	snap := &referralv1.FeeSnapshot{IncomePerPersonGrosze: int32(incomeGrosze), Band: -1, Unit: rule.GetUnit()}
	var criterion int64
	if c, ok := CriterionOn(cs, day); ok && len(rule.GetIncomeBands()) > 0 {
		snap.CriterionFrom = c.From
		criterion, snap.CriterionKind = c.ForHousehold(householdSize), referralv1.CriterionKind_CRITERION_KIND_FAMILY
		if householdSize <= 1 {
			snap.CriterionKind = referralv1.CriterionKind_CRITERION_KIND_SINGLE
		}
		snap.CriterionGrosze = int32(criterion)
	}
	q := QuoteFee(rule, incomeGrosze, criterion)
	snap.PriceGrosze = int32(q.PriceGrosze)
	snap.PayablePercent = q.PayablePercent
	snap.AmountGrosze = int32(q.AmountGrosze)
	snap.Band = int32(q.Band)
	snap.Exempt = q.Exempt
	return snap
}
