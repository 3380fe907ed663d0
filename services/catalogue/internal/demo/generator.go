package demo

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// SyntheticOptions configures Synthetic.
type SyntheticOptions struct {
	// Services is the number of services to produce, 0 or more.
	Services int
	// Gminas is the number of gminas (CUS instances) the services are spread over, at most MaxSyntheticGminas.
	// 0 or less means one gmina per 40 services, at least one.
	Gminas int
	// Seed makes the output deterministic: the same seed, Gminas and Profile give the same services in the same
	// order, and the first k services do not depend on Services.
	Seed int64
	// Profile is ProfileRealistic (also "") or ProfileHarsh.
	Profile string
}

// Validate says what is wrong with the options, if anything.
func (opts SyntheticOptions) Validate() error {
	if opts.Services < 0 {
		return errors.New("demo: SyntheticOptions.Services must not be negative")
	}
	if opts.Gminas > MaxSyntheticGminas {
		return fmt.Errorf("demo: SyntheticOptions.Gminas must be at most %d", MaxSyntheticGminas)
	}
	switch opts.Profile {
	case "", ProfileRealistic, ProfileHarsh:
		return nil
	}
	return fmt.Errorf("demo: unknown SyntheticOptions.Profile %q (want %q or %q)", opts.Profile, ProfileRealistic, ProfileHarsh)
}

// MaxSyntheticGminas is the largest SyntheticOptions.Gminas accepted.
const MaxSyntheticGminas = 50_000

// Bounding box of Poland, used to keep synthetic coordinates plausible.
const (
	PolandMinLatitude  = 49.00
	PolandMaxLatitude  = 54.84
	PolandMinLongitude = 14.12
	PolandMaxLongitude = 24.15
)

// Synthetic produces n services spread over gminas (each with a plausible 7-digit TERC code with valid structure:
// even voivodeship 02-32, powiat 01-99, gmina 01-99, type digit 1-5), deterministic for a seed.
//
// The default profile (ProfileRealistic) writes the text of a real national catalogue: kinds of services as
// common as they are in Poland, each common word in 2-15% of the services, about 1 KB of text per service,
// gminas spread over the voivodeships as the real 2,477 are (Gminas 0 means one per 40 services, at most
// NationalGminas), cities drawing more services than villages, 1 to 4 locations per service. ProfileHarsh is
// the earlier generator (a few templates and invented words; 1 or 2 locations), kept for comparable figures.
//
// Every service is freshly allocated and passed to fn with its id (a UUID in version 7 format, unique within one
// run and derived from the seed); fn may keep it. A service is valid for CreateService: it has at least one area,
// valid target groups, locations in its gmina (TERC, postal code NN-NNN, coordinates within a few kilometres of
// the gmina's centre and inside Poland), valid opening hours and, when it has a fee, valid income bands.
// Output-only fields (name, origin_terc, times, etag) are left empty. Synthetic stops at and returns the first
// error fn returns.
func Synthetic(opts SyntheticOptions, fn func(id string, s *cataloguev1.Service) error) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if fn == nil {
		return errors.New("demo: Synthetic needs a callback")
	}
	harsh := opts.Profile == ProfileHarsh
	nGminas := opts.Gminas
	if nGminas <= 0 {
		nGminas = max(1, opts.Services/40)
		if !harsh {
			nGminas = min(nGminas, NationalGminas)
		}
	}
	g := newGenerator(opts.Seed, nGminas, harsh)
	var idBuf [36]byte
	for i := range opts.Services {
		ts := g.baseMs + uint64(i)*16 + g.r.Uint64N(16)
		id := g.uuid7(&idBuf, ts)
		var s *cataloguev1.Service
		if harsh {
			s = g.service(i, ts)
		} else {
			s = g.realService(i, ts)
		}
		if err := fn(id, s); err != nil {
			return err
		}
	}
	return nil
}

type gmina struct {
	terc       string
	name       string // e.g. "Brzezowice"
	areaName   string // "Gmina Brzezowice" or "Miasto Brzezowice"
	powiat     string // 4-digit code
	powiatName string
	region     string
	postal     string
	phoneArea  string
	slug       string
	lat, lng   float64
	villages   []string
}

