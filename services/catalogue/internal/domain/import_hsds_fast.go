package domain

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// parseHSDSFast reads a well-formed HSDS JSON export (a list of services, or a page object whose only
// "contents" key holds one) in one pass over the file, decoding each service into hsdsService by hand: what
// encoding/json does by reflection, after its scanner has found the value's end, took about a fifth of an
// import's CPU. It decodes exactly what json.Unmarshal would decode into the same structs
// (TestParseHSDSFastAgreesWithEncodingJSON, FuzzParseHSDSFast), and it gives up (ok false) on anything
// that is not plainly so: a syntax error, a value of the wrong type, a key that matches a field only without
// regard to case or is repeated, a key with escapes or outside ASCII, an element of the list that is not an
// object, nesting deeper than encoding/json accepts, more than MaxImportRows services. ParseHSDS then reads
// the file the way it did before, which reports the problem exactly as it did.
func parseHSDSFast(b []byte) ([]*ImportItem, bool) {
	services, ok := decodeHSDSFast(b)
	if !ok {
		return nil, false
	}
	items := make([]*ImportItem, len(services))
	for i, h := range services {
		items[i] = hsdsItemFrom(i+1, h, nil)
	}
	return items, true
}

// decodeHSDSFast is the decoding half of parseHSDSFast: the services of the file, as json.Unmarshal would
// decode them.
func decodeHSDSFast(b []byte) (services []*hsdsService, ok bool) {
	s := &hsdsScanner{b: b}
	s.ws()
	switch s.peek() {
	case '[':
		services, ok = s.list()
	case '{':
		s.i++
		found := false
		ok = s.members(func(key []byte) bool {
			if string(key) != "contents" {
				if asciiEqualFold(key, "contents") {
					return false // encoding/json would take it for contents
				}
				return s.skip(0)
			}
			if found {
				return false
			}
			found = true
			services, ok = s.list()
			return ok
		})
		ok = ok && found
	}
	if !ok {
		return nil, false
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, false // trailing data
	}
	return services, true
}

// hsdsScanner reads JSON from b at i. Every method returns false at the first thing it does not accept, and
// the whole parse is then abandoned.
type hsdsScanner struct {
	b []byte
	i int
}

// maxDepth bounds the nesting of the values skipped (unknown fields), far below encoding/json's limit
// (10,000 in all): a deeper file goes the other way, which judges it as before.
const maxDepth = 1000

func (s *hsdsScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *hsdsScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// next skips white space and reports whether the next byte is c, taking it if so.
func (s *hsdsScanner) next(c byte) bool {
	s.ws()
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// list reads a list of services.
func (s *hsdsScanner) list() ([]*hsdsService, bool) {
	if !s.next('[') {
		return nil, false
	}
	services := make([]*hsdsService, 0, 1024)
	if s.next(']') {
		return services, true
	}
	for {
		if len(services) == MaxImportRows {
			return nil, false
		}
		h := &hsdsService{}
		if !s.service(h) {
			return nil, false
		}
		services = append(services, h)
		if s.next(',') {
			continue
		}
		return services, s.next(']')
	}
}

// members reads the members of an object whose '{' was taken, calling member for each key (with the value
// after the colon still to read).
func (s *hsdsScanner) members(member func(key []byte) bool) bool {
	if s.next('}') {
		return true
	}
	for {
		s.ws()
		key, ok := s.key()
		if !ok || !s.next(':') {
			return false
		}
		s.ws()
		if !member(key) {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next('}')
	}
}

// key reads an object key: a string of printable ASCII without escapes (anything else gives up).
func (s *hsdsScanner) key() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			s.i = j + 1
			return s.b[start:j], true
		}
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return nil, false
		}
	}
	return nil, false
}

// object reads an object into a struct of fields names (in their order), calling field with the index of
// each known key; an unknown key's value is skipped. A repeated key, or one matching a name only without
// regard to case, gives up: encoding/json's answers to those are its own.
func (s *hsdsScanner) object(names []string, field func(k int) bool) bool {
	if !s.next('{') {
		return false
	}
	var seen uint64
	return s.members(func(key []byte) bool {
		for k, n := range names {
			if string(key) == n {
				if seen&(1<<k) != 0 {
					return false
				}
				seen |= 1 << k
				return field(k)
			}
		}
		for _, n := range names {
			if asciiEqualFold(key, n) {
				return false
			}
		}
		return s.skip(0)
	})
}

