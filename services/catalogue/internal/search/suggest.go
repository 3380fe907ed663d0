package search

import (
	"strings"
	"unicode/utf8"
)

// suggest returns the query with every word that looks mistyped replaced by the closest vocabulary word
// ("did you mean", czy chodziło Ci o), or "" when every word is known. A word is known when it is a live
// term, a prefix of one (a word still being typed, or a short form), or its stem is: the same rules by which
// the search matches it without fuzziness. Short words, stopwords and words with digits are never judged:
// typo tolerance does not apply to them either. Among the candidates within the typo budget of the search
// (maxEdits), the nearest wins, then the most frequent (the likely intent), then the first in order, so the
// answer is deterministic. The suggestion is folded text (lower case, no diacritics), which searches the same.
func (ix *Index) suggest(text string, s *scratch) string {
	if len(text) > maxQueryBytes {
		text = text[:maxQueryBytes]
	}
	toks := Tokens(text)
	if len(toks) > maxQueryTerms {
		toks = toks[:maxQueryTerms]
	}
	changed := false
	for i, t := range toks {
		if ix.known(t) {
			continue
		}
		if best, ok := ix.closest(t, s); ok {
			toks[i], changed = best, true
		}
	}
	if !changed {
		return ""
	}
	return strings.Join(toks, " ")
}

// known tells whether t needs no suggestion.
func (ix *Index) known(t string) bool {
	if maxEdits(utf8.RuneCountInString(t)) == 0 || hasDigit(t) || stopwords[t] {
		return true
	}
	if id, ok := ix.voc.ids[t]; ok && ix.df(id) > 0 {
		return true
	}
	if ix.livePrefix(t) {
		return true
	}
	st := stem(t)
	return st != t && ix.livePrefix(st)
}

// livePrefix tells whether some term in use starts with p.
func (ix *Index) livePrefix(p string) bool {
	found := false
	ix.voc.prefix(p, func(id uint32) {
		if !found && ix.df(id) > 0 {
			found = true
		}
	})
	return found
}

// nearTerm is the closest live term found for a query token: d < 0 when none is within the typo budget.
type nearTerm struct {
	tok   string
	id    uint32
	d, df int
}

// nearer makes term id, at distance d from n.tok, n's choice if it is closer than the one so far: the
// nearest, then the most frequent (the likely intent), then the first in order.
func (ix *Index) nearer(n *nearTerm, id uint32, d int) {
	df := ix.df(id)
	if df == 0 {
		return
	}
	if n.d < 0 || d < n.d || (d == n.d && (df > n.df || (df == n.df && ix.voc.terms[id] < ix.voc.terms[n.id]))) {
		n.id, n.d, n.df = id, d, df
	}
}

// closest returns the live term nearest to t within the typo budget. The query's expansion (expand) has
// usually found it already, walking the same fuzzy neighbours of the same token.
func (ix *Index) closest(t string, s *scratch) (string, bool) {
	n := nearTerm{tok: t, d: -1}
	found := false
	for _, e := range s.near {
		if e.tok == t {
			n, found = e, true
			break
		}
	}
	if !found {
		ix.voc.fuzzy(t, maxEdits(utf8.RuneCountInString(t)), &s.fz, func(id uint32, d int) { ix.nearer(&n, id, d) })
	}
	if n.d < 0 {
		return "", false
	}
	return ix.voc.terms[n.id], true
}
