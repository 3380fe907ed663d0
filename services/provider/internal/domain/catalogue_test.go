package domain

import (
	"testing"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

func TestAgreementsFitTheCatalogueService(t *testing.T) {
	decision := &cataloguev1.Service{RequiresDecision: true, Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
	plain := &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
	for _, c := range []struct {
		name   string
		svc    *cataloguev1.Service
		basis  providerv1.LegalBasis
		reason string
	}{
		{"decyzja, in-house", decision, providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT, ""},
		{"decyzja, open call", decision, providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL, ReasonServiceRequiresDecision},
		{"decyzja, procurement", decision, providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT, ReasonServiceRequiresDecision},
		{"decyzja, volunteers", decision, providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT, ReasonServiceRequiresDecision},
		{"no decyzja, open call", plain, providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL, ""},
		{"defunct", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT}, providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT, ReasonServiceDefunct},
		{"inactive", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE}, providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT, ""},
		{"temporarily closed", &cataloguev1.Service{Status: cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED}, providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &providerv1.Agreement{LegalBasis: c.basis}
			err := CheckServiceOffered(c.svc, "agreement.service")
			if err == nil {
				err = CheckNotContractedOut(a, c.svc, "agreement.service")
			}
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := apierr.As(err)
			if !ok || e.Kind != apierr.KindFailedPrecondition || e.Reason != c.reason || len(e.Violations) != 1 ||
				e.Violations[0].Field != "agreement.service" || e.Violations[0].Reason != c.reason {
				t.Fatalf("got %#v, want FAILED_PRECONDITION %s naming agreement.service", err, c.reason)
			}
		})
	}
}
