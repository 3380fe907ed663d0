package domain

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Limits of ImportServices: the gRPC message limit (4 MiB) bounds the file; the rows are bounded so that one
// report stays a reasonable response.
const (
	MaxImportBytes = 4 << 20
	MaxImportRows  = 20000
)

// importNamespace seeds the ids derived for the places (placówki) of imported services, so a second run of a
// file describes the same places.
var importNamespace = uuid.MustParse("4d0b6c1a-9f3e-5a27-b8c4-2e6f1d0a7b93")

// ImportKey is the key by which an import row names its service when it has no id: kind is "key" (the Klucz
// zewnętrzny column), "name" (a row with neither id nor key; the folded name) or "hsds" (an HSDS id). The
// catalogue keeps which service each key created, so a second run of a file finds it.
func ImportKey(kind, key string) string { return kind + "/" + key }

// ImportItem is one row of an imported file, parsed: which service it names and what it makes of it.
type ImportItem struct {
	// Row is the spreadsheet row (header = 1) or, for HSDS JSON, the position in the list from 1.
	Row int
	// SourceID is the HSDS id, for HSDS JSON.
	SourceID string
	// ID is the id of the service the row names: from its Identyfikator, else the service its Key created
	// (resolved by the store), else a new one; "" in a dry run's new rows.
	ID string
	// Key names the service when the row has no Identyfikator (ImportKey).
	Key string
	// DisplayName is the service's name as the row gives it.
	DisplayName string
	// Violations are the problems found reading the row; a row with any is INVALID.
	Violations []*cataloguev1.ImportServiceViolation
	// apply makes the service the row describes from the stored one (nil for a new service).
	apply func(cur *cataloguev1.Service) *cataloguev1.Service
	// column maps a field path of ValidateService to the column (or HSDS field) it comes from.
	column func(field string) string
}

func (it *ImportItem) violate(column, format string, args ...any) {
	for _, v := range it.Violations {
		if v.Column == column && column != "" {
			return // one problem per column is enough to fix it
		}
	}
	it.Violations = append(it.Violations, &cataloguev1.ImportServiceViolation{Column: column, Description: fmt.Sprintf(format, args...)})
}

// ImportPlan is what a row does to the catalogue.
type ImportPlan struct {
	Outcome cataloguev1.ImportOutcome
	// Next is the service to store for CREATED and UPDATED.
	Next *cataloguev1.Service
	// Violations say why the row is INVALID.
	Violations []*cataloguev1.ImportServiceViolation
}

// PlanImportRow decides what an item does given the stored service cur (nil when there is none): INVALID with
// the item's violations, CREATED, UPDATED or UNCHANGED. terc is this instance's code (entries of other origins
// are read-only); normalise fills the defaults every stored service has, as CreateService does. The item is
// not changed, so a plan can be made again (a retried transaction).
func PlanImportRow(it *ImportItem, cur *cataloguev1.Service, terc string, normalise func(*cataloguev1.Service)) ImportPlan {
	rep := &ImportItem{Violations: append([]*cataloguev1.ImportServiceViolation(nil), it.Violations...)}
	invalid := func() ImportPlan {
		return ImportPlan{Outcome: cataloguev1.ImportOutcome_IMPORT_OUTCOME_INVALID, Violations: rep.Violations}
	}
	if it.apply == nil { // the row could not be read at all
		return invalid()
	}
	if cur != nil && cur.GetOriginTerc() != terc {
		rep.violate("", "names %s, an entry federated from another instance (%s), which is read-only here", cur.GetName(), cur.GetOriginTerc())
		return invalid()
	}
	var base *cataloguev1.Service
	if cur != nil {
		base = proto.Clone(cur).(*cataloguev1.Service)
	}
	next := it.apply(base)
	ClearOutputOnly(next)
	if cur != nil {
		next.ProviderDisplayNames = cur.GetProviderDisplayNames()
	}
	normalise(next)
	var v apierr.Violations
	ValidateService(next, "", &v)
	for _, fv := range v.List() {
		rep.violate(it.column(fv.Field), "%s", fv.Description)
	}
	if len(rep.Violations) > 0 {
		return invalid()
	}
	if cur == nil {
		return ImportPlan{Outcome: cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED, Next: next}
	}
	if sameContent(cur, next) {
		return ImportPlan{Outcome: cataloguev1.ImportOutcome_IMPORT_OUTCOME_UNCHANGED}
	}
	return ImportPlan{Outcome: cataloguev1.ImportOutcome_IMPORT_OUTCOME_UPDATED, Next: next}
}

