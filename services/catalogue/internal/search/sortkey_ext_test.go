package search_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// The index keeps Polish collation keys packed; List must order by name exactly as the whole keys order, and
// Get must return the whole key.
func TestListOrdersByPolishKeysAsWholeKeys(t *testing.T) {
	words := []string{"Żłobek", "żłobek", "Zlobek", "Łódź", "lodz", "Ćwiczenia", "cwiczenia", "Świetlica", "swietlica",
		"Ąb", "ab", "Dom", "dom", "Klub", "KLUB", "Émile", "emile", "Pomoc", "pomoc społeczna", "Pomoc Społeczna"}
	ix := search.New()
	keys := map[string][]byte{}
	for i := range 400 {
		name := words[i%len(words)]
		if i%3 == 0 {
			name += " " + words[(i*7)%len(words)]
		}
		if i%5 == 0 {
			name = strings.ToUpper(name)
		}
		id := fmt.Sprintf("svc-%03d", i)
		key := domain.SortKey(name)
		keys[id] = key
		ix.Upsert(search.Doc{ID: id, Revision: 1, Name: name, SortKey: key, Active: true, MinAge: -1, MaxAge: -1})
	}
	want := make([]string, 0, len(keys))
	for id := range keys {
		want = append(want, id)
	}
	slices.SortFunc(want, func(a, b string) int {
		if c := bytes.Compare(keys[a], keys[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	got, total := ix.List(nil, []search.OrderKey{{Field: search.OrderByName}}, 0, len(keys))
	if total != len(keys) || !slices.Equal(got, want) {
		t.Fatalf("List by name:\n got %v\nwant %v", got, want)
	}
	for id, key := range keys {
		d, ok := ix.Get(id)
		if !ok || !bytes.Equal(d.SortKey, key) {
			t.Fatalf("Get(%s).SortKey = % x, want % x", id, d.SortKey, key)
		}
	}
}
