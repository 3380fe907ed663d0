package search

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // opening hours are Warsaw-local; do not depend on the host's zoneinfo
	"unicode"
	"unicode/utf8"
)

// DefaultLimit is the page size used when Query.Limit (or List's limit) is
// not positive.
const DefaultLimit = 20

// Geo restricts results to documents with a point within RadiusMeters of
// Center. RadiusMeters <= 0 means no radius limit: distances are still
// computed and ordered by, and documents without points are kept with
// HasDistance false.
type Geo struct {
	Center       LatLng
	RadiusMeters float64
}

// Query is one search request. Zero-valued fields do not filter.
type Query struct {
	Text                string
	Areas, TargetGroups uint32 // 0 = no filter; otherwise doc must share at least one bit
	Age                 *int32
	Tercs               []string // any match
	FreeOnly            bool
	OpenAt              *time.Time // evaluated in Europe/Warsaw local time
	Near                *Geo
	IncludeInactive     bool // default: only Active docs
	Offset, Limit       int  // Limit <= 0 means DefaultLimit
}

// Hit is one result. DistanceMeters is set (HasDistance) when the query has
// Near and the document has points.
type Hit struct {
	ID             string
	Score          float32
	DistanceMeters int32
	HasDistance    bool
}

// Result is one page of hits plus totals and facet counts over all matches.
type Result struct {
	Hits              []Hit
	Total             int
	AreaFacets        map[int]int // area -> count of matching docs, computed with every filter EXCEPT the Areas filter
	TargetGroupFacets map[int]int // likewise, every filter except TargetGroups
	// Suggestion is the query text with mistyped words replaced by the closest vocabulary words (folded), or
	// "" when every word is known; see suggest.
	Suggestion string
}

// Ranking parameters. The variant weights encode "exact beats prefix beats
// fuzzy" for the same field and frequency; stems rank just below a literal
// prefix because suffix stripping is a guess.
const (
	k1                   = 1.2
	bParam               = 0.75
	wExact               = 1.0
	wPrefix              = 0.85
	wStem                = 0.8
	fuzzyDecay           = 0.7
	maxPrefixExpand      = 128
	maxShortPrefixExpand = 24
	maxQueryTerms        = 16
	maxQueryBytes        = 2048
	metersPerDegree      = 111195.08 // great-circle metres per degree of latitude at earthRadius
	earthRadiusMeter     = 6371008.8
)

// Query-side stopwords: Polish function words that appear in almost every
// description. Keeping them in an AND query would only force the OR
// fallback; they are still indexed, so a query made only of them works.
var stopwords = map[string]bool{
	"a": true, "i": true, "o": true, "u": true, "w": true, "z": true,
	"na": true, "do": true, "dla": true, "od": true, "po": true, "ze": true,
	"we": true, "oraz": true, "lub": true, "sie": true, "jest": true,
	"to": true, "przez": true, "przy": true,
	"the": true, "and": true, "of": true, "for": true,
}

// Polish inflectional endings (folded), longest first. Stripping one gives
// a stem that is matched by prefix, so "seniorow" reaches "senior" and
// "seniorami", and "uslugi" reaches "usluga". A real stemmer is not worth
// its weight here: prefix plus fuzzy matching already covers most of what
// a light stemmer buys.
var suffixes = []string{
	"owie", "ami", "ach", "ego", "emu", "ych", "ich", "ymi", "imi", "iej", "owi",
	"ow", "om", "ym", "im", "ej", "ie", "a", "e", "i", "o", "u", "y",
}

func stem(tok string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(tok, s) && len(tok)-len(s) >= 4 {
			return tok[:len(tok)-len(s)]
		}
	}
	return tok
}

func maxEdits(runes int) int {
	switch {
	case runes < 4:
		return 0
	case runes < 8:
		return 1
	}
	return 2
}

type variant struct {
	id uint32
	w  float32
}

type qterm struct {
	vs  []variant
	idf float32
}

type cand struct {
	doc     uint32
	cnt     uint8
	hasDist bool
	score   float32
	dist    float64
}

// scratch is one searcher's working memory, sized to the corpus.
type scratch struct {
	base, match, final, tmp bitset
	asel, gsel              bitset
	tsets                   []bitset // one per query term
	cur, acc                []float32
	cnt                     []uint8
	cands                   []cand
	vs                      []boundedVariant
	heap                    []scored
	touched                 []uint32
	tv                      []termVariant
	pre                     []uint32 // scoreMany: the matches before each word of final
	fdocs                   []uint32 // scoreMany: final's documents by their rank in it
	best, lsum              []float32
	open                    []scored
	geo                     []geoCand // the matches of a query without text ordered by distance
	sure                    bitset    // the documents of the geo cells wholly within a radius
	gcells                  []geoCell // the geo cells a radius reaches
	fz                      fuzzyScratch
	near                    []nearTerm // per query token expanded: its closest live term (see suggest)
	lookups                 int        // scoreMany's completions by binary search, counted for its tests
}

// maxIdleScratch bounds the idle scratches kept (each some MB at 500,000
// documents); on two cores more rarely run at once.
const maxIdleScratch = 4

func (ix *Index) getScratch() *scratch {
	var s *scratch
	ix.scratchMu.Lock()
	if k := len(ix.scratches); k > 0 {
		s = ix.scratches[k-1]
		ix.scratches = ix.scratches[:k-1]
	}
	ix.scratchMu.Unlock()
	if s == nil {
		s = &scratch{}
	}
	if n := len(ix.ids); len(s.cur) < n {
		s.cur = make([]float32, n+n/8)
	}
	nw := len(ix.bLive)
	s.base = grow(s.base, nw)
	s.match = grow(s.match, nw)
	s.final = grow(s.final, nw)
	s.tmp = grow(s.tmp, nw)
	s.asel = grow(s.asel, nw)
	s.gsel = grow(s.gsel, nw)
	s.sure = grow(s.sure, nw)
	return s
}

func (ix *Index) putScratch(s *scratch) {
	// scoreMany sizes these to every match of the query (times its terms): an idle scratch keeps them only
	// while small, so four idle scratches do not hold tens of MiB after one broad query of many words.
	const keepBytes = 1 << 20
	if cap(s.best)*4 > keepBytes {
		s.best = nil
	}
	if cap(s.lsum)*4 > keepBytes {
		s.lsum = nil
	}
	if cap(s.fdocs)*4 > keepBytes {
		s.fdocs = nil
	}
	ix.scratchMu.Lock()
	if len(ix.scratches) < maxIdleScratch {
		ix.scratches = append(ix.scratches, s)
	}
	ix.scratchMu.Unlock()
}

var warsaw = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600) // unreachable with time/tzdata linked in
})

