package plid

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The tests compute expected check digits with their own reference code, written from the domain notes
// rather than from the package, so a wrong weight in the package cannot hide behind the same wrong weight.

func refSum(s string, weights ...int) int {
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return sum
}

func refPESEL(first10 string) string {
	return first10 + string(rune('0'+(10-refSum(first10, 1, 3, 7, 9, 1, 3, 7, 9, 1, 3)%10)%10))
}

func refREGON9(first8 string) string {
	return first8 + string(rune('0'+refSum(first8, 8, 9, 2, 3, 4, 5, 6, 7)%11%10))
}

func refREGON14(first13 string) string {
	return first13 + string(rune('0'+refSum(first13, 2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)%11%10))
}

// lastDigitChanged returns s with its last digit replaced by each of the nine other digits.
func lastDigitChanged(s string) []string {
	var out []string
	for d := byte('0'); d <= '9'; d++ {
		if d != s[len(s)-1] {
			out = append(out, s[:len(s)-1]+string(d))
		}
	}
	return out
}

// arabicIndic writes the ASCII digits of s in Arabic-Indic digits (U+0660-U+0669).
func arabicIndic(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r - '0' + '\u0660')
	}
	return b.String()
}

// fullwidth writes the ASCII digits of s in fullwidth digits (U+FF10-U+FF19).
func fullwidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r - '0' + '\uFF10')
	}
	return b.String()
}

var reasons = map[string]bool{
	ReasonInvalidLength: true, ReasonNotDigits: true, ReasonBadCheckDigit: true, ReasonInvalidDate: true,
	ReasonInvalidCode: true,
}

type tcase struct {
	name string
	in   string
	want string // the Reason, or "" for valid
}

// checkResult verifies err against want: nil for "", else an *Error with that reason, a known reason, a
// non-empty message, and no echo of the value.
func checkResult(t *testing.T, in string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("%q: got error %v (%v), want valid", in, err, reasonOf(err))
		}
		return
	}
	if err == nil {
		t.Fatalf("%q: got valid, want %s", in, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: error %T is not *Error", in, err)
	}
	if e.Reason != want {
		t.Fatalf("%q: got reason %s (%q), want %s", in, e.Reason, e.Message, want)
	}
	if !errors.Is(err, &Error{Reason: want}) {
		t.Fatalf("%q: errors.Is does not match reason %s", in, want)
	}
	checkErrorShape(t, in, err)
}

func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "<not *Error>"
}

// checkErrorShape checks what every error must satisfy, whatever the input.
func checkErrorShape(t *testing.T, in string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e == nil {
		t.Fatalf("%q: error %T is not a non-nil *Error", in, err)
	}
	if !reasons[e.Reason] {
		t.Fatalf("%q: unknown reason %q", in, e.Reason)
	}
	if e.Message == "" || e.Error() != e.Message {
		t.Fatalf("%q: bad message %q / %q", in, e.Message, e.Error())
	}
	// A message is one of a fixed set, so it cannot carry the value; the one variable message names an
	// invalid PESEL month, two digits that are not a month at all.
	if !fixedMessages[e.Message] {
		month, ok := strings.CutPrefix(e.Message, "month ")
		month, ok2 := strings.CutSuffix(month, " is not a valid PESEL month")
		if !ok || !ok2 || len(month) != 2 || !allDigits(month) || len(in) < 4 || in[2:4] != month {
			t.Fatalf("%q: unexpected message %q", in, e.Message)
		}
		if m := num(month); (m >= 1 && m <= 12) || (m >= 21 && m <= 32) || (m >= 41 && m <= 52) ||
			(m >= 61 && m <= 72) || (m >= 81 && m <= 92) {
			t.Fatalf("%q: message %q names a valid month", in, e.Message)
		}
	}
	// Belt and braces: no message has a run of 3 digits.
	if len(in) >= 3 && allDigits(in) && strings.Contains(e.Message, in) {
		t.Fatalf("message %q echoes the value %q", e.Message, in)
	}
}

// fixedMessages are all the messages but the invalid-month one.
var fixedMessages = map[string]bool{
	"must be 4 digits":                                      true,
	"must be 7 digits":                                      true,
	"must be 9 digits":                                      true,
	"must be 10 digits":                                     true,
	"must be 11 digits":                                     true,
	"must be 9 or 14 digits":                                true,
	"must be 8 or 13 digits":                                true,
	"must be 6 characters in the form NN-NNN":               true,
	"must contain only digits 0-9":                          true,
	"must contain only digits 0-9 around the dash":          true,
	"must have the form NN-NNN":                             true,
	"day is not valid for the month of birth":               true,
	"check digit does not match":                            true,
	"check digit of the first 9 digits does not match":      true,
	"no check digit is valid for these digits":              true,
	"must not be all zeros":                                 true,
	"voivodeship code must be an even number from 02 to 32": true,
	"powiat code must be from 01 to 99":                     true,
	"gmina number must be from 01 to 99":                    true,
	"gmina type digit must be from 1 to 5":                  true,
}

