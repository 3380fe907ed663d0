package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// functionWords are Polish function words (folded), left out of the document-frequency shape: every Polish text
// has them, and the search treats most of them as stopwords.
var functionWords = map[string]bool{
	"oraz": true, "jest": true, "dla": true, "sie": true, "sa": true, "takze": true, "przez": true, "przy": true,
	"lub": true, "nie": true, "nad": true, "pod": true, "bez": true, "nas": true, "ich": true, "jak": true, "tym": true,
	"ktore": true, "ktory": true, "ktora": true, "ktorzy": true, "moga": true, "mozna": true, "maja": true, "jego": true,
	"jej": true, "czy": true, "tak": true, "ale": true, "tez": true, "sobie": true, "swoje": true, "we": true, "ze": true,
	"do": true, "na": true, "po": true, "od": true, "co": true, "to": true, "im": true, "nr": true,
}

// ownText is the text the generator writes that the search indexes (the taxonomy's names, which the catalogue
// adds, are left out: their shares follow the areas and target groups).
func ownText(s *cataloguev1.Service) string {
	parts := []string{s.GetDisplayName(), s.GetAlternateName(), s.GetDescription(), s.GetEligibilityDescription()}
	for _, l := range s.GetLocations() {
		parts = append(parts, l.GetName(), l.GetAddress().GetCity())
	}
	for _, a := range s.GetServiceAreas() {
		parts = append(parts, a.GetName())
	}
	return strings.Join(parts, " ")
}

type wordShare struct {
	word  string
	share float64
}