// parseQuery turns the query text into terms with their vocabulary
// variants.
func (ix *Index) parseQuery(text string, s *scratch) []qterm {
	if len(text) > maxQueryBytes {
		// Only maxQueryTerms terms are used anyway; do not tokenise a
		// megabyte to find them.
		text = text[:maxQueryBytes]
	}
	toks := Tokens(text)
	if len(toks) == 0 {
		return nil
	}
	// The last word is still being typed unless the text ends in a
	// separator; only then is it worth a short-prefix expansion.
	r, _ := utf8.DecodeLastRuneInString(text)
	typing := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
	last := toks[len(toks)-1]

	var keep []string
	for _, t := range toks {
		if !stopwords[t] && utf8.RuneCountInString(t) > 1 && !slices.Contains(keep, t) {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		for _, t := range toks {
			if !slices.Contains(keep, t) {
				keep = append(keep, t)
			}
		}
	}
	if len(keep) > maxQueryTerms {
		keep = keep[:maxQueryTerms]
	}
	s.near = s.near[:0]
	terms := make([]qterm, 0, len(keep))
	for _, t := range keep {
		n := utf8.RuneCountInString(t)
		prefixOK := n >= 4 || (typing && t == last && n >= 2)
		terms = append(terms, ix.expand(t, prefixOK, s))
	}
	return terms
}

func (ix *Index) df(id uint32) int { return len(ix.post[id].docs) }

// expand collects the vocabulary terms a query token matches, each with
// the best weight by which it was reached.
func (ix *Index) expand(tok string, prefixOK bool, s *scratch) qterm {
	w := make(map[uint32]float32)
	add := func(id uint32, weight float32) {
		if ix.df(id) > 0 && weight > w[id] {
			w[id] = weight
		}
	}
	// A prefix still being typed ("po") matches a large share of the
	// vocabulary; fewer expansions keep it as cheap as a full word.
	limit := maxPrefixExpand
	if utf8.RuneCountInString(tok) < 4 {
		limit = maxShortPrefixExpand
	}
	addPrefix := func(p string, weight float32) {
		var ids []uint32
		ix.voc.prefix(p, func(id uint32) {
			if ix.df(id) > 0 {
				ids = append(ids, id)
			}
		})
		if len(ids) > limit {
			// Short prefixes typed so far can match thousands of
			// terms; the most frequent ones are the likely intent.
			slices.SortFunc(ids, func(a, b uint32) int {
				if da, db := ix.df(a), ix.df(b); da != db {
					return db - da
				}
				return strings.Compare(ix.voc.terms[a], ix.voc.terms[b])
			})
			ids = ids[:limit]
		}
		for _, id := range ids {
			add(id, weight)
		}
	}
	addFuzzy := func(t string, weight float32, near *nearTerm) {
		d := maxEdits(utf8.RuneCountInString(t))
		if d == 0 || hasDigit(t) {
			return
		}
		ix.voc.fuzzy(t, d, &s.fz, func(id uint32, d int) {
			add(id, weight*float32(math.Pow(fuzzyDecay, float64(d))))
			if near != nil {
				ix.nearer(near, id, d)
			}
		})
	}

	if id, ok := ix.voc.ids[tok]; ok {
		add(id, wExact)
	}
	if prefixOK {
		addPrefix(tok, wPrefix)
	}
	if !hasDigit(tok) && utf8.RuneCountInString(tok) >= 5 {
		if st := stem(tok); st != tok {
			addPrefix(st, wStem)
			addFuzzy(st, wStem, nil)
		}
	}
	// The token's own fuzzy neighbours are also what "did you mean" picks from (suggest): the nearest is
	// kept for it, so a query does not walk the bigram index twice for one word.
	near := nearTerm{tok: tok, d: -1}
	addFuzzy(tok, 1, &near)
	s.near = append(s.near, near)

	qt := qterm{vs: make([]variant, 0, len(w))}
	maxDF := 0
	for id, weight := range w {
		qt.vs = append(qt.vs, variant{id, weight})
		maxDF = max(maxDF, ix.df(id))
	}
	// Map order is random; sorting keeps float accumulation order, and
	// therefore scores and ties, deterministic.
	slices.SortFunc(qt.vs, func(a, b variant) int { return int(a.id) - int(b.id) })
	// One idf per query term, from its most frequent variant (a cheap
	// stand-in for the df of the union): giving each variant its own idf
	// would let a rare fuzzy neighbour outrank the exact word.
	n := float64(ix.live)
	qt.idf = float32(math.Log(1 + (n-float64(maxDF)+0.5)/(float64(maxDF)+0.5)))
	return qt
}

// filter is a query's compiled non-text constraints.
type filter struct {
	flags      uint8 // hot flags a document must have
	areas, tgs uint32
	hasAge     bool
	ageBits    bool // the age filter is bAge[age]
	age        int32
	hasTerc    bool
	tercs      []uint32 // interned TERC ids
	hasOpen    bool
	wd         int8
	minute     int16
	hourBit    int // weekMap bit of wd and minute
	hasGeo     bool
	center     LatLng
	radius     float64 // <= 0: unbounded
	cosCenter  float64 // cos of the centre's latitude, which haversine needs for every point
	// bounds: a point's distance is bounded from both sides by bound (cLo, cHi: see compileFilter), which
	// settles the radius of all but a thin ring of documents without haversine.
	bounds   bool
	cLo, cHi float64
	// geo, when set, collects the documents docOK keeps with what it learnt of their distance (a query
	// without text, ordered by distance).
	geo *[]geoCand
	// sure, when set, holds the documents of the geo cells wholly within the radius (baseSet): docOK
	// does not check their points.
	sure   bitset
	box    bool // latitude box valid
	lngBox bool
	minLat float64
	maxLat float64
	minLng float64
	maxLng float64
	// float32 copies for the docHot box test (the doc box is rounded
	// outwards, so comparing in float32 stays conservative).
	minLat32, maxLat32, minLng32, maxLng32 float32
}

func validPoint(p LatLng) bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180 // false for NaN
}