func runTable(t *testing.T, validate func(string) error, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkResult(t, c.in, validate(c.in), c.want)
		})
	}
}

// --- PESEL ---

const examplePESEL = "44051401359" // the documentation example, 1944-05-14, male

func TestValidatePESEL(t *testing.T) {
	cases := []tcase{
		{"example", examplePESEL, ""},
		{"1800s", refPESEL("0281010001"), ""},
		{"1900s", refPESEL("0001010000"), ""},
		{"2000s", refPESEL("2532150000"), ""},
		{"2100s", refPESEL("0041010000"), ""},
		{"2200s", refPESEL("9972310000"), ""},
		{"leap 2000-02-29", refPESEL("0022290000"), ""},
		{"leap 1896-02-29", refPESEL("9682290000"), ""},
		{"leap 2024-02-29", refPESEL("2422290000"), ""},
		{"leap 1904-02-29", refPESEL("0402290000"), ""},
		{"not leap 1900-02-29", refPESEL("0002290000"), ReasonInvalidDate},
		{"not leap 1800-02-29", refPESEL("0082290000"), ReasonInvalidDate},
		{"not leap 2100-02-29", refPESEL("0042290000"), ReasonInvalidDate},
		{"not leap 2200-02-29", refPESEL("0062290000"), ReasonInvalidDate},
		{"not leap 2023-02-29", refPESEL("2322290000"), ReasonInvalidDate},
		{"Feb 30 in leap year", refPESEL("0022300000"), ReasonInvalidDate},
		{"Apr 31", refPESEL("4404310000"), ReasonInvalidDate},
		{"Dec 31", refPESEL("4412310000"), ""},
		{"Jan 32", refPESEL("4401320000"), ReasonInvalidDate},
		{"day 00", refPESEL("4405000000"), ReasonInvalidDate},
		{"month 00", refPESEL("4400140000"), ReasonInvalidDate},
		{"month 13", refPESEL("4413140000"), ReasonInvalidDate},
		{"month 20", refPESEL("4420140000"), ReasonInvalidDate},
		{"month 33", refPESEL("4433140000"), ReasonInvalidDate},
		{"month 40", refPESEL("4440140000"), ReasonInvalidDate},
		{"month 53", refPESEL("4453140000"), ReasonInvalidDate},
		{"month 60", refPESEL("4460140000"), ReasonInvalidDate},
		{"month 73", refPESEL("4473140000"), ReasonInvalidDate},
		{"month 80", refPESEL("4480140000"), ReasonInvalidDate},
		{"month 93", refPESEL("4493140000"), ReasonInvalidDate},
		{"month 99", refPESEL("4499140000"), ReasonInvalidDate},
		{"all zeros", "00000000000", ReasonInvalidDate},
		{"empty", "", ReasonInvalidLength},
		{"10 digits", examplePESEL[:10], ReasonInvalidLength},
		{"12 digits", examplePESEL + "0", ReasonInvalidLength},
		{"letter", "4405140135X", ReasonNotDigits},
		{"letters", "ABCDEFGHIJK", ReasonNotDigits},
		{"inner space", "44051 01359", ReasonNotDigits},
		{"trailing space", examplePESEL + " ", ReasonInvalidLength},
		{"leading plus", "+4405140135", ReasonNotDigits},
		{"Arabic-Indic digits", arabicIndic(examplePESEL), ReasonNotDigits},
		{"one Arabic-Indic digit", "4405140135" + "\u0669", ReasonNotDigits},
		{"fullwidth digits", fullwidth(examplePESEL), ReasonNotDigits},
		{"invalid UTF-8", "4405140135\xff", ReasonNotDigits},
		{"NUL", "4405140135\x00", ReasonNotDigits},
	}
	for _, s := range lastDigitChanged(examplePESEL) {
		cases = append(cases, tcase{"example last digit " + string(s[10]), s, ReasonBadCheckDigit})
	}
	for _, s := range lastDigitChanged(refPESEL("0022290000")) {
		cases = append(cases, tcase{"leap last digit " + string(s[10]), s, ReasonBadCheckDigit})
	}
	runTable(t, ValidatePESEL, cases)
}