type generator struct {
	r       *rand.Rand
	baseMs  uint64
	gminas  []gmina
	lexicon []string   // harsh profile: invented words, Zipf-like sampling
	real    *realistic // realistic profile
	b       strings.Builder
}

const lexiconSize = 20_000

var foldReplacer = strings.NewReplacer(
	"ą", "a", "ć", "c", "ę", "e", "ł", "l", "ń", "n", "ó", "o", "ś", "s", "ź", "z", "ż", "z",
	"Ą", "A", "Ć", "C", "Ę", "E", "Ł", "L", "Ń", "N", "Ó", "O", "Ś", "S", "Ź", "Z", "Ż", "Z",
)

// fold removes Polish diacritics, as residents often type.
func fold(s string) string { return foldReplacer.Replace(s) }

func slugify(s string) string {
	s = strings.ToLower(fold(s))
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func newGenerator(seed int64, nGminas int, harsh bool) *generator {
	s := uint64(seed)
	g := &generator{
		r: rand.New(rand.NewPCG(s, 0x5851f42d4c957f2d)),
		// Timestamps start in 2025, shifted by up to a year depending on the seed.
		baseMs: 1735689600000 + s%31_536_000_000,
	}
	if !harsh {
		gminas, weights := makeRealGminas(rand.New(rand.NewPCG(s, 0x9e3779b97f4a7c15)), nGminas)
		g.gminas = gminas
		g.real = newRealistic(gminas, weights)
		return g
	}
	lr := rand.New(rand.NewPCG(s, 0x2545f4914f6cdd1d))
	g.lexicon = make([]string, lexiconSize)
	seen := make(map[string]bool, lexiconSize)
	for i := 0; i < lexiconSize; {
		w := inventWord(lr, 2+lr.IntN(3))
		if seen[w] {
			continue
		}
		seen[w] = true
		g.lexicon[i] = w
		i++
	}
	g.gminas = makeGminas(rand.New(rand.NewPCG(s, 0x9e3779b97f4a7c15)), nGminas)
	return g
}

func inventWord(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return b.String()
}

func makeGminas(r *rand.Rand, n int) []gmina {
	out := make([]gmina, 0, n)
	used := make(map[string]bool, n)
	names := make(map[string]int, n)
	maxP, maxG := 40, 30
	if n > 20_000 {
		maxP, maxG = 99, 99
	}
	for len(out) < n {
		v := &voivodeships[r.IntN(len(voivodeships))]
		p, gm, t := 1+r.IntN(maxP), 1+r.IntN(maxG), 1+r.IntN(5)
		terc := fmt.Sprintf("%02d%02d%02d%d", v.code, p, gm, t)
		if used[terc] {
			continue
		}
		used[terc] = true
		root := gminaRoots[r.IntN(len(gminaRoots))]
		name := root + gminaSuffixes[r.IntN(len(gminaSuffixes))]
		if r.IntN(4) == 0 {
			name = root + syllables[r.IntN(len(syllables))] + gminaSuffixes[r.IntN(len(gminaSuffixes))]
		}
		names[name]++
		if k := names[name]; k > 1 {
			// Real Poland has many same-named gminas; keep names distinguishable anyway.
			name += " " + []string{"Wielkie", "Małe", "Nowe", "Stare", "Górne", "Dolne"}[k%6]
		}
		areaName := "Gmina " + name
		if t == 1 {
			areaName = "Miasto " + name
		}
		lat := clamp(v.lat+(r.Float64()*2-1)*v.dlat, PolandMinLatitude+0.2, PolandMaxLatitude-0.2)
		lng := clamp(v.lng+(r.Float64()*2-1)*v.dlng, PolandMinLongitude+0.2, PolandMaxLongitude-0.2)
		villages := make([]string, 2+r.IntN(5))
		for j := range villages {
			villages[j] = villagePrefixes[r.IntN(len(villagePrefixes))] +
				gminaRoots[r.IntN(len(gminaRoots))] + gminaSuffixes[r.IntN(len(gminaSuffixes))]
		}
		out = append(out, gmina{
			terc:       terc,
			name:       name,
			areaName:   areaName,
			powiat:     terc[:4],
			powiatName: "Powiat " + strings.ToLower(root) + "ski",
			region:     v.name,
			postal:     fmt.Sprintf("%c%d-%03d", v.postalFirst, r.IntN(10), r.IntN(1000)),
			phoneArea:  v.phoneAreas[r.IntN(len(v.phoneAreas))],
			slug:       slugify(name),
			lat:        lat,
			lng:        lng,
			villages:   villages,
		})
	}
	return out
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

const hexDigits = "0123456789abcdef"

// uuid7 formats a version-7 UUID with the given millisecond timestamp and random bits from the generator.
func (g *generator) uuid7(buf *[36]byte, ts uint64) string {
	var u [16]byte
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ts>>40), byte(ts>>32), byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	a, b := g.r.Uint64(), g.r.Uint64()
	for i := range 2 {
		u[6+i] = byte(a >> (8 * i))
	}
	for i := range 8 {
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
	return string(buf[:])
}

func (g *generator) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// word returns an invented word, frequent ones more often (roughly Zipf-like).
func (g *generator) word() string {
	u := g.r.Float64()
	return g.lexicon[int(u*u*u*lexiconSize)]
}

var hhmm = func() [49]string {
	var t [49]string
	for i := range t {
		t[i] = fmt.Sprintf("%02d:%02d", i/2, i%2*30)
	}
	return t
}()

var statusWeights = []cataloguev1.ServiceStatus{
	cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE,
	cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED,
	cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT,
}

func (g *generator) service(i int, ts uint64) *cataloguev1.Service {
	r := g.r
	// Earlier gminas get more services, as larger towns do.
	u := r.Float64()
	gm := &g.gminas[int(u*u*float64(len(g.gminas)))]
	k := &kinds[r.IntN(len(kinds))]
	folded := r.IntN(12) == 0

	s := &cataloguev1.Service{
		Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Areas:  append([]area(nil), k.areas...),
	}
	if x := r.IntN(100); x < 8 {
		s.Status = statusWeights[x%3]
	}

	// Name.
	base := g.pick(k.names)
	var name string
	switch r.IntN(5) {
	case 0:
		name = base
	case 1:
		name = base + " „" + capitalize(g.word()) + "”"
	case 2:
		name = base + " – " + gm.name
	case 3:
		name = base + " „" + capitalize(g.word()) + "” – " + g.pick(gm.villages)
	default:
		name = base + " (" + gm.areaName + ")"
	}
	if folded {
		name = fold(name)
	}
	s.DisplayName = name
	if r.IntN(10) == 0 {
		s.AlternateName = capitalize(g.word()) + " " + strings.ToLower(base)
	}

	// Description: 3 to 6 sentences.
	b := &g.b
	b.Reset()
	b.WriteString(g.pick(k.leads))
	acts := k.acts
	b.WriteString(" W ramach usługi oferujemy: ")
	b.WriteString(acts[r.IntN(len(acts))])
	b.WriteString(", ")
	b.WriteString(g.pick(generalActs))
	b.WriteString(" oraz ")
	b.WriteString(acts[r.IntN(len(acts))])
	b.WriteString(".")
	if r.IntN(2) == 0 {
		b.WriteString(" Zajęcia prowadzą ")
		b.WriteString(g.pick(staff))
		b.WriteString(" we współpracy z ")
		b.WriteString(g.pick(partners))
		b.WriteString(" „")
		b.WriteString(capitalize(g.word()))
		b.WriteString("”.")
	}
	b.WriteString(" Wsparcie jest skierowane do ")
	for j, tg := range k.groups {
		switch {
		case j == 0:
		case j == len(k.groups)-1:
			b.WriteString(" i ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(groupPhrase[tg])
	}
	b.WriteString(" z terenu gminy ")
	b.WriteString(gm.name)
	b.WriteString(".")
	if r.IntN(3) == 0 {
		b.WriteString(" Projekt „")
		b.WriteString(capitalize(g.word()))
		b.WriteString(" ")
		b.WriteString(g.word())
		b.WriteString("” jest współfinansowany ze środków ")
		b.WriteString(g.pick(funds))
		b.WriteString(".")
	}
	if r.IntN(2) == 0 {
		b.WriteString(" Słowa kluczowe: ")
		if len(k.keywords) > 0 {
			b.WriteString(g.pick(k.keywords))
			b.WriteString(", ")
		}
		n := 2 + r.IntN(4)
		for j := range n {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(g.word())
		}
		b.WriteString(".")
	}
	desc := b.String()
	if folded {
		desc = fold(desc)
	}
	s.Description = desc

	seq := strconv.Itoa(i + 1)
	s.Url = "https://cus." + gm.slug + ".example/uslugi/" + k.slug + "-" + seq
	s.Email = g.pick([]string{"kontakt", "sekretariat", "cus", "biuro", k.slug}) + "@cus." + gm.slug + ".example"
	s.Phones = []*typev1.Phone{{Number: g.phone(gm), Type: "voice"}}
	if r.IntN(5) == 0 {
		s.Phones = append(s.Phones, &typev1.Phone{Number: g.phone(gm), Type: "voice", Description: "sekretariat, pon.-pt. 7:30-15:30"})
	}
	s.ApplicationProcess = g.pick(applyPhrases)
	s.EligibilityDescription = "Usługa dla " + groupPhrase[k.groups[0]] + " z terenu gminy " + gm.name + "."
	g.agesAndLanguages(s, k.minAge, k.maxAge)
	s.ServiceAreas = []*cataloguev1.GeographicArea{{Name: gm.areaName, TerytCode: gm.terc}}
	if r.IntN(7) == 0 {
		s.ServiceAreas = append(s.ServiceAreas, &cataloguev1.GeographicArea{Name: gm.powiatName, TerytCode: gm.powiat})
	}

	// Areas and target groups, with an occasional extra area.
	if r.IntN(10) == 0 {
		extra := extraAreas[r.IntN(len(extraAreas))]
		if !containsArea(s.Areas, extra) {
			s.Areas = append(s.Areas, extra)
		}
	}
	s.TargetGroups = append([]group(nil), k.groups...)
	if r.IntN(12) == 0 && !containsGroup(s.TargetGroups, gALL) {
		s.TargetGroups = append(s.TargetGroups, gALL)
	}
	s.RequiresDecision = k.decision

	// Locations.
	nLoc := 1
	if r.IntN(5) == 0 {
		nLoc = 2
	}
	var idBuf [36]byte
	for j := range nLoc {
		s.Locations = append(s.Locations, g.location(gm, k, j, ts, &idBuf))
	}

	// Fee.
	if k.fee.prob > 0 && r.Float64() < k.fee.prob {
		s.Fee = g.fee(k)
	}
	return s
}

// extraAreas are the areas a service of any kind may plausibly also belong to.
var extraAreas = []area{aCIV, aHP, aCUL, aPE, aSA, aREI}

func containsArea(xs []area, a area) bool {
	for _, x := range xs {
		if x == a {
			return true
		}
	}
	return false
}

func containsGroup(xs []group, a group) bool {
	for _, x := range xs {
		if x == a {
			return true
		}
	}
	return false
}

func (g *generator) phone(gm *gmina) string {
	r := g.r
	return fmt.Sprintf("+48 %s %03d %02d %02d", gm.phoneArea, 100+r.IntN(900), r.IntN(100), r.IntN(100))
}

func (g *generator) location(gm *gmina, k *kind, j int, ts uint64, idBuf *[36]byte) *cataloguev1.Location {
	r := g.r
	city := gm.name
	var addr string
	if r.IntN(3) == 0 {
		city = g.pick(gm.villages)
		addr = city + " " + strconv.Itoa(1+r.IntN(120))
	} else {
		prefix := "ul. "
		if r.IntN(15) == 0 {
			prefix = "pl. "
		}
		addr = prefix + g.pick(streets) + " " + strconv.Itoa(1+r.IntN(80))
		if r.IntN(6) == 0 {
			addr += "/" + strconv.Itoa(1+r.IntN(30))
		}
	}
	name := k.place
	switch r.IntN(3) {
	case 0:
		name += " „" + capitalize(g.word()) + "”"
	case 1:
		name += " w miejscowości " + city
	}
	return g.placeLocation(gm, k, j > 0, ts, idBuf, name, addr, city)
}

var weekdays = [...]cataloguev1.Weekday{
	cataloguev1.Weekday_WEEKDAY_MONDAY, cataloguev1.Weekday_WEEKDAY_TUESDAY, cataloguev1.Weekday_WEEKDAY_WEDNESDAY,
	cataloguev1.Weekday_WEEKDAY_THURSDAY, cataloguev1.Weekday_WEEKDAY_FRIDAY, cataloguev1.Weekday_WEEKDAY_SATURDAY,
	cataloguev1.Weekday_WEEKDAY_SUNDAY,
}

// hours returns a weekly schedule. Times are half-hour slots: 0 is 00:00, 48 is 24:00.
func (g *generator) hours(k *kind) []*cataloguev1.OpeningHours {
	r := g.r
	if k.allDay {
		out := make([]*cataloguev1.OpeningHours, 7)
		for d := range out {
			out[d] = &cataloguev1.OpeningHours{Day: weekdays[d], OpensAt: hhmm[0], ClosesAt: hhmm[48]}
		}
		return out
	}
	open := 12 + r.IntN(9)           // 06:00 to 10:00
	closeAt := open + 8 + r.IntN(13) // 4 to 10 hours later, at most 20:00
	var days []int
	switch r.IntN(4) {
	case 0, 1:
		days = []int{0, 1, 2, 3, 4}
	case 2:
		days = []int{0, 1, 2, 3, 4, 5}
	default:
		for d := range 5 {
			if r.IntN(2) == 0 {
				days = append(days, d)
			}
		}
		if len(days) == 0 {
			days = []int{2}
		}
	}
	out := make([]*cataloguev1.OpeningHours, 0, len(days)+1)
	for _, d := range days {
		o, c := open, closeAt
		if d == 5 { // Saturday: a shorter morning
			o, c = 18, 26
		}
		out = append(out, &cataloguev1.OpeningHours{Day: weekdays[d], OpensAt: hhmm[o], ClosesAt: hhmm[c]})
	}
	if r.IntN(5) == 0 {
		// An afternoon slot after a morning one, e.g. a duty on Thursdays.
		c := min(closeAt+2+r.IntN(4), 44)
		if c > closeAt {
			out = append(out, &cataloguev1.OpeningHours{Day: weekdays[3], OpensAt: hhmm[closeAt], ClosesAt: hhmm[c], Description: "dyżur po wcześniejszym umówieniu"})
		}
	}
	return out
}

var romans = []string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
	"XVI", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV", "XXV", "XXVI", "XXVII", "XXVIII", "XXIX", "XXX",
	"XXXI", "XXXII", "XXXIII", "XXXIV", "XXXV", "XXXVI", "XXXVII", "XXXVIII", "XXXIX", "XL", "XLI", "XLII", "XLIII",
	"XLIV", "XLV", "XLVI", "XLVII", "XLVIII", "XLIX", "L", "LI", "LII", "LIII", "LIV", "LV", "LVI", "LVII", "LVIII",
	"LIX", "LX"}

var unitWords = map[unit]string{uHour: "godzinę", uVisit: "wizytę", uDay: "dzień", uMonth: "miesiąc", uMeal: "posiłek", uCourse: "turnus"}

func (g *generator) fee(k *kind) *cataloguev1.FeeRule {
	r := g.r
	p := k.fee
	price := (p.min + r.Int32N(p.max-p.min+1)) / 50 * 50
	year := 2019 + r.IntN(7)
	f := &cataloguev1.FeeRule{
		PriceGrosze: price,
		Currency:    "PLN",
		Unit:        p.unit,
		LegalBasis: &typev1.Resolution{
			Number:    romans[r.IntN(len(romans))] + "/" + strconv.Itoa(1+r.IntN(600)) + "/" + strconv.Itoa(year),
			AdoptedOn: fmt.Sprintf("%d-%02d-%02d", year, 1+r.IntN(12), 1+r.IntN(28)),
		},
	}
	zl := strconv.Itoa(int(price/100)) + "," + fmt.Sprintf("%02d", price%100)
	if r.IntN(5) == 0 {
		// No bands: everyone pays the full price.
		f.Description = "Cena " + zl + " zł za " + unitWords[p.unit] + ", jednakowa dla wszystkich."
		return f
	}
	n := 2 + r.IntN(5) // 2 to 6 bands
	from := int32(0)
	pay := int32(0)
	for j := range n {
		band := &cataloguev1.IncomeBand{FromPercent: from, PayablePercent: pay}
		if j == n-1 {
			band.PayablePercent = 100
		} else {
			to := from + 25*(1+r.Int32N(4))
			if j == 0 {
				to = 100 + 50*r.Int32N(2)
			}
			band.ToPercent = &to
			from = to
			pay = min(100, pay+5*(1+r.Int32N(8)))
		}
		f.IncomeBands = append(f.IncomeBands, band)
	}
	f.Description = "Cena " + zl + " zł za " + unitWords[p.unit] + ". Osoby o dochodzie do " +
		strconv.Itoa(int(*f.IncomeBands[0].ToPercent)) + "% kryterium dochodowego są zwolnione z odpłatności, " +
		"pozostali płacą część ceny według tabeli."
	return f
}

// agesAndLanguages sets the age bounds (-1: none), the languages and sometimes an accreditation, drawing from
// the generator's source in the same order for both profiles (the harsh profile's output is pinned).
func (g *generator) agesAndLanguages(s *cataloguev1.Service, minAge, maxAge int32) {
	r := g.r
	if minAge >= 0 {
		v := minAge
		s.MinimumAge = &v
	}
	if maxAge >= 0 {
		v := maxAge
		s.MaximumAge = &v
	}
	s.Languages = []string{"pl"}
	switch x := r.IntN(100); {
	case x < 12:
		s.Languages = append(s.Languages, "uk")
	case x < 15:
		s.Languages = append(s.Languages, "en")
	case x < 16:
		s.Languages = append(s.Languages, "de")
	}
	if r.IntN(5) == 0 {
		s.Accreditations = []string{g.pick(accreditationsPool)}
	}
}

// placeLocation builds a location of the service in gmina gm (a branch, filia, when branch) with its address,
// coordinates near the gmina's centre, accessibility and opening hours; both profiles draw from the
// generator's source through it in the same order (the harsh profile's output is pinned).
func (g *generator) placeLocation(gm *gmina, k *kind, branch bool, ts uint64, idBuf *[36]byte, name, addr, city string) *cataloguev1.Location {
	r := g.r
	l := &cataloguev1.Location{
		Id:   g.uuid7(idBuf, ts),
		Name: name,
		Address: &typev1.Address{
			Address_1:  addr,
			City:       city,
			PostalCode: gm.postal,
			Region:     gm.region,
			Country:    "PL",
		},
		TerytCode: gm.terc,
		Coordinates: &typev1.LatLng{
			Latitude:  gm.lat + (r.Float64()*2-1)*0.04,
			Longitude: gm.lng + (r.Float64()*2-1)*0.06,
		},
	}
	if branch {
		l.Description = "Filia"
	}
	acc := &cataloguev1.Accessibility{WheelchairAccessible: r.IntN(10) < 7}
	if acc.WheelchairAccessible {
		a := g.r.IntN(len(accessYes))
		b := (a + 1 + g.r.IntN(len(accessYes)-1)) % len(accessYes)
		acc.Description = capitalize(accessYes[a]) + ", " + accessYes[b] + "."
	} else {
		acc.Description = capitalize(g.pick(accessNo)) + "."
	}
	l.Accessibility = acc
	l.OpeningHours = g.hours(k)
	return l
}