func (ix *Index) compileFilter(q *Query) filter {
	f := filter{flags: hotLive, areas: q.Areas, tgs: q.TargetGroups}
	if !q.IncludeInactive {
		f.flags |= hotActive
	}
	if q.FreeOnly {
		f.flags |= hotFree
	}
	if q.Age != nil {
		f.hasAge, f.age = true, *q.Age
		f.ageBits = f.age >= 0 && f.age <= maxAgeBit
	}
	if len(q.Tercs) > 0 {
		// Unknown codes match nothing, but the filter stays on: a
		// filter on an unknown gmina must not widen to everything.
		f.hasTerc = true
		for _, c := range q.Tercs {
			if id, ok := ix.tercIDs[c]; ok && !slices.Contains(f.tercs, id) {
				f.tercs = append(f.tercs, id)
			}
		}
	}
	if q.OpenAt != nil {
		t := q.OpenAt.In(warsaw())
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		f.hasOpen, f.wd, f.minute = true, int8(wd), int16(t.Hour()*60+t.Minute())
		f.hourBit = (wd-1)*24 + t.Hour()
	}
	if q.Near != nil && validPoint(q.Near.Center) {
		f.hasGeo, f.center, f.radius = true, q.Near.Center, q.Near.RadiusMeters
		f.cosCenter = math.Cos(f.center.Lat * (math.Pi / 180))
		if f.radius > 0 && !math.IsInf(f.radius, 1) {
			// Bounding box pre-check with a small margin: it only has to
			// be conservative, haversine decides.
			dLat := f.radius/metersPerDegree*1.01 + 1e-6
			f.box, f.minLat, f.maxLat = true, f.center.Lat-dLat, f.center.Lat+dLat
			if c := math.Cos(f.center.Lat * math.Pi / 180); c > 1e-3 {
				dLng := dLat / c
				if f.center.Lng-dLng > -180 && f.center.Lng+dLng < 180 {
					f.lngBox, f.minLng, f.maxLng = true, f.center.Lng-dLng, f.center.Lng+dLng
				}
			}
			f.minLat32, f.maxLat32 = float32(f.minLat), float32(f.maxLat)
			f.minLng32, f.maxLng32 = float32(f.minLng), float32(f.maxLng)
			// Within a box of a few degrees, haversine's h = sin²(dLat/2) + cos(lat1)cos(lat2)sin²(dLng/2)
			// lies between y² + cLo*x² and y² + cHi*x² (x, y the half differences in radians, cLo and cHi
			// cos(lat1) times the smallest and largest cos(lat2) of the box), up to sin's and asin's
			// departure from their argument, under 0.1% here: see bound.
			lo, hi := math.Abs(f.center.Lat)-dLat, math.Abs(f.center.Lat)+dLat
			if f.lngBox && dLat <= 5 && f.maxLng-f.center.Lng <= 5 && hi < 90 {
				cosNear := 1.0
				if lo > 0 {
					cosNear = math.Cos(lo * (math.Pi / 180))
				}
				f.bounds = true
				f.cLo = f.cosCenter * math.Cos(hi*(math.Pi/180))
				f.cHi = f.cosCenter * cosNear
			}
		} else {
			f.radius = 0
		}
	}
	return f
}

func haversine(a, b LatLng) float64 {
	return haversineCos(a, math.Cos(a.Lat*(math.Pi/180)), b)
}

// haversineCos is haversine with cos(a.Lat) given (a query's centre is the same for every document).
func haversineCos(a LatLng, cosA float64, b LatLng) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLng/2)
	h := s1*s1 + cosA*math.Cos(b.Lat*rad)*s2*s2
	return 2 * earthRadiusMeter * math.Asin(math.Sqrt(min(h, 1)))
}

// nearest returns the distance to the closest point, skipping points that
// the bounding box already rules out.
func (f *filter) nearest(points []LatLng) (float64, bool) {
	best, ok := math.Inf(1), false
	for _, p := range points {
		if f.box && (p.Lat < f.minLat || p.Lat > f.maxLat) {
			continue
		}
		if f.lngBox && (p.Lng < f.minLng || p.Lng > f.maxLng) {
			continue
		}
		if d := haversineCos(f.center, f.cosCenter, p); d < best {
			best, ok = d, true
		}
	}
	return best, ok
}

// geoSlack is the margin of bound: sin(t) >= t(1-t²/6) and asin(s) <= s(1+s²/5) for the half angles
// of a 5-degree box (t, s < 0.07) are within 0.2% of their argument, and float rounding far below.
const geoSlack = 2e-3

// bound returns a lower and an upper bound of the distance from the centre to p, a point of the box, in
// metres (f.bounds must be set).
func (f *filter) bound(p LatLng) (lb, ub float64) {
	const rad = math.Pi / 180
	y := (p.Lat - f.center.Lat) * (rad / 2)
	x := (p.Lng - f.center.Lng) * (rad / 2)
	y2, x2 := y*y, x*x
	lb = 2 * earthRadiusMeter * math.Sqrt((y2+f.cLo*x2)*(1-geoSlack))
	ub = 2 * earthRadiusMeter * math.Sqrt(y2+f.cHi*x2) * (1 + geoSlack)
	return lb, ub
}

// geoCand is a document within the radius of a query without text: a lower bound of its distance, and
// the distance itself when the radius check had to compute it.
type geoCand struct {
	doc      uint32
	exact    bool
	lb, dist float64
}

// geoCheck tells whether some point of a document is within the radius; lb is a lower bound of its
// distance, and dist the distance when exact (computed to decide). Only the documents near the circle
// (the lower bound within the radius, the upper bound beyond it) pay for haversine.
func (f *filter) geoCheck(points []LatLng) (ok bool, lb, dist float64, exact bool) {
	if !f.bounds {
		dist, ok := f.nearest(points)
		return ok && dist <= f.radius, dist, dist, ok
	}
	lb = math.Inf(1)
	inside, ring := false, false
	for _, p := range points {
		if p.Lat < f.minLat || p.Lat > f.maxLat || p.Lng < f.minLng || p.Lng > f.maxLng {
			continue // nearest ignores it too
		}
		l, u := f.bound(p)
		lb = min(lb, l)
		if u <= f.radius {
			inside = true
		} else if l <= f.radius {
			ring = true
		}
	}
	if inside {
		return true, lb, 0, false
	}
	if !ring {
		return false, lb, 0, false
	}
	dist, ok = f.nearest(points)
	return ok && dist <= f.radius, lb, dist, ok
}

func openAt(hours []hourIv, wd int8, minute int16) bool {
	for _, h := range hours {
		if h.open < h.close {
			if h.wd == wd && minute >= h.open && minute < h.close {
				return true
			}
			continue
		}
		// Overnight interval: the evening of h.wd and the morning after.
		if h.wd == wd && minute >= h.open {
			return true
		}
		if h.wd%7+1 == wd && minute < h.close {
			return true
		}
	}
	return false
}

// docOK reports whether document d passes the filters that are not
// bitsets: age, opening hours and the exact radius.
func (f *filter) docOK(ix *Index, d uint32) bool {
	h := &ix.hot[d]
	if f.hasAge && !f.ageBits && !ageOK(h, f.age) {
		return false
	}
	geo := f.hasGeo && (f.sure == nil || !f.sure.has(d))
	if geo && f.box {
		if h.flags&hotPoints == 0 || h.maxLat < f.minLat32 || h.minLat > f.maxLat32 ||
			f.lngBox && (h.maxLng < f.minLng32 || h.minLng > f.maxLng32) {
			return false
		}
	}
	if f.hasOpen {
		w := ix.weekOf(d)
		if !weekBit(&w.full, f.hourBit) && (!weekBit(&w.any, f.hourBit) || !openAt(ix.meta[d].hours, f.wd, f.minute)) {
			return false
		}
	}
	if geo && f.radius > 0 {
		ok, lb, dist, exact := f.geoCheck(ix.meta[d].points)
		if !ok {
			return false
		}
		if f.geo != nil {
			*f.geo = append(*f.geo, geoCand{doc: d, exact: exact, lb: lb, dist: dist})
		}
	}
	return true
}