func TestParsePESEL(t *testing.T) {
	date := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name  string
		in    string
		birth time.Time
		sex   Sex
	}{
		{"example", examplePESEL, date(1944, 5, 14), SexMale},
		{"1800s first", refPESEL("0081010001"), date(1800, 1, 1), SexMale},
		{"1800s last", refPESEL("9992310002"), date(1899, 12, 31), SexFemale},
		{"1900s first", refPESEL("0001010003"), date(1900, 1, 1), SexMale},
		{"1900s last", refPESEL("9912310004"), date(1999, 12, 31), SexFemale},
		{"2000s first", refPESEL("0021010005"), date(2000, 1, 1), SexMale},
		{"2000s last", refPESEL("9932310006"), date(2099, 12, 31), SexFemale},
		{"2100s first", refPESEL("0041010007"), date(2100, 1, 1), SexMale},
		{"2100s last", refPESEL("9952310008"), date(2199, 12, 31), SexFemale},
		{"2200s first", refPESEL("0061010009"), date(2200, 1, 1), SexMale},
		{"2200s last", refPESEL("9972310000"), date(2299, 12, 31), SexFemale},
		{"2000-02-29", refPESEL("0022290000"), date(2000, 2, 29), SexFemale},
		{"1896-02-29", refPESEL("9682290001"), date(1896, 2, 29), SexMale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			birth, sex, err := ParsePESEL(c.in)
			if err != nil {
				t.Fatalf("%q: %v", c.in, err)
			}
			if !birth.Equal(c.birth) || birth.Location() != time.UTC {
				t.Errorf("%q: birth %v, want %v", c.in, birth, c.birth)
			}
			if sex != c.sex {
				t.Errorf("%q: sex %v, want %v", c.in, sex, c.sex)
			}
		})
	}
}

// TestPESELCalendar checks every day number 00-39 of every month of years around each century's edge and
// leap rule against the time package's calendar.
func TestPESELCalendar(t *testing.T) {
	offset := map[int]int{1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}
	for _, y := range []int{1800, 1804, 1899, 1900, 1996, 1999, 2000, 2023, 2024, 2100, 2104, 2199, 2200, 2204, 2299} {
		for m := 1; m <= 12; m++ {
			for d := 0; d <= 39; d++ {
				mm := m + offset[y/100*100]
				first10 := string(rune('0'+y%100/10)) + string(rune('0'+y%10)) +
					string(rune('0'+mm/10)) + string(rune('0'+mm%10)) +
					string(rune('0'+d/10)) + string(rune('0'+d%10)) + "0000"
				want := ""
				if d == 0 || time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() != d {
					want = ReasonInvalidDate
				}
				s := refPESEL(first10)
				birth, _, err := ParsePESEL(s)
				checkResult(t, s, err, want)
				if err == nil && !birth.Equal(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)) {
					t.Fatalf("%q: birth %v, want %04d-%02d-%02d", s, birth, y, m, d)
				}
			}
		}
	}
}

func TestParsePESELSexDigit(t *testing.T) {
	for x := byte('0'); x <= '9'; x++ {
		s := refPESEL("440514013" + string(x))
		_, sex, err := ParsePESEL(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := SexMale
		if (x-'0')%2 == 0 {
			want = SexFemale
		}
		if sex != want {
			t.Errorf("tenth digit %c: sex %v, want %v", x, sex, want)
		}
	}
}

func TestParsePESELError(t *testing.T) {
	for _, in := range []string{"", examplePESEL[:10] + "0", refPESEL("0002290000"), arabicIndic(examplePESEL)} {
		birth, sex, err := ParsePESEL(in)
		if err == nil || !birth.IsZero() || sex != 0 {
			t.Errorf("%q: got %v, %v, %v; want zero values and an error", in, birth, sex, err)
		}
		if err != nil {
			checkErrorShape(t, in, err)
		}
	}
}

func TestSexString(t *testing.T) {
	for s, want := range map[Sex]string{SexMale: "male", SexFemale: "female", 0: "unknown", 9: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("Sex(%d).String() = %q, want %q", int(s), got, want)
		}
	}
	if SexMale != 1 || SexFemale != 2 {
		t.Errorf("Sex values must follow ISO/IEC 5218: male 1, female 2")
	}
}

func TestPESELCheckDigit(t *testing.T) {
	if d, err := PESELCheckDigit(examplePESEL[:10]); err != nil || d != '9' {
		t.Fatalf("PESELCheckDigit(example) = %q, %v; want '9'", d, err)
	}
	for _, c := range []tcase{
		{"2000-02-29", "0022290000", ""},
		{"empty", "", ReasonInvalidLength},
		{"11 digits", examplePESEL, ReasonInvalidLength},
		{"9 digits", examplePESEL[:9], ReasonInvalidLength},
		{"letter", "440514013A", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic(examplePESEL[:10]), ReasonNotDigits},
		{"1900-02-29", "0002290000", ReasonInvalidDate},
		{"month 13", "4413140000", ReasonInvalidDate},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := PESELCheckDigit(c.in)
			checkResult(t, c.in, err, c.want)
			if err == nil && c.in+string(d) != refPESEL(c.in) {
				t.Errorf("%q: check digit %q, want %q", c.in, d, refPESEL(c.in)[10])
			}
			if err != nil && d != 0 {
				t.Errorf("%q: digit %q returned with an error", c.in, d)
			}
		})
	}
}

