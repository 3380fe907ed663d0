package hsds

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// ServiceToHSDS maps one catalogue service to a fully nested HSDS 3.0 service. tax supplies the taxonomy
// terms of the service's areas and target groups (as attributes); with a nil tax the attributes are left out.
//
// The catalogue holds data that HSDS splits into many objects (phones, schedules, cost options, ...) which
// have no id of their own in the catalogue. HSDS requires a UUID on each, so they get ids derived from the
// id of their parent and their position or key (deriveID): the same service always maps to the same ids.
func ServiceToHSDS(s *cataloguev1.Service, tax *Taxonomy) *Service {
	id := ServiceID(s.GetName())
	out := &Service{
		ID:                     id,
		Name:                   s.GetDisplayName(),
		AlternateName:          s.GetAlternateName(),
		Description:            s.GetDescription(),
		URL:                    absoluteURL(s.GetUrl()),
		Email:                  emailAddress(s.GetEmail()),
		Status:                 serviceStatus(s.GetStatus()),
		ApplicationProcess:     s.GetApplicationProcess(),
		FeesDescription:        feesDescription(s.GetFee()),
		Accreditations:         strings.Join(nonEmpty(s.GetAccreditations()), "; "),
		EligibilityDescription: s.GetEligibilityDescription(),
		MinimumAge:             copyInt32(s.MinimumAge),
		MaximumAge:             copyInt32(s.MaximumAge),
		LastModified:           timestamp(s),
		CostOptions:            costOptions(id, s.GetFee()),
	}
	for i, p := range s.GetPhones() {
		if p.GetNumber() == "" {
			continue // HSDS requires a number; an empty entry says nothing.
		}
		ph := phone(deriveID(id, "phone", strconv.Itoa(i)), p)
		ph.ServiceID = id
		out.Phones = append(out.Phones, ph)
	}
	for i, a := range s.GetServiceAreas() {
		desc := a.GetDescription()
		if code := a.GetTerytCode(); code != "" {
			desc = joinSentences(desc, "Kod TERYT: "+code+".")
		}
		out.ServiceAreas = append(out.ServiceAreas, ServiceArea{
			ID:          deriveID(id, "service_area", strconv.Itoa(i)),
			ServiceID:   id,
			Name:        a.GetName(),
			Description: desc,
		})
	}
	for i, l := range s.GetLocations() {
		out.ServiceAtLocations = append(out.ServiceAtLocations, serviceAtLocation(id, i, l))
	}
	seen := map[string]bool{}
	for _, code := range s.GetLanguages() {
		code = strings.ToLower(strings.TrimSpace(code))
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		out.Languages = append(out.Languages, Language{
			ID:        deriveID(id, "language", code),
			ServiceID: id,
			Name:      languageName(code),
			Code:      code,
		})
	}
	for _, a := range s.GetAreas() {
		if term, ok := tax.areaTerm(a); ok {
			out.Attributes = append(out.Attributes, attribute(id, linkTypeArea, term))
		}
	}
	for _, g := range s.GetTargetGroups() {
		if term, ok := tax.groupTerm(g); ok {
			out.Attributes = append(out.Attributes, attribute(id, linkTypeTargetGroup, term))
		}
	}
	return out
}

// ServiceID returns the HSDS id of a service from its resource name `services/{uuid}`: the UUID itself, so
// that an HSDS id and a catalogue name convert into each other. A name whose last segment is no UUID (which
// the catalogue never assigns) still gets a stable UUID, derived from the name.
func ServiceID(name string) string {
	if id, ok := canonicalUUID(name[strings.LastIndexByte(name, '/')+1:]); ok {
		return id
	}
	return deriveID("service", name)
}

func serviceStatus(s cataloguev1.ServiceStatus) string {
	switch s {
	case cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE:
		return "inactive"
	case cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT:
		return "defunct"
	case cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED:
		return "temporarily closed"
	default:
		// UNSPECIFIED is stored as ACTIVE by the catalogue (see ServiceStatus), so it is published as such.
		return "active"
	}
}

