package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

type hoursView struct{ Day, Opens, Closes, Note string }

type locationView struct {
	Name, Description       string
	Address                 []string
	Hours                   []hoursView
	Wheelchair              bool
	AccessText, AccessURL   string
	OSM                     string
	HasAccessibilityDetails bool
}

type providerView struct {
	Name, Phone, Email, Website string
	Address                     []string
}

type bandView struct{ Range, Payable string }

type feeResult struct {
	Amount, Price, Unit, Criterion, Kind, Percent, Band, CriterionFrom string
	Exempt                                                             bool
	Payable                                                            int32
	NoBand                                                             bool
}

type feeView struct {
	Price, Description, Basis string
	Bands                     []bandView
	HasBands                  bool
	Income, Persons           string
	Problems                  []string
	Result                    *feeResult
	Single, Family, From      string
}

type serviceBody struct {
	ID, Name, Alternate, Status, Origin, Age, Eligibility, Apply, URL, Email string
	Paragraphs                                                               []string
	Areas, Groups, Languages, Phones, ServiceAreas, Accreditations           []string
	Decision                                                                 bool
	Locations                                                                []locationView
	Providers                                                                []providerView
	Fee                                                                      *feeView
	Updated                                                                  string
}

func (h *Handler) service(w http.ResponseWriter, r *http.Request, id string) {
	if !validID.MatchString(id) {
		h.errorPage(w, r, http.StatusNotFound, nil)
		return
	}
	ctx := r.Context()
	n, err := h.names(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.opts.Catalogue.GetService(ctx, &cataloguev1.GetServiceRequest{Name: "services/" + id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := &serviceBody{ID: id, Name: s.GetDisplayName(), Alternate: s.GetAlternateName(), Status: statusNames[s.GetStatus()],
		Origin: h.origin(s), Age: ageRange(s), Eligibility: s.GetEligibilityDescription(), Apply: s.GetApplicationProcess(),
		URL: s.GetUrl(), Email: s.GetEmail(), Paragraphs: paragraphs(s.GetDescription()), Decision: s.GetRequiresDecision(),
		Accreditations: s.GetAccreditations()}
	if t := s.GetUpdateTime(); t != nil {
		b.Updated = t.AsTime().In(warsaw()).Format("2.01.2006")
	}
	for _, a := range s.GetAreas() {
		b.Areas = append(b.Areas, n.areas[a])
	}
	for _, g := range s.GetTargetGroups() {
		b.Groups = append(b.Groups, n.groups[g])
	}
	for _, l := range s.GetLanguages() {
		if name, ok := languageNames[l]; ok {
			b.Languages = append(b.Languages, name)
		} else {
			b.Languages = append(b.Languages, l)
		}
	}
	for _, p := range s.GetPhones() {
		t := p.GetNumber()
		if p.GetExtension() != "" {
			t += " wew. " + p.GetExtension()
		}
		if p.GetDescription() != "" {
			t += " (" + p.GetDescription() + ")"
		}
		b.Phones = append(b.Phones, t)
	}
	for _, a := range s.GetServiceAreas() {
		b.ServiceAreas = append(b.ServiceAreas, a.GetName())
	}
	for _, l := range s.GetLocations() {
		b.Locations = append(b.Locations, locationOf(l))
	}
	b.Providers = h.providers(ctx, s)
	q := r.URL.Query()
	if s.GetFee().GetPriceGrosze() > 0 {
		b.Fee = h.feeOf(s.GetFee(), q.Get("dochod"), q.Get("osoby"))
	}
	code := http.StatusOK
	p := &page{Title: s.GetDisplayName(), Description: excerpt(firstNonEmpty(s.GetDescription(), s.GetEligibilityDescription(), s.GetDisplayName()), 155),
		Canonical: "/uslugi/" + id, Body: b, JSONLD: h.jsonLD(s, b, n)}
	if q.Has("dochod") || q.Has("osoby") {
		// The page now carries a household's income: keep it out of shared caches and search engines.
		w.Header().Set("Cache-Control", "private, no-store")
		p.NoIndex = true
		if b.Fee != nil && len(b.Fee.Problems) > 0 {
			code = http.StatusBadRequest
		}
	}
	h.render(w, r, code, "usluga", p)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func locationOf(l *cataloguev1.Location) locationView {
	v := locationView{Name: l.GetName(), Description: l.GetDescription(), Address: addressLines(l.GetAddress()),
		Wheelchair: l.GetAccessibility().GetWheelchairAccessible(), AccessText: l.GetAccessibility().GetDescription(),
		AccessURL: l.GetAccessibility().GetUrl()}
	v.HasAccessibilityDetails = v.AccessText != "" || v.AccessURL != ""
	for _, o := range l.GetOpeningHours() {
		v.Hours = append(v.Hours, hoursView{Day: weekdayNames[o.GetDay()], Opens: o.GetOpensAt(), Closes: o.GetClosesAt(), Note: o.GetDescription()})
	}
	if c := l.GetCoordinates(); c != nil && (c.GetLatitude() != 0 || c.GetLongitude() != 0) {
		lat, lng := strconv.FormatFloat(c.GetLatitude(), 'f', 5, 64), strconv.FormatFloat(c.GetLongitude(), 'f', 5, 64)
		v.OSM = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lng + "#map=18/" + lat + "/" + lng
	}
	return v
}

// providers names the service's providers, with their contact details from the provider registry when it is
// configured and answers in time; the names the catalogue stored with the service otherwise.
func (h *Handler) providers(ctx context.Context, s *cataloguev1.Service) []providerView {
	var out []providerView
	for i, name := range s.GetProviders() {
		v := providerView{}
		if i < len(s.GetProviderDisplayNames()) {
			v.Name = s.GetProviderDisplayNames()[i]
		}
		if h.opts.Providers != nil && i < 5 {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			p, err := h.opts.Providers.GetProvider(pctx, &providerv1.GetProviderRequest{Name: name})
			cancel()
			if err == nil {
				v.Name = p.GetDisplayName()
				v.Email, v.Website, v.Address = p.GetEmail(), p.GetWebsite(), addressLines(p.GetAddress())
				if len(p.GetPhones()) > 0 {
					v.Phone = p.GetPhones()[0].GetNumber()
				}
			}
		}
		if v.Name != "" {
			out = append(out, v)
		}
	}
	return out
}

var moneyForm = regexp.MustCompile(`^[0-9]{1,7}([.,][0-9]{1,2})?$`)

// parseZl reads an amount in złoty as residents type it ("1 234,50", "1234.5", "900 zł") into grosze.
func parseZl(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "zł"))
	s = strings.NewReplacer(" ", "", "\u00a0", "").Replace(s)
	if !moneyForm.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	g := int64(0)
	if frac != "" {
		if len(frac) == 1 {
			frac += "0"
		}
		g, _ = strconv.ParseInt(frac, 10, 64)
	}
	return w*100 + g, true
}

// feeOf describes a fee rule and, when the resident gave an income, computes what they pay: fee.For, the
// computation the API and the referral service use, under the criterion in force today for the household's
// size (single-person for one, per person in a family otherwise), as the referral service chooses it.
func (h *Handler) feeOf(rule *cataloguev1.FeeRule, income, persons string) *feeView {
	unit := unitPer[rule.GetUnit()]
	v := &feeView{Price: zl(int64(rule.GetPriceGrosze())) + " " + unit, Description: rule.GetDescription(),
		HasBands: len(rule.GetIncomeBands()) > 0, Income: income, Persons: persons}
	if lb := rule.GetLegalBasis(); lb.GetNumber() != "" {
		v.Basis = "Uchwała nr " + lb.GetNumber()
		if lb.GetAdoptedOn() != "" {
			v.Basis += " z dnia " + lb.GetAdoptedOn()
		}
	}
	for _, b := range rule.GetIncomeBands() {
		bv := bandView{}
		switch {
		case b.ToPercent == nil:
			bv.Range = fmt.Sprintf("od %d%% kryterium", b.GetFromPercent())
		case b.GetFromPercent() == 0:
			bv.Range = fmt.Sprintf("poniżej %d%% kryterium", b.GetToPercent())
		default:
			bv.Range = fmt.Sprintf("od %d%% do %d%% kryterium", b.GetFromPercent(), b.GetToPercent())
		}
		amount := fee.For(&cataloguev1.FeeRule{PriceGrosze: rule.GetPriceGrosze(), IncomeBands: []*cataloguev1.IncomeBand{{PayablePercent: b.GetPayablePercent()}}}, 0, 1).AmountGrosze
		if b.GetPayablePercent() == 0 {
			bv.Payable = "bez opłaty (zwolnienie)"
		} else {
			bv.Payable = fmt.Sprintf("%d%% ceny, czyli %s %s", b.GetPayablePercent(), zl(amount), unit)
		}
		v.Bands = append(v.Bands, bv)
	}
	day := h.opts.Now().In(warsaw()).Format(time.DateOnly)
	c, ok := fee.CriterionOn(h.opts.Criteria, day)
	if ok {
		v.Single, v.Family, v.From = zl(c.SingleGrosze), zl(c.FamilyGrosze), c.From
	}
	if income == "" && persons == "" {
		return v
	}
	g, okIncome := parseZl(income)
	if !okIncome {
		v.Problems = append(v.Problems, "Dochód na osobę podaj w złotych, np. 1200 albo 1200,50.")
	}
	np := int64(1)
	if persons != "" {
		var err error
		np, err = strconv.ParseInt(strings.TrimSpace(persons), 10, 32)
		if err != nil || np < 1 || np > 30 {
			v.Problems = append(v.Problems, "Liczbę osób w gospodarstwie domowym podaj liczbą od 1 do 30.")
		}
	}
	if len(v.Problems) > 0 || !ok {
		return v
	}
	criterion := c.ForHousehold(int32(np))
	q := fee.For(rule, g, criterion)
	res := &feeResult{Amount: zl(q.AmountGrosze), Price: zl(q.PriceGrosze), Unit: unit, Criterion: zl(criterion),
		Exempt: q.Exempt, Payable: q.PayablePercent, CriterionFrom: c.From, NoBand: q.Band < 0,
		Percent: strconv.FormatInt(g*100/criterion, 10) + "%"}
	res.Kind = "dla osoby samotnie gospodarującej"
	if np > 1 {
		res.Kind = "na osobę w rodzinie"
	}
	if q.Band >= 0 {
		res.Band = v.Bands[q.Band].Range
	}
	v.Result = res
	return v
}

// jsonLD describes the service in schema.org terms (GovernmentService), for search engines and assistants.
func (h *Handler) jsonLD(s *cataloguev1.Service, b *serviceBody, n names) template.JS {
	url := h.base + "/uslugi/" + b.ID
	doc := map[string]any{
		"@context": "https://schema.org", "@type": "GovernmentService", "@id": url, "url": url,
		"name": s.GetDisplayName(), "serviceOperator": map[string]any{"@type": "GovernmentOrganization", "name": h.opts.Site.Name},
	}
	if d := s.GetDescription(); d != "" {
		doc["description"] = d
	}
	if len(b.Areas) > 0 {
		doc["serviceType"] = b.Areas
	}
	if len(b.Groups) > 0 {
		doc["audience"] = map[string]any{"@type": "Audience", "audienceType": strings.Join(b.Groups, ", ")}
	}
	var providers []any
	for _, p := range b.Providers {
		o := map[string]any{"@type": "Organization", "name": p.Name}
		if p.Phone != "" {
			o["telephone"] = p.Phone
		}
		if p.Email != "" {
			o["email"] = p.Email
		}
		providers = append(providers, o)
	}
	if len(providers) == 0 {
		providers = append(providers, map[string]any{"@type": "GovernmentOrganization", "name": h.opts.Site.Name})
	}
	doc["provider"] = providers
	var served []any
	for _, a := range s.GetServiceAreas() {
		served = append(served, map[string]any{"@type": "AdministrativeArea", "name": a.GetName()})
	}
	if len(served) > 0 {
		doc["areaServed"] = served
	}
	var channels []any
	for _, l := range s.GetLocations() {
		place := map[string]any{"@type": "Place"}
		if l.GetName() != "" {
			place["name"] = l.GetName()
		}
		if a := l.GetAddress(); a != nil {
			place["address"] = map[string]any{"@type": "PostalAddress", "streetAddress": strings.TrimSpace(a.GetAddress_1() + " " + a.GetAddress_2()),
				"postalCode": a.GetPostalCode(), "addressLocality": a.GetCity(), "addressCountry": firstNonEmpty(a.GetCountry(), "PL")}
		}
		if c := l.GetCoordinates(); c != nil {
			place["geo"] = map[string]any{"@type": "GeoCoordinates", "latitude": c.GetLatitude(), "longitude": c.GetLongitude()}
		}
		ch := map[string]any{"@type": "ServiceChannel", "serviceLocation": place}
		var hours []any
		for _, o := range l.GetOpeningHours() {
			hours = append(hours, map[string]any{"@type": "OpeningHoursSpecification",
				"dayOfWeek": "https://schema.org/" + weekdaySchema[o.GetDay()], "opens": o.GetOpensAt(), "closes": o.GetClosesAt()})
		}
		if len(hours) > 0 {
			ch["hoursAvailable"] = hours
		}
		if len(s.GetPhones()) > 0 {
			ch["servicePhone"] = map[string]any{"@type": "ContactPoint", "telephone": s.GetPhones()[0].GetNumber()}
		}
		if s.GetUrl() != "" {
			ch["serviceUrl"] = s.GetUrl()
		}
		channels = append(channels, ch)
	}
	if len(channels) > 0 {
		doc["availableChannel"] = channels
	}
	if p := s.GetFee().GetPriceGrosze(); p > 0 {
		doc["offers"] = map[string]any{"@type": "Offer", "price": fmt.Sprintf("%d.%02d", p/100, p%100),
			"priceCurrency": firstNonEmpty(s.GetFee().GetCurrency(), "PLN")}
	} else {
		doc["offers"] = map[string]any{"@type": "Offer", "price": "0", "priceCurrency": "PLN"}
	}
	raw, err := json.Marshal(doc) // escapes <, > and & so the data cannot end the script element
	if err != nil {
		return ""
	}
	return template.JS(raw) //nolint:gosec // JSON from json.Marshal, HTML-escaped
}

// feeFormAction is the calculator's form target: the page itself, at the calculator.
func feeFormAction(id string) string { return "/uslugi/" + url.PathEscape(id) + "#oplata" }
