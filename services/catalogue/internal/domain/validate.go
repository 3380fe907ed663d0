package domain

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Limits on sizes, so no single request can make a record unreasonably large.
const (
	MaxNameLen        = 200
	MaxProgrammeName  = 300
	MaxDescriptionLen = 10000
	MaxTextLen        = 2000
	MaxShortLen       = 200
	MaxPhones         = 10
	MaxLocations      = 50
	MaxHoursPerPlace  = 50
	MaxListItems      = 50
	MaxIncomeBands    = 20
	MaxProgrammeItems = 1000
	MaxQueryLen       = 200
)

var (
	phonePattern    = regexp.MustCompile(`^\+?[0-9][0-9 ()/-]{2,29}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	hhmmPattern     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	phoneTypes      = map[string]bool{"text": true, "voice": true, "fax": true, "cell": true, "video": true, "pager": true, "textphone": true}
)

// ServicePrefix and friends name resources.
const (
	ServicePrefix   = "services/"
	ProgrammePrefix = "programmes/"
	ProviderPrefix  = "providers/"
)

// ParseName returns the UUID of a resource name `<prefix><uuid>`, or an INVALID_ARGUMENT naming field.
func ParseName(field, prefix, name string) (string, error) {
	id, ok := strings.CutPrefix(name, prefix)
	if name == "" {
		return "", apierr.Invalid(field, "is required")
	}
	if !ok || !IsUUID(id) {
		return "", apierr.Invalidf(field, "must be %s{uuid}", prefix)
	}
	return strings.ToLower(id), nil
}

// IsUUID reports whether s is a UUID in the canonical 36-character form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

type checker struct {
	v      *apierr.Violations
	prefix string
}

func (c checker) add(field, format string, args ...any) { c.v.Add(c.prefix+field, format, args...) }

func (c checker) text(field, value string, max int, required bool) {
	switch {
	case !utf8.ValidString(value):
		c.add(field, "must be valid UTF-8")
	case required && strings.TrimSpace(value) == "":
		c.add(field, "is required")
	case utf8.RuneCountInString(value) > max:
		c.add(field, "must be at most %d characters", max)
	case strings.ContainsAny(value, "\x00"):
		c.add(field, "must not contain NUL characters")
	}
}

func (c checker) date(field, value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", value)
	if err != nil {
		c.add(field, "must be a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return t, true
}

// ValidateService checks a service as it would be stored (after defaults and masks), recording violations
// under prefix (e.g. "service.").
func ValidateService(s *cataloguev1.Service, prefix string, v *apierr.Violations) {
	c := checker{v: v, prefix: prefix}
	c.text("display_name", s.GetDisplayName(), MaxNameLen, true)
	c.text("alternate_name", s.GetAlternateName(), MaxNameLen, false)
	c.text("description", s.GetDescription(), MaxDescriptionLen, false)
	c.text("application_process", s.GetApplicationProcess(), MaxTextLen, false)
	c.text("eligibility_description", s.GetEligibilityDescription(), MaxTextLen, false)
	if _, ok := cataloguev1.ServiceStatus_name[int32(s.GetStatus())]; !ok {
		c.add("status", "unknown value %d", s.GetStatus())
	}
	if u := s.GetUrl(); u != "" {
		checkURL(c, "url", u)
	}
	if e := s.GetEmail(); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			c.add("email", "must be a plain e-mail address such as cus@rawicz.pl")
		}
	}
	if len(s.GetPhones()) > MaxPhones {
		c.add("phones", "at most %d phones", MaxPhones)
	}
	for i, p := range s.GetPhones() {
		checkPhone(c, fmt.Sprintf("phones[%d]", i), p)
	}
	checkAge(c, "minimum_age", s.MinimumAge)
	checkAge(c, "maximum_age", s.MaximumAge)
	if s.MinimumAge != nil && s.MaximumAge != nil && s.GetMinimumAge() > s.GetMaximumAge() {
		c.add("maximum_age", "must not be below minimum_age")
	}
	if len(s.GetLanguages()) > MaxListItems {
		c.add("languages", "at most %d languages", MaxListItems)
	}
	for i, l := range s.GetLanguages() {
		if !languagePattern.MatchString(l) {
			c.add(fmt.Sprintf("languages[%d]", i), "must be an ISO 639 code in lower case, e.g. pl")
		}
	}
	if len(s.GetAccreditations()) > MaxListItems {
		c.add("accreditations", "at most %d accreditations", MaxListItems)
	}
	for i, a := range s.GetAccreditations() {
		c.text(fmt.Sprintf("accreditations[%d]", i), a, MaxShortLen, true)
	}
	if len(s.GetServiceAreas()) > MaxListItems {
		c.add("service_areas", "at most %d service areas", MaxListItems)
	}
	for i, a := range s.GetServiceAreas() {
		f := fmt.Sprintf("service_areas[%d]", i)
		c.text(f+".name", a.GetName(), MaxShortLen, true)
		c.text(f+".description", a.GetDescription(), MaxTextLen, false)
		if code := a.GetTerytCode(); code != "" && plid.ValidateTERC(code) != nil && plid.ValidatePowiat(code) != nil {
			c.add(f+".teryt_code", "must be a TERYT TERC code of a gmina (7 digits) or powiat (4 digits)")
		}
	}
	if len(s.GetLocations()) > MaxLocations {
		c.add("locations", "at most %d locations", MaxLocations)
	}
	seen := map[string]bool{}
	for i, l := range s.GetLocations() {
		f := fmt.Sprintf("locations[%d]", i)
		if id := l.GetId(); id != "" {
			if !IsUUID(id) {
				c.add(f+".id", "must be a UUID")
			} else if seen[strings.ToLower(id)] {
				c.add(f+".id", "is used by another location of the service")
			}
			seen[strings.ToLower(id)] = true
		}
		checkLocation(c, f, l)
	}
	if len(s.GetAreas()) == 0 {
		c.add("areas", "at least one area of art. 2 ust. 1 is required")
	}
	seenArea := map[cataloguev1.Area]bool{}
	for i, a := range s.GetAreas() {
		if !ValidArea(a) {
			c.add(fmt.Sprintf("areas[%d]", i), "unknown area %d; see ListAreas", a)
		} else if seenArea[a] {
			c.add(fmt.Sprintf("areas[%d]", i), "%s is listed twice", a)
		}
		seenArea[a] = true
	}
	seenGroup := map[cataloguev1.TargetGroup]bool{}
	for i, g := range s.GetTargetGroups() {
		if !ValidTargetGroup(g) {
			c.add(fmt.Sprintf("target_groups[%d]", i), "unknown target group %d; see ListTargetGroups", g)
		} else if seenGroup[g] {
			c.add(fmt.Sprintf("target_groups[%d]", i), "%s is listed twice", g)
		}
		seenGroup[g] = true
	}
	if len(s.GetProviders()) > MaxListItems {
		c.add("providers", "at most %d providers", MaxListItems)
	}
	seenProv := map[string]bool{}
	for i, p := range s.GetProviders() {
		f := fmt.Sprintf("providers[%d]", i)
		id, ok := strings.CutPrefix(p, ProviderPrefix)
		if !ok || !IsUUID(id) {
			c.add(f, "must be providers/{uuid}")
		} else if seenProv[p] {
			c.add(f, "is listed twice")
		}
		seenProv[p] = true
	}
	if fee := s.GetFee(); fee != nil {
		checkFee(c, "fee", fee)
	}
}

func checkURL(c checker, field, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(value) > MaxTextLen {
		c.add(field, "must be an absolute http(s) URL")
	}
}

func checkPhone(c checker, f string, p *typev1.Phone) {
	if !phonePattern.MatchString(p.GetNumber()) {
		c.add(f+".number", "must be a telephone number of digits, spaces and + ( ) - /")
	}
	if p.GetExtension() != "" && !regexp.MustCompile(`^[0-9]{1,8}$`).MatchString(p.GetExtension()) {
		c.add(f+".extension", "must be 1 to 8 digits")
	}
	if t := p.GetType(); t != "" && !phoneTypes[t] {
		c.add(f+".type", "must be one of text, voice, fax, cell, video, pager, textphone")
	}
	c.text(f+".description", p.GetDescription(), MaxShortLen, false)
}

func checkAge(c checker, field string, age *int32) {
	if age != nil && (*age < 0 || *age > 150) {
		c.add(field, "must be between 0 and 150")
	}
}

func checkLocation(c checker, f string, l *cataloguev1.Location) {
	c.text(f+".name", l.GetName(), MaxNameLen, false)
	c.text(f+".description", l.GetDescription(), MaxTextLen, false)
	if a := l.GetAddress(); a != nil {
		c.text(f+".address.address_1", a.GetAddress_1(), MaxShortLen, false)
		c.text(f+".address.address_2", a.GetAddress_2(), MaxShortLen, false)
		c.text(f+".address.city", a.GetCity(), MaxShortLen, false)
		c.text(f+".address.region", a.GetRegion(), MaxShortLen, false)
		if pc := a.GetPostalCode(); pc != "" && plid.ValidatePostalCode(pc) != nil {
			c.add(f+".address.postal_code", "must be a Polish postal code NN-NNN")
		}
		if ct := a.GetCountry(); ct != "" && !countryPattern.MatchString(ct) {
			c.add(f+".address.country", "must be an ISO 3166-1 alpha-2 code such as PL")
		}
	}
	if code := l.GetTerytCode(); code != "" {
		if err := plid.ValidateTERC(code); err != nil {
			c.add(f+".teryt_code", "must be a TERYT TERC code of a gmina: %v", err)
		}
	}
	if p := l.GetCoordinates(); p != nil {
		if math.IsNaN(p.GetLatitude()) || p.GetLatitude() < -90 || p.GetLatitude() > 90 {
			c.add(f+".coordinates.latitude", "must be between -90 and 90")
		}
		if math.IsNaN(p.GetLongitude()) || p.GetLongitude() < -180 || p.GetLongitude() > 180 {
			c.add(f+".coordinates.longitude", "must be between -180 and 180")
		}
	}
	if a := l.GetAccessibility(); a != nil {
		c.text(f+".accessibility.description", a.GetDescription(), MaxTextLen, false)
		if a.GetUrl() != "" {
			checkURL(c, f+".accessibility.url", a.GetUrl())
		}
	}
	if len(l.GetOpeningHours()) > MaxHoursPerPlace {
		c.add(f+".opening_hours", "at most %d intervals", MaxHoursPerPlace)
	}
	for j, h := range l.GetOpeningHours() {
		hf := fmt.Sprintf("%s.opening_hours[%d]", f, j)
		if h.GetDay() < 1 || h.GetDay() > 7 {
			c.add(hf+".day", "must be a weekday WEEKDAY_MONDAY..WEEKDAY_SUNDAY")
		}
		open, okOpen := ParseClock(h.GetOpensAt(), false)
		if !okOpen {
			c.add(hf+".opens_at", "must be a time HH:MM")
		}
		closeAt, okClose := ParseClock(h.GetClosesAt(), true)
		if !okClose {
			c.add(hf+".closes_at", "must be a time HH:MM or 24:00")
		}
		if okOpen && okClose && closeAt <= open {
			c.add(hf+".closes_at", "must be later than opens_at")
		}
		c.text(hf+".description", h.GetDescription(), MaxShortLen, false)
	}
}

// ParseClock parses HH:MM into minutes after midnight; "24:00" is accepted only as a closing time.
func ParseClock(s string, closing bool) (int, bool) {
	if closing && s == "24:00" {
		return 24 * 60, true
	}
	if !hhmmPattern.MatchString(s) {
		return 0, false
	}
	return int(s[0]-'0')*600 + int(s[1]-'0')*60 + int(s[3]-'0')*10 + int(s[4]-'0'), true
}

func checkFee(c checker, f string, fee *cataloguev1.FeeRule) {
	if fee.GetPriceGrosze() < 0 {
		c.add(f+".price_grosze", "must not be negative")
	}
	if cur := fee.GetCurrency(); cur != "" && cur != "PLN" {
		c.add(f+".currency", "only PLN is supported")
	}
	if _, ok := cataloguev1.FeeUnit_name[int32(fee.GetUnit())]; !ok {
		c.add(f+".unit", "unknown unit %d", fee.GetUnit())
	} else if fee.GetPriceGrosze() > 0 && fee.GetUnit() == cataloguev1.FeeUnit_FEE_UNIT_UNSPECIFIED {
		c.add(f+".unit", "is required when price_grosze is above 0")
	}
	if lb := fee.GetLegalBasis(); lb != nil {
		c.text(f+".legal_basis.number", lb.GetNumber(), 100, false)
		c.date(f+".legal_basis.adopted_on", lb.GetAdoptedOn())
	}
	c.text(f+".description", fee.GetDescription(), MaxTextLen, false)
	bands := fee.GetIncomeBands()
	if len(bands) > MaxIncomeBands {
		c.add(f+".income_bands", "at most %d bands", MaxIncomeBands)
		return
	}
	for i, b := range bands {
		bf := fmt.Sprintf("%s.income_bands[%d]", f, i)
		if i == 0 && b.GetFromPercent() != 0 {
			c.add(bf+".from_percent", "the first band must start at 0")
		}
		if i > 0 {
			prev := bands[i-1]
			if prev.ToPercent == nil || prev.GetToPercent() != b.GetFromPercent() {
				c.add(bf+".from_percent", "must equal the previous band's to_percent (bands are contiguous)")
			}
		}
		if b.ToPercent != nil && b.GetToPercent() <= b.GetFromPercent() {
			c.add(bf+".to_percent", "must be above from_percent")
		}
		last := i == len(bands)-1
		if last && b.ToPercent != nil {
			c.add(bf+".to_percent", "the last band must be open-ended (no to_percent)")
		}
		if b.GetPayablePercent() < 0 || b.GetPayablePercent() > 100 {
			c.add(bf+".payable_percent", "must be between 0 and 100")
		}
	}
}

// ValidateProgramme checks a programme as it would be stored.
func ValidateProgramme(p *cataloguev1.Programme, prefix string, v *apierr.Violations) {
	c := checker{v: v, prefix: prefix}
	c.text("display_name", p.GetDisplayName(), MaxProgrammeName, true)
	c.text("description", p.GetDescription(), MaxDescriptionLen, false)
	c.text("access_criteria", p.GetAccessCriteria(), MaxDescriptionLen, false)
	c.text("fee_description", p.GetFeeDescription(), MaxDescriptionLen, false)
	if r := p.GetResolution(); r != nil {
		c.text("resolution.number", r.GetNumber(), 100, false)
		c.date("resolution.adopted_on", r.GetAdoptedOn())
	}
	start, okStart := c.date("start_date", p.GetStartDate())
	end, okEnd := c.date("end_date", p.GetEndDate())
	if okStart && okEnd && end.Before(start) {
		c.add("end_date", "must not be before start_date")
	}
	if len(p.GetServices()) > MaxProgrammeItems {
		c.add("services", "at most %d services", MaxProgrammeItems)
	}
	seen := map[string]bool{}
	for i, s := range p.GetServices() {
		f := fmt.Sprintf("services[%d]", i)
		id, ok := strings.CutPrefix(s, ServicePrefix)
		if !ok || !IsUUID(id) {
			c.add(f, "must be services/{uuid}")
		} else if seen[s] {
			c.add(f, "is listed twice")
		}
		seen[s] = true
	}
}
