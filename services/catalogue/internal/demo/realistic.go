package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Profiles of SyntheticOptions.Profile.
const (
	// ProfileRealistic (the default) reads like a real national catalogue: a Zipf-like vocabulary of real Polish
	// social-service words in which each common word occurs in 2-15% of the services, gminas spread over the 16
	// voivodeships as in Poland with structured TERC codes, 1 to 4 locations per service, about 1 KB of text.
	ProfileRealistic = "realistic"
	// ProfileHarsh is the earlier generator, kept so that old benchmark figures stay comparable: a small set of
	// sentence templates (common words in 40-85% of the services) and a lexicon of invented words.
	ProfileHarsh = "harsh"
)

// NationalGminas is the number of gminas in Poland: SyntheticOptions.Gminas for a national catalogue.
const NationalGminas = 2477

// zipfTable samples ranks 0..n-1 with probability proportional to 1/(rank+1+q)^s (Zipf-Mandelbrot): q flattens
// the head, so that even the most frequent item is not in every service.
type zipfTable []float64

func newZipf(n int, s, q float64) zipfTable {
	cum := make(zipfTable, n)
	sum := 0.0
	for i := range cum {
		sum += 1 / math.Pow(float64(i+1)+q, s)
		cum[i] = sum
	}
	for i := range cum {
		cum[i] /= sum
	}
	return cum
}

func (z zipfTable) pick(r *rand.Rand) int {
	i, _ := slices.BinarySearch(z, r.Float64())
	return min(i, len(z)-1)
}

// weighted samples indexes in proportion to their weights.
type weighted []float64

func newWeighted(ws []float64) weighted {
	cum := make(weighted, len(ws))
	sum := 0.0
	for i, w := range ws {
		sum += w
		cum[i] = sum
	}
	for i := range cum {
		cum[i] /= sum
	}
	return cum
}

func (w weighted) pick(r *rand.Rand) int {
	i, _ := slices.BinarySearch(w, r.Float64())
	return min(i, len(w)-1)
}

// realistic is the state of the realistic profile.
type realistic struct {
	kinds     []*kind
	kindPick  weighted
	gminaPick weighted
	acts      []string
	actPick   zipfTable
	practical zipfTable
	keywords  zipfTable
	orgName   zipfTable
	streets   []string
}

func newRealistic(gminas []gmina, weights []float64) *realistic {
	rs := &realistic{gminaPick: newWeighted(weights)}
	var ws []float64
	for _, ks := range [][]kind{kinds, moreKinds} {
		for i := range ks {
			k := &ks[i]
			rs.kinds = append(rs.kinds, k)
			w, ok := kindWeight[k.slug]
			if !ok {
				w = 1
			}
			ws = append(ws, w)
		}
	}
	rs.kindPick = newWeighted(ws)
	rs.acts = append(append([]string(nil), moreActs...), generalActs...)
	rs.actPick = newZipf(len(rs.acts), 1, 6)
	rs.practical = newZipf(len(practical), 1, 4)
	rs.keywords = newZipf(len(keywordPool), 1, 5)
	rs.orgName = newZipf(len(orgNames), 0.8, 3)
	rs.streets = append(append([]string(nil), streets...), moreStreets...)
	return rs
}

