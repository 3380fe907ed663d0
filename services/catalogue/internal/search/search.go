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

type scratch struct {
	cur, acc    []float32
	cnt         []uint8
	termTouched []uint32
	touched     []uint32
	cands       []cand
	fz          fuzzyScratch
}

const maxIdleScratch = 8

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
	if n := len(ix.docs); len(s.cur) < n {
		n += n / 8
		s.cur = make([]float32, n)
		s.acc = make([]float32, n)
		s.cnt = make([]uint8, n)
	}
	return s
}

func (ix *Index) putScratch(s *scratch) {
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
	terms := make([]qterm, 0, len(keep))
	for _, t := range keep {
		n := utf8.RuneCountInString(t)
		prefixOK := n >= 4 || (typing && t == last && n >= 2)
		terms = append(terms, ix.expand(t, prefixOK, s))
	}
	return terms
}

func (ix *Index) df(id uint32) int { return len(ix.post[id]) }

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
	addFuzzy := func(t string, weight float32) {
		d := maxEdits(utf8.RuneCountInString(t))
		if d == 0 || hasDigit(t) {
			return
		}
		ix.voc.fuzzy(t, d, &s.fz, func(id uint32, d int) {
			add(id, weight*float32(math.Pow(fuzzyDecay, float64(d))))
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
			addFuzzy(st, wStem)
		}
	}
	addFuzzy(tok, 1)

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

// score accumulates BM25F scores for the query terms into s.acc and the
// number of matched terms into s.cnt; it returns the touched doc numbers.
func (ix *Index) score(terms []qterm, s *scratch) []uint32 {
	cur, acc, cnt := s.cur, s.acc, s.cnt
	touched := s.touched[:0]
	for _, qt := range terms {
		tt := s.termTouched[:0]
		for _, v := range qt.vs {
			wk := v.w * (k1 + 1)
			for _, p := range ix.post[v.id] {
				d := p.doc
				nm := &ix.norm[d]
				var t float32
				tf := p.tf
				for f := 0; tf != 0; f++ {
					t += float32(tf&tfMax) * nm[f]
					tf >>= tfBits
				}
				sc := wk * t / (t + k1)
				// A query term counts once per document, through its
				// best variant, so "senior seniorzy seniorów" in one
				// description does not triple the term's weight.
				if cur[d] == 0 {
					tt = append(tt, d)
				}
				if sc > cur[d] {
					cur[d] = sc
				}
			}
		}
		for _, d := range tt {
			if cnt[d] == 0 {
				touched = append(touched, d)
			}
			cnt[d]++
			acc[d] += qt.idf * cur[d]
			cur[d] = 0
		}
		s.termTouched = tt
	}
	s.touched = touched
	return touched
}

// filter is a query's compiled non-text constraints.
type filter struct {
	flags      uint8 // hot flags a document must have
	areas, tgs uint32
	hasAge     bool
	age        int32
	hasTerc    bool
	tercs      []uint64 // bitset over interned TERC ids
	hasOpen    bool
	wd         int8
	minute     int16
	hourBit    int // weekMap bit of wd and minute
	hasGeo     bool
	center     LatLng
	radius     float64 // <= 0: unbounded
	box        bool    // latitude box valid
	lngBox     bool
	minLat     float64
	maxLat     float64
	minLng     float64
	maxLng     float64
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
	}
	if len(q.Tercs) > 0 {
		// Unknown codes match nothing, but the filter stays on: a
		// filter on an unknown gmina must not widen to everything.
		f.hasTerc = true
		f.tercs = make([]uint64, (len(ix.tercIDs)+63)/64)
		for _, c := range q.Tercs {
			if id, ok := ix.tercIDs[c]; ok {
				f.tercs[id/64] |= 1 << (id % 64)
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
		} else {
			f.radius = 0
		}
	}
	return f
}

func haversine(a, b LatLng) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLng/2)
	h := s1*s1 + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*s2*s2
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
		if d := haversine(f.center, p); d < best {
			best, ok = d, true
		}
	}
	return best, ok
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

