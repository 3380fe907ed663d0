package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/cus-suite/cus/platform/apierr"
)

// Reasons of the errors about a file as a whole.
const (
	ReasonUnreadable = "UNREADABLE_FILE"
	ReasonTooLarge   = "FILE_TOO_LARGE"
	ReasonEmpty      = "EMPTY_FILE"
)

// Table is a file read: its header and its non-empty data rows.
type Table struct {
	// Separator is the CSV separator detected (0 for XLSX).
	Separator rune
	// Header holds the header cells, trimmed.
	Header []string
	// Rows are the data rows with at least one non-empty cell.
	Rows []Row
}

// Row is one data row.
type Row struct {
	// Line is the row's number as a spreadsheet shows it (the header is 1): for CSV the line where the row
	// starts, for XLSX the sheet row.
	Line int
	// Cells are the row's cells, trimmed; a row may be shorter or longer than the header.
	Cells []string
	// Problem, when set, makes the row unreadable (a CSV quoting error).
	Problem string
}

// Limits bound what a read accepts.
type Limits struct {
	// MaxBytes caps the file; 0 means 16 MiB.
	MaxBytes int
	// MaxRows caps the data rows; 0 means no cap.
	MaxRows int
}

func (l Limits) maxBytes() int {
	if l.MaxBytes <= 0 {
		return 16 << 20
	}
	return l.MaxBytes
}

func invalid(field, reason, format string, args ...any) error {
	var v apierr.Violations
	v.AddReason(field, reason, format, args...)
	return v.Err()
}

// Read reads a file of format f (CSV and CSVExcel read alike) from b. Problems with the file as a whole are
// INVALID_ARGUMENT on field.
func Read(field string, b []byte, f Format, lim Limits) (*Table, error) {
	if f == XLSX {
		return ReadXLSX(field, b, "", lim)
	}
	return ReadCSV(field, b, lim)
}

// DecodeText returns the text of an uploaded CSV: UTF-8 without its byte order mark, or, when the bytes are not
// valid UTF-8, decoded from Windows-1250 (what Polish spreadsheets save as plain "CSV"). Windows-1250 text with
// Polish letters is practically never valid UTF-8, so the guess is safe.
func DecodeText(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1250.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// DetectSeparator picks the separator of the header line: the most frequent of ; , and tab outside quotes
// (Polish spreadsheets use ; because , is the decimal comma). Ties go to ;, then tab.
func DetectSeparator(text string) rune {
	counts := map[rune]int{}
	inQuotes := false
	for _, r := range text {
		if r == '\n' && !inQuotes {
			break
		}
		switch r {
		case '"':
			inQuotes = !inQuotes
		case ';', ',', '\t':
			if !inQuotes {
				counts[r]++
			}
		}
	}
	best := ';'
	for _, r := range []rune{'\t', ','} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// ReadCSV reads a CSV with either separator, with or without a byte order mark, UTF-8 or Windows-1250.
func ReadCSV(field string, b []byte, lim Limits) (*Table, error) {
	if len(b) > lim.maxBytes() {
		return nil, invalid(field, ReasonTooLarge, "the file is larger than %d bytes; split it", lim.maxBytes())
	}
	text := DecodeText(b)
	if strings.TrimSpace(text) == "" {
		return nil, invalid(field, ReasonEmpty, "the file is empty; it needs a header row and a row per record")
	}
	t := &Table{Separator: DetectSeparator(text)}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = t.Separator
	r.FieldsPerRecord = -1
	r.LazyQuotes = true // hand-made files put quotes in names: Fundacja "Dobry Start"
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, invalid(field, ReasonUnreadable, "the header row cannot be read: %v", csvProblem(err))
	}
	t.Header = trimAll(header)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			t.Rows = append(t.Rows, Row{Line: line, Problem: "the row cannot be read: " + csvProblem(err)})
			continue
		}
		line, _ := r.FieldPos(0)
		if err := t.add(field, Row{Line: line, Cells: trimAll(rec)}, lim); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Table) add(field string, row Row, lim Limits) error {
	empty := true
	for _, c := range row.Cells {
		if c != "" {
			empty = false
			break
		}
	}
	if empty {
		return nil // spreadsheets export trailing empty rows as ;;;;
	}
	if lim.MaxRows > 0 && len(t.Rows) == lim.MaxRows {
		return invalid(field, ReasonTooLarge, "the file has more than %d rows; split it", lim.MaxRows)
	}
	t.Rows = append(t.Rows, row)
	return nil
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "malformed CSV"
}

func trimAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.TrimSpace(c)
	}
	return out
}

