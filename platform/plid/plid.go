// Package plid validates Polish identifiers, checking their check digits where they have them.
//
// It covers:
//
//   - PESEL (Powszechny Elektroniczny System Ewidencji Ludności): the 11-digit personal number, with the
//     birth date and sex it encodes;
//   - NIP (Numer Identyfikacji Podatkowej): the 10-digit tax identification number;
//   - REGON (Rejestr Gospodarki Narodowej): the 9-digit statistical number of an entity and the 14-digit
//     number of its local unit (jednostka lokalna);
//   - KRS (Krajowy Rejestr Sądowy): the 10-digit National Court Register number;
//   - TERYT TERC codes (Krajowy Rejestr Urzędowy Podziału Terytorialnego Kraju): 7-digit codes of a gmina
//     and 4-digit codes of a powiat;
//   - the Polish postal code (kod pocztowy), NN-NNN.
//
// Validators take the canonical form: ASCII digits 0-9 only, no spaces or separators (except the dash of a
// postal code). Anything else, Unicode digits of other scripts included, is rejected. NormalizeNIP turns the
// usual human spellings of a NIP into the canonical form.
//
// Every failure is an *Error with a stable UPPER_SNAKE Reason and a short English Message. Messages never
// contain the checked value, which may be personal data: they can be logged and returned to clients. The
// Reason and Message fit apierr.FieldViolation's Reason and Description.
//
// The CheckDigit helpers compute the check digit that completes a valid identifier, for tests and demo
// data. Demo data and tests must never use a real person's PESEL: generate one with PESELCheckDigit, or use
// the documentation example 44051401359.
package plid

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// The reasons of an *Error, one per class of failure.
const (
	// ReasonInvalidLength: the value has the wrong number of characters.
	ReasonInvalidLength = "INVALID_LENGTH"
	// ReasonNotDigits: the value has a character other than an ASCII digit 0-9 where a digit is expected.
	ReasonNotDigits = "NOT_DIGITS"
	// ReasonBadCheckDigit: the check digit does not match the other digits, or no check digit can.
	ReasonBadCheckDigit = "BAD_CHECK_DIGIT"
	// ReasonInvalidDate: a date encoded in the value (a PESEL's date of birth) is not a calendar date.
	ReasonInvalidDate = "INVALID_DATE"
	// ReasonInvalidCode: a part of the value is out of its range (a TERYT voivodeship code, an all-zero KRS
	// number, a postal code without its dash, ...).
	ReasonInvalidCode = "INVALID_CODE"
)

// Error is a validation failure. It never contains the validated value.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	// Message is short English naming the problem, e.g. "must be 11 digits".
	Message string

	// format and args made Message, kept for its translation (platform/i18n).
	format string
	args   []any
}

func (e *Error) Error() string { return e.Message }

// MessageFormat is the English format of Message and its arguments (i18n.Formatted).
func (e *Error) MessageFormat() (string, []any) {
	if e.format == "" {
		return e.Message, nil
	}
	return e.format, e.args
}

// Is makes errors.Is match any *Error with the same Reason, e.g.
// errors.Is(err, &plid.Error{Reason: plid.ReasonBadCheckDigit}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

func fail(reason, msg string) *Error { return &Error{Reason: reason, Message: msg} }

func failf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...), format: format, args: args}
}

