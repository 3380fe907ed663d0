// Package i18n owns the suite's one message catalogue: the Polish text of every error message, field
// violation and ErrorInfo reason, and the choice of language from Accept-Language.
//
// The catalogue is gettext-style: the key of an entry is the English text exactly as the code writes it,
// %-verbs included ("must be at most %d characters"), so code keeps writing English and errors keep their
// format and arguments (platform/apierr remembers them) until the language of the caller is known. A Polish
// entry uses the same verbs for the same arguments, in any order with indexed verbs (%[2]s). English is the
// default; a key without an entry stays English. TestCatalogueCoverage walks the source of every module and
// fails when a message or reason has no Polish text, so the catalogue cannot fall behind the code.
package i18n

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The languages of the suite, as BCP 47 tags.
const (
	English = "en"
	Polish  = "pl"
)

// MetadataKey is the gRPC metadata key that carries the caller's Accept-Language (the gateway forwards the
// HTTP header under this key; gRPC clients may send it themselves).
const MetadataKey = "accept-language"

// Formatted is implemented by values that keep their English format and arguments (apierr's errors, plid's
// errors), so that a message which embeds one ("%v", err) is translated whole, not half.
type Formatted interface {
	MessageFormat() (format string, args []any)
}

// Negotiate picks the language of the answer from Accept-Language values (RFC 9110 section 12.5.4): the
// supported language with the highest q-value, ties going to the one listed first; a region or script
// (pl-PL) matches its language; "*" and anything unsupported mean English, and so does q=0 for Polish.
func Negotiate(acceptLanguage ...string) string {
	best, bestQ := English, 0.0
	for _, header := range acceptLanguage {
		for _, part := range strings.Split(header, ",") {
			tag, q, ok := parseRange(part)
			if !ok || q <= bestQ {
				continue
			}
			if base, _, _ := strings.Cut(tag, "-"); strings.EqualFold(base, Polish) {
				best, bestQ = Polish, q
			} else if strings.EqualFold(base, English) || tag == "*" {
				best, bestQ = English, q
			}
		}
	}
	return best
}

// parseRange reads one "tag;q=0.8" element. A malformed q-value makes the element be ignored, as a missing
// one means q=1.
func parseRange(part string) (tag string, q float64, ok bool) {
	fields := strings.Split(part, ";")
	tag = strings.TrimSpace(fields[0])
	if tag == "" || len(tag) > 35 {
		return "", 0, false
	}
	q = 1
	for _, p := range fields[1:] {
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f > 1 {
			return "", 0, false
		}
		q = f
	}
	return tag, q, true
}

// Lookup returns the text of key in lang; English is the key itself.
func Lookup(lang, key string) (string, bool) {
	if lang != Polish {
		return key, true
	}
	s, ok := polish[key]
	return s, ok
}

// Text returns a message without arguments in lang, or the English text when the catalogue has none.
func Text(lang, english string) string {
	if s, ok := Lookup(lang, english); ok {
		return s
	}
	return english
}

// Sprintf formats a message in lang: the format is looked up in the catalogue and arguments that are
// themselves Formatted are translated first. An unknown format stays English, so a gap in the catalogue
// shows as English text rather than as a broken message.
func Sprintf(lang, format string, args ...any) string {
	if lang != Polish {
		return fmt.Sprintf(format, args...)
	}
	local, known := polish[format]
	if len(args) == 0 {
		if !known {
			// A plain English text is not a format ("%" in it stays as it is); it may be a format already
			// filled in by code that did not keep it.
			return Translate(lang, format)
		}
		return local
	}
	if !known {
		local = format
	}
	translated := make([]any, len(args))
	for i, a := range args {
		if f, ok := a.(Formatted); ok {
			fo, fa := f.MessageFormat()
			translated[i] = Sprintf(lang, fo, fa...)
			continue
		}
		if err, ok := a.(error); ok {
			// An error that did not keep its format ("%v", err): translated by its text, if the catalogue
			// knows it.
			translated[i] = Translate(lang, err.Error())
			continue
		}
		translated[i] = a
	}
	return fmt.Sprintf(local, translated...)
}

// Msg is a message kept with its format and arguments, for a message that embeds another one
// ("%s: %v", field, i18n.Msg(description)): it prints as English and translates whole.
type Msg struct {
	format string
	args   []any
}

// NewMsg keeps a message's format and arguments. A text without arguments that is not in the catalogue is
// translated by matching (Translate), so a text passed on from another service may be given too.
func NewMsg(format string, args ...any) Msg { return Msg{format: format, args: args} }

func (m Msg) String() string {
	if len(m.args) == 0 {
		return m.format
	}
	return fmt.Sprintf(m.format, m.args...)
}

// MessageFormat is the format and arguments (Formatted).
func (m Msg) MessageFormat() (string, []any) { return m.format, m.args }

// Error makes a Msg usable as an error, for parsers whose errors become a client's message.
func (m Msg) Error() string { return m.String() }

// Reason is the description of an ErrorInfo reason.
type Reason struct {
	Code    string
	English string
	Polish  string
}

// ReasonText describes an ErrorInfo reason in lang.
func ReasonText(lang, code string) (string, bool) {
	r, ok := reasons[code]
	if !ok {
		return "", false
	}
	if lang == Polish {
		return r.pl, true
	}
	return r.en, true
}

