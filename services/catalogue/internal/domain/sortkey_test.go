package domain

import (
	"bytes"
	"math/rand/v2"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
)

// The table's keys are the collator's, byte for byte: on every character and pair of characters of the table,
// on random strings of them, on names with characters outside it (combining marks, other scripts, control
// characters, invalid UTF-8: these go to the collator) and on the synthetic catalogue's names.
func TestSortKeyTable(t *testing.T) {
	weightsOnce.Do(loadWeights)
	var table []rune
	for _, r := range sortRunes {
		if _, ok := weightsOf(r); ok {
			table = append(table, r)
		}
	}
	// Every Polish letter and the common punctuation must be in the table, or the fast path is seldom taken.
	for _, r := range "aąbcćdeęfghijklłmnńoóprsśtuwyzźżAĄCĆEĘLŁNŃOÓSŚZŹŻ 0123456789.,-–„”\"()/" {
		if _, ok := weightsOf(r); !ok {
			t.Errorf("%q is not in the table", r)
		}
	}
	check := func(s string) {
		t.Helper()
		if got, want := SortKey(s), collatorSortKey(s); !bytes.Equal(got, want) {
			t.Fatalf("SortKey(%q) = % x, the collator's % x", s, got, want)
		}
	}
	for _, a := range table {
		check(string(a))
		for _, b := range table {
			check(string([]rune{a, b}))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	odd := []string{"\u0328", "\u0301", "\u00b7", "\u00ad", "\t", "\x00", "\xff", "ß", "ſ", "ŉ", "Ǆ", "Я", "中", "\u200b", "\ufeff", "·"}
	for range 30000 {
		var b []rune
		for range rng.IntN(24) {
			b = append(b, table[rng.IntN(len(table))])
		}
		s := string(b)
		if rng.IntN(5) == 0 && len(b) > 0 {
			at := rng.IntN(len(b))
			s = string(b[:at]) + odd[rng.IntN(len(odd))] + string(b[at:])
		}
		check(s)
	}
	n := 0
	err := demo.Synthetic(demo.SyntheticOptions{Services: 5000, Seed: 7}, func(_ string, s *cataloguev1.Service) error {
		check(s.GetDisplayName())
		if _, ok := tableSortKey(s.GetDisplayName()); ok {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4900 {
		t.Errorf("only %d of 5000 synthetic names keyed from the table", n)
	}
}

func BenchmarkSortKey(b *testing.B) {
	names := []string{"Świetlica środowiskowa „Promyk” nr 4 – Łódź", "Usługi opiekuńcze w miejscu zamieszkania", "Asystent rodziny"}
	b.Run("table", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			SortKey(names[i%len(names)])
		}
	})
	b.Run("collator", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			collatorSortKey(names[i%len(names)])
		}
	})
}
