package search

import (
	"encoding/binary"
	"math"
	"math/bits"
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

// Doc is the searchable projection of one catalogue service: what Upsert
// takes. The index does not keep it: the text fields are tokenised into
// postings and dropped, and only the list projection (see List) is kept.
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

// A posting list holds, in doc-number order, the documents containing one
// term (docs) and beside them (tfc) the code, in the index's tfDict, of the
// per-field term frequencies packed into 6 bits per field (frequencies
// above 63 are saturated, which BM25's saturation makes irrelevant anyway)
// and the impact of the posting (imps):
// its BM25F term score t/(t+k1), t = the field-weighted, length-normalised
// frequency, in units of 1/65535. Impacts make scoring a posting one load
// and one multiply, and maxImp, an upper bound of imps, lets the ranking
// skip a variant that cannot reach the current top k (see scoreFinal).
// Parallel arrays rather than an array of structs: building the match set
// reads only docs (4 bytes a posting), and all serialise as flat arrays.
// A posting costs 7 bytes: the frequencies are read only to recompute
// impacts (refreshNorms) and by an update, never by a search.
type plist struct {
	docs   []uint32
	tfc    []uint8
	imps   []uint16
	maxImp uint16
	// dense mirrors docs as a bitset for the frequent terms (see
	// denseRatio): OR-ing 61 KiB of words into a query's term set beats
	// setting tens of thousands of bits one by one.
	dense bitset
}

// A term found in at least 1/denseRatio of the documents (and at least
// denseMin) also gets a dense bitset: it costs no more than its docs array.
const (
	denseRatio = 32
	denseMin   = 2048
)

const impScale = 65535

// tfDict codes the packed per-field frequencies of the postings in one
// byte. A corpus has few distinct combinations (385 in 6 million postings
// of the synthetic catalogue at 100,000 services, the 255 commonest
// covering all but 0.004% of the postings), so up to tfEscape values get
// codes, and a posting with any other value is coded tfEscape with its
// value in over, keyed by term and doc number. Four bytes a posting become
// one: about 90 MiB at 500,000 services. New values get the free codes as
// they arrive; recodeFrequencies gives the codes to the commonest values
// at the end of a bulk load, after a snapshot is read and whenever the
// escapes grew past recodeAt.
type tfDict struct {
	vals     []uint32         // by code
	codes    map[uint32]uint8 // by value
	over     map[uint64]uint32
	recodeAt int // len(over) that makes a writer recount the codes
}

const tfEscape = 255

func newTfDict() tfDict {
	return tfDict{codes: make(map[uint32]uint8), over: make(map[uint64]uint32), recodeAt: recodeMin}
}

func overKey(t, n uint32) uint64 { return uint64(t)<<32 | uint64(n) }

// code returns the code of tf for the posting of term t in document n,
// recording tf in over when it has no code of its own.
func (d *tfDict) code(t, n, tf uint32) uint8 {
	if c, ok := d.codes[tf]; ok {
		return c
	}
	if len(d.vals) < tfEscape {
		c := uint8(len(d.vals))
		d.vals = append(d.vals, tf)
		d.codes[tf] = c
		return c
	}
	d.over[overKey(t, n)] = tf
	return tfEscape
}

// tf returns the packed frequencies of the posting of term t in document n
// coded c.
func (d *tfDict) tf(t, n uint32, c uint8) uint32 {
	if c != tfEscape {
		return d.vals[c]
	}
	return d.over[overKey(t, n)]
}

// forget drops what over holds for a posting coded c that is removed or
// recoded.
func (d *tfDict) forget(t, n uint32, c uint8) {
	if c == tfEscape {
		delete(d.over, overKey(t, n))
	}
}

// impact returns the scaled BM25F term score of a posting with packed
// frequencies tf in a document with field norms nm.
func impact(tf uint32, nm *[nFields]float32) uint16 {
	var t float32
	for f := 0; tf != 0; f++ {
		t += float32(tf&tfMax) * nm[f]
		tf >>= tfBits
	}
	return uint16(t/(t+k1)*impScale + 0.5)
}

const (
	tfBits = 6
	tfMax  = 1<<tfBits - 1
)

type hourIv struct {
	wd          int8
	open, close int16
}

// docHot is what the per-document filters need, kept small so that a scan
// of the candidates stays within the CPU caches; the rarer filters' data
// lives in docMeta.
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

// maxAgeBit is the largest age with a bitset; an Age filter above it is
// checked per document.
const (
	maxAgeBit    = 120
	hoursPerWeek = 7 * 24
)

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

// docMeta is what the rarer filters read. The TERC ids of the few documents
// with more than two (docHot.terc holds two) are in Index.manyTercs: a
// slice header here would cost every document 24 bytes.
type docMeta struct {
	points []LatLng
	hours  []hourIv
}

// listDoc is the list projection of a document: what List's callers filter
// and order by, without the text.
type listDoc struct {
	name string
	// sortKey is the collation key without its trailing run of sortRun
	// default secondary weights (see packSortKey).
	sortKey   string
	created   int64 // Unix seconds
	updated   int64
	createdNs int32
	updatedNs int32
	status    int32
	origin    int32  // TERC id, -1 for none
	provs     uint32 // its provider list: Index.provLists[provs]; 0 for none
	sortRun   uint16
	reqDec    bool
}

// A Polish collation key (golang.org/x/text/collate, case ignored) is the
// primary weights, two zero bytes, then a secondary weight of 00 20 per
// letter: letters with diacritics are letters of their own in Polish, so
// the secondary weights are nearly always that default, about half of the
// key. The index keeps a key without its trailing run of 00 20 pairs and
// the run's length, which restores it exactly and compares as it would
// (cmpSortKeys): about 55 bytes a service less. Any other key is kept as it
// is (a run of 0).
const sortPad0, sortPad1 = 0x00, 0x20

// packSortKey splits key into what the index keeps and the number of
// trailing 00 20 pairs.
func packSortKey(key []byte) (string, uint16) {
	run := 0
	for len(key) >= 2 && key[len(key)-2] == sortPad0 && key[len(key)-1] == sortPad1 && run < math.MaxUint16 {
		key = key[:len(key)-2]
		run++
	}
	return string(key), uint16(run)
}

// sortPads is a run of 00 20 pairs to append from (List fills every
// document's key for its filter).
var sortPads = strings.Repeat(string([]byte{sortPad0, sortPad1}), 64)

// appendSortKey appends the whole key of a packed one to buf.
func appendSortKey(buf []byte, key string, run uint16) []byte {
	buf = append(buf, key...)
	for n := 2 * int(run); n > 0; {
		k := min(n, len(sortPads))
		buf = append(buf, sortPads[:k]...)
		n -= k
	}
	return buf
}

// sortKeyByte is byte i of the whole key of a packed one (i below its
// length).
func sortKeyByte(key string, i int) byte {
	if i < len(key) {
		return key[i]
	}
	if (i-len(key))%2 == 0 {
		return sortPad0
	}
	return sortPad1
}

// cmpSortKeys compares two packed keys as bytes.Compare compares the whole
// keys.
func cmpSortKeys(a string, ra uint16, b string, rb uint16) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	la, lb := len(a)+2*int(ra), len(b)+2*int(rb)
	// Past the longer packed part both are in their runs: in step (the
	// same bytes to the shorter's end) or a byte apart (they differ at
	// once), so one more byte settles it.
	for i := n; i < la && i < lb && i <= max(len(a), len(b)); i++ {
		if x, y := sortKeyByte(a, i), sortKeyByte(b, i); x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case la < lb:
		return -1
	case la > lb:
		return 1
	}
	return 0
}

