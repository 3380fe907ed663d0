package sheet

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/cus-suite/cus/platform/apierr"
)

var testCols = []Column{{Header: "Nazwa usługi"}, {Header: "Gmina (TERC)"}, {Header: "Cena (zł)", Kind: Money}, {Header: "Od", Kind: Date}, {Header: "Limit miejsc", Kind: Int}}

func writeTable(t *testing.T, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f, "Usługi", testCols)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 1, 15, 4, 0, 0, time.UTC)
	rows := [][]Value{
		{S("Klub Seniora „Pod Lipami” – zajęcia; ruch"), S("3022053"), M(1250), D(day), I(12)},
		{S("Żłobek \"Źdźbło\"\nw Rawiczu"), S("0201011"), M(0), Value{}, I(0)},
		{S("Usługi opiekuńcze, gęś"), S(""), M(123456), Day("2026-12-31")},
	}
	for _, r := range rows {
		if err := w.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExcelPLCSVBytes(t *testing.T) {
	b := writeTable(t, CSVExcel)
	if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("no UTF-8 byte order mark: % x", b[:3])
	}
	wantHeader := "\uFEFFNazwa usługi;Gmina (TERC);Cena (zł);Od;Limit miejsc\r\n"
	if !bytes.HasPrefix(b, []byte(wantHeader)) {
		t.Fatalf("header = %q, want %q", b[:len(wantHeader)], wantHeader)
	}
	// ł is C5 82 in UTF-8; a Windows-1250 file would have B3.
	if !bytes.Contains(b, []byte{'u', 's', 0xC5, 0x82, 'u', 'g', 'i'}) {
		t.Fatal("ł is not written as UTF-8")
	}
	for _, want := range []string{
		"\"Klub Seniora „Pod Lipami” – zajęcia; ruch\";3022053;12,50;2026-03-01;12\r\n",
		"\"Żłobek \"\"Źdźbło\"\"\r\nw Rawiczu\";0201011;0,00;;0\r\n",
		"Usługi opiekuńcze, gęś;;1234,56;2026-12-31;\r\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing row %q in\n%s", want, b)
		}
	}
}

func TestPlainCSVBytes(t *testing.T) {
	b := writeTable(t, CSV)
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatal("RFC 4180 CSV has a byte order mark")
	}
	for _, want := range []string{"Nazwa usługi,Gmina (TERC),Cena (zł),Od,Limit miejsc\r\n", "Klub Seniora „Pod Lipami” – zajęcia; ruch,3022053,12.50,2026-03-01,12\r\n", "\"Usługi opiekuńcze, gęś\",,1234.56,2026-12-31,\r\n"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		f     Format
		money [3]string
	}{
		{CSV, [3]string{"12.50", "0.00", "1234.56"}},
		{CSVExcel, [3]string{"12,50", "0,00", "1234,56"}},
		{XLSX, [3]string{"12.5", "0", "1234.56"}},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			tab, err := Read("file", writeTable(t, tc.f), tc.f, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tab.Header, "|"); got != "Nazwa usługi|Gmina (TERC)|Cena (zł)|Od|Limit miejsc" {
				t.Fatalf("header %q", got)
			}
			if len(tab.Rows) != 3 {
				t.Fatalf("%d rows", len(tab.Rows))
			}
			want := [][]string{
				{"Klub Seniora „Pod Lipami” – zajęcia; ruch", "3022053", tc.money[0], "2026-03-01", "12"},
				{"Żłobek \"Źdźbło\"\nw Rawiczu", "0201011", tc.money[1], "", "0"},
				{"Usługi opiekuńcze, gęś", "", tc.money[2], "2026-12-31", ""},
			}
			wantLines := []int{2, 3, 5} // the CSV row 2 spans two lines
			if tc.f == XLSX {
				wantLines = []int{2, 3, 4}
			}
			for i, r := range tab.Rows {
				if r.Line != wantLines[i] {
					t.Errorf("row %d: line %d, want %d", i, r.Line, wantLines[i])
				}
				for j, w := range want[i] {
					if got := r.Cell(j); got != w {
						t.Errorf("row %d cell %d = %q, want %q", i, j, got, w)
					}
				}
				if g, err := ParseMoney(r.Cell(2)); err != nil || g != []int64{1250, 0, 123456}[i] {
					t.Errorf("row %d money %q: %d %v", i, r.Cell(2), g, err)
				}
			}
		})
	}
}

