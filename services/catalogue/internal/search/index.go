package search

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// LatLng is a WGS84 coordinate in degrees.
type LatLng struct{ Lat, Lng float64 }

// Interval is one weekly opening interval in local time (Europe/Warsaw).
// Weekday is 1=Monday..7=Sunday; OpenMin and CloseMin are minutes from
// midnight and CloseMin may be 1440. An interval with CloseMin < OpenMin runs
// past midnight into the next weekday.
type Interval struct {
	Weekday           int
	OpenMin, CloseMin int
}

// Doc is the searchable projection of one catalogue service.
type Doc struct {
	ID       string // service UUID
	Revision int64  // store revision of this version; Upsert ignores a Doc older than what the index has (and older than a tombstone)

	Name, AlternateName, Description, Eligibility string

	Keywords string // extra text: area names, target-group names, provider names, location names/cities

	Areas        uint32 // bit i set = area i (1..14)
	TargetGroups uint32 // bit i set = target group i (1..8)

	MinAge, MaxAge int32 // -1 = no bound

	Tercs  []string // TERYT TERC codes of the gminas of its locations plus its origin instance
	Origin string   // origin TERC
	Free   bool
	Active bool
	Points []LatLng
	Hours  []Interval

	// For List ordering/filtering by the caller:
	Status                 int32
	Providers              []string
	RequiresDecision       bool
	CreateTime, UpdateTime time.Time
	// SortKey is the Polish collation key of Name, computed by the caller (List orders by it).
	SortKey []byte
}

// Field indexes and BM25F weights.
const (
	fName = iota
	fAlt
	fKeywords
	fDesc
	fElig
	nFields
)

var fieldWeight = [nFields]float32{fName: 3, fAlt: 2, fKeywords: 1.5, fDesc: 1, fElig: 1}

// posting packs the per-field term frequencies of one (term, doc) pair into
// 6 bits per field. Eight bytes per posting instead of a struct with five
// counters keeps 100k documents of ~1 KB text around 100 MB of postings;
// frequencies above 63 are saturated, which BM25's saturation makes
// irrelevant anyway.
type posting struct {
	doc uint32
	tf  uint32
}

const (
	tfBits = 6
	tfMax  = 1<<tfBits - 1
)

type hourIv struct {
	wd          int8
	open, close int16
}

// docHot is what the common filters need, kept to 44 bytes per document
// so that scanning all 100k documents stays within the CPU caches; the rarer
// filters' data lives in docMeta.
type docHot struct {
	flags  uint8
	nTerc  uint8     // number of TERC ids; the first two are inline in terc
	terc   [2]uint32 // most services have one or two gminas: no docMeta access
	areas  uint32
	tgs    uint32
	minAge int32
	maxAge int32
	// Bounding box of the points (hotPoints set), rounded outwards, so a
	// radius query rejects most documents without touching docMeta.
	minLat, maxLat, minLng, maxLng float32
}

const (
	hotLive uint8 = 1 << iota
	hotActive
	hotFree
	hotPoints
)

// weekMap summarises opening hours per hour of the week (bit
// (weekday-1)*24+hour): any = some interval overlaps the hour, full = one
// interval covers all of it. Most "open at" checks are settled by one bit
// without walking the intervals.
type weekMap struct{ any, full [3]uint64 }

func (w *weekMap) set(bits *[3]uint64, i int) { bits[i/64] |= 1 << (i % 64) }

func weekBit(bits *[3]uint64, i int) bool { return bits[i/64]&(1<<(i%64)) != 0 }

func buildWeek(hours []hourIv) weekMap {
	var w weekMap
	for _, h := range hours {
		// Split overnight intervals into their two days.
		type span struct{ wd, open, close int }
		spans := []span{{int(h.wd), int(h.open), int(h.close)}}
		if h.close < h.open {
			spans = []span{{int(h.wd), int(h.open), 1440}, {int(h.wd)%7 + 1, 0, int(h.close)}}
		}
		for _, sp := range spans {
			for hr := sp.open / 60; hr*60 < sp.close && hr < 24; hr++ {
				i := (sp.wd-1)*24 + hr
				w.set(&w.any, i)
				if sp.open <= hr*60 && sp.close >= hr*60+60 {
					w.set(&w.full, i)
				}
			}
		}
	}
	return w
}

