package domain

import (
	"strings"

	"github.com/google/uuid"
)

// Resource name prefixes and the AIP-159 wildcard for "any parent".
const (
	ProviderPrefix = "providers/"
	ServicePrefix  = "services/"
	Wildcard       = "-"
)

// IsUUID reports whether s is a UUID in the canonical 36-character form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// ProviderName is `providers/{id}`.
func ProviderName(id string) string { return ProviderPrefix + id }

// AgreementName is `providers/{provider}/agreements/{agreement}`.
func AgreementName(providerID, agreementID string) string {
	return ProviderPrefix + providerID + "/agreements/" + agreementID
}

// ReservationName is `providers/{provider}/agreements/{agreement}/reservations/{referral}`.
func ReservationName(providerID, agreementID, referralID string) string {
	return AgreementName(providerID, agreementID) + "/reservations/" + referralID
}

// AvailabilityName is `providers/{provider}/agreements/{agreement}/availability`.
func AvailabilityName(providerID, agreementID string) string {
	return AgreementName(providerID, agreementID) + "/availability"
}

// segments splits name by "/" and checks the literal collection ids at even positions.
func segments(name string, collections ...string) ([]string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, false
	}
	ids := make([]string, 0, len(collections))
	for i, c := range collections {
		if parts[2*i] != c {
			return nil, false
		}
		ids = append(ids, strings.ToLower(parts[2*i+1]))
	}
	return ids, true
}

func requiredName(field, name string) error {
	if name == "" {
		return Invalid(field, ReasonRequired, "is required")
	}
	return nil
}

// ParseProviderName returns the id of `providers/{uuid}`.
func ParseProviderName(field, name string) (string, error) {
	if err := requiredName(field, name); err != nil {
		return "", err
	}
	ids, ok := segments(name, "providers")
	if !ok || !IsUUID(ids[0]) {
		return "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid}")
	}
	return ids[0], nil
}

// ParseProviderParent returns the id of `providers/{uuid}`, or Wildcard for `providers/-`.
func ParseProviderParent(field, name string) (string, error) {
	if err := requiredName(field, name); err != nil {
		return "", err
	}
	ids, ok := segments(name, "providers")
	if !ok || (ids[0] != Wildcard && !IsUUID(ids[0])) {
		return "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid} or providers/-")
	}
	return ids[0], nil
}

// ParseAgreementName returns the ids of `providers/{uuid}/agreements/{uuid}`.
func ParseAgreementName(field, name string) (providerID, agreementID string, err error) {
	if err := requiredName(field, name); err != nil {
		return "", "", err
	}
	ids, ok := segments(name, "providers", "agreements")
	if !ok || !IsUUID(ids[0]) || !IsUUID(ids[1]) {
		return "", "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid}/agreements/{uuid}")
	}
	return ids[0], ids[1], nil
}

// ParseAgreementParent returns the ids of `providers/{uuid|-}/agreements/{uuid|-}`; a wildcard provider needs
// a wildcard agreement.
func ParseAgreementParent(field, name string) (providerID, agreementID string, err error) {
	if err := requiredName(field, name); err != nil {
		return "", "", err
	}
	ids, ok := segments(name, "providers", "agreements")
	okID := func(s string) bool { return s == Wildcard || IsUUID(s) }
	if !ok || !okID(ids[0]) || !okID(ids[1]) || (ids[0] == Wildcard && ids[1] != Wildcard) {
		return "", "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid}/agreements/{uuid}, providers/{uuid}/agreements/- or providers/-/agreements/-")
	}
	return ids[0], ids[1], nil
}

// ParseAvailabilityName returns the ids of `providers/{uuid}/agreements/{uuid}/availability`.
func ParseAvailabilityName(field, name string) (providerID, agreementID string, err error) {
	if err := requiredName(field, name); err != nil {
		return "", "", err
	}
	base, ok := strings.CutSuffix(name, "/availability")
	if !ok {
		return "", "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid}/agreements/{uuid}/availability")
	}
	ids, ok := segments(base, "providers", "agreements")
	if !ok || !IsUUID(ids[0]) || !IsUUID(ids[1]) {
		return "", "", Invalid(field, ReasonInvalidFormat, "must be providers/{uuid}/agreements/{uuid}/availability")
	}
	return ids[0], ids[1], nil
}

// ParseServiceName checks `services/{uuid}` and returns it in canonical (lower-case) form.
func ParseServiceName(field, name string) (string, error) {
	if err := requiredName(field, name); err != nil {
		return "", err
	}
	ids, ok := segments(name, "services")
	if !ok || !IsUUID(ids[0]) {
		return "", Invalid(field, ReasonInvalidFormat, "must be services/{uuid}")
	}
	return ServicePrefix + ids[0], nil
}

// ParseID checks a client-chosen or referral id: a UUID, returned in lower case.
func ParseID(field, id string) (string, error) {
	if id == "" {
		return "", Invalid(field, ReasonRequired, "is required")
	}
	if !IsUUID(id) {
		return "", Invalid(field, ReasonInvalidFormat, "must be a UUID")
	}
	return strings.ToLower(id), nil
}
