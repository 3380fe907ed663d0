package domain

import (
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// A collator is not safe for concurrent use, and building one is costly: keep a pool, each with its key
// buffer (a few KiB, which a bulk import would otherwise allocate per service).
var collators = sync.Pool{New: func() any {
	return &collator{c: collate.New(language.Polish, collate.IgnoreCase)}
}}

type collator struct {
	c   *collate.Collator
	buf collate.Buffer
}

// SortKey is the Polish collation key of a name: byte order of keys is the order a Polish reader expects.
//
// A name written only in the letters, digits and punctuation of Polish text (sortRunes) is keyed from a table
// of each character's weights, the same bytes the collator gives (TestSortKeyTable), several times faster
// and in one allocation: a bulk import keys every service it indexes. Any other name goes to the collator.
func SortKey(name string) []byte {
	if k, ok := tableSortKey(name); ok {
		return k
	}
	return collatorSortKey(name)
}

func collatorSortKey(name string) []byte {
	c := collators.Get().(*collator)
	defer collators.Put(c)
	c.buf.Reset()
	return append([]byte(nil), c.c.KeyFromString(&c.buf, name)...)
}

// The collator's key of a string (collate.IgnoreCase, Polish) is the primary weights of its collation
// elements, 00 00, then their secondary weights. For a string of characters none of which combines with the
// next (no contraction: no combining marks, no characters outside sortRunes), the elements are those of each
// character in turn, so the key is the characters' primary weights, 00 00, their secondary weights.
type runeWeights struct {
	primary, secondary []byte
}

// sortRunes are the characters keyed from the table: printable ASCII, the Latin-1 and Latin Extended-A
// letters (Polish and its neighbours' names), and the typographic punctuation of Polish names („”, –, …).
var sortRunes = func() []rune {
	var rs []rune
	for r := rune(0x20); r <= 0x7e; r++ {
		rs = append(rs, r)
	}
	for r := rune(0xc0); r <= 0x17f; r++ {
		if r != 0xd7 && r != 0xf7 { // × and ÷
			rs = append(rs, r)
		}
	}
	return append(rs, '„', '”', '“', '‘', '’', '‚', '–', '—', '…', '«', '»')
}()

var (
	weightsOnce  sync.Once
	latinWeights [0x180]runeWeights // by rune, for ASCII, Latin-1 and Latin Extended-A
	otherWeights map[rune]runeWeights
)

// loadWeights splits the collator's key of each of sortRunes into its primary and secondary weights. A rune
// whose key is not of that shape is left out of the table (its names go to the collator).
func loadWeights() {
	otherWeights = make(map[rune]runeWeights)
	for _, r := range sortRunes {
		k := collatorSortKey(string(r))
		i := 0
		for i+1 < len(k) && (k[i] != 0 || k[i+1] != 0) {
			if k[i]&0x80 != 0 {
				i += 3 // a primary weight above 0x7fff
			} else {
				i += 2
			}
		}
		if i+1 >= len(k) || i == 0 || (len(k)-i)%2 != 0 {
			continue
		}
		w := runeWeights{primary: k[:i:i], secondary: k[i+2:]}
		if r < 0x180 {
			latinWeights[r] = w
		} else {
			otherWeights[r] = w
		}
	}
}

// tableSortKey is the collator's key of name from the table, or false for a name with a character outside it.
func tableSortKey(name string) ([]byte, bool) {
	weightsOnce.Do(loadWeights)
	np, ns := 0, 0
	for _, r := range name {
		w, ok := weightsOf(r)
		if !ok {
			return nil, false
		}
		np, ns = np+len(w.primary), ns+len(w.secondary)
	}
	key := make([]byte, 0, np+2+ns)
	for _, r := range name {
		w, _ := weightsOf(r)
		key = append(key, w.primary...)
	}
	key = append(key, 0, 0)
	for _, r := range name {
		w, _ := weightsOf(r)
		key = append(key, w.secondary...)
	}
	return key, true
}

func weightsOf(r rune) (runeWeights, bool) {
	if r < 0x180 {
		w := &latinWeights[r]
		return *w, w.primary != nil
	}
	w, ok := otherWeights[r]
	return w, ok
}

// IndexDoc is what the search index keeps of a service stored at revision rev.
func IndexDoc(s *cataloguev1.Service, rev int64) search.Doc {
	id := strings.TrimPrefix(s.GetName(), ServicePrefix)
	d := search.Doc{
		ID:               id,
		Revision:         rev,
		Name:             s.GetDisplayName(),
		AlternateName:    s.GetAlternateName(),
		Description:      s.GetDescription(),
		Eligibility:      s.GetEligibilityDescription(),
		MinAge:           -1,
		MaxAge:           -1,
		Origin:           s.GetOriginTerc(),
		Free:             IsFree(s),
		Active:           s.GetStatus() == cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Status:           int32(s.GetStatus()),
		Providers:        s.GetProviders(),
		RequiresDecision: s.GetRequiresDecision(),
		CreateTime:       s.GetCreateTime().AsTime(),
		UpdateTime:       s.GetUpdateTime().AsTime(),
		SortKey:          SortKey(s.GetDisplayName()),
	}
	if s.MinimumAge != nil {
		d.MinAge = s.GetMinimumAge()
	}
	if s.MaximumAge != nil {
		d.MaxAge = s.GetMaximumAge()
	}
	// The keywords, TERC codes, points and hours are sized once: an import projects every service it writes.
	nkw, npts, nhours := len(s.GetAreas())+len(s.GetTargetGroups())+2*len(s.GetLocations())+len(s.GetServiceAreas()), 0, 0
	for _, l := range s.GetLocations() {
		if l.GetCoordinates() != nil {
			npts++
		}
		nhours += len(l.GetOpeningHours())
	}
	kw := make([]string, 0, nkw)
	if npts > 0 {
		d.Points = make([]search.LatLng, 0, npts)
	}
	if nhours > 0 {
		d.Hours = make([]search.Interval, 0, nhours)
	}
	for _, a := range s.GetAreas() {
		d.Areas |= 1 << uint32(a)
		kw = append(kw, AreaNamePL(a))
	}
	for _, g := range s.GetTargetGroups() {
		d.TargetGroups |= 1 << uint32(g)
		kw = append(kw, TargetGroupNamePL(g))
	}
	// The distinct TERC codes (a handful: a linear search beats a map).
	addTerc := func(t string) {
		if t != "" && !slices.Contains(d.Tercs, t) {
			d.Tercs = append(d.Tercs, t)
		}
	}
	addTerc(s.GetOriginTerc())
	for _, l := range s.GetLocations() {
		kw = append(kw, l.GetName(), l.GetAddress().GetCity())
		addTerc(l.GetTerytCode())
		if p := l.GetCoordinates(); p != nil {
			d.Points = append(d.Points, search.LatLng{Lat: p.GetLatitude(), Lng: p.GetLongitude()})
		}
		for _, h := range l.GetOpeningHours() {
			open, ok1 := ParseClock(h.GetOpensAt(), false)
			closeAt, ok2 := ParseClock(h.GetClosesAt(), true)
			if ok1 && ok2 {
				d.Hours = append(d.Hours, search.Interval{Weekday: int(h.GetDay()), OpenMin: open, CloseMin: closeAt})
			}
		}
	}
	for _, a := range s.GetServiceAreas() {
		kw = append(kw, a.GetName())
	}
	d.Keywords = strings.Join(kw, " ")
	return d
}