// Index is an in-memory full-text, faceted and geo index of catalogue
// services. The zero value is not usable; call New.
type Index struct {
	mu sync.RWMutex
	// wmu admits one writer at a time to mu, and excludes writers while a snapshot is written (which holds
	// mu's read lock for as long as the file takes, about half a second at 500,000 services). A writer waits
	// here, not at mu: a sync.RWMutex lets no new reader in once a writer waits, so a write arriving during a
	// snapshot would otherwise hold up every search behind it until the snapshot is done.
	wmu sync.Mutex

	byID map[string]uint32
	ids  []string // by internal doc number; "" marks a free slot
	revs []int64
	hot  []docHot
	// week is each document's opening-hours week map (only read by OpenAt
	// queries) as an index into weeks, the distinct maps: services share a
	// few opening patterns, and 4 bytes a document replace 48. weekRefs
	// counts the documents of each map, weekIDs finds a map's index, and
	// weekFree lists the indexes no document uses any more; weeks[0] is the
	// empty map.
	week     []uint32
	weeks    []weekMap
	weekRefs []uint32
	weekIDs  map[weekMap]uint32
	weekFree []uint32
	meta     []docMeta
	list     []listDoc
	// nameKey is the folded name, the tie-break order of results; namePfx
	// its first 8 bytes big-endian, which settles most comparisons of a
	// name-ordered page without touching the strings.
	nameKey []string
	namePfx []uint64
	// facetBits is areas | target groups<<32 per document: the facet
	// counts of sparse matches read it, 8 documents a cache line.
	facetBits []uint64
	// dterms holds each document's distinct term ids, ascending, as
	// uvarint deltas: what an update or delete needs to find the postings
	// to edit, now that the text is not kept. About 1.6 bytes a term in
	// the synthetic catalogue: 1.1 of varints, the allocator's rounding,
	// and a 24-byte slice header a document of about 60 terms.
	dterms [][]byte
	flen   [][nFields]uint16 // field lengths in tokens
	// normAvg is the snapshot of the average field lengths the norms
	// (docNorm), and so the impacts, are computed against, refreshed for
	// all documents once the live averages drift by more than normDrift;
	// a 2% stale average changes BM25 scores by well under 1%.
	normAvg [nFields]float64
	inBulk  bool
	// sinceRefresh counts the documents changed since refreshNorms.
	sinceRefresh int
	free         []uint32
	live         int
	tombs        map[string]int64

	lenSum     [nFields]int64
	voc        vocab
	post       []plist  // by term id
	tfd        tfDict   // the postings' frequency codes
	denseTerms []uint32 // terms with a dense bitset

	// Filters as bitsets over doc numbers, kept current by every write:
	// a query's filter and facet work is word-wide ANDs and popcounts.
	bLive, bActive, bFree bitset
	bArea, bGroup         [32]bitset // nil until some document has the bit
	// bAge[a]: the documents whose age bounds admit age a.
	bAge [maxAgeBit + 1]bitset
	// bOpenAny[h], bOpenFull[h]: the documents open some of, or all of,
	// hour h of the week (weekMap bits); nil while none is.
	bOpenAny, bOpenFull [hoursPerWeek]bitset

	tercIDs   map[string]uint32
	tercNames []string
	manyTercs map[uint32][]uint32 // by doc number: the TERC ids of a document with more than two
	tercDocs  [][]uint32          // by TERC id, ascending doc numbers
	// cells is a geo grid of cellDeg x cellDeg cells, each with the
	// ascending doc numbers having a point in it: a radius query visits
	// the few cells its box covers instead of every document.
	cells map[uint32][]uint32
	// provLists are the distinct provider lists of the documents (the
	// first is none), provIDs their indexes by the list's names, each
	// length-prefixed: a catalogue has a few provider combinations, shared
	// by many services. Entries are not removed (their number is bounded
	// by the combinations that ever occurred).
	provLists [][]string
	provIDs   map[string]uint32

	// Writer-only scratch (guarded by mu held for writing).
	wtok   tokenizer
	wterms []uint64
	wdec   []uint32
	wenc   []byte

	// Reader scratch. A plain free list rather than sync.Pool: the
	// buffers are sized to the corpus (a few MB) and a GC emptying a
	// sync.Pool would make the next queries pay for re-allocating them,
	// which shows up directly in tail latency.
	scratchMu sync.Mutex
	scratches []*scratch

	// gen counts the writes (under mu), so what a query caches (qc, querycache.go) is used only while the
	// index is unchanged.
	gen uint64
	qc  queryCache
}

