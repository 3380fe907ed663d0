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

// closest returns the live term nearest to t within the typo budget.
func (ix *Index) closest(t string, s *scratch) (string, bool) {
	best, bestD, bestDF := uint32(0), -1, 0
	ix.voc.fuzzy(t, maxEdits(utf8.RuneCountInString(t)), &s.fz, func(id uint32, d int) {
		df := ix.df(id)
		if df == 0 {
			return
		}
		better := bestD < 0 || d < bestD || (d == bestD && (df > bestDF ||
			(df == bestDF && ix.voc.terms[id] < ix.voc.terms[best])))
		if better {
			best, bestD, bestDF = id, d, df
		}
	})
	if bestD < 0 {
		return "", false
	}
	return ix.voc.terms[best], true
}