// null takes a null, reporting whether there was one.
func (s *hsdsScanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// str reads a string into dst; null leaves dst as it is (as encoding/json does).
func (s *hsdsScanner) str(dst *string) bool {
	if s.null() {
		return true
	}
	if s.peek() != '"' {
		return false
	}
	start := s.i
	plain := true
	j := start + 1
	for ; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return false
		}
		if c == '\\' {
			plain = false
			j++ // the escaped byte; what it means is checked by encoding/json below
		} else if c >= 0x80 {
			plain = false
		}
	}
	if j >= len(s.b) {
		return false
	}
	s.i = j + 1
	lit := s.b[start:s.i]
	if plain || (!containsByte(lit, '\\') && utf8.Valid(lit)) {
		*dst = string(lit[1 : len(lit)-1])
		return true
	}
	// Escapes or invalid UTF-8: encoding/json's own reading of the literal.
	return json.Unmarshal(lit, dst) == nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// num reads a number into *dst (a new float64); null sets it to nil.
func (s *hsdsScanner) num(dst **float64) bool {
	if s.null() {
		*dst = nil
		return true
	}
	start := s.i
	if !s.number() {
		return false
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		return false // out of range: encoding/json's UnmarshalTypeError
	}
	*dst = &f
	return true
}

// number takes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *hsdsScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	s.i = i
	return true
}

// array reads a list, calling elem for each element (at its first byte); null calls none and reports null.
// An empty list is reported as one (encoding/json makes an empty, not a nil, slice of it).
func (s *hsdsScanner) array(elem func() bool) (isNull, ok bool) {
	if s.null() {
		return true, true
	}
	if !s.next('[') {
		return false, false
	}
	if s.next(']') {
		return false, true
	}
	for {
		s.ws()
		if !elem() {
			return false, false
		}
		if s.next(',') {
			continue
		}
		return false, s.next(']')
	}
}

// skip takes any JSON value, checking its syntax, nested at most maxDepth deep.
func (s *hsdsScanner) skip(depth int) bool {
	if depth >= maxDepth {
		return false
	}
	switch s.peek() {
	case '"':
		var discard string
		return s.str(&discard)
	case '{':
		s.i++
		return s.members(func([]byte) bool { return s.skip(depth + 1) })
	case '[':
		_, ok := s.array(func() bool { return s.skip(depth + 1) })
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.null()
	default:
		return s.number()
	}
}

