package hsds

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// providerPrefix is the collection of provider resource names, `providers/{uuid}`.
const providerPrefix = "providers/"

// ProviderToHSDS maps one provider of the registry to an HSDS 3.0 organization with its phones, seat (as a
// location with a physical address) and register identifiers. Funding and services come from other calls
// and are left to the caller.
//
// The provider's UUID is the organization's id; its children (phones, location, address, identifiers) get ids
// derived from it (deriveID), so the same provider always maps to the same ids.
func ProviderToHSDS(p *providerv1.Provider) *Organization {
	id := OrganizationID(p.GetName())
	legal := legalStatus(p.GetKind())
	out := &Organization{
		ID:          id,
		Name:        p.GetDisplayName(),
		Description: strings.TrimSpace(p.GetDescription()),
		Email:       emailAddress(p.GetEmail()),
		Website:     absoluteURL(p.GetWebsite()),
		TaxStatus:   taxStatus(p.GetKind()),
		TaxID:       p.GetNip(),
		LegalStatus: legal,
	}
	if ln := strings.TrimSpace(p.GetLegalName()); ln != "" && ln != out.Name {
		out.AlternateName = ln
	}
	if out.Description == "" {
		// HSDS requires a description. The registry always knows what kind of body the provider is, and
		// that it delivers social services for the CUS: say that rather than publish an empty text.
		out.Description = "Realizator usług społecznych"
		if legal != "" {
			out.Description += " – " + legal
		}
		out.Description += "."
	}
	for i, ph := range p.GetPhones() {
		if ph.GetNumber() == "" {
			continue // HSDS requires a number
		}
		m := phone(deriveID(id, "phone", strconv.Itoa(i)), ph)
		m.OrganizationID = id
		out.Phones = append(out.Phones, m)
	}
	locID := deriveID(id, "location", "seat")
	if addr, ok := physicalAddress(locID, p.GetAddress(), p.GetTerytCode()); ok {
		out.Locations = []Location{{
			ID:             locID,
			LocationType:   "physical",
			OrganizationID: id,
			Name:           out.Name,
			Description:    "Siedziba organizacji.",
			Addresses:      []Address{addr},
		}}
	}
	if regon := p.GetRegon(); regon != "" {
		kind := "REGON (numer w krajowym rejestrze urzędowym podmiotów gospodarki narodowej)"
		if len(regon) == 14 {
			kind = "REGON jednostki lokalnej (numer w krajowym rejestrze urzędowym podmiotów gospodarki narodowej)"
		}
		out.OrganizationIdentifiers = append(out.OrganizationIdentifiers, identifier(id, "PL-REGON", kind, regon))
	}
	if krs := p.GetKrs(); krs != "" {
		out.OrganizationIdentifiers = append(out.OrganizationIdentifiers,
			identifier(id, "PL-KRS", "numer KRS (Krajowy Rejestr Sądowy)", krs))
	}
	return out
}

func identifier(orgID, scheme, kind, value string) OrganizationIdentifier {
	return OrganizationIdentifier{
		ID:               deriveID(orgID, "organization_identifier", scheme),
		OrganizationID:   orgID,
		IdentifierScheme: scheme,
		IdentifierType:   kind,
		Identifier:       value,
	}
}

// OrganizationID returns the HSDS id of an organization from its provider name `providers/{uuid}`: the UUID
// itself. A name whose last segment is no UUID (which the registry never assigns) gets a stable derived UUID.
func OrganizationID(name string) string {
	if id, ok := canonicalUUID(name[strings.LastIndexByte(name, '/')+1:]); ok {
		return id
	}
	return deriveID("organization", name)
}

// legalStatus is the provider's kind (forma prawna) in words, or "" when not set.
func legalStatus(k providerv1.ProviderKind) string {
	switch k {
	case providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION:
		return "fundacja lub stowarzyszenie"
	case providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE:
		return "spółdzielnia socjalna"
	case providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY:
		return "podmiot ekonomii społecznej"
	case providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:
		return "kościelna osoba prawna lub organizacja kościelna"
	case providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT:
		return "jednostka organizacyjna gminy"
	case providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY:
		return "inny podmiot publiczny"
	case providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY:
		return "przedsiębiorca"
	case providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP:
		return "grupa nieformalna lub wolontariusze"
	default:
		return ""
	}
}

// taxStatus is what the provider's kind says about its tax designation, or "" when the kind does not say:
// another social economy entity may be a non-profit company or a business, and an informal group is no
// taxpayer of its own.
func taxStatus(k providerv1.ProviderKind) string {
	switch k {
	case providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION:
		return "non-profit: organizacja pozarządowa"
	case providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE:
		return "non-profit: spółdzielnia socjalna (nadwyżka nie jest dzielona między członków)"
	case providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:
		return "non-profit: kościelna osoba prawna"
	case providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY:
		return "jednostka sektora finansów publicznych"
	case providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY:
		return "działalność zarobkowa (przedsiębiorca)"
	default:
		return ""
	}
}

// fundingSource is the funding of an agreement in words, or "" when it says nothing.
func fundingSource(f *providerv1.Funding) string {
	code, desc := strings.TrimSpace(f.GetProjectCode()), strings.TrimSpace(f.GetDescription())
	var s string
	switch f.GetSource() {
	case providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET:
		s = "Budżet gminy"
	case providerv1.FundingSource_FUNDING_SOURCE_EU_PROJECT:
		s = "Projekt współfinansowany ze środków Unii Europejskiej"
	case providerv1.FundingSource_FUNDING_SOURCE_STATE_PROGRAMME:
		s = "Program rządowy"
	}
	if code != "" {
		s = joinWith(s, ", ", "nr "+code)
	}
	if desc != "" {
		s = joinWith(s, ": ", desc)
	}
	if s == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

func joinWith(a, sep, b string) string {
	if a == "" {
		return b
	}
	return a + sep + b
}

// organizationMatches says whether a provider matches a free-text search (already folded): in its names,
// description or town, ignoring case and Polish diacritics, or, for a search of digits (with the usual
// separators), in its NIP, REGON or KRS.
func organizationMatches(p *providerv1.Provider, folded string) bool {
	for _, f := range []string{p.GetDisplayName(), p.GetLegalName(), p.GetDescription(), p.GetAddress().GetCity()} {
		if strings.Contains(fold(f), folded) {
			return true
		}
	}
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == '-' || r == ' ':
			return -1
		}
		return 'x'
	}, strings.TrimPrefix(folded, "pl"))
	if digits == "" || strings.ContainsRune(digits, 'x') {
		return false
	}
	for _, id := range []string{p.GetNip(), p.GetRegon(), p.GetKrs()} {
		if id != "" && strings.Contains(id, digits) {
			return true
		}
	}
	return false
}