// sameContent compares two services without the fields the server sets on every write.
func sameContent(a, b *cataloguev1.Service) bool {
	a, b = proto.Clone(a).(*cataloguev1.Service), proto.Clone(b).(*cataloguev1.Service)
	for _, s := range []*cataloguev1.Service{a, b} {
		s.Name, s.Etag, s.CreateTime, s.UpdateTime = "", "", nil, nil
	}
	return proto.Equal(a, b)
}

// CheckDuplicates marks as invalid every item naming the same service as an earlier item, so a file cannot say
// two things about one service.
func CheckDuplicates(items []*ImportItem) {
	first := make(map[string]int, len(items))
	for _, it := range items {
		k := it.ID
		if k == "" {
			k = it.Key
		}
		if k == "" {
			continue
		}
		if row, ok := first[k]; ok {
			it.violate("", "names the same service as row %d; a file may describe a service once", row)
			continue
		}
		first[k] = it.Row
	}
}

// Column is a column of the services sheet, by its folded header (sheet.Fold).
type Column string

// The columns of the services sheet (ExportServices writes them, ImportServices reads them; docs/api.md).
const (
	ColID             Column = "identyfikator"
	ColExternalKey    Column = "klucz_zewnetrzny"
	ColName           Column = "nazwa_uslugi"
	ColAlternateName  Column = "nazwa_alternatywna"
	ColDescription    Column = "opis"
	ColStatus         Column = "status"
	ColAreas          Column = "obszar"
	ColTargetGroups   Column = "grupy_docelowe"
	ColDecision       Column = "wymaga_decyzji"
	ColProviders      Column = "realizatorzy"
	ColTERC           Column = "gmina_terc"
	ColPlace          Column = "placowka"
	ColAddress        Column = "adres"
	ColPostalCode     Column = "kod_pocztowy"
	ColCity           Column = "miejscowosc"
	ColHours          Column = "godziny_otwarcia"
	ColWheelchair     Column = "dostepnosc_dla_wozkow"
	ColPhone          Column = "telefon"
	ColEmail          Column = "e_mail"
	ColURL            Column = "strona_www"
	ColApplication    Column = "sposob_zgloszenia"
	ColEligibility    Column = "kryteria_dostepu"
	ColMinAge         Column = "wiek_od"
	ColMaxAge         Column = "wiek_do"
	ColPrice          Column = "odplatnosc_zl"
	ColFeeUnit        Column = "jednostka_odplatnosci"
	ColFeeDescription Column = "zasady_odplatnosci"
	ColLanguages      Column = "jezyki"
	ColUpdated        Column = "ostatnia_zmiana"
)

// ServiceColumns are the columns of the services sheet in order, with their Polish headers.
var ServiceColumns = []struct {
	Col Column
	sheet.Column
}{
	{ColID, sheet.Column{Header: "Identyfikator", Width: 38}},
	{ColExternalKey, sheet.Column{Header: "Klucz zewnętrzny", Width: 18}},
	{ColName, sheet.Column{Header: "Nazwa usługi", Width: 40}},
	{ColAlternateName, sheet.Column{Header: "Nazwa alternatywna", Width: 24}},
	{ColDescription, sheet.Column{Header: "Opis", Width: 60}},
	{ColStatus, sheet.Column{Header: "Status"}},
	{ColAreas, sheet.Column{Header: "Obszar", Width: 30}},
	{ColTargetGroups, sheet.Column{Header: "Grupy docelowe", Width: 30}},
	{ColDecision, sheet.Column{Header: "Wymaga decyzji"}},
	{ColProviders, sheet.Column{Header: "Realizatorzy", Width: 30}},
	{ColTERC, sheet.Column{Header: "Gmina (TERC)"}},
	{ColPlace, sheet.Column{Header: "Placówka", Width: 30}},
	{ColAddress, sheet.Column{Header: "Adres", Width: 26}},
	{ColPostalCode, sheet.Column{Header: "Kod pocztowy"}},
	{ColCity, sheet.Column{Header: "Miejscowość", Width: 16}},
	{ColHours, sheet.Column{Header: "Godziny otwarcia", Width: 30}},
	{ColWheelchair, sheet.Column{Header: "Dostępność dla wózków"}},
	{ColPhone, sheet.Column{Header: "Telefon", Width: 18}},
	{ColEmail, sheet.Column{Header: "E-mail", Width: 26}},
	{ColURL, sheet.Column{Header: "Strona www", Width: 30}},
	{ColApplication, sheet.Column{Header: "Sposób zgłoszenia", Width: 30}},
	{ColEligibility, sheet.Column{Header: "Kryteria dostępu", Width: 30}},
	{ColMinAge, sheet.Column{Header: "Wiek od", Kind: sheet.Int}},
	{ColMaxAge, sheet.Column{Header: "Wiek do", Kind: sheet.Int}},
	{ColPrice, sheet.Column{Header: "Odpłatność (zł)", Kind: sheet.Money}},
	{ColFeeUnit, sheet.Column{Header: "Jednostka odpłatności"}},
	{ColFeeDescription, sheet.Column{Header: "Zasady odpłatności", Width: 30}},
	{ColLanguages, sheet.Column{Header: "Języki"}},
	{ColUpdated, sheet.Column{Header: "Ostatnia zmiana", Kind: sheet.Date}},
}