// perDocAll tells whether every document must be checked by docOK; when
// only the opening hours are, the documents open for the whole hour
// (bOpenFull) are not.
func (f *filter) perDocAll() bool { return f.hasAge && !f.ageBits || f.hasGeo && f.radius > 0 }

// applyDocFilters clears the members of b that fail the per-document
// filters. It runs last, on the smallest set.
func (ix *Index) applyDocFilters(b bitset, f *filter) {
	all := f.perDocAll()
	if !all && !f.hasOpen {
		return
	}
	full := ix.bOpenFull[max(f.hourBit, 0)]
	if f.hasOpen {
		cnt := 0
		for i, w := range b {
			if full != nil {
				w &^= full[i]
			}
			cnt += bits.OnesCount64(w)
		}
		// The documents open at the minute, when cached (or worth caching: see openPartial), settle the
		// opening hours a word at a time.
		if part := ix.openPartial(f, cnt); part != nil {
			for i := range b {
				keep := part[i]
				if full != nil {
					keep |= full[i]
				}
				b[i] &= keep
			}
			if !all {
				return
			}
			g := *f
			g.hasOpen = false
			f = &g
		}
	}
	// With only the radius left to check, the documents of the cells wholly within it are not checked.
	skipSure := f.sure != nil && !(f.hasAge && !f.ageBits) && !f.hasOpen
	for i, w := range b {
		check := w
		if !all && full != nil {
			check &^= full[i]
		}
		if skipSure {
			check &^= f.sure[i]
		}
		for v := check; v != 0; v &= v - 1 {
			d := uint32(i<<6 | bits.TrailingZeros64(v))
			if !f.docOK(ix, d) {
				w &^= 1 << (d & 63)
			}
		}
		b[i] = w
	}
}

// baseSet writes into s.base the documents passing the bitset filters: live,
// active, free, TERC and the geo grid. With a radius it sets f.sure (see
// geoCells).
func (ix *Index) baseSet(s *scratch, f *filter) {
	b, tmp := s.base, s.tmp
	copy(b, ix.bLive)
	if f.flags&hotActive != 0 {
		b.and(ix.bActive)
	}
	if f.flags&hotFree != 0 {
		b.and(ix.bFree)
	}
	if f.hasAge && f.ageBits {
		b.and(ix.bAge[f.age])
	}
	if f.hasOpen {
		if open := ix.bOpenAny[f.hourBit]; open != nil {
			b.and(open)
		} else {
			b.zero()
		}
	}
	if f.hasTerc {
		tmp.zero()
		for _, t := range f.tercs {
			for _, d := range ix.tercDocs[t] {
				tmp.set(d)
			}
		}
		b.and(tmp)
	}
	if f.hasGeo && f.box && f.lngBox {
		la0, lo0 := cellOf(f.minLat, f.minLng)
		la1, lo1 := cellOf(f.maxLat, f.maxLng)
		if (la1-la0+1)*(lo1-lo0+1) <= maxGeoCells && f.bounds {
			tmp.zero()
			ix.geoCells(s, f, la0, lo0, la1, lo1)
			b.and(tmp)
		} else if (la1-la0+1)*(lo1-lo0+1) <= maxGeoCells {
			tmp.zero()
			for la := la0; la <= la1; la++ {
				for lo := lo0; lo <= lo1; lo++ {
					for _, d := range ix.cells[cellKey(la, lo)] {
						tmp.set(d)
					}
				}
			}
			b.and(tmp)
		}
	}
}

// geoCell is a cell of the geo grid a radius reaches: a lower bound of the
// distance of its points from the centre, and its documents.
type geoCell struct {
	lb   float64
	docs []uint32
}

// geoCellEps widens a cell by far less than a metre, so that a point
// cellOf put in it stays inside its bounds whatever the rounding.
const geoCellEps = 1e-9

// geoCells sets s.tmp to the documents of the cells of [la0, la1] x
// [lo0, lo1] that the radius reaches, f.sure (s.sure) to those of the cells
// wholly within it, and s.gcells to the cells reached. A cell is settled by
// the bounds of its nearest and farthest points (bound is monotonic in the
// latitude and longitude differences): beyond the radius, it is skipped;
// within it (and inside the box bound holds in), every document with a
// point in it is a match without its points being read, which leaves
// docOK only the documents of the ring of cells the circle crosses.
func (ix *Index) geoCells(s *scratch, f *filter, la0, lo0, la1, lo1 int) {
	sure, reach := s.sure, s.tmp
	sure.zero()
	cells := s.gcells[:0]
	clamp := func(v, lo, hi float64) float64 { return max(lo, min(v, hi)) }
	far := func(c, lo, hi float64) float64 {
		if c-lo > hi-c {
			return lo
		}
		return hi
	}
	for la := la0; la <= la1; la++ {
		lat0, lat1 := float64(la)*cellDeg-geoCellEps, float64(la+1)*cellDeg+geoCellEps
		inLat := lat0 >= f.minLat && lat1 <= f.maxLat
		for lo := lo0; lo <= lo1; lo++ {
			docs := ix.cells[cellKey(la, lo)]
			if len(docs) == 0 {
				continue
			}
			lng0, lng1 := float64(lo)*cellDeg-geoCellEps, float64(lo+1)*cellDeg+geoCellEps
			// The nearest point of the cell within the box: points outside the box are not within the
			// radius (nearest skips them too).
			near := LatLng{clamp(f.center.Lat, max(lat0, f.minLat), min(lat1, f.maxLat)),
				clamp(f.center.Lng, max(lng0, f.minLng), min(lng1, f.maxLng))}
			lb, _ := f.bound(near)
			if lb > f.radius {
				continue
			}
			within := false
			if inLat && lng0 >= f.minLng && lng1 <= f.maxLng {
				_, ub := f.bound(LatLng{far(f.center.Lat, lat0, lat1), far(f.center.Lng, lng0, lng1)})
				within = ub <= f.radius
			}
			for _, d := range docs {
				reach[d>>6] |= 1 << (d & 63)
			}
			if within {
				for _, d := range docs {
					sure[d>>6] |= 1 << (d & 63)
				}
			}
			cells = append(cells, geoCell{lb: lb, docs: docs})
		}
	}
	s.gcells = cells
	f.sure = sure
}

// termSet writes into b the documents containing any variant of qt.
func (ix *Index) termSet(b bitset, qt *qterm) {
	b.zero()
	for _, v := range qt.vs {
		p := &ix.post[v.id]
		if p.dense != nil {
			b.or(p.dense)
			continue
		}
		for _, d := range p.docs {
			b[d>>6] |= 1 << (d & 63)
		}
	}
}

// selSet writes into b the union of the sets of the bits of mask, or
// returns nil (no filter) when mask is 0.
func selSet(b bitset, sets *[32]bitset, mask uint32) bitset {
	if mask == 0 {
		return nil
	}
	b.zero()
	for v := mask; v != 0; v &= v - 1 {
		if s := sets[trailing(v)]; s != nil {
			b.or(s)
		}
	}
	return b
}

