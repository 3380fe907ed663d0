package search

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestOpenNowCacheFollowsWrites asks "open at" the same minute before and after writes that change who is
// open then: the cached documents of that minute must not outlive the writes, and the answers must stay
// those of checking every document's hours.
func TestOpenNowCacheFollowsWrites(t *testing.T) {
	// Monday 10:30 in Warsaw (CET): hour bit 10 of Monday.
	at := time.Date(2025, 1, 13, 9, 30, 0, 0, time.UTC)
	var docs []Doc
	for i := range 60 {
		d := doc(fmt.Sprintf("d%02d", i), "punkt")
		switch i % 4 {
		case 0:
			d.Hours = []Interval{{1, 9 * 60, 17 * 60}} // the whole hour
		case 1:
			d.Hours = []Interval{{1, 10*60 + 15, 12 * 60}} // part of the hour, open at 10:30
		case 2:
			d.Hours = []Interval{{1, 10*60 + 45, 12 * 60}} // part of the hour, closed at 10:30
		default:
			d.Hours = []Interval{{2, 9 * 60, 17 * 60}} // another day
		}
		docs = append(docs, d)
	}
	ix := build(docs...)
	want := func() []string {
		var ids []string
		for _, d := range docs {
			for _, h := range d.Hours {
				if h.Weekday == 1 && h.OpenMin <= 10*60+30 && 10*60+30 < h.CloseMin {
					ids = append(ids, d.ID)
				}
			}
		}
		return sorted(ids)
	}
	check := func(stage string) {
		t.Helper()
		for _, q := range []Query{{OpenAt: &at, Limit: 100}, {OpenAt: &at, Limit: 100, Text: "punkt"}} {
			r := ix.Search(q)
			if got := sorted(hitIDs(r)); !slices.Equal(got, want()) || r.Total != len(want()) {
				t.Fatalf("%s, text %q: open at 10:30 = %v (total %d), want %v", stage, q.Text, got, r.Total, want())
			}
		}
	}
	check("first")
	if len(ix.qc.open) == 0 {
		t.Fatal("the minute was not cached: the test would not test the cache")
	}
	check("cached")

	docs[1].Hours = []Interval{{1, 10*60 + 40, 12 * 60}} // now closed at 10:30
	docs[1].Revision++
	ix.Upsert(docs[1])
	docs[2].Hours = []Interval{{1, 10*60 + 20, 10*60 + 50}} // now open at 10:30
	docs[2].Revision++
	ix.Upsert(docs[2])
	check("after updates")

	ix.Delete(docs[5].ID, 10)
	docs = slices.Delete(docs, 5, 6)
	d := doc("new", "punkt")
	d.Hours = []Interval{{1, 10 * 60, 10*60 + 31}}
	ix.Upsert(d)
	docs = append(docs, d)
	check("after a delete and an insert")
}
