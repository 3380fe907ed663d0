package domain

import "github.com/cus-suite/cus/platform/apierr"

// The registry's errors. Reasons are stable: integrators switch on them.
var (
	ErrProviderNotFound  = apierr.New(apierr.KindNotFound, "PROVIDER_NOT_FOUND", "provider not found")
	ErrAgreementNotFound = apierr.New(apierr.KindNotFound, "AGREEMENT_NOT_FOUND", "agreement not found")
	ErrProviderExists    = apierr.New(apierr.KindAlreadyExists, "PROVIDER_ALREADY_EXISTS", "a provider with this id already exists")
	ErrAgreementExists   = apierr.New(apierr.KindAlreadyExists, "AGREEMENT_ALREADY_EXISTS", "an agreement with this id already exists")
	// ErrProviderRegistered is the duplicate check: its metadata names the existing provider and the field.
	ErrProviderRegistered = apierr.New(apierr.KindAlreadyExists, "PROVIDER_ALREADY_REGISTERED", "a provider with this identifier is already registered")
	// ErrReservationExists: the referral already holds a different number of units on the agreement.
	ErrReservationExists = apierr.New(apierr.KindAlreadyExists, "RESERVATION_EXISTS", "the referral already holds a different number of units on this agreement; release them first")

	ErrProviderHasAgreements    = apierr.New(apierr.KindFailedPrecondition, "PROVIDER_HAS_AGREEMENTS", "the provider has agreements and cannot be deleted; set its status to PROVIDER_STATUS_CLOSED instead")
	ErrProviderClosed           = apierr.New(apierr.KindFailedPrecondition, "PROVIDER_CLOSED", "the provider is closed; no new agreements can be made with it")
	ErrAgreementHasReservations = apierr.New(apierr.KindFailedPrecondition, "AGREEMENT_HAS_RESERVATIONS", "the agreement has reservations and cannot be deleted; set its status to AGREEMENT_STATUS_TERMINATED instead")
	ErrCapacityBelowReserved    = apierr.New(apierr.KindFailedPrecondition, "CAPACITY_BELOW_RESERVED", "the capacity cannot drop below the units already reserved")
	ErrCapacityInUse            = apierr.New(apierr.KindFailedPrecondition, "CAPACITY_IN_USE", "the capacity's unit and period cannot change while units are reserved")
	ErrCapacityExhausted        = apierr.New(apierr.KindFailedPrecondition, "CAPACITY_EXHAUSTED", "not enough capacity is left on the agreement")
	ErrAgreementNotActive       = apierr.New(apierr.KindFailedPrecondition, "AGREEMENT_NOT_ACTIVE", "the agreement is not active")
	ErrAgreementNotStarted      = apierr.New(apierr.KindFailedPrecondition, "AGREEMENT_NOT_STARTED", "the agreement has not started yet")
	ErrAgreementEnded           = apierr.New(apierr.KindFailedPrecondition, "AGREEMENT_ENDED", "the agreement has ended")
	ErrProviderNotActive        = apierr.New(apierr.KindFailedPrecondition, "PROVIDER_NOT_ACTIVE", "the provider is not active")

	// ErrNotOwnProvider: provider staff may change only their own provider.
	ErrNotOwnProvider = apierr.New(apierr.KindPermissionDenied, "NOT_OWN_PROVIDER", "provider staff may change only their own provider")

	// ErrImportInterrupted: an import written in several transactions (etcd) kept finding the registry changed
	// by other writes between its plan and its writes; the rows written so far stay and a re-run finishes it.
	ErrImportInterrupted = apierr.New(apierr.KindAborted, "IMPORT_INTERRUPTED", "the registry kept changing while the import was being written; the rows written so far are kept, run the same file again to finish it")

	ErrRevisionUnavailable = apierr.New(apierr.KindOutOfRange, "REVISION_IN_FUTURE", "after_revision is above the newest revision of this registry")
)

// Reasons of field violations (BadRequest.FieldViolation.reason), besides those of platform/plid
// (INVALID_LENGTH, NOT_DIGITS, BAD_CHECK_DIGIT, INVALID_CODE).
const (
	ReasonRequired        = "REQUIRED"
	ReasonTooLong         = "TOO_LONG"
	ReasonInvalidFormat   = "INVALID_FORMAT"
	ReasonInvalidValue    = "INVALID_VALUE"
	ReasonRequiredForKind = "REQUIRED_FOR_KIND"
	ReasonNotAllowed      = "NOT_ALLOWED"
	ReasonImmutable       = "IMMUTABLE"
	ReasonNotWritable     = "NOT_WRITABLE_BY_PROVIDER"
	ReasonUnknown         = "UNKNOWN_REFERENCE"
)