// New returns an empty index.
func New() *Index {
	return &Index{
		byID:      make(map[string]uint32),
		tombs:     make(map[string]int64),
		voc:       newVocab(),
		tfd:       newTfDict(),
		tercIDs:   make(map[string]uint32),
		manyTercs: make(map[uint32][]uint32),
		weeks:     []weekMap{{}},
		weekRefs:  []uint32{0},
		weekIDs:   make(map[weekMap]uint32),
		cells:     make(map[uint32][]uint32),
		provLists: [][]string{nil},
		provIDs:   make(map[string]uint32),
	}
}

// Len returns the number of live documents (active or not).
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Get returns the indexed projection of a document: its ID, revision,
// filter fields and list fields. The text fields (Name excepted) are
// empty: the index keeps postings, not text.
func (ix *Index) Get(id string) (Doc, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return Doc{}, false
	}
	var d Doc
	ix.fillDoc(n, &d, nil, nil)
	d.Tercs = slices.Clone(d.Tercs)
	d.Providers = slices.Clone(d.Providers)
	m := &ix.meta[n]
	d.Points = slices.Clone(m.points)
	for _, h := range m.hours {
		d.Hours = append(d.Hours, Interval{Weekday: int(h.wd), OpenMin: int(h.open), CloseMin: int(h.close)})
	}
	return d, true
}

// fillDoc writes document n's list projection into d, reusing tercBuf for
// d.Tercs and keyBuf for d.SortKey. Providers alias the index's copies:
// callers must not modify them.
func (ix *Index) fillDoc(n uint32, d *Doc, tercBuf []string, keyBuf []byte) ([]string, []byte) {
	h, l := &ix.hot[n], &ix.list[n]
	*d = Doc{
		ID:               ix.ids[n],
		Revision:         ix.revs[n],
		Name:             l.name,
		Areas:            h.areas,
		TargetGroups:     h.tgs,
		MinAge:           h.minAge,
		MaxAge:           h.maxAge,
		Free:             h.flags&hotFree != 0,
		Active:           h.flags&hotActive != 0,
		Status:           l.status,
		Providers:        ix.provLists[l.provs],
		RequiresDecision: l.reqDec,
		CreateTime:       time.Unix(l.created, int64(l.createdNs)).UTC(),
		UpdateTime:       time.Unix(l.updated, int64(l.updatedNs)).UTC(),
	}
	if len(l.sortKey) > 0 || l.sortRun > 0 {
		keyBuf = appendSortKey(keyBuf[:0], l.sortKey, l.sortRun)
		d.SortKey = keyBuf
	}
	if l.origin >= 0 {
		d.Origin = ix.tercNames[l.origin]
	}
	tercBuf = tercBuf[:0]
	for _, t := range ix.docTercs(n) {
		tercBuf = append(tercBuf, ix.tercNames[t])
	}
	d.Tercs = tercBuf
	return tercBuf, keyBuf
}

func (ix *Index) docTercs(n uint32) []uint32 {
	h := &ix.hot[n]
	if h.nTerc > 2 {
		return ix.manyTercs[n]
	}
	return h.terc[:h.nTerc]
}

// lockWrite takes the write lock: wmu first (see Index.wmu), then mu.
func (ix *Index) lockWrite() {
	ix.wmu.Lock()
	ix.mu.Lock()
}

func (ix *Index) unlockWrite() {
	ix.mu.Unlock()
	ix.wmu.Unlock()
}

// Upsert adds or replaces a document. A Doc with a Revision lower than the
// indexed version, or not higher than a tombstone for the same ID, is
// ignored, so events replayed out of order cannot resurrect or roll back a
// service. An equal revision replaces the stored version (idempotent replay).
func (ix *Index) Upsert(d Doc) {
	ix.lockWrite()
	defer ix.unlockWrite()
	ix.upsertLocked(&d)
}

// BulkLoad upserts docs under one lock acquisition and then tidies the
// internal structures; use it for the start-up rebuild from the store.
// Searches block for its duration, so a rebuild of a serving instance
// should load a fresh Index and swap it in.
func (ix *Index) BulkLoad(docs []Doc) {
	ix.lockWrite()
	defer ix.unlockWrite()
	if len(ix.byID) == 0 && len(docs) >= 1024 {
		ix.byID = make(map[string]uint32, len(docs))
	}
	if cap(ix.ids)-len(ix.ids) < len(docs) {
		n := len(ix.ids) + len(docs)
		ix.ids = slices.Grow(ix.ids, n-len(ix.ids))
		ix.revs = slices.Grow(ix.revs, n-len(ix.revs))
		ix.hot = slices.Grow(ix.hot, n-len(ix.hot))
		ix.week = slices.Grow(ix.week, n-len(ix.week))
		ix.meta = slices.Grow(ix.meta, n-len(ix.meta))
		ix.list = slices.Grow(ix.list, n-len(ix.list))
		ix.nameKey = slices.Grow(ix.nameKey, n-len(ix.nameKey))
		ix.namePfx = slices.Grow(ix.namePfx, n-len(ix.namePfx))
		ix.facetBits = slices.Grow(ix.facetBits, n-len(ix.facetBits))
		ix.dterms = slices.Grow(ix.dterms, n-len(ix.dterms))
		ix.flen = slices.Grow(ix.flen, n-len(ix.flen))
	}
	// A load that builds most of the index defers norms and impacts to one
	// pass at the end; a smaller batch (a page of the change feed, an
	// import batch) is cheaper as so many upserts than as a pass over
	// every posting of the index.
	if 2*len(docs) < ix.live+len(docs) {
		for i := range docs {
			ix.upsertLocked(&docs[i])
		}
		ix.voc.merge()
		return
	}
	ix.inBulk = true
	for i := range docs {
		ix.upsertLocked(&docs[i])
	}
	ix.inBulk = false
	ix.recodeFrequencies()
	ix.refreshNorms()
	ix.voc.merge()
	ix.refreshDense()
	ix.deriveAges()
	// Append-doubling leaves up to half of every postings slice unused;
	// after a load that built most of the index the lists are mostly
	// final, so trim them.
	for t := range ix.post {
		p := &ix.post[t]
		if cap(p.docs) > len(p.docs) {
			p.docs = slices.Clip(slices.Clone(p.docs))
		}
		if cap(p.tfc) > len(p.tfc) {
			p.tfc = slices.Clip(slices.Clone(p.tfc))
		}
	}
}

