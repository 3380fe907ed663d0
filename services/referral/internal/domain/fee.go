package domain

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Criterion is the income criterion of the social-assistance act (kryterium dochodowe) from a day on.
type Criterion struct {
	// From is the first day it applies, YYYY-MM-DD.
	From string `json:"from"`
	// SingleGrosze is the amount for a single person (osoba samotnie gospodarująca).
	SingleGrosze int64 `json:"single_person_grosze"`
	// FamilyGrosze is the amount per person in a family.
	FamilyGrosze int64 `json:"per_person_in_family_grosze"`
}

// DefaultCriteria are the amounts in force from 2022-01-01 (776 / 600 zł) and from 2025-01-01 (1010 / 823 zł).
// They are configuration, not constants: --income-criteria-file replaces them.
func DefaultCriteria() []Criterion {
	return []Criterion{
		{From: "2022-01-01", SingleGrosze: 77600, FamilyGrosze: 60000},
		{From: "2025-01-01", SingleGrosze: 101000, FamilyGrosze: 82300},
	}
}

// LoadCriteria reads a JSON array of criteria from a file and checks it.
func LoadCriteria(path string) ([]Criterion, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []Criterion
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("income criteria file: %w", err)
	}
	return cs, CheckCriteria(cs)
}

// CheckCriteria validates criteria and sorts them by date.
func CheckCriteria(cs []Criterion) error {
	if len(cs) == 0 {
		return fmt.Errorf("income criteria: at least one entry is needed")
	}
	for i, c := range cs {
		if _, err := time.Parse(time.DateOnly, c.From); err != nil {
			return fmt.Errorf("income criteria[%d].from: must be YYYY-MM-DD", i)
		}
		if c.SingleGrosze <= 0 || c.FamilyGrosze <= 0 {
			return fmt.Errorf("income criteria[%d]: amounts must be positive", i)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].From < cs[j].From })
	return nil
}

// CriterionOn returns the criterion in force on day (YYYY-MM-DD): the latest whose From is not after it.
func CriterionOn(cs []Criterion, day string) (Criterion, bool) {
	var out Criterion
	found := false
	for _, c := range cs {
		if c.From <= day && (!found || c.From >= out.From) {
			out, found = c, true
		}
	}
	return out, found
}

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
		if householdSize <= 1 {
			criterion, snap.CriterionKind = c.SingleGrosze, referralv1.CriterionKind_CRITERION_KIND_SINGLE
		} else {
			criterion, snap.CriterionKind = c.FamilyGrosze, referralv1.CriterionKind_CRITERION_KIND_FAMILY
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