// makeRealGminas spreads n gminas over the voivodeships in proportion to their real numbers, numbering powiats
// and gminas within them as the TERYT register does: CCPPGGT with an even voivodeship CC, powiats 01.. (cities
// with powiat rights 61..), gminas 01.. within a powiat, and the type T: 1 urban, 2 rural, 3 urban-rural. It
// also returns each gmina's weight: cities draw more services than villages.
func makeRealGminas(r *rand.Rand, n int) ([]gmina, []float64) {
	// Largest remainder: the counts sum to n exactly.
	counts := make([]int, len(voivodeships))
	type rem struct {
		v int
		f float64
	}
	rems := make([]rem, len(voivodeships))
	total := 0
	for v, c := range voivodeshipGminas {
		x := float64(n) * float64(c) / NationalGminas
		counts[v] = int(x)
		total += counts[v]
		rems[v] = rem{v, x - float64(counts[v])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.f > b.f:
			return -1
		case a.f < b.f:
			return 1
		}
		return 0
	})
	for i := 0; total < n; i++ {
		counts[rems[i%len(rems)].v]++
		total++
	}

	roots := append(append([]string(nil), gminaRoots...), moreRoots...)
	out := make([]gmina, 0, n)
	weights := make([]float64, 0, n)
	names := make(map[string]int, n)
	for vi, c := range counts {
		v := &voivodeships[vi]
		cities := min(3, c/40) // cities with powiat rights: TERC PP 61..
		// Powiats 01-98 less the cities' numbers: enough for MaxSyntheticGminas with gminas 01-99 in each.
		slots := 98 - cities
		perPowiat := max(1, (c-cities+slots-1)/slots)
		p, inPowiat, size := 0, 0, 0
		var plat, plng float64
		var proot string
		for j := range c {
			var pp, gg, t int
			city := j < cities
			if city {
				pp, gg, t = 61+j, 1, 1
				plat = v.lat + (r.Float64()*2-1)*v.dlat*0.8
				plng = v.lng + (r.Float64()*2-1)*v.dlng*0.8
				proot = roots[r.IntN(len(roots))]
			} else {
				if inPowiat == size {
					p++
					if p == 61 {
						p += cities // the numbers of the cities with powiat rights
					}
					inPowiat = 0
					size = max(perPowiat, 4+r.IntN(9))
					plat = v.lat + (r.Float64()*2-1)*v.dlat*0.85
					plng = v.lng + (r.Float64()*2-1)*v.dlng*0.85
					proot = roots[r.IntN(len(roots))]
				}
				inPowiat++
				pp, gg = p, inPowiat
				switch x := r.IntN(100); {
				case inPowiat == 1 && x < 45, x < 8:
					t = 1
				case x < 34:
					t = 3
				default:
					t = 2
				}
			}
			terc := fmt.Sprintf("%02d%02d%02d%d", v.code, pp, gg, t)
			root := roots[r.IntN(len(roots))]
			name := root + gminaSuffixes[r.IntN(len(gminaSuffixes))]
			names[name]++
			if k := names[name]; k > 1 {
				// Real Poland has many same-named places ("Lipowo Kościelne"); keep names distinguishable anyway.
				for try := 0; ; try++ {
					alt := name
					for range 1 + try/8 { // two words once one is rarely free (a national count needs none)
						alt += " " + sameNames[r.IntN(len(sameNames))]
					}
					if names[alt] == 0 {
						names[alt]++
						name = alt
						break
					}
				}
			}
			areaName := "Gmina " + name
			w := 0.4 + r.Float64()*1.2
			switch {
			case city:
				areaName, w = "Miasto "+name, 8+r.Float64()*20
			case t == 1:
				areaName, w = "Miasto "+name, 2.5+r.Float64()*5
			case t == 3:
				areaName, w = "Miasto i Gmina "+name, 1.2+r.Float64()*2.5
			}
			lat := clamp(plat+(r.Float64()*2-1)*0.15, max(PolandMinLatitude+0.2, v.lat-v.dlat), min(PolandMaxLatitude-0.2, v.lat+v.dlat))
			lng := clamp(plng+(r.Float64()*2-1)*0.22, max(PolandMinLongitude+0.2, v.lng-v.dlng), min(PolandMaxLongitude-0.2, v.lng+v.dlng))
			villages := make([]string, 3+r.IntN(6))
			for k := range villages {
				villages[k] = villagePrefixes[r.IntN(len(villagePrefixes))] +
					roots[r.IntN(len(roots))] + gminaSuffixes[r.IntN(len(gminaSuffixes))]
			}
			powiatName := "Powiat " + strings.ToLower(fold(proot)) + "ski"
			if city {
				powiatName = "Miasto na prawach powiatu " + name
			}
			out = append(out, gmina{
				terc:       terc,
				name:       name,
				areaName:   areaName,
				powiat:     terc[:4],
				powiatName: powiatName,
				region:     v.name,
				postal:     fmt.Sprintf("%c%d-%03d", v.postalFirst, (pp+gg)%10, r.IntN(1000)),
				phoneArea:  v.phoneAreas[r.IntN(len(v.phoneAreas))],
				slug:       slugify(name),
				lat:        lat,
				lng:        lng,
				villages:   villages,
			})
			weights = append(weights, w)
		}
	}
	return out, weights
}

// orgFull is an invented organisation: a type and a name (quoted where it is used), now and then an invented
// surname-like one for the long tail of proper names.
func (g *generator) orgFull() (typ, name string) {
	typ = g.pick(orgTypes)
	name = orgNames[g.real.orgName.pick(g.r)]
	if g.r.IntN(6) == 0 {
		name = capitalize(g.surname())
	}
	return typ, name
}