// Delete removes the document and records a tombstone at rev: a later
// Upsert with Revision <= rev is ignored. A Delete older than the indexed
// version is itself stale and ignored. Tombstones are kept for the life of
// the Index (one map entry per deleted ID); a rebuild from the store
// starts without them.
func (ix *Index) Delete(id string, rev int64) {
	ix.lockWrite()
	defer ix.unlockWrite()
	if n, ok := ix.byID[id]; ok {
		if ix.revs[n] > rev {
			return
		}
		ix.removeLocked(n)
	}
	if t, ok := ix.tombs[id]; !ok || rev > t {
		ix.tombs[id] = rev
	}
}

func (ix *Index) upsertLocked(d *Doc) {
	if !ix.admitLocked(d) {
		return
	}
	terms, flen := ix.analyze(d)
	ix.upsertAnalyzedLocked(d, terms, flen)
}

// admitLocked reports whether d is newer than the indexed version and any
// tombstone of its ID, dropping the tombstone it supersedes.
func (ix *Index) admitLocked(d *Doc) bool {
	if d.ID == "" {
		return false
	}
	if n, exists := ix.byID[d.ID]; exists && d.Revision < ix.revs[n] {
		return false
	}
	if t, ok := ix.tombs[d.ID]; ok {
		if d.Revision <= t {
			return false
		}
		delete(ix.tombs, d.ID)
	}
	return true
}

// upsertAnalyzedLocked indexes an admitted d whose text analyze (or the
// batch path, batch.go) turned into terms and field lengths.
func (ix *Index) upsertAnalyzedLocked(d *Doc, terms []uint64, flen [nFields]uint16) {
	ix.gen++ // the query caches (querycache.go) are of the previous generation
	n, exists := ix.byID[d.ID]
	if exists {
		for f, l := range ix.flen[n] {
			ix.lenSum[f] -= int64(l)
		}
		ix.unindexMeta(n)
	} else {
		n = ix.alloc()
		ix.ids[n] = strings.Clone(d.ID)
		ix.byID[ix.ids[n]] = n
		ix.live++
	}
	// The norms first: the postings' impacts are computed from them.
	ix.flen[n] = flen
	for f, l := range flen {
		ix.lenSum[f] += int64(l)
	}
	ix.lengthsChanged(n)
	// During a bulk load the impacts wait for refreshNorms.
	var nm [nFields]float32
	if !ix.inBulk {
		nm = ix.docNorm(n)
	}
	if exists {
		ix.diffPostings(n, ix.decodeTerms(n), terms, &nm)
	} else {
		for _, e := range terms {
			t, tf := uint32(e>>32), uint32(e)
			p := &ix.post[t]
			if ix.inBulk && p.bulkAppend(n, ix.tfd.code(t, n, tf)) {
				continue
			}
			ix.insertPosting(t, n, tf, ix.impact(tf, &nm))
		}
	}
	ix.wenc = encodeTerms(ix.wenc[:0], terms)
	ix.dterms[n] = storeTerms(ix.dterms[n], ix.wenc)
	ix.revs[n] = d.Revision
	ix.indexMeta(n, d)
	if !ix.inBulk {
		ix.maybeRecodeFrequencies()
	}
}

// impact is the impact of a posting with frequencies tf in a document with
// norms nm; during a bulk load it is left for refreshNorms, which
// recomputes them all at the end.
func (ix *Index) impact(tf uint32, nm *[nFields]float32) uint16 {
	if ix.inBulk {
		return 0
	}
	return impact(tf, nm)
}

// encodeTerms appends the term ids of terms (ascending) as uvarint deltas.
func encodeTerms(buf []byte, terms []uint64) []byte {
	prev := uint64(0)
	for _, e := range terms {
		t := e >> 32
		buf = binary.AppendUvarint(buf, t-prev)
		prev = t
	}
	return buf
}

// storeTerms returns enc copied into old's array when it fits there with at
// most 8 bytes to spare, else into an array of its own size. Encoding
// straight into a grown buffer and clipping it would hide the spare
// capacity, not free it: 2.1 bytes a term allocated for 1.1 used.
func storeTerms(old, enc []byte) []byte {
	if c := cap(old); c >= len(enc) && c-len(enc) <= 8 {
		return append(old[:0], enc...)
	}
	return append(make([]byte, 0, len(enc)), enc...)
}

// decodeTerms returns document n's term ids in writer scratch.
func (ix *Index) decodeTerms(n uint32) []uint32 {
	out := ix.wdec[:0]
	b := ix.dterms[n]
	prev := uint64(0)
	for len(b) > 0 {
		v, k := binary.Uvarint(b)
		b = b[k:]
		prev += v
		out = append(out, uint32(prev))
	}
	ix.wdec = out
	return out
}

// normDrift is the drift of an average field length that makes every
// norm and impact be recomputed, once at least 1/refreshEvery of the
// documents changed since the last time: a refresh is a pass over every
// posting, so it must not run every few writes while a small index grows
// (its averages are noisy) or a big one takes an import. A 2% stale average
// changes BM25 scores by well under 1%.
const (
	normDrift    = 0.02
	refreshEvery = 16
)