// base reports whether the document passes every filter except Areas and
// TargetGroups, which are evaluated separately for the facets.
func (f *filter) base(ix *Index, d uint32) (ok bool, dist float64, hasDist bool) {
	h := &ix.hot[d]
	if h.flags&f.flags != f.flags {
		return false, 0, false
	}
	if f.hasAge && (h.minAge >= 0 && f.age < h.minAge || h.maxAge >= 0 && f.age > h.maxAge) {
		return false, 0, false
	}
	if f.hasGeo && f.box {
		if h.flags&hotPoints == 0 || h.maxLat < f.minLat32 || h.minLat > f.maxLat32 ||
			f.lngBox && (h.maxLng < f.minLng32 || h.minLng > f.maxLng32) {
			return false, 0, false
		}
	}
	if f.hasTerc && !f.tercMatch(h, &ix.meta[d]) {
		return false, 0, false
	}
	if f.hasOpen {
		w := &ix.week[d]
		if !weekBit(&w.full, f.hourBit) && (!weekBit(&w.any, f.hourBit) || !openAt(ix.meta[d].hours, f.wd, f.minute)) {
			return false, 0, false
		}
	}
	if f.hasGeo {
		dist, hasDist = f.nearest(ix.meta[d].points)
		if f.radius > 0 && (!hasDist || dist > f.radius) {
			return false, 0, false
		}
	}
	return true, dist, hasDist
}

func (f *filter) tercMatch(h *docHot, m *docMeta) bool {
	tercs := h.terc[:min(h.nTerc, 2)]
	if h.nTerc > 2 {
		tercs = m.tercs
	}
	for _, t := range tercs {
		if f.tercs[t/64]&(1<<(t%64)) != 0 {
			return true
		}
	}
	return false
}

// collector applies the filters to candidate documents and counts facets.
type collector struct {
	ix       *Index
	f        *filter
	cands    []cand
	areaCnt  [32]int
	groupCnt [32]int
}

func (c *collector) reset() {
	c.cands = c.cands[:0]
	c.areaCnt = [32]int{}
	c.groupCnt = [32]int{}
}

func addBits(cnt *[32]int, v uint32) {
	for v != 0 {
		cnt[bits.TrailingZeros32(v)]++
		v &= v - 1
	}
}

func (c *collector) consider(d uint32, score float32, n uint8) {
	h := &c.ix.hot[d]
	ok, dist, hasDist := c.f.base(c.ix, d)
	if !ok {
		return
	}
	areaOK := c.f.areas == 0 || h.areas&c.f.areas != 0
	groupOK := c.f.tgs == 0 || h.tgs&c.f.tgs != 0
	if groupOK {
		addBits(&c.areaCnt, h.areas)
	}
	if areaOK {
		addBits(&c.groupCnt, h.tgs)
	}
	if areaOK && groupOK {
		c.cands = append(c.cands, cand{doc: d, cnt: n, score: score, dist: dist, hasDist: hasDist})
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
func (ix *Index) Search(q Query) Result {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := ix.getScratch()
	defer ix.putScratch(s)

	f := ix.compileFilter(&q)
	c := collector{ix: ix, f: &f, cands: s.cands[:0]}
	terms := ix.parseQuery(q.Text, s)
	if len(terms) == 0 {
		for d := range ix.hot {
			if ix.hot[d].flags&f.flags == f.flags {
				c.consider(uint32(d), 0, 0)
			}
		}
	} else {
		touched := ix.score(terms, s)
		n := uint8(len(terms))
		for _, d := range touched {
			if s.cnt[d] == n {
				c.consider(d, s.acc[d], n)
			}
		}
		if len(c.cands) == 0 && n > 1 {
			c.reset()
			for _, d := range touched {
				// Coordination factor: partial matches are
				// discounted in proportion to the missing terms.
				c.consider(d, s.acc[d]*float32(s.cnt[d])/float32(n), s.cnt[d])
			}
		}
		for _, d := range touched {
			s.acc[d], s.cnt[d] = 0, 0
		}
	}
	s.cands = c.cands[:0] // keep the grown buffer for the next query

	meta, docs := ix.meta, ix.docs
	byName := func(a, b cand) int {
		if r := strings.Compare(meta[a.doc].nameKey, meta[b.doc].nameKey); r != 0 {
			return r
		}
		return strings.Compare(docs[a.doc].ID, docs[b.doc].ID)
	}
	var cmp func(a, b cand) int
	switch {
	case len(terms) > 0:
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
	default:
		cmp = byName
	}

	res := Result{
		Total:             len(c.cands),
		AreaFacets:        facetMap(&c.areaCnt),
		TargetGroupFacets: facetMap(&c.groupCnt),
	}
	if len(terms) > 0 {
		res.Suggestion = ix.suggest(q.Text, s)
	}
	page := pageOf(c.cands, q.Offset, q.Limit, cmp)
	res.Hits = make([]Hit, len(page))
	for i, p := range page {
		h := Hit{ID: docs[p.doc].ID, Score: p.score}
		if p.hasDist {
			h.HasDistance = true
			h.DistanceMeters = int32(math.Round(min(p.dist, math.MaxInt32)))
		}
		res.Hits[i] = h
	}
	return res
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
