package demo

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	postalRE = regexp.MustCompile(`^\d{2}-\d{3}$`)
	phoneRE  = regexp.MustCompile(`^\+48 \d{2} \d{3} \d{2} \d{2}$`)
	langRE   = regexp.MustCompile(`^[a-z]{2}$`)
	digitsRE = regexp.MustCompile(`^\d+$`)
	pesel    = regexp.MustCompile(`(^|\D)\d{11}(\D|$)`)
)

// validTERC checks the structure of a 7-digit gmina TERC code: even voivodeship 02-32, powiat 01-99,
// gmina 01-99, type digit 1-5.
func validTERC(c string) bool {
	if len(c) != 7 || !digitsRE.MatchString(c) {
		return false
	}
	w := int(c[0]-'0')*10 + int(c[1]-'0')
	p := int(c[2]-'0')*10 + int(c[3]-'0')
	g := int(c[4]-'0')*10 + int(c[5]-'0')
	t := int(c[6] - '0')
	return w >= 2 && w <= 32 && w%2 == 0 && p >= 1 && g >= 1 && t >= 1 && t <= 5
}

// validPowiat checks a 4-digit powiat code.
func validPowiat(c string) bool {
	return len(c) == 4 && validTERC(c+"011")
}

// parseHHMM returns minutes since midnight; "24:00" only when allow24.
func parseHHMM(s string, allow24 bool) (int, error) {
	if s == "24:00" {
		if allow24 {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("24:00 not allowed here")
	}
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

type bbox struct{ minLat, maxLat, minLng, maxLng float64 }

var (
	poland = bbox{PolandMinLatitude, PolandMaxLatitude, PolandMinLongitude, PolandMaxLongitude}
	// Gmina Rawicz with its villages.
	rawiczBox = bbox{51.52, 51.70, 16.72, 17.00}
)

// checkService returns every rule the service breaks, the rules of CreateService as the API contract states them.
func checkService(id string, s *cataloguev1.Service, box bbox) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if !uuidRE.MatchString(id) {
		bad("id %q is not a version-7 UUID", id)
	}
	if s.GetName() != "" || s.GetEtag() != "" || s.GetCreateTime() != nil || s.GetUpdateTime() != nil || s.GetOriginTerc() != "" {
		bad("server-set fields are set")
	}
	if n := utf8.RuneCountInString(s.GetDisplayName()); n < 1 || n > 200 {
		bad("displayName has %d characters", n)
	}
	if utf8.RuneCountInString(s.GetDescription()) > 10000 {
		bad("description too long")
	}
	if st := s.GetStatus(); st < 0 || st > cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED {
		bad("status %v", st)
	}
	if u, err := url.Parse(s.GetUrl()); s.GetUrl() != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		bad("url %q", s.GetUrl())
	}
	if s.GetEmail() != "" {
		if _, err := mail.ParseAddress(s.GetEmail()); err != nil {
			bad("email %q: %v", s.GetEmail(), err)
		}
	}
	if len(s.GetPhones()) > 10 {
		bad("too many phones")
	}
	for _, p := range s.GetPhones() {
		if !phoneRE.MatchString(p.GetNumber()) {
			bad("phone %q", p.GetNumber())
		}
	}
	if s.MinimumAge != nil && s.GetMinimumAge() < 0 {
		bad("minimumAge < 0")
	}
	if s.MinimumAge != nil && s.MaximumAge != nil && s.GetMinimumAge() > s.GetMaximumAge() {
		bad("minimumAge > maximumAge")
	}
	if len(s.GetLanguages()) == 0 {
		bad("no languages")
	}
	for _, l := range s.GetLanguages() {
		if !langRE.MatchString(l) {
			bad("language %q", l)
		}
	}
	for _, a := range s.GetServiceAreas() {
		if a.GetName() == "" {
			bad("service area without name")
		}
		if c := a.GetTerytCode(); c != "" && !validTERC(c) && !validPowiat(c) {
			bad("service area code %q", c)
		}
	}
	if len(s.GetAreas()) == 0 {
		bad("no areas")
	}
	seenArea := map[cataloguev1.Area]bool{}
	for _, a := range s.GetAreas() {
		if a < cataloguev1.Area_AREA_FAMILY_POLICY || a > cataloguev1.Area_AREA_REINTEGRATION {
			bad("area %v", a)
		}
		if seenArea[a] {
			bad("area %v twice", a)
		}
		seenArea[a] = true
	}
	for _, g := range s.GetTargetGroups() {
		if g < cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3 || g > cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS {
			bad("target group %v", g)
		}
	}
	if len(s.GetProviders()) != 0 {
		bad("providers set")
	}
	if n := len(s.GetLocations()); n == 0 || n > 50 {
		bad("%d locations", n)
	}
	for _, l := range s.GetLocations() {
		if l.GetId() != "" && !uuidRE.MatchString(l.GetId()) {
			bad("location id %q", l.GetId())
		}
		if !validTERC(l.GetTerytCode()) {
			bad("location TERC %q", l.GetTerytCode())
		}
		a := l.GetAddress()
		if a == nil || a.GetAddress_1() == "" || a.GetCity() == "" || a.GetRegion() == "" || a.GetCountry() != "PL" {
			bad("location address %v", a)
		}
		if !postalRE.MatchString(a.GetPostalCode()) {
			bad("postal code %q", a.GetPostalCode())
		}
		c := l.GetCoordinates()
		if c == nil || c.GetLatitude() < box.minLat || c.GetLatitude() > box.maxLat || c.GetLongitude() < box.minLng || c.GetLongitude() > box.maxLng {
			bad("coordinates %v outside %v", c, box)
		}
		if l.GetAccessibility().GetDescription() == "" {
			bad("no accessibility description")
		}
		if len(l.GetOpeningHours()) == 0 {
			bad("no opening hours")
		}
		for _, h := range l.GetOpeningHours() {
			if h.GetDay() < cataloguev1.Weekday_WEEKDAY_MONDAY || h.GetDay() > cataloguev1.Weekday_WEEKDAY_SUNDAY {
				bad("weekday %v", h.GetDay())
			}
			o, err1 := parseHHMM(h.GetOpensAt(), false)
			c, err2 := parseHHMM(h.GetClosesAt(), true)
			if err1 != nil || err2 != nil || c <= o {
				bad("opening hours %s-%s", h.GetOpensAt(), h.GetClosesAt())
			}
		}
	}
	if f := s.GetFee(); f != nil {
		if f.GetPriceGrosze() < 0 {
			bad("negative price")
		}
		if f.GetPriceGrosze() > 0 && f.GetUnit() == cataloguev1.FeeUnit_FEE_UNIT_UNSPECIFIED {
			bad("price without unit")
		}
		if f.GetCurrency() != "" && f.GetCurrency() != "PLN" {
			bad("currency %q", f.GetCurrency())
		}
		if lb := f.GetLegalBasis(); lb != nil {
			if lb.GetNumber() == "" {
				bad("resolution without number")
			}
			if _, err := time.Parse(time.DateOnly, lb.GetAdoptedOn()); err != nil {
				bad("resolution date %q", lb.GetAdoptedOn())
			}
		}
		bands := f.GetIncomeBands()
		for j, b := range bands {
			if j == 0 && b.GetFromPercent() != 0 {
				bad("first band starts at %d", b.GetFromPercent())
			}
			if b.GetPayablePercent() < 0 || b.GetPayablePercent() > 100 {
				bad("payable %d", b.GetPayablePercent())
			}
			if j == len(bands)-1 {
				if b.ToPercent != nil {
					bad("last band is closed")
				}
				continue
			}
			if b.ToPercent == nil {
				bad("band %d is open but not last", j)
				continue
			}
			if b.GetToPercent() <= b.GetFromPercent() {
				bad("band %d is empty", j)
			}
			if bands[j+1].GetFromPercent() != b.GetToPercent() {
				bad("bands %d and %d are not contiguous", j, j+1)
			}
		}
		if f.GetDescription() == "" {
			bad("fee without description")
		}
	}
	return errs
}

