package search

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// checkWeeks verifies the shared week maps: each live document's map is the one its hours give, every
// count is the number of documents with the map, unused maps are free and the index finds each map.
func checkWeeks(t *testing.T, ix *Index) {
	t.Helper()
	refs := make([]uint32, len(ix.weeks))
	for i, id := range ix.week {
		if ix.hot[i].flags&hotLive == 0 {
			if id != 0 {
				t.Fatalf("free slot %d holds week map %d", i, id)
			}
			continue
		}
		if got, want := ix.weeks[id], buildWeek(ix.meta[i].hours); got != want {
			t.Fatalf("document %d: week map %d is not the one of its hours", i, id)
		}
		refs[id]++
	}
	free := map[uint32]bool{}
	for _, id := range ix.weekFree {
		free[id] = true
	}
	for id := 1; id < len(ix.weeks); id++ {
		if refs[id] != ix.weekRefs[id] {
			t.Fatalf("week map %d: counted %d documents, %d have it", id, ix.weekRefs[id], refs[id])
		}
		if (refs[id] == 0) != free[uint32(id)] {
			t.Fatalf("week map %d: %d documents, free %v", id, refs[id], free[uint32(id)])
		}
		if refs[id] > 0 && ix.weekIDs[ix.weeks[id]] != uint32(id) {
			t.Fatalf("week map %d not found by its value", id)
		}
	}
	if len(ix.weekIDs) != len(ix.weeks)-1-len(ix.weekFree) {
		t.Fatalf("%d maps indexed, %d in use", len(ix.weekIDs), len(ix.weeks)-1-len(ix.weekFree))
	}
}

func TestWeekMapsSharedThroughUpdatesDeletesAndSnapshots(t *testing.T) {
	ix := snapCorpus(600)
	checkWeeks(t, ix)
	if len(ix.weeks) >= 600 {
		t.Fatalf("%d week maps for 600 documents: nothing shared", len(ix.weeks))
	}
	// New hours for some (the old maps of the only documents having them are freed and reused), none for
	// others, the same hours as another document for a few.
	rev := int64(10_000)
	for i := 1; i < 600; i += 4 {
		id := fmt.Sprintf("svc-%05d", i)
		d, ok := ix.Get(id)
		if !ok {
			continue
		}
		rev++
		d.Revision = rev
		switch i % 3 {
		case 0:
			d.Hours = []Interval{{Weekday: 1 + i%7, OpenMin: (i % 20) * 60, CloseMin: (i%20)*60 + 45}}
		case 1:
			d.Hours = nil
		default:
			d.Hours = []Interval{{Weekday: 3, OpenMin: 8 * 60, CloseMin: 16 * 60}}
		}
		ix.Upsert(d)
	}
	for i := 2; i < 600; i += 10 {
		rev++
		ix.Delete(fmt.Sprintf("svc-%05d", i), rev)
	}
	checkWeeks(t, ix)
	wednesday := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	if r := ix.Search(Query{OpenAt: &wednesday, IncludeInactive: true, Limit: 1000}); r.Total == 0 {
		t.Fatal("no document open on Wednesday morning")
	}

	got, _, err := ReadSnapshot(bytes.NewReader(snapshotBytes(t, ix, SnapshotMeta{FeedID: "w", Revision: rev})))
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	checkWeeks(t, got)
	sameIndex(t, ix, got, corpusIDs(600))
	// The index read back keeps sharing and freeing maps.
	for i := 5; i < 600; i += 8 {
		rev++
		ix.Delete(fmt.Sprintf("svc-%05d", i), rev)
		got.Delete(fmt.Sprintf("svc-%05d", i), rev)
	}
	checkWeeks(t, got)
	sameIndex(t, ix, got, corpusIDs(600))
}
