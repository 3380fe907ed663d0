package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/sheet"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

func TestExportProvidersExcelPL(t *testing.T) {
	h := start(t)
	p, _ := h.providerWithAgreement(t, 10)
	other := validProvider()
	other.DisplayName, other.Kind = "Spółdzielnia Socjalna „Źródło”", providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE
	h.createProvider(t, other)

	var md metadata.MD
	// Public organisation data: an anonymous caller exports as it lists.
	body, err := h.client.ExportProviders(h.as(t, auth.RoleAnonymous), &providerv1.ExportProvidersRequest{Format: "csv_excel",
		Filter: "kind = PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION"}, grpc.Header(&md))
	if err != nil {
		t.Fatal(err)
	}
	if body.GetContentType() != "text/csv; charset=utf-8; header=present" {
		t.Errorf("content type %q", body.GetContentType())
	}
	if cd := strings.Join(md.Get("content-disposition"), ""); !strings.HasPrefix(cd, `attachment; filename="realizatorzy-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("content disposition %q", cd)
	}
	b := body.GetData()
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBFIdentyfikator;Nazwa organizacji;Pełna nazwa;Forma prawna;NIP;REGON;KRS;")) {
		t.Fatalf("header %q", b[:min(80, len(b))])
	}
	lines := strings.Split(string(b), "\r\n")
	if len(lines) != 3 { // header, the one foundation, the final CRLF
		t.Fatalf("the filter was not applied: %q", lines)
	}
	want := strings.Join([]string{strings.TrimPrefix(p.GetName(), "providers/"), "Stowarzyszenie „Sąsiedzi” w Rawiczu",
		"Stowarzyszenie Pomocy Sąsiedzkiej „Sąsiedzi” w Rawiczu", "fundacja lub stowarzyszenie", p.GetNip(), p.GetRegon(), p.GetKrs(),
		"ul. Lipowa 3", "63-900", "Rawicz", "wielkopolskie", "3022053", "+48 65 546 11 22", "biuro@sasiedzi.example", "https://sasiedzi.example", "aktywny"}, ";")
	if !strings.HasPrefix(lines[1], want+";") {
		t.Fatalf("row\n%s\nwant prefix\n%s", lines[1], want)
	}
	// The Excel PL file reads back with the platform's reader, Polish letters intact.
	tab, err := sheet.ReadCSV("file", b, sheet.Limits{})
	if err != nil || tab.Separator != ';' || tab.Rows[0].Cell(1) != "Stowarzyszenie „Sąsiedzi” w Rawiczu" {
		t.Fatalf("read back: %v %v", tab, err)
	}
}

func TestExportAgreementsXLSX(t *testing.T) {
	h := start(t)
	p, a := h.providerWithAgreement(t, 25)
	body, err := h.client.ExportAgreements(h.as(t, auth.RoleCoordinator), &providerv1.ExportAgreementsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Umowy")
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v %v", rows, err)
	}
	if strings.Join(rows[0][:10], "|") != "Identyfikator umowy|Numer umowy|Nazwa|Realizator|NIP realizatora|Usługa|Podstawa prawna|Od|Do|Limit miejsc" {
		t.Fatalf("header %q", rows[0])
	}
	r := rows[1]
	if !strings.HasSuffix(a.GetName(), "/"+r[0]) || r[1] != "CUS.524.7.2026" || r[3] != p.GetDisplayName() || r[4] != p.GetNip() ||
		r[6] != "otwarty konkurs ofert (DPPiW)" || r[7] != "2026-01-01" || r[8] != "2026-12-31" || r[9] != "25" || r[10] != "godziny" {
		t.Fatalf("row %q", r)
	}
	// Dates and the limit are typed cells, so a spreadsheet can sort and sum them.
	for cell, want := range map[string]excelize.CellType{"H2": excelize.CellTypeUnset, "J2": excelize.CellTypeUnset} {
		if got, _ := f.GetCellType("Umowy", cell); got != want {
			t.Errorf("%s is %v, want a number", cell, got)
		}
	}
	// One provider's agreements only; a bad parent is the list's error.
	if _, err := h.client.ExportAgreements(h.admin(t), &providerv1.ExportAgreementsRequest{Parent: "providers/x"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad parent: %v", err)
	}
	if _, err := h.client.ExportProviders(h.admin(t), &providerv1.ExportProvidersRequest{Format: "pdf"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad format: %v", err)
	}
}
