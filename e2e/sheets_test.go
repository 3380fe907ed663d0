package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/sheet"
)

// TestSpreadsheets exports services, providers, agreements and statistics through the gateway (content types,
// Content-Disposition, the bytes of the Excel PL CSV, who may) and imports the services export back.
func TestSpreadsheets(t *testing.T) {
	s := startSuite(t, suiteOptions{full: true})
	const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

	// The XLSX export of the whole demo catalogue, as anyone may read it.
	r := s.get(t, "/v1/services:export?format=xlsx")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != xlsxType || !bytes.HasPrefix(r.Body, []byte("PK\x03\x04")) {
		t.Fatalf("xlsx export: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body[:min(20, len(r.Body))])
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="uslugi-3022053-`) || !strings.HasSuffix(cd, `.xlsx"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	tab, err := sheet.ReadXLSX("file", r.Body, "", sheet.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	total := int64Field(t, s.get(t, "/v1/services?pageSize=1").wantOK(t), "totalSize")
	if int64(len(tab.Rows)) != total || tab.Header[2] != "Nazwa usługi" {
		t.Fatalf("the export has %d rows (header %q), the catalogue %d services", len(tab.Rows), tab.Header, total)
	}
	xlsx := r.Body

	// The Excel PL CSV with a filter: byte order mark, semicolons, CRLF, UTF-8 Polish letters.
	r = s.get(t, "/v1/services:export?format=csv_excel&filter=area%20%3D%20AREA_CULTURE")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8; header=present" {
		t.Fatalf("csv export: %s", r)
	}
	if !bytes.HasPrefix(r.Body, []byte("\xEF\xBB\xBFIdentyfikator;Klucz zewnętrzny;Nazwa usługi;")) || !bytes.Contains(r.Body, []byte(";kultura")) ||
		!bytes.HasSuffix(r.Body, []byte("\r\n")) {
		t.Fatalf("not an Excel PL CSV of culture services: %q", r.Body[:min(200, len(r.Body))])
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	// A bad format is a JSON error naming the field.
	if st := s.get(t, "/v1/services:export?format=ods").wantStatus(t, http.StatusBadRequest, "INVALID_FIELDS"); !st.hasViolation("format") {
		t.Errorf("the error does not name format: %+v", st)
	}

	// The XLSX export imports back unchanged (a dry run and a run), and only for editors.
	body, _ := json.Marshal(map[string]any{"content": base64.StdEncoding.EncodeToString(xlsx), "dryRun": true})
	s.send(t, http.MethodPost, "/v1/services:import", string(body)).wantStatus(t, http.StatusUnauthorized, "")
	before := s.latestRevision(t)
	m := s.edit(t, http.MethodPost, "/v1/services:import", string(body)).wantOK(t)
	if int64Field(t, m, "unchangedCount") != total || str(t, m, "format") != "IMPORT_FORMAT_XLSX" {
		t.Fatalf("import of the export: %v", m)
	}
	body, _ = json.Marshal(map[string]any{"content": base64.StdEncoding.EncodeToString(xlsx)})
	m = s.edit(t, http.MethodPost, "/v1/services:import", string(body)).wantOK(t)
	if int64Field(t, m, "unchangedCount") != total || s.latestRevision(t) != before {
		t.Fatalf("a re-import of the export changed something: %v", m)
	}
	// A CSV row creates a service, found by search.
	csv := "Klucz zewnętrzny;Nazwa usługi;Obszar;Grupy docelowe;Gmina (TERC);Godziny otwarcia\nE2E-1;Warsztaty „Żywa pamięć”;kultura;seniorzy;3022053;wt 10:00-12:00\n"
	body, _ = json.Marshal(map[string]any{"content": base64.StdEncoding.EncodeToString([]byte(csv)), "format": "IMPORT_FORMAT_CSV"})
	m = s.edit(t, http.MethodPost, "/v1/services:import", string(body)).wantOK(t)
	rows, _ := m["rows"].([]any)
	if int64Field(t, m, "createdCount") != 1 || len(rows) != 1 {
		t.Fatalf("csv import: %v", m)
	}
	name := str(t, rows[0].(map[string]any), "service")
	if got := str(t, s.get(t, "/v1/"+name).wantOK(t), "displayName"); got != "Warsztaty „Żywa pamięć”" {
		t.Fatalf("imported service %q", got)
	}

	// Providers and agreements: public organisation data.
	r = s.get(t, "/v1/providers:export?format=csv")
	if r.Status != http.StatusOK || !bytes.HasPrefix(r.Body, []byte("Identyfikator,Nazwa organizacji,Pełna nazwa,Forma prawna,NIP,REGON,KRS,")) ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="realizatorzy-`) {
		t.Fatalf("providers export: %s", r)
	}
	r = s.get(t, "/v1/agreements:export")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != xlsxType {
		t.Fatalf("agreements export: %s", r)
	}
	if tab, err := sheet.ReadXLSX("file", r.Body, "", sheet.Limits{}); err != nil || tab.Header[1] != "Numer umowy" || len(tab.Rows) == 0 {
		t.Fatalf("agreements sheet: %v %v", tab, err)
	}

	// Statistics: staff only, as GetStatistics.
	s.get(t, "/v1/statistics:export").wantStatus(t, http.StatusUnauthorized, "")
	r = s.do(t, http.MethodGet, "/v1/statistics:export?format=csv_excel", nil, s.as(t, "coordinator"))
	if r.Status != http.StatusOK || !bytes.HasPrefix(r.Body, []byte("\xEF\xBB\xBFWskaźnik;Kategoria;Wartość\r\nSkierowania ogółem;;")) {
		t.Fatalf("statistics export: %s", r)
	}
	s.do(t, http.MethodGet, "/v1/statistics:export", nil, s.asProvider(t, "0194c050-0000-7000-8000-0000000000aa")).wantStatus(t, http.StatusForbidden, "")
}
