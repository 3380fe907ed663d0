package search

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var snapWords = strings.Fields(`żłobek klub seniora świetlica środowiskowa pomoc społeczna asystent rodziny mieszkanie
chronione dzienny dom opieka wytchnieniowa poradnictwo psychologiczne terapia uzależnień rehabilitacja dowóz posiłki
stypendium szkolne dodatek mieszkaniowy kultura biblioteka sport basen integracja wolontariat aktywizacja zawodowa
warsztaty rodzice dzieci młodzież niepełnosprawni seniorzy seniorów opiekunowie kryzys interwencja przemoc punkt
konsultacyjny mediacje prawnik nieodpłatna pomoc prawna gminny ośrodek centrum usług społecznych`)

// snapCorpus builds an index that uses every field of Doc and every internal structure: several TERC codes
// (more than the two kept inline), points (one invalid), opening hours (overnight and invalid ones),
// providers, ages, statuses, times, sort keys; updates, deletes (free slots, tombstones) and enough text to
// span many frames.
func snapCorpus(n int) *Index {
	rng := rand.New(rand.NewSource(7))
	ix := New()
	text := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = snapWords[rng.Intn(len(snapWords))]
		}
		return strings.Join(w, " ")
	}
	base := time.Date(2026, 3, 1, 8, 30, 15, 123456789, time.UTC)
	for i := range n {
		d := Doc{
			ID:            fmt.Sprintf("svc-%05d", i),
			Revision:      int64(i + 1),
			Name:          text(3),
			AlternateName: text(rng.Intn(2)),
			Description:   text(40 + rng.Intn(40)),
			Eligibility:   text(rng.Intn(10)),
			Keywords:      text(5),
			Areas:         1 << uint(1+rng.Intn(14)),
			TargetGroups:  1 << uint(1+rng.Intn(8)),
			MinAge:        -1,
			MaxAge:        -1,
			Origin:        fmt.Sprintf("30%05d", rng.Intn(40)),
			Free:          rng.Intn(2) == 0,
			Active:        rng.Intn(10) != 0,
			Status:        int32(1 + rng.Intn(3)),
			CreateTime:    base.Add(time.Duration(i) * time.Minute),
			UpdateTime:    base.Add(time.Duration(i) * time.Hour),
			SortKey:       []byte(fmt.Sprintf("key-%05d", n-i)),
		}
		if i%3 == 0 {
			d.TargetGroups |= 1 << uint(1+rng.Intn(8))
		}
		if i%7 == 0 {
			d.MinAge, d.MaxAge = int32(rng.Intn(18)), int32(60+rng.Intn(40))
		}
		if i%11 == 0 {
			d.CreateTime = time.Time{}
			d.RequiresDecision = true
		}
		d.Tercs = []string{d.Origin}
		for range rng.Intn(4) {
			d.Tercs = append(d.Tercs, fmt.Sprintf("30%05d", rng.Intn(40)))
		}
		for range rng.Intn(3) {
			d.Providers = append(d.Providers, fmt.Sprintf("providers/%d", rng.Intn(100)))
		}
		for range rng.Intn(3) {
			d.Points = append(d.Points, LatLng{Lat: 51 + rng.Float64(), Lng: 16 + rng.Float64()})
		}
		if i%13 == 0 {
			d.Points = append(d.Points, LatLng{Lat: math.NaN(), Lng: 17})
		}
		for range rng.Intn(4) {
			open := rng.Intn(20) * 60
			d.Hours = append(d.Hours, Interval{Weekday: 1 + rng.Intn(7), OpenMin: open, CloseMin: open + 30 + rng.Intn(300)})
		}
		if i%17 == 0 {
			d.Hours = append(d.Hours, Interval{Weekday: 5, OpenMin: 22 * 60, CloseMin: 2 * 60}, Interval{Weekday: 9, OpenMin: 0, CloseMin: 60})
		}
		ix.Upsert(d)
	}
	// Updates, deletes and a re-creation after a tombstone, so the snapshot holds free slots, tombstones,
	// terms without postings and re-normalised lengths.
	rev := int64(n + 1)
	for i := 0; i < n; i += 5 {
		id := fmt.Sprintf("svc-%05d", i)
		d, _ := ix.Get(id)
		d.Revision = rev
		d.Description = text(20) + " aktualizacja"
		ix.Upsert(d)
		rev++
	}
	for i := 3; i < n; i += 9 {
		ix.Delete(fmt.Sprintf("svc-%05d", i), rev)
		rev++
	}
	ix.Upsert(Doc{ID: "svc-00003", Revision: rev, Name: "Ponownie utworzona świetlica", MinAge: -1, MaxAge: -1, Active: true})
	ix.Upsert(Doc{ID: "only-word", Revision: rev + 1, Name: "xylofonoterapia", MinAge: -1, MaxAge: -1, Active: true})
	ix.Delete("only-word", rev+2) // its term stays in the vocabulary with no postings
	return ix
}