// --- NIP ---

const exampleNIP = "8567346215"

// nipNoCheck is 9 digits whose weighted sum mod 11 is 10, so no tenth digit makes a valid NIP:
// 1*6+2*5+3*7+4*2+5*3+6*4+7*5+8*6+9*7 = 230 = 20*11+10.
const nipNoCheck = "123456789"

func TestValidateNIP(t *testing.T) {
	cases := []tcase{
		{"example", exampleNIP, ""},
		{"check digit 0", refNIP(t, "100000007"), ""},
		{"empty", "", ReasonInvalidLength},
		{"9 digits", exampleNIP[:9], ReasonInvalidLength},
		{"11 digits", exampleNIP + "0", ReasonInvalidLength},
		{"dashes", "856-734-62-15", ReasonInvalidLength},
		{"dashes 10 chars", "856-734-62", ReasonNotDigits},
		{"PL prefix", "PL" + exampleNIP, ReasonInvalidLength},
		{"spaces 10 chars", "856 734 62", ReasonNotDigits},
		{"letter", "856734621X", ReasonNotDigits},
		{"letters", "ABCDEFGHIJ", ReasonNotDigits},
		{"Arabic-Indic digits", arabicIndic(exampleNIP), ReasonNotDigits},
		{"fullwidth digits", fullwidth(exampleNIP), ReasonNotDigits},
	}
	for _, s := range lastDigitChanged(exampleNIP) {
		cases = append(cases, tcase{"example last digit " + string(s[9]), s, ReasonBadCheckDigit})
	}
	for d := byte('0'); d <= '9'; d++ {
		cases = append(cases, tcase{"sum mod 11 is 10, last digit " + string(d), nipNoCheck + string(d), ReasonBadCheckDigit})
	}
	runTable(t, ValidateNIP, cases)
}

// refNIP completes first9 to a valid NIP with the reference rule; first9 must have a check digit.
func refNIP(t *testing.T, first9 string) string {
	t.Helper()
	c := refSum(first9, 6, 5, 7, 2, 3, 4, 5, 6, 7) % 11
	if c == 10 {
		t.Fatalf("%q has no NIP check digit", first9)
	}
	return first9 + string(rune('0'+c))
}

func TestNormalizeNIP(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{exampleNIP, exampleNIP},
		{"856-734-62-15", exampleNIP},
		{"856-73-46-215", exampleNIP},
		{"856 734 62 15", exampleNIP},
		{" 8567346215\t\n", exampleNIP},
		{"856\u00a0734\u00a062\u00a015", exampleNIP}, // no-break spaces
		{"856\u2013734\u201362\u201315", exampleNIP}, // en dashes
		{"PL8567346215", exampleNIP},
		{"pl8567346215", exampleNIP},
		{"Pl 856-734-62-15", exampleNIP},
		{" PL 856 734 62 15 ", exampleNIP},
		{"PLPL8567346215", "PL8567346215"},
		{"8567346215PL", "8567346215PL"},
		{"DE8567346215", "DE8567346215"},
		{"856.734.62.15", "856.734.62.15"},
		{"", ""},
		{"PL", ""},
		{"P", "P"},
		{"---", ""},
		{arabicIndic(exampleNIP), arabicIndic(exampleNIP)},
		{"856-734-\xff", "856734\ufffd"},
		{"856\xc2 \xa0", "856\ufffd\ufffd"}, // the removed space must not join the bytes into a no-break space
	} {
		if got := NormalizeNIP(c.in); got != c.want {
			t.Errorf("NormalizeNIP(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if err := ValidateNIP(NormalizeNIP("PL 856-734-62-15")); err != nil {
		t.Errorf("normalized example rejected: %v", err)
	}
	if err := ValidateNIP(NormalizeNIP("DE 856-734-62-15")); err == nil {
		t.Errorf("foreign prefix accepted after normalizing")
	}
}

func TestNIPCheckDigit(t *testing.T) {
	if d, err := NIPCheckDigit(exampleNIP[:9]); err != nil || d != '5' {
		t.Fatalf("NIPCheckDigit(example) = %q, %v; want '5'", d, err)
	}
	for _, c := range []tcase{
		{"sum mod 11 is 10", nipNoCheck, ReasonBadCheckDigit},
		{"empty", "", ReasonInvalidLength},
		{"10 digits", exampleNIP, ReasonInvalidLength},
		{"letter", "85673462X", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic(exampleNIP[:9]), ReasonNotDigits},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := NIPCheckDigit(c.in)
			checkResult(t, c.in, err, c.want)
			if d != 0 {
				t.Errorf("%q: digit %q returned with an error", c.in, d)
			}
		})
	}
}

// --- REGON ---

const (
	exampleREGON9  = "123456785"
	exampleREGON14 = "12345678512347"
)