// facets counts, over match, the areas of the documents passing the
// target-group filter and the target groups of those passing the area
// filter: each facet with every filter except its own.
//
// It works a block of facetBlock words (one cache line of each set) at a
// time. A block with few matches is counted from its documents' own facet
// bits (facetBits); any other is counted area by area over the block: the
// 22 area and group sets start at the same offset of their pages, so
// counting a word at a time had their lines evict one another from one
// cache set before the next word used them again.
func (ix *Index) facets(match, asel, gsel bitset) (areas, groups [32]int) {
	var used [2][]int
	for i := range 32 {
		if ix.bArea[i] != nil {
			used[0] = append(used[0], i)
		}
		if ix.bGroup[i] != nil {
			used[1] = append(used[1], i)
		}
	}
	fbits := ix.facetBits
	// A set of fewer matches than one per facetRare words (a gmina's services, a rare word) finds none of
	// the lines of the area and group sets in the cache: its blocks are counted per document unless they
	// hold more matches than there are sets.
	sparseMax, total := facetSparseBlock, 0
	for _, w := range match {
		total += bits.OnesCount64(w)
	}
	if total*facetRare < len(match) {
		sparseMax = len(used[0]) + len(used[1])
	}
	var da, dg [facetBlock]uint64
	for blk := 0; blk < len(match); blk += facetBlock {
		ws := match[blk:min(blk+facetBlock, len(match))]
		var any uint64
		for _, w := range ws {
			any |= w
		}
		if any == 0 {
			continue // most blocks of a small set
		}
		n := len(ws)
		ca, cg := 0, 0
		for j, w := range ws {
			wa, wg := w, w
			if w != 0 {
				if gsel != nil {
					wa &= gsel[blk+j]
				}
				if asel != nil {
					wg &= asel[blk+j]
				}
				ca += bits.OnesCount64(wa)
				cg += bits.OnesCount64(wg)
			}
			da[j], dg[j] = wa, wg
		}
		if ca == 0 && cg == 0 {
			continue
		}
		if ca <= sparseMax {
			for j, w := range da[:n] {
				for v := w; v != 0; v &= v - 1 {
					addBits(&areas, uint32(fbits[(blk+j)<<6|bits.TrailingZeros64(v)]))
				}
			}
		} else {
			for _, a := range used[0] {
				set := ix.bArea[a][blk : blk+n]
				c := 0
				for j, x := range set {
					c += bits.OnesCount64(da[j] & x)
				}
				areas[a] += c
			}
		}
		if cg <= sparseMax {
			for j, w := range dg[:n] {
				for v := w; v != 0; v &= v - 1 {
					addBits(&groups, uint32(fbits[(blk+j)<<6|bits.TrailingZeros64(v)]>>32))
				}
			}
		} else {
			for _, g := range used[1] {
				set := ix.bGroup[g][blk : blk+n]
				c := 0
				for j, x := range set {
					c += bits.OnesCount64(dg[j] & x)
				}
				groups[g] += c
			}
		}
	}
	return areas, groups
}

// facetBlock is the number of words of a block of facets: 64 bytes.
const facetBlock = 8

// facetSparseBlock is the number of matches in a block up to which facets
// are counted per document. Each such document is a cache miss into
// facetBits (4 MB at 500,000 documents) and a loop over its bits, while the
// 22 popcounts of a block read lines every query keeps warm: at 500,000
// services the query set spent a quarter of its CPU time on facets when
// words of up to 6 matches were counted per document, and counting every
// block of two or more by popcounts cut the set's mean CPU per query by
// 12-19% (two in-process A/B runs over the 200 queries).
const facetSparseBlock = 1

// facetRare: see facets.
const facetRare = 8

func addBits(cnt *[32]int, v uint32) {
	for v != 0 {
		cnt[bits.TrailingZeros32(v)]++
		v &= v - 1
	}
}

func facetMap(cnt *[32]int) map[int]int {
	m := make(map[int]int)
	for i, c := range cnt {
		if c > 0 {
			m[i] = c
		}
	}
	return m
}

