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
