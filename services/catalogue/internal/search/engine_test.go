package search

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// refSearch is the plain reading of Search's contract: every live document
// is tested against every filter from its own Doc, every match is scored
// from the postings (exhaustively, no bounds), all are sorted. It shares
// only the query expansion and the stored impacts with the engine, so it
// checks the bitsets, the facet counting, the OR fallback and the top-k
// pruning.
func refSearch(ix *Index, docs map[string]Doc, q Query) Result {
	s := ix.getScratch()
	defer ix.putScratch(s)
	terms := ix.parseQuery(q.Text, s)
	f := ix.compileFilter(&q)
	type hit struct {
		id      string
		cnt     int
		score   float32
		dist    float64
		hasDist bool
	}
	has := func(v variant, n uint32) (uint16, bool) {
		p := &ix.post[v.id]
		i, ok := slices.BinarySearch(p.docs, n)
		if !ok {
			return 0, false
		}
		return p.imps[i], true
	}
	baseOK := func(d *Doc) (bool, float64, bool) {
		if !d.Active && !q.IncludeInactive || q.FreeOnly && !d.Free {
			return false, 0, false
		}
		if q.Age != nil && (d.MinAge >= 0 && *q.Age < d.MinAge || d.MaxAge >= 0 && *q.Age > d.MaxAge) {
			return false, 0, false
		}
		if len(q.Tercs) > 0 {
			ok := false
			for _, t := range append(slices.Clone(d.Tercs), d.Origin) {
				ok = ok || t != "" && slices.Contains(q.Tercs, t)
			}
			if !ok {
				return false, 0, false
			}
		}
		if q.OpenAt != nil {
			n := ix.byID[d.ID]
			if !openAt(ix.meta[n].hours, f.wd, f.minute) {
				return false, 0, false
			}
		}
		var dist float64
		var hasDist bool
		if f.hasGeo {
			dist = math.Inf(1)
			for _, p := range d.Points {
				if validPoint(p) {
					dist, hasDist = min(dist, haversine(f.center, p)), true
				}
			}
			if f.radius > 0 && (!hasDist || dist > f.radius) {
				return false, 0, false
			}
		}
		return true, dist, hasDist
	}
	collect := func(orMode bool) (hits []hit, areas, groups map[int]int) {
		areas, groups = map[int]int{}, map[int]int{}
		for _, d := range docs {
			n := ix.byID[d.ID]
			var sc float32
			cnt := 0
			for _, qt := range terms {
				var best float32
				found := false
				for _, v := range qt.vs {
					if imp, ok := has(v, n); ok {
						found = true
						best = max(best, v.w*(k1+1)/impScale*float32(imp))
					}
				}
				if found {
					cnt++
					sc += qt.idf * best
				}
			}
			if len(terms) > 0 && (cnt == 0 || !orMode && cnt < len(terms)) {
				continue
			}
			ok, dist, hasDist := baseOK(&d)
			if !ok {
				continue
			}
			areaOK := q.Areas == 0 || d.Areas&q.Areas != 0
			groupOK := q.TargetGroups == 0 || d.TargetGroups&q.TargetGroups != 0
			if groupOK {
				addBitsMap(areas, d.Areas)
			}
			if areaOK {
				addBitsMap(groups, d.TargetGroups)
			}
			if areaOK && groupOK {
				if orMode {
					sc = sc * float32(cnt) / float32(len(terms))
				}
				hits = append(hits, hit{d.ID, cnt, sc, dist, hasDist})
			}
		}
		return hits, areas, groups
	}
	hits, areas, groups := collect(false)
	if len(hits) == 0 && len(terms) > 1 {
		hits, areas, groups = collect(true)
	}
	byName := func(a, b hit) int {
		if c := strings.Compare(Normalize(docs[a.id].Name), Normalize(docs[b.id].Name)); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		switch {
		case len(terms) > 0:
			if a.cnt != b.cnt {
				return b.cnt - a.cnt
			}
			if a.score != b.score {
				if a.score > b.score {
					return -1
				}
				return 1
			}
		case f.hasGeo:
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
		}
		return byName(a, b)
	})
	res := Result{Total: len(hits), AreaFacets: areas, TargetGroupFacets: groups}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	for i := max(q.Offset, 0); i < len(hits) && i < max(q.Offset, 0)+limit; i++ {
		h := Hit{ID: hits[i].id, Score: hits[i].score}
		if hits[i].hasDist {
			h.HasDistance, h.DistanceMeters = true, int32(math.Round(min(hits[i].dist, math.MaxInt32)))
		}
		res.Hits = append(res.Hits, h)
	}
	return res
}