// documentFrequency is the share of services containing each word (lower-cased, diacritics folded, as the
// search matches), highest first, without function words and words of fewer than 3 letters.
func documentFrequency(t *testing.T, opts SyntheticOptions) []wordShare {
	t.Helper()
	df := map[string]int{}
	seen := map[string]bool{}
	err := Synthetic(opts, func(_ string, s *cataloguev1.Service) error {
		clear(seen)
		for _, w := range strings.FieldsFunc(strings.ToLower(fold(ownText(s))), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			if len(w) < 3 || functionWords[w] || seen[w] {
				continue
			}
			seen[w] = true
			df[w]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]wordShare, 0, len(df))
	for w, c := range df {
		out = append(out, wordShare{w, float64(c) / float64(opts.Services)})
	}
	slices.SortFunc(out, func(a, b wordShare) int {
		switch {
		case a.share > b.share:
			return -1
		case a.share < b.share:
			return 1
		}
		return strings.Compare(a.word, b.word)
	})
	return out
}

// shapeProblems says how a document-frequency list misses the shape of a real catalogue: the bulk (at least
// 80%) of the 300 most frequent words each in 2-15% of the services, none in more than 40%, and a vocabulary
// broad enough that the 300th word is still in at least 1%.
func shapeProblems(df []wordShare) []string {
	const top = 300
	if len(df) < top {
		return []string{"fewer than 300 distinct words"}
	}
	var problems []string
	inBand := 0
	for _, w := range df[:top] {
		if w.share >= 0.02 && w.share <= 0.15 {
			inBand++
		}
		if w.share > 0.40 {
			problems = append(problems, "“"+w.word+"” is in more than 40% of the services")
		}
	}
	if inBand < top*8/10 {
		problems = append(problems, "fewer than 80% of the top 300 words are in 2-15% of the services")
	}
	if df[top-1].share < 0.01 {
		problems = append(problems, "the 300th word is in less than 1% of the services")
	}
	return problems
}

func TestRealisticDocumentFrequency(t *testing.T) {
	df := documentFrequency(t, SyntheticOptions{Services: 20_000, Gminas: NationalGminas, Seed: 3})
	for _, p := range shapeProblems(df) {
		t.Error(p)
	}
	inBand := 0
	for _, w := range df[:300] {
		if w.share >= 0.02 && w.share <= 0.15 {
			inBand++
		}
	}
	var head []string
	for _, w := range df[:12] {
		head = append(head, w.word)
	}
	t.Logf("%d distinct words; %d of the top 300 in 2-15%%; the most frequent: %s (%.0f%%); the 300th %.1f%%",
		len(df), inBand, strings.Join(head, ", "), 100*df[0].share, 100*df[299].share)

	// The check can fail: the harsh profile's template words are in every service.
	harsh := documentFrequency(t, SyntheticOptions{Services: 5_000, Gminas: 200, Seed: 3, Profile: ProfileHarsh})
	if len(shapeProblems(harsh)) == 0 {
		t.Error("the harsh profile passes the realistic shape")
	}
}

func TestRealisticSpread(t *testing.T) {
	const n = 40_000
	perGmina := map[string]int{}
	perVoivodeship := map[string]int{}
	nameOf := map[string]string{}
	var locCount [5]int
	free, banded, flat, hours, bytes := 0, 0, 0, 0, 0
	var sample []*cataloguev1.Service
	err := Synthetic(SyntheticOptions{Services: n, Gminas: NationalGminas, Seed: 5}, func(id string, s *cataloguev1.Service) error {
		if len(sample) < 500 {
			sample = append(sample, s)
			for _, e := range checkService(id, s, poland) {
				t.Errorf("%s: %s", id, e)
			}
		}
		bytes += proto.Size(s)
		locs := s.GetLocations()
		if len(locs) < 1 || len(locs) > 4 {
			t.Fatalf("%s has %d locations", id, len(locs))
		}
		locCount[len(locs)]++
		terc := locs[0].GetTerytCode()
		if !validTERC(terc) {
			t.Fatalf("TERC %q", terc)
		}
		for _, l := range locs {
			if l.GetTerytCode() != terc {
				t.Fatalf("%s: locations in %s and %s", id, terc, l.GetTerytCode())
			}
			if len(l.GetOpeningHours()) > 0 {
				hours++
			}
		}
		perGmina[terc]++
		perVoivodeship[terc[:2]]++
		city := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(s.GetServiceAreas()[0].GetName(), "Miasto i Gmina "), "Miasto "), "Gmina ")
		if prev, ok := nameOf[terc]; ok && prev != city {
			t.Fatalf("gmina %s named %q and %q", terc, prev, city)
		}
		nameOf[terc] = city
		switch f := s.GetFee(); {
		case f == nil:
			free++
		case len(f.GetIncomeBands()) > 0:
			banded++
		default:
			flat++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Thousands of gminas, each with its own name, none holding a large part of the catalogue.
	if len(perGmina) < NationalGminas*95/100 {
		t.Errorf("services in %d gminas, want nearly all of %d", len(perGmina), NationalGminas)
	}
	names := map[string]bool{}
	for _, c := range nameOf {
		if names[c] {
			t.Errorf("two gminas named %q", c)
		}
		names[c] = true
	}
	counts := make([]int, 0, len(perGmina))
	for _, c := range perGmina {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	largest, median := counts[len(counts)-1], counts[len(counts)/2]
	if largest > n/100 || largest < 4*median {
		t.Errorf("largest gmina %d services, median %d: want cities larger than villages, none above 1%%", largest, median)
	}
	// Every voivodeship, in proportion to its number of gminas (within a factor of 2: cities draw more).
	for i, v := range voivodeships {
		code := v.name
		got := perVoivodeship[twoDigits(v.code)]
		want := n * voivodeshipGminas[i] / NationalGminas
		if got < want/2 || got > want*2 {
			t.Errorf("%s: %d services, about %d expected", code, got, want)
		}
	}
	// 1 to 4 locations, most services with one.
	if locCount[1] < n/2 || locCount[2] == 0 || locCount[3] == 0 || locCount[4] == 0 {
		t.Errorf("services by number of locations: %v", locCount[1:])
	}
	if free < n/4 || banded < n/10 || flat == 0 {
		t.Errorf("%d free, %d paid with income bands, %d paid flat", free, banded, flat)
	}
	if avg := bytes / n; avg < 900 || avg > 3000 {
		t.Errorf("average service of %d bytes, want about 1 KB of text", avg)
	}
	t.Logf("%d gminas, largest %d, median %d; locations 1-4: %v; %d free, %d banded, %d flat; %d bytes per service",
		len(perGmina), largest, median, locCount[1:], free, banded, flat, bytes/n)
}

func twoDigits(v int) string { return string([]byte{byte('0' + v/10), byte('0' + v%10)}) }

// TestProfiles: the harsh profile is the earlier generator, unchanged, and an unknown profile is refused.
func TestProfiles(t *testing.T) {
	if err := Synthetic(SyntheticOptions{Services: 1, Profile: "gentle"}, func(string, *cataloguev1.Service) error { return nil }); err == nil {
		t.Error("unknown profile accepted")
	}
	_, real := collect(t, SyntheticOptions{Services: 50, Gminas: 30, Seed: 9}, 0)
	_, named := collect(t, SyntheticOptions{Services: 50, Gminas: 30, Seed: 9, Profile: ProfileRealistic}, 0)
	_, harsh := collect(t, SyntheticOptions{Services: 50, Gminas: 30, Seed: 9, Profile: ProfileHarsh}, 0)
	for i := range real {
		if !proto.Equal(real[i], named[i]) {
			t.Fatal("the default profile is not the realistic one")
		}
	}
	same := 0
	for i := range real {
		if proto.Equal(real[i], harsh[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d services equal in both profiles", same)
	}
	// Byte for byte what the generator wrote before the realistic profile existed (its hash taken then), so the
	// figures measured on it stay comparable.
	h := sha256.New()
	err := Synthetic(SyntheticOptions{Services: 300, Gminas: 40, Seed: 11, Profile: ProfileHarsh}, func(id string, s *cataloguev1.Service) error {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
		h.Write([]byte(id))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != "c56a473853c27b8ecdb4dbb2860e4ff6ed9666204ce1c8b11ff8aa46610efc95" {
		t.Errorf("the harsh profile's output changed: %s", got)
	}
}

// TestRealisticTERCsUnique: every gmina has its own valid TERC code, up to MaxSyntheticGminas (where powiats run
// past 61, the numbers of the cities with powiat rights).
func TestRealisticTERCsUnique(t *testing.T) {
	for _, n := range []int{1, 16, NationalGminas, MaxSyntheticGminas} {
		gminas, weights := makeRealGminas(rand.New(rand.NewPCG(1, 2)), n)
		if len(gminas) != n || len(weights) != n {
			t.Fatalf("%d gminas asked, %d made", n, len(gminas))
		}
		seen := make(map[string]bool, n)
		for _, g := range gminas {
			if !validTERC(g.terc) || seen[g.terc] {
				t.Fatalf("%d gminas: TERC %q invalid or repeated", n, g.terc)
			}
			seen[g.terc] = true
		}
	}
}