// timestamp is the service's last change as RFC 3339 UTC, or "" when the catalogue gave none.
func timestamp(s *cataloguev1.Service) string {
	ts := s.GetUpdateTime()
	if ts == nil {
		ts = s.GetCreateTime()
	}
	if ts == nil || !ts.IsValid() {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// phone maps a phone; the caller sets its owner (service_id or organization_id).
func phone(id string, p *typev1.Phone) Phone {
	out := Phone{ID: id, Number: p.GetNumber(), Type: p.GetType(), Description: p.GetDescription()}
	if ext := strings.TrimSpace(p.GetExtension()); ext != "" {
		// HSDS types extension as a number. An extension that a number would change (a leading zero,
		// letters) is kept verbatim in the description, where a person reads it, rather than altered.
		if n, err := strconv.ParseInt(ext, 10, 64); err == nil && n >= 0 && strconv.FormatInt(n, 10) == ext {
			out.Extension = &n
		} else {
			out.Description = joinSentences(out.Description, "Numer wewnętrzny: "+ext+".")
		}
	}
	return out
}

func attribute(serviceID, linkType string, term TaxonomyTerm) Attribute {
	return Attribute{
		ID:             deriveID(serviceID, "attribute", term.ID),
		LinkID:         serviceID,
		TaxonomyTermID: term.ID,
		LinkType:       linkType,
		LinkEntity:     "service",
		TaxonomyTerm:   &term,
	}
}

func serviceAtLocation(serviceID string, index int, l *cataloguev1.Location) ServiceAtLocation {
	locID, ok := canonicalUUID(l.GetId())
	if !ok {
		// The catalogue assigns UUIDs to locations; this only guards against an entry without one.
		locID = deriveID(serviceID, "location", strconv.Itoa(index))
	}
	salID := deriveID(serviceID, "service_at_location", locID)
	loc := &Location{
		ID:           locID,
		LocationType: "physical",
		Name:         l.GetName(),
		Description:  l.GetDescription(),
	}
	if c := l.GetCoordinates(); c != nil {
		lat, lng := c.GetLatitude(), c.GetLongitude()
		loc.Latitude, loc.Longitude = &lat, &lng
	}
	if addr, ok := physicalAddress(locID, l.GetAddress(), l.GetTerytCode()); ok {
		loc.Addresses = []Address{addr}
	}
	if acc := l.GetAccessibility(); acc != nil {
		entry := Accessibility{
			ID:          deriveID(locID, "accessibility"),
			LocationID:  locID,
			Description: acc.GetDescription(),
			URL:         absoluteURL(acc.GetUrl()),
		}
		if acc.GetWheelchairAccessible() {
			// false is also what an unfilled field reads as, so only the positive statement is published.
			entry.Details = "Dostęp bez barier dla osób poruszających się na wózkach (wheelchair accessible)."
		}
		if entry.Description != "" || entry.Details != "" || entry.URL != "" {
			loc.Accessibility = []Accessibility{entry}
		}
	}
	return ServiceAtLocation{
		ID:         salID,
		ServiceID:  serviceID,
		LocationID: locID,
		Schedules:  schedules(serviceID, locID, salID, l.GetOpeningHours()),
		Location:   loc,
	}
}

// physicalAddress maps the address of the location locID, whose gmina has the TERYT code teryt. An address
// without street, town and postal code says nothing and is reported absent.
func physicalAddress(locID string, a *typev1.Address, teryt string) (Address, bool) {
	if a.GetAddress_1() == "" && a.GetCity() == "" && a.GetPostalCode() == "" {
		return Address{}, false
	}
	region := a.GetRegion()
	if region == "" {
		region = voivodeship(teryt)
	}
	country := strings.ToUpper(a.GetCountry())
	if country == "" {
		country = "PL"
	}
	return Address{
		ID:            deriveID(locID, "address"),
		LocationID:    locID,
		Address1:      a.GetAddress_1(),
		Address2:      a.GetAddress_2(),
		City:          a.GetCity(),
		Region:        region,
		StateProvince: region, // the voivodeship is Poland's first-level division: HSDS's state/province
		PostalCode:    a.GetPostalCode(),
		Country:       country,
		AddressType:   "physical",
	}, true
}

var (
	weekdayCodes = map[cataloguev1.Weekday]string{
		cataloguev1.Weekday_WEEKDAY_MONDAY:    "MO",
		cataloguev1.Weekday_WEEKDAY_TUESDAY:   "TU",
		cataloguev1.Weekday_WEEKDAY_WEDNESDAY: "WE",
		cataloguev1.Weekday_WEEKDAY_THURSDAY:  "TH",
		cataloguev1.Weekday_WEEKDAY_FRIDAY:    "FR",
		cataloguev1.Weekday_WEEKDAY_SATURDAY:  "SA",
		cataloguev1.Weekday_WEEKDAY_SUNDAY:    "SU",
	}
	weekdayNames = map[cataloguev1.Weekday]string{
		cataloguev1.Weekday_WEEKDAY_MONDAY:    "poniedziałek",
		cataloguev1.Weekday_WEEKDAY_TUESDAY:   "wtorek",
		cataloguev1.Weekday_WEEKDAY_WEDNESDAY: "środa",
		cataloguev1.Weekday_WEEKDAY_THURSDAY:  "czwartek",
		cataloguev1.Weekday_WEEKDAY_FRIDAY:    "piątek",
		cataloguev1.Weekday_WEEKDAY_SATURDAY:  "sobota",
		cataloguev1.Weekday_WEEKDAY_SUNDAY:    "niedziela",
	}
)

// schedules turns a location's opening hours into HSDS weekly schedules, one per distinct interval (and
// note), listing the weekdays that share it: "MO,TU,WE,TH,FR 08:00-16:00" instead of five entries, as HSDS's
// schedule guidance does.
//
// The times are local (Europe/Warsaw) and carry no UTC offset: the offset changes with daylight saving time,
// so any fixed offset would be wrong for half of the year. The description says so in words.
func schedules(serviceID, locID, salID string, hours []*cataloguev1.OpeningHours) []Schedule {
	type key struct{ opens, closes, note string }
	var order []key
	days := map[key][]cataloguev1.Weekday{}
	for _, h := range hours {
		if _, ok := weekdayCodes[h.GetDay()]; !ok {
			continue
		}
		k := key{h.GetOpensAt(), endOfDay(h.GetClosesAt()), h.GetDescription()}
		if _, ok := days[k]; !ok {
			order = append(order, k)
		}
		days[k] = append(days[k], h.GetDay())
	}
	var out []Schedule
	for i, k := range order {
		ds := days[k]
		sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		var codes, names []string
		for j, d := range ds {
			if j > 0 && d == ds[j-1] {
				continue
			}
			codes = append(codes, weekdayCodes[d])
			names = append(names, weekdayNames[d])
		}
		out = append(out, Schedule{
			ID:                  deriveID(salID, "schedule", strconv.Itoa(i)),
			ServiceID:           serviceID,
			LocationID:          locID,
			ServiceAtLocationID: salID,
			Freq:                "WEEKLY",
			Byday:               strings.Join(codes, ","),
			Description:         strings.Join(names, ", ") + ": " + k.opens + "–" + k.closes + " (czas lokalny, Europe/Warsaw)",
			OpensAt:             k.opens,
			ClosesAt:            k.closes,
			Notes:               k.note,
		})
	}
	return out
}

// endOfDay maps the catalogue's "24:00" (midnight at the end of the day) to "23:59": most time parsers
// refuse hour 24, and HSDS's schedule guidance uses 23:59 for "until the end of the day".
func endOfDay(t string) string {
	if t == "24:00" {
		return "23:59"
	}
	return t
}

var feeUnits = map[cataloguev1.FeeUnit]string{
	cataloguev1.FeeUnit_FEE_UNIT_HOUR:   "za godzinę",
	cataloguev1.FeeUnit_FEE_UNIT_VISIT:  "za wizytę",
	cataloguev1.FeeUnit_FEE_UNIT_DAY:    "za dzień",
	cataloguev1.FeeUnit_FEE_UNIT_MONTH:  "za miesiąc",
	cataloguev1.FeeUnit_FEE_UNIT_MEAL:   "za posiłek",
	cataloguev1.FeeUnit_FEE_UNIT_COURSE: "za kurs (turnus)",
}

func currency(f *cataloguev1.FeeRule) string {
	if c := strings.ToUpper(f.GetCurrency()); c != "" {
		return c
	}
	return "PLN"
}

// legalBasis is the fee's council resolution in words, or "".
func legalBasis(f *cataloguev1.FeeRule) string {
	r := f.GetLegalBasis()
	if r.GetNumber() == "" {
		return ""
	}
	s := "Podstawa: uchwała nr " + r.GetNumber()
	if r.GetAdoptedOn() != "" {
		s += " z dnia " + r.GetAdoptedOn()
	}
	return s + "."
}

func free(f *cataloguev1.FeeRule) bool { return f.GetPriceGrosze() <= 0 }

// feesDescription is the fee rule in words for the service's fees_description.
func feesDescription(f *cataloguev1.FeeRule) string {
	desc := f.GetDescription()
	if desc == "" {
		switch {
		case free(f):
			desc = "Usługa bezpłatna."
		case len(f.GetIncomeBands()) > 0:
			desc = "Odpłatność zależna od dochodu; pełna cena " + money(int64(f.GetPriceGrosze()), currency(f)) +
				" " + feeUnits[f.GetUnit()] + "."
		default:
			desc = "Odpłatność: " + money(int64(f.GetPriceGrosze()), currency(f)) + " " + feeUnits[f.GetUnit()] + "."
		}
	}
	return joinSentences(desc, legalBasis(f))
}

// costOptions turns the fee rule into HSDS cost options: one per income band, each with the amount a
// resident in that band pays for one unit, so that a consumer can show "what will it cost me" without
// knowing Polish fee rules. A free service has one option of amount 0, which says "free" explicitly.
func costOptions(serviceID string, f *cataloguev1.FeeRule) []CostOption {
	cur := currency(f)
	basis := legalBasis(f)
	opt := func(i int, option string, grosze int64, desc string) CostOption {
		return CostOption{
			ID:                deriveID(serviceID, "cost_option", strconv.Itoa(i)),
			ServiceID:         serviceID,
			Option:            option,
			Currency:          cur,
			Amount:            decimal(grosze),
			AmountDescription: joinSentences(desc, basis),
		}
	}
	if free(f) {
		return []CostOption{opt(0, "bezpłatnie", 0, "Usługa bezpłatna.")}
	}
	price := int64(f.GetPriceGrosze())
	unit := feeUnits[f.GetUnit()]
	full := strings.TrimSpace(money(price, cur) + " " + unit)
	bands := f.GetIncomeBands()
	if len(bands) == 0 {
		return []CostOption{opt(0, "pełna odpłatność", price, "Pełna cena "+full+", bez względu na dochód.")}
	}
	out := make([]CostOption, 0, len(bands))
	for i, b := range bands {
		pct := min(max(int64(b.GetPayablePercent()), 0), 100)
		// Round half up to whole grosze: what a resident can actually be charged.
		amount := (price*pct + 50) / 100
		var desc string
		switch pct {
		case 0:
			desc = "Zwolnienie z odpłatności (0% ceny " + full + ")."
		case 100:
			desc = "Pełna cena " + full + "."
		default:
			desc = strconv.FormatInt(pct, 10) + "% ceny " + full + ": " + money(amount, cur) + "."
		}
		out = append(out, opt(i, incomeBand(b), amount, desc))
	}
	return out
}

// incomeBand describes a band: the resident's monthly income per person relative to the income criterion
// of the social-assistance act (kryterium dochodowe).
func incomeBand(b *cataloguev1.IncomeBand) string {
	const criterion = " kryterium dochodowego (ustawa o pomocy społecznej)"
	from := strconv.Itoa(int(b.GetFromPercent()))
	switch {
	case b.ToPercent == nil && b.GetFromPercent() <= 0:
		return "bez względu na dochód"
	case b.ToPercent == nil:
		return "dochód na osobę od " + from + "%" + criterion
	case b.GetFromPercent() <= 0:
		return "dochód na osobę poniżej " + strconv.Itoa(int(b.GetToPercent())) + "%" + criterion
	default:
		return "dochód na osobę od " + from + "% do poniżej " + strconv.Itoa(int(b.GetToPercent())) + "%" + criterion
	}
}

// decimal writes grosze as an exact decimal number of the main unit: 3550 -> 35.50.
func decimal(grosze int64) json.Number {
	sign := ""
	if grosze < 0 {
		sign, grosze = "-", -grosze
	}
	return json.Number(sign + strconv.FormatInt(grosze/100, 10) + "." + twoDigits(grosze%100))
}

// money writes an amount the Polish way: 3550 grosze -> "35,50 zł".
func money(grosze int64, cur string) string {
	s := strings.Replace(string(decimal(grosze)), ".", ",", 1)
	if cur == "PLN" {
		return s + " zł"
	}
	return s + " " + cur
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// voivodeships by the first two digits of a TERYT code: the fallback for state_province (which HSDS
// requires) when an address lacks its region.
var voivodeships = map[string]string{
	"02": "dolnośląskie", "04": "kujawsko-pomorskie", "06": "lubelskie", "08": "lubuskie",
	"10": "łódzkie", "12": "małopolskie", "14": "mazowieckie", "16": "opolskie",
	"18": "podkarpackie", "20": "podlaskie", "22": "pomorskie", "24": "śląskie",
	"26": "świętokrzyskie", "28": "warmińsko-mazurskie", "30": "wielkopolskie", "32": "zachodniopomorskie",
}

func voivodeship(teryt string) string {
	if len(teryt) < 2 {
		return ""
	}
	return voivodeships[teryt[:2]]
}

// languageName is the Polish name of a language code ("uk" -> "ukraiński"), or "" when unknown.
func languageName(code string) string {
	tag, err := language.Parse(code)
	if err != nil {
		return ""
	}
	return display.Polish.Languages().Name(tag)
}

// absoluteURL returns s when it is an absolute http(s) URL and "" otherwise. The catalogue validates URLs,
// but federated entries come from other instances: an invalid one is dropped rather than published in
// breach of HSDS's format: uri.
func absoluteURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// emailAddress returns s when it is a bare e-mail address and "" otherwise (see absoluteURL).
func emailAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return ""
	}
	return s
}

// copyInt32 copies an optional value, so the HSDS object never aliases the proto message.
func copyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// joinSentences joins two pieces of text with a space, skipping empty ones.
func joinSentences(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	default:
		return a + " " + b
	}
}
