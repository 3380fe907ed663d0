package search

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// Documents with the same providers share one list; an update to other providers, or to none, is seen by
// Get and List's filter, and a snapshot keeps each document's own list.
func TestProviderListsAreSharedAndFollowUpdates(t *testing.T) {
	ix := New()
	a := []string{"providers/1", "providers/2"}
	for i := range 6 {
		d := doc(fmt.Sprintf("s%d", i), "Świetlica")
		if i%2 == 0 {
			d.Providers = slices.Clone(a)
		}
		ix.Upsert(d)
	}
	if len(ix.provLists) != 2 {
		t.Fatalf("%d provider lists, want none and one shared", len(ix.provLists))
	}
	up := doc("s0", "Świetlica")
	up.Revision = 2
	up.Providers = []string{"providers/3"}
	ix.Upsert(up)
	up = doc("s2", "Świetlica")
	up.Revision = 2
	ix.Upsert(up)

	want := map[string][]string{"s0": {"providers/3"}, "s1": nil, "s2": nil, "s3": nil, "s4": a, "s5": nil}
	check := func(ix *Index) {
		t.Helper()
		for id, w := range want {
			d, _ := ix.Get(id)
			if !slices.Equal(d.Providers, w) {
				t.Fatalf("Get(%s).Providers = %v, want %v", id, d.Providers, w)
			}
		}
		got, _ := ix.List(func(d *Doc) bool { return slices.Contains(d.Providers, "providers/2") }, nil, 0, 10)
		if !slices.Equal(got, []string{"s4"}) {
			t.Fatalf("List of providers/2: %v, want [s4]", got)
		}
	}
	check(ix)
	read, _, err := ReadSnapshot(bytes.NewReader(snapshotBytes(t, ix, SnapshotMeta{FeedID: "p", Revision: 2})))
	if err != nil {
		t.Fatal(err)
	}
	check(read)
}
