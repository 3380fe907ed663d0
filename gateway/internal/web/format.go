package web

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Words for residents. The names of areas and target groups come from the catalogue (ListAreas,
// ListTargetGroups); these are the page's own words.

var weekdayNames = map[cataloguev1.Weekday]string{
	cataloguev1.Weekday_WEEKDAY_MONDAY: "poniedziałek", cataloguev1.Weekday_WEEKDAY_TUESDAY: "wtorek",
	cataloguev1.Weekday_WEEKDAY_WEDNESDAY: "środa", cataloguev1.Weekday_WEEKDAY_THURSDAY: "czwartek",
	cataloguev1.Weekday_WEEKDAY_FRIDAY: "piątek", cataloguev1.Weekday_WEEKDAY_SATURDAY: "sobota",
	cataloguev1.Weekday_WEEKDAY_SUNDAY: "niedziela",
}

// schema.org day names of the weekdays.
var weekdaySchema = map[cataloguev1.Weekday]string{
	cataloguev1.Weekday_WEEKDAY_MONDAY: "Monday", cataloguev1.Weekday_WEEKDAY_TUESDAY: "Tuesday",
	cataloguev1.Weekday_WEEKDAY_WEDNESDAY: "Wednesday", cataloguev1.Weekday_WEEKDAY_THURSDAY: "Thursday",
	cataloguev1.Weekday_WEEKDAY_FRIDAY: "Friday", cataloguev1.Weekday_WEEKDAY_SATURDAY: "Saturday",
	cataloguev1.Weekday_WEEKDAY_SUNDAY: "Sunday",
}

// "za godzinę", "za miesiąc": what the price is per.
var unitPer = map[cataloguev1.FeeUnit]string{
	cataloguev1.FeeUnit_FEE_UNIT_HOUR: "za godzinę", cataloguev1.FeeUnit_FEE_UNIT_VISIT: "za wizytę",
	cataloguev1.FeeUnit_FEE_UNIT_DAY: "za dzień", cataloguev1.FeeUnit_FEE_UNIT_MONTH: "za miesiąc",
	cataloguev1.FeeUnit_FEE_UNIT_MEAL: "za posiłek", cataloguev1.FeeUnit_FEE_UNIT_COURSE: "za cały kurs lub turnus",
}

var statusNames = map[cataloguev1.ServiceStatus]string{
	cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE:           "Usługa jest chwilowo nieoferowana.",
	cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT:            "Usługa nie jest już oferowana.",
	cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED: "Usługa jest czasowo zamknięta (np. urlop, remont).",
}

var languageNames = map[string]string{
	"pl": "polski", "uk": "ukraiński", "en": "angielski", "de": "niemiecki", "ru": "rosyjski", "be": "białoruski",
	"cs": "czeski", "sk": "słowacki", "lt": "litewski", "fr": "francuski", "es": "hiszpański", "it": "włoski",
}

// zl formats grosze as Polish money: "1 234,50 zł", "25 zł".
func zl(grosze int64) string {
	neg := grosze < 0
	if neg {
		grosze = -grosze
	}
	whole := strconv.FormatInt(grosze/100, 10)
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(r)
	}
	if g := grosze % 100; g != 0 {
		fmt.Fprintf(&b, ",%02d", g)
	}
	b.WriteString("\u00a0zł")
	return b.String()
}

// plural picks the Polish form for n: one ("usługa"), few ("usługi": 2-4, 22-24, ...), many ("usług").
func plural(n int, one, few, many string) string {
	switch {
	case n == 1:
		return one
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
		return few
	}
	return many
}

// capitalize upper-cases the first letter ("wspieranie rodziny" -> "Wspieranie rodziny").
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// excerpt shortens text to about n characters at a word boundary, with runs of white space made one space.
// It reads only as much of s as it shows: descriptions may be 10,000 characters long.
func excerpt(s string, n int) string {
	var b strings.Builder
	b.Grow(min(len(s), 3*n))
	count, space, cut := 0, false, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if count >= n {
			cut = true
			break
		}
		if space {
			b.WriteByte(' ')
			count++
			space = false
		}
		b.WriteRune(r)
		count++
	}
	out := b.String()
	if !cut {
		return out
	}
	if i := strings.LastIndexByte(out, ' '); i > len(out)/2 {
		out = out[:i]
	}
	return strings.TrimRight(out, " ,.;:") + "…"
}

// paragraphs splits text on blank lines (or single line breaks) into paragraphs.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// addressLines renders a postal address as lines.
func addressLines(a *typev1.Address) []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, l := range []string{a.GetAddress_1(), a.GetAddress_2()} {
		if l != "" {
			out = append(out, l)
		}
	}
	if town := strings.TrimSpace(a.GetPostalCode() + " " + a.GetCity()); town != "" {
		out = append(out, town)
	}
	return out
}

// distance renders metres for a resident: "350 m", "2,4 km".
func distance(m int32) string {
	if m < 1000 {
		return fmt.Sprintf("%d m", (m+5)/10*10)
	}
	return strings.Replace(fmt.Sprintf("%.1f km", float64(m)/1000), ".", ",", 1)
}

// ageRange says who may use a service by age, or "" when there is no bound.
func ageRange(s *cataloguev1.Service) string {
	switch {
	case s.MinimumAge != nil && s.MaximumAge != nil:
		return fmt.Sprintf("od %d do %d lat", s.GetMinimumAge(), s.GetMaximumAge())
	case s.MinimumAge != nil:
		return fmt.Sprintf("od %d lat", s.GetMinimumAge())
	case s.MaximumAge != nil:
		return fmt.Sprintf("do %d lat", s.GetMaximumAge())
	}
	return ""
}

// serviceID is the last segment of a service's name.
func serviceID(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// fold lower-cases and strips Polish diacritics, so "Rawicz", "rawicz" and "RAWICZ" (or "Łódź" and "lodz") are
// one town.
var folder = strings.NewReplacer("ą", "a", "ć", "c", "ę", "e", "ł", "l", "ń", "n", "ó", "o", "ś", "s", "ź", "z", "ż", "z")

func fold(s string) string {
	return folder.Replace(strings.ToLower(strings.Join(strings.Fields(s), " ")))
}
