package domain

import (
	"strings"

	"github.com/cus-suite/cus/platform/sheet"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// ProviderSheet is the providers sheet of ExportProviders: Polish headers, one provider per row.
var ProviderSheet = []sheet.Column{
	{Header: "Identyfikator", Width: 38},
	{Header: "Nazwa organizacji", Width: 40},
	{Header: "Pełna nazwa", Width: 40},
	{Header: "Forma prawna", Width: 28},
	{Header: "NIP"},
	{Header: "REGON"},
	{Header: "KRS"},
	{Header: "Adres", Width: 26},
	{Header: "Kod pocztowy"},
	{Header: "Miejscowość", Width: 16},
	{Header: "Województwo", Width: 16},
	{Header: "Gmina (TERC)"},
	{Header: "Telefon", Width: 18},
	{Header: "E-mail", Width: 26},
	{Header: "Strona www", Width: 30},
	{Header: "Status"},
	{Header: "Ostatnia zmiana", Kind: sheet.Date},
}

// kindNamesPL are the Polish names of legal forms as the sheet writes them (ParseKind reads them back).
var kindNamesPL = map[providerv1.ProviderKind]string{
	providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION: "fundacja lub stowarzyszenie",
	providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE:        "spółdzielnia socjalna",
	providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY:     "podmiot ekonomii społecznej",
	providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:       "organizacja kościelna",
	providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT:                "jednostka gminna",
	providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY:               "podmiot publiczny",
	providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY:           "firma",
	providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP:            "grupa nieformalna",
}

var providerStatusPL = map[providerv1.ProviderStatus]string{
	providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE:    "aktywny",
	providerv1.ProviderStatus_PROVIDER_STATUS_SUSPENDED: "zawieszony",
	providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED:    "zamknięty",
}

// ProviderRow is the row of a provider in the providers sheet.
func ProviderRow(p *providerv1.Provider) []sheet.Value {
	phone := ""
	if len(p.GetPhones()) > 0 {
		phone = p.GetPhones()[0].GetNumber()
	}
	var updated sheet.Value
	if t := p.GetUpdateTime(); t != nil {
		updated = sheet.D(t.AsTime())
	}
	a := p.GetAddress()
	return []sheet.Value{
		sheet.S(strings.TrimPrefix(p.GetName(), ProviderPrefix)),
		sheet.S(p.GetDisplayName()),
		sheet.S(p.GetLegalName()),
		sheet.S(kindNamesPL[p.GetKind()]),
		sheet.S(p.GetNip()),
		sheet.S(p.GetRegon()),
		sheet.S(p.GetKrs()),
		sheet.S(a.GetAddress_1()),
		sheet.S(a.GetPostalCode()),
		sheet.S(a.GetCity()),
		sheet.S(a.GetRegion()),
		sheet.S(p.GetTerytCode()),
		sheet.S(phone),
		sheet.S(p.GetEmail()),
		sheet.S(p.GetWebsite()),
		sheet.S(providerStatusPL[p.GetStatus()]),
		updated,
	}
}

// AgreementSheet is the agreements sheet of ExportAgreements.
var AgreementSheet = []sheet.Column{
	{Header: "Identyfikator umowy", Width: 38},
	{Header: "Numer umowy", Width: 20},
	{Header: "Nazwa", Width: 30},
	{Header: "Realizator", Width: 36},
	{Header: "NIP realizatora"},
	{Header: "Usługa", Width: 48},
	{Header: "Podstawa prawna", Width: 30},
	{Header: "Od", Kind: sheet.Date},
	{Header: "Do", Kind: sheet.Date},
	{Header: "Limit miejsc", Kind: sheet.Int},
	{Header: "Jednostka limitu"},
	{Header: "Okres limitu"},
	{Header: "Źródło finansowania", Width: 24},
	{Header: "Kod projektu"},
	{Header: "Status"},
}

var legalBasisPL = map[providerv1.LegalBasis]string{
	providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL: "otwarty konkurs ofert (DPPiW)",
	providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT:       "zamówienie publiczne (Pzp)",
	providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT:            "jednostka gminna",
	providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT:      "porozumienie wolontariackie",
}

var capacityUnitPL = map[providerv1.CapacityUnit]string{
	providerv1.CapacityUnit_CAPACITY_UNIT_HOURS:  "godziny",
	providerv1.CapacityUnit_CAPACITY_UNIT_PLACES: "miejsca",
	providerv1.CapacityUnit_CAPACITY_UNIT_VISITS: "wizyty",
	providerv1.CapacityUnit_CAPACITY_UNIT_MEALS:  "posiłki",
}

var capacityPeriodPL = map[providerv1.CapacityPeriod]string{
	providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK:            "tydzień",
	providerv1.CapacityPeriod_CAPACITY_PERIOD_MONTH:           "miesiąc",
	providerv1.CapacityPeriod_CAPACITY_PERIOD_YEAR:            "rok",
	providerv1.CapacityPeriod_CAPACITY_PERIOD_WHOLE_AGREEMENT: "cała umowa",
}

var fundingPL = map[providerv1.FundingSource]string{
	providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET:    "budżet gminy",
	providerv1.FundingSource_FUNDING_SOURCE_EU_PROJECT:      "projekt UE",
	providerv1.FundingSource_FUNDING_SOURCE_STATE_PROGRAMME: "program rządowy",
	providerv1.FundingSource_FUNDING_SOURCE_OTHER:           "inne",
}

var agreementStatusPL = map[providerv1.AgreementStatus]string{
	providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE:     "obowiązująca",
	providerv1.AgreementStatus_AGREEMENT_STATUS_SUSPENDED:  "zawieszona",
	providerv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED: "rozwiązana",
}

// AgreementRow is the row of an agreement in the agreements sheet; provider is its provider (nil when unknown).
func AgreementRow(a *providerv1.Agreement, provider *providerv1.Provider) []sheet.Value {
	_, id, _ := strings.Cut(strings.TrimPrefix(a.GetName(), ProviderPrefix), "/agreements/")
	return []sheet.Value{
		sheet.S(id),
		sheet.S(a.GetReferenceNumber()),
		sheet.S(a.GetDisplayName()),
		sheet.S(provider.GetDisplayName()),
		sheet.S(provider.GetNip()),
		sheet.S(a.GetService()),
		sheet.S(legalBasisPL[a.GetLegalBasis()]),
		sheet.Day(a.GetStartDate()),
		sheet.Day(a.GetEndDate()),
		sheet.I(int64(a.GetCapacity().GetAmount())),
		sheet.S(capacityUnitPL[a.GetCapacity().GetUnit()]),
		sheet.S(capacityPeriodPL[a.GetCapacity().GetPeriod()]),
		sheet.S(fundingPL[a.GetFunding().GetSource()]),
		sheet.S(a.GetFunding().GetProjectCode()),
		sheet.S(agreementStatusPL[a.GetStatus()]),
	}
}