// SheetColumns are the sheet.Columns of the services sheet.
func SheetColumns() []sheet.Column {
	out := make([]sheet.Column, len(ServiceColumns))
	for i, c := range ServiceColumns {
		out[i] = c.Column
	}
	return out
}

// columnAliases maps folded headers to columns: the Polish headers and the API's field names.
var columnAliases = func() map[string]Column {
	m := map[string]Column{}
	for _, c := range ServiceColumns {
		m[string(c.Col)] = c.Col
		m[sheet.Fold(c.Header)] = c.Col
	}
	for alias, c := range map[string]Column{
		"id": ColID, "name": ColID, "uuid": ColID, "external_id": ColExternalKey, "klucz": ColExternalKey,
		"display_name": ColName, "nazwa": ColName, "alternate_name": ColAlternateName, "description": ColDescription,
		"obszary": ColAreas, "areas": ColAreas, "grupa_docelowa": ColTargetGroups, "target_groups": ColTargetGroups,
		"requires_decision": ColDecision, "decyzja": ColDecision, "teryt_code": ColTERC, "terc": ColTERC, "gmina": ColTERC,
		"kod_teryt": ColTERC, "miejsce": ColPlace, "address": ColAddress, "ulica": ColAddress, "postal_code": ColPostalCode,
		"kod": ColPostalCode, "city": ColCity, "miasto": ColCity, "opening_hours": ColHours, "godziny": ColHours,
		"wheelchair_accessible": ColWheelchair, "tel": ColPhone, "phone": ColPhone, "email": ColEmail, "www": ColURL,
		"url": ColURL, "strona": ColURL, "application_process": ColApplication, "eligibility_description": ColEligibility,
		"minimum_age": ColMinAge, "maximum_age": ColMaxAge, "odplatnosc": ColPrice, "cena": ColPrice, "cena_zl": ColPrice,
		"price": ColPrice, "jednostka": ColFeeUnit, "fee_unit": ColFeeUnit, "languages": ColLanguages, "jezyk": ColLanguages,
		"providers": ColProviders, "update_time": ColUpdated,
	} {
		m[alias] = c
	}
	return m
}()

// Values of the Status column.
var statusNames = map[cataloguev1.ServiceStatus]string{
	cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE:             "aktywna",
	cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE:           "nieaktywna",
	cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT:            "zakończona",
	cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED: "czasowo zamknięta",
}

// Values of the Jednostka odpłatności column.
var feeUnitNames = map[cataloguev1.FeeUnit]string{
	cataloguev1.FeeUnit_FEE_UNIT_HOUR:   "godzina",
	cataloguev1.FeeUnit_FEE_UNIT_VISIT:  "wizyta",
	cataloguev1.FeeUnit_FEE_UNIT_DAY:    "dzień",
	cataloguev1.FeeUnit_FEE_UNIT_MONTH:  "miesiąc",
	cataloguev1.FeeUnit_FEE_UNIT_MEAL:   "posiłek",
	cataloguev1.FeeUnit_FEE_UNIT_COURSE: "kurs",
}

// Short Polish weekday names of the Godziny otwarcia column.
var dayNames = []string{"", "pn", "wt", "śr", "cz", "pt", "sb", "nd"}

var (
	areaByKey   = map[string]cataloguev1.Area{}
	groupByKey  = map[string]cataloguev1.TargetGroup{}
	statusByKey = map[string]cataloguev1.ServiceStatus{}
	unitByKey   = map[string]cataloguev1.FeeUnit{}
	dayByKey    = map[string]cataloguev1.Weekday{}
)

