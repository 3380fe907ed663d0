package search

import (
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// pendingLimit bounds the unsorted tail of the vocabulary. Keeping one
// fully sorted slice would cost a memmove of the whole vocabulary for every
// new term during a bulk load (quadratic); merging a bounded tail keeps
// insertion amortised O(log n) while prefix lookups stay a binary search plus
// a short linear scan.
const pendingLimit = 1024

// vocab maps folded terms to dense ids and holds the structures used to
// expand a query term into prefix and fuzzy variants. Terms are never
// removed: a term whose postings became empty simply has df 0 and is skipped
// by expansion. That keeps ids stable for re-tokenising old documents on
// update and costs little, since churn adds few genuinely new words.
type vocab struct {
	ids     map[string]uint32
	terms   []string
	sorted  []uint32 // ids ordered by term
	pending []uint32 // ids added since the last merge, unordered

	// grams is a bigram index for fuzzy candidate generation, keyed by
	// (bigram, term length in runes) so a query only touches terms whose
	// length is within the edit budget.
	grams map[uint64][]uint32
	byLen map[int][]uint32 // fallback when the bigram filter is vacuous
	// sig is each term's letter signature (termSig), by id: fuzzy rules out
	// most of the candidates the bigram count leaves (thousands for a word
	// of repeated bigrams such as "dzieciec") from these 8 bytes, without
	// reading the term. Derived: a snapshot does not store it.
	sig []uint64
}

func newVocab() vocab {
	return vocab{
		ids:   make(map[string]uint32),
		grams: make(map[uint64][]uint32),
		byLen: make(map[int][]uint32),
	}
}

// Bigram padding runes: tokens never contain control characters, so these
// cannot collide with real letters.
const (
	padStart rune = 1
	padEnd   rune = 2
)

func gramKey(a, b rune, n int) uint64 {
	if n > 255 {
		n = 255
	}
	return uint64(a)<<29 | uint64(b)<<8 | uint64(n)
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// id returns the term id, adding the term when it is new.
func (v *vocab) id(tok []byte) uint32 {
	if id, ok := v.ids[string(tok)]; ok { // no allocation for the lookup
		return id
	}
	term := string(tok)
	id := uint32(len(v.terms))
	v.ids[term] = id
	v.terms = append(v.terms, term)
	v.sig = append(v.sig, termSig(term))
	v.pending = append(v.pending, id)
	if len(v.pending) >= pendingLimit {
		v.merge()
	}
	// Digits mark codes, phone numbers, years: typo tolerance on those
	// would return wrong records, so they stay out of the fuzzy index.
	n := utf8.RuneCountInString(term)
	if n >= 3 && !hasDigit(term) {
		prev := padStart
		seen := make([]uint64, 0, 16)
		add := func(r rune) {
			k := gramKey(prev, r, n)
			if !slices.Contains(seen, k) {
				seen = append(seen, k)
				v.grams[k] = append(v.grams[k], id)
			}
			prev = r
		}
		for _, r := range term {
			add(r)
		}
		add(padEnd)
		v.byLen[n] = append(v.byLen[n], id)
	}
	return id
}

func (v *vocab) merge() {
	if len(v.pending) == 0 {
		return
	}
	byTerm := func(a, b uint32) int { return strings.Compare(v.terms[a], v.terms[b]) }
	slices.SortFunc(v.pending, byTerm)
	merged := make([]uint32, 0, len(v.sorted)+len(v.pending))
	i, j := 0, 0
	for i < len(v.sorted) && j < len(v.pending) {
		if byTerm(v.sorted[i], v.pending[j]) <= 0 {
			merged = append(merged, v.sorted[i])
			i++
		} else {
			merged = append(merged, v.pending[j])
			j++
		}
	}
	merged = append(merged, v.sorted[i:]...)
	merged = append(merged, v.pending[j:]...)
	v.sorted = merged
	v.pending = v.pending[:0]
}

// prefix calls fn for every term starting with p (including p itself).
func (v *vocab) prefix(p string, fn func(id uint32)) {
	i, _ := slices.BinarySearchFunc(v.sorted, p, func(id uint32, p string) int {
		return strings.Compare(v.terms[id], p)
	})
	for ; i < len(v.sorted) && strings.HasPrefix(v.terms[v.sorted[i]], p); i++ {
		fn(v.sorted[i])
	}
	for _, id := range v.pending {
		if strings.HasPrefix(v.terms[id], p) {
			fn(id)
		}
	}
}

// fuzzyScratch is per-query state for fuzzy; it lives in the search
// scratch pool so concurrent readers do not share it.
type fuzzyScratch struct {
	count   []uint8
	touched []uint32
	q, t    []rune
	row     [3][]int
}

// fuzzy calls fn for every term within optimal-string-alignment
// (restricted Damerau-Levenshtein) distance maxD of q, with the distance.
//
// Candidates come from the q-gram lemma: one edit destroys at most three
// distinct padded bigrams (a transposition touches three), so a term within
// distance d shares at least |bigrams(q)| - 3d of them. Counting shared
// bigrams over (bigram, length) posting lists touches a small fraction of the
// vocabulary; only candidates reaching the threshold pay for the exact
// distance computation.
func (v *vocab) fuzzy(q string, maxD int, s *fuzzyScratch, fn func(id uint32, d int)) {
	s.q = append(s.q[:0], []rune(q)...)
	qn := len(s.q)
	if cap(s.count) < len(v.terms) {
		s.count = make([]uint8, len(v.terms)+len(v.terms)/4)
	}
	s.count = s.count[:cap(s.count)]
	var qgrams []uint64
	prev := padStart
	addGram := func(r rune) {
		k := uint64(prev)<<29 | uint64(r)<<8 // length filled in per lookup
		if !slices.Contains(qgrams, k) {
			qgrams = append(qgrams, k)
		}
		prev = r
	}
	for _, r := range s.q {
		addGram(r)
	}
	addGram(padEnd)
	thr := len(qgrams) - 3*maxD
	// Folded terms are nearly all ASCII: those are compared byte by byte, without decoding either side into
	// runes, which at 500,000 documents was a third of a fuzzy query's verification.
	qASCII := isASCII(q)
	qsig := termSig(q)
	verify := func(id uint32) {
		if bits.OnesCount64(qsig^v.sig[id]) > 2*maxD {
			return
		}
		t := v.terms[id]
		var d int
		if qASCII && isASCII(t) {
			d = osaBytes(q, t, maxD, &s.row)
		} else {
			s.t = append(s.t[:0], []rune(t)...)
			d = osaDistance(s.q, s.t, maxD, &s.row)
		}
		if d <= maxD {
			fn(id, d)
		}
	}
	lo, hi := max(qn-maxD, 3), qn+maxD
	if thr < 1 {
		// The filter cannot prune (highly repetitive query): scan the
		// length window directly. Rare and bounded by the window size.
		for n := lo; n <= hi; n++ {
			for _, id := range v.byLen[n] {
				verify(id)
			}
		}
		return
	}
	s.touched = s.touched[:0]
	for n := lo; n <= hi; n++ {
		ln := uint64(min(n, 255))
		for _, g := range qgrams {
			for _, id := range v.grams[g|ln] {
				c := s.count[id]
				if c == 0 {
					s.touched = append(s.touched, id)
				}
				c++
				s.count[id] = c
				if int(c) == thr {
					verify(id)
				}
			}
		}
	}
	for _, id := range s.touched {
		s.count[id] = 0
	}
}

// osaDistance returns the optimal string alignment distance between a and
// b, or maxD+1 as soon as it is known to exceed maxD.
func osaDistance(a, b []rune, maxD int, rows *[3][]int) int {
	if d := len(a) - len(b); d > maxD || -d > maxD {
		return maxD + 1
	}
	n := len(b)
	for i := range rows {
		if cap(rows[i]) < n+1 {
			rows[i] = make([]int, n+1)
		}
		rows[i] = rows[i][:n+1]
	}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := 0; j <= n; j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= n; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > maxD {
			return maxD + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[n] > maxD {
		return maxD + 1
	}
	return prev[n]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// osaBytes is osaDistance for two ASCII strings, computing only the band of
// cells within maxD of the diagonal (a cell outside it is above maxD). Every
// value is saturated at maxD+1, which keeps those at most maxD exact.
func osaBytes(a, b string, maxD int, rows *[3][]int) int {
	if d := len(a) - len(b); d > maxD || -d > maxD {
		return maxD + 1
	}
	n := len(b)
	inf := maxD + 1
	for i := range rows {
		if cap(rows[i]) < n+2 {
			rows[i] = make([]int, n+2)
		}
		rows[i] = rows[i][:n+2]
	}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := 0; j <= n+1; j++ {
		prev[j] = min(j, inf)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-maxD), min(n, i+maxD)
		if lo == 1 {
			cur[0] = min(i, inf)
		} else {
			cur[lo-1] = inf
		}
		rowMin := min(i, inf) // cur[0], inside the band or not
		ca := a[i-1]
		for j := lo; j <= hi; j++ {
			cost := 1
			if ca == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ca == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			v = min(v, inf)
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		cur[hi+1] = inf
		if rowMin > maxD {
			return inf
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[n]
}

// termSig is a term's letter signature: bit b is set when the term has a
// rune of bucket b, and for the 26 ASCII letters bit 26+b when it has two
// or more (other runes share the 12 last buckets, presence only). One edit
// (a substitution, insertion or deletion) changes the count of at most two
// buckets by one, which flips at most one bit each; a transposition flips
// none. So terms within distance d have signatures differing in at most 2d
// bits, and a candidate differing in more is no match, whatever its
// bigrams share.
func termSig(s string) uint64 {
	var sig uint64
	for _, r := range s {
		var b uint
		if r >= 'a' && r <= 'z' {
			b = uint(r - 'a')
			if bit := uint64(1) << b; sig&bit != 0 {
				sig |= bit << 26
				continue
			}
		} else {
			b = 52 + uint(r)%12
		}
		sig |= 1 << b
	}
	return sig
}
