package web

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Towns and gminas for the "distance from a town" and "gmina" filters. The catalogue has no gazetteer, and the
// pages need none: the places residents can search from are those where services are delivered. A town's point
// is the centroid of the catalogue's locations in it (by the folded city name of their addresses); a gmina's
// name is the one its services give their service area with that TERC code (else the town of its locations).
// The index is built by paging ListServices (1,000 a page), the same read the REST API offers, and rebuilt when
// older than placesTTL, by the request that finds it stale; the others keep using the old one meanwhile.
const placesTTL = 10 * time.Minute

// town is a place residents can search around.
type town struct {
	Name     string
	Lat, Lng float64
	n        int
}

type gminaRef struct {
	Terc, Name string
}

type placeIndex struct {
	towns  map[string]*town // by folded name
	gminas []gminaRef       // by name
	names  map[string]string
}

type places struct {
	catalogue cataloguev1.CatalogueServiceClient
	now       func() time.Time

	build sync.Mutex // one rebuild at a time
	mu    sync.RWMutex
	ix    *placeIndex
	built time.Time
}

// get returns the index, rebuilding it when it is missing or stale. A failed rebuild keeps serving the old index
// when there is one.
func (p *places) get(ctx context.Context) (*placeIndex, error) {
	p.mu.RLock()
	ix, built := p.ix, p.built
	p.mu.RUnlock()
	if ix != nil && p.now().Sub(built) < placesTTL {
		return ix, nil
	}
	if ix != nil && !p.build.TryLock() {
		return ix, nil // another request is rebuilding it
	} else if ix == nil {
		p.build.Lock()
	}
	defer p.build.Unlock()
	p.mu.RLock()
	if p.ix != nil && p.now().Sub(p.built) < placesTTL {
		ix = p.ix
		p.mu.RUnlock()
		return ix, nil
	}
	p.mu.RUnlock()
	fresh, err := p.load(ctx)
	if err != nil {
		if ix != nil {
			return ix, nil
		}
		return nil, err
	}
	p.mu.Lock()
	p.ix, p.built = fresh, p.now()
	p.mu.Unlock()
	return fresh, nil
}

func (p *places) load(ctx context.Context) (*placeIndex, error) {
	ix := &placeIndex{towns: map[string]*town{}, names: map[string]string{}}
	type sum struct {
		lat, lng float64
		n        int
		names    map[string]int
	}
	sums := map[string]*sum{}
	townOfTerc := map[string]string{}
	req := &cataloguev1.ListServicesRequest{PageSize: 1000}
	for {
		resp, err := p.catalogue.ListServices(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, s := range resp.GetServices() {
			for _, a := range s.GetServiceAreas() {
				if len(a.GetTerytCode()) == 7 && a.GetName() != "" {
					if _, ok := ix.names[a.GetTerytCode()]; !ok {
						ix.names[a.GetTerytCode()] = a.GetName()
					}
				}
			}
			for _, l := range s.GetLocations() {
				city := strings.TrimSpace(l.GetAddress().GetCity())
				if city == "" {
					continue
				}
				if t := l.GetTerytCode(); t != "" && townOfTerc[t] == "" {
					townOfTerc[t] = city
				}
				c := l.GetCoordinates()
				if c == nil || (c.GetLatitude() == 0 && c.GetLongitude() == 0) {
					continue
				}
				k := fold(city)
				sm := sums[k]
				if sm == nil {
					sm = &sum{names: map[string]int{}}
					sums[k] = sm
				}
				sm.lat += c.GetLatitude()
				sm.lng += c.GetLongitude()
				sm.n++
				sm.names[city]++
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	for k, sm := range sums {
		// The spelling most locations use names the town.
		best, bestN := "", 0
		for name, n := range sm.names {
			if n > bestN || (n == bestN && name < best) {
				best, bestN = name, n
			}
		}
		ix.towns[k] = &town{Name: best, Lat: sm.lat / float64(sm.n), Lng: sm.lng / float64(sm.n), n: sm.n}
	}
	for terc, city := range townOfTerc {
		if _, ok := ix.names[terc]; !ok {
			ix.names[terc] = "Gmina " + city
		}
	}
	for terc, name := range ix.names {
		ix.gminas = append(ix.gminas, gminaRef{Terc: terc, Name: name})
	}
	sort.Slice(ix.gminas, func(i, j int) bool {
		if a, b := fold(ix.gminas[i].Name), fold(ix.gminas[j].Name); a != b {
			return a < b
		}
		return ix.gminas[i].Terc < ix.gminas[j].Terc
	})
	return ix, nil
}

// town finds a town by name as a resident types it.
func (ix *placeIndex) town(name string) (*town, bool) {
	t, ok := ix.towns[fold(name)]
	return t, ok
}

// similar lists up to n known towns starting like name, for a "did you mean" when a town is unknown.
func (ix *placeIndex) similar(name string, n int) []string {
	k := fold(name)
	var out []string
	for p := min(len(k), 3); p >= 1 && len(out) == 0; p-- {
		for key, t := range ix.towns {
			if strings.HasPrefix(key, k[:p]) {
				out = append(out, t.Name)
			}
		}
	}
	sort.Strings(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// gminaName names a gmina by TERC code, "" when unknown.
func (ix *placeIndex) gminaName(terc string) string {
	if ix == nil {
		return ""
	}
	return ix.names[terc]
}