func TestRawicz(t *testing.T) {
	services, programmes, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	if len(services) < 44 {
		t.Fatalf("got %d services, want at least 44", len(services))
	}
	if got := services[0].GetServiceId(); got != RawiczFirstServiceID {
		t.Errorf("first service id = %q, want %q", got, RawiczFirstServiceID)
	}
	if !strings.Contains(services[0].GetService().GetDisplayName(), "Żłobek") {
		t.Errorf("first service is %q, want the nursery", services[0].GetService().GetDisplayName())
	}

	ids := map[string]bool{}
	locIDs := map[string]bool{}
	perArea := map[cataloguev1.Area]int{}
	statuses := map[cataloguev1.ServiceStatus]int{}
	withFee, withDecision := 0, 0
	for _, req := range services {
		id, s := req.GetServiceId(), req.GetService()
		if ids[id] {
			t.Errorf("duplicate service id %s", id)
		}
		ids[id] = true
		for _, e := range checkService(id, s, rawiczBox) {
			t.Errorf("%s (%s): %s", id, s.GetDisplayName(), e)
		}
		for _, a := range s.GetAreas() {
			perArea[a]++
		}
		statuses[s.GetStatus()]++
		if s.GetFee().GetPriceGrosze() > 0 {
			withFee++
		}
		if s.GetRequiresDecision() {
			withDecision++
		}
		if !strings.HasPrefix(s.GetUrl(), "https://cus.rawicz.example/") || !strings.HasSuffix(s.GetEmail(), "@cus.rawicz.example") {
			t.Errorf("%s: url %q / email %q outside the demo domain", id, s.GetUrl(), s.GetEmail())
		}
		for _, p := range s.GetPhones() {
			if !strings.HasPrefix(p.GetNumber(), "+48 65 5") {
				t.Errorf("%s: phone %q is not a Rawicz number", id, p.GetNumber())
			}
		}
		if len(s.GetServiceAreas()) == 0 || s.GetServiceAreas()[0].GetTerytCode() != RawiczTERC {
			t.Errorf("%s: first service area is not Gmina Rawicz", id)
		}
		for _, l := range s.GetLocations() {
			if l.GetTerytCode() != RawiczTERC {
				t.Errorf("%s: location in %s", id, l.GetTerytCode())
			}
			if l.GetId() == "" || locIDs[l.GetId()] {
				t.Errorf("%s: missing or duplicate location id %q", id, l.GetId())
			}
			locIDs[l.GetId()] = true
		}
	}
	for a := cataloguev1.Area_AREA_FAMILY_POLICY; a <= cataloguev1.Area_AREA_REINTEGRATION; a++ {
		if perArea[a] < 2 {
			t.Errorf("area %v has %d services, want at least 2", a, perArea[a])
		}
		t.Logf("%-24v %d", a, perArea[a])
	}
	if statuses[cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE] < len(services)*3/4 || len(statuses) < 3 {
		t.Errorf("status mix %v: want mostly ACTIVE with a few others", statuses)
	}
	if withFee < len(services)/3 || withFee > len(services)*2/3 {
		t.Errorf("%d of %d services have a fee, want about half", withFee, len(services))
	}
	if withDecision == 0 {
		t.Error("no service requires a decision")
	}
	t.Logf("%d services, %d with a fee, %d requiring a decision, %d programmes", len(services), withFee, withDecision, len(programmes))

	if len(programmes) == 0 {
		t.Fatal("no programmes")
	}
	progIDs := map[string]bool{}
	for _, req := range programmes {
		id, p := req.GetProgrammeId(), req.GetProgramme()
		if !uuidRE.MatchString(id) || progIDs[id] || ids[id] {
			t.Errorf("programme id %q invalid or duplicate", id)
		}
		progIDs[id] = true
		if p.GetName() != "" || p.GetEtag() != "" || p.GetCreateTime() != nil || p.GetOriginTerc() != "" {
			t.Errorf("programme %s: server-set fields are set", id)
		}
		if n := utf8.RuneCountInString(p.GetDisplayName()); n < 1 || n > 300 {
			t.Errorf("programme %s: displayName length %d", id, n)
		}
		start, err1 := time.Parse(time.DateOnly, p.GetStartDate())
		end, err2 := time.Parse(time.DateOnly, p.GetEndDate())
		if err1 != nil || err2 != nil || end.Before(start) {
			t.Errorf("programme %s: period %s..%s", id, p.GetStartDate(), p.GetEndDate())
		}
		if _, err := time.Parse(time.DateOnly, p.GetResolution().GetAdoptedOn()); err != nil || p.GetResolution().GetNumber() == "" {
			t.Errorf("programme %s: resolution %v", id, p.GetResolution())
		}
		if p.GetAccessCriteria() == "" || p.GetFeeDescription() == "" || len(p.GetServices()) == 0 {
			t.Errorf("programme %s: missing access criteria, fees or services", id)
		}
		seen := map[string]bool{}
		for _, name := range p.GetServices() {
			sid, ok := strings.CutPrefix(name, "services/")
			if !ok || !ids[sid] {
				t.Errorf("programme %s refers to unknown service %q", id, name)
			}
			if seen[name] {
				t.Errorf("programme %s lists %q twice", id, name)
			}
			seen[name] = true
		}
	}
}