// surname invents a Polish-looking surname stem from syllables (the tail of proper names).
func (g *generator) surname() string {
	var b strings.Builder
	for range 2 + g.r.IntN(2) {
		b.WriteString(nameSyllables[g.r.IntN(len(nameSyllables))])
	}
	return b.String()
}

// patron is "im. Marii Kowalskiej" style, with an invented surname.
func (g *generator) patron() string {
	first := g.pick(patronFirst)
	s := capitalize(g.surname())
	if strings.HasSuffix(first, "y") || strings.HasSuffix(first, "i") { // feminine names in the genitive
		return "im. " + first + " " + s + "skiej"
	}
	return "im. " + first + " " + s + "skiego"
}

// place is where the members of a target group live, a phrase from placePhrases.
func (g *generator) place(gm *gmina) string {
	p := g.pick(placePhrases)
	if strings.Contains(p, "%s") {
		return fmt.Sprintf(p, gm.name)
	}
	return p
}

func groupIn(kase byte, gr group) string {
	switch kase {
	case 'a':
		return groupAcc[gr]
	case 'd':
		return groupDat[gr]
	case 'n':
		return groupNom[gr]
	}
	return groupPhrase[gr]
}

func groupsIn(kase byte, gs []group) string {
	var b strings.Builder
	for j, gr := range gs {
		switch {
		case j == 0:
		case j == len(gs)-1:
			b.WriteString(" i ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(groupIn(kase, gr))
	}
	return b.String()
}

// realService is one service of the realistic profile.
func (g *generator) realService(i int, ts uint64) *cataloguev1.Service {
	r := g.r
	rs := g.real
	gm := &g.gminas[rs.gminaPick.pick(r)]
	k := rs.kinds[rs.kindPick.pick(r)]
	folded := r.IntN(12) == 0

	s := &cataloguev1.Service{
		Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Areas:  append([]area(nil), k.areas...),
	}
	if x := r.IntN(100); x < 8 {
		s.Status = statusWeights[x%3]
	}
	orgType, orgName := g.orgFull()
	// "All residents" beside a narrower group is ticked by some catalogues only.
	for _, gr := range k.groups {
		if gr != gALL || len(k.groups) == 1 || r.IntN(5) < 2 {
			s.TargetGroups = append(s.TargetGroups, gr)
		}
	}
	if r.IntN(20) == 0 && !containsGroup(s.TargetGroups, gALL) {
		s.TargetGroups = append(s.TargetGroups, gALL)
	}

	// Name.
	base := g.pick(k.names)
	var name string
	switch r.IntN(8) {
	case 0, 1:
		name = base
	case 2:
		name = base + " „" + orgName + "”"
	case 3:
		name = base + " – " + gm.name
	case 4:
		name = base + " „" + orgName + "” – " + g.pick(gm.villages)
	case 5:
		name = base + " (" + gm.areaName + ")"
	case 6:
		if r.IntN(2) == 0 {
			name = base + " nr " + strconv.Itoa(1+r.IntN(6))
		} else {
			name = base + " " + g.patron()
		}
	default:
		name = base + " – " + capitalize(g.surname()) + g.pick(gminaSuffixes)
	}
	s.DisplayName = name
	if r.IntN(10) == 0 {
		s.AlternateName = orgType + " „" + orgName + "”"
	}

	// Description: the kind's lead, what is offered, who runs it, for whom, practical notes, funding, keywords.
	b := &g.b
	b.Reset()
	b.WriteString(g.pick(k.leads))
	b.WriteByte(' ')
	b.WriteString(g.pick(offerIntros))
	b.WriteByte(' ')
	var acts [4]string
	nActs := 2 + r.IntN(3)
	for j := range nActs {
		// A few tries for an activity not listed yet; a rare repeat is dropped.
		for range 4 {
			a := rs.acts[rs.actPick.pick(r)]
			if r.IntN(2) == 0 {
				a = g.pick(k.acts)
			}
			if !slices.Contains(acts[:j], a) {
				acts[j] = a
				break
			}
		}
	}
	list := slices.DeleteFunc(acts[:nActs], func(a string) bool { return a == "" })
	for j, a := range list {
		switch {
		case j == 0:
		case j == len(list)-1:
			b.WriteString(g.pick(actJoins))
		default:
			b.WriteString(", ")
		}
		b.WriteString(a)
	}
	b.WriteByte('.')
	if r.IntN(5) < 3 {
		b.WriteByte(' ')
		partner := g.pick(partners) + " „" + orgName + "”"
		if r.IntN(16) == 0 {
			partner = g.pick(partners) + " " + g.patron()
		}
		fmt.Fprintf(b, g.pick(staffSentences), g.pick(staff), partner)
	}
	b.WriteByte(' ')
	ts1 := targetSentences[r.IntN(len(targetSentences))]
	fmt.Fprintf(b, ts1.s, groupsIn(ts1.kase, s.TargetGroups), g.place(gm))
	for range r.IntN(4) {
		b.WriteByte(' ')
		b.WriteString(practical[rs.practical.pick(r)])
	}
	if r.IntN(4) == 0 {
		b.WriteByte(' ')
		project := g.pick(projectWords[0]) + " " + g.pick(projectWords[1])
		fmt.Fprintf(b, g.pick(fundSentences), project, g.pick(funds))
	}
	if r.IntN(10) < 3 {
		b.WriteByte(' ')
		b.WriteString(g.pick(keywordHeads))
		if len(k.keywords) > 0 {
			b.WriteString(g.pick(k.keywords))
			b.WriteString(", ")
		}
		var kws [4]int
		n := 1 + r.IntN(4)
		for j := range n {
			kws[j] = rs.keywords.pick(r)
			if slices.Contains(kws[:j], kws[j]) {
				continue
			}
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(keywordPool[kws[j]])
		}
		b.WriteByte('.')
	}
	desc := b.String()
	if folded {
		desc = fold(desc)
		s.DisplayName = fold(s.DisplayName)
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
	el := eligibilitySentences[r.IntN(len(eligibilitySentences))]
	s.EligibilityDescription = fmt.Sprintf(el.s, groupIn(el.kase, s.TargetGroups[0]), g.place(gm))
	g.agesAndLanguages(s, k.minAge, k.maxAge)
	// The official name ("Gmina X", "Miasto X") or, as many catalogues write it, the bare name.
	areaName := gm.areaName
	if r.IntN(3) > 0 {
		areaName = gm.name
	}
	s.ServiceAreas = []*cataloguev1.GeographicArea{{Name: areaName, TerytCode: gm.terc}}
	if r.IntN(7) == 0 {
		s.ServiceAreas = append(s.ServiceAreas, &cataloguev1.GeographicArea{Name: gm.powiatName, TerytCode: gm.powiat})
	}

	if r.IntN(10) == 0 {
		extra := extraAreas[r.IntN(len(extraAreas))]
		if !containsArea(s.Areas, extra) {
			s.Areas = append(s.Areas, extra)
		}
	}
	s.RequiresDecision = k.decision

	// Locations: 1 to 4, most services have one.
	nLoc := 1
	switch x := r.IntN(100); {
	case x < 8:
		nLoc = 4
	case x < 20:
		nLoc = 3
	case x < 45:
		nLoc = 2
	}
	var idBuf [36]byte
	for j := range nLoc {
		s.Locations = append(s.Locations, g.realLocation(gm, k, j, ts, orgName, &idBuf))
	}

	if k.fee.prob > 0 && r.Float64() < k.fee.prob {
		s.Fee = g.fee(k)
	}
	return s
}

func (g *generator) realLocation(gm *gmina, k *kind, j int, ts uint64, orgName string, idBuf *[36]byte) *cataloguev1.Location {
	r := g.r
	rs := g.real
	city := gm.name
	var addr string
	if j > 0 && r.IntN(2) == 0 || r.IntN(4) == 0 {
		city = g.pick(gm.villages)
		addr = city + " " + strconv.Itoa(1+r.IntN(150))
	} else {
		prefix := "ul. "
		switch r.IntN(20) {
		case 0:
			prefix = "pl. "
		case 1:
			prefix = "al. "
		case 2:
			prefix = "os. "
		}
		addr = prefix + g.pick(rs.streets) + " " + strconv.Itoa(1+r.IntN(90))
		if r.IntN(6) == 0 {
			addr += "/" + strconv.Itoa(1+r.IntN(30))
		}
	}
	name := k.place
	switch r.IntN(6) {
	case 0:
		name += " „" + orgName + "”"
	case 1:
		if city != gm.name {
			name += " – " + city
		}
	case 2:
		if j > 0 {
			name += " – filia nr " + strconv.Itoa(j)
		}
	case 3:
		if r.IntN(4) == 0 {
			name += " " + g.patron()
		}
	}
	return g.placeLocation(gm, k, j > 0, ts, idBuf, name, addr, city)
}
