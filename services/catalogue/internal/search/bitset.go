package search

import "math/bits"

// bitset is a dense set of doc numbers, one bit each. At 500,000 documents
// one set is 61 KiB: the index keeps a few dozen (live, active, free, one
// per area and target group) and a query a few more, and every set
// operation is a loop of word ANDs the CPU streams through. Dense sets beat
// compressed ones here because the common filters match 2-90% of the
// documents, where compression saves little and costs branches.
type bitset []uint64

func (b bitset) set(i uint32)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) clear(i uint32)    { b[i>>6] &^= 1 << (i & 63) }
func (b bitset) has(i uint32) bool { return b[i>>6]&(1<<(i&63)) != 0 }

func trailing(v uint32) int { return bits.TrailingZeros32(v) }

// and sets b to b AND o; a nil o is the full set.
func (b bitset) and(o bitset) {
	if o == nil {
		return
	}
	o = o[:len(b)]
	for i := range b {
		b[i] &= o[i]
	}
}

func (b bitset) or(o bitset) {
	o = o[:len(b)]
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) zero() { clear(b) }

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// each calls fn for every member, ascending.
func (b bitset) each(fn func(d uint32)) {
	for i, w := range b {
		for w != 0 {
			fn(uint32(i<<6 | bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}

// grow returns a set of n words, reusing b's storage when it is large
// enough. The contents are undefined.
func grow(b bitset, n int) bitset {
	if cap(b) < n {
		return make(bitset, n, n+n/8)
	}
	return b[:n]
}
