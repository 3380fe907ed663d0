package domain

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/cus-suite/cus/platform/plid"
	"github.com/cus-suite/cus/platform/sheet"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Limits of an import: a gmina's list of providers is hundreds of rows; these leave room for a region.
const (
	MaxImportBytes = 4 << 20
	MaxImportRows  = 10000
	maxCellLen     = MaxDescriptionLen
)

// Column is a column of the provider CSV, by its canonical (Polish) name.
type Column string

// The columns of the provider CSV (documented in docs/provider.md).
const (
	ColName        Column = "nazwa"
	ColLegalName   Column = "nazwa_pelna"
	ColKind        Column = "forma_prawna"
	ColNIP         Column = "nip"
	ColREGON       Column = "regon"
	ColKRS         Column = "krs"
	ColAddress     Column = "adres"
	ColPostalCode  Column = "kod_pocztowy"
	ColCity        Column = "miejscowosc"
	ColRegion      Column = "wojewodztwo"
	ColTERYT       Column = "teryt"
	ColEmail       Column = "email"
	ColPhone       Column = "telefon"
	ColWebsite     Column = "www"
	ColDescription Column = "opis"
)

// Columns lists every column in documentation order.
var Columns = []Column{ColName, ColLegalName, ColKind, ColNIP, ColREGON, ColKRS, ColAddress, ColPostalCode,
	ColCity, ColRegion, ColTERYT, ColEmail, ColPhone, ColWebsite, ColDescription}

// columnAliases maps folded header names to columns: the canonical names, their spelled-out Polish forms,
// and English field names.
var columnAliases = func() map[string]Column {
	m := map[string]Column{}
	for _, c := range Columns {
		m[string(c)] = c
	}
	for alias, c := range map[string]Column{
		"nazwa_skrocona": ColName, "nazwa_wyswietlana": ColName, "display_name": ColName, "name": ColName,
		"pelna_nazwa": ColLegalName, "nazwa_w_rejestrze": ColLegalName, "legal_name": ColLegalName,
		"rodzaj": ColKind, "rodzaj_podmiotu": ColKind, "kind": ColKind,
		"numer_nip": ColNIP, "numer_regon": ColREGON, "numer_krs": ColKRS,
		"ulica": ColAddress, "adres_siedziby": ColAddress, "address": ColAddress, "address_1": ColAddress,
		"kod": ColPostalCode, "postal_code": ColPostalCode,
		"miasto": ColCity, "poczta": ColCity, "city": ColCity,
		"region":    ColRegion,
		"kod_teryt": ColTERYT, "terc": ColTERYT, "teryt_code": ColTERYT, "kod_gminy": ColTERYT,
		"e_mail": ColEmail, "adres_email": ColEmail, "adres_e_mail": ColEmail, "mail": ColEmail,
		"tel": ColPhone, "numer_telefonu": ColPhone, "phone": ColPhone,
		"strona": ColWebsite, "strona_www": ColWebsite, "strona_internetowa": ColWebsite, "website": ColWebsite,
		"description": ColDescription,
	} {
		m[alias] = c
	}
	return m
}()

// kindAliases maps folded values of the forma_prawna column to kinds.
var kindAliases = func() map[string]providerv1.ProviderKind {
	m := map[string]providerv1.ProviderKind{}
	for name, n := range providerv1.ProviderKind_value {
		if n == 0 {
			continue
		}
		m[Fold(name)] = providerv1.ProviderKind(n)
		m[strings.TrimPrefix(Fold(name), "provider_kind_")] = providerv1.ProviderKind(n)
	}
	add := func(k providerv1.ProviderKind, aliases ...string) {
		for _, a := range aliases {
			m[Fold(a)] = k
		}
	}
	add(providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION, "fundacja", "stowarzyszenie",
		"stowarzyszenie zwykłe", "stowarzyszenie rejestrowe", "fundacja lub stowarzyszenie",
		"fundacja/stowarzyszenie", "organizacja pozarządowa", "NGO", "związek stowarzyszeń")
	add(providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, "spółdzielnia socjalna")
	add(providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY, "PES", "podmiot ekonomii społecznej",
		"inny PES", "inny podmiot ekonomii społecznej", "spółka non-profit", "CIS", "KIS", "ZAZ",
		"centrum integracji społecznej", "klub integracji społecznej", "zakład aktywności zawodowej")
	add(providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION, "organizacja kościelna",
		"kościelna osoba prawna", "kościelna jednostka organizacyjna", "parafia", "Caritas")
	add(providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, "jednostka gminna", "jednostka gminy",
		"jednostka organizacyjna gminy", "gminna jednostka organizacyjna", "jednostka budżetowa gminy",
		"samorządowa instytucja kultury", "gminna instytucja kultury")
	add(providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY, "podmiot publiczny", "inny podmiot publiczny",
		"jednostka publiczna", "jednostka powiatowa", "SP ZOZ", "administracja rządowa")
	add(providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY, "firma", "firma prywatna", "przedsiębiorca",
		"przedsiębiorstwo", "spółka", "spółka z o.o.", "sp. z o.o.", "spółka akcyjna", "spółka cywilna",
		"JDG", "jednoosobowa działalność gospodarcza", "działalność gospodarcza")
	add(providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, "grupa nieformalna", "wolontariusze",
		"grupa wolontariuszy", "grupa sąsiedzka", "grupa samopomocowa")
	return m
}()

