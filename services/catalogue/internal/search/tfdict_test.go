package search

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// tfCorpusDoc is a document whose word "alfa" occurs a different number of times in each of four fields, so
// that the documents of a corpus of a few hundred have more distinct packed frequencies than the one-byte
// codes of the dictionary can hold, and the rest must be escaped.
func tfCorpusDoc(i int, rev int64, salt int) Doc {
	rep := func(k int) string { return strings.Repeat("alfa ", k) }
	a, b, c, e := (i+salt)%7, (i/7+salt)%7, (i/49)%7, (i/343)%3
	return Doc{
		ID:            fmt.Sprintf("tf-%04d", i),
		Revision:      rev,
		Name:          rep(a+1) + "dom",
		AlternateName: rep(b),
		Description:   rep(c) + "pomoc " + strings.Repeat("beta ", i%5),
		Eligibility:   rep(e),
		Active:        true,
		MinAge:        -1,
		MaxAge:        -1,
	}
}

// checkPostingFrequencies verifies that every posting of every live document decodes to the frequencies of
// its text and carries the impact they give against the document's norms, and that the escaped
// frequencies hold exactly the escaped postings (nothing left behind by updates and deletes).
func checkPostingFrequencies(t *testing.T, ix *Index, docs map[string]Doc) {
	t.Helper()
	escaped := 0
	for _, d := range docs {
		n, ok := ix.byID[d.ID]
		if !ok {
			t.Fatalf("%s not indexed", d.ID)
		}
		terms, _ := ix.analyze(&d)
		nm := ix.docNorm(n)
		for _, e := range terms {
			t32, want := uint32(e>>32), uint32(e)
			p := &ix.post[t32]
			j := -1
			for k, x := range p.docs {
				if x == n {
					j = k
				}
			}
			if j < 0 {
				t.Fatalf("%s: no posting for term %q", d.ID, ix.voc.terms[t32])
			}
			if got := ix.tfd.tf(t32, n, p.tfc[j]); got != want {
				t.Fatalf("%s, term %q: frequencies %#x, want %#x", d.ID, ix.voc.terms[t32], got, want)
			}
			if got, want := p.imps[j], impact(want, &nm); got != want {
				t.Fatalf("%s, term %q: impact %d, want %d", d.ID, ix.voc.terms[t32], got, want)
			}
		}
	}
	for t32 := range ix.post {
		for _, c := range ix.post[t32].tfc {
			if c == tfEscape {
				escaped++
			}
		}
	}
	if escaped != len(ix.tfd.over) {
		t.Fatalf("%d escaped frequencies kept for %d escaped postings", len(ix.tfd.over), escaped)
	}
}

func TestFrequencyCodesEscapeBeyondTheDictionary(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			const n = 1029 // 7*7*7*3: every combination of the four counts
			docs := make(map[string]Doc, n)
			var all []Doc
			for i := range n {
				d := tfCorpusDoc(i, 1, 0)
				docs[d.ID] = d
				all = append(all, d)
			}
			ix := New()
			if bulk {
				ix.BulkLoad(all)
			} else {
				for _, d := range all {
					ix.Upsert(d)
				}
			}
			if len(ix.tfd.vals) != tfEscape || len(ix.tfd.over) == 0 {
				t.Fatalf("%d codes and %d escaped postings: the corpus does not exercise the escape", len(ix.tfd.vals), len(ix.tfd.over))
			}
			checkPostingFrequencies(t, ix, docs)

			// Updates move postings between codes and escapes; deletes drop them; re-created documents
			// reuse the freed doc numbers.
			for i := 0; i < n; i += 3 {
				d := tfCorpusDoc(i, 2, 1+i%5)
				ix.Upsert(d)
				docs[d.ID] = d
			}
			for i := 1; i < n; i += 4 {
				d := tfCorpusDoc(i, 3, 0)
				ix.Delete(d.ID, 3)
				delete(docs, d.ID)
			}
			for i := 1; i < n; i += 8 {
				d := tfCorpusDoc(i, 4, 2)
				ix.Upsert(d)
				docs[d.ID] = d
			}
			checkPostingFrequencies(t, ix, docs)

			// A snapshot keeps the codes and the escapes, and the index read back answers alike.
			var buf bytes.Buffer
			if err := ix.WriteSnapshot(&buf, SnapshotMeta{FeedID: "tf", Revision: 4}); err != nil {
				t.Fatal(err)
			}
			got, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("ReadSnapshot: %v", err)
			}
			checkPostingFrequencies(t, got, docs)
			for _, q := range []Query{{Text: "alfa"}, {Text: "alfa dom", Limit: 100}, {Text: "alfa beta", Offset: 50, Limit: 30}} {
				if w, g := ix.Search(q), got.Search(q); fmt.Sprint(w) != fmt.Sprint(g) {
					t.Fatalf("%+v after a snapshot:\n got %v\nwant %v", q, g, w)
				}
			}

			for id := range docs {
				ix.Delete(id, 9)
			}
			if len(ix.tfd.over) != 0 {
				t.Fatalf("%d escaped frequencies left after deleting every document", len(ix.tfd.over))
			}
		})
	}
}

// A snapshot whose escaped frequencies do not match its escaped postings is refused, not loaded with a
// posting whose frequencies would read as zero at the next refresh of the norms.
func TestSnapshotRefusesMissingEscapedFrequencies(t *testing.T) {
	ix := New()
	for i := range 1029 {
		ix.Upsert(tfCorpusDoc(i, 1, 0))
	}
	for k := range ix.tfd.over {
		delete(ix.tfd.over, k)
		break
	}
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf, SnapshotMeta{FeedID: "tf", Revision: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "escaped frequencies") {
		t.Fatalf("ReadSnapshot: %v, want an error about escaped frequencies", err)
	}
}