// lengthsChanged refreshes every norm and impact once the average field
// lengths drifted, after document n's field lengths changed (n is a freed
// slot after a delete).
func (ix *Index) lengthsChanged(n uint32) {
	if ix.inBulk {
		return // BulkLoad refreshes everything once at the end
	}
	ix.sinceRefresh++
	for f := range nFields {
		if ix.sinceRefresh < max(64, ix.live/refreshEvery) {
			break
		}
		avg := ix.avgLen(f)
		if d := avg - ix.normAvg[f]; d > normDrift*ix.normAvg[f] || -d > normDrift*ix.normAvg[f] {
			ix.refreshNorms()
			ix.refreshDense()
			return
		}
	}
}

func (ix *Index) avgLen(f int) float64 {
	if ix.live == 0 {
		return 0
	}
	return float64(ix.lenSum[f]) / float64(ix.live)
}

// docNorm returns document n's norms: fieldWeight / (1 - b + b*len/avgLen)
// per field against normAvg. They are computed when needed rather than
// kept (20 bytes a document): a posting's impact is computed from them when
// it is written and again by refreshNorms, the only other time they change.
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

// refreshNorms recomputes every document's norms against the current
// average field lengths, and with them every posting's impact: a pass over
// all postings, which runs once per BulkLoad and again only after the
// averages drifted by normDrift.
func (ix *Index) refreshNorms() {
	ix.sinceRefresh = 0
	for f := range nFields {
		ix.normAvg[f] = ix.avgLen(f)
	}
	// The norms of every document for this pass only: computing them per
	// posting would be tens of millions of divisions.
	norm := make([][nFields]float32, len(ix.flen))
	for n := range norm {
		norm[n] = ix.docNorm(uint32(n))
	}
	for t := range ix.post {
		p := &ix.post[t]
		if len(p.imps) != len(p.docs) {
			p.imps = make([]uint16, len(p.docs))
		}
		var mx uint16
		for j, d := range p.docs {
			imp := impact(ix.tfd.tf(uint32(t), d, p.tfc[j]), &norm[d])
			p.imps[j] = imp
			mx = max(mx, imp)
		}
		p.maxImp = mx
	}
}

// refreshDense gives every frequent term its dense bitset (and takes it from
// terms that became rare).
func (ix *Index) refreshDense() {
	limit := max(denseMin, len(ix.ids)/denseRatio)
	ix.denseTerms = ix.denseTerms[:0]
	for t := range ix.post {
		p := &ix.post[t]
		if len(p.docs) < limit {
			p.dense = nil
			continue
		}
		if len(p.dense) != len(ix.bLive) {
			p.dense = make(bitset, len(ix.bLive))
		} else {
			p.dense.zero()
		}
		for _, d := range p.docs {
			p.dense.set(d)
		}
		ix.denseTerms = append(ix.denseTerms, uint32(t))
	}
}

func (ix *Index) alloc() uint32 {
	if k := len(ix.free); k > 0 {
		n := ix.free[k-1]
		ix.free = ix.free[:k-1]
		return n
	}
	n := uint32(len(ix.ids))
	ix.ids = append(ix.ids, "")
	ix.revs = append(ix.revs, 0)
	ix.hot = append(ix.hot, docHot{})
	ix.week = append(ix.week, 0)
	ix.meta = append(ix.meta, docMeta{})
	ix.list = append(ix.list, listDoc{})
	ix.nameKey = append(ix.nameKey, "")
	ix.namePfx = append(ix.namePfx, 0)
	ix.facetBits = append(ix.facetBits, 0)
	ix.dterms = append(ix.dterms, nil)
	ix.flen = append(ix.flen, [nFields]uint16{})
	if words := int(n)/64 + 1; words > len(ix.bLive) {
		ix.bLive = append(ix.bLive, 0)
		ix.bActive = append(ix.bActive, 0)
		ix.bFree = append(ix.bFree, 0)
		for _, t := range ix.denseTerms {
			ix.post[t].dense = append(ix.post[t].dense, 0)
		}
		for i := range ix.bAge {
			ix.bAge[i] = append(ix.bAge[i], 0)
		}
		for h := range hoursPerWeek {
			if ix.bOpenAny[h] != nil {
				ix.bOpenAny[h] = append(ix.bOpenAny[h], 0)
			}
			if ix.bOpenFull[h] != nil {
				ix.bOpenFull[h] = append(ix.bOpenFull[h], 0)
			}
		}
		for i := range ix.bArea {
			if ix.bArea[i] != nil {
				ix.bArea[i] = append(ix.bArea[i], 0)
			}
			if ix.bGroup[i] != nil {
				ix.bGroup[i] = append(ix.bGroup[i], 0)
			}
		}
	}
	return n
}

func (ix *Index) removeLocked(n uint32) {
	ix.gen++
	for _, t := range ix.decodeTerms(n) {
		ix.removePosting(t, n)
	}
	for f, l := range ix.flen[n] {
		ix.lenSum[f] -= int64(l)
	}
	ix.unindexMeta(n)
	delete(ix.byID, ix.ids[n])
	ix.ids[n] = ""
	ix.revs[n] = 0
	ix.hot[n] = docHot{}
	ix.meta[n] = docMeta{}
	delete(ix.manyTercs, n)
	ix.list[n] = listDoc{}
	ix.nameKey[n] = ""
	ix.namePfx[n] = 0
	ix.facetBits[n] = 0
	ix.dterms[n] = nil
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
	out := packTerms(raw[:0], raw) // in place: the packed terms never outrun the raw ones
	ix.wterms = raw
	for len(ix.post) < len(ix.voc.terms) {
		ix.post = append(ix.post, plist{})
	}
	return out, flen
}