type docMeta struct {
	tercs   []uint32
	points  []LatLng
	hours   []hourIv
	nameKey string // folded name, the tie-break order
}

// Index is an in-memory full-text, faceted and geo index of catalogue
// services. The zero value is not usable; call New.
type Index struct {
	mu sync.RWMutex

	byID map[string]uint32
	docs []Doc // by internal doc number; ID "" marks a free slot
	hot  []docHot
	week []weekMap // only read by OpenAt queries
	meta []docMeta
	flen [][nFields]uint16 // field lengths in tokens
	// norm is fieldWeight / (1 - b + b*len/avgLen) per field, so the
	// scoring loop multiplies instead of dividing. It is computed against
	// normAvg, a snapshot of the average field lengths refreshed for all
	// documents once the live averages drift by more than normDrift;
	// a 2% stale average changes BM25 scores by well under 1%.
	norm    [][nFields]float32
	normAvg [nFields]float64
	inBulk  bool
	free    []uint32
	live    int
	tombs   map[string]int64

	lenSum [nFields]int64
	voc    vocab
	post   [][]posting // by term id, ordered by doc number

	tercIDs map[string]uint32

	// Writer-only scratch (guarded by mu held for writing).
	wtok   tokenizer
	wterms []uint64

	// Reader scratch. A plain free list rather than sync.Pool: the
	// buffers are sized to the corpus (a few MB) and a GC emptying a
	// sync.Pool would make the next queries pay for re-allocating them,
	// which shows up directly in tail latency.
	scratchMu sync.Mutex
	scratches []*scratch
}

// New returns an empty index.
func New() *Index {
	return &Index{
		byID:    make(map[string]uint32),
		tombs:   make(map[string]int64),
		voc:     newVocab(),
		tercIDs: make(map[string]uint32),
	}
}

// Len returns the number of live documents (active or not).
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Get returns a copy of the indexed document.
func (ix *Index) Get(id string) (Doc, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return Doc{}, false
	}
	return cloneDoc(&ix.docs[n]), true
}

// Upsert adds or replaces a document. A Doc with a Revision lower than the
// indexed version, or not higher than a tombstone for the same ID, is
// ignored, so events replayed out of order cannot resurrect or roll back a
// service. An equal revision replaces the stored version (idempotent replay).
func (ix *Index) Upsert(d Doc) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.upsertLocked(d)
}

// BulkLoad upserts docs under one lock acquisition and then tidies the
// internal structures; use it for the start-up rebuild from the store.
// Searches block for its duration (about 3 s per 100k documents), so a
// rebuild of a serving instance should load a fresh Index and swap it in.
func (ix *Index) BulkLoad(docs []Doc) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.byID = growMap(ix.byID, len(docs))
	if cap(ix.docs)-len(ix.docs) < len(docs) {
		ix.docs = slices.Grow(ix.docs, len(docs))
		ix.hot = slices.Grow(ix.hot, len(docs))
		ix.week = slices.Grow(ix.week, len(docs))
		ix.meta = slices.Grow(ix.meta, len(docs))
		ix.flen = slices.Grow(ix.flen, len(docs))
		ix.norm = slices.Grow(ix.norm, len(docs))
	}
	ix.inBulk = true
	for i := range docs {
		ix.upsertLocked(docs[i])
	}
	ix.inBulk = false
	ix.refreshNorms()
	ix.voc.merge()
	// Append-doubling leaves up to half of every postings slice unused;
	// after a load that built most of the index the lists are mostly
	// final, so trim them. After a small batch the walk is not worth it.
	if 2*len(docs) < ix.live {
		return
	}
	for t, p := range ix.post {
		if cap(p)-len(p) > len(p)/8+4 {
			ix.post[t] = slices.Clone(p)
		}
	}
}

