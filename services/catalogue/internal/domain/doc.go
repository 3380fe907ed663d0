package domain

import (
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
func SortKey(name string) []byte {
	c := collators.Get().(*collator)
	defer collators.Put(c)
	c.buf.Reset()
	return append([]byte(nil), c.c.KeyFromString(&c.buf, name)...)
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
	var kw []string
	for _, a := range s.GetAreas() {
		d.Areas |= 1 << uint32(a)
		kw = append(kw, AreaNamePL(a))
	}
	for _, g := range s.GetTargetGroups() {
		d.TargetGroups |= 1 << uint32(g)
		kw = append(kw, TargetGroupNamePL(g))
	}
	tercs := map[string]bool{}
	if o := s.GetOriginTerc(); o != "" {
		tercs[o] = true
	}
	for _, l := range s.GetLocations() {
		kw = append(kw, l.GetName(), l.GetAddress().GetCity())
		if t := l.GetTerytCode(); t != "" {
			tercs[t] = true
		}
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
	for t := range tercs {
		d.Tercs = append(d.Tercs, t)
	}
	d.Keywords = strings.Join(kw, " ")
	return d
}
