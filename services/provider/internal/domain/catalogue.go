package domain

import (
	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// Reasons of an agreement refused by the catalogue service it would cover (FAILED_PRECONDITION, the violation
// naming agreement.service).
const (
	ReasonServiceRequiresDecision = "SERVICE_REQUIRES_DECISION"
	ReasonServiceDefunct          = "SERVICE_DEFUNCT"
)

// Errors of the catalogue lookup an agreement needs.
var (
	// ErrServiceNotInCatalogue: the catalogue has no such service (reported as agreement.service UNKNOWN_REFERENCE).
	ErrServiceNotInCatalogue = apierr.New(apierr.KindNotFound, "SERVICE_NOT_FOUND", "the catalogue has no such service")
	// ErrCatalogueUnavailable: the catalogue could not be asked; nothing is written.
	ErrCatalogueUnavailable = apierr.New(apierr.KindUnavailable, "CATALOGUE_UNAVAILABLE",
		"the catalogue cannot be reached to check the agreement's service; nothing was written, retry later")
)

func serviceRefused(field, reason, description string) error {
	e := &apierr.Error{Kind: apierr.KindFailedPrecondition, Reason: reason,
		Violations: []apierr.FieldViolation{{Field: field, Reason: reason, Description: description}},
		Metadata:   map[string]string{"field": field}}
	return e.Withf("%s: %v", field, i18n.NewMsg(description))
}

// CheckServiceOffered refuses a new agreement for a catalogue service that is no longer offered (DEFUNCT). A
// service INACTIVE or TEMPORARILY_CLOSED may get one: agreements are signed ahead of the period they cover.
func CheckServiceOffered(svc *cataloguev1.Service, field string) error {
	if svc.GetStatus() == cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT {
		return serviceRefused(field, ReasonServiceDefunct, "the catalogue service is no longer offered (DEFUNCT); no new agreement can cover it")
	}
	return nil
}

// CheckNotContractedOut refuses an agreement that would contract out a service granted by an administrative
// decision (decyzja administracyjna, the catalogue's requires_decision): such a service is delivered by the
// gmina's own unit, so only an in-house agreement (LEGAL_BASIS_IN_HOUSE_UNIT) may cover it.
func CheckNotContractedOut(a *providerv1.Agreement, svc *cataloguev1.Service, field string) error {
	if svc.GetRequiresDecision() && a.GetLegalBasis() != providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT {
		return serviceRefused(field, ReasonServiceRequiresDecision,
			"the catalogue service is granted by an administrative decision (decyzja) and cannot be contracted out; only a gmina unit's agreement on LEGAL_BASIS_IN_HOUSE_UNIT may cover it")
	}
	return nil
}