// Search runs q. Text terms must all match (exactly, by prefix or within
// the typo budget); when that finds nothing the query falls back to any
// term, ranking documents that match more terms first.
//
// It works in two phases. Matching is exact and works on sets: the
// documents passing the filters, those containing each term (the union of
// its variants' postings), their intersection, the facets and the total,
// all as bitset operations. Ranking then scores only the final matches and
// keeps the best offset+limit.
func (ix *Index) Search(q Query) Result {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := ix.getScratch()
	defer ix.putScratch(s)

	f := ix.compileFilter(&q)
	terms := ix.parseQuery(q.Text, s)
	n := len(terms)
	ix.baseSet(s, &f)
	asel := selSet(s.asel, &ix.bArea, f.areas)
	gsel := selSet(s.gsel, &ix.bGroup, f.tgs)
	match, final := s.match, s.final
	copy(match, s.base)
	orMode := false
	if n > 0 {
		for len(s.tsets) < n {
			s.tsets = append(s.tsets, nil)
		}
		for i := range terms {
			s.tsets[i] = grow(s.tsets[i], len(match))
			ix.termSet(s.tsets[i], &terms[i])
			match.and(s.tsets[i])
		}
		ix.applyDocFilters(match, &f)
		copy(final, match)
		final.and(asel)
		final.and(gsel)
		if n > 1 && final.empty() {
			orMode = true
			s.tmp.zero()
			for i := range terms {
				s.tmp.or(s.tsets[i])
			}
			copy(match, s.base)
			match.and(s.tmp)
			ix.applyDocFilters(match, &f)
		}
	} else {
		if f.hasGeo && f.radius > 0 && f.sure == nil {
			// Ordered by distance: keep the distances the radius check computes.
			s.geo = s.geo[:0]
			f.geo = &s.geo
		}
		ix.applyDocFilters(match, &f)
		f.geo = nil
	}
	if n == 0 || orMode {
		copy(final, match)
		final.and(asel)
		final.and(gsel)
	}
	areaCnt, groupCnt := ix.facets(match, asel, gsel)
	res := Result{
		Total:             final.count(),
		AreaFacets:        facetMap(&areaCnt),
		TargetGroupFacets: facetMap(&groupCnt),
	}
	if n > 0 {
		res.Suggestion = ix.suggest(q.Text, s)
	}

	cands := s.cands[:0]
	names, pfx := ix.nameKey, ix.namePfx
	byName := func(a, b cand) int {
		if pa, pb := pfx[a.doc], pfx[b.doc]; pa != pb {
			if pa < pb {
				return -1
			}
			return 1
		}
		if r := strings.Compare(names[a.doc], names[b.doc]); r != 0 {
			return r
		}
		return strings.Compare(ix.ids[a.doc], ix.ids[b.doc])
	}
	var cmp func(a, b cand) int
	switch {
	case n > 0:
		cands = ix.scoreFinal(terms, final, orMode, min(pageK(q.Offset, q.Limit), res.Total), s, cands)
		cmp = func(a, b cand) int {
			if a.cnt != b.cnt {
				return int(b.cnt) - int(a.cnt)
			}
			if a.score != b.score {
				if a.score > b.score {
					return -1
				}
				return 1
			}
			return byName(a, b)
		}
	case f.hasGeo:
		cmp = func(a, b cand) int {
			if a.hasDist != b.hasDist {
				if a.hasDist {
					return -1
				}
				return 1
			}
			if a.dist != b.dist {
				if a.dist < b.dist {
					return -1
				}
				return 1
			}
			return byName(a, b)
		}
		top := newTopK(cands, pageK(q.Offset, q.Limit), cmp)
		if f.radius > 0 && f.sure != nil {
			// The cells the radius reaches, nearest first: once a cell's bound is beyond the page's
			// farthest, no document not yet seen can enter the page (each of its points is in a cell not
			// visited yet), so only the documents of the first few cells have their distance computed.
			k := pageK(q.Offset, q.Limit)
			cells := s.gcells
			slices.SortStableFunc(cells, func(a, b geoCell) int {
				if a.lb < b.lb {
					return -1
				}
				if a.lb > b.lb {
					return 1
				}
				return 0
			})
			seen := s.tmp
			seen.zero()
			for _, c := range cells {
				if len(top.items) == k && c.lb > top.items[0].dist {
					break
				}
				for _, d := range c.docs {
					if !final.has(d) || seen.has(d) {
						continue
					}
					seen.set(d)
					dist, ok := f.nearest(ix.meta[d].points)
					top.push(cand{doc: d, dist: dist, hasDist: ok})
				}
			}
		} else if f.radius > 0 {
			// Every match passed the radius check, which kept a lower bound of its distance or the
			// distance: a document whose bound is beyond the page's farthest cannot enter the page, and
			// its distance is never computed.
			k := pageK(q.Offset, q.Limit)
			for _, g := range s.geo {
				if !final.has(g.doc) {
					continue
				}
				if !g.exact {
					if k > 0 && len(top.items) == k && g.lb > top.items[0].dist {
						continue
					}
					g.dist, _ = f.nearest(ix.meta[g.doc].points)
				}
				top.push(cand{doc: g.doc, dist: g.dist, hasDist: true})
			}
		} else {
			final.each(func(d uint32) {
				dist, ok := f.nearest(ix.meta[d].points)
				top.push(cand{doc: d, dist: dist, hasDist: ok})
			})
		}
		cands = top.items
	default:
		cmp = byName
		k := pageK(q.Offset, q.Limit)
		top := newTopK(cands, k, cmp)
		// Filters alone can match tens of thousands of documents, nearly all
		// of which sort after a full page: the name prefix of the page's
		// worst rejects them without the comparison's call (an equal prefix
		// is left to byName).
		for i, w := range final {
			for ; w != 0; w &= w - 1 {
				d := uint32(i<<6 | bits.TrailingZeros64(w))
				if len(top.items) == k && k > 0 && pfx[d] > pfx[top.items[0].doc] {
					continue
				}
				top.push(cand{doc: d})
			}
		}
		cands = top.items
	}
	s.cands = cands[:0] // keep the grown buffer for the next query
	clear(s.gcells)     // nor keep the cells' lists past the read lock
	s.gcells = s.gcells[:0]

	page := pageOf(cands, q.Offset, q.Limit, cmp)
	res.Hits = make([]Hit, len(page))
	for i, p := range page {
		h := Hit{ID: ix.ids[p.doc], Score: p.score}
		if f.hasGeo {
			if n > 0 {
				p.dist, p.hasDist = f.nearest(ix.meta[p.doc].points)
			}
			if p.hasDist {
				h.HasDistance = true
				h.DistanceMeters = int32(math.Round(min(p.dist, math.MaxInt32)))
			}
		}
		res.Hits[i] = h
	}
	return res
}

// scoreFinal computes the BM25F score of the documents in final that can
// rank among the first k and appends them as candidates. Per term, a
// document's score is that of its best variant, so "senior seniorzy
// seniorów" in one description does not triple the term's weight. In
// orMode a document's score is discounted in proportion to the terms it
// misses (coordination factor).
//
// A one-term query (the common case: "żłobek", "opieka") does not score
// every match. Its variants are visited from the highest possible
// contribution (weight times the list's largest impact) down, keeping the
// best k distinct documents seen; once the k-th of them scores more than
// the next variant could give anyone, no document outside can reach the
// top k and no document inside can change its score (its best variant is
// already counted), so the rest is skipped (the MaxScore idea, over a
// term's variants). Total and facets come from the match set, so they
// stay exact.
func (ix *Index) scoreFinal(terms []qterm, final bitset, orMode bool, k int, s *scratch, cands []cand) []cand {
	if len(terms) == 1 {
		return ix.scoreOne(&terms[0], final, k, s, cands)
	}
	if !orMode && len(terms) <= maxPrunedTerms {
		return ix.scoreMany(terms, final, k, s, cands)
	}
	// The exhaustive path's accumulators are allocated when first needed:
	// most queries never take it, and every idle scratch keeps them.
	if n := len(ix.ids); len(s.acc) < n {
		s.acc = make([]float32, n+n/8)
		s.cnt = make([]uint8, n+n/8)
	}
	cur, acc, cnt := s.cur, s.acc, s.cnt
	for i := range terms {
		qt := &terms[i]
		for _, v := range qt.vs {
			wk := v.w * (k1 + 1) / impScale
			p := &ix.post[v.id]
			imps := p.imps[:len(p.docs)]
			for j, d := range p.docs {
				if final[d>>6]&(1<<(d&63)) == 0 {
					continue
				}
				if sc := wk * float32(imps[j]); sc > cur[d] {
					cur[d] = sc
				}
			}
		}
		ts := s.tsets[i]
		for w, x := range final {
			if orMode {
				x &= ts[w]
			}
			for ; x != 0; x &= x - 1 {
				d := uint32(w<<6 | bits.TrailingZeros64(x))
				cnt[d]++
				acc[d] += qt.idf * cur[d]
				cur[d] = 0
			}
		}
	}
	nq := float32(len(terms))
	final.each(func(d uint32) {
		sc := acc[d]
		if orMode {
			sc = sc * float32(cnt[d]) / nq
		}
		cands = append(cands, cand{doc: d, cnt: cnt[d], score: sc})
		acc[d], cnt[d] = 0, 0
	})
	return cands
}