func snapshotBytes(t testing.TB, ix *Index, meta SnapshotMeta) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf, meta); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes()
}

// snapQueries exercises every query feature: text (exact, diacritics, prefix, stem, typo, OR fallback,
// unknown words for a suggestion), every filter, facets, geo with and without a radius, paging.
func snapQueries() []Query {
	at := time.Date(2026, 12, 4, 10, 15, 0, 0, time.UTC) // a Friday
	late := time.Date(2026, 12, 5, 0, 30, 0, 0, time.UTC)
	var qs []Query
	for _, text := range []string{"", "zlobek", "Świetlica środowiskowa", "senior", "seniorów", "swietlca", "terapia uzaleznien",
		"pomoc prawna nieodpłatna", "rehab", "po", "xylofonoterapia", "klub wolontariat kryzys", "aktualizacja", "ponownie",
		"zzzzzz", "asystnet rodziny"} {
		qs = append(qs,
			Query{Text: text},
			Query{Text: text, Limit: 50, Offset: 5},
			Query{Text: text, Areas: 1<<3 | 1<<5, TargetGroups: 1 << 2},
			Query{Text: text, Age: i32(70), FreeOnly: true},
			Query{Text: text, Tercs: []string{"3000003", "3000017", "9999999"}, IncludeInactive: true},
			Query{Text: text, OpenAt: &at},
			Query{Text: text, OpenAt: &late, IncludeInactive: true},
			Query{Text: text, Near: &Geo{Center: LatLng{Lat: 51.5, Lng: 16.5}, RadiusMeters: 30000}},
			Query{Text: text, Near: &Geo{Center: LatLng{Lat: 51.2, Lng: 16.9}}, Limit: 100},
		)
	}
	return qs
}