func init() {
	for a, n := range areaNames {
		for _, k := range []string{n.pl, n.en, a.String(), strings.TrimPrefix(a.String(), "AREA_"), strconv.Itoa(int(a)), AreaTermID(a)} {
			areaByKey[sheet.Fold(k)] = a
		}
	}
	for g, n := range targetGroupNames {
		for _, k := range []string{n.pl, n.en, g.String(), strings.TrimPrefix(g.String(), "TARGET_GROUP_"), TargetGroupTermID(g)} {
			groupByKey[sheet.Fold(k)] = g
		}
	}
	for s, n := range statusNames {
		for _, k := range []string{n, s.String(), strings.TrimPrefix(s.String(), "SERVICE_STATUS_")} {
			statusByKey[sheet.Fold(k)] = s
		}
	}
	for k, s := range map[string]cataloguev1.ServiceStatus{"czynna": 1, "zawieszona": 4, "zamknieta": 3, "temporarily closed": 4} {
		statusByKey[sheet.Fold(k)] = s
	}
	for u, n := range feeUnitNames {
		for _, k := range []string{n, u.String(), strings.TrimPrefix(u.String(), "FEE_UNIT_"), "za " + n} {
			unitByKey[sheet.Fold(k)] = u
		}
	}
	for k, u := range map[string]cataloguev1.FeeUnit{"godz": 1, "h": 1, "za godzinę": 1, "za wizytę": 2, "miesiac": 4, "mies": 4, "za dzień": 3, "dzien": 3, "turnus": 6, "za kurs (turnus)": 6} {
		unitByKey[sheet.Fold(k)] = u
	}
	for d := 1; d <= 7; d++ {
		day := cataloguev1.Weekday(d)
		dayByKey[sheet.Fold(dayNames[d])] = day
		dayByKey[sheet.Fold(weekdayFull[d])] = day
		dayByKey[strings.ToLower(strings.TrimPrefix(day.String(), "WEEKDAY_"))] = day
	}
	for k, d := range map[string]int{"pon": 1, "wto": 2, "sro": 3, "czw": 4, "pia": 5, "pt": 5, "sob": 6, "niedz": 7, "nie": 7, "ndz": 7, "so": 6, "sr": 3,
		"mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7} {
		dayByKey[k] = cataloguev1.Weekday(d)
	}
}

// warsaw is the zone the Ostatnia zmiana date is written in (a gmina's day, not UTC's).
var warsaw = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return loc
	}
	return time.UTC
}()