// ReadXLSX reads the sheet named sheetName of a workbook, or its first sheet when sheetName is "". Cells come as
// Excel shows them under their number formats, except plain numbers, which come in full precision with a
// decimal point ("12.5"), and date cells, which come as YYYY-MM-DD.
func ReadXLSX(field string, b []byte, sheetName string, lim Limits) (*Table, error) {
	if len(b) > lim.maxBytes() {
		return nil, invalid(field, ReasonTooLarge, "the file is larger than %d bytes; split it", lim.maxBytes())
	}
	if len(b) == 0 {
		return nil, invalid(field, ReasonEmpty, "the file is empty; it needs a header row and a row per record")
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		return nil, invalid(field, ReasonUnreadable, "the file is not an XLSX workbook (is it an older .xls, or a CSV?)")
	}
	defer f.Close()
	if sheetName == "" {
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, invalid(field, ReasonEmpty, "the workbook has no sheet")
		}
		sheetName = sheets[0]
	} else if idx, err := f.GetSheetIndex(sheetName); err != nil || idx < 0 {
		return nil, invalid(field, ReasonUnreadable, "the workbook has no sheet %q", sheetName)
	}
	// Two reads of the sheet (shown and raw values) cost memory proportional to the file, which Limits bounds.
	shown, err := f.GetRows(sheetName)
	if err != nil {
		return nil, invalid(field, ReasonUnreadable, "the sheet %q cannot be read", sheetName)
	}
	raw, err := f.GetRows(sheetName, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, invalid(field, ReasonUnreadable, "the sheet %q cannot be read", sheetName)
	}
	if len(shown) == 0 {
		return nil, invalid(field, ReasonEmpty, "the sheet %q is empty; it needs a header row and a row per record", sheetName)
	}
	t := &Table{Header: trimAll(shown[0])}
	for i := 1; i < len(shown); i++ {
		cells := trimAll(shown[i])
		if i < len(raw) {
			normaliseNumbers(cells, raw[i])
		}
		if err := t.add(field, Row{Line: i + 1, Cells: cells}, lim); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// normaliseNumbers replaces a number shown under a general or thousands format ("1,234.5" or "1E+10") by its
// raw value, so a NIP typed as a number keeps all digits; dates and text keep their shown form.
func normaliseNumbers(shown, raw []string) {
	for i := range shown {
		if i >= len(raw) || shown[i] == raw[i] {
			continue
		}
		if _, err := strconv.ParseFloat(raw[i], 64); err != nil {
			continue
		}
		if looksLikeDate(shown[i]) {
			continue
		}
		shown[i] = raw[i]
	}
}

func looksLikeDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-'
}

// Index maps header cells to positions by a key function (e.g. folding case and diacritics), for callers that
// accept several spellings of a column. It reports the position of the first header with each key and the
// positions of headers whose key repeats an earlier one.
func Index(header []string, key func(string) string) (pos map[string]int, repeats []int) {
	pos = map[string]int{}
	for i, h := range header {
		k := key(h)
		if k == "" {
			continue
		}
		if _, ok := pos[k]; ok {
			repeats = append(repeats, i)
			continue
		}
		pos[k] = i
	}
	return pos, repeats
}

// Cell returns cell i of the row, or "" past its end.
func (r Row) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return r.Cells[i]
}

// spaces are the thousands separators of Polish amounts: a space, or a (narrow) no-break space.
var spaces = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "")

// ParseMoney reads an amount in złoty as people type it in a Polish spreadsheet ("12,50", "12.50", "1 234,50
// zł", "15 zł", "0") into grosze. It refuses more than two decimals and ambiguous thousands separators.
func ParseMoney(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	for _, suffix := range []string{"zł", "zl", "pln"} {
		s = strings.TrimSpace(strings.TrimSuffix(s, suffix))
	}
	s = spaces.Replace(s)
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac := s, ""
	if i := strings.LastIndexAny(s, ",."); i >= 0 {
		whole, frac = s[:i], s[i+1:]
		if strings.ContainsAny(whole, ",.") || len(frac) > 2 || len(frac) == 0 {
			return 0, fmt.Errorf("%q is not an amount in złoty (write e.g. 12,50)", s)
		}
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1e12 {
		return 0, fmt.Errorf("%q is not an amount in złoty (write e.g. 12,50)", s)
	}
	g := w * 100
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an amount in złoty (write e.g. 12,50)", s)
		}
		if len(frac) == 1 {
			f *= 10
		}
		g += f
	}
	if neg {
		g = -g
	}
	return g, nil
}
