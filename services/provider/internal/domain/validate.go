package domain

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/plid"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Limits on sizes, so no single request can make a record unreasonably large.
const (
	MaxNameLen        = 200
	MaxLegalNameLen   = 500
	MaxDescriptionLen = 10000
	MaxNotesLen       = 2000
	MaxShortLen       = 200
	MaxReasonLen      = 500
	MaxReferenceLen   = 100
	MaxPhones         = 10
	MaxAccreditations = 50
	MaxCapacity       = 1_000_000
)

var (
	phonePattern   = regexp.MustCompile(`^\+?[0-9][0-9 ()/-]{2,29}$`)
	extPattern     = regexp.MustCompile(`^[0-9]{1,8}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	projectPattern = regexp.MustCompile(`^[\p{L}0-9./_()-][\p{L}0-9./_() -]{0,59}$`)
	phoneTypes     = map[string]bool{"text": true, "voice": true, "fax": true, "cell": true, "video": true, "pager": true, "textphone": true}
)

// nipNormalise is plid.NormalizeNIP, named for the filter table.
var nipNormalise = plid.NormalizeNIP

// NormalizeREGON removes white space and dashes from a REGON as people write it ("301 234 567").
func NormalizeREGON(s string) string { return stripSeparators(s) }

// NormalizeKRS removes white space and dashes and zero-pads a shorter number of ASCII digits to 10 digits, as KRS
// numbers are often written without their leading zeros ("KRS 123456" is 0000123456). A leading "KRS" is
// removed too. Anything else is left for plid.ValidateKRS to reject.
func NormalizeKRS(s string) string {
	s = stripSeparators(s)
	if len(s) > 3 && strings.EqualFold(s[:3], "krs") {
		s = s[3:]
	}
	if n := len(s); n > 0 && n < 10 && allASCIIDigits(s) {
		s = strings.Repeat("0", 10-n) + s
	}
	return s
}

func stripSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return r
	}, s)
}

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Need says whether a kind of provider must, may or must not have an identifier.
type Need int

// The needs of an identifier.
const (
	Optional Need = iota
	Required
	Forbidden
)

// IdentifierRules are the needs of one kind of provider.
type IdentifierRules struct {
	NIP, REGON, KRS Need
	// Why an identifier is forbidden, for the error message.
	KRSForbiddenWhy string
}

// KindRules is the table of identifier needs per kind (documented in docs/provider.md and on ProviderKind).
// Every registered organisation has a REGON and, if it pays or invoices, a NIP; KRS holds foundations,
// registered associations, cooperatives and companies, but not simple associations (stowarzyszenia zwykłe),
// sole traders (CEIDG), church legal persons, or gmina units.
var KindRules = map[providerv1.ProviderKind]IdentifierRules{
	providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION: {NIP: Required, REGON: Required},
	providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE:        {NIP: Required, REGON: Required, KRS: Required},
	providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY:     {NIP: Required},
	providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:       {NIP: Required, REGON: Required},
	providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT: {REGON: Required, KRS: Forbidden,
		KRSForbiddenWhy: "gmina units are not entered in KRS"},
	providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY:     {REGON: Required},
	providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY: {NIP: Required, REGON: Required},
	providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP: {KRS: Forbidden,
		KRSForbiddenWhy: "a body entered in KRS is not an informal group; choose its kind"},
}

// KindLabel is how messages name a kind.
func KindLabel(k providerv1.ProviderKind) string {
	switch k {
	case providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION:
		return "a foundation or association"
	case providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE:
		return "a social cooperative"
	case providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY:
		return "a social economy entity"
	case providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION:
		return "a church organisation"
	case providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT:
		return "a gmina unit"
	case providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY:
		return "a public body"
	case providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY:
		return "a private company"
	case providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP:
		return "an informal group"
	}
	return "this kind of provider"
}

// ValidKind reports whether k is a kind a provider may have.
func ValidKind(k providerv1.ProviderKind) bool {
	_, ok := KindRules[k]
	return ok
}

// checker records violations under a prefix (e.g. "provider.").
type checker struct {
	v      *Violations
	prefix string
}

func (c checker) add(field, reason, format string, args ...any) {
	c.v.Add(c.prefix+field, reason, format, args...)
}

func (c checker) text(field, value string, max int, required bool) {
	switch {
	case !utf8.ValidString(value):
		c.add(field, ReasonInvalidFormat, "must be valid UTF-8")
	case required && strings.TrimSpace(value) == "":
		c.add(field, ReasonRequired, "is required")
	case utf8.RuneCountInString(value) > max:
		c.add(field, ReasonTooLong, "must be at most %d characters", max)
	case strings.ContainsRune(value, 0):
		c.add(field, ReasonInvalidFormat, "must not contain NUL characters")
	}
}

// date parses a YYYY-MM-DD field; empty is not a date (and not an error here).
func (c checker) date(field, value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, value)
	if err != nil {
		c.add(field, ReasonInvalidFormat, "must be a date YYYY-MM-DD")
		return time.Time{}, false
	}
	return t, true
}

func (c checker) url(field, value string) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(value) > MaxNotesLen {
		c.add(field, ReasonInvalidFormat, "must be an absolute http(s) URL")
	}
}

func (c checker) email(field, value string) {
	if a, err := mail.ParseAddress(value); err != nil || a.Address != value || len(value) > 254 {
		c.add(field, ReasonInvalidFormat, "must be a plain e-mail address such as cus@rawicz.pl")
	}
}

func (c checker) phone(f string, p *typev1.Phone) {
	if !phonePattern.MatchString(p.GetNumber()) {
		c.add(f+".number", ReasonInvalidFormat, "must be a telephone number of digits, spaces and + ( ) - /")
	}
	if p.GetExtension() != "" && !extPattern.MatchString(p.GetExtension()) {
		c.add(f+".extension", ReasonInvalidFormat, "must be 1 to 8 digits")
	}
	if t := p.GetType(); t != "" && !phoneTypes[t] {
		c.add(f+".type", ReasonInvalidValue, "must be one of text, voice, fax, cell, video, pager, textphone")
	}
	c.text(f+".description", p.GetDescription(), MaxShortLen, false)
}

func (c checker) address(f string, a *typev1.Address) {
	c.text(f+".address_1", a.GetAddress_1(), MaxShortLen, false)
	c.text(f+".address_2", a.GetAddress_2(), MaxShortLen, false)
	c.text(f+".city", a.GetCity(), MaxShortLen, false)
	c.text(f+".region", a.GetRegion(), MaxShortLen, false)
	country := a.GetCountry()
	if country != "" && !countryPattern.MatchString(country) {
		c.add(f+".country", ReasonInvalidFormat, "must be an ISO 3166-1 alpha-2 code such as PL")
	}
	if pc := a.GetPostalCode(); pc != "" && (country == "" || country == "PL") {
		if err := plid.ValidatePostalCode(pc); err != nil {
			c.v.addPLID(c.prefix+f+".postal_code", err)
		}
	}
}

// NormaliseProvider brings a provider to its stored form: identifiers in canonical form, default status,
// status_reason cleared when ACTIVE, country PL when an address is given without one.
func NormaliseProvider(p *providerv1.Provider) {
	p.Nip = plid.NormalizeNIP(p.GetNip())
	p.Regon = NormalizeREGON(p.GetRegon())
	p.Krs = NormalizeKRS(p.GetKrs())
	if p.GetStatus() == providerv1.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED {
		p.Status = providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE
	}
	if p.GetStatus() == providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE {
		p.StatusReason = ""
	}
	if a := p.GetAddress(); a != nil && a.GetCountry() == "" {
		a.Country = "PL"
	}
}

// ValidateProvider checks a provider as it would be stored (normalised, after masks), recording violations
// under prefix (e.g. "provider.").
func ValidateProvider(p *providerv1.Provider, prefix string, v *Violations) {
	c := checker{v: v, prefix: prefix}
	c.text("display_name", p.GetDisplayName(), MaxNameLen, true)
	c.text("legal_name", p.GetLegalName(), MaxLegalNameLen, false)
	c.text("description", p.GetDescription(), MaxDescriptionLen, false)
	kind := p.GetKind()
	rules, kindOK := KindRules[kind]
	switch {
	case kind == providerv1.ProviderKind_PROVIDER_KIND_UNSPECIFIED:
		c.add("kind", ReasonRequired, "is required: the legal form decides the identifiers needed")
	case !kindOK:
		c.add("kind", ReasonInvalidValue, "unknown kind %d", kind)
	}
	ids := []struct {
		field, value string
		validate     func(string) error
		need         Need
		label        string
	}{
		{"nip", p.GetNip(), plid.ValidateNIP, rules.NIP, "a NIP"},
		{"regon", p.GetRegon(), plid.ValidateREGON, rules.REGON, "a REGON"},
		{"krs", p.GetKrs(), plid.ValidateKRS, rules.KRS, "a KRS number"},
	}
	for _, id := range ids {
		switch {
		case id.value != "":
			if err := id.validate(id.value); err != nil {
				v.addPLID(prefix+id.field, err)
			} else if kindOK && id.need == Forbidden {
				c.add(id.field, ReasonNotAllowed, "must be empty for %s: %s", i18n.NewMsg(KindLabel(kind)), i18n.NewMsg(rules.KRSForbiddenWhy))
			}
		case kindOK && id.need == Required:
			c.add(id.field, ReasonRequiredForKind, "%s is required for %s", id.label, i18n.NewMsg(KindLabel(kind)))
		}
	}
	if a := p.GetAddress(); a != nil {
		c.address("address", a)
	}
	if code := p.GetTerytCode(); code != "" {
		if err := plid.ValidateTERC(code); err != nil {
			v.addPLID(prefix+"teryt_code", err)
		}
	}
	if len(p.GetPhones()) > MaxPhones {
		c.add("phones", ReasonTooLong, "at most %d phones", MaxPhones)
	}
	for i, ph := range p.GetPhones() {
		c.phone(fmt.Sprintf("phones[%d]", i), ph)
	}
	if e := p.GetEmail(); e != "" {
		c.email("email", e)
	}
	if w := p.GetWebsite(); w != "" {
		c.url("website", w)
	}
	if _, ok := providerv1.ProviderStatus_name[int32(p.GetStatus())]; !ok || p.GetStatus() == providerv1.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED {
		c.add("status", ReasonInvalidValue, "unknown status %d", p.GetStatus())
	} else if p.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE {
		c.text("status_reason", p.GetStatusReason(), MaxReasonLen, true)
	}
	if len(p.GetAccreditations()) > MaxAccreditations {
		c.add("accreditations", ReasonTooLong, "at most %d accreditations", MaxAccreditations)
	}
	for i, a := range p.GetAccreditations() {
		f := fmt.Sprintf("accreditations[%d]", i)
		c.text(f+".name", a.GetName(), MaxShortLen, true)
		c.text(f+".issuer", a.GetIssuer(), MaxShortLen, false)
		c.text(f+".reference", a.GetReference(), MaxReferenceLen, false)
		from, okFrom := c.date(f+".valid_from", a.GetValidFrom())
		until, okUntil := c.date(f+".valid_until", a.GetValidUntil())
		if okFrom && okUntil && until.Before(from) {
			c.add(f+".valid_until", ReasonInvalidValue, "must not be before valid_from")
		}
	}
}