var weekdayFull = []string{"", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"}

// ServiceRow is the row of a service in the services sheet, in ServiceColumns order.
func ServiceRow(s *cataloguev1.Service) []sheet.Value {
	var loc *cataloguev1.Location
	if len(s.GetLocations()) > 0 {
		loc = s.GetLocations()[0]
	}
	areas := make([]string, 0, len(s.GetAreas()))
	for _, a := range s.GetAreas() {
		areas = append(areas, AreaNamePL(a))
	}
	groups := make([]string, 0, len(s.GetTargetGroups()))
	for _, g := range s.GetTargetGroups() {
		groups = append(groups, TargetGroupNamePL(g))
	}
	phone := ""
	if len(s.GetPhones()) > 0 {
		phone = s.GetPhones()[0].GetNumber()
	}
	age := func(p *int32) sheet.Value {
		if p == nil {
			return sheet.Value{}
		}
		return sheet.I(int64(*p))
	}
	var price, unit sheet.Value
	if f := s.GetFee(); f != nil && f.GetPriceGrosze() > 0 {
		price, unit = sheet.M(int64(f.GetPriceGrosze())), sheet.S(feeUnitNames[f.GetUnit()])
	}
	wheel := ""
	if loc.GetAccessibility().GetWheelchairAccessible() {
		wheel = "tak"
	} else if loc != nil {
		wheel = "nie"
	}
	decision := "nie"
	if s.GetRequiresDecision() {
		decision = "tak"
	}
	var updated sheet.Value
	if t := s.GetUpdateTime(); t != nil {
		updated = sheet.D(t.AsTime().In(warsaw))
	}
	return []sheet.Value{
		sheet.S(strings.TrimPrefix(s.GetName(), ServicePrefix)),
		{},
		sheet.S(s.GetDisplayName()),
		sheet.S(s.GetAlternateName()),
		sheet.S(s.GetDescription()),
		sheet.S(statusNames[s.GetStatus()]),
		sheet.S(strings.Join(areas, ", ")),
		sheet.S(strings.Join(groups, ", ")),
		sheet.S(decision),
		sheet.S(strings.Join(s.GetProviderDisplayNames(), ", ")),
		sheet.S(loc.GetTerytCode()),
		sheet.S(loc.GetName()),
		sheet.S(loc.GetAddress().GetAddress_1()),
		sheet.S(loc.GetAddress().GetPostalCode()),
		sheet.S(loc.GetAddress().GetCity()),
		sheet.S(FormatHours(loc.GetOpeningHours())),
		sheet.S(wheel),
		sheet.S(phone),
		sheet.S(s.GetEmail()),
		sheet.S(s.GetUrl()),
		sheet.S(s.GetApplicationProcess()),
		sheet.S(s.GetEligibilityDescription()),
		age(s.MinimumAge),
		age(s.MaximumAge),
		price,
		unit,
		sheet.S(s.GetFee().GetDescription()),
		sheet.S(strings.Join(s.GetLanguages(), ", ")),
		updated,
	}
}

// FormatHours writes opening hours the way the Godziny otwarcia column holds them: days sharing the same
// intervals grouped, consecutive days as a range, e.g. "pn-pt 08:00-16:00; sb 09:00-13:00". Notes of single
// intervals are not written (the column is for reading at a glance; the API has them).
func FormatHours(hours []*cataloguev1.OpeningHours) string {
	byDay := map[cataloguev1.Weekday][]string{}
	for _, h := range hours {
		byDay[h.GetDay()] = append(byDay[h.GetDay()], h.GetOpensAt()+"-"+h.GetClosesAt())
	}
	var parts []string
	for d := 1; d <= 7; {
		iv := strings.Join(byDay[cataloguev1.Weekday(d)], " ")
		if iv == "" {
			d++
			continue
		}
		end := d
		for end+1 <= 7 && strings.Join(byDay[cataloguev1.Weekday(end+1)], " ") == iv {
			end++
		}
		days := dayNames[d]
		if end > d {
			days += "-" + dayNames[end]
		}
		parts = append(parts, days+" "+iv)
		d = end + 1
	}
	return strings.Join(parts, "; ")
}

// ParseHours reads the Godziny otwarcia column: "pn-pt 08:00-16:00; sb 09:00-13:00", days as short or full
// Polish names (or English two-letter codes), several intervals of a day separated by spaces, parts by ; or a
// line break.
func ParseHours(s string) ([]*cataloguev1.OpeningHours, error) {
	var out []*cataloguev1.OpeningHours
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = dashes.Replace(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		fields := strings.Fields(part)
		var days []cataloguev1.Weekday
		i := 0
		for ; i < len(fields) && !startsWithDigit(fields[i]); i++ {
			for _, spec := range strings.Split(strings.Trim(fields[i], ",:"), ",") {
				if spec == "" {
					continue
				}
				from, to, isRange := strings.Cut(spec, "-")
				a, okA := dayByKey[sheet.Fold(from)]
				b, okB := a, okA
				if isRange {
					b, okB = dayByKey[sheet.Fold(to)]
				}
				if !okA || !okB || b < a {
					return nil, fmt.Errorf("%q is not a day or range of days (write e.g. pn-pt 08:00-16:00; sb 09:00-13:00)", spec)
				}
				for d := a; d <= b; d++ {
					days = append(days, d)
				}
			}
		}
		if len(days) == 0 || i == len(fields) {
			return nil, fmt.Errorf("%q needs days and hours (write e.g. pn-pt 08:00-16:00)", part)
		}
		for _, iv := range fields[i:] {
			opens, closes, ok := strings.Cut(strings.Trim(iv, ","), "-")
			if !ok {
				return nil, fmt.Errorf("%q is not an interval HH:MM-HH:MM", iv)
			}
			opens, closes = padClock(opens), padClock(closes)
			for _, d := range days {
				out = append(out, &cataloguev1.OpeningHours{Day: d, OpensAt: opens, ClosesAt: closes})
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Day < out[b].Day })
	return out, nil
}

// dashes normalises what spreadsheets make of "-" and people of ":" in times.
var dashes = strings.NewReplacer("–", "-", "—", "-", ".", ":")

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// padClock turns 8:00 or 8 into 08:00.
func padClock(s string) string {
	if !strings.Contains(s, ":") {
		s += ":00"
	}
	if len(s) == 4 && s[1] == ':' {
		s = "0" + s
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(s string) (bool, bool) {
	switch sheet.Fold(s) {
	case "tak", "t", "x", "1", "true", "yes", "y", "prawda":
		return true, true
	case "nie", "n", "0", "false", "no", "falsz", "-":
		return false, true
	}
	return false, false
}

// SheetFile is a services sheet read: its columns and rows.
type SheetFile struct {
	cols   map[Column]int
	header []string
	rows   []sheet.Row
}

// ParseServicesSheet checks the header of a read sheet (CSV or XLSX) and returns the file. Problems with the
// header (unknown or repeated columns, no Nazwa usługi) are INVALID_ARGUMENT on field.
func ParseServicesSheet(field string, t *sheet.Table) (*SheetFile, error) {
	f := &SheetFile{cols: map[Column]int{}, header: t.Header, rows: t.Rows}
	var v apierr.Violations
	for i, h := range t.Header {
		if h == "" {
			continue
		}
		c, ok := columnAliases[sheet.Fold(h)]
		switch {
		case !ok:
			v.Add(field, "column %d %q is not a column of the services sheet; the columns are those of ExportServices (Nazwa usługi, Obszar, Grupy docelowe, Gmina (TERC), ...)", i+1, truncate(h, 40))
		case f.cols[c] > 0:
			v.Add(field, "column %d %q repeats an earlier column", i+1, truncate(h, 40))
		default:
			f.cols[c] = i + 1 // 1-based, so 0 means absent
		}
	}
	if !hasCol(f.cols, ColName) {
		v.Add(field, "the header has no column Nazwa usługi; it is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

func hasCol(m map[Column]int, c Column) bool { return m[c] > 0 }

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Items turns the rows into import items.
func (f *SheetFile) Items() []*ImportItem {
	items := make([]*ImportItem, len(f.rows))
	// Rows are independent until the check for duplicates: they are read on every core.
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(items) + workers - 1) / workers
	var g errgroup.Group
	for lo := 0; lo < len(items); lo += chunk {
		hi := min(lo+chunk, len(items))
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				items[i] = f.item(f.rows[i])
			}
			return nil
		})
	}
	_ = g.Wait() // reading a row does not fail; its problems are in the item
	CheckDuplicates(items)
	return items
}

func (f *SheetFile) headerOf(c Column) string {
	if i := f.cols[c]; i > 0 {
		return f.header[i-1]
	}
	for _, sc := range ServiceColumns {
		if sc.Col == c {
			return sc.Header
		}
	}
	return string(c)
}

func (f *SheetFile) item(r sheet.Row) *ImportItem {
	cell := func(c Column) (string, bool) {
		i := f.cols[c]
		if i == 0 {
			return "", false
		}
		v := r.Cell(i - 1)
		return v, v != ""
	}
	it := &ImportItem{Row: r.Line}
	it.column = func(field string) string { return f.headerOf(fieldColumn(field)) }
	if r.Problem != "" {
		it.violate("", "%s", r.Problem)
		return it
	}
	if len(r.Cells) > len(f.header) {
		for _, extra := range r.Cells[len(f.header):] {
			if extra != "" {
				it.violate("", "the row has more cells than the header has columns (%d)", len(f.header))
				break
			}
		}
	}
	name, _ := cell(ColName)
	it.DisplayName = name
	bad := func(c Column, format string, args ...any) { it.violate(f.headerOf(c), format, args...) }

	// Which service the row names.
	if id, ok := cell(ColID); ok {
		id = strings.ToLower(strings.TrimPrefix(id, ServicePrefix))
		if !IsUUID(id) {
			bad(ColID, "must be the UUID of a service (as ExportServices writes it), or empty for a new service")
		}
		it.ID = id
	} else if key, ok := cell(ColExternalKey); ok {
		it.Key = ImportKey("key", key)
	} else if name != "" {
		it.Key = ImportKey("name", sheet.Fold(name))
	}

	// The cells, read into the fields they set; a cell that cannot be read is reported and the row is invalid.
	var sets []func(s *cataloguev1.Service)
	text := func(c Column, set func(s *cataloguev1.Service, v string)) {
		if v, ok := cell(c); ok {
			sets = append(sets, func(s *cataloguev1.Service) { set(s, v) })
		}
	}
	text(ColName, func(s *cataloguev1.Service, v string) { s.DisplayName = v })
	text(ColAlternateName, func(s *cataloguev1.Service, v string) { s.AlternateName = v })
	text(ColDescription, func(s *cataloguev1.Service, v string) { s.Description = v })
	text(ColEmail, func(s *cataloguev1.Service, v string) { s.Email = v })
	text(ColURL, func(s *cataloguev1.Service, v string) { s.Url = websiteURL(v) })
	text(ColApplication, func(s *cataloguev1.Service, v string) { s.ApplicationProcess = v })
	text(ColEligibility, func(s *cataloguev1.Service, v string) { s.EligibilityDescription = v })
	if v, ok := cell(ColStatus); ok {
		if st, ok := statusByKey[sheet.Fold(v)]; ok {
			sets = append(sets, func(s *cataloguev1.Service) { s.Status = st })
		} else {
			bad(ColStatus, "%q is not a status; use aktywna, nieaktywna, czasowo zamknięta or zakończona", truncate(v, 40))
		}
	}
	if v, ok := cell(ColAreas); ok {
		var areas []cataloguev1.Area
		for _, p := range splitList(v) {
			a, ok := areaByKey[sheet.Fold(p)]
			if !ok {
				bad(ColAreas, "%q is not an area of art. 2 ust. 1; use its Polish name (e.g. wspieranie rodziny, pomoc społeczna, kultura) or its point 1-14", truncate(p, 40))
				continue
			}
			areas = append(areas, a)
		}
		sets = append(sets, func(s *cataloguev1.Service) { s.Areas = areas })
	}
	if v, ok := cell(ColTargetGroups); ok {
		var groups []cataloguev1.TargetGroup
		for _, p := range splitList(v) {
			g, ok := groupByKey[sheet.Fold(p)]
			if !ok {
				bad(ColTargetGroups, "%q is not a target group; use e.g. seniorzy, rodziny, dzieci i młodzież, osoby z niepełnosprawnościami, wszyscy mieszkańcy", truncate(p, 40))
				continue
			}
			groups = append(groups, g)
		}
		sets = append(sets, func(s *cataloguev1.Service) { s.TargetGroups = groups })
	}
	if v, ok := cell(ColDecision); ok {
		if b, ok := parseBool(v); ok {
			sets = append(sets, func(s *cataloguev1.Service) { s.RequiresDecision = b })
		} else {
			bad(ColDecision, "must be tak or nie")
		}
	}
	if v, ok := cell(ColLanguages); ok {
		langs := splitList(strings.ToLower(v))
		sets = append(sets, func(s *cataloguev1.Service) { s.Languages = langs })
	}
	if v, ok := cell(ColPhone); ok {
		sets = append(sets, func(s *cataloguev1.Service) {
			if len(s.Phones) == 0 {
				s.Phones = []*typev1.Phone{{Number: v, Type: "voice"}}
			} else if s.Phones[0].GetNumber() != v {
				first := proto.Clone(s.Phones[0]).(*typev1.Phone)
				first.Number = v
				s.Phones[0] = first
			}
		})
	}
	for _, c := range []Column{ColMinAge, ColMaxAge} {
		if v, ok := cell(c); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(v, ".0"), 10, 32)
			if err != nil {
				bad(c, "must be a whole number of years")
				continue
			}
			age := int32(n)
			if c == ColMinAge {
				sets = append(sets, func(s *cataloguev1.Service) { s.MinimumAge = &age })
			} else {
				sets = append(sets, func(s *cataloguev1.Service) { s.MaximumAge = &age })
			}
		}
	}
	// The fee: a price of 0 (or "bezpłatna") makes the service free.
	if v, ok := cell(ColPrice); ok {
		switch k := sheet.Fold(v); k {
		case "bezplatna", "bezplatnie", "nieodplatna", "nie", "brak":
			sets = append(sets, func(s *cataloguev1.Service) { s.Fee = nil })
		default:
			g, err := sheet.ParseMoney(v)
			switch {
			case err != nil:
				bad(ColPrice, "%v", err)
			case g < 0 || g > 1<<31-1:
				bad(ColPrice, "must be an amount from 0 to 21 474 836,47 zł")
			case g == 0:
				sets = append(sets, func(s *cataloguev1.Service) { s.Fee = nil })
			default:
				sets = append(sets, func(s *cataloguev1.Service) {
					if s.Fee == nil {
						s.Fee = &cataloguev1.FeeRule{}
					}
					s.Fee.PriceGrosze = int32(g)
				})
			}
		}
	}
	if v, ok := cell(ColFeeUnit); ok {
		if u, ok := unitByKey[sheet.Fold(v)]; ok {
			sets = append(sets, func(s *cataloguev1.Service) {
				if s.Fee != nil {
					s.Fee.Unit = u
				}
			})
		} else {
			bad(ColFeeUnit, "%q is not a unit; use godzina, wizyta, dzień, miesiąc, posiłek or kurs", truncate(v, 40))
		}
	}
	text(ColFeeDescription, func(s *cataloguev1.Service, v string) {
		if s.Fee == nil {
			s.Fee = &cataloguev1.FeeRule{}
		}
		s.Fee.Description = v
	})
	// The first location (placówka) takes the location columns.
	var locSets []func(l *cataloguev1.Location)
	locText := func(c Column, set func(l *cataloguev1.Location, v string)) {
		if v, ok := cell(c); ok {
			locSets = append(locSets, func(l *cataloguev1.Location) { set(l, v) })
		}
	}
	addr := func(l *cataloguev1.Location) *typev1.Address {
		if l.Address == nil {
			l.Address = &typev1.Address{}
		}
		return l.Address
	}
	locText(ColTERC, func(l *cataloguev1.Location, v string) { l.TerytCode = v })
	locText(ColPlace, func(l *cataloguev1.Location, v string) { l.Name = v })
	locText(ColAddress, func(l *cataloguev1.Location, v string) { addr(l).Address_1 = v })
	locText(ColPostalCode, func(l *cataloguev1.Location, v string) { addr(l).PostalCode = v })
	locText(ColCity, func(l *cataloguev1.Location, v string) { addr(l).City = v })
	if v, ok := cell(ColHours); ok {
		hours, err := ParseHours(v)
		if err != nil {
			bad(ColHours, "%v", err)
		} else {
			locSets = append(locSets, func(l *cataloguev1.Location) {
				if len(l.GetOpeningHours()) == 0 {
					// A new place (or one without hours): nothing to compare. ParseHours gives weekdays only, so
					// hours it read are never written as "", which is what a place without hours reads as.
					if len(hours) > 0 {
						l.OpeningHours = hours
					}
					return
				}
				// The column does not carry the notes of intervals: hours that read the same keep theirs.
				if FormatHours(l.GetOpeningHours()) != FormatHours(hours) {
					l.OpeningHours = hours
				}
			})
		}
	}
	if v, ok := cell(ColWheelchair); ok {
		if b, ok := parseBool(v); ok {
			locSets = append(locSets, func(l *cataloguev1.Location) {
				if l.Accessibility == nil {
					if !b {
						return // "nie" on a place without accessibility data says what it already says
					}
					l.Accessibility = &cataloguev1.Accessibility{}
				}
				l.Accessibility.WheelchairAccessible = b
			})
		} else {
			bad(ColWheelchair, "must be tak or nie")
		}
	}
	placeSeed := it.ID + it.Key
	it.apply = func(cur *cataloguev1.Service) *cataloguev1.Service {
		s := cur
		if s == nil {
			s = &cataloguev1.Service{}
		}
		for _, set := range sets {
			set(s)
		}
		if len(locSets) > 0 {
			if len(s.Locations) == 0 {
				// A new place gets an id derived from the row's id or key, so the place of a re-run is the same.
				s.Locations = []*cataloguev1.Location{{Id: uuid.NewSHA1(importNamespace, []byte(placeSeed+"/location/0")).String()}}
			}
			for _, set := range locSets {
				set(s.Locations[0])
			}
		}
		return s
	}
	return it
}

// websiteURL adds https:// to a bare host name as spreadsheets hold them ("www.cus.rawicz.pl").
func websiteURL(v string) string {
	if strings.Contains(v, "://") || !strings.Contains(v, ".") || strings.ContainsAny(v, " @") {
		return v
	}
	return "https://" + v
}

// fieldColumn maps a field path of ValidateService to the column it comes from ("" for none).
func fieldColumn(field string) Column {
	top, rest, _ := strings.Cut(field, ".")
	if i := strings.IndexByte(top, '['); i >= 0 {
		top = top[:i]
	}
	switch top {
	case "display_name":
		return ColName
	case "alternate_name":
		return ColAlternateName
	case "description":
		return ColDescription
	case "status":
		return ColStatus
	case "url":
		return ColURL
	case "email":
		return ColEmail
	case "phones":
		return ColPhone
	case "application_process":
		return ColApplication
	case "eligibility_description":
		return ColEligibility
	case "minimum_age":
		return ColMinAge
	case "maximum_age":
		return ColMaxAge
	case "languages":
		return ColLanguages
	case "areas":
		return ColAreas
	case "target_groups":
		return ColTargetGroups
	case "providers":
		return ColProviders
	case "fee":
		switch {
		case strings.HasPrefix(rest, "unit"):
			return ColFeeUnit
		case strings.HasPrefix(rest, "description"):
			return ColFeeDescription
		}
		return ColPrice
	case "locations":
		switch {
		case strings.HasPrefix(rest, "teryt_code"):
			return ColTERC
		case strings.HasPrefix(rest, "name"):
			return ColPlace
		case strings.HasPrefix(rest, "address.postal_code"):
			return ColPostalCode
		case strings.HasPrefix(rest, "address.city"):
			return ColCity
		case strings.HasPrefix(rest, "address"):
			return ColAddress
		case strings.HasPrefix(rest, "opening_hours"):
			return ColHours
		case strings.HasPrefix(rest, "accessibility"):
			return ColWheelchair
		}
		return ColPlace
	}
	return ""
}