// scoreOne ranks a one-term query; see scoreFinal.
func (ix *Index) scoreOne(qt *qterm, final bitset, k int, s *scratch, cands []cand) []cand {
	cur := s.cur
	vs := s.vs[:0]
	for _, v := range qt.vs {
		vs = append(vs, boundedVariant{v, v.w * (k1 + 1) / impScale * float32(ix.post[v.id].maxImp)})
	}
	// Highest bound first; the variant id keeps the order deterministic.
	slices.SortFunc(vs, func(a, b boundedVariant) int {
		if a.ub != b.ub {
			if a.ub > b.ub {
				return -1
			}
			return 1
		}
		return int(a.id) - int(b.id)
	})
	s.vs = vs
	// heap is a min-heap of the best k distinct documents seen, by a score
	// that is a lower bound of theirs (cur only grows); inHeap marks them.
	heap := s.heap[:0]
	inHeap := s.tmp
	inHeap.zero()
	touched := s.touched[:0]
	theta := float32(-1)
	for _, v := range vs {
		if len(heap) == k && theta > v.ub {
			break
		}
		wk := v.w * (k1 + 1) / impScale
		p := &ix.post[v.id]
		imps := p.imps[:len(p.docs)]
		for j, d := range p.docs {
			if final[d>>6]&(1<<(d&63)) == 0 {
				continue
			}
			sc := wk * float32(imps[j])
			c := cur[d]
			if sc <= c {
				continue
			}
			if c == 0 {
				touched = append(touched, d)
			}
			cur[d] = sc
			if k == 0 || inHeap.has(d) {
				continue
			}
			if len(heap) < k {
				heap = heapPush(heap, scored{d, sc})
				inHeap.set(d)
			} else if sc > heap[0].score {
				inHeap.clear(heap[0].doc)
				heap[0] = scored{d, sc}
				heapDown(heap, 0)
				inHeap.set(d)
			}
			if len(heap) == k {
				theta = heap[0].score
			}
		}
	}
	for _, d := range touched {
		// With an early stop, documents below theta cannot reach the top
		// k; without one theta is -1 and every match is a candidate.
		if cur[d] >= theta {
			cands = append(cands, cand{doc: d, cnt: 1, score: qt.idf * cur[d]})
		}
		cur[d] = 0
	}
	s.heap, s.touched = heap[:0], touched[:0]
	return cands
}

// maxPrunedTerms bounds the terms of a query ranked by scoreMany (its
// per-document state is one float per term).
const maxPrunedTerms = 8

// boundSlack absorbs float rounding in the bounds of scoreMany: a bound
// is only used to skip work, so erring wide keeps the result exact.
const boundSlack = 1e-4

type termVariant struct {
	term int
	variant
	ub float32 // idf times the largest contribution of the variant
}

// scoreMany ranks an all-terms query of several terms, the MaxScore idea
// of scoreOne over every term's variants at once. Variants are visited
// from the highest bound down; a document's partial score is the sum over
// terms of its best variant seen so far. Once the k-th best partial score
// exceeds what a document not yet seen could reach (the sum over terms of
// the next variant's bound), the visit stops; the documents seen whose
// bound can still reach the top k get their missing terms looked up in the
// remaining variants (binary search), so every candidate's score is exact.
func (ix *Index) scoreMany(terms []qterm, final bitset, k int, s *scratch, cands []cand) []cand {
	n := len(terms)
	order := s.tv[:0]
	for i := range terms {
		for _, v := range terms[i].vs {
			ub := terms[i].idf * v.w * (k1 + 1) / impScale * float32(ix.post[v.id].maxImp)
			order = append(order, termVariant{i, v, ub})
		}
	}
	slices.SortFunc(order, func(a, b termVariant) int {
		if a.ub != b.ub {
			if a.ub > b.ub {
				return -1
			}
			return 1
		}
		if a.term != b.term {
			return a.term - b.term
		}
		return int(a.id) - int(b.id)
	})
	s.tv = order
	// rem[i] is the bound of term i's next variant to visit: the order is
	// by bound, so the first unvisited one of the term in it.
	var rem [maxPrunedTerms]float32
	var left [maxPrunedTerms]int
	for _, tv := range order {
		if left[tv.term] == 0 {
			rem[tv.term] = tv.ub
		}
		left[tv.term]++
	}
	// A document's state is found by its rank in final (the matches before it): the popcounts before
	// each word of final, a few KiB, and the state of the matches alone (tens of thousands of documents, not
	// the corpus) stay in the cache, where a per-document slot array of the corpus cost a miss a posting.
	pre := s.pre[:0]
	m := 0
	for _, w := range final {
		pre = append(pre, uint32(m))
		m += bits.OnesCount64(w)
	}
	s.pre = pre
	best := slices.Grow(s.best[:0], m*n)[:m*n] // per match: n best contributions (without idf)
	lsum := slices.Grow(s.lsum[:0], m)[:m]     // per match: its partial score
	clear(best)
	clear(lsum)
	heap := s.heap[:0]
	inHeap := s.tmp
	inHeap.zero()
	theta := float32(-1)
	stop := len(order)
	for oi, tv := range order {
		if len(heap) == k && k > 0 {
			var r float32
			for i := range n {
				r += rem[i]
			}
			if theta*(1-boundSlack) > r*(1+boundSlack) && ix.completeCheaper(order[oi:], terms, best, rem[:n], theta) {
				stop = oi
				break
			}
		}
		t, idf := tv.term, terms[tv.term].idf
		wk := tv.w * (k1 + 1) / impScale
		p := &ix.post[tv.id]
		imps := p.imps[:len(p.docs)]
		for j, d := range p.docs {
			fw, bit := final[d>>6], uint64(1)<<(d&63)
			if fw&bit == 0 {
				continue
			}
			c := wk * float32(imps[j])
			sl := int(pre[d>>6]) + bits.OnesCount64(fw&(bit-1))
			b := &best[sl*n+t]
			if c <= *b {
				continue
			}
			ls := &lsum[sl]
			*ls += idf * (c - *b)
			*b = c
			if k == 0 || inHeap.has(d) {
				continue
			}
			if len(heap) < k {
				heap = heapPush(heap, scored{d, *ls})
				inHeap.set(d)
			} else if *ls > heap[0].score {
				inHeap.clear(heap[0].doc)
				heap[0] = scored{d, *ls}
				heapDown(heap, 0)
				inHeap.set(d)
			}
			if len(heap) == k {
				theta = heap[0].score
			}
		}
		left[t]--
		rem[t] = 0
		if left[t] > 0 {
			for _, nx := range order[oi+1:] {
				if nx.term == t {
					rem[t] = nx.ub
					break
				}
			}
		}
	}
	score := func(b []float32) float32 {
		var sc float32
		for i := range n {
			sc += terms[i].idf * b[i]
		}
		return sc
	}
	if stop == len(order) {
		// Every variant visited: every partial score is exact (and every match was seen: it has every
		// term).
		// Only the matches that can reach the page are candidates: the heap holds k documents whose scores
		// are at least theta, so one below it cannot rank among the first k.
		lim := float32(-1)
		if k > 0 && len(heap) == k {
			lim = theta * (1 - boundSlack)
		}
		sl := 0
		final.each(func(d uint32) {
			if sc := score(best[sl*n : sl*n+n]); sc*(1+boundSlack) >= lim {
				cands = append(cands, cand{doc: d, cnt: uint8(n), score: sc})
			}
			sl++
		})
		s.best, s.lsum, s.heap = best[:0], lsum[:0], heap[:0]
		return cands
	}
	// The documents whose bound still reaches theta are completed from the
	// highest bound down, keeping the best k exact scores: once a bound is
	// below the k-th of them, no document left can enter the page. A match
	// not seen has only the bounds of the variants left, which the stop
	// put below theta.
	open := s.open[:0]
	fdocs := slices.Grow(s.fdocs[:0], m)[:m]
	sl := 0
	final.each(func(d uint32) {
		fdocs[sl] = d
		sl++
	})
	s.fdocs = fdocs
	for sl := range m {
		b := best[sl*n : sl*n+n]
		var u float32
		for i := range n {
			u += max(terms[i].idf*b[i], rem[i])
		}
		if u*(1+boundSlack) >= theta*(1-boundSlack) {
			open = append(open, scored{uint32(sl), u})
		}
	}
	// Usually only the first few dozen of the open documents are completed before the bound falls below the
	// page, out of tens of thousands: a heap pops them in the order a full sort would give (highest bound,
	// then lowest slot: a total order) for O(n) to build instead of O(n log n).
	openHeapInit(open)
	rest := order[stop:]
	exact := heap[:0]
	for len(open) > 0 {
		var o scored
		o, open = openHeapPop(open)
		if k > 0 && len(exact) == k && o.score*(1+boundSlack) < exact[0].score*(1-boundSlack) {
			break
		}
		sl := int(o.doc)
		d := fdocs[sl]
		b := best[sl*n : sl*n+n]
		// Complete the terms whose best variant may be unvisited.
		for _, tv := range rest {
			if tv.ub <= terms[tv.term].idf*b[tv.term]*(1-boundSlack) {
				continue
			}
			p := &ix.post[tv.id]
			s.lookups++
			if j, ok := slices.BinarySearch(p.docs, d); ok {
				b[tv.term] = max(b[tv.term], tv.w*(k1+1)/impScale*float32(p.imps[j]))
			}
		}
		sc := score(b)
		cands = append(cands, cand{doc: d, cnt: uint8(n), score: sc})
		if len(exact) < k {
			exact = heapPush(exact, scored{d, sc})
		} else if sc > exact[0].score {
			exact[0] = scored{d, sc}
			heapDown(exact, 0)
		}
	}
	s.open = open[:0]
	s.best, s.lsum, s.heap = best[:0], lsum[:0], exact[:0]
	return cands
}

