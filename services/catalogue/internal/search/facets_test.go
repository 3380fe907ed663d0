package search

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// facetsByBit counts facets the plain way, one document and one bit at a time: what facets must equal.
func facetsByBit(ix *Index, match, asel, gsel bitset) (areas, groups [32]int) {
	match.each(func(d uint32) {
		h := &ix.hot[d]
		if gsel == nil || gsel.has(d) {
			addBits(&areas, h.areas)
		}
		if asel == nil || asel.has(d) {
			addBits(&groups, h.tgs)
		}
	})
	return areas, groups
}

// facetIndex is an index of n documents with random areas and target groups (the catalogue's 14 and 8,
// and a few documents with higher bits), loaded as the catalogue loads them.
func facetIndex(n int, r *rand.Rand) *Index {
	ix := New()
	docs := make([]Doc, n)
	for i := range docs {
		d := &docs[i]
		d.ID, d.Revision, d.Active, d.Name = string(rune('a'+i%26))+itoa(i), 1, true, "x"
		d.MinAge, d.MaxAge = -1, -1
		for range 1 + r.IntN(3) {
			d.Areas |= 1 << (1 + r.IntN(14))
		}
		for range r.IntN(3) {
			d.TargetGroups |= 1 << (1 + r.IntN(8))
		}
		if r.IntN(500) == 0 {
			d.Areas |= 1 << (16 + r.IntN(16))
			d.TargetGroups |= 1 << (15 + r.IntN(17))
		}
	}
	ix.BulkLoad(docs)
	return ix
}

func itoa(i int) string {
	var b [20]byte
	k := len(b)
	for {
		k--
		b[k] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(b[k:])
		}
	}
}

// randomSet keeps each live document with probability p, in runs (a term's matches cluster) or alone.
func randomSet(ix *Index, p float64, r *rand.Rand) bitset {
	b := make(bitset, len(ix.bLive))
	for i := range b {
		if r.Float64() < 0.1 {
			b[i] = ix.bLive[i] // a dense word
			continue
		}
		for j := range 64 {
			if r.Float64() < p {
				b[i] |= 1 << j
			}
		}
		b[i] &= ix.bLive[i]
	}
	return b
}

func TestFacetsMatchCountingByBit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := facetIndex(20_000, r)
	for _, p := range []float64{0.001, 0.02, 0.1, 0.5} {
		match := randomSet(ix, p, r)
		for _, sel := range []struct{ areas, groups uint32 }{{0, 0}, {1 << 3, 0}, {0, 1<<2 | 1<<5}, {1<<1 | 1<<7, 1 << 4}, {1 << 20, 0}} {
			asel := selSet(make(bitset, len(match)), &ix.bArea, sel.areas)
			gsel := selSet(make(bitset, len(match)), &ix.bGroup, sel.groups)
			ga, gg := ix.facets(match, asel, gsel)
			wa, wg := facetsByBit(ix, match, asel, gsel)
			if ga != wa || gg != wg {
				t.Errorf("p=%v sel=%+v: facets\n areas %v\n groups %v\nwant\n areas %v\n groups %v", p, sel, ga, gg, wa, wg)
			}
		}
	}
}

// TestFacetsOfRareMatches covers the sets of fewer matches than one per facetRare words (counted per
// document unless a block holds more matches than there are sets), clustered as a gmina's services are.
func TestFacetsOfRareMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ix := facetIndex(20_000, r)
	for _, cluster := range []int{1, 3, 40, 300} {
		match := make(bitset, len(ix.bLive))
		for range 5 {
			start := r.IntN(len(ix.ids) - cluster)
			for d := start; d < start+cluster; d++ {
				match.set(uint32(d))
			}
		}
		match.and(ix.bLive)
		for _, sel := range []struct{ areas, groups uint32 }{{0, 0}, {1 << 3, 0}, {1<<1 | 1<<7, 1 << 4}} {
			asel := selSet(make(bitset, len(match)), &ix.bArea, sel.areas)
			gsel := selSet(make(bitset, len(match)), &ix.bGroup, sel.groups)
			ga, gg := ix.facets(match, asel, gsel)
			wa, wg := facetsByBit(ix, match, asel, gsel)
			if ga != wa || gg != wg {
				t.Errorf("clusters of %d sel=%+v: facets\n areas %v\n groups %v\nwant\n areas %v\n groups %v", cluster, sel, ga, gg, wa, wg)
			}
		}
	}
}

func BenchmarkFacets(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := facetIndex(500_000, r)
	for _, c := range []struct {
		name string
		p    float64
	}{{"sparse-0.5pct", 0.005}, {"mid-5pct", 0.05}} {
		match := randomSet(ix, c.p, r)
		for i := range match {
			if bits.OnesCount64(match[i]) == 64 {
				match[i] = 0 // only the sparse/mid words
			}
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ix.facets(match, nil, nil)
			}
		})
	}
}
