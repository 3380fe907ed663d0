// Package sheet owns the suite's spreadsheets (arkusze): writing tables as CSV (RFC 4180), as the "Excel PL"
// CSV variant that Excel with a Polish locale opens with ą, ę, ł, ż intact, and as XLSX; and reading CSV (either
// separator, with or without a byte order mark, UTF-8 or Windows-1250) and XLSX into rows that keep their row
// numbers for error reports. The services' exports and imports use it, so every file the suite writes looks the
// same and every file it reads is read the same way.
package sheet

import (
	"strings"

	"github.com/cus-suite/cus/platform/apierr"
)

// Format is a file format of a table.
type Format int

// The formats.
const (
	// CSV is RFC 4180: UTF-8 without a byte order mark, comma separator, CRLF line ends, a decimal point.
	CSV Format = iota + 1
	// CSVExcel is the "Excel PL" CSV: UTF-8 with a byte order mark (without it Excel reads the bytes as
	// Windows-1250 and mangles Polish letters), semicolon separator (Polish Excel uses the comma as the decimal
	// separator, so it splits on ;), CRLF line ends and a decimal comma in money.
	CSVExcel
	// XLSX is an Office Open XML workbook with one sheet: a bold, frozen header row, column widths and typed cells.
	XLSX
)

// ParseFormat reads a format as the APIs name it: "csv", "csv_excel" or "xlsx" (any case; "" is def).
func ParseFormat(field, s string, def Format) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "csv":
		return CSV, nil
	case "csv_excel", "csv-excel", "excel_csv":
		return CSVExcel, nil
	case "xlsx":
		return XLSX, nil
	}
	return 0, apierr.Invalid(field, "must be one of xlsx, csv, csv_excel")
}

// String is the name ParseFormat reads.
func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case CSVExcel:
		return "csv_excel"
	case XLSX:
		return "xlsx"
	}
	return "unknown"
}

// ContentType is the media type of a file of the format. The CSV types name their charset, so browsers and
// curl users see UTF-8.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8; header=present"
	case CSVExcel:
		return "text/csv; charset=utf-8; header=present"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// Extension is the file name extension of the format, with its dot.
func (f Format) Extension() string {
	if f == XLSX {
		return ".xlsx"
	}
	return ".csv"
}

// ContentDisposition is the Content-Disposition header of a download named base (ASCII, e.g.
// "uslugi-2026-12-02") in the format.
func ContentDisposition(base string, f Format) string {
	return `attachment; filename="` + base + f.Extension() + `"`
}