func TestValidateREGON(t *testing.T) {
	// 14 digits whose own check digit is right but whose first 9 are not a valid REGON.
	badPrefix := refREGON14("1234567861234")
	if refREGON9("12345678") == badPrefix[:9] {
		t.Fatal("test data: prefix is valid")
	}
	cases := []tcase{
		{"9 example", exampleREGON9, ""},
		{"14 example", exampleREGON14, ""},
		{"9 check 0 from mod 11 = 10", refREGON9("12345616"), ""},
		{"14 other unit", refREGON14(exampleREGON9 + "0001"), ""},
		{"14 bad 9-digit prefix", badPrefix, ReasonBadCheckDigit},
		{"empty", "", ReasonInvalidLength},
		{"8 digits", exampleREGON9[:8], ReasonInvalidLength},
		{"10 digits", exampleREGON9 + "0", ReasonInvalidLength},
		{"13 digits", exampleREGON14[:13], ReasonInvalidLength},
		{"15 digits", exampleREGON14 + "0", ReasonInvalidLength},
		{"9 letter", "12345678X", ReasonNotDigits},
		{"14 letter", "1234567851234X", ReasonNotDigits},
		{"9 Arabic-Indic", arabicIndic(exampleREGON9), ReasonNotDigits},
		{"14 Arabic-Indic", arabicIndic(exampleREGON14), ReasonNotDigits},
		{"9 fullwidth", fullwidth(exampleREGON9), ReasonNotDigits},
		{"9 with dashes", "123-456-785", ReasonInvalidLength},
	}
	if got := refSum("12345616", 8, 9, 2, 3, 4, 5, 6, 7) % 11; got != 10 {
		t.Fatalf("test data: sum mod 11 = %d, want 10", got)
	}
	for _, s := range lastDigitChanged(exampleREGON9) {
		cases = append(cases, tcase{"9 last digit " + string(s[8]), s, ReasonBadCheckDigit})
	}
	for _, s := range lastDigitChanged(exampleREGON14) {
		cases = append(cases, tcase{"14 last digit " + string(s[13]), s, ReasonBadCheckDigit})
	}
	runTable(t, ValidateREGON, cases)
}

func TestREGONCheckDigit(t *testing.T) {
	if d, err := REGONCheckDigit(exampleREGON9[:8]); err != nil || d != '5' {
		t.Fatalf("REGONCheckDigit(9 example) = %q, %v; want '5'", d, err)
	}
	if d, err := REGONCheckDigit(exampleREGON14[:13]); err != nil || d != '7' {
		t.Fatalf("REGONCheckDigit(14 example) = %q, %v; want '7'", d, err)
	}
	for _, c := range []tcase{
		{"13 with bad prefix", "1234567861234", ReasonBadCheckDigit},
		{"empty", "", ReasonInvalidLength},
		{"9 digits", exampleREGON9, ReasonInvalidLength},
		{"14 digits", exampleREGON14, ReasonInvalidLength},
		{"letter", "1234567X", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic(exampleREGON9[:8]), ReasonNotDigits},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := REGONCheckDigit(c.in)
			checkResult(t, c.in, err, c.want)
			if d != 0 {
				t.Errorf("%q: digit %q returned with an error", c.in, d)
			}
		})
	}
}

// --- KRS ---

func TestValidateKRS(t *testing.T) {
	runTable(t, ValidateKRS, []tcase{
		{"padded", "0000012345", ""},
		{"one", "0000000001", ""},
		{"full", "9999999999", ""},
		{"all zeros", "0000000000", ReasonInvalidCode},
		{"empty", "", ReasonInvalidLength},
		{"unpadded", "12345", ReasonInvalidLength},
		{"9 digits", "000012345", ReasonInvalidLength},
		{"11 digits", "00000123456", ReasonInvalidLength},
		{"letter", "000001234X", ReasonNotDigits},
		{"space", " 000012345", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic("0000012345"), ReasonNotDigits},
	})
}

// --- TERYT ---