// TestRawiczFresh checks that every call decodes anew, so callers may mutate the result.
func TestRawiczFresh(t *testing.T) {
	a, _, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	a[0].Service.DisplayName = "changed"
	b, _, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	if b[0].GetService().GetDisplayName() == "changed" {
		t.Error("Rawicz returned shared data")
	}
}

// TestRawiczRoundTrip checks the embedded JSON is canonical enough to survive protojson and carries no PESEL-like
// numbers.
func TestRawiczRoundTrip(t *testing.T) {
	if m := pesel.Find(rawiczJSON); m != nil {
		t.Errorf("rawicz.json contains an 11-digit number %q", m)
	}
	services, programmes, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range services {
		out, err := protojson.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back := &cataloguev1.CreateServiceRequest{}
		if err := protojson.Unmarshal(out, back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(req, back) {
			t.Errorf("%s does not round-trip", req.GetServiceId())
		}
	}
	for _, req := range programmes {
		if _, err := protojson.Marshal(req); err != nil {
			t.Fatal(err)
		}
	}
}

func collect(t testing.TB, opts SyntheticOptions, limit int) (ids []string, svcs []*cataloguev1.Service) {
	t.Helper()
	stop := fmt.Errorf("stop")
	err := Synthetic(opts, func(id string, s *cataloguev1.Service) error {
		ids = append(ids, id)
		svcs = append(svcs, s)
		if limit > 0 && len(ids) == limit {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		t.Fatal(err)
	}
	return ids, svcs
}

func TestSyntheticDeterministic(t *testing.T) {
	opts := SyntheticOptions{Services: 1000, Gminas: 30, Seed: 42}
	ids1, s1 := collect(t, opts, 100)
	// A different total must not change the first items.
	ids2, s2 := collect(t, SyntheticOptions{Services: 100, Gminas: 30, Seed: 42}, 0)
	if len(ids1) != 100 || len(ids2) != 100 {
		t.Fatalf("got %d and %d items", len(ids1), len(ids2))
	}
	for i := range ids1 {
		if ids1[i] != ids2[i] || !proto.Equal(s1[i], s2[i]) {
			t.Fatalf("item %d differs between runs with the same seed", i)
		}
	}
	ids3, _ := collect(t, SyntheticOptions{Services: 100, Gminas: 30, Seed: 43}, 0)
	same := 0
	for i := range ids3 {
		if ids3[i] == ids1[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d ids shared between seeds 42 and 43", same)
	}
}

func TestSyntheticCountAndValidity(t *testing.T) {
	const n = 5000
	opts := SyntheticOptions{Services: n, Gminas: 120, Seed: 7}
	ids, svcs := collect(t, opts, 0)
	if len(ids) != n {
		t.Fatalf("got %d services, want %d", len(ids), n)
	}
	seen := make(map[string]bool, n)
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}

	// Validate a sample of 2,000 spread over the run.
	perArea := map[cataloguev1.Area]int{}
	gminas := map[string]bool{}
	folded, withFee := 0, 0
	type span struct{ minLat, maxLat, minLng, maxLng float64 }
	spans := map[string]*span{}
	words := map[string]bool{}
	locIDs := map[string]bool{}
	for i := 0; i < n; i += n / 2000 {
		id, s := ids[i], svcs[i]
		for _, e := range checkService(id, s, poland) {
			t.Errorf("%d %s (%s): %s", i, id, s.GetDisplayName(), e)
		}
		for _, a := range s.GetAreas() {
			perArea[a]++
		}
		if s.GetFee() != nil {
			withFee++
		}
		if !strings.ContainsAny(s.GetDescription(), "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ") {
			folded++
		}
		for _, w := range strings.FieldsFunc(s.GetDescription(), func(r rune) bool {
			return strings.ContainsRune(" ,.„”–:()", r)
		}) {
			words[strings.ToLower(w)] = true
		}
		for _, l := range s.GetLocations() {
			if locIDs[l.GetId()] || seen[l.GetId()] {
				t.Errorf("duplicate location id %s", l.GetId())
			}
			locIDs[l.GetId()] = true
			c := l.GetTerytCode()
			gminas[c] = true
			p := l.GetCoordinates()
			sp := spans[c]
			if sp == nil {
				sp = &span{p.GetLatitude(), p.GetLatitude(), p.GetLongitude(), p.GetLongitude()}
				spans[c] = sp
			}
			sp.minLat, sp.maxLat = min(sp.minLat, p.GetLatitude()), max(sp.maxLat, p.GetLatitude())
			sp.minLng, sp.maxLng = min(sp.minLng, p.GetLongitude()), max(sp.maxLng, p.GetLongitude())
		}
		if s.GetServiceAreas()[0].GetTerytCode() != s.GetLocations()[0].GetTerytCode() {
			t.Errorf("%s: service area and location in different gminas", id)
		}
	}
	for a := cataloguev1.Area_AREA_FAMILY_POLICY; a <= cataloguev1.Area_AREA_REINTEGRATION; a++ {
		if perArea[a] == 0 {
			t.Errorf("no sampled service in %v", a)
		}
	}
	for c, sp := range spans {
		// Locations of one gmina stay within a few kilometres of its centre.
		if sp.maxLat-sp.minLat > 0.081 || sp.maxLng-sp.minLng > 0.121 {
			t.Errorf("gmina %s spans %.3f° x %.3f°", c, sp.maxLat-sp.minLat, sp.maxLng-sp.minLng)
		}
	}
	if len(gminas) < 60 {
		t.Errorf("sample covers only %d gminas", len(gminas))
	}
	if folded == 0 || folded > 400 {
		t.Errorf("%d of 2000 descriptions without diacritics, want some but few", folded)
	}
	if withFee < 400 || withFee > 1600 {
		t.Errorf("%d of 2000 sampled services have a fee", withFee)
	}
	// Real words of the trade, not invented ones: fewer distinct words than the harsh profile's lexicon, but not
	// a handful of templates either.
	if len(words) < 2000 {
		t.Errorf("vocabulary of the sample is only %d words", len(words))
	}
	t.Logf("sample: %d gminas, %d with fee, %d folded, %d distinct words", len(gminas), withFee, folded, len(words))
}

func TestSyntheticOptions(t *testing.T) {
	if err := Synthetic(SyntheticOptions{Services: -1}, func(string, *cataloguev1.Service) error { return nil }); err == nil {
		t.Error("negative count accepted")
	}
	if err := Synthetic(SyntheticOptions{Services: 1, Gminas: MaxSyntheticGminas + 1}, func(string, *cataloguev1.Service) error { return nil }); err == nil {
		t.Error("too many gminas accepted")
	}
	// Gminas 0 picks a default; many gminas still yield unique, valid TERC codes.
	ids, svcs := collect(t, SyntheticOptions{Services: 200, Seed: 1}, 0)
	if len(ids) != 200 {
		t.Fatalf("got %d", len(ids))
	}
	for i, s := range svcs {
		for _, e := range checkService(ids[i], s, poland) {
			t.Error(e)
		}
	}
	_, svcs = collect(t, SyntheticOptions{Services: 300, Gminas: 30000, Seed: 2}, 0)
	for _, s := range svcs {
		if !validTERC(s.GetLocations()[0].GetTerytCode()) {
			t.Errorf("TERC %q", s.GetLocations()[0].GetTerytCode())
		}
	}
}

func TestValidTERC(t *testing.T) {
	for c, want := range map[string]bool{
		RawiczTERC: true, "3006023": true, "2472011": true, "1209033": true,
		"3122053": false, "3422053": false, "0022053": false, "3000053": false, "3022003": false,
		"3022056": false, "3022050": false, "302205": false, "30220533": false, "30a2053": false,
	} {
		if got := validTERC(c); got != want {
			t.Errorf("validTERC(%q) = %v, want %v", c, got, want)
		}
	}
}

func BenchmarkSynthetic100k(b *testing.B) {
	for b.Loop() {
		n := 0
		err := Synthetic(SyntheticOptions{Services: 100_000, Gminas: 2477, Seed: 1}, func(string, *cataloguev1.Service) error {
			n++
			return nil
		})
		if err != nil || n != 100_000 {
			b.Fatal(err, n)
		}
	}
}

// TestCheckServiceRejects makes sure the validator used above does catch broken entries.
func TestCheckServiceRejects(t *testing.T) {
	services, _, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	breakers := map[string]func(s *cataloguev1.Service){
		"etag":       func(s *cataloguev1.Service) { s.Etag = "x" },
		"no areas":   func(s *cataloguev1.Service) { s.Areas = nil },
		"postal":     func(s *cataloguev1.Service) { s.Locations[0].Address.PostalCode = "63900" },
		"terc":       func(s *cataloguev1.Service) { s.Locations[0].TerytCode = "3022059" },
		"hours":      func(s *cataloguev1.Service) { s.Locations[0].OpeningHours[0].ClosesAt = "05:00" },
		"24 opens":   func(s *cataloguev1.Service) { s.Locations[0].OpeningHours[0].OpensAt = "24:00" },
		"coordinate": func(s *cataloguev1.Service) { s.Locations[0].Coordinates.Latitude = 52.2 },
		"band gap":   func(s *cataloguev1.Service) { s.Fee.IncomeBands[1].FromPercent++ },
		"band start": func(s *cataloguev1.Service) { s.Fee.IncomeBands[0].FromPercent = 10 },
		"band last": func(s *cataloguev1.Service) {
			v := int32(999)
			s.Fee.IncomeBands[len(s.Fee.IncomeBands)-1].ToPercent = &v
		},
		"payable": func(s *cataloguev1.Service) { s.Fee.IncomeBands[0].PayablePercent = 101 },
	}
	for name, breakIt := range breakers {
		s := proto.Clone(services[0].GetService()).(*cataloguev1.Service)
		breakIt(s)
		if errs := checkService(services[0].GetServiceId(), s, rawiczBox); len(errs) == 0 {
			t.Errorf("%s: broken service accepted", name)
		}
	}
	if errs := checkService("0194c050-3022-4053-8000-000000000001", services[0].GetService(), rawiczBox); len(errs) == 0 {
		t.Error("version-4 id accepted")
	}
}

func TestJarocinIsADifferentValidCatalogue(t *testing.T) {
	services, err := Jarocin()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := Rawicz()
	if len(services) < 20 || len(services) >= len(raw) {
		t.Fatalf("Jarocin has %d services", len(services))
	}
	ids := map[string]bool{}
	for _, r := range raw {
		ids[r.GetServiceId()] = true
	}
	for _, s := range services {
		if ids[s.GetServiceId()] {
			t.Fatalf("id %s is shared with Rawicz", s.GetServiceId())
		}
		for _, l := range s.GetService().GetLocations() {
			if l.GetTerytCode() != JarocinTERC || l.GetAddress().GetCity() != "Jarocin" {
				t.Fatalf("location not moved: %v", l)
			}
		}
		if strings.Contains(s.GetService().GetDisplayName(), "Rawicz") {
			t.Fatalf("name still says Rawicz: %s", s.GetService().GetDisplayName())
		}
	}
}