// ParseKind reads a forma_prawna value: a Polish name ("fundacja", "spółdzielnia socjalna", "jednostka
// gminna", ...), the enum name, or its short form ("social_cooperative"), in any case, with or without diacritics.
func ParseKind(s string) (providerv1.ProviderKind, bool) {
	k, ok := kindAliases[Fold(s)]
	return k, ok
}

// CSVFile is a parsed provider CSV.
type CSVFile struct {
	// Separator is the column separator detected.
	Separator rune
	// Header holds the header cells as in the file.
	Header []string
	// Columns maps each header position to its column.
	Columns []Column
	// Rows are the non-empty data rows.
	Rows []CSVRow
}

// CSVRow is one data row.
type CSVRow struct {
	// Row is the line of the file where the row starts (the header is line 1), which is the spreadsheet row
	// unless an earlier cell spans several lines.
	Row int
	// Cells holds the non-empty cells, trimmed, by column.
	Cells map[Column]string
	// Problem, when set, makes the whole row unreadable (e.g. more cells than the header has).
	Problem string
}

// HeaderOf is the header text of a column as the file spells it, or its canonical name when absent.
func (f *CSVFile) HeaderOf(c Column) string {
	for i, col := range f.Columns {
		if col == c {
			return f.Header[i]
		}
	}
	return string(c)
}

// Has reports whether the file has the column.
func (f *CSVFile) Has(c Column) bool {
	for _, col := range f.Columns {
		if col == c {
			return true
		}
	}
	return false
}

// DecodeCSVText returns the text of an uploaded file: UTF-8 without its byte order mark, or Windows-1250
// decoded (platform/sheet.DecodeText, shared with the catalogue's import).
func DecodeCSVText(b []byte) string { return sheet.DecodeText(b) }