func TestValidateTERC(t *testing.T) {
	cases := []tcase{
		{"Rawicz", "3022053", ""},
		{"Jarocin", "3006023", ""},
		{"Ruda Śląska", "2472011", ""},
		{"Myślenice", "1209033", ""},
		{"lowest", "0201011", ""},
		{"highest", "3299995", ""},
		{"voivodeship 00", "0022053", ReasonInvalidCode},
		{"voivodeship 01", "0122053", ReasonInvalidCode},
		{"voivodeship 31", "3122053", ReasonInvalidCode},
		{"voivodeship 34", "3422053", ReasonInvalidCode},
		{"voivodeship 98", "9822053", ReasonInvalidCode},
		{"powiat 00", "3000053", ReasonInvalidCode},
		{"gmina 00", "3022003", ReasonInvalidCode},
		{"empty", "", ReasonInvalidLength},
		{"powiat only", "3022", ReasonInvalidLength},
		{"6 digits", "302205", ReasonInvalidLength},
		{"8 digits", "30220530", ReasonInvalidLength},
		{"letter", "302205X", ReasonNotDigits},
		{"spaced", "30 22 05", ReasonInvalidLength},
		{"dash", "3022-05", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic("3022053"), ReasonNotDigits},
		{"fullwidth", fullwidth("3022053"), ReasonNotDigits},
	}
	for r := byte('0'); r <= '9'; r++ {
		want := ""
		if r < '1' || r > '5' {
			want = ReasonInvalidCode
		}
		cases = append(cases, tcase{"type digit " + string(r), "302205" + string(r), want})
	}
	for ww := 0; ww <= 99; ww++ {
		want := ""
		if ww < 2 || ww > 32 || ww%2 != 0 {
			want = ReasonInvalidCode
		}
		code := string(rune('0'+ww/10)) + string(rune('0'+ww%10))
		cases = append(cases, tcase{"voivodeship " + code, code + "01011", want})
	}
	runTable(t, ValidateTERC, cases)
}

func TestValidatePowiat(t *testing.T) {
	runTable(t, ValidatePowiat, []tcase{
		{"rawicki", "3022", ""},
		{"Ruda Śląska", "2472", ""},
		{"bolesławiecki", "0201", ""},
		{"Szczecin", "3262", ""},
		{"powiat 99", "1499", ""},
		{"voivodeship 00", "0022", ReasonInvalidCode},
		{"voivodeship 31", "3122", ReasonInvalidCode},
		{"voivodeship 34", "3401", ReasonInvalidCode},
		{"powiat 00", "3000", ReasonInvalidCode},
		{"empty", "", ReasonInvalidLength},
		{"gmina code", "3022053", ReasonInvalidLength},
		{"3 digits", "302", ReasonInvalidLength},
		{"letter", "30A2", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic("3022"), ReasonNotDigits},
	})
}

// --- postal code ---

func TestValidatePostalCode(t *testing.T) {
	runTable(t, ValidatePostalCode, []tcase{
		{"Warszawa", "00-950", ""},
		{"Rawicz", "63-900", ""},
		{"Jarocin", "63-200", ""},
		{"Myślenice", "32-400", ""},
		{"no dash", "63900", ReasonInvalidLength},
		{"space for dash", "63 900", ReasonInvalidCode},
		{"dash misplaced", "639-00", ReasonInvalidCode},
		{"en dash", "63\u2013900", ReasonInvalidCode},
		{"6 digits", "639000", ReasonInvalidCode},
		{"empty", "", ReasonInvalidLength},
		{"too long", "63-9000", ReasonInvalidLength},
		{"too short", "63-90", ReasonInvalidLength},
		{"padded", " 63-900", ReasonInvalidLength},
		{"letters", "AB-CDE", ReasonNotDigits},
		{"letter after dash", "63-90O", ReasonNotDigits},
		{"two dashes", "63--00", ReasonNotDigits},
		{"Arabic-Indic", arabicIndic("63") + "-" + arabicIndic("900"), ReasonNotDigits},
		{"fullwidth", fullwidth("63") + "-" + fullwidth("900"), ReasonNotDigits},
	})
}

// --- across validators ---

// TestMessagesNeverEchoValue feeds every validator invalid values that could plausibly be someone's data and
// checks the messages keep them out.
func TestMessagesNeverEchoValue(t *testing.T) {
	validators := map[string]func(string) error{
		"PESEL": ValidatePESEL, "NIP": ValidateNIP, "REGON": ValidateREGON, "KRS": ValidateKRS,
		"TERC": ValidateTERC, "Powiat": ValidatePowiat, "PostalCode": ValidatePostalCode,
	}
	inputs := []string{
		"", "000", "0000000000", "123", "44051401358", "4405140135", "440514013590", "44131401359",
		"44023101359", "8567346216", "1234567890", "123456786", "12345678512348", "3122053", "3022050",
		"30-22-053", "63-9000", "PL8567346215", "ul. Długa 5, 63-900 Rawicz", "Jan Kowalski",
		arabicIndic(examplePESEL),
	}
	for name, validate := range validators {
		for _, in := range inputs {
			err := validate(in)
			if err == nil {
				continue
			}
			checkErrorShape(t, in, err)
			if len(in) >= 3 && strings.Contains(err.Error(), in) {
				t.Errorf("%s(%q): message %q echoes the value", name, in, err)
			}
		}
	}
}

