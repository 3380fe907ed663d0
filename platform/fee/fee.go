// Package fee computes what a resident pays for one unit of a service under the service's fee rule
// (odpłatność): the catalogue shows it, the referral service stores it on each referral. One implementation, so
// the two can never disagree.
package fee

import (
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Quote is what one resident pays per unit.
type Quote struct {
	// PriceGrosze is the full price of one unit.
	PriceGrosze int64
	// PayablePercent is the share payable, 0 (full exemption, zwolnienie) to 100.
	PayablePercent int32
	// AmountGrosze is what the resident pays per unit, rounded half up to a grosz.
	AmountGrosze int64
	// Band is the index of the income band that applied, or -1 when the rule has no bands.
	Band int
	// Exempt is true when nothing is payable.
	Exempt bool
}

// For computes the fee of one unit for a resident whose monthly income per person is incomeGrosze, under the
// income criterion criterionGrosze (kryterium dochodowe in force on the day; dated configuration, never a
// constant). A band applies when from_percent <= income/criterion*100 < to_percent; the comparison is done in
// integers (income*100 against percent*criterion) so band edges are exact.
func For(rule *cataloguev1.FeeRule, incomeGrosze, criterionGrosze int64) Quote {
	if rule == nil || rule.GetPriceGrosze() <= 0 {
		return Quote{Band: -1, Exempt: true}
	}
	q := Quote{PriceGrosze: int64(rule.GetPriceGrosze()), PayablePercent: 100, Band: -1}
	bands := rule.GetIncomeBands()
	if len(bands) > 0 && criterionGrosze > 0 {
		for i, b := range bands {
			if incomeGrosze*100 < int64(b.GetFromPercent())*criterionGrosze {
				continue
			}
			if b.ToPercent != nil && incomeGrosze*100 >= int64(b.GetToPercent())*criterionGrosze {
				continue
			}
			q.Band, q.PayablePercent = i, b.GetPayablePercent()
			break
		}
	}
	q.AmountGrosze = (q.PriceGrosze*int64(q.PayablePercent) + 50) / 100
	q.Exempt = q.AmountGrosze == 0
	return q
}