func (s *hsdsScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// asciiEqualFold is strings.EqualFold for an ASCII key (the only keys the scanner reads).
func asciiEqualFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range key {
		a, b := key[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// The decoders of each struct: the JSON names of its fields in order, and each field read by its index.

var hsdsServiceFields = []string{"id", "name", "alternate_name", "description", "url", "email", "status",
	"application_process", "eligibility_description", "fees_description", "minimum_age", "maximum_age", "phones",
	"service_at_locations", "cost_options", "languages", "attributes", "service_areas"}

func (s *hsdsScanner) service(h *hsdsService) bool {
	s.ws()
	return s.object(hsdsServiceFields, func(k int) bool {
		switch k {
		case 0:
			return s.str(&h.ID)
		case 1:
			return s.str(&h.Name)
		case 2:
			return s.str(&h.AlternateName)
		case 3:
			return s.str(&h.Description)
		case 4:
			return s.str(&h.URL)
		case 5:
			return s.str(&h.Email)
		case 6:
			return s.str(&h.Status)
		case 7:
			return s.str(&h.ApplicationProcess)
		case 8:
			return s.str(&h.EligibilityDescription)
		case 9:
			return s.str(&h.FeesDescription)
		case 10:
			return s.num(&h.MinimumAge)
		case 11:
			return s.num(&h.MaximumAge)
		case 12:
			return arrayOf(s, &h.Phones, (*hsdsScanner).phone)
		case 13:
			return arrayOf(s, &h.ServiceAtLocations, (*hsdsScanner).serviceAtLocation)
		case 14:
			return arrayOf(s, &h.CostOptions, (*hsdsScanner).costOption)
		case 15:
			return arrayOf(s, &h.Languages, (*hsdsScanner).language)
		case 16:
			return arrayOf(s, &h.Attributes, (*hsdsScanner).attribute)
		default:
			return arrayOf(s, &h.ServiceAreas, (*hsdsScanner).serviceArea)
		}
	})
}

// arrayOf reads a list of T into *dst with read: null sets it to nil, a list to a new slice (the field is
// never set twice: object gives up on a repeated key).
func arrayOf[T any](s *hsdsScanner, dst *[]T, read func(*hsdsScanner, *T) bool) bool {
	out := make([]T, 0)
	isNull, ok := s.array(func() bool {
		out = append(out, *new(T))
		return read(s, &out[len(out)-1])
	})
	if !ok {
		return false
	}
	if isNull {
		*dst = nil
	} else {
		*dst = out
	}
	return true
}

var hsdsPhoneFields = []string{"number", "extension", "type", "description"}

func (s *hsdsScanner) phone(p *hsdsPhone) bool {
	return s.object(hsdsPhoneFields, func(k int) bool {
		switch k {
		case 0:
			return s.str(&p.Number)
		case 1:
			return s.num(&p.Extension)
		case 2:
			return s.str(&p.Type)
		default:
			return s.str(&p.Description)
		}
	})
}

var hsdsLanguageFields = []string{"code"}

func (s *hsdsScanner) language(l *hsdsLanguage) bool {
	return s.object(hsdsLanguageFields, func(int) bool { return s.str(&l.Code) })
}

var hsdsAttributeFields = []string{"taxonomy_term_id", "taxonomy_term"}

func (s *hsdsScanner) attribute(a *hsdsAttribute) bool {
	return s.object(hsdsAttributeFields, func(k int) bool {
		if k == 0 {
			return s.str(&a.TaxonomyTermID)
		}
		if s.null() {
			a.TaxonomyTerm = nil
			return true
		}
		a.TaxonomyTerm = &hsdsTaxonomy{}
		return s.taxonomy(a.TaxonomyTerm)
	})
}

var hsdsTaxonomyFields = []string{"id", "code", "name", "term"}

func (s *hsdsScanner) taxonomy(t *hsdsTaxonomy) bool {
	return s.object(hsdsTaxonomyFields, func(k int) bool {
		switch k {
		case 0:
			return s.str(&t.ID)
		case 1:
			return s.str(&t.Code)
		case 2:
			return s.str(&t.Name)
		default:
			return s.str(&t.Term)
		}
	})
}

var hsdsServiceAreaFields = []string{"name", "description"}

func (s *hsdsScanner) serviceArea(a *hsdsServiceArea) bool {
	return s.object(hsdsServiceAreaFields, func(k int) bool {
		if k == 0 {
			return s.str(&a.Name)
		}
		return s.str(&a.Description)
	})
}

var hsdsServiceAtLocationFields = []string{"location", "schedules"}

func (s *hsdsScanner) serviceAtLocation(sal *hsdsServiceAtLocation) bool {
	return s.object(hsdsServiceAtLocationFields, func(k int) bool {
		if k == 1 {
			return arrayOf(s, &sal.Schedules, (*hsdsScanner).schedule)
		}
		if s.null() {
			sal.Location = nil
			return true
		}
		sal.Location = &hsdsLocation{}
		return s.location(sal.Location)
	})
}

var hsdsLocationFields = []string{"id", "name", "description", "latitude", "longitude", "addresses", "accessibility"}

func (s *hsdsScanner) location(l *hsdsLocation) bool {
	return s.object(hsdsLocationFields, func(k int) bool {
		switch k {
		case 0:
			return s.str(&l.ID)
		case 1:
			return s.str(&l.Name)
		case 2:
			return s.str(&l.Description)
		case 3:
			return s.num(&l.Latitude)
		case 4:
			return s.num(&l.Longitude)
		case 5:
			return arrayOf(s, &l.Addresses, (*hsdsScanner).address)
		default:
			return arrayOf(s, &l.Accessibility, (*hsdsScanner).accessibility)
		}
	})
}

var hsdsAddressFields = []string{"address_1", "address_2", "city", "region", "state_province", "postal_code", "country", "address_type"}

func (s *hsdsScanner) address(a *hsdsAddress) bool {
	return s.object(hsdsAddressFields, func(k int) bool {
		return s.str([]*string{&a.Address1, &a.Address2, &a.City, &a.Region, &a.State, &a.PostalCode, &a.Country, &a.AddressType}[k])
	})
}

var hsdsAccessibilityFields = []string{"description", "details", "url"}

func (s *hsdsScanner) accessibility(a *hsdsAccessibility) bool {
	return s.object(hsdsAccessibilityFields, func(k int) bool {
		return s.str([]*string{&a.Description, &a.Details, &a.URL}[k])
	})
}

var hsdsScheduleFields = []string{"freq", "byday", "opens_at", "closes_at", "notes"}

func (s *hsdsScanner) schedule(sc *hsdsSchedule) bool {
	return s.object(hsdsScheduleFields, func(k int) bool {
		return s.str([]*string{&sc.Freq, &sc.Byday, &sc.OpensAt, &sc.ClosesAt, &sc.Notes}[k])
	})
}

var hsdsCostOptionFields = []string{"option", "amount", "currency", "amount_description"}

func (s *hsdsScanner) costOption(c *hsdsCostOption) bool {
	return s.object(hsdsCostOptionFields, func(k int) bool {
		if k == 1 {
			return s.num(&c.Amount)
		}
		return s.str([]*string{&c.Option, nil, &c.Currency, &c.AmountDescription}[k])
	})
}