// lookupCost is what completing one term of one document costs by binary search in a list, counted in
// postings read by the visit of scoreMany: a search touches about log2(list) cache lines where the visit
// streams through its list (measured: about 110 ns against 7 ns a posting at 500,000 services).
const lookupCost = 16

// completeCheaper reports whether scoreMany, whose visit could stop before the variants rest, should:
// the matches seen whose bound still reaches theta would each be completed by a lookup in the variants
// left, and when they are many (a two-word query whose first list holds tens of thousands of matches
// that all reach the page, as "punkt wsparcia" does) reading the next list costs less than their
// lookups. The count stops as soon as the lookups cost more than reading everything left.
func (ix *Index) completeCheaper(rest []termVariant, terms []qterm, best, rem []float32, theta float32) bool {
	read := 0
	for _, tv := range rest {
		read += len(ix.post[tv.id].docs)
	}
	per := lookupCost * len(rest)
	n := len(rem)
	budget := read / per // the open documents whose lookups cost as much as reading the rest
	open := 0
	lim := theta * (1 - boundSlack)
	for sl := 0; sl+n <= len(best); sl += n {
		b := best[sl : sl+n]
		var u float32
		for i, x := range b {
			u += max(terms[i].idf*x, rem[i])
		}
		if u*(1+boundSlack) >= lim { // a match not seen has only rem, below theta
			if open++; open > budget {
				return false
			}
		}
	}
	return true
}

// openFirst orders the open documents of scoreMany: highest bound first, then the lowest slot.
func openFirst(a, b scored) bool { return a.score > b.score || a.score == b.score && a.doc < b.doc }

func openHeapInit(h []scored) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		openHeapDown(h, i)
	}
}

// openHeapPop removes and returns the first of h by openFirst.
func openHeapPop(h []scored) (scored, []scored) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	openHeapDown(h, 0)
	return top, h
}

func openHeapDown(h []scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && openFirst(h[r], h[l]) {
			m = r
		}
		if !openFirst(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

type boundedVariant struct {
	variant
	ub float32
}

type scored struct {
	doc   uint32
	score float32
}

func heapPush(h []scored, x scored) []scored {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].score <= h[i].score {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func heapDown(h []scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].score < h[l].score {
			m = r
		}
		if h[i].score <= h[m].score {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// pageK is the number of best results a page needs: offset+limit.
func pageK(offset, limit int) int {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return max(offset, 0) + limit
}

// topK keeps the k smallest items pushed by cmp (a max-heap, the worst at
// the root), so a query ordered by name or distance over hundreds of
// thousands of matches holds k candidates, not all of them.
type topK[T any] struct {
	items []T
	k     int
	cmp   func(a, b T) int
}

func newTopK[T any](buf []T, k int, cmp func(a, b T) int) *topK[T] {
	return &topK[T]{items: buf[:0], k: k, cmp: cmp}
}

func (t *topK[T]) push(x T) {
	h := t.items
	if len(h) < t.k {
		h = append(h, x)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if t.cmp(h[i], h[p]) <= 0 {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		t.items = h
		return
	}
	if t.k == 0 || t.cmp(x, h[0]) >= 0 {
		return
	}
	h[0] = x
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && t.cmp(h[r], h[l]) > 0 {
			w = r
		}
		if t.cmp(h[w], h[i]) <= 0 {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// pageOf orders items by cmp and returns [offset, offset+limit). It sorts
// fully only when the page reaches deep into the list; otherwise a bounded
// heap selects the top offset+limit in O(n log k), which is what keeps
// "all 100k documents, first page" queries cheap. items is reordered.
func pageOf[T any](items []T, offset, limit int, cmp func(a, b T) int) []T {
	if limit <= 0 {
		limit = DefaultLimit
	}
	offset = max(offset, 0)
	if offset >= len(items) {
		return nil
	}
	limit = min(limit, len(items)-offset)
	k := offset + limit
	if k*4 >= len(items) {
		slices.SortFunc(items, cmp)
		return items[offset:k]
	}
	// Max-heap of the best k seen so far, worst at the root.
	h := items[:k]
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			w := l
			if r := l + 1; r < k && cmp(h[r], h[l]) > 0 {
				w = r
			}
			if cmp(h[w], h[i]) <= 0 {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := k; i < len(items); i++ {
		if cmp(items[i], h[0]) < 0 {
			h[0], items[i] = items[i], h[0]
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h[offset:k]
}