func addBitsMap(m map[int]int, v uint32) {
	for ; v != 0; v &= v - 1 {
		m[trailing(v)]++
	}
}

func sameResult(t *testing.T, what string, got, want Result) {
	t.Helper()
	if got.Total != want.Total {
		t.Errorf("%s: Total %d, want %d", what, got.Total, want.Total)
	}
	if !maps.Equal(got.AreaFacets, want.AreaFacets) || !maps.Equal(got.TargetGroupFacets, want.TargetGroupFacets) {
		t.Errorf("%s: facets %v %v, want %v %v", what, got.AreaFacets, got.TargetGroupFacets, want.AreaFacets, want.TargetGroupFacets)
	}
	if !slices.Equal(got.Hits, want.Hits) {
		t.Errorf("%s: hits\n got %v\nwant %v", what, got.Hits, want.Hits)
	}
}

func randomQueries(r *rand.Rand, s *synth, docs []Doc) []Query {
	qs := benchQueries(s)
	words := []string{"senior", "seniorów", "żłobek", "zlobek", "pomoc", "opieka", "opiekunki", "klub", "terapia",
		"rodziny", "dzieci", "po", "mi", "uslugi", "wsparcie", "swietlca", s.inv[3], s.inv[40], s.inv[900]}
	for range 150 {
		var q Query
		for range r.Intn(4) {
			q.Text += words[r.Intn(len(words))] + " "
		}
		if r.Intn(2) == 0 {
			q.Text = strings.TrimSpace(q.Text)
		}
		if r.Intn(4) == 0 {
			q.Areas = 1<<(1+r.Intn(14)) | 1<<(1+r.Intn(14))*uint32(r.Intn(2))
		}
		if r.Intn(4) == 0 {
			q.TargetGroups = 1 << (1 + r.Intn(8))
		}
		if r.Intn(5) == 0 {
			a := int32(r.Intn(130))
			q.Age = &a
		}
		if r.Intn(6) == 0 {
			q.Tercs = []string{s.tercs[r.Intn(len(s.tercs))], s.tercs[r.Intn(len(s.tercs))], "9999999"}
		}
		if r.Intn(5) == 0 {
			at := time.Date(2026, 3, 9+r.Intn(7), r.Intn(24), r.Intn(60), 0, 0, time.UTC)
			q.OpenAt = &at
		}
		if r.Intn(4) == 0 {
			c := docs[r.Intn(len(docs))].Points[0]
			q.Near = &Geo{Center: c, RadiusMeters: float64(r.Intn(3)) * 20_000 * r.Float64()}
		}
		q.FreeOnly = r.Intn(5) == 0
		q.IncludeInactive = r.Intn(5) == 0
		q.Offset = r.Intn(3) * r.Intn(30)
		q.Limit = r.Intn(3) * 10
		qs = append(qs, q)
	}
	return qs
}

// TestSearchMatchesReference checks the engine against refSearch on a
// synthetic corpus after a bulk load, after a snapshot round trip, then
// again after updates and deletes (which must keep every bitset, TERC
// list, geo cell and impact current).
func TestSearchMatchesReference(t *testing.T) {
	s := newSynth(11)
	r := rand.New(rand.NewSource(5))
	all := make([]Doc, 3000)
	for i := range all {
		all[i] = s.doc(i)
		if i%5 == 0 {
			all[i].Name = all[i-i%10].Name // name ties
		}
	}
	ix := New()
	ix.BulkLoad(all[:2500])
	docs := map[string]Doc{}
	for _, d := range all[:2500] {
		docs[d.ID] = d
	}
	qs := randomQueries(r, s, all)
	check := func(stage string) {
		for i, q := range qs {
			sameResult(t, fmt.Sprintf("%s query %d %+v", stage, i, q), ix.Search(q), refSearch(ix, docs, q))
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	check("bulk")

	// A snapshot read back derives its bitsets, TERC lists, cells and dense
	// sets from the stored arrays: the same answers, and updates go on.
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf, SnapshotMeta{}); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	ix = loaded
	check("snapshot")

	for i, d := range all[2500:] {
		ix.Upsert(d)
		docs[d.ID] = d
		old := all[r.Intn(2500)]
		switch i % 3 {
		case 0:
			ix.Delete(old.ID, old.Revision+100)
			delete(docs, old.ID)
		case 1:
			if _, ok := docs[old.ID]; ok {
				c := s.doc(r.Intn(1 << 20))
				c.ID, c.Revision = old.ID, docs[old.ID].Revision+1
				ix.Upsert(c)
				docs[c.ID] = c
			}
		}
	}
	check("updates")
}
