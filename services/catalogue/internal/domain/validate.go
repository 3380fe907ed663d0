package domain

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strconv"
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

var phoneTypes = map[string]bool{"text": true, "voice": true, "fax": true, "cell": true, "video": true, "pager": true, "textphone": true}

// The patterns of phone numbers, extensions, language and country codes and clock times are checked by the
// functions below rather than by regular expressions: a bulk import checks them for every row, where the regexp
// engine was a few per cent of the import's CPU. Each is the regular expression in its comment, exactly
// (TestPatternsMatchTheirRegexps).

// validPhone is ^\+?[0-9][0-9 ()/-]{2,29}$.
func validPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 3 || len(s) > 30 || !isDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != ' ' && c != '(' && c != ')' && c != '/' && c != '-' {
			return false
		}
	}
	return true
}

// validExtension is ^[0-9]{1,8}$.
func validExtension(s string) bool {
	if len(s) < 1 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// validLanguage is ^[a-z]{2,3}$.
func validLanguage(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// validCountry is ^[A-Z]{2}$.
func validCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// validHHMM is ^([01][0-9]|2[0-3]):[0-5][0-9]$.
func validHHMM(s string) bool {
	if len(s) != 5 || s[2] != ':' || !isDigit(s[1]) || !isDigit(s[4]) || s[3] < '0' || s[3] > '5' {
		return false
	}
	return s[0] == '0' || s[0] == '1' || (s[0] == '2' && s[1] <= '3')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// checker records violations of the fields of a message under prefix, or of an element of a list in it (in):
// the element's path ("locations[2].opening_hours[0].") is only written out for a violation, so a valid
// service, which a bulk import checks by the thousand, costs no string building for the paths of its fields.
type checker struct {
	v      *apierr.Violations
	prefix string
	depth  int
	path   [4]pathSeg // a service nests two levels (locations[i].opening_hours[j]); room for two more
}

// pathSeg is a step into a nested message: name, and [idx] when idx >= 0.
type pathSeg struct {
	name string
	idx  int
}

// in returns the checker of the message at name[idx] (idx < 0: name alone) of the one c checks.
func (c checker) in(name string, idx int) checker {
	c.path[c.depth] = pathSeg{name, idx}
	c.depth++
	return c
}

// field is the full name of field ("" for the element in itself).
func (c checker) field(field string) string {
	if c.depth == 0 {
		return c.prefix + field
	}
	var b strings.Builder
	b.WriteString(c.prefix)
	for k, seg := range c.path[:c.depth] {
		if k > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg.name)
		if seg.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.idx))
			b.WriteByte(']')
		}
	}
	if field != "" {
		b.WriteByte('.')
		b.WriteString(field)
	}
	return b.String()
}

func (c checker) add(field, format string, args ...any) { c.v.Add(c.field(field), format, args...) }