// TestRandomValid generates 10,000 valid identifiers of each kind with the CheckDigit helpers and validates
// them, comparing with the reference rules.
func TestRandomValid(t *testing.T) {
	const n = 10000
	rng := rand.New(rand.NewPCG(20240229, 44051401359))
	randDigits := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	two := func(v int) string { return string(rune('0'+v/10)) + string(rune('0'+v%10)) }
	monthOffset := map[int]int{1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}

	t.Run("PESEL", func(t *testing.T) {
		start := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
		days := int(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
		for range n {
			birth := start.AddDate(0, 0, rng.IntN(days))
			y, m, d := birth.Date()
			first10 := two(y%100) + two(int(m)+monthOffset[y/100*100]) + two(d) + randDigits(4)
			c, err := PESELCheckDigit(first10)
			if err != nil {
				t.Fatalf("PESELCheckDigit(%q): %v", first10, err)
			}
			s := first10 + string(c)
			if s != refPESEL(first10) {
				t.Fatalf("%q: check digit %q differs from the reference %q", first10, c, refPESEL(first10))
			}
			gotBirth, sex, err := ParsePESEL(s)
			if err != nil {
				t.Fatalf("ParsePESEL(%q): %v", s, err)
			}
			if !gotBirth.Equal(birth) {
				t.Fatalf("ParsePESEL(%q) birth %v, want %v", s, gotBirth, birth)
			}
			if wantSex := map[bool]Sex{true: SexFemale, false: SexMale}[(s[9]-'0')%2 == 0]; sex != wantSex {
				t.Fatalf("ParsePESEL(%q) sex %v, want %v", s, sex, wantSex)
			}
			if err := ValidatePESEL(s); err != nil {
				t.Fatalf("ValidatePESEL(%q): %v", s, err)
			}
			bad := s[:10] + string('0'+(c-'0'+1+byte(rng.IntN(9)))%10)
			checkResult(t, bad, ValidatePESEL(bad), ReasonBadCheckDigit)
		}
	})

	t.Run("NIP", func(t *testing.T) {
		valid, noCheck := 0, 0
		for valid < n {
			first9 := randDigits(9)
			c, err := NIPCheckDigit(first9)
			if refSum(first9, 6, 5, 7, 2, 3, 4, 5, 6, 7)%11 == 10 {
				noCheck++
				checkResult(t, first9, err, ReasonBadCheckDigit)
				for d := byte('0'); d <= '9'; d++ {
					checkResult(t, first9+string(d), ValidateNIP(first9+string(d)), ReasonBadCheckDigit)
				}
				continue
			}
			if err != nil {
				t.Fatalf("NIPCheckDigit(%q): %v", first9, err)
			}
			s := first9 + string(c)
			if s != refNIP(t, first9) {
				t.Fatalf("%q: check digit %q differs from the reference", first9, c)
			}
			if err := ValidateNIP(s); err != nil {
				t.Fatalf("ValidateNIP(%q): %v", s, err)
			}
			if err := ValidateNIP(NormalizeNIP("PL " + s[:3] + "-" + s[3:6] + "-" + s[6:8] + "-" + s[8:])); err != nil {
				t.Fatalf("ValidateNIP(NormalizeNIP(%q)): %v", s, err)
			}
			valid++
		}
		if noCheck == 0 {
			t.Error("no prefix without a check digit was generated; the mod-10 branch went untested")
		}
	})

	t.Run("REGON", func(t *testing.T) {
		for range n {
			first8 := randDigits(8)
			c9, err := REGONCheckDigit(first8)
			if err != nil {
				t.Fatalf("REGONCheckDigit(%q): %v", first8, err)
			}
			r9 := first8 + string(c9)
			if r9 != refREGON9(first8) {
				t.Fatalf("%q: check digit %q differs from the reference", first8, c9)
			}
			if err := ValidateREGON(r9); err != nil {
				t.Fatalf("ValidateREGON(%q): %v", r9, err)
			}
			first13 := r9 + randDigits(4)
			c14, err := REGONCheckDigit(first13)
			if err != nil {
				t.Fatalf("REGONCheckDigit(%q): %v", first13, err)
			}
			r14 := first13 + string(c14)
			if r14 != refREGON14(first13) {
				t.Fatalf("%q: check digit %q differs from the reference", first13, c14)
			}
			if err := ValidateREGON(r14); err != nil {
				t.Fatalf("ValidateREGON(%q): %v", r14, err)
			}
		}
	})
}

// --- fuzzing ---

// fuzzCheck is the property all fuzz targets share: no panic (implicit), an error is a well-formed *Error
// that does not echo the value, and nil only for ASCII digits of an allowed length.
func fuzzCheck(t *testing.T, s string, err error, lengths ...int) {
	t.Helper()
	if err != nil {
		checkErrorShape(t, s, err)
		return
	}
	if !allDigits(s) {
		t.Fatalf("%q accepted but is not all ASCII digits", s)
	}
	for _, n := range lengths {
		if len(s) == n {
			return
		}
	}
	t.Fatalf("%q accepted with length %d, want one of %v", s, len(s), lengths)
}

func FuzzValidatePESEL(f *testing.F) {
	for _, s := range []string{examplePESEL, "44051401358", refPESEL("0022290000"), refPESEL("0002290000"),
		"00000000000", "4413140135", "", arabicIndic(examplePESEL), refPESEL("9972310000")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidatePESEL(s)
		fuzzCheck(t, s, err, 11)
		birth, sex, perr := ParsePESEL(s)
		if (err == nil) != (perr == nil) {
			t.Fatalf("%q: ValidatePESEL %v but ParsePESEL %v", s, err, perr)
		}
		if err != nil {
			if !birth.IsZero() || sex != 0 {
				t.Fatalf("%q: ParsePESEL returned %v, %v with an error", s, birth, sex)
			}
			return
		}
		if c, cerr := PESELCheckDigit(s[:10]); cerr != nil || c != s[10] {
			t.Fatalf("%q accepted but PESELCheckDigit says %q, %v", s, c, cerr)
		}
		if s != refPESEL(s[:10]) {
			t.Fatalf("%q accepted but the reference check digit differs", s)
		}
		// The date must round-trip to the YYMMDD digits.
		y, m, d := birth.Date()
		off := map[int]int{1800: 80, 1900: 0, 2000: 20, 2100: 40, 2200: 60}[y/100*100]
		if y < 1800 || y > 2299 || (y%100) != num(s[0:2]) || int(m)+off != num(s[2:4]) || d != num(s[4:6]) {
			t.Fatalf("%q: birth %v does not match its digits", s, birth)
		}
		if (sex == SexFemale) != ((s[9]-'0')%2 == 0) || (sex != SexFemale && sex != SexMale) {
			t.Fatalf("%q: sex %v does not match the tenth digit", s, sex)
		}
	})
}