// needDigits checks that s is exactly n ASCII digits. The length is counted in characters, so a value of the
// right length in another script's digits is reported as NOT_DIGITS rather than as a wrong length.
func needDigits(s string, n int) *Error {
	if utf8.RuneCountInString(s) != n {
		return failf(ReasonInvalidLength, "must be %d digits", n)
	}
	if !allDigits(s) {
		return fail(ReasonNotDigits, "must contain only digits 0-9")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// weighted returns the sum of the digits of s multiplied by weights; len(s) must be len(weights).
func weighted(s string, weights []int) int {
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return sum
}

// num returns the number written by the ASCII digits s.
func num(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func checkDigitMismatch() *Error { return fail(ReasonBadCheckDigit, "check digit does not match") }

// --- PESEL ---

var peselWeights = []int{1, 3, 7, 9, 1, 3, 7, 9, 1, 3}

// Sex is the sex encoded in a PESEL. The values are those of ISO/IEC 5218; the zero value means unknown and
// is what ParsePESEL returns with an error.
type Sex int

// The sexes a PESEL encodes: an even tenth digit is female, an odd one male.
const (
	SexMale   Sex = 1
	SexFemale Sex = 2
)

func (s Sex) String() string {
	switch s {
	case SexMale:
		return "male"
	case SexFemale:
		return "female"
	}
	return "unknown"
}

// ValidatePESEL checks a PESEL (numer PESEL): 11 digits YYMMDDZZZXQ whose YYMMDD is a real calendar date
// (the month carries the century: +80 for the 1800s, +0 for the 1900s, +20 for the 2000s, +40 for the 2100s,
// +60 for the 2200s) and whose last digit Q is the check digit. It does not compare the date with today.
func ValidatePESEL(s string) error {
	if _, _, err := parsePESEL(s); err != nil {
		return err
	}
	return nil
}

// ParsePESEL validates a PESEL like ValidatePESEL and returns the date of birth it encodes (midnight UTC)
// and the sex. On error it returns the zero time and the zero Sex.
func ParsePESEL(s string) (birth time.Time, sex Sex, err error) {
	birth, sex, e := parsePESEL(s)
	if e != nil {
		return time.Time{}, 0, e
	}
	return birth, sex, nil
}

func parsePESEL(s string) (time.Time, Sex, *Error) {
	if e := needDigits(s, 11); e != nil {
		return time.Time{}, 0, e
	}
	birth, e := peselDate(s)
	if e != nil {
		return time.Time{}, 0, e
	}
	if peselCheck(s[:10]) != s[10] {
		return time.Time{}, 0, checkDigitMismatch()
	}
	sex := SexMale
	if (s[9]-'0')%2 == 0 {
		sex = SexFemale
	}
	return birth, sex, nil
}

// peselDate decodes YYMMDD of the ASCII digits s (at least 6).
func peselDate(s string) (time.Time, *Error) {
	yy, mm, dd := num(s[0:2]), num(s[2:4]), num(s[4:6])
	var century int
	switch {
	case mm >= 81 && mm <= 92:
		century = 1800
	case mm >= 1 && mm <= 12:
		century = 1900
	case mm >= 21 && mm <= 32:
		century = 2000
	case mm >= 41 && mm <= 52:
		century = 2100
	case mm >= 61 && mm <= 72:
		century = 2200
	default:
		return time.Time{}, failf(ReasonInvalidDate, "month %s is not a valid PESEL month", s[2:4])
	}
	year, month := century+yy, mm%20
	if dd < 1 || dd > daysIn(year, month) {
		return time.Time{}, fail(ReasonInvalidDate, "day is not valid for the month of birth")
	}
	return time.Date(year, time.Month(month), dd, 0, 0, 0, 0, time.UTC), nil
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func peselCheck(first10 string) byte {
	return byte((10-weighted(first10, peselWeights)%10)%10) + '0'
}

// PESELCheckDigit returns the check digit, as an ASCII character '0'-'9', that makes first10 followed by it
// a valid PESEL. It fails if first10 is not 10 digits or does not encode a valid date of birth.
func PESELCheckDigit(first10 string) (byte, error) {
	if e := needDigits(first10, 10); e != nil {
		return 0, e
	}
	if _, e := peselDate(first10); e != nil {
		return 0, e
	}
	return peselCheck(first10), nil
}

// --- NIP ---

var nipWeights = []int{6, 5, 7, 2, 3, 4, 5, 6, 7}

// ValidateNIP checks a NIP (Numer Identyfikacji Podatkowej) in canonical form: 10 digits, the last being the
// weighted sum of the first nine mod 11. Digits whose sum mod 11 is 10 have no valid check digit. Human
// spellings such as "856-734-62-15" or "PL8567346215" must go through NormalizeNIP first.
func ValidateNIP(s string) error {
	if e := needDigits(s, 10); e != nil {
		return e
	}
	c, e := nipCheck(s[:9])
	if e != nil {
		return e
	}
	if c != s[9] {
		return checkDigitMismatch()
	}
	return nil
}

func nipCheck(first9 string) (byte, *Error) {
	c := weighted(first9, nipWeights) % 11
	if c == 10 {
		return 0, fail(ReasonBadCheckDigit, "no check digit is valid for these digits")
	}
	return byte(c) + '0', nil
}

// NormalizeNIP removes white space (any Unicode space, e.g. a no-break space), dashes (any Unicode dash, e.g.
// an en dash a word processor put in) and then a leading "PL" in any letter case, the EU VAT prefix, from s.
// It does not validate: anything else stays for ValidateNIP to reject, except that bytes of invalid UTF-8
// become U+FFFD.
func NormalizeNIP(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s { // an invalid byte comes as U+FFFD, so removals cannot join bytes into a new rune
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Pd, r) {
			b = utf8.AppendRune(b, r)
		}
	}
	if len(b) >= 2 && (b[0] == 'P' || b[0] == 'p') && (b[1] == 'L' || b[1] == 'l') {
		b = b[2:]
	}
	return string(b)
}

// NIPCheckDigit returns the check digit, as an ASCII character '0'-'9', that makes first9 followed by it a
// valid NIP. It fails if first9 is not 9 digits or if its weighted sum mod 11 is 10 (no NIP starts so).
func NIPCheckDigit(first9 string) (byte, error) {
	if e := needDigits(first9, 9); e != nil {
		return 0, e
	}
	c, e := nipCheck(first9)
	if e != nil {
		return 0, e
	}
	return c, nil
}

// --- REGON ---

var (
	regon9Weights  = []int{8, 9, 2, 3, 4, 5, 6, 7}
	regon14Weights = []int{2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8}
)

// ValidateREGON checks a REGON (numer REGON): either 9 digits (an entity) or 14 digits (a local unit, whose
// first 9 digits are the entity's REGON and must be valid themselves). The check digit is the weighted sum
// of the other digits mod 11 mod 10.
func ValidateREGON(s string) error {
	n := utf8.RuneCountInString(s)
	if n != 9 && n != 14 {
		return fail(ReasonInvalidLength, "must be 9 or 14 digits")
	}
	if !allDigits(s) {
		return fail(ReasonNotDigits, "must contain only digits 0-9")
	}
	if regonCheck(s[:8], regon9Weights) != s[8] {
		if n == 14 {
			return fail(ReasonBadCheckDigit, "check digit of the first 9 digits does not match")
		}
		return checkDigitMismatch()
	}
	if n == 14 && regonCheck(s[:13], regon14Weights) != s[13] {
		return checkDigitMismatch()
	}
	return nil
}

func regonCheck(s string, weights []int) byte {
	return byte(weighted(s, weights)%11%10) + '0'
}

// REGONCheckDigit returns the check digit, as an ASCII character '0'-'9', that completes a valid REGON:
// digits are the first 8 digits of a 9-digit REGON or the first 13 of a 14-digit one. For 13 digits it fails
// unless the first 9 are a valid 9-digit REGON, since no check digit could then make a valid number.
func REGONCheckDigit(digits string) (byte, error) {
	n := utf8.RuneCountInString(digits)
	if n != 8 && n != 13 {
		return 0, fail(ReasonInvalidLength, "must be 8 or 13 digits")
	}
	if !allDigits(digits) {
		return 0, fail(ReasonNotDigits, "must contain only digits 0-9")
	}
	if n == 8 {
		return regonCheck(digits, regon9Weights), nil
	}
	if regonCheck(digits[:8], regon9Weights) != digits[8] {
		return 0, fail(ReasonBadCheckDigit, "check digit of the first 9 digits does not match")
	}
	return regonCheck(digits, regon14Weights), nil
}

// --- KRS ---

// ValidateKRS checks a KRS number (numer KRS): 10 digits, zero-padded on the left, not all zeros. It has no
// check digit.
func ValidateKRS(s string) error {
	if e := needDigits(s, 10); e != nil {
		return e
	}
	if s == "0000000000" {
		return fail(ReasonInvalidCode, "must not be all zeros")
	}
	return nil
}

// --- TERYT ---

// ValidateTERC checks the TERYT TERC code of a gmina (kod gminy): 7 digits WWPPGGR, where WW is the
// voivodeship (województwo), an even number from 02 to 32; PP the powiat, 01 to 99 (61 to 99 are cities with
// powiat rights, miasta na prawach powiatu); GG the gmina, 01 to 99; and R the type of gmina: 1 urban (gmina
// miejska), 2 rural (gmina wiejska), 3 urban-rural (gmina miejsko-wiejska), 4 the town of an urban-rural gmina
// (miasto w gminie miejsko-wiejskiej), 5 its rural area (obszar wiejski). Examples: 3022053 (Rawicz), 2472011
// (Ruda Śląska). It checks the structure, not that the unit exists.
func ValidateTERC(s string) error {
	if e := needDigits(s, 7); e != nil {
		return e
	}
	if e := powiatParts(s); e != nil {
		return e
	}
	if num(s[4:6]) == 0 {
		return fail(ReasonInvalidCode, "gmina number must be from 01 to 99")
	}
	if r := s[6]; r < '1' || r > '5' {
		return fail(ReasonInvalidCode, "gmina type digit must be from 1 to 5")
	}
	return nil
}

// ValidatePowiat checks the TERYT TERC code of a powiat (kod powiatu): 4 digits WWPP, with WW and PP as for
// ValidateTERC. Example: 3022 (powiat rawicki).
func ValidatePowiat(s string) error {
	if e := needDigits(s, 4); e != nil {
		return e
	}
	if e := powiatParts(s); e != nil {
		return e
	}
	return nil
}

// powiatParts checks WWPP at the start of the ASCII digits s.
func powiatParts(s string) *Error {
	if ww := num(s[0:2]); ww < 2 || ww > 32 || ww%2 != 0 {
		return fail(ReasonInvalidCode, "voivodeship code must be an even number from 02 to 32")
	}
	if num(s[2:4]) == 0 {
		return fail(ReasonInvalidCode, "powiat code must be from 01 to 99")
	}
	return nil
}

// --- postal code ---

// ValidatePostalCode checks a Polish postal code (kod pocztowy): NN-NNN, two ASCII digits, a dash and three
// ASCII digits. It checks the form, not that the code is assigned.
func ValidatePostalCode(s string) error {
	if utf8.RuneCountInString(s) != 6 {
		return fail(ReasonInvalidLength, "must be 6 characters in the form NN-NNN")
	}
	r := []rune(s)
	if r[2] != '-' {
		return fail(ReasonInvalidCode, "must have the form NN-NNN")
	}
	for i, c := range r {
		if i != 2 && (c < '0' || c > '9') {
			return fail(ReasonNotDigits, "must contain only digits 0-9 around the dash")
		}
	}
	return nil
}
