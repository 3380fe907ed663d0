package demo

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestSearchQueries(t *testing.T) {
	opts := SyntheticOptions{Services: 10_000, Gminas: 300, Seed: 2}
	qs, err := SearchQueries(opts, 200)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SearchQueries(opts, 200)
	if len(qs) != 200 || len(again) != 200 {
		t.Fatalf("%d and %d queries", len(qs), len(again))
	}
	// The gminas the catalogue has: TERC filters must name them, distance filters must be near them.
	gminas := map[string]bool{}
	g := newGenerator(opts.Seed, opts.Gminas, false)
	for _, gm := range g.gminas {
		gminas[gm.terc] = true
	}
	perKind := map[string]int{}
	texts := map[string]bool{}
	for i, q := range qs {
		if !proto.Equal(q.Request, again[i].Request) || q.Name != again[i].Name {
			t.Fatalf("query %d differs between two calls", i)
		}
		perKind[q.Kind]++
		r := q.Request
		if r.GetPageSize() != SearchPageSize {
			t.Errorf("%s: page size %d", q.Name, r.GetPageSize())
		}
		for _, c := range r.GetTercCodes() {
			if !gminas[c] {
				t.Errorf("%s: TERC %s is not a gmina of the catalogue", q.Name, c)
			}
		}
		if n := r.GetNear(); n != nil && (n.GetRadiusMeters() < 1000 || n.GetCenter().GetLatitude() < PolandMinLatitude || n.GetCenter().GetLatitude() > PolandMaxLatitude) {
			t.Errorf("%s: distance filter %v", q.Name, n)
		}
		empty := r.GetQuery() == ""
		if strings.HasSuffix(q.Kind, "no text") != empty {
			t.Errorf("%s: text %q", q.Name, r.GetQuery())
		}
		if empty && len(r.GetAreas())+len(r.GetTercCodes())+len(r.GetTargetGroups()) == 0 && r.GetNear() == nil && !r.GetFreeOfCharge() && r.OpenAt == nil && r.Age == nil {
			t.Errorf("%s: no text and no filter", q.Name)
		}
		if q.Kind == "word, no diacritics" && fold(r.GetQuery()) != r.GetQuery() {
			t.Errorf("%s has diacritics", q.Name)
		}
		texts[r.GetQuery()] = true
	}
	for _, k := range QueryKinds {
		if perKind[k] != 200/len(QueryKinds) {
			t.Errorf("%d queries of class %q", perKind[k], k)
		}
	}
	if len(texts) < 80 {
		t.Errorf("only %d distinct texts in 200 queries", len(texts))
	}
	if _, err := SearchQueries(SyntheticOptions{Services: 10, Profile: ProfileHarsh}, 5); err == nil {
		t.Error("queries for the harsh profile")
	}
}

func TestTypo(t *testing.T) {
	for _, w := range []string{"swietlica", "teleopieka", "rehabilitacja", "zlobek"} {
		for seed := range 20 {
			r := newGenerator(int64(seed), 1, false).r
			got := typo(r, w)
			if got == w {
				// a keyboard neighbour may be the letter itself only at the row's end; never here
				t.Errorf("typo(%q) left it as is", w)
			}
			if got[0] != w[0] {
				t.Errorf("typo(%q) = %q changed the first letter", w, got)
			}
			if d := len(got) - len(w); d < -1 || d > 1 {
				t.Errorf("typo(%q) = %q is more than one slip", w, got)
			}
		}
	}
}