func (c checker) text(field, value string, max int, required bool) {
	// One pass for what utf8.ValidString, utf8.RuneCountInString and a search for NUL would find in three (a
	// description is a kilobyte, and an import checks every row's).
	valid, runes, nul := true, 0, false
	for i := 0; i < len(value); runes++ {
		if b := value[i]; b < utf8.RuneSelf {
			nul = nul || b == 0
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && size == 1 {
			valid = false
			break
		}
		i += size
	}
	switch {
	case !valid:
		c.add(field, "must be valid UTF-8")
	case required && strings.TrimSpace(value) == "":
		c.add(field, "is required")
	case runes > max:
		c.add(field, "must be at most %d characters", max)
	case nul:
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
		checkPhone(c.in("phones", i), p)
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
		if !validLanguage(l) {
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
		ac := c.in("service_areas", i)
		ac.text("name", a.GetName(), MaxShortLen, true)
		ac.text("description", a.GetDescription(), MaxTextLen, false)
		if code := a.GetTerytCode(); code != "" && plid.ValidateTERC(code) != nil && plid.ValidatePowiat(code) != nil {
			ac.add("teryt_code", "must be a TERYT TERC code of a gmina (7 digits) or powiat (4 digits)")
		}
	}
	if len(s.GetLocations()) > MaxLocations {
		c.add("locations", "at most %d locations", MaxLocations)
	}
	var seen map[string]bool
	if len(s.GetLocations()) > 1 {
		seen = make(map[string]bool, len(s.GetLocations()))
	}
	for i, l := range s.GetLocations() {
		lc := c.in("locations", i)
		if id := l.GetId(); id != "" {
			if !IsUUID(id) {
				lc.add("id", "must be a UUID")
			} else if seen[strings.ToLower(id)] {
				lc.add("id", "is used by another location of the service")
			}
			if seen != nil {
				seen[strings.ToLower(id)] = true
			}
		}
		checkLocation(lc, l)
	}
	if len(s.GetAreas()) == 0 {
		c.add("areas", "at least one area of art. 2 ust. 1 is required")
	}
	var seenArea uint64 // the areas and target groups are small enums (ValidArea, ValidTargetGroup)
	for i, a := range s.GetAreas() {
		if !ValidArea(a) {
			c.add(fmt.Sprintf("areas[%d]", i), "unknown area %d; see ListAreas", a)
		} else if seenArea&(1<<uint(a)) != 0 {
			c.add(fmt.Sprintf("areas[%d]", i), "%s is listed twice", a)
		} else {
			seenArea |= 1 << uint(a)
		}
	}
	var seenGroup uint64
	for i, g := range s.GetTargetGroups() {
		if !ValidTargetGroup(g) {
			c.add(fmt.Sprintf("target_groups[%d]", i), "unknown target group %d; see ListTargetGroups", g)
		} else if seenGroup&(1<<uint(g)) != 0 {
			c.add(fmt.Sprintf("target_groups[%d]", i), "%s is listed twice", g)
		} else {
			seenGroup |= 1 << uint(g)
		}
	}
	if len(s.GetProviders()) > MaxListItems {
		c.add("providers", "at most %d providers", MaxListItems)
	}
	var seenProv map[string]bool
	if len(s.GetProviders()) > 1 {
		seenProv = make(map[string]bool, len(s.GetProviders()))
	}
	for i, p := range s.GetProviders() {
		id, ok := strings.CutPrefix(p, ProviderPrefix)
		if !ok || !IsUUID(id) {
			c.in("providers", i).add("", "must be providers/{uuid}")
		} else if seenProv[p] {
			c.in("providers", i).add("", "is listed twice")
		}
		if seenProv != nil {
			seenProv[p] = true
		}
	}
	if fee := s.GetFee(); fee != nil {
		checkFee(c.in("fee", -1), fee)
	}
}

func checkURL(c checker, field, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(value) > MaxTextLen {
		c.add(field, "must be an absolute http(s) URL")
	}
}

func checkPhone(c checker, p *typev1.Phone) {
	if !validPhone(p.GetNumber()) {
		c.add("number", "must be a telephone number of digits, spaces and + ( ) - /")
	}
	if p.GetExtension() != "" && !validExtension(p.GetExtension()) {
		c.add("extension", "must be 1 to 8 digits")
	}
	if t := p.GetType(); t != "" && !phoneTypes[t] {
		c.add("type", "must be one of text, voice, fax, cell, video, pager, textphone")
	}
	c.text("description", p.GetDescription(), MaxShortLen, false)
}

func checkAge(c checker, field string, age *int32) {
	if age != nil && (*age < 0 || *age > 150) {
		c.add(field, "must be between 0 and 150")
	}
}

func checkLocation(c checker, l *cataloguev1.Location) {
	c.text("name", l.GetName(), MaxNameLen, false)
	c.text("description", l.GetDescription(), MaxTextLen, false)
	if a := l.GetAddress(); a != nil {
		c.text("address.address_1", a.GetAddress_1(), MaxShortLen, false)
		c.text("address.address_2", a.GetAddress_2(), MaxShortLen, false)
		c.text("address.city", a.GetCity(), MaxShortLen, false)
		c.text("address.region", a.GetRegion(), MaxShortLen, false)
		if pc := a.GetPostalCode(); pc != "" && plid.ValidatePostalCode(pc) != nil {
			c.add("address.postal_code", "must be a Polish postal code NN-NNN")
		}
		if ct := a.GetCountry(); ct != "" && !validCountry(ct) {
			c.add("address.country", "must be an ISO 3166-1 alpha-2 code such as PL")
		}
	}
	if code := l.GetTerytCode(); code != "" {
		if err := plid.ValidateTERC(code); err != nil {
			c.add("teryt_code", "must be a TERYT TERC code of a gmina: %v", err)
		}
	}
	if p := l.GetCoordinates(); p != nil {
		if math.IsNaN(p.GetLatitude()) || p.GetLatitude() < -90 || p.GetLatitude() > 90 {
			c.add("coordinates.latitude", "must be between -90 and 90")
		}
		if math.IsNaN(p.GetLongitude()) || p.GetLongitude() < -180 || p.GetLongitude() > 180 {
			c.add("coordinates.longitude", "must be between -180 and 180")
		}
	}
	if a := l.GetAccessibility(); a != nil {
		c.text("accessibility.description", a.GetDescription(), MaxTextLen, false)
		if a.GetUrl() != "" {
			checkURL(c, "accessibility.url", a.GetUrl())
		}
	}
	if len(l.GetOpeningHours()) > MaxHoursPerPlace {
		c.add("opening_hours", "at most %d intervals", MaxHoursPerPlace)
	}
	for j, h := range l.GetOpeningHours() {
		hc := c.in("opening_hours", j)
		if h.GetDay() < 1 || h.GetDay() > 7 {
			hc.add("day", "must be a weekday WEEKDAY_MONDAY..WEEKDAY_SUNDAY")
		}
		open, okOpen := ParseClock(h.GetOpensAt(), false)
		if !okOpen {
			hc.add("opens_at", "must be a time HH:MM")
		}
		closeAt, okClose := ParseClock(h.GetClosesAt(), true)
		if !okClose {
			hc.add("closes_at", "must be a time HH:MM or 24:00")
		}
		if okOpen && okClose && closeAt <= open {
			hc.add("closes_at", "must be later than opens_at")
		}
		hc.text("description", h.GetDescription(), MaxShortLen, false)
	}
}

// ParseClock parses HH:MM into minutes after midnight; "24:00" is accepted only as a closing time.
func ParseClock(s string, closing bool) (int, bool) {
	if closing && s == "24:00" {
		return 24 * 60, true
	}
	if !validHHMM(s) {
		return 0, false
	}
	return int(s[0]-'0')*600 + int(s[1]-'0')*60 + int(s[3]-'0')*10 + int(s[4]-'0'), true
}

func checkFee(c checker, fee *cataloguev1.FeeRule) {
	if fee.GetPriceGrosze() < 0 {
		c.add("price_grosze", "must not be negative")
	}
	if cur := fee.GetCurrency(); cur != "" && cur != "PLN" {
		c.add("currency", "only PLN is supported")
	}
	if _, ok := cataloguev1.FeeUnit_name[int32(fee.GetUnit())]; !ok {
		c.add("unit", "unknown unit %d", fee.GetUnit())
	} else if fee.GetPriceGrosze() > 0 && fee.GetUnit() == cataloguev1.FeeUnit_FEE_UNIT_UNSPECIFIED {
		c.add("unit", "is required when price_grosze is above 0")
	}
	if lb := fee.GetLegalBasis(); lb != nil {
		c.text("legal_basis.number", lb.GetNumber(), 100, false)
		c.date("legal_basis.adopted_on", lb.GetAdoptedOn())
	}
	c.text("description", fee.GetDescription(), MaxTextLen, false)
	bands := fee.GetIncomeBands()
	if len(bands) > MaxIncomeBands {
		c.add("income_bands", "at most %d bands", MaxIncomeBands)
		return
	}
	for i, b := range bands {
		bc := c.in("income_bands", i)
		if i == 0 && b.GetFromPercent() != 0 {
			bc.add("from_percent", "the first band must start at 0")
		}
		if i > 0 {
			prev := bands[i-1]
			if prev.ToPercent == nil || prev.GetToPercent() != b.GetFromPercent() {
				bc.add("from_percent", "must equal the previous band's to_percent (bands are contiguous)")
			}
		}
		if b.ToPercent != nil && b.GetToPercent() <= b.GetFromPercent() {
			bc.add("to_percent", "must be above from_percent")
		}
		last := i == len(bands)-1
		if last && b.ToPercent != nil {
			bc.add("to_percent", "the last band must be open-ended (no to_percent)")
		}
		if b.GetPayablePercent() < 0 || b.GetPayablePercent() > 100 {
			bc.add("payable_percent", "must be between 0 and 100")
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
