package search

import (
	"bytes"
	"math/rand"
	"testing"
)

// Packed sort keys restore the whole key and compare exactly as the whole keys do, whatever the bytes: keys
// built from the bytes of the padding and its neighbours, with and without runs of padding, of both
// parities.
func TestPackedSortKeysCompareAsWholeKeys(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alphabet := []byte{sortPad0, sortPad1, 0x01, 0x1f, 0x21, 0xff}
	key := func() []byte {
		var k []byte
		for range rng.Intn(6) {
			k = append(k, alphabet[rng.Intn(len(alphabet))])
		}
		for range rng.Intn(5) {
			k = append(k, sortPad0, sortPad1)
		}
		if rng.Intn(4) == 0 {
			k = append(k, alphabet[rng.Intn(len(alphabet))])
		}
		return k
	}
	sign := func(c int) int { return min(max(c, -1), 1) }
	for range 200_000 {
		a, b := key(), key()
		pa, ra := packSortKey(a)
		pb, rb := packSortKey(b)
		if got := appendSortKey(nil, pa, ra); !bytes.Equal(got, a) {
			t.Fatalf("% x packed as (% x, %d) restores % x", a, pa, ra, got)
		}
		if got, want := cmpSortKeys(pa, ra, pb, rb), sign(bytes.Compare(a, b)); got != want {
			t.Fatalf("compare % x with % x: %d, want %d", a, b, got, want)
		}
	}
}
