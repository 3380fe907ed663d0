package search

import "testing"

func TestSuggestion(t *testing.T) {
	ix := build(
		doc("a", "Świetlica Środowiskowa"),
		doc("b", "Świetlica dla seniorów"),
		doc("c", "Świeca zapachowa"), // two edits from "swietlca": the nearer "swietlica" wins
		doc("d", "Żłobek Miejski nr 3"),
		doc("e", "Klub Seniora"),
		doc("f", "Opieka wytchnieniowa"),
	)
	tests := []struct{ q, want string }{
		{"swietlca", "swietlica"},                           // one letter missing
		{"Świetlca dla seniorów", "swietlica dla seniorow"}, // known words kept (folded), the typo replaced
		{"zlboek", "zlobek"},                                // transposition
		{"opieka wytchnieniwa", "opieka wytchnieniowa"},
		{"swietlica", ""},   // every word known
		{"Żłobek", ""},      // known with diacritics
		{"swie", ""},        // a prefix still being typed
		{"seniorami", ""},   // an inflected form (its stem is a known prefix)
		{"zlobek 2024", ""}, // digits are never judged
		{"xyzzyq", ""},      // nothing close: no suggestion rather than a wild one
		{"", ""},            // no text
		{"klb", ""},         // too short to judge, as the search does not forgive typos there
		{"swietlca zlboek", "swietlica zlobek"},
	}
	for _, tt := range tests {
		if got := ix.Search(Query{Text: tt.q}).Suggestion; got != tt.want {
			t.Errorf("Search(%q).Suggestion = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func TestSuggestionPrefersFrequentWords(t *testing.T) {
	// "klob" is one edit from both "klub" (three services) and "glob" (one): the frequent word wins.
	ix := build(doc("a", "Klub Seniora"), doc("b", "Klub Malucha"), doc("c", "Klub Sportowy"), doc("d", "Glob Podróżnik"))
	if got := ix.Search(Query{Text: "klob seniora"}).Suggestion; got != "klub seniora" {
		t.Errorf("suggestion %q, want %q", got, "klub seniora")
	}
	// A word that is gone from every service is not suggested.
	ix.Delete("d", 2)
	ix2 := build(doc("a", "Globus"), doc("b", "Klub"))
	ix2.Delete("a", 2)
	if got := ix2.Search(Query{Text: "globis"}).Suggestion; got != "" {
		t.Errorf("deleted word suggested: %q", got)
	}
}