func TestXLSXLayout(t *testing.T) {
	f, err := excelize.OpenReader(bytes.NewReader(writeTable(t, XLSX)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "Usługi" {
		t.Fatalf("sheets %v", got)
	}
	panes, err := f.GetPanes("Usługi")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Fatalf("header row not frozen: %+v %v", panes, err)
	}
	sid, err := f.GetCellStyle("Usługi", "A1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(sid)
	if err != nil || st.Font == nil || !st.Font.Bold {
		t.Fatalf("header not bold: %+v %v", st, err)
	}
	if w, _ := f.GetColWidth("Usługi", "A"); w < 12 {
		t.Errorf("column A width %v", w)
	}
	for cell, want := range map[string]excelize.CellType{"C2": excelize.CellTypeUnset, "E2": excelize.CellTypeUnset} {
		// Numbers are stored as plain values (type unset = number), not as shared strings.
		if got, err := f.GetCellType("Usługi", cell); err != nil || got != want {
			t.Errorf("%s type %v, want number (%v)", cell, got, err)
		}
	}
	if v, _ := f.GetCellValue("Usługi", "D2"); v != "2026-03-01" {
		t.Errorf("date shown as %q", v)
	}
	if v, _ := f.GetCellValue("Usługi", "B3"); v != "0201011" {
		t.Errorf("TERC shown as %q (leading zero lost?)", v)
	}
}

func TestReadCSVVariants(t *testing.T) {
	win, err := charmap.Windows1250.NewEncoder().String("Nazwa;Gmina\r\nŚwietlica „Żaczek”;Rawicz\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in string
		sep      rune
	}{
		{"semicolon with BOM", "\uFEFFNazwa;Gmina\nŚwietlica „Żaczek”;Rawicz\n", ';'},
		{"comma", "Nazwa,Gmina\r\nŚwietlica „Żaczek”,Rawicz\r\n,,\r\n", ','},
		{"tab", "Nazwa\tGmina\nŚwietlica „Żaczek”\tRawicz\n\n", '\t'},
		{"windows-1250", win, ';'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := ReadCSV("file", []byte(tc.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if tab.Separator != tc.sep || len(tab.Rows) != 1 || tab.Header[0] != "Nazwa" {
				t.Fatalf("sep %q rows %d header %q", tab.Separator, len(tab.Rows), tab.Header)
			}
			if got := tab.Rows[0].Cell(0); got != "Świetlica „Żaczek”" {
				t.Fatalf("cell %q", got)
			}
		})
	}
}

func TestReadRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      []byte
		f      Format
		lim    Limits
		reason string
	}{
		{"empty csv", []byte("  \n"), CSV, Limits{}, ReasonEmpty},
		{"too large", []byte("a;b\n1;2\n"), CSV, Limits{MaxBytes: 4}, ReasonTooLarge},
		{"too many rows", []byte("a;b\n1;2\n3;4\n"), CSV, Limits{MaxRows: 1}, ReasonTooLarge},
		{"not xlsx", []byte("a;b\n1;2\n"), XLSX, Limits{}, ReasonUnreadable},
		{"empty xlsx", nil, XLSX, Limits{}, ReasonEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read("file", tc.b, tc.f, tc.lim)
			e, ok := apierr.As(err)
			if !ok || e.Kind != apierr.KindInvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "file" || e.Violations[0].Reason != tc.reason {
				t.Fatalf("err = %#v, want INVALID_ARGUMENT on file with %s", err, tc.reason)
			}
		})
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]int64{"12,50": 1250, "12.5": 1250, "1 234,56 zł": 123456, "15 zł": 1500, "0": 0, "7,05": 705, "-3,10": -310, "100 PLN": 10000} {
		if got, err := ParseMoney(in); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "1,234.50", "12,505", "12,", "zł"} {
		if got, err := ParseMoney(in); err == nil {
			t.Errorf("ParseMoney(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": XLSX, "XLSX": XLSX, "csv": CSV, "csv_excel": CSVExcel} {
		if got, err := ParseFormat("format", in, XLSX); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("format", "ods", XLSX); err == nil {
		t.Error("ods accepted")
	}
}

// Fold of an ASCII string takes a shortcut past Unicode normalisation: the same keys as the long way.
func TestFoldASCII(t *testing.T) {
	testFoldShortcut(t, "aZz09_ -(.A\x01~")
}

// Fold of a Latin text (Polish, its neighbours' names) takes a shortcut past Unicode normalisation: the same keys.
func TestFoldLatin(t *testing.T) {
	var alpha []rune
	for r := rune(0x80); r < 0x180; r++ {
		alpha = append(alpha, r)
	}
	testFoldShortcut(t, "aZ09 _-ąęłŁóŚżŹ«»\u00a0ßæøđ"+string(alpha))
}

func testFoldShortcut(t *testing.T, alphabet string) {
	slow := foldSlow // the long way: normalise, drop the marks, join the letters and digits
	cases := []string{"", "_", "__", "a", "A", "a_b", "a__b", "_a", "a_", "Gmina (TERC)", "KOD-POCZTOWY", "area_health", "AREA_HEALTH",
		"MO", "mo", "tak", " tak ", "a b", "a-b", "1_2", "x\x00y", "\x7f", "Spółka z o.o.", "pomoc społeczna", "Dzieci i MŁODZIEŻ", "ŉ", "«a»", "a\u0328"}
	rng := rand.New(rand.NewPCG(7, 8))
	alpha := []rune(alphabet)
	for range 50000 {
		b := make([]rune, rng.IntN(10))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := Fold(s), slow(s); got != want || foldSlow(s) != want {
			t.Fatalf("Fold(%q) = %q, want %q", s, got, want)
		}
	}
}
