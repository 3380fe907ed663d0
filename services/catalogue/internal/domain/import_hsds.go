package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// The part of an HSDS 3.0 service (fully nested, as /services/{id} of the HSDS API returns it) that the
// catalogue imports. Unknown fields are ignored: another system's export carries more than a catalogue keeps.
type hsdsService struct {
	ID                     string                  `json:"id"`
	Name                   string                  `json:"name"`
	AlternateName          string                  `json:"alternate_name"`
	Description            string                  `json:"description"`
	URL                    string                  `json:"url"`
	Email                  string                  `json:"email"`
	Status                 string                  `json:"status"`
	ApplicationProcess     string                  `json:"application_process"`
	EligibilityDescription string                  `json:"eligibility_description"`
	FeesDescription        string                  `json:"fees_description"`
	MinimumAge             *float64                `json:"minimum_age"`
	MaximumAge             *float64                `json:"maximum_age"`
	Phones                 []hsdsPhone             `json:"phones"`
	ServiceAtLocations     []hsdsServiceAtLocation `json:"service_at_locations"`
	CostOptions            []hsdsCostOption        `json:"cost_options"`
	Languages              []hsdsLanguage          `json:"languages"`
	Attributes             []hsdsAttribute         `json:"attributes"`
	ServiceAreas           []hsdsServiceArea       `json:"service_areas"`
}

type hsdsLanguage struct {
	Code string `json:"code"`
}

type hsdsAttribute struct {
	TaxonomyTermID string        `json:"taxonomy_term_id"`
	TaxonomyTerm   *hsdsTaxonomy `json:"taxonomy_term"`
}

type hsdsServiceArea struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type hsdsTaxonomy struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	Term string `json:"term"`
}

