package sheet

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// foldRune maps a rune to lower case; ł is not decomposable by Unicode normalisation, so it is mapped by hand.
func foldRune(r rune) rune {
	switch r {
	case 'ł', 'Ł':
		return 'l'
	}
	return unicode.ToLower(r)
}

// Fold turns a label as people type it ("Gmina (TERC)", "Spółka z o.o.", "KOD-POCZTOWY") into a key
// ("gmina_terc", "spolka_z_o_o", "kod_pocztowy"): lower case, diacritics removed, and every run of other
// characters than letters and digits one "_", trimmed. Imports match headers and named values by it, so a
// column typed without Polish letters or in capitals is still recognised.
func Fold(s string) string {
	if k, ok := foldASCII(s); ok {
		return k
	}
	if k, ok := foldLatin(s); ok {
		return k
	}
	return foldSlow(s)
}

func foldSlow(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(foldRune(r))
		default:
			sep = true
		}
	}
	return b.String()
}

// foldASCII is Fold of an ASCII string (false for any other): the same key without normalising, and s itself
// when it is a key already (an import folds every named value of every row: "AREA_HEALTH", "MO", "tak").
func foldASCII(s string) (string, bool) {
	folded := true // s is its own key so far
	sep := false
	n := 0 // the length of the key so far
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", false
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if sep && n > 0 {
				n++
				folded = folded && s[i-1] == '_'
			}
			sep = false
			n++
		case c >= 'A' && c <= 'Z':
			if sep && n > 0 {
				n++
			}
			sep = false
			n++
			folded = false
		default:
			// A run of other characters is one "_" between letters or digits, nothing at either end.
			if c != '_' || sep || n == 0 {
				folded = false
			}
			sep = true
		}
	}
	if sep && n > 0 {
		folded = false // trailing separators are trimmed
	}
	if folded && n == len(s) {
		return s, true
	}
	b := make([]byte, 0, n)
	sep = false
	for i := 0; i < len(s); i++ {
		b, sep = appendASCIIFold(b, s[i], sep)
	}
	return string(b), true
}

// appendASCIIFold appends the ASCII character c to the key b as Fold keys it: a letter lower-cased or a digit,
// after a "_" when a separator came before it (sep) and b is not empty; any other character is a separator.
// It returns b and whether a separator is pending.
func appendASCIIFold(b []byte, c byte, sep bool) ([]byte, bool) {
	switch {
	case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
	case c >= 'A' && c <= 'Z':
		c += 'a' - 'A'
	default:
		return b, true
	}
	if sep && len(b) > 0 {
		b = append(b, '_')
	}
	return append(b, c), false
}

// latinFold is what Fold makes of each Latin-1 and Latin Extended-A character (U+0080 to U+017F): its letters
// ("ą" is "a", "ß" is "ß"), or "" for a separator ("«", the no-break space). Normalisation decomposes each of
// them on its own (none is a combining mark), so the key of a text of them is the keys of its characters
// joined as Fold joins them: what foldLatin does, with no normalisation.
var latinFold = func() (t [0x180 - 0x80]struct {
	key string
	ok  bool // key is all letters (or "", all separator): checked below
}) {
	for r := rune(0x80); r < 0x180; r++ {
		k := foldSlow(string(r))
		want := "a_a"
		if k != "" {
			want = "a" + k + "a"
		}
		t[r-0x80].key, t[r-0x80].ok = k, foldSlow("a"+string(r)+"a") == want
	}
	return t
}()

// foldLatin is Fold of a string of characters below U+0180 (false for any other).
func foldLatin(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	sep := false
	for _, r := range s {
		var k string
		switch {
		case r >= 0x180:
			return "", false
		case r < 0x80:
			b, sep = appendASCIIFold(b, byte(r), sep)
			continue
		default:
			e := latinFold[r-0x80]
			if !e.ok {
				return "", false
			}
			k = e.key
		}
		if k == "" {
			sep = true
			continue
		}
		if sep && len(b) > 0 {
			b = append(b, '_')
		}
		sep = false
		b = append(b, k...)
	}
	return string(b), true
}