// diffPostings applies an update in place: unchanged terms get their tf
// rewritten, vanished terms lose the posting, new terms gain one.
func (ix *Index) diffPostings(n uint32, old []uint32, cur []uint64, nm *[nFields]float32) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && uint64(old[i]) < cur[j]>>32):
			ix.removePosting(old[i], n)
			i++
		case i == len(old) || cur[j]>>32 < uint64(old[i]):
			ix.insertPosting(uint32(cur[j]>>32), n, uint32(cur[j]), ix.impact(uint32(cur[j]), nm))
			j++
		default:
			ix.insertPosting(uint32(cur[j]>>32), n, uint32(cur[j]), ix.impact(uint32(cur[j]), nm))
			i++
			j++
		}
	}
}

// bulkAppend appends a posting (frequencies coded c) of a new document
// during a bulk load, leaving its impact to refreshNorms (which sizes imps
// once at the end: one growing array less). It reports false when the list
// is not in a state to take it, and insertPosting must.
func (p *plist) bulkAppend(n uint32, c uint8) bool {
	if k := len(p.docs); len(p.imps) != 0 || k > 0 && p.docs[k-1] >= n || p.dense != nil {
		return false
	}
	p.docs = append(p.docs, n)
	p.tfc = append(p.tfc, c)
	return true
}

// insertPosting inserts or overwrites the posting of term t in document n.
// The append fast path is the bulk load: fresh doc numbers only grow.
func (ix *Index) insertPosting(t, n, tf uint32, imp uint16) {
	p := &ix.post[t]
	if len(p.imps) != len(p.docs) {
		// After bulk appends: give the earlier postings their slots
		// (their impacts come with the next refreshNorms).
		p.imps = append(p.imps, make([]uint16, len(p.docs)-len(p.imps))...)
	}
	p.maxImp = max(p.maxImp, imp)
	if p.dense != nil {
		p.dense.set(n)
	}
	if k := len(p.docs); k == 0 || p.docs[k-1] < n {
		p.docs = append(p.docs, n)
		p.tfc = append(p.tfc, ix.tfd.code(t, n, tf))
		p.imps = append(p.imps, imp)
		return
	}
	i, found := slices.BinarySearch(p.docs, n)
	if found {
		ix.tfd.forget(t, n, p.tfc[i])
		p.tfc[i] = ix.tfd.code(t, n, tf)
		p.imps[i] = imp
		return
	}
	p.docs = slices.Insert(p.docs, i, n)
	p.tfc = slices.Insert(p.tfc, i, ix.tfd.code(t, n, tf))
	p.imps = slices.Insert(p.imps, i, imp)
}

func (ix *Index) removePosting(t, n uint32) {
	p := &ix.post[t]
	i, found := slices.BinarySearch(p.docs, n)
	if !found {
		return
	}
	ix.tfd.forget(t, n, p.tfc[i])
	p.docs = slices.Delete(p.docs, i, i+1)
	p.tfc = slices.Delete(p.tfc, i, i+1)
	p.imps = slices.Delete(p.imps, i, i+1)
	if p.dense != nil {
		p.dense.clear(n)
	}
	if len(p.docs) == 0 {
		p.docs, p.tfc, p.imps = nil, nil, nil
	}
}

func insertSorted(list []uint32, n uint32) []uint32 {
	if k := len(list); k == 0 || list[k-1] < n {
		return append(list, n)
	}
	i, found := slices.BinarySearch(list, n)
	if found {
		return list
	}
	return slices.Insert(list, i, n)
}

func removeSorted(list []uint32, n uint32) []uint32 {
	i, found := slices.BinarySearch(list, n)
	if !found {
		return list
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		return nil
	}
	return list
}

// Geo grid: 0.1 degree cells (about 11 x 7 km in Poland), so a radius of
// a few tens of kilometres covers tens of cells of a few hundred services.
const (
	cellDeg      = 0.1
	maxGeoCells  = 4096 // a box covering more cells is filtered per document instead
	cellLatShift = 16
)

func cellOf(lat, lng float64) (int, int) {
	return int(math.Floor(lat / cellDeg)), int(math.Floor(lng / cellDeg))
}

func cellKey(la, lo int) uint32 { return uint32(la+1000)<<cellLatShift | uint32(lo+2000) }

func (ix *Index) docCells(n uint32, fn func(key uint32)) {
	var seen [8]uint32
	k := 0
	for _, p := range ix.meta[n].points {
		key := cellKey(cellOf(p.Lat, p.Lng))
		if slices.Contains(seen[:min(k, len(seen))], key) {
			continue
		}
		if k < len(seen) {
			seen[k] = key
		}
		k++
		fn(key)
	}
}

func (ix *Index) tercID(code string) uint32 {
	id, ok := ix.tercIDs[code]
	if !ok {
		id = uint32(len(ix.tercNames))
		code = strings.Clone(code)
		ix.tercIDs[code] = id
		ix.tercNames = append(ix.tercNames, code)
		ix.tercDocs = append(ix.tercDocs, nil)
	}
	return id
}

// internProviders returns the index of the provider list ps in provLists,
// adding a copy of it if it is new.
func (ix *Index) internProviders(ps []string) uint32 {
	if len(ps) == 0 {
		return 0
	}
	// Each name length-prefixed: joined with a separator, ["p\x00q"] and
	// ["p", "q"] would share a key (the API refuses such names, the index
	// does not rely on it).
	n := 0
	for _, p := range ps {
		n += binary.MaxVarintLen64 + len(p)
	}
	kb := make([]byte, 0, n)
	for _, p := range ps {
		kb = binary.AppendUvarint(kb, uint64(len(p)))
		kb = append(kb, p...)
	}
	key := string(kb)
	if id, ok := ix.provIDs[key]; ok {
		return id
	}
	id := uint32(len(ix.provLists))
	ix.provIDs[key] = id
	ix.provLists = append(ix.provLists, slices.Clone(ps))
	return id
}