// Reasons lists every reason of the catalogue, sorted by code.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasons))
	for code, r := range reasons {
		out = append(out, Reason{Code: code, English: r.en, Polish: r.pl})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

type reasonText struct{ en, pl string }

// Verb is one %-verb of a format: the argument it formats (1-based) and its letter.
type Verb struct {
	Arg    int
	Letter rune
}

func (v Verb) String() string { return "%[" + strconv.Itoa(v.Arg) + "]" + string(v.Letter) }

// Verbs lists the verbs of a format in order, resolving explicit indices ([2]) as fmt does. "%%" is not a
// verb.
func Verbs(format string) []Verb {
	var out []Verb
	arg := 1
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '[' {
			end := strings.IndexByte(format[i:], ']')
			if end > 0 {
				if n, err := strconv.Atoi(format[i+1 : i+end]); err == nil {
					arg = n
				}
				i += end + 1
			}
		}
		for i < len(format) && (format[i] >= '0' && format[i] <= '9' || format[i] == '.' || format[i] == '*') {
			i++
		}
		if i >= len(format) {
			break
		}
		if format[i] == '%' {
			continue
		}
		out = append(out, Verb{Arg: arg, Letter: rune(format[i])})
		arg++
	}
	return out
}

// SameVerbs reports whether a translation formats the same arguments with the same verbs as its English key:
// every argument the English formats is formatted by the translation with the same letter, and no other.
func SameVerbs(english, translation string) bool {
	want := map[int]rune{}
	for _, v := range Verbs(english) {
		want[v.Arg] = v.Letter
	}
	got := map[int]rune{}
	for _, v := range Verbs(translation) {
		if l, seen := got[v.Arg]; seen && l != v.Letter {
			return false
		}
		got[v.Arg] = v.Letter
	}
	if len(want) != len(got) {
		return false
	}
	for arg, l := range want {
		if got[arg] != l {
			return false
		}
	}
	return true
}

// Translate turns an English message that was already formatted (a status made by another program, or by
// code that did not keep its format) into lang, by matching it against the catalogue's formats. The
// arguments are carried over as text; an argument formatted with %v that is itself a catalogue message is
// translated too. A message the catalogue does not know stays English.
func Translate(lang, message string) string {
	if lang != Polish || message == "" {
		return message
	}
	if s, ok := polish[message]; ok && len(Verbs(message)) == 0 {
		return s
	}
	for _, p := range patterns() {
		m := p.re.FindStringSubmatch(message)
		if m == nil {
			continue
		}
		args := make([]any, len(p.verbs))
		for i, v := range p.verbs {
			a := m[i+1]
			if v.Letter == 'v' && len(a) < len(message) {
				// Shorter each time, so the recursion ends.
				a = Translate(lang, a)
			}
			args[v.Arg-1] = a
		}
		return fmt.Sprintf(p.polish, args...)
	}
	return message
}

type pattern struct {
	re      *regexp.Regexp
	verbs   []Verb
	polish  string // the translation with every verb made %[n]s, as the arguments are text
	literal int    // characters that are not verbs: the more, the more specific
	english string
}

var compiled struct {
	once sync.Once
	list []pattern
}

var verbRE = regexp.MustCompile(`%[+\-# 0]*(\[\d+\])?[0-9.*]*[a-zA-Z%]`)

// patterns compiles the catalogue's formats with verbs into anchored expressions, most specific first.
func patterns() []pattern {
	compiled.once.Do(func() {
		for en, pl := range polish {
			verbs := Verbs(en)
			if len(verbs) == 0 || !SameVerbs(en, pl) {
				continue
			}
			var b strings.Builder
			b.WriteString("^")
			literal, last := 0, 0
			for _, loc := range verbRE.FindAllStringIndex(en, -1) {
				lit := strings.ReplaceAll(en[last:loc[0]], "%%", "%")
				b.WriteString(regexp.QuoteMeta(lit))
				literal += len(lit)
				if en[loc[1]-1] == '%' {
					b.WriteString("%")
				} else {
					b.WriteString("(.*?)")
				}
				last = loc[1]
			}
			lit := strings.ReplaceAll(en[last:], "%%", "%")
			b.WriteString(regexp.QuoteMeta(lit))
			literal += len(lit)
			b.WriteString("$")
			if literal == 0 {
				continue // "%v", "%s": matches any text and translates none
			}
			n := 0
			local := verbRE.ReplaceAllStringFunc(pl, func(v string) string {
				if strings.HasSuffix(v, "%") && v == "%%" {
					return v
				}
				vs := Verbs(v)
				if len(vs) != 1 {
					return v
				}
				n++
				// Indices of verbs without [n] continue from the previous verb, as in fmt.
				return "%[" + strconv.Itoa(resolveArg(pl, n)) + "]s"
			})
			compiled.list = append(compiled.list, pattern{
				re: regexp.MustCompile("(?s)" + b.String()), verbs: verbs, polish: local, literal: literal, english: en,
			})
		}
		sort.Slice(compiled.list, func(i, j int) bool {
			a, b := compiled.list[i], compiled.list[j]
			if a.literal != b.literal {
				return a.literal > b.literal
			}
			return a.english < b.english // the same order on every run, whatever the map's
		})
	})
	return compiled.list
}

// resolveArg is the argument of the n-th verb (1-based) of a format.
func resolveArg(format string, n int) int {
	vs := Verbs(format)
	if n-1 < len(vs) {
		return vs[n-1].Arg
	}
	return n
}