type hsdsPhone struct {
	Number      string   `json:"number"`
	Extension   *float64 `json:"extension"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
}

type hsdsServiceAtLocation struct {
	Location  *hsdsLocation  `json:"location"`
	Schedules []hsdsSchedule `json:"schedules"`
}

type hsdsLocation struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	Description   string              `json:"description"`
	Latitude      *float64            `json:"latitude"`
	Longitude     *float64            `json:"longitude"`
	Addresses     []hsdsAddress       `json:"addresses"`
	Accessibility []hsdsAccessibility `json:"accessibility"`
}

type hsdsAddress struct {
	Address1    string `json:"address_1"`
	Address2    string `json:"address_2"`
	City        string `json:"city"`
	Region      string `json:"region"`
	State       string `json:"state_province"`
	PostalCode  string `json:"postal_code"`
	Country     string `json:"country"`
	AddressType string `json:"address_type"`
}

type hsdsAccessibility struct {
	Description string `json:"description"`
	Details     string `json:"details"`
	URL         string `json:"url"`
}

type hsdsSchedule struct {
	Freq     string `json:"freq"`
	Byday    string `json:"byday"`
	OpensAt  string `json:"opens_at"`
	ClosesAt string `json:"closes_at"`
	Notes    string `json:"notes"`
}

type hsdsCostOption struct {
	Option            string   `json:"option"`
	Amount            *float64 `json:"amount"`
	Currency          string   `json:"currency"`
	AmountDescription string   `json:"amount_description"`
}

// ParseHSDS reads an HSDS 3.0 JSON export: an array of services, or a page object whose `contents` is one
// (the HSDS API's /services answer). Problems with the file as a whole are INVALID_ARGUMENT on field.
func ParseHSDS(field string, b []byte) ([]*ImportItem, error) {
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(b)
	if items, ok := parseHSDSFast(trimmed); ok {
		CheckDuplicates(items)
		return items, nil
	}
	if items, ok := parseHSDSStream(trimmed); ok {
		CheckDuplicates(items)
		return items, nil
	}
	// A file the fast reader gives up on (a row of the wrong shape, a key in another case) is decoded service
	// by service with encoding/json; a file the stream does not read whole (a syntax error, a page without a
	// list of contents, too many services) is read again the slow way, which says what is wrong with it.
	return parseHSDSSlow(field, trimmed)
}

// parseHSDSSlow reads an HSDS JSON file whole into a list of services, then each service: the reference
// parseHSDSStream must agree with, and the reader of the errors of a file the stream does not read.
func parseHSDSSlow(field string, trimmed []byte) ([]*ImportItem, error) {
	var raw []json.RawMessage
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, apierr.Invalidf(field, "is not an HSDS JSON list of services: %v", jsonProblem(err))
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var page struct {
			Contents []json.RawMessage `json:"contents"`
		}
		if err := json.Unmarshal(trimmed, &page); err != nil {
			return nil, apierr.Invalidf(field, "is not an HSDS JSON page of services: %v", jsonProblem(err))
		}
		if page.Contents == nil {
			return nil, apierr.Invalid(field, "is an HSDS JSON object without contents; send a list of services or a page with contents")
		}
		raw = page.Contents
	default:
		return nil, apierr.Invalid(field, "is not HSDS JSON (a list of services)")
	}
	if len(raw) > MaxImportRows {
		return nil, apierr.Invalid(field, fmt.Sprintf("has more than %d services; split it", MaxImportRows))
	}
	items := make([]*ImportItem, 0, len(raw))
	for i, r := range raw {
		items = append(items, hsdsItem(i+1, r))
	}
	CheckDuplicates(items)
	return items, nil
}

// parseHSDSStream reads a well-formed HSDS JSON list, or a page whose contents is one, decoding each service
// straight from the file: the file is scanned twice (once by the decoder finding each service's end, once
// decoding it), not four times (the whole file checked, split into copies of each service, each copy checked
// and decoded), which halves the CPU an HSDS import spends on JSON. A service of the wrong shape is that row's
// problem, as in the slow path. ok is false for anything else (a syntax error, trailing data, no contents,
// more than MaxImportRows services): ParseHSDS then reads the file the slow way to report it.
func parseHSDSStream(b []byte) (items []*ImportItem, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	delim := func(want json.Delim) bool {
		t, err := dec.Token()
		return err == nil && t == want
	}
	if len(b) == 0 {
		return nil, false
	}
	if b[0] == '{' {
		if !delim('{') {
			return nil, false
		}
		found := false
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, false
			}
			// encoding/json matches a struct field's name without regard to case, and the last of repeated
			// keys wins: anything but one "contents" key holding a list goes the slow way.
			if key, _ := t.(string); !strings.EqualFold(key, "contents") {
				var skip json.RawMessage
				if dec.Decode(&skip) != nil {
					return nil, false
				}
				continue
			}
			if found {
				return nil, false
			}
			found = true
			if items, ok = hsdsList(dec); !ok {
				return nil, false
			}
		}
		if !found || !delim('}') {
			return nil, false
		}
	} else if items, ok = hsdsList(dec); !ok {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data after the document
	}
	return items, true
}

// hsdsList decodes a JSON list of services from dec, each into its item.
func hsdsList(dec *json.Decoder) ([]*ImportItem, bool) {
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, false
	}
	items := make([]*ImportItem, 0, 1024)
	for dec.More() {
		if len(items) == MaxImportRows {
			return nil, false
		}
		var h hsdsService
		err := dec.Decode(&h)
		var te *json.UnmarshalTypeError
		if err != nil && !errors.As(err, &te) {
			return nil, false
		}
		items = append(items, hsdsItemFrom(len(items)+1, &h, err))
	}
	if t, err := dec.Token(); err != nil || t != json.Delim(']') {
		return nil, false
	}
	return items, true
}

// jsonProblem says what is wrong with a JSON document as a catalogue message, so that the error which embeds
// it translates whole; a problem it does not recognise passes on encoding/json's English text.
func jsonProblem(err error) i18n.Msg {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return i18n.NewMsg("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return i18n.NewMsg("the field %s holds a JSON %s of the wrong type", te.Field, te.Value)
	}
	return i18n.NewMsg("%v", err)
}

func hsdsItem(pos int, raw json.RawMessage) *ImportItem {
	var h hsdsService
	err := json.Unmarshal(raw, &h)
	return hsdsItemFrom(pos, &h, err)
}

// hsdsItemFrom makes the item of the service at position pos from its decoded fields, or from the error
// decoding it.
func hsdsItemFrom(pos int, h *hsdsService, err error) *ImportItem {
	it := &ImportItem{Row: pos, column: hsdsField}
	if err != nil {
		it.violate("", "the service cannot be read: %v", jsonProblem(err))
		return it
	}
	it.SourceID, it.DisplayName = h.ID, h.Name
	if strings.TrimSpace(h.ID) == "" {
		it.violate("id", "is required: the id names the service in a re-run of the import")
		return it
	}
	it.Key = ImportKey("hsds", h.ID)
	// The service is built once as the row is read (its problems are the row's); apply hands that service
	// over the first time it is called, without a copy, and builds it again from the decoded row for any later
	// call (a row planned again in its transaction, store.ImportRows), so every call gets a service of its own.
	next := hsdsBuild(it.Key, h, it.violate)
	it.apply = func(cur *cataloguev1.Service) *cataloguev1.Service {
		out := next
		if out != nil {
			next = nil
		} else {
			out = hsdsBuild(it.Key, h, func(string, string, ...any) {})
		}
		if cur != nil {
			// What HSDS does not carry stays as the catalogue has it.
			out.Providers, out.RequiresDecision, out.Accreditations = cur.GetProviders(), cur.GetRequiresDecision(), cur.GetAccreditations()
			if f := cur.GetFee(); f != nil && out.Fee != nil {
				out.Fee.IncomeBands, out.Fee.LegalBasis = f.GetIncomeBands(), f.GetLegalBasis()
			}
			if len(out.TargetGroups) == 0 {
				out.TargetGroups = cur.GetTargetGroups()
			}
			if len(out.Areas) == 0 {
				out.Areas = cur.GetAreas()
			}
		}
		return out
	}
	return it
}

// hsdsBuild makes the service an HSDS service describes, telling violate what is wrong with it. key is the
// row's ImportKey.
func hsdsBuild(key string, h *hsdsService, violate func(column, format string, args ...any)) *cataloguev1.Service {
	next := &cataloguev1.Service{
		DisplayName:            h.Name,
		AlternateName:          h.AlternateName,
		Description:            h.Description,
		Url:                    h.URL,
		Email:                  h.Email,
		ApplicationProcess:     h.ApplicationProcess,
		EligibilityDescription: h.EligibilityDescription,
	}
	switch strings.ToLower(h.Status) {
	case "", "active":
		next.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE
	case "inactive":
		next.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE
	case "defunct":
		next.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT
	case "temporarily closed":
		next.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED
	default:
		violate("status", "must be active, inactive, defunct or temporarily closed")
	}
	age := func(field string, f *float64) *int32 {
		if f == nil {
			return nil
		}
		if *f != math.Trunc(*f) || *f < 0 || *f > 150 {
			violate(field, "must be a whole number of years from 0 to 150")
			return nil
		}
		n := int32(*f)
		return &n
	}
	next.MinimumAge, next.MaximumAge = age("minimum_age", h.MinimumAge), age("maximum_age", h.MaximumAge)
	for _, p := range h.Phones {
		ph := &typev1.Phone{Number: p.Number, Type: p.Type, Description: p.Description}
		if p.Extension != nil {
			ph.Extension = fmt.Sprintf("%.0f", *p.Extension)
		}
		next.Phones = append(next.Phones, ph)
	}
	for _, l := range h.Languages {
		if c := strings.ToLower(strings.TrimSpace(l.Code)); c != "" {
			next.Languages = append(next.Languages, c)
		}
	}
	for _, a := range h.ServiceAreas {
		ga := &cataloguev1.GeographicArea{Name: a.Name, Description: a.Description}
		// Our HSDS export writes the gmina's TERYT code into the description: read it back.
		if _, code, ok := strings.Cut(a.Description, "Kod TERYT: "); ok {
			ga.TerytCode = strings.TrimSuffix(strings.TrimSpace(code), ".")
			ga.Description = strings.TrimSpace(strings.TrimSuffix(a.Description, "Kod TERYT: "+code))
		}
		next.ServiceAreas = append(next.ServiceAreas, ga)
	}
	seenArea, seenGroup := map[cataloguev1.Area]bool{}, map[cataloguev1.TargetGroup]bool{}
	for _, a := range h.Attributes {
		keys := []string{a.TaxonomyTermID}
		if t := a.TaxonomyTerm; t != nil {
			keys = append(keys, t.ID, t.Code, t.Name, t.Term)
		}
		// Terms of other taxonomies (e.g. Open Eligibility) are not the catalogue's: they are skipped.
		for _, k := range keys {
			if k == "" {
				continue
			}
			if ar, ok := areaByKey[sheet.Fold(k)]; ok {
				if !seenArea[ar] {
					next.Areas = append(next.Areas, ar)
				}
				seenArea[ar] = true
				break
			}
			if g, ok := groupByKey[sheet.Fold(k)]; ok {
				if !seenGroup[g] {
					next.TargetGroups = append(next.TargetGroups, g)
				}
				seenGroup[g] = true
				break
			}
		}
	}
	for i, sal := range h.ServiceAtLocations {
		if sal.Location == nil {
			continue
		}
		l := sal.Location
		f := func() string { return fmt.Sprintf("service_at_locations[%d]", i) } // for a violation only
		loc := &cataloguev1.Location{Name: l.Name, Description: l.Description}
		if id, err := uuid.Parse(l.ID); err == nil && l.ID != "" {
			loc.Id = id.String()
		} else {
			loc.Id = uuid.NewSHA1(importNamespace, []byte(key+"/location/"+l.ID+"/"+fmt.Sprint(i))).String()
		}
		if l.Latitude != nil && l.Longitude != nil {
			loc.Coordinates = &typev1.LatLng{Latitude: *l.Latitude, Longitude: *l.Longitude}
		}
		for _, a := range l.Addresses {
			if a.AddressType != "" && a.AddressType != "physical" {
				continue
			}
			region := a.Region
			if region == "" {
				region = a.State
			}
			loc.Address = &typev1.Address{Address_1: a.Address1, Address_2: a.Address2, City: a.City, PostalCode: a.PostalCode, Region: region, Country: strings.ToUpper(a.Country)}
			break
		}
		for _, acc := range l.Accessibility {
			loc.Accessibility = &cataloguev1.Accessibility{Description: acc.Description, Url: acc.URL,
				WheelchairAccessible: strings.Contains(strings.ToLower(acc.Details), "wheelchair") || strings.Contains(sheet.Fold(acc.Details), "wozk")}
			break
		}
		for j, sc := range sal.Schedules {
			if sc.Freq != "" && !strings.EqualFold(sc.Freq, "WEEKLY") {
				violate(fmt.Sprintf("%s.schedules[%d].freq", f(), j), "only WEEKLY schedules can be imported")
				continue
			}
			closes := sc.ClosesAt
			if len(closes) >= 5 {
				closes = closes[:5] // "16:00:00" or "16:00+01:00": the catalogue keeps local HH:MM
			}
			opens := sc.OpensAt
			if len(opens) >= 5 {
				opens = opens[:5]
			}
			if closes == "23:59" {
				closes = "24:00" // our HSDS export's spelling of midnight at the end of the day
			}
			for _, code := range strings.Split(sc.Byday, ",") {
				d, ok := dayByKey[sheet.Fold(strings.TrimSpace(code))]
				if !ok {
					violate(fmt.Sprintf("%s.schedules[%d].byday", f(), j), "%q is not a weekday (MO, TU, WE, TH, FR, SA, SU)", code)
					continue
				}
				loc.OpeningHours = append(loc.OpeningHours, &cataloguev1.OpeningHours{Day: d, OpensAt: opens, ClosesAt: closes, Description: sc.Notes})
			}
		}
		next.Locations = append(next.Locations, loc)
	}
	for _, c := range h.CostOptions {
		if c.Amount == nil || *c.Amount <= 0 {
			continue
		}
		g := math.Round(*c.Amount * 100)
		if g > math.MaxInt32 {
			violate("cost_options.amount", "is too large")
			break
		}
		next.Fee = &cataloguev1.FeeRule{PriceGrosze: int32(g), Currency: strings.ToUpper(c.Currency), Description: h.FeesDescription}
		for _, k := range []string{c.Option, c.AmountDescription} {
			if u, ok := unitByKey[sheet.Fold(k)]; ok {
				next.Fee.Unit = u
				break
			}
		}
		break // the catalogue keeps one price; further options stay in fees_description
	}
	if next.Fee == nil && h.FeesDescription != "" {
		next.Fee = &cataloguev1.FeeRule{Description: h.FeesDescription}
	}
	return next
}

// hsdsField maps a field path of ValidateService to the HSDS field it comes from.
func hsdsField(field string) string {
	return hsdsFields.Replace(field)
}

var hsdsFields = strings.NewReplacer("display_name", "name", "locations[", "service_at_locations[", "areas", "attributes (obszar)",
	"target_groups", "attributes (grupa docelowa)", "fee.price_grosze", "cost_options.amount", "fee.unit", "cost_options.option",
	"fee.description", "fees_description", "opening_hours", "schedules")
