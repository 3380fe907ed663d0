package search

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"Żłobek", "ŻŁOBEK nr 3", "z\u0307łobek", "Straße", "\u212Bngström", "ǅemal",
		"dom-pomocy,społecznej", "\xff\xfe broken", strings.Repeat("ą", 80), "İstanbul", "ﬁlm",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if n != strings.TrimSpace(n) || strings.Contains(n, "  ") {
			t.Fatalf("bad separators in %q", n)
		}
		if !utf8.ValidString(n) {
			t.Fatalf("invalid UTF-8 output %q", n)
		}
		for _, tok := range strings.Fields(n) {
			if len(tok) > maxTokenBytes {
				t.Fatalf("token longer than %d bytes: %q", maxTokenBytes, tok)
			}
			for _, r := range tok {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("non-word rune %q in %q", r, n)
				}
				if _, ok := foldRune(r); ok {
					t.Fatalf("unfolded diacritic %q in %q", r, n)
				}
				if 'A' <= r && r <= 'Z' {
					t.Fatalf("upper case in %q", n)
				}
			}
		}
	})
}

func FuzzSearch(f *testing.F) {
	f.Add("żłobek", 0, 10, uint32(0), false, 0.0, 0.0)
	f.Add("klub seniora", 3, 2, uint32(1<<1), true, 52.2, 21.0)
	f.Add("", -5, 0, uint32(0), false, 91.0, 0.0)
	f.Add("opiekumka xyz a", 1000, 1, uint32(1<<3), false, 50.0, 19.9)
	f.Add("po", 0, -1, ^uint32(0), true, -1.0, 400.0)
	ix := filterCorpus()
	for _, d := range []Doc{
		doc("t1", "Żłobek Miejski"), doc("t2", "Klub Seniora Złota Jesień"),
		doc("t3", "Opiekunka środowiskowa"), doc("t4", "Pomoc społeczna dla rodzin"),
	} {
		d.Points = []LatLng{{52.2, 21.0}}
		ix.Upsert(d)
	}
	f.Fuzz(func(t *testing.T, text string, offset, limit int, areas uint32, free bool, lat, lng float64) {
		q := Query{Text: text, Offset: offset, Limit: limit, Areas: areas, FreeOnly: free}
		if lat != 0 || lng != 0 {
			q.Near = &Geo{LatLng{lat, lng}, float64(limit) * 1000}
		}
		r := ix.Search(q)
		want := limit
		if want <= 0 {
			want = DefaultLimit
		}
		if len(r.Hits) > want || r.Total < len(r.Hits) || r.Total > ix.Len() {
			t.Fatalf("hits %d, total %d, limit %d, len %d", len(r.Hits), r.Total, limit, ix.Len())
		}
		if off := max(offset, 0); off < r.Total && len(r.Hits) != min(want, r.Total-off) {
			t.Fatalf("short page: %d hits, total %d, offset %d, limit %d", len(r.Hits), r.Total, offset, want)
		}
		seen := map[string]bool{}
		for _, h := range r.Hits {
			if seen[h.ID] {
				t.Fatalf("duplicate hit %s", h.ID)
			}
			seen[h.ID] = true
			d, ok := ix.Get(h.ID)
			if !ok || (free && !d.Free) || (areas != 0 && d.Areas&areas == 0) || !d.Active {
				t.Fatalf("hit %s violates the filters", h.ID)
			}
			if h.Score < 0 || h.Score != h.Score {
				t.Fatalf("bad score %v", h.Score)
			}
		}
		for _, facets := range []map[int]int{r.AreaFacets, r.TargetGroupFacets} {
			for k, v := range facets {
				if k < 0 || k > 31 || v <= 0 || v > ix.Len() {
					t.Fatalf("bad facet %d=%d", k, v)
				}
			}
		}
	})
}
