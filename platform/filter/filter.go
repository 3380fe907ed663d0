// Package filter is the List filter language of every service: a subset of AIP-160 (comparisons
// `field op value` joined by AND). Each service declares its filterable fields and how each compiles into a
// predicate; the parsing, and the errors naming what is wrong, are the same everywhere.
package filter

import (
	"sort"
	"strings"
	"unicode"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
)

// The List filter language is a subset of AIP-160: comparisons `field op value` joined by AND. It is small on
// purpose: every field and operator is documented on the request, and anything else is refused with a message
// naming the problem, so integrators never get silently ignored conditions.

// Field compiles one comparison on a field into a predicate.
type Field[T any] func(op, value string) (func(T) bool, error)

type token struct {
	kind string // "ident", "string", "op"
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		r := rune(s[i])
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			i++
		case r == '"':
			j := i + 1
			var b strings.Builder
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, i18n.NewMsg("unterminated string starting at position %d", i+1)
			}
			out = append(out, token{"string", b.String(), i + 1})
			i = j + 1
		case strings.ContainsRune("=!<>", r):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, i18n.NewMsg("unknown operator %q at position %d", op, i+1)
			}
			out = append(out, token{"op", op, i + 1})
			i = j
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-/*.:+", r)):
			j := i
			for j < len(s) && s[j] < 128 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.ContainsRune("_-/*.:+", rune(s[j]))) {
				j++
			}
			out = append(out, token{"ident", s[i:j], i + 1})
			i = j
		default:
			return nil, i18n.NewMsg("unexpected character %q at position %d", r, i+1)
		}
	}
	return out, nil
}

// Parse compiles a List filter over the given fields. An empty filter passes everything.
func Parse[T any](filter string, fields map[string]Field[T]) (func(T) bool, error) {
	bad := func(format string, args ...any) error {
		return apierr.Invalidf("filter", format, args...)
	}
	if len(filter) > 2000 {
		return nil, bad("must be at most 2000 characters")
	}
	toks, err := lex(filter)
	if err != nil {
		return nil, bad("%v", err)
	}
	var preds []func(T) bool
	for i := 0; i < len(toks); {
		if i > 0 {
			if toks[i].kind != "ident" || toks[i].text != "AND" {
				return nil, bad("expected AND at position %d (only AND is supported)", toks[i].pos)
			}
			i++
		}
		if len(toks)-i < 3 {
			pos := len(filter) + 1
			if i < len(toks) {
				pos = toks[i].pos
			}
			return nil, bad("incomplete comparison at position %d; expected field operator value", pos)
		}
		f, op, val := toks[i], toks[i+1], toks[i+2]
		if f.kind != "ident" || op.kind != "op" || val.kind == "op" {
			return nil, bad("expected field operator value at position %d", f.pos)
		}
		build, ok := fields[f.text]
		if !ok {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, bad("unknown field %q; filterable fields are %s", f.text, strings.Join(names, ", "))
		}
		p, err := build(op.text, val.text)
		if err != nil {
			return nil, bad("%s: %v", f.text, err)
		}
		preds = append(preds, p)
		i += 3
	}
	return func(t T) bool {
		for _, p := range preds {
			if !p(t) {
				return false
			}
		}
		return true
	}, nil
}
