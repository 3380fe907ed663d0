package domain_test

import (
	"errors"
	"testing"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

func TestCheckAgreementPeriodEdges(t *testing.T) {
	const svc, prov = "services/s", "providers/p"
	ag := func(st providerv1.AgreementStatus, from, to string) *providerv1.Agreement {
		return &providerv1.Agreement{Name: prov + "/agreements/a", Service: svc, Status: st, StartDate: from, EndDate: to}
	}
	active := providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE
	for _, c := range []struct {
		a    *providerv1.Agreement
		want error
	}{
		{ag(active, "2026-03-02", "2026-03-02"), nil}, // both edges are inside
		{ag(active, "2026-03-02", ""), nil},
		{ag(providerv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED, "", ""), nil},
		{ag(active, "2026-03-03", ""), domain.ErrAgreementNotInForce},
		{ag(active, "2025-01-01", "2026-03-01"), domain.ErrAgreementNotInForce},
		{ag(providerv1.AgreementStatus_AGREEMENT_STATUS_SUSPENDED, "2025-01-01", ""), domain.ErrAgreementNotActive},
		{ag(providerv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED, "2025-01-01", ""), domain.ErrAgreementNotActive},
		{&providerv1.Agreement{Name: prov + "/agreements/a", Service: "services/other", Status: active}, domain.ErrAgreementOtherService},
	} {
		err := domain.CheckAgreement(c.a, svc, prov, "2026-03-02")
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%v: %v, want %v", c.a, err, c.want)
		}
	}
}