func growMap(m map[string]uint32, extra int) map[string]uint32 {
	if len(m) > 0 || extra < 1024 {
		return m
	}
	return make(map[string]uint32, extra)
}

// Delete removes the document and records a tombstone at rev: a later
// Upsert with Revision <= rev is ignored. A Delete older than the indexed
// version is itself stale and ignored. Tombstones are kept for the life of
// the Index (one map entry per deleted ID); a rebuild from the store
// starts without them.
func (ix *Index) Delete(id string, rev int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n, ok := ix.byID[id]; ok {
		if ix.docs[n].Revision > rev {
			return
		}
		ix.removeLocked(n)
	}
	if t, ok := ix.tombs[id]; !ok || rev > t {
		ix.tombs[id] = rev
	}
}

func cloneDoc(d *Doc) Doc {
	c := *d
	c.Tercs = slices.Clone(d.Tercs)
	c.Points = slices.Clone(d.Points)
	c.Hours = slices.Clone(d.Hours)
	c.Providers = slices.Clone(d.Providers)
	return c
}

func (ix *Index) upsertLocked(d Doc) {
	if d.ID == "" {
		return
	}
	n, exists := ix.byID[d.ID]
	if exists && d.Revision < ix.docs[n].Revision {
		return
	}
	if t, ok := ix.tombs[d.ID]; ok {
		if d.Revision <= t {
			return
		}
		delete(ix.tombs, d.ID)
	}
	d = cloneDoc(&d)
	var flen [nFields]uint16
	if exists {
		old, _ := ix.analyze(&ix.docs[n])
		oldTerms := slices.Clone(old)
		for f, l := range ix.flen[n] {
			ix.lenSum[f] -= int64(l)
		}
		var newTerms []uint64
		newTerms, flen = ix.analyze(&d)
		ix.diffPostings(n, oldTerms, newTerms)
	} else {
		n = ix.alloc()
		ix.byID[d.ID] = n
		ix.live++
		var terms []uint64
		terms, flen = ix.analyze(&d)
		for _, e := range terms {
			t := uint32(e >> 32)
			ix.post[t] = insertPosting(ix.post[t], posting{doc: n, tf: uint32(e)})
		}
	}
	ix.docs[n] = d
	ix.flen[n] = flen
	for f, l := range flen {
		ix.lenSum[f] += int64(l)
	}
	ix.hot[n], ix.meta[n] = ix.buildMeta(&d)
	ix.week[n] = buildWeek(ix.meta[n].hours)
	ix.lengthsChanged(n)
}

const normDrift = 0.02

// lengthsChanged keeps norm consistent after document n's field lengths
// changed (n is a freed slot after a delete).
func (ix *Index) lengthsChanged(n uint32) {
	if ix.inBulk {
		return // BulkLoad refreshes everything once at the end
	}
	for f := range nFields {
		avg := ix.avgLen(f)
		if d := avg - ix.normAvg[f]; d > normDrift*ix.normAvg[f] || -d > normDrift*ix.normAvg[f] {
			ix.refreshNorms()
			return
		}
	}
	ix.norm[n] = ix.docNorm(n)
}

func (ix *Index) avgLen(f int) float64 {
	if ix.live == 0 {
		return 0
	}
	return float64(ix.lenSum[f]) / float64(ix.live)
}

func (ix *Index) docNorm(n uint32) [nFields]float32 {
	var nm [nFields]float32
	for f, l := range ix.flen[n] {
		den := 1.0
		if avg := ix.normAvg[f]; avg > 0 {
			den = 1 - bParam + bParam*float64(l)/avg
		}
		nm[f] = float32(float64(fieldWeight[f]) / den)
	}
	return nm
}

func (ix *Index) refreshNorms() {
	for f := range nFields {
		ix.normAvg[f] = ix.avgLen(f)
	}
	for n := range ix.norm {
		ix.norm[n] = ix.docNorm(uint32(n))
	}
}

