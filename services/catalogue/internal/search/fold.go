package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTokenBytes bounds a folded token. Real words are far shorter; the bound
// keeps pathological input (base64 blobs, URLs without separators) from
// bloating the vocabulary and the fuzzy matcher's per-term work.
const maxTokenBytes = 64

// foldRune returns the diacritic-free lower-case spelling of a Latin letter,
// or ok=false when r is not covered by the generated tables.
func foldRune(r rune) (s string, ok bool) {
	switch {
	case r >= 0x00C0 && r <= 0x024F:
		s = foldLatin1Ext[r-0x00C0]
	case r >= 0x1E00 && r <= 0x1EFF:
		s = foldLatinAdditional[r-0x1E00]
	}
	return s, s != ""
}

// tokenizer splits text into folded tokens. It owns a reusable buffer so the
// bulk load does not allocate per token; the emitted slice is only valid
// during the callback.
type tokenizer struct{ buf []byte }

func (t *tokenizer) each(text string, emit func(tok []byte)) {
	buf := t.buf[:0]
	full := false
	put := func(s string) {
		if full || len(buf)+len(s) > maxTokenBytes {
			// Dropping the rest of the token (rather than just this rune)
			// keeps Normalize idempotent.
			full = true
			return
		}
		buf = append(buf, s...)
	}
	flush := func() {
		if len(buf) > 0 {
			emit(buf)
		}
		buf = buf[:0]
		full = false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				flush()
				continue
			}
			if !full && len(buf) < maxTokenBytes {
				buf = append(buf, c)
			} else {
				full = true
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if s, ok := foldRune(r); ok {
			put(s)
			continue
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			// ToLower can land on a foldable letter (e.g. ANGSTROM SIGN ->
			// å), so fold again or a second pass would change the token.
			if r < utf8.RuneSelf {
				put(string(rune(r)))
			} else if s, ok := foldRune(r); ok {
				put(s)
			} else {
				var enc [utf8.UTFMax]byte
				n := utf8.EncodeRune(enc[:], r)
				put(string(enc[:n]))
			}
		case unicode.Is(unicode.M, r):
			// Combining marks (decomposed input, e.g. "z\u0307") belong
			// to the preceding letter: drop them without splitting.
		default:
			flush()
		}
	}
	flush()
	t.buf = buf
}

// Normalize returns the folded tokens of s joined by single spaces: lower
// case, Latin diacritics removed (Polish ł included), anything that is not a
// letter or digit treated as a separator. It is the key the index uses for
// matching and for name ordering, exported so callers can build consistent
// sort keys.
func Normalize(s string) string {
	var t tokenizer
	var b strings.Builder
	t.each(s, func(tok []byte) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(tok)
	})
	return b.String()
}

// Tokens returns the folded tokens of s, as the index sees them.
func Tokens(s string) []string {
	var t tokenizer
	var out []string
	t.each(s, func(tok []byte) { out = append(out, string(tok)) })
	return out
}