// indexMeta stores d's filter and list data as document n and adds n to
// the filter bitsets, TERC lists and geo cells.
func (ix *Index) indexMeta(n uint32, d *Doc) {
	h := docHot{flags: hotLive, areas: d.Areas, tgs: d.TargetGroups, minAge: d.MinAge, maxAge: d.MaxAge}
	if d.Active {
		h.flags |= hotActive
	}
	if d.Free {
		h.flags |= hotFree
	}
	// Sized once: appending would leave up to half of each array unused,
	// for every document.
	var m docMeta
	if len(d.Points) > 0 {
		m.points = make([]LatLng, 0, len(d.Points))
	}
	if len(d.Hours) > 0 {
		m.hours = make([]hourIv, 0, len(d.Hours))
	}
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
	var tercs []uint32
	add := func(code string) {
		if code == "" {
			return
		}
		id := ix.tercID(code)
		if !slices.Contains(tercs, id) {
			tercs = append(tercs, id)
		}
	}
	for _, c := range d.Tercs {
		add(c)
	}
	// Origin is normally already in Tercs; adding it again is free and
	// protects against callers that forget.
	add(d.Origin)
	h.nTerc = uint8(min(len(tercs), 255))
	copy(h.terc[:], tercs)
	if len(tercs) > 2 {
		ix.manyTercs[n] = tercs
	} else {
		delete(ix.manyTercs, n)
	}
	for _, iv := range d.Hours {
		if iv.Weekday < 1 || iv.Weekday > 7 || iv.OpenMin < 0 || iv.OpenMin >= 1440 ||
			iv.CloseMin < 0 || iv.CloseMin > 1440 || iv.CloseMin == iv.OpenMin {
			continue
		}
		m.hours = append(m.hours, hourIv{wd: int8(iv.Weekday), open: int16(iv.OpenMin), close: int16(iv.CloseMin)})
	}
	ix.hot[n], ix.meta[n] = h, m
	ix.week[n] = ix.internWeek(buildWeek(m.hours))
	ix.nameKey[n] = Normalize(d.Name)

	l := listDoc{
		name:      strings.Clone(d.Name),
		created:   d.CreateTime.Unix(),
		createdNs: int32(d.CreateTime.Nanosecond()),
		updated:   d.UpdateTime.Unix(),
		updatedNs: int32(d.UpdateTime.Nanosecond()),
		status:    d.Status,
		origin:    -1,
		reqDec:    d.RequiresDecision,
	}
	l.sortKey, l.sortRun = packSortKey(d.SortKey)
	if d.Origin != "" {
		l.origin = int32(ix.tercID(d.Origin))
	}
	l.provs = ix.internProviders(d.Providers)
	ix.list[n] = l
	// A bulk load sets the age bits a word at a time at the end.
	ix.link(n, !ix.inBulk)
}

// link adds live document n to the structures derived from its stored
// data: the filter bitsets, facet bits, name prefix, TERC lists and geo
// cells.
func (ix *Index) link(n uint32, ages bool) {
	h := &ix.hot[n]
	var pfx [8]byte
	copy(pfx[:], ix.nameKey[n])
	ix.namePfx[n] = binary.BigEndian.Uint64(pfx[:])
	ix.facetBits[n] = uint64(h.areas) | uint64(h.tgs)<<32
	ix.bLive.set(n)
	if h.flags&hotActive != 0 {
		ix.bActive.set(n)
	}
	if h.flags&hotFree != 0 {
		ix.bFree.set(n)
	}
	for v := h.areas; v != 0; v &= v - 1 {
		ix.bitsFor(&ix.bArea, trailing(v)).set(n)
	}
	for v := h.tgs; v != 0; v &= v - 1 {
		ix.bitsFor(&ix.bGroup, trailing(v)).set(n)
	}
	for a := range ix.bAge {
		if ages && ageOK(h, int32(a)) {
			ix.bAge[a].set(n)
		}
	}
	w := ix.weekOf(n)
	forWeekBits(&w.any, func(hr int) { ix.openSet(&ix.bOpenAny, hr).set(n) })
	forWeekBits(&w.full, func(hr int) { ix.openSet(&ix.bOpenFull, hr).set(n) })
	for _, t := range ix.docTercs(n) {
		ix.tercDocs[t] = insertSorted(ix.tercDocs[t], n)
	}
	ix.docCells(n, func(key uint32) { ix.cells[key] = insertSorted(ix.cells[key], n) })
}

// derive rebuilds every derived structure (see link) from the stored
// per-document data, for an index read from a snapshot.
func (ix *Index) derive() {
	n := len(ix.ids)
	nw := (n + 63) / 64
	ix.bLive, ix.bActive, ix.bFree = make(bitset, nw), make(bitset, nw), make(bitset, nw)
	ix.bArea, ix.bGroup = [32]bitset{}, [32]bitset{}
	for a := range ix.bAge {
		ix.bAge[a] = make(bitset, nw)
	}
	ix.bOpenAny, ix.bOpenFull = [hoursPerWeek]bitset{}, [hoursPerWeek]bitset{}
	ix.namePfx = make([]uint64, n)
	ix.facetBits = make([]uint64, n)
	ix.tercDocs = make([][]uint32, len(ix.tercNames))
	ix.cells = make(map[uint32][]uint32)
	for i := range n {
		if ix.hot[i].flags&hotLive == 0 {
			continue
		}
		ix.link(uint32(i), false)
	}
	ix.deriveAges()
	ix.refreshDense()
}

// deriveAges fills the age bitsets a word (64 documents) at a time: one
// store per age and word instead of a scattered bit per age and document,
// which at 500,000 documents was most of reading a snapshot.
func (ix *Index) deriveAges() {
	var bounded [64]*docHot
	var bit [64]uint64
	for w := range ix.bLive {
		var free uint64 // live documents without bounds: every age
		k := 0
		for x := ix.bLive[w]; x != 0; x &= x - 1 {
			i := bits.TrailingZeros64(x)
			h := &ix.hot[w<<6|i]
			if h.minAge < 0 && h.maxAge < 0 {
				free |= 1 << i
				continue
			}
			bounded[k], bit[k] = h, 1<<i
			k++
		}
		for a := range ix.bAge {
			m := free
			for j := range k {
				if ageOK(bounded[j], int32(a)) {
					m |= bit[j]
				}
			}
			ix.bAge[a][w] = m
		}
	}
}

