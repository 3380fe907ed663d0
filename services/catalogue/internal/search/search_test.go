package search

import (
	"fmt"
	"math/bits"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// doc returns an active document with no bounds; tests override fields.
func doc(id, name string) Doc {
	return Doc{ID: id, Revision: 1, Name: name, Active: true, MinAge: -1, MaxAge: -1}
}

func build(docs ...Doc) *Index {
	ix := New()
	for _, d := range docs {
		ix.Upsert(d)
	}
	return ix
}

func hitIDs(r Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.ID
	}
	return out
}

func sorted(ids []string) []string {
	c := slices.Clone(ids)
	sort.Strings(c)
	return c
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Żłobek", "zlobek"},
		{"ŻŁOBEK", "zlobek"},
		{"ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "acelnoszz acelnoszz"},
		{"Świetlica Środowiskowa", "swietlica srodowiskowa"},
		{"dom-pomocy,społecznej (DPS)", "dom pomocy spolecznej dps"},
		{"Crème brûlée, naïve Ångström", "creme brulee naive angstrom"},
		{"Straße Øresund Æble", "strasse oresund aeble"},
		{"z\u0307łobek", "zlobek"}, // decomposed ż
		{"  ", ""},
		{"MOPS 2024/25", "mops 2024 25"},
		{"Київ Москва", "київ москва"},
		{"\u212Bngstr\u00F6m", "angstrom"}, // ANGSTROM SIGN lower-cases to å
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDiacriticsSearch(t *testing.T) {
	ix := build(doc("a", "Żłobek Miejski nr 3"), doc("b", "Klub Seniora"), doc("c", "ŚWIETLICA ŚRODOWISKOWA"))
	tests := []struct {
		q    string
		want []string
	}{
		{"zlobek", []string{"a"}},
		{"ŻŁOBEK", []string{"a"}},
		{"żłobek miejski", []string{"a"}},
		{"Zlobek", []string{"a"}},
		{"swietlica", []string{"c"}},
		{"świetlica środowiskowa", []string{"c"}},
		{"srodowiskowa swietlica", []string{"c"}},
	}
	for _, tt := range tests {
		if got := hitIDs(ix.Search(Query{Text: tt.q})); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestTypoTolerance(t *testing.T) {
	ix := build(
		doc("opiek", "Opiekunka środowiskowa"),
		doc("swiet", "Świetlica"),
		doc("rehab", "Rehabilitacja"),
		doc("terap", "Terapia"),
	)
	tests := []struct {
		q     string
		want  []string
		about string
	}{
		{"opiekumka", []string{"opiek"}, "substitution, length 9"},
		{"opiekunak", []string{"opiek"}, "transposition"},
		{"opiekunkaa", []string{"opiek"}, "insertion"},
		{"swietlica", []string{"swiet"}, "no diacritics, exact after folding"},
		{"świetlca", []string{"swiet"}, "deletion with diacritics"},
		{"rehabilitcja", []string{"rehab"}, "distance 1 on a long word"},
		{"rehabiltcja", []string{"rehab"}, "distance 2 allowed from 8 letters"},
		{"rehebiltacja", []string{"rehab"}, "substitution plus deletion"},
		{"rahebilitecja", nil, "distance 3 is too far"},
		{"terapja", []string{"terap"}, "distance 1 at 7 letters"},
		{"tarapja", nil, "distance 2 not allowed under 8 letters"},
	}
	for _, tt := range tests {
		if got := hitIDs(ix.Search(Query{Text: tt.q + " "})); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Search(%q) = %v, want %v", tt.about, tt.q, got, tt.want)
		}
	}
}

func TestNoFuzzyForShortTerms(t *testing.T) {
	ix := build(doc("kit", "kit"), doc("dom", "dom"), doc("mops", "mops"))
	tests := []struct {
		q    string
		want []string
	}{
		{"kot", nil},  // distance 1 but only 3 letters
		{"kot ", nil}, // finished word: no prefix either
		{"dam", nil},  //
		{"dom", []string{"dom"}},
		{"mopz", []string{"mops"}}, // 4 letters: distance 1 allowed
	}
	for _, tt := range tests {
		if got := hitIDs(ix.Search(Query{Text: tt.q})); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestPrefixAndInflection(t *testing.T) {
	ix := build(
		doc("kl", "Klub seniorów"),
		doc("sz", "Seniorzy razem"),
		doc("dd", "Dom dziecka"),
		doc("mi", "Mieszkanie chronione"),
		doc("us", "Usługi opiekuńcze"),
	)
	tests := []struct {
		q    string
		want []string
	}{
		{"senior", []string{"kl", "sz"}},
		{"seniorów", []string{"kl", "sz"}},
		{"seniorzy", []string{"kl", "sz"}},
		{"dzieci", []string{"dd"}},
		{"mieszk", []string{"mi"}},            // search as you type
		{"mi", []string{"mi"}},                // short prefix only for the word being typed
		{"mi ", nil},                          // ...not once it is finished
		{"usługa opiekuńcza", []string{"us"}}, // both words inflected differently
	}
	for _, tt := range tests {
		if got := sorted(hitIDs(ix.Search(Query{Text: tt.q}))); !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestRanking(t *testing.T) {
	t.Run("name beats description", func(t *testing.T) {
		a := doc("a", "Pomoc sąsiedzka")
		a.Description = "Terapia zajęciowa dla dorosłych"
		b := doc("b", "Terapia zajęciowa")
		b.Description = "Pomoc sąsiedzka dla dorosłych"
		ix := build(a, b)
		if got := hitIDs(ix.Search(Query{Text: "terapia"})); !slices.Equal(got, []string{"b", "a"}) {
			t.Errorf("got %v, want [b a]", got)
		}
	})
	t.Run("exact beats prefix beats fuzzy", func(t *testing.T) {
		ix := build(doc("fuzzy", "terapja"), doc("prefix", "terapiami"), doc("exact", "terapia"))
		r := ix.Search(Query{Text: "terapia "})
		if got := hitIDs(r); !slices.Equal(got, []string{"exact", "prefix", "fuzzy"}) {
			t.Fatalf("got %v, want [exact prefix fuzzy]", got)
		}
		if !(r.Hits[0].Score > r.Hits[1].Score && r.Hits[1].Score > r.Hits[2].Score) {
			t.Errorf("scores not strictly decreasing: %+v", r.Hits)
		}
	})
	t.Run("more matched terms first in fallback", func(t *testing.T) {
		ix := build(doc("one", "klub"), doc("two", "klub basen"), doc("none", "sauna"))
		r := ix.Search(Query{Text: "klub basen xyzzyq"})
		if got := hitIDs(r); !slices.Equal(got, []string{"two", "one"}) {
			t.Errorf("got %v, want [two one]", got)
		}
	})
	t.Run("ties by folded name then id", func(t *testing.T) {
		ix := build(doc("3", "Żaba klub"), doc("2", "Zaba klub"), doc("1", "Ala klub"), doc("0", "Zaba klub"))
		got := hitIDs(ix.Search(Query{Text: "klub"}))
		if want := []string{"1", "0", "2", "3"}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestAndThenOrFallback(t *testing.T) {
	ix := build(doc("kb", "klub basen"), doc("k", "klub"), doc("b", "basen"), doc("s", "sauna"))
	tests := []struct {
		q    string
		want []string
	}{
		{"klub basen", []string{"kb"}},                     // AND has results: only docs with both
		{"klub sauna", []string{"k", "kb", "s"}},           // no doc has both: any term
		{"pomoc dla klub basen", []string{"b", "k", "kb"}}, // "pomoc" matches nothing, "dla" is a stopword
	}
	for _, tt := range tests {
		r := ix.Search(Query{Text: tt.q})
		if got := sorted(hitIDs(r)); !slices.Equal(got, tt.want) || r.Total != len(tt.want) {
			t.Errorf("Search(%q) = %v (total %d), want %v", tt.q, got, r.Total, tt.want)
		}
	}
}

func i32(v int32) *int32 { return &v }

// filterCorpus: a small catalogue with known attributes.
func filterCorpus() *Index {
	mk := func(id string, areas, tgs uint32, minAge, maxAge int32, terc string, free, active bool, p LatLng, hours ...Interval) Doc {
		d := doc(id, "usługa "+id)
		d.Areas, d.TargetGroups = areas, tgs
		d.MinAge, d.MaxAge = minAge, maxAge
		d.Tercs, d.Origin = []string{terc}, terc
		d.Free, d.Active = free, active
		d.Points = []LatLng{p}
		d.Hours = hours
		return d
	}
	weekdays := func(open, close int) []Interval {
		var out []Interval
		for wd := 1; wd <= 5; wd++ {
			out = append(out, Interval{wd, open, close})
		}
		return out
	}
	waw := LatLng{52.2297, 21.0122}
	krk := LatLng{50.0647, 19.9450}
	return build(
		mk("a", 1<<1, 1<<1, -1, -1, "1465011", true, true, waw, weekdays(8*60, 16*60)...),
		mk("b", 1<<2, 1<<2, 0, 3, "1465011", false, true, krk, weekdays(7*60, 17*60)...),
		mk("c", 1<<1|1<<3, 1<<3, 60, -1, "1261011", true, true, krk, Interval{6, 10 * 60, 14 * 60}),
		mk("d", 1<<4, 1<<1|1<<4, 18, 65, "1261011", false, true, waw),
		mk("e", 1<<1, 1<<1, -1, -1, "1465011", true, false, waw, weekdays(0, 1440)...),
	)
}

func TestFilters(t *testing.T) {
	ix := filterCorpus()
	wedNoon := time.Date(2025, 3, 12, 11, 0, 0, 0, time.UTC) // 12:00 in Warsaw
	saturday := time.Date(2025, 3, 15, 11, 0, 0, 0, time.UTC)
	near := &Geo{LatLng{52.23, 21.01}, 10_000}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"none", Query{}, []string{"a", "b", "c", "d"}},
		{"include inactive", Query{IncludeInactive: true}, []string{"a", "b", "c", "d", "e"}},
		{"areas", Query{Areas: 1 << 1}, []string{"a", "c"}},
		{"areas any bit", Query{Areas: 1<<3 | 1<<4}, []string{"c", "d"}},
		{"target groups", Query{TargetGroups: 1 << 1}, []string{"a", "d"}},
		{"age 2", Query{Age: i32(2)}, []string{"a", "b"}},
		{"age 70", Query{Age: i32(70)}, []string{"a", "c"}},
		{"age 18 inclusive", Query{Age: i32(18)}, []string{"a", "d"}},
		{"terc", Query{Tercs: []string{"1261011"}}, []string{"c", "d"}},
		{"terc any", Query{Tercs: []string{"0000000", "1465011"}}, []string{"a", "b"}},
		{"terc unknown", Query{Tercs: []string{"0000000"}}, nil},
		{"free", Query{FreeOnly: true}, []string{"a", "c"}},
		{"open weekday", Query{OpenAt: &wedNoon}, []string{"a", "b"}},
		{"open saturday", Query{OpenAt: &saturday}, []string{"c"}},
		{"near", Query{Near: near}, []string{"a", "d"}},
		{"combined", Query{Areas: 1 << 1, FreeOnly: true, Tercs: []string{"1465011"}, Near: near}, []string{"a"}},
		{"combined with inactive", Query{Areas: 1 << 1, FreeOnly: true, OpenAt: &wedNoon, IncludeInactive: true}, []string{"a", "e"}},
		{"combined empty", Query{Areas: 1 << 2, Age: i32(10)}, nil},
		{"text plus filter", Query{Text: "usługa", TargetGroups: 1 << 3}, []string{"c"}},
	}
	for _, tt := range tests {
		r := ix.Search(tt.q)
		got := sorted(hitIDs(r))
		if !slices.Equal(got, tt.want) || r.Total != len(tt.want) {
			t.Errorf("%s: got %v (total %d), want %v", tt.name, got, r.Total, tt.want)
		}
	}
}

func TestFacetsExcludeOwnFilter(t *testing.T) {
	ix := filterCorpus()
	r := ix.Search(Query{Areas: 1 << 1, TargetGroups: 1 << 1})
	if got := sorted(hitIDs(r)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("hits %v, want [a]", got)
	}
	// Area facets ignore the area filter but keep the group filter
	// (docs a, d pass groups): areas 1 (a), 4 (d).
	if want := map[int]int{1: 1, 4: 1}; !mapsEqual(r.AreaFacets, want) {
		t.Errorf("AreaFacets = %v, want %v", r.AreaFacets, want)
	}
	// Group facets ignore the group filter but keep the area filter
	// (docs a, c pass areas): groups 1 (a), 3 (c).
	if want := map[int]int{1: 1, 3: 1}; !mapsEqual(r.TargetGroupFacets, want) {
		t.Errorf("TargetGroupFacets = %v, want %v", r.TargetGroupFacets, want)
	}
	// Other filters do apply to facets.
	r = ix.Search(Query{Areas: 1 << 1, FreeOnly: true})
	if want := map[int]int{1: 2, 3: 1}; !mapsEqual(r.AreaFacets, want) {
		t.Errorf("AreaFacets with FreeOnly = %v, want %v", r.AreaFacets, want)
	}
	if want := map[int]int{1: 1, 3: 1}; !mapsEqual(r.TargetGroupFacets, want) {
		t.Errorf("TargetGroupFacets with FreeOnly = %v, want %v", r.TargetGroupFacets, want)
	}
}

func mapsEqual(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOpenAtTimeZone(t *testing.T) {
	tueMidnight := doc("tue0", "nocny punkt")
	tueMidnight.Hours = []Interval{{2, 0, 60}} // Tuesday 00:00-01:00 local
	tueOne := doc("tue1", "nocny punkt")
	tueOne.Hours = []Interval{{2, 60, 120}} // Tuesday 01:00-02:00 local
	monLate := doc("mon", "nocny punkt")
	monLate.Hours = []Interval{{1, 23 * 60, 1440}} // Monday 23:00-24:00 local
	overnight := doc("sun", "nocny punkt")
	overnight.Hours = []Interval{{7, 22 * 60, 2 * 60}} // Sunday 22:00 to Monday 02:00
	sunEarly := doc("sun3", "nocny punkt")
	sunEarly.Hours = []Interval{{7, 3 * 60, 4 * 60}}
	ix := build(tueMidnight, tueOne, monLate, overnight, sunEarly)
	at := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	tests := []struct {
		at   *time.Time
		want []string
	}{
		{at("2025-01-13T23:30:00Z"), []string{"tue0"}}, // Monday 23:30 UTC = Tuesday 00:30 CET
		{at("2025-07-14T23:30:00Z"), []string{"tue1"}}, // Monday 23:30 UTC = Tuesday 01:30 CEST
		{at("2025-01-13T22:30:00Z"), []string{"mon"}},  // Monday 23:30 CET
		{at("2025-01-13T00:30:00Z"), []string{"sun"}},  // Monday 01:30 CET, inside Sunday's overnight interval
		{at("2025-01-12T21:30:00Z"), []string{"sun"}},  // Sunday 22:30 CET
		{at("2025-01-13T01:30:00Z"), nil},              // Monday 02:30 CET: closed everywhere
		{at("2025-03-30T01:30:00Z"), []string{"sun3"}}, // 03:30 CEST on the night clocks go forward (02:30 if CET were assumed)
		{at("2025-03-30T00:30:00Z"), nil},              // 01:30 CET, same night, before the switch
	}
	for _, tt := range tests {
		got := sorted(hitIDs(ix.Search(Query{OpenAt: tt.at})))
		if !slices.Equal(got, tt.want) {
			t.Errorf("OpenAt %v (%v local) = %v, want %v", tt.at.UTC(), tt.at.In(warsaw()), got, tt.want)
		}
	}
}

func TestGeo(t *testing.T) {
	center := LatLng{52.0, 21.0}
	mk := func(id, name string, pts ...LatLng) Doc {
		d := doc(id, name)
		d.Points = pts
		return d
	}
	ix := build(
		mk("far", "punkt pomocy", LatLng{52.5, 21.0}),                        // ~55.6 km
		mk("mid", "punkt pomocy pomocy", LatLng{52.045, 21.0}),               // ~5.0 km
		mk("near", "punkt", LatLng{52.3, 21.0}, LatLng{52.009, 21.0}),        // nearest point ~1.0 km
		mk("nopts", "punkt pomocy pomocy pomocy"),                            // no location
		mk("east", "punkt", LatLng{52.0, 21.0 + 8000/(111195.08*0.6156615)}), // ~8 km east
	)
	r := ix.Search(Query{Near: &Geo{center, 10_000}})
	if got := hitIDs(r); !slices.Equal(got, []string{"near", "mid", "east"}) {
		t.Fatalf("radius 10 km: got %v, want [near mid east]", got)
	}
	wantDist := []int32{1001, 5004, 8000}
	for i, h := range r.Hits {
		if !h.HasDistance || h.DistanceMeters < wantDist[i]-15 || h.DistanceMeters > wantDist[i]+15 {
			t.Errorf("%s: distance %d (has %v), want ~%d", h.ID, h.DistanceMeters, h.HasDistance, wantDist[i])
		}
	}
	// Text and Near: relevance order, distances still reported, radius
	// still applied.
	r = ix.Search(Query{Text: "pomocy", Near: &Geo{center, 100_000}})
	if got := hitIDs(r); len(got) != 2 || !r.Hits[0].HasDistance || !r.Hits[1].HasDistance {
		t.Fatalf("text+near: %+v", r.Hits)
	}
	if r.Hits[0].ID != "mid" {
		t.Errorf("text+near: want relevance order (mid has the term twice), got %v", hitIDs(r))
	}
	// No radius: everything, by distance, documents without points last.
	r = ix.Search(Query{Near: &Geo{Center: center}})
	if got := hitIDs(r); !slices.Equal(got, []string{"near", "mid", "east", "far", "nopts"}) {
		t.Errorf("unbounded: got %v", got)
	}
	if last := r.Hits[len(r.Hits)-1]; last.HasDistance {
		t.Errorf("document without points has a distance: %+v", last)
	}
}

func TestRevisionGuard(t *testing.T) {
	ix := New()
	v := func(rev int64, name string) Doc {
		d := doc("x", name)
		d.Revision = rev
		return d
	}
	found := func(text string) bool { return ix.Search(Query{Text: text}).Total == 1 }

	ix.Upsert(v(5, "alfa"))
	ix.Upsert(v(3, "beta")) // stale
	if d, _ := ix.Get("x"); d.Revision != 5 || !found("alfa") || found("beta") {
		t.Fatalf("stale upsert applied: %+v", d)
	}
	ix.Upsert(v(6, "gamma"))
	if found("alfa") || !found("gamma") {
		t.Fatal("update did not replace the indexed text")
	}
	ix.Delete("x", 4) // older than the indexed version
	if _, ok := ix.Get("x"); !ok {
		t.Fatal("stale delete removed the document")
	}
	ix.Delete("x", 8)
	if _, ok := ix.Get("x"); ok || ix.Len() != 0 || found("gamma") {
		t.Fatal("delete did not remove the document")
	}
	ix.Upsert(v(7, "delta")) // older than the tombstone
	ix.Upsert(v(8, "delta")) // equal to the tombstone
	if _, ok := ix.Get("x"); ok || found("delta") {
		t.Fatal("upsert at or below the tombstone resurrected the document")
	}
	ix.Upsert(v(9, "epsilon"))
	if d, ok := ix.Get("x"); !ok || d.Revision != 9 || !found("epsilon") || ix.Len() != 1 {
		t.Fatal("upsert newer than the tombstone ignored")
	}
	ix.Delete("y", 3) // unknown id: tombstone only
	y := doc("y", "zeta")
	y.Revision = 2
	ix.Upsert(y)
	if _, ok := ix.Get("y"); ok {
		t.Fatal("tombstone for a never-seen id ignored")
	}
}

func TestGetReturnsCopy(t *testing.T) {
	d := doc("x", "alfa")
	d.Tercs = []string{"1465011"}
	ix := build(d)
	d.Tercs[0] = "changed"
	got, _ := ix.Get("x")
	got.Tercs[0] = "changed too"
	again, _ := ix.Get("x")
	if again.Tercs[0] != "1465011" {
		t.Fatalf("index shares slices with callers: %v", again.Tercs)
	}
}

func TestPagination(t *testing.T) {
	var docs []Doc
	for i := range 57 {
		d := doc(fmt.Sprintf("id%02d", i), fmt.Sprintf("klub %d", i%5)) // many exact ties
		d.Description = strings.Repeat("zajęcia ", i%3)
		d.Points = []LatLng{{52 + float64(i%7)*0.01, 21}}
		docs = append(docs, d)
	}
	ix := New()
	ix.BulkLoad(docs)
	for _, q := range []Query{
		{Text: "klub"},
		{Text: "klub zajęcia"},
		{},
		{Near: &Geo{LatLng{52, 21}, 50_000}},
	} {
		full := ix.Search(Query{Text: q.Text, Near: q.Near, Limit: 1000})
		var paged []string
		for off := 0; off < full.Total+5; off += 7 {
			q.Offset, q.Limit = off, 7
			r := ix.Search(q)
			if r.Total != full.Total {
				t.Fatalf("%q: total %d on page %d, %d overall", q.Text, r.Total, off, full.Total)
			}
			if len(r.Hits) > 7 {
				t.Fatalf("page larger than limit: %d", len(r.Hits))
			}
			paged = append(paged, hitIDs(r)...)
		}
		if !slices.Equal(paged, hitIDs(full)) {
			t.Errorf("%q: pages %v\n != full %v", q.Text, paged, hitIDs(full))
		}
		if len(sorted(paged)) != len(slices.Compact(sorted(paged))) {
			t.Errorf("%q: duplicates across pages", q.Text)
		}
		again := ix.Search(Query{Text: q.Text, Near: q.Near, Limit: 1000})
		if !slices.Equal(hitIDs(again), hitIDs(full)) {
			t.Errorf("%q: order not deterministic", q.Text)
		}
	}
	if r := ix.Search(Query{Text: "klub"}); len(r.Hits) != DefaultLimit {
		t.Errorf("default limit: %d hits", len(r.Hits))
	}
}

func TestList(t *testing.T) {
	var docs []Doc
	for i := range 30 {
		d := doc(fmt.Sprintf("id%02d", i), "x")
		d.Status = int32(i % 3)
		d.Active = i%2 == 0
		d.CreateTime = time.Unix(int64(1000-i%10), 0) // ties broken by ID
		docs = append(docs, d)
	}
	ix := New()
	ix.BulkLoad(docs)
	keep := func(d *Doc) bool { return d.Status == 1 }
	newest := []OrderKey{{Field: OrderByCreateTime, Desc: true}}
	all, total := ix.List(keep, newest, 0, 100)
	if total != 10 || len(all) != 10 {
		t.Fatalf("total %d, %d ids; want 10 (inactive included)", total, len(all))
	}
	var want []string
	for _, d := range docs {
		if keep(&d) {
			want = append(want, d.ID)
		}
	}
	slices.SortFunc(want, func(a, b string) int {
		da, db := docs[idx(a)], docs[idx(b)]
		if c := db.CreateTime.Compare(da.CreateTime); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if !slices.Equal(all, want) {
		t.Errorf("List = %v, want %v", all, want)
	}
	var paged []string
	for off := 0; off < 12; off += 3 {
		ids, tot := ix.List(keep, newest, off, 3)
		if tot != 10 {
			t.Fatalf("total %d", tot)
		}
		paged = append(paged, ids...)
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged List = %v, want %v", paged, want)
	}
	if ids, tot := ix.List(nil, nil, 0, 5); tot != 30 || !slices.Equal(ids, []string{"id00", "id01", "id02", "id03", "id04"}) {
		t.Errorf("List(nil, nil) = %v, %d", ids, tot)
	}
}

func idx(id string) int {
	var i int
	fmt.Sscanf(id, "id%d", &i)
	return i
}

func TestUpdateKeepsIndexConsistent(t *testing.T) {
	ix := New()
	for i := range 50 {
		d := doc(fmt.Sprintf("d%d", i), fmt.Sprintf("klub numer%d", i))
		ix.Upsert(d)
	}
	for i := 0; i < 50; i += 2 {
		d := doc(fmt.Sprintf("d%d", i), fmt.Sprintf("basen numer%d", i))
		d.Revision = 2
		ix.Upsert(d)
	}
	for i := 1; i < 50; i += 4 {
		ix.Delete(fmt.Sprintf("d%d", i), 5)
	}
	if got := ix.Search(Query{Text: "klub", Limit: 100}).Total; got != 12 {
		t.Errorf("klub: %d, want 12", got)
	}
	if got := ix.Search(Query{Text: "basen", Limit: 100}).Total; got != 25 {
		t.Errorf("basen: %d, want 25", got)
	}
	if ix.Len() != 37 {
		t.Errorf("Len %d, want 37", ix.Len())
	}
	// Freed slots are reused and the new document is searchable.
	ix.Upsert(doc("new", "sauna"))
	if got := hitIDs(ix.Search(Query{Text: "sauna"})); !slices.Equal(got, []string{"new"}) {
		t.Errorf("sauna: %v", got)
	}
	// Postings are ordered and reference live documents only.
	for term, list := range ix.post {
		if len(list.docs) != len(list.tfc) {
			t.Fatalf("term %q: %d docs, %d tfs", ix.voc.terms[term], len(list.docs), len(list.tfc))
		}
		for i, d := range list.docs {
			if i > 0 && list.docs[i-1] >= d {
				t.Fatalf("term %q postings out of order", ix.voc.terms[term])
			}
			if ix.hot[d].flags&hotLive == 0 {
				t.Fatalf("term %q references a free slot", ix.voc.terms[term])
			}
		}
	}
}

// TestFuzzyMatchesBruteForce checks the bigram candidate filter against an
// exhaustive scan: it must never lose a term within the edit budget.
func TestFuzzyMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	letters := []rune("aąbcćdeęfgłlmnńoóprsśtuwyzźż")
	word := func(n int) string {
		w := make([]rune, n)
		for i := range w {
			w[i] = letters[r.Intn(len(letters))]
		}
		return Normalize(string(w))
	}
	v := newVocab()
	for range 3000 {
		v.id([]byte(word(3 + r.Intn(9))))
	}
	v.merge()
	var s fuzzyScratch
	var rows [3][]int
	for range 400 {
		var q string
		if r.Intn(2) == 0 {
			q = word(4 + r.Intn(8))
		} else { // mutate a real term
			rs := []rune(v.terms[r.Intn(len(v.terms))])
			for range 1 + r.Intn(2) {
				i := r.Intn(len(rs))
				switch r.Intn(4) {
				case 0:
					rs[i] = 'q'
				case 1:
					rs = append(rs[:i], rs[i+1:]...)
				case 2:
					rs = slices.Insert(rs, i, 'x')
				default:
					if i+1 < len(rs) {
						rs[i], rs[i+1] = rs[i+1], rs[i]
					}
				}
				if len(rs) == 0 {
					rs = []rune("abcd")
				}
			}
			q = string(rs)
		}
		d := maxEdits(len([]rune(q)))
		if d == 0 {
			continue
		}
		got := map[string]int{}
		v.fuzzy(q, d, &s, func(id uint32, dist int) { got[v.terms[id]] = dist })
		want := map[string]int{}
		for _, term := range v.terms {
			if len([]rune(term)) < 3 {
				continue
			}
			if dist := osaDistance([]rune(q), []rune(term), d, &rows); dist <= d {
				want[term] = dist
			}
		}
		if len(got) != len(want) {
			t.Fatalf("fuzzy(%q, %d) = %v, brute force %v", q, d, got, want)
		}
		for k, dist := range want {
			if got[k] != dist {
				t.Fatalf("fuzzy(%q, %d) = %v, brute force %v", q, d, got, want)
			}
		}
	}
}

func TestOSADistance(t *testing.T) {
	var rows [3][]int
	tests := []struct {
		a, b string
		want int
	}{
		{"opiekunka", "opiekunak", 1},
		{"opiekunka", "opiekumka", 1},
		{"abc", "abc", 0},
		{"abc", "", 3},
		{"ca", "ac", 1},
		{"swietlica", "swietlca", 1},
		{"rehabilitacja", "rehabiltcja", 2},
	}
	for _, tt := range tests {
		if got := osaDistance([]rune(tt.a), []rune(tt.b), 5, &rows); got != tt.want {
			t.Errorf("osa(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestOSABytesMatchesRunes checks the banded byte distance fuzzy uses for ASCII terms against the full
// rune table, on random words of a small alphabet (so near neighbours are common) and every budget.
func TestOSABytesMatchesRunes(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	word := func() string {
		w := make([]byte, r.Intn(12))
		for i := range w {
			w[i] = "abcd"[r.Intn(4)]
		}
		return string(w)
	}
	var rows, brows [3][]int
	for range 200_000 {
		a, b := word(), word()
		if r.Intn(3) == 0 { // a near neighbour: one or two edits of a
			bs := []byte(a)
			for range 1 + r.Intn(2) {
				if len(bs) == 0 {
					break
				}
				i := r.Intn(len(bs))
				switch r.Intn(4) {
				case 0:
					bs[i] = 'x'
				case 1:
					bs = append(bs[:i], bs[i+1:]...)
				case 2:
					bs = slices.Insert(bs, i, 'y')
				default:
					if i+1 < len(bs) {
						bs[i], bs[i+1] = bs[i+1], bs[i]
					}
				}
			}
			b = string(bs)
		}
		maxD := r.Intn(4)
		want := osaDistance([]rune(a), []rune(b), maxD, &rows)
		if got := osaBytes(a, b, maxD, &brows); got != want {
			t.Fatalf("osaBytes(%q, %q, %d) = %d, osaDistance %d", a, b, maxD, got, want)
		}
	}
}

func TestConcurrentSearchAndWrites(t *testing.T) {
	s := newSynth(3)
	ix := New()
	docs := make([]Doc, 2000)
	for i := range docs {
		docs[i] = s.doc(i)
	}
	ix.BulkLoad(docs[:1000])
	qs := benchQueries(s)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := ix.Search(qs[i%len(qs)])
				if r.Total < len(r.Hits) {
					t.Errorf("total %d < hits %d", r.Total, len(r.Hits))
					return
				}
				ix.List(func(d *Doc) bool { return d.Active }, nil, 0, 5)
				ix.Get(docs[i%len(docs)].ID)
			}
		}()
	}
	for i := 1000; i < 2000; i++ {
		ix.Upsert(docs[i])
		if i%3 == 0 {
			ix.Delete(docs[i-500].ID, docs[i-500].Revision)
		}
		if i%7 == 0 {
			d := docs[i-100]
			d.Revision += 10
			d.Name = "zmieniona " + d.Name
			ix.Upsert(d)
		}
	}
	close(stop)
	wg.Wait()
	if got := ix.Search(Query{Text: "zmieniona", IncludeInactive: true, Limit: 1}).Total; got == 0 {
		t.Error("updates not searchable")
	}
}

// TestTermSigBound checks the bound fuzzy relies on: terms within edit distance d have letter signatures
// differing in at most 2d bits. Words of a few letters, Polish ones and a digit make collisions and repeats
// common.
func TestTermSigBound(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	alphabet := []rune("aabbcłżé9")
	word := func() []rune {
		w := make([]rune, r.Intn(10))
		for i := range w {
			w[i] = alphabet[r.Intn(len(alphabet))]
		}
		return w
	}
	var rows [3][]int
	for range 200_000 {
		a, b := word(), word()
		d := osaDistance(a, b, 3, &rows)
		if d > 3 {
			continue
		}
		if got := bits.OnesCount64(termSig(string(a)) ^ termSig(string(b))); got > 2*d {
			t.Fatalf("%q and %q: distance %d, signatures differ in %d bits", string(a), string(b), d, got)
		}
	}
}