func (ix *Index) alloc() uint32 {
	if k := len(ix.free); k > 0 {
		n := ix.free[k-1]
		ix.free = ix.free[:k-1]
		return n
	}
	ix.docs = append(ix.docs, Doc{})
	ix.hot = append(ix.hot, docHot{})
	ix.week = append(ix.week, weekMap{})
	ix.meta = append(ix.meta, docMeta{})
	ix.flen = append(ix.flen, [nFields]uint16{})
	ix.norm = append(ix.norm, [nFields]float32{})
	return uint32(len(ix.docs) - 1)
}

func (ix *Index) removeLocked(n uint32) {
	terms, _ := ix.analyze(&ix.docs[n])
	for _, e := range terms {
		t := uint32(e >> 32)
		ix.post[t] = removePosting(ix.post[t], n)
	}
	for f, l := range ix.flen[n] {
		ix.lenSum[f] -= int64(l)
	}
	delete(ix.byID, ix.docs[n].ID)
	ix.docs[n] = Doc{}
	ix.hot[n] = docHot{}
	ix.week[n] = weekMap{}
	ix.meta[n] = docMeta{}
	ix.flen[n] = [nFields]uint16{}
	ix.free = append(ix.free, n)
	ix.live--
	ix.lengthsChanged(n)
}

func docFields(d *Doc) [nFields]string {
	return [nFields]string{fName: d.Name, fAlt: d.AlternateName, fKeywords: d.Keywords, fDesc: d.Description, fElig: d.Eligibility}
}

// analyze tokenises d and returns its distinct terms as term<<32 | packed
// per-field tf, ordered by term id, and the field lengths in tokens. The
// terms alias writer scratch.
func (ix *Index) analyze(d *Doc) ([]uint64, [nFields]uint16) {
	raw := ix.wterms[:0]
	var flen [nFields]uint16
	for f, text := range docFields(d) {
		ix.wtok.each(text, func(tok []byte) {
			raw = append(raw, uint64(ix.voc.id(tok))<<32|uint64(f))
			if flen[f] < 0xffff {
				flen[f]++
			}
		})
	}
	slices.Sort(raw)
	out := raw[:0]
	for i := 0; i < len(raw); {
		t := raw[i] >> 32
		var tf uint32
		for ; i < len(raw) && raw[i]>>32 == t; i++ {
			shift := uint32(raw[i]&0xff) * tfBits
			if c := tf >> shift & tfMax; c < tfMax {
				tf += 1 << shift
			}
		}
		out = append(out, t<<32|uint64(tf))
	}
	ix.wterms = raw
	for len(ix.post) < len(ix.voc.terms) {
		ix.post = append(ix.post, nil)
	}
	return out, flen
}

// diffPostings applies an update in place: unchanged terms get their tf
// rewritten, vanished terms lose the posting, new terms gain one.
func (ix *Index) diffPostings(n uint32, old, cur []uint64) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i]>>32 < cur[j]>>32):
			t := uint32(old[i] >> 32)
			ix.post[t] = removePosting(ix.post[t], n)
			i++
		case i == len(old) || cur[j]>>32 < old[i]>>32:
			t := uint32(cur[j] >> 32)
			ix.post[t] = insertPosting(ix.post[t], posting{doc: n, tf: uint32(cur[j])})
			j++
		default:
			t := uint32(cur[j] >> 32)
			ix.post[t] = insertPosting(ix.post[t], posting{doc: n, tf: uint32(cur[j])})
			i++
			j++
		}
	}
}

func findPosting(list []posting, n uint32) (int, bool) {
	return slices.BinarySearchFunc(list, n, func(p posting, n uint32) int {
		switch {
		case p.doc < n:
			return -1
		case p.doc > n:
			return 1
		}
		return 0
	})
}