// unindexMeta removes document n from the bitsets, TERC lists and geo
// cells (its stored data stays until overwritten).
func (ix *Index) unindexMeta(n uint32) {
	h := &ix.hot[n]
	ix.bLive.clear(n)
	ix.bActive.clear(n)
	ix.bFree.clear(n)
	for v := h.areas; v != 0; v &= v - 1 {
		ix.bArea[trailing(v)].clear(n)
	}
	for v := h.tgs; v != 0; v &= v - 1 {
		ix.bGroup[trailing(v)].clear(n)
	}
	for a := range ix.bAge {
		ix.bAge[a].clear(n)
	}
	w := ix.weekOf(n)
	forWeekBits(&w.any, func(hr int) { ix.bOpenAny[hr].clear(n) })
	forWeekBits(&w.full, func(hr int) { ix.bOpenFull[hr].clear(n) })
	ix.releaseWeek(ix.week[n])
	ix.week[n] = 0
	for _, t := range ix.docTercs(n) {
		ix.tercDocs[t] = removeSorted(ix.tercDocs[t], n)
	}
	ix.docCells(n, func(key uint32) {
		if l := removeSorted(ix.cells[key], n); l == nil {
			delete(ix.cells, key)
		} else {
			ix.cells[key] = l
		}
	})
}

// weekOf returns document n's week map.
func (ix *Index) weekOf(n uint32) *weekMap { return &ix.weeks[ix.week[n]] }

// internWeek returns the index of w in weeks, counting one more document.
func (ix *Index) internWeek(w weekMap) uint32 {
	if w == (weekMap{}) {
		return 0
	}
	if id, ok := ix.weekIDs[w]; ok {
		ix.weekRefs[id]++
		return id
	}
	var id uint32
	if k := len(ix.weekFree); k > 0 {
		id = ix.weekFree[k-1]
		ix.weekFree = ix.weekFree[:k-1]
		ix.weeks[id], ix.weekRefs[id] = w, 1
	} else {
		id = uint32(len(ix.weeks))
		ix.weeks = append(ix.weeks, w)
		ix.weekRefs = append(ix.weekRefs, 1)
	}
	ix.weekIDs[w] = id
	return id
}

// releaseWeek counts one document less of week map id, freeing it when no
// document has it.
func (ix *Index) releaseWeek(id uint32) {
	if id == 0 {
		return
	}
	if ix.weekRefs[id]--; ix.weekRefs[id] == 0 {
		delete(ix.weekIDs, ix.weeks[id])
		ix.weeks[id] = weekMap{}
		ix.weekFree = append(ix.weekFree, id)
	}
}

func forWeekBits(b *[3]uint64, fn func(hr int)) {
	for i, w := range b {
		for ; w != 0; w &= w - 1 {
			fn(i*64 + bits.TrailingZeros64(w))
		}
	}
}

func ageOK(h *docHot, age int32) bool {
	return (h.minAge < 0 || age >= h.minAge) && (h.maxAge < 0 || age <= h.maxAge)
}

func (ix *Index) openSet(sets *[hoursPerWeek]bitset, hr int) bitset {
	if sets[hr] == nil {
		sets[hr] = make(bitset, len(ix.bLive))
	}
	return sets[hr]
}

func (ix *Index) bitsFor(set *[32]bitset, i int) bitset {
	if set[i] == nil {
		set[i] = make(bitset, len(ix.bLive))
	}
	return set[i]
}

// OrderField is a List sort key.
type OrderField int

// List sort keys; the document ID always breaks remaining ties.
const (
	OrderByID OrderField = iota
	OrderByName
	OrderByCreateTime
	OrderByUpdateTime
)

// OrderKey is one List sort key, ascending unless Desc.
type OrderKey struct {
	Field OrderField
	Desc  bool
}

// List returns the IDs of all live documents (active or not) for which keep
// returns true (nil keeps all), ordered by order (nil: by ID) with ID as the
// final tie-break, paged as [offset, offset+limit); limit <= 0 means
// DefaultLimit. total is the number of documents kept. keep sees each
// document's list projection (no text fields but Name; see Get) in a Doc
// reused between calls; it runs under the index read lock and must not
// retain the Doc or its slices nor call back into the Index.
func (ix *Index) List(keep func(*Doc) bool, order []OrderKey, offset, limit int) (ids []string, total int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var kept []uint32
	var d Doc
	var tercBuf []string
	var keyBuf []byte
	for i := range ix.ids {
		if ix.hot[i].flags&hotLive == 0 {
			continue
		}
		if keep != nil {
			tercBuf, keyBuf = ix.fillDoc(uint32(i), &d, tercBuf, keyBuf)
			if !keep(&d) {
				continue
			}
		}
		kept = append(kept, uint32(i))
	}
	cmp := func(a, b uint32) int {
		la, lb := &ix.list[a], &ix.list[b]
		for _, k := range order {
			var c int
			switch k.Field {
			case OrderByName:
				c = cmpSortKeys(la.sortKey, la.sortRun, lb.sortKey, lb.sortRun)
			case OrderByCreateTime:
				c = cmpTime(la.created, la.createdNs, lb.created, lb.createdNs)
			case OrderByUpdateTime:
				c = cmpTime(la.updated, la.updatedNs, lb.updated, lb.updatedNs)
			case OrderByID:
				c = strings.Compare(ix.ids[a], ix.ids[b])
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(ix.ids[a], ix.ids[b])
	}
	page := pageOf(kept, offset, limit, cmp)
	ids = make([]string, len(page))
	for i, n := range page {
		ids[i] = ix.ids[n]
	}
	return ids, len(kept)
}

func cmpTime(s1 int64, ns1 int32, s2 int64, ns2 int32) int {
	switch {
	case s1 < s2:
		return -1
	case s1 > s2:
		return 1
	case ns1 < ns2:
		return -1
	case ns1 > ns2:
		return 1
	}
	return 0
}
