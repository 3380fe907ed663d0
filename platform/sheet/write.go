package sheet

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Kind is the type of a column's cells.
type Kind int

// The kinds of cells.
const (
	// Text is a string, written as text in XLSX (so numbers-as-text like NIP, TERC or postal codes keep their
	// leading zeros).
	Text Kind = iota
	// Int is an integer.
	Int
	// Money is an amount in grosze, written in złoty with two decimals: 1250 -> "12.50" (CSV), "12,50" (Excel
	// PL CSV), the number 12.5 formatted 0.00 (XLSX).
	Money
	// Date is a calendar day, written YYYY-MM-DD (an XLSX date cell).
	Date
)

// Column describes one column of a table.
type Column struct {
	// Header is the header cell, in Polish (Nazwa usługi, Gmina (TERC), ...).
	Header string
	// Kind is the type of its cells.
	Kind Kind
	// Width is the XLSX column width in characters; 0 picks one from the header.
	Width float64
}

// Value is one cell. The zero Value is an empty cell.
type Value struct {
	kind  Kind
	set   bool
	s     string
	n     int64
	t     time.Time
	isDay bool
}

// S is a text cell ("" is an empty cell).
func S(s string) Value { return Value{kind: Text, set: s != "", s: s} }

// I is an integer cell.
func I(n int64) Value { return Value{kind: Int, set: true, n: n} }

// M is a money cell of grosze.
func M(grosze int64) Value { return Value{kind: Money, set: true, n: grosze} }

// D is a date cell of the calendar day of t (in t's location); the zero time is an empty cell.
func D(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Value{kind: Date, set: true, t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), isDay: true}
}

// Day is a date cell of a YYYY-MM-DD string; other text stays text, "" is empty.
func Day(s string) Value {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return S(s)
	}
	return D(t)
}

// Empty reports whether the cell is empty.
func (v Value) Empty() bool { return !v.set }

// text is the cell as CSV writes it, with the decimal separator dec.
func (v Value) text(dec byte) string {
	if !v.set {
		return ""
	}
	switch v.kind {
	case Int:
		return strconv.FormatInt(v.n, 10)
	case Money:
		return FormatMoney(v.n, dec)
	case Date:
		return v.t.Format(time.DateOnly)
	}
	return v.s
}

// FormatMoney writes grosze as złoty with two decimals and dec as the decimal separator: 123456 -> "1234,56".
func FormatMoney(grosze int64, dec byte) string {
	sign := ""
	if grosze < 0 {
		sign, grosze = "-", -grosze
	}
	return fmt.Sprintf("%s%d%c%02d", sign, grosze/100, dec, grosze%100)
}

// Writer writes the rows of one table.
type Writer interface {
	// Row writes one row; cells beyond the columns are an error, missing cells are empty.
	Row(cells ...Value) error
	// Close finishes the file (for XLSX: writes the whole workbook to the output).
	Close() error
}

// ErrTooManyCells is returned by Row for more cells than columns.
var ErrTooManyCells = errors.New("sheet: more cells than columns")

// NewWriter starts a table of cols in format f on w; the header row is written first. sheetName names the XLSX
// sheet (at most 31 characters).
func NewWriter(w io.Writer, f Format, sheetName string, cols []Column) (Writer, error) {
	switch f {
	case CSV, CSVExcel:
		return newCSVWriter(w, f, cols)
	case XLSX:
		return newXLSXWriter(w, sheetName, cols)
	}
	return nil, fmt.Errorf("sheet: unknown format %d", f)
}

type csvWriter struct {
	bw   *bufio.Writer
	cw   *csv.Writer
	cols []Column
	dec  byte
	rec  []string
}

func newCSVWriter(w io.Writer, f Format, cols []Column) (*csvWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := &csvWriter{bw: bw, cw: csv.NewWriter(bw), cols: cols, dec: '.', rec: make([]string, len(cols))}
	c.cw.UseCRLF = true
	if f == CSVExcel {
		if _, err := bw.WriteString("\uFEFF"); err != nil {
			return nil, err
		}
		c.cw.Comma = ';'
		c.dec = ','
	}
	for i, col := range cols {
		c.rec[i] = col.Header
	}
	return c, c.cw.Write(c.rec)
}

func (c *csvWriter) Row(cells ...Value) error {
	if len(cells) > len(c.cols) {
		return ErrTooManyCells
	}
	for i := range c.rec {
		c.rec[i] = ""
		if i < len(cells) {
			c.rec[i] = cells[i].text(c.dec)
		}
	}
	return c.cw.Write(c.rec)
}

func (c *csvWriter) Close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

type xlsxWriter struct {
	out    io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	cols   []Column
	row    int
	styles map[Kind]int
	vals   []any
}

func newXLSXWriter(w io.Writer, sheetName string, cols []Column) (*xlsxWriter, error) {
	if sheetName == "" {
		sheetName = "Arkusz1"
	}
	if len([]rune(sheetName)) > 31 {
		sheetName = string([]rune(sheetName)[:31])
	}
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return nil, err
	}
	x := &xlsxWriter{out: w, f: f, cols: cols, styles: map[Kind]int{}, vals: make([]any, len(cols))}
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	dateFmt, moneyFmt := "yyyy-mm-dd", "0.00"
	if x.styles[Date], err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if x.styles[Money], err = f.NewStyle(&excelize.Style{CustomNumFmt: &moneyFmt}); err != nil {
		return nil, err
	}
	// Text cells get the "@" (text) format, so Excel does not turn a NIP or TERC into a number when edited.
	if x.styles[Text], err = f.NewStyle(&excelize.Style{NumFmt: 49}); err != nil {
		return nil, err
	}
	if x.sw, err = f.NewStreamWriter(sheetName); err != nil {
		return nil, err
	}
	// Widths and panes go before the first row (the stream writer's rule).
	for i, c := range cols {
		width := c.Width
		if width == 0 {
			width = float64(len([]rune(c.Header))) + 4
			if width < 12 {
				width = 12
			}
		}
		if err := x.sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	hdr := make([]any, len(cols))
	for i, c := range cols {
		hdr[i] = excelize.Cell{StyleID: header, Value: c.Header}
	}
	x.row = 1
	return x, x.sw.SetRow("A1", hdr)
}

func (x *xlsxWriter) Row(cells ...Value) error {
	if len(cells) > len(x.cols) {
		return ErrTooManyCells
	}
	x.row++
	for i := range x.vals {
		x.vals[i] = nil
		if i >= len(cells) || !cells[i].set {
			continue
		}
		v := cells[i]
		switch v.kind {
		case Int:
			x.vals[i] = v.n
		case Money:
			x.vals[i] = excelize.Cell{StyleID: x.styles[Money], Value: float64(v.n) / 100}
		case Date:
			x.vals[i] = excelize.Cell{StyleID: x.styles[Date], Value: v.t}
		default:
			x.vals[i] = excelize.Cell{StyleID: x.styles[Text], Value: sanitizeXML(v.s)}
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.vals)
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.out)
	return err
}

// sanitizeXML drops the control characters XML 1.0 cannot carry (a pasted form feed would make the workbook
// unreadable).
func sanitizeXML(s string) string {
	if !strings.ContainsFunc(s, badXMLRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badXMLRune(r) {
			return -1
		}
		return r
	}, s)
}

func badXMLRune(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF
}