// insertPosting inserts or overwrites. The append fast path is the bulk
// load: fresh doc numbers only grow.
func insertPosting(list []posting, p posting) []posting {
	if k := len(list); k == 0 || list[k-1].doc < p.doc {
		return append(list, p)
	}
	i, found := findPosting(list, p.doc)
	if found {
		list[i] = p
		return list
	}
	return slices.Insert(list, i, p)
}

func removePosting(list []posting, n uint32) []posting {
	i, found := findPosting(list, n)
	if !found {
		return list
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		return nil
	}
	return list
}

func (ix *Index) buildMeta(d *Doc) (docHot, docMeta) {
	h := docHot{flags: hotLive, areas: d.Areas, tgs: d.TargetGroups, minAge: d.MinAge, maxAge: d.MaxAge}
	if d.Active {
		h.flags |= hotActive
	}
	if d.Free {
		h.flags |= hotFree
	}
	m := docMeta{nameKey: Normalize(d.Name)}
	for _, p := range d.Points {
		// A NaN coordinate would poison distance ordering; drop it here
		// rather than test for it on every query.
		if !validPoint(p) {
			continue
		}
		lo := func(x float64) float32 { return math.Nextafter32(float32(x), float32(math.Inf(-1))) }
		hi := func(x float64) float32 { return math.Nextafter32(float32(x), float32(math.Inf(1))) }
		if h.flags&hotPoints == 0 {
			h.flags |= hotPoints
			h.minLat, h.maxLat, h.minLng, h.maxLng = lo(p.Lat), hi(p.Lat), lo(p.Lng), hi(p.Lng)
		} else {
			h.minLat, h.maxLat = min(h.minLat, lo(p.Lat)), max(h.maxLat, hi(p.Lat))
			h.minLng, h.maxLng = min(h.minLng, lo(p.Lng)), max(h.maxLng, hi(p.Lng))
		}
		m.points = append(m.points, p)
	}
	add := func(code string) {
		if code == "" {
			return
		}
		id, ok := ix.tercIDs[code]
		if !ok {
			id = uint32(len(ix.tercIDs))
			ix.tercIDs[code] = id
		}
		if !slices.Contains(m.tercs, id) {
			m.tercs = append(m.tercs, id)
		}
	}
	for _, c := range d.Tercs {
		add(c)
	}
	// Origin is normally already in Tercs; adding it again is free and
	// protects against callers that forget.
	add(d.Origin)
	h.nTerc = uint8(min(len(m.tercs), 255))
	copy(h.terc[:], m.tercs)
	for _, iv := range d.Hours {
		if iv.Weekday < 1 || iv.Weekday > 7 || iv.OpenMin < 0 || iv.OpenMin >= 1440 ||
			iv.CloseMin < 0 || iv.CloseMin > 1440 || iv.CloseMin == iv.OpenMin {
			continue
		}
		m.hours = append(m.hours, hourIv{wd: int8(iv.Weekday), open: int16(iv.OpenMin), close: int16(iv.CloseMin)})
	}
	return h, m
}

// List returns the IDs of all live documents (active or not) for which keep
// returns true (nil keeps all), ordered by less (nil: by ID) with ID as the
// final tie-break, paged as [offset, offset+limit); limit <= 0 means
// DefaultLimit. total is the number of documents kept. keep and less run
// under the index read lock: they must not retain the pointers, modify the
// documents or call back into the Index.
func (ix *Index) List(keep func(*Doc) bool, less func(a, b *Doc) bool, offset, limit int) (ids []string, total int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var kept []*Doc
	for i := range ix.docs {
		if ix.hot[i].flags&hotLive == 0 {
			continue
		}
		if keep == nil || keep(&ix.docs[i]) {
			kept = append(kept, &ix.docs[i])
		}
	}
	cmp := func(a, b *Doc) int {
		if less != nil {
			if less(a, b) {
				return -1
			}
			if less(b, a) {
				return 1
			}
		}
		return strings.Compare(a.ID, b.ID)
	}
	page := pageOf(kept, offset, limit, cmp)
	ids = make([]string, len(page))
	for i, d := range page {
		ids[i] = d.ID
	}
	return ids, len(kept)
}