// ParseProvidersCSV parses a provider CSV (text from DecodeCSVText or a UTF-8 string; a byte order mark is
// ignored). Problems with the file as a whole (no header, unknown or repeated columns, missing required
// columns, too many rows) are INVALID_ARGUMENT on field; problems of single rows are left for the import
// report.
func ParseProvidersCSV(field, text string) (*CSVFile, error) {
	text = strings.TrimPrefix(text, "\uFEFF")
	if len(text) > MaxImportBytes {
		return nil, Invalid(field, ReasonTooLong, "the file is larger than %d bytes; split it", MaxImportBytes)
	}
	if strings.TrimSpace(text) == "" {
		return nil, Invalid(field, ReasonRequired, "the file is empty; it needs a header row (nazwa;forma_prawna;...) and a row per provider")
	}
	// Reading the CSV (separator, quoting, row numbers, empty rows) is platform/sheet's, shared with the
	// catalogue's import; the size and emptiness were checked above with this registry's reasons. With lazy
	// quotes only a malformed header row can fail the read (UNREADABLE_FILE).
	t, err := sheet.ReadCSV(field, []byte(text), sheet.Limits{MaxBytes: MaxImportBytes})
	if err != nil {
		return nil, err
	}
	f := &CSVFile{Separator: t.Separator}
	var v Violations
	seen := map[Column]int{}
	for i, h := range t.Header {
		f.Header = append(f.Header, h)
		if h == "" && i == len(t.Header)-1 && i > 0 {
			f.Columns = append(f.Columns, "") // a trailing separator
			continue
		}
		c, ok := columnAliases[Fold(h)]
		switch {
		case !ok:
			v.Add(field, ReasonInvalidValue, "column %d %q is not a known column; known columns are %s", i+1, truncate(h, 40), columnList())
		case seen[c] > 0:
			v.Add(field, ReasonInvalidValue, "column %d %q repeats column %d (both are %s)", i+1, truncate(h, 40), seen[c], c)
		default:
			seen[c] = i + 1
		}
		f.Columns = append(f.Columns, c)
	}
	for _, c := range []Column{ColName, ColKind} {
		if seen[c] == 0 {
			v.Add(field, ReasonRequired, "the header has no column %s; required columns are nazwa and forma_prawna", c)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, r := range t.Rows { // sheet.ReadCSV keeps only rows with a non-empty cell
		if len(f.Rows) == MaxImportRows {
			return nil, Invalid(field, ReasonTooLong, "the file has more than %d rows; split it", MaxImportRows)
		}
		row := CSVRow{Row: r.Line, Problem: r.Problem, Cells: map[Column]string{}}
		for i, cell := range r.Cells {
			if cell == "" {
				continue
			}
			if i >= len(f.Columns) || f.Columns[i] == "" {
				row.Problem = fmt.Sprintf("the row has a value in column %d, but the header has %d columns", i+1, len(f.Header))
				continue
			}
			row.Cells[f.Columns[i]] = cell
		}
		f.Rows = append(f.Rows, row)
	}
	return f, nil
}

func columnList() string {
	names := make([]string, len(Columns))
	for i, c := range Columns {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// rowPatch turns the cells of a row into the provider fields they give, and the problems of cells that cannot
// be read at all (an unknown forma_prawna). Identifiers come normalised.
func rowPatch(row CSVRow) (*providerv1.Provider, map[Column]string) {
	p := &providerv1.Provider{}
	bad := map[Column]string{}
	for c, val := range row.Cells {
		if strings.ContainsAny(val, "\r\n") && c != ColDescription {
			bad[c] = "contains a line break (is a quote left open in an earlier cell?)"
			continue
		}
		if utf8.RuneCountInString(val) > maxCellLen {
			bad[c] = fmt.Sprintf("is longer than %d characters", maxCellLen)
			continue
		}
		switch c {
		case ColName:
			p.DisplayName = val
		case ColLegalName:
			p.LegalName = val
		case ColDescription:
			p.Description = val
		case ColKind:
			k, ok := ParseKind(val)
			if !ok {
				bad[c] = fmt.Sprintf("%q is not a known legal form; use e.g. fundacja, stowarzyszenie, spółdzielnia socjalna, PES, organizacja kościelna, jednostka gminna, podmiot publiczny, firma, grupa nieformalna", truncate(val, 40))
				continue
			}
			p.Kind = k
		case ColNIP:
			p.Nip = plid.NormalizeNIP(val)
		case ColREGON:
			p.Regon = NormalizeREGON(val)
		case ColKRS:
			p.Krs = NormalizeKRS(val)
		case ColAddress, ColPostalCode, ColCity, ColRegion:
			if p.Address == nil {
				p.Address = &typev1.Address{}
			}
			switch c {
			case ColAddress:
				p.Address.Address_1 = val
			case ColPostalCode:
				p.Address.PostalCode = val
			case ColCity:
				p.Address.City = val
			case ColRegion:
				p.Address.Region = val
			}
		case ColTERYT:
			p.TerytCode = val
		case ColEmail:
			p.Email = val
		case ColPhone:
			p.Phones = []*typev1.Phone{{Number: val, Type: "voice"}}
		case ColWebsite:
			p.Website = websiteURL(val)
		}
	}
	return p, bad
}

// websiteURL adds https:// to a bare host name as spreadsheets hold them ("www.fundacja.pl").
func websiteURL(v string) string {
	if strings.Contains(v, "://") {
		return v
	}
	if u, err := url.Parse("https://" + v); err == nil && strings.Contains(u.Host, ".") && !strings.ContainsAny(v, " @") {
		return "https://" + v
	}
	return v
}

// fieldColumn maps a field path of ValidateProvider to the column it comes from, or "" for none.
func fieldColumn(field string) Column {
	top, _, _ := strings.Cut(field, ".")
	if i := strings.IndexByte(top, '['); i >= 0 {
		top = top[:i]
	}
	switch top {
	case "display_name":
		return ColName
	case "legal_name":
		return ColLegalName
	case "description":
		return ColDescription
	case "kind":
		return ColKind
	case "nip":
		return ColNIP
	case "regon":
		return ColREGON
	case "krs":
		return ColKRS
	case "teryt_code":
		return ColTERYT
	case "email":
		return ColEmail
	case "phones":
		return ColPhone
	case "website":
		return ColWebsite
	case "address":
		switch field {
		case "address.postal_code":
			return ColPostalCode
		case "address.city":
			return ColCity
		case "address.region":
			return ColRegion
		}
		return ColAddress
	}
	return ""
}