func FuzzNIP(f *testing.F) {
	for _, s := range []string{exampleNIP, "8567346216", "856-734-62-15", "PL8567346215", nipNoCheck + "0",
		"", arabicIndic(exampleNIP), "pl 856\u00a0734\u201362 15"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateNIP(s)
		fuzzCheck(t, s, err, 10)
		if err == nil {
			if c, cerr := NIPCheckDigit(s[:9]); cerr != nil || c != s[9] {
				t.Fatalf("%q accepted but NIPCheckDigit says %q, %v", s, c, cerr)
			}
			if NormalizeNIP(s) != s {
				t.Fatalf("%q accepted but NormalizeNIP changes it", s)
			}
		}
		n := NormalizeNIP(s)
		if NormalizeNIP(n) != n && !strings.HasPrefix(strings.ToUpper(n), "PL") {
			t.Fatalf("NormalizeNIP not idempotent on %q: %q -> %q", s, n, NormalizeNIP(n))
		}
		if !utf8.ValidString(n) {
			t.Fatalf("NormalizeNIP(%q) = %q is not valid UTF-8", s, n)
		}
		fuzzCheck(t, n, ValidateNIP(n), 10)
	})
}

func FuzzREGON(f *testing.F) {
	for _, s := range []string{exampleREGON9, exampleREGON14, "123456786", "12345678512348",
		refREGON14("1234567861234"), "", "12345678", arabicIndic(exampleREGON9)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateREGON(s)
		fuzzCheck(t, s, err, 9, 14)
		if err != nil {
			return
		}
		if c, cerr := REGONCheckDigit(s[:len(s)-1]); cerr != nil || c != s[len(s)-1] {
			t.Fatalf("%q accepted but REGONCheckDigit says %q, %v", s, c, cerr)
		}
		if len(s) == 14 {
			if perr := ValidateREGON(s[:9]); perr != nil {
				t.Fatalf("%q accepted but its first 9 digits are not: %v", s, perr)
			}
			if s != refREGON14(s[:13]) {
				t.Fatalf("%q accepted but the reference check digit differs", s)
			}
		} else if s != refREGON9(s[:8]) {
			t.Fatalf("%q accepted but the reference check digit differs", s)
		}
	})
}

func FuzzTERC(f *testing.F) {
	for _, s := range []string{"3022053", "3006023", "2472011", "1209033", "3122053", "3022056", "3022",
		"", arabicIndic("3022053")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateTERC(s)
		fuzzCheck(t, s, err, 7)
		perr := ValidatePowiat(s)
		fuzzCheck(t, s, perr, 4)
		if err == nil {
			if perr := ValidatePowiat(s[:4]); perr != nil {
				t.Fatalf("%q accepted but its powiat part is not: %v", s, perr)
			}
			if s[6] < '1' || s[6] > '5' || s[4:6] == "00" {
				t.Fatalf("%q accepted with a bad gmina part", s)
			}
		}
		if perr == nil {
			if ww := num(s[:2]); ww < 2 || ww > 32 || ww%2 != 0 || s[2:4] == "00" {
				t.Fatalf("%q accepted as a powiat code", s)
			}
		}
	})
}
