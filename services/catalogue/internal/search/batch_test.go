package search

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchDocs returns n documents with ids from first on, at revisions from rev on: text of the snapshot tests'
// words and, in one document of three, words no other document has (new terms for the vocabulary).
func batchDocs(rng *rand.Rand, first, n int, rev int64) []Doc {
	text := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = snapWords[rng.Intn(len(snapWords))]
		}
		return strings.Join(w, " ")
	}
	base := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	docs := make([]Doc, n)
	for i := range docs {
		k := first + i
		d := Doc{
			ID: fmt.Sprintf("svc-%05d", k), Revision: rev + int64(i),
			Name: text(3), Description: text(30 + rng.Intn(30)), Eligibility: text(rng.Intn(6)), Keywords: text(4),
			Areas: 1 << uint(1+rng.Intn(14)), TargetGroups: 1 << uint(1+rng.Intn(8)), MinAge: -1, MaxAge: -1,
			Origin: fmt.Sprintf("30%05d", rng.Intn(40)), Free: rng.Intn(2) == 0, Active: rng.Intn(10) != 0,
			Status: 1, CreateTime: base, UpdateTime: base.Add(time.Duration(k) * time.Second),
			SortKey: []byte(fmt.Sprintf("key-%05d", k)),
			Points:  []LatLng{{Lat: 51 + rng.Float64(), Lng: 16 + rng.Float64()}},
			Hours:   []Interval{{Weekday: 1 + rng.Intn(5), OpenMin: 8 * 60, CloseMin: 16 * 60}},
		}
		d.Tercs = []string{d.Origin}
		if k%3 == 0 {
			// New words, twice in the name and once in the description (a per-field frequency above one),
			// and one shared by the batch's documents (the same new word first given an id by another).
			d.Name += fmt.Sprintf(" nowe%dslowo nowe%dslowo wspolne%dslowo", k, k, k/50)
			d.Description += fmt.Sprintf(" nowe%dslowo %d", k, 100000+k)
		}
		docs[i] = d
	}
	return docs
}

// TestUpsertBatchSameAsUpserts: a batch leaves the very index (the snapshot's bytes, every answer) that the
// same documents upserted one by one leave, whatever the batch holds: new documents with new words, updates,
// a stale version, a version below a tombstone and one above it, the same id twice, an empty id; in batches
// small enough for one worker and large enough for every core, over an index that a bulk load built.
func TestUpsertBatchSameAsUpserts(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	base := batchDocs(rng, 0, 3000, 1)
	one, batched := New(), New()
	one.BulkLoad(base)
	batched.BulkLoad(batchDocs(rand.New(rand.NewSource(12)), 0, 3000, 1))
	for _, ix := range []*Index{one, batched} {
		ix.Delete("svc-00010", 5000)
		ix.Delete("svc-00011", 5000)
	}
	rev := int64(10000)
	var batches [][]Doc
	for _, size := range []int{1, 7, 63, 500, 2500} {
		docs := batchDocs(rng, 3000+int(rev-10000), size, rev) // new services
		rev += int64(size)
		upd := batchDocs(rng, 100+rng.Intn(2800), size/2+1, rev) // updates of stored ones (new text; not the ids below 100)
		rev += int64(len(upd))
		docs = append(docs, upd...)
		stale := base[20]
		stale.Revision, stale.Name = 0, "przestarzała wersja nieznanesłowoA"
		below := base[10]
		below.Revision, below.Name = 4000, "poniżej nagrobka nieznanesłowoB"
		above := base[11]
		above.Revision, above.Name = rev, "ponad nagrobkiem "+fmt.Sprint(rev)
		rev++
		twice := docs[0]
		twice.Revision, twice.Name = rev, twice.Name+" druga wersja w tej samej partii"
		rev++
		docs = append(docs, stale, below, above, Doc{Name: "bez identyfikatora"}, twice)
		batches = append(batches, docs)
	}
	for _, docs := range batches {
		for _, d := range docs {
			one.Upsert(d)
		}
		batched.UpsertBatch(docs)
		meta := SnapshotMeta{Written: time.Unix(1, 0)}
		if got, want := snapshotBytes(t, batched, meta), snapshotBytes(t, one, meta); !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && got[i] == want[i] {
				i++
			}
			sec := ""
			for _, f := range snapshotFrames(t, want) {
				if f.off <= i && f.section != "" {
					sec = f.section
				}
			}
			t.Fatalf("after a batch of %d: the batched index differs from the one upserted one by one at byte %d (section %q)", len(docs), i, sec)
		}
	}
	var ids []string
	for i := range 3000 + int(rev-10000) {
		ids = append(ids, fmt.Sprintf("svc-%05d", i))
	}
	sameIndex(t, one, batched, ids)
	if _, ok := batched.Get("svc-00010"); ok {
		t.Error("a version below a tombstone was indexed")
	}
	if d, ok := batched.Get("svc-00020"); !ok || d.Revision != 21 {
		t.Errorf("a stale version replaced the indexed one: revision %d", d.Revision)
	}
	if r := batched.Search(Query{Text: "nieznanesłowoA nieznanesłowoB"}); r.Total != 0 {
		t.Errorf("the words of a refused version are searchable: %d", r.Total)
	}
}

// TestUpsertBatchConcurrent runs batches beside searches and single upserts (go test -race checks the
// locking of the analysis outside the write lock) and finds every document afterwards.
func TestUpsertBatchConcurrent(t *testing.T) {
	ix := New()
	ix.BulkLoad(batchDocs(rand.New(rand.NewSource(1)), 0, 500, 1))
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for b := range 5 {
				first := 1000 + w*10000 + b*300
				ix.UpsertBatch(batchDocs(rng, first, 300, 1))
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(9))
		for i := range 200 {
			for _, d := range batchDocs(rng, 50000+i, 1, 1) {
				ix.Upsert(d)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			ix.Search(Query{Text: "świetlica senior"})
		}
	}()
	wg.Wait()
	if got, want := ix.Len(), 500+3*5*300+200; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	for _, id := range []string{"svc-01000", "svc-21299", "svc-11150", "svc-50199"} {
		if _, ok := ix.Get(id); !ok {
			t.Errorf("%s not indexed", id)
		}
	}
	// Every new word of every batch got an id and postings: the documents are found by them.
	if r := ix.Search(Query{Text: "nowe21297slowo"}); r.Total != 1 {
		t.Errorf("a new word of a batch finds %d documents, want 1", r.Total)
	}
}
