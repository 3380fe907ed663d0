package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// foldRune maps a rune to lower-case ASCII where Polish spelling allows it: ł is not decomposable by Unicode
// normalisation, so it is mapped by hand; other letters lose their combining marks in Fold.
func foldRune(r rune) rune {
	switch r {
	case 'ł', 'Ł':
		return 'l'
	}
	return unicode.ToLower(r)
}

// Fold turns a label as people type it ("Forma prawna", "Spółka z o.o.", "KOD-POCZTOWY") into a key
// ("forma_prawna", "spolka_z_o_o", "kod_pocztowy"): lower case, diacritics removed, and every run of other
// characters than letters and digits one "_", trimmed.
func Fold(s string) string {
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

// FoldName is the key two provider names are the same under: Fold without the separators' kind mattering
// ("Grupa „Sąsiedzi”" and "grupa sasiedzi" are the same).
func FoldName(s string) string { return Fold(s) }