func equalDocs(a, b Doc) bool {
	// NaN != NaN: coordinates are compared by their bits.
	if len(a.Points) != len(b.Points) {
		return false
	}
	for i := range a.Points {
		if math.Float64bits(a.Points[i].Lat) != math.Float64bits(b.Points[i].Lat) ||
			math.Float64bits(a.Points[i].Lng) != math.Float64bits(b.Points[i].Lng) {
			return false
		}
	}
	// An empty list and no list are the same document.
	norm := func(d Doc) Doc {
		d.Points = nil
		if len(d.Tercs) == 0 {
			d.Tercs = nil
		}
		if len(d.Providers) == 0 {
			d.Providers = nil
		}
		if len(d.Hours) == 0 {
			d.Hours = nil
		}
		if len(d.SortKey) == 0 {
			d.SortKey = nil
		}
		return d
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// sameIndex checks that two indexes answer everything alike: every query (hits, scores, totals, facets,
// suggestions), List with and without a filter and an order, Get of every id, Len.
func sameIndex(t *testing.T, want, got *Index, ids []string) {
	t.Helper()
	if want.Len() != got.Len() {
		t.Fatalf("Len = %d, want %d", got.Len(), want.Len())
	}
	for _, q := range snapQueries() {
		w, g := want.Search(q), got.Search(q)
		if !reflect.DeepEqual(w, g) {
			t.Fatalf("Search(%+v):\n got %+v\nwant %+v", q, g, w)
		}
	}
	keep := func(d *Doc) bool { return d.Free && len(d.Providers) > 0 }
	less := []OrderKey{{Field: OrderByName}, {Field: OrderByUpdateTime, Desc: true}}
	for _, c := range []struct {
		keep func(*Doc) bool
		less []OrderKey
	}{{nil, nil}, {keep, nil}, {nil, less}, {keep, less}} {
		wi, wt := want.List(c.keep, c.less, 3, 40)
		gi, gt := got.List(c.keep, c.less, 3, 40)
		if !slices.Equal(wi, gi) || wt != gt {
			t.Fatalf("List: got %v (%d), want %v (%d)", gi, gt, wi, wt)
		}
	}
	for _, id := range ids {
		wd, wok := want.Get(id)
		gd, gok := got.Get(id)
		if wok != gok || !equalDocs(wd, gd) {
			t.Fatalf("Get(%s):\n got %v %+v\nwant %v %+v", id, gok, gd, wok, wd)
		}
	}
}

func corpusIDs(n int) []string {
	ids := []string{"only-word", "never-there"}
	for i := range n {
		ids = append(ids, fmt.Sprintf("svc-%05d", i))
	}
	return ids
}

func TestSnapshotRoundTrip(t *testing.T) {
	const n = 3000
	ix := snapCorpus(n)
	// The corpus's writes go up to revision 3936 (deletes from 3601): the snapshot claims 3700.
	meta := SnapshotMeta{FeedID: "feed-1f2e", Revision: 3700, Source: "build 1", Written: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	b := snapshotBytes(t, ix, meta)
	if len(b) < 4*frameTarget {
		t.Fatalf("snapshot of %d bytes does not span enough frames to test them", len(b))
	}
	got, gotMeta, err := ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if gotMeta.FeedID != meta.FeedID || gotMeta.Revision != meta.Revision || gotMeta.Source != meta.Source || !gotMeta.Written.Equal(meta.Written) || gotMeta.Docs != ix.Len() {
		t.Fatalf("meta = %+v, want %+v with %d docs", gotMeta, meta, ix.Len())
	}
	ids := corpusIDs(n)
	sameIndex(t, ix, got, ids)

	// Tombstones at or below the snapshot's revision are left out (no write they could refuse can come any
	// more), the later ones kept.
	kept := 0
	for _, rev := range ix.tombs {
		if rev > meta.Revision {
			kept++
		}
	}
	if len(got.tombs) != kept || kept == 0 || kept == len(ix.tombs) {
		t.Fatalf("%d tombstones loaded, want the %d of the %d above revision %d", len(got.tombs), kept, len(ix.tombs), meta.Revision)
	}

	// Every structure round-trips: the loaded index writes the same bytes.
	if again := snapshotBytes(t, got, meta); !bytes.Equal(again, b) {
		t.Fatalf("a loaded snapshot written again differs (%d vs %d bytes)", len(again), len(b))
	}

	// The revision rules survive: a tombstone still refuses an older re-creation (of a revision above the
	// snapshot's: nothing older can come), an older version is still ignored, and the same writes applied to
	// both indexes keep them alike (lists loaded from one array grow without overwriting their neighbours).
	for _, x := range []*Index{ix, got} {
		x.Upsert(Doc{ID: "only-word", Revision: 3800, Name: "wskrzeszona", MinAge: -1, MaxAge: -1, Active: true})
		x.Upsert(Doc{ID: "svc-00001", Revision: 1, Name: "cofnięta wersja", MinAge: -1, MaxAge: -1, Active: true})
		x.Delete("svc-00002", 1)
		for i := 0; i < n; i += 3 {
			x.Upsert(Doc{ID: fmt.Sprintf("svc-%05d", i), Revision: 1 << 40, Name: "żłobek nowy " + snapWords[i%len(snapWords)],
				Description: "basen biblioteka", Tercs: []string{"3000001", "3099999"}, MinAge: -1, MaxAge: -1, Active: true})
		}
		x.Upsert(Doc{ID: "new-after-load", Revision: 1 << 41, Name: "zupełnie nowe słowo kwiaciarnia", MinAge: -1, MaxAge: -1, Active: true})
		x.Delete("svc-00004", 1<<41)
	}
	if _, ok := got.Get("only-word"); ok {
		t.Fatal("a tombstone was lost: an older upsert re-created a deleted document")
	}
	if d, _ := got.Get("svc-00001"); d.Name == "cofnięta wersja" {
		t.Fatal("an older version replaced a newer one after loading")
	}
	if _, ok := got.Get("svc-00002"); !ok {
		t.Fatal("a stale delete removed a newer document after loading")
	}
	sameIndex(t, ix, got, append(ids, "new-after-load"))
	if r := got.Search(Query{Text: "kwiaciarnia"}); len(r.Hits) != 1 {
		t.Fatalf("a document added after loading is not found: %+v", r)
	}
}

func TestSnapshotEmptyIndex(t *testing.T) {
	b := snapshotBytes(t, New(), SnapshotMeta{FeedID: "f", Revision: 0})
	got, meta, err := ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 0 || meta.Docs != 0 || meta.FeedID != "f" {
		t.Fatalf("empty index read back as %d docs, meta %+v", got.Len(), meta)
	}
	got.Upsert(doc("a", "Klub Seniora"))
	if r := got.Search(Query{Text: "klub"}); len(r.Hits) != 1 {
		t.Fatalf("an index loaded empty does not index: %+v", r)
	}
}

// frameInfo is one frame of a snapshot: where it starts and the section it opens ("" for none).
type frameInfo struct {
	off     int
	section string
}

func snapshotFrames(t *testing.T, b []byte) []frameInfo {
	t.Helper()
	var out []frameInfo
	for off := 12; off < len(b); {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		f := frameInfo{off: off}
		if tag := string(b[off+4 : off+4+min(n, 4)]); slices.Contains(snapshotSections[:], tag) {
			f.section = tag
		}
		out = append(out, f)
		off += 8 + n
	}
	return out
}

func TestSnapshotTruncated(t *testing.T) {
	ix := snapCorpus(1500)
	b := snapshotBytes(t, ix, SnapshotMeta{FeedID: "feed", Revision: 9})
	frames := snapshotFrames(t, b)
	var sections []string
	for _, f := range frames {
		if f.section != "" {
			sections = append(sections, f.section)
		}
	}
	if !slices.Equal(sections, snapshotSections[:]) {
		t.Fatalf("sections %v, want %v", sections, snapshotSections)
	}
	// At every section boundary, every frame boundary, inside every frame, and inside the header.
	cuts := []int{0, 3, 8, 11, 12, 13, len(b) - 1}
	for _, f := range frames {
		cuts = append(cuts, f.off, f.off+2, f.off+4, f.off+9, f.off+4+(len(b)-f.off)/2%frameTarget)
	}
	for _, cut := range cuts {
		if cut >= len(b) {
			continue
		}
		got, _, err := ReadSnapshot(bytes.NewReader(b[:cut]))
		if err == nil || got != nil {
			t.Fatalf("a snapshot cut at %d of %d bytes was accepted", cut, len(b))
		}
		if !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d: error %q does not say truncated", cut, err)
		}
	}
	// The error names the section that is missing when the cut falls on its boundary.
	for _, f := range frames {
		if f.section == "" || f.section == "HEAD" {
			continue
		}
		_, _, err := ReadSnapshot(bytes.NewReader(b[:f.off]))
		if err == nil || !strings.Contains(err.Error(), "section "+f.section) {
			t.Errorf("cut before section %s: error %v does not name it", f.section, err)
		}
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	ix := build(
		Doc{ID: "a", Revision: 1, Name: "Żłobek Miejski", Description: "opieka nad dziećmi", Tercs: []string{"3022053"}, Origin: "3022053",
			Points: []LatLng{{51.6, 16.8}}, Hours: []Interval{{1, 420, 960}}, Active: true, MinAge: 0, MaxAge: 3, SortKey: []byte("zlobek")},
		doc("b", "Klub Seniora"),
	)
	ix.Delete("b", 5)
	b := snapshotBytes(t, ix, SnapshotMeta{FeedID: "feed", Revision: 5})
	// Every single byte flipped, one at a time, is refused.
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		got, _, err := ReadSnapshot(bytes.NewReader(c))
		if err == nil || got != nil {
			t.Fatalf("a snapshot with byte %d of %d flipped was accepted", i, len(b))
		}
		want := "checksum mismatch"
		switch {
		case i < 8:
			want = "not a search snapshot"
		case i < 12:
			want = "format version"
		}
		if msg := err.Error(); !strings.Contains(msg, want) && !strings.Contains(msg, "corrupt length") && !strings.Contains(msg, "truncated") {
			t.Fatalf("byte %d flipped: error %q, want one saying %q", i, msg, want)
		}
	}
	// A flip in a big snapshot is named by its frame and section.
	big := snapshotBytes(t, snapCorpus(1500), SnapshotMeta{FeedID: "feed", Revision: 1})
	frames := snapshotFrames(t, big)
	for _, f := range frames {
		if f.section != "POST" {
			continue
		}
		c := bytes.Clone(big)
		c[f.off+10] ^= 1
		_, _, err := ReadSnapshot(bytes.NewReader(c))
		if err == nil || !strings.Contains(err.Error(), "section POST") || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("flip in the postings: error %v, want a checksum mismatch in section POST", err)
		}
	}
	// Swapping two whole frames (each with a valid checksum of its own) is caught by the sequence number.
	if len(frames) > 3 {
		a, bb := frames[1], frames[2]
		swapped := slices.Concat(big[:a.off], big[bb.off:frames[3].off], big[a.off:bb.off], big[frames[3].off:])
		if _, _, err := ReadSnapshot(bytes.NewReader(swapped)); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("frames out of order: error %v, want a checksum mismatch", err)
		}
	}
}

func TestSnapshotVersionAndMagic(t *testing.T) {
	b := snapshotBytes(t, build(doc("a", "Klub")), SnapshotMeta{FeedID: "f", Revision: 1})
	future := bytes.Clone(b)
	binary.LittleEndian.PutUint32(future[8:], snapshotVersion+1)
	_, _, err := ReadSnapshot(bytes.NewReader(future))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format version %d", snapshotVersion+1)) {
		t.Fatalf("a future version: error %v, want one naming the version", err)
	}
	for _, in := range [][]byte{nil, []byte("CUSS"), []byte("{\"services\": []}     "), bytes.Repeat([]byte{0}, 64)} {
		_, _, err := ReadSnapshot(bytes.NewReader(in))
		if err == nil {
			t.Fatalf("%q accepted as a snapshot", in)
		}
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, fmt.Errorf("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	ix := snapCorpus(300)
	size := len(snapshotBytes(t, ix, SnapshotMeta{}))
	for _, n := range []int{0, 10, 100, size / 2, size - 1} {
		if err := ix.WriteSnapshot(&failingWriter{n: n}, SnapshotMeta{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("write failing after %d bytes: error %v", n, err)
		}
	}
}

// BenchmarkSnapshot reports the cost of writing and reading a snapshot of n documents against rebuilding
// the index from the same documents (BulkLoad, what a start-up without a snapshot does after decoding).
func BenchmarkSnapshot(b *testing.B) {
	const n = 20000
	ix := snapCorpus(n)
	var docs []Doc
	for _, id := range corpusIDs(n) {
		if d, ok := ix.Get(id); ok {
			docs = append(docs, d)
		}
	}
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf, SnapshotMeta{}); err != nil {
		b.Fatal(err)
	}
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			var w bytes.Buffer
			w.Grow(buf.Len())
			if err := ix.WriteSnapshot(&w, SnapshotMeta{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			if _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rebuild", func(b *testing.B) {
		for b.Loop() {
			New().BulkLoad(docs)
		}
	})
}

// ReadSnapshotMeta reads the snapshot's own account of itself from the first frame alone, so the caller can
// refuse a snapshot of another data file or build without reading the index.
func TestReadSnapshotMetaReadsTheFirstFrameOnly(t *testing.T) {
	want := SnapshotMeta{FeedID: "feed-1", Source: "schema 3, commit abc", Revision: 42}
	ix := snapCorpus(300)
	b := snapshotBytes(t, ix, want)
	frames := snapshotFrames(t, b)
	if len(frames) < 2 || frames[0].section != "HEAD" {
		t.Fatalf("frames %+v: want HEAD first and more after it", frames)
	}
	head := b[:frames[1].off] // everything after the first frame cut away
	got, err := ReadSnapshotMeta(bytes.NewReader(head))
	if err != nil {
		t.Fatal(err)
	}
	if got.FeedID != want.FeedID || got.Source != want.Source || got.Revision != want.Revision || got.Docs != ix.Len() {
		t.Fatalf("meta %+v, want %+v with %d documents", got, want, ix.Len())
	}
	if _, _, err := ReadSnapshot(bytes.NewReader(head)); err == nil {
		t.Fatal("the whole reader accepted a snapshot cut after its first frame")
	}
	if _, err := ReadSnapshotMeta(bytes.NewReader(b[:frames[0].off+6])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a first frame cut short: %v, want truncated", err)
	}
}
