package server_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// polishServices are services whose every sheet column holds something, with all of ą ć ę ł ń ó ś ź ż.
func polishServices() []*cataloguev1.Service {
	a := validService()
	a.DisplayName = "Klub Seniora „Pod Lipami” – zażółć gęślą jaźń"
	a.AlternateName = "Klub „Lipy”"
	a.Description = "Spotkania; zajęcia ruchowe, warsztaty \"rękodzieła\"\ni wycieczki."
	a.MaximumAge = i32(99)
	a.RequiresDecision = true
	a.Languages = []string{"pl", "uk"}
	a.Fee.PriceGrosze = 1250
	a.Fee.Description = "Zwolnienie przy dochodzie do 150% kryterium."
	a.Locations[0].Accessibility = &cataloguev1.Accessibility{WheelchairAccessible: true, Description: "podjazd"}
	a.Locations[0].OpeningHours = []*cataloguev1.OpeningHours{
		{Day: cataloguev1.Weekday_WEEKDAY_MONDAY, OpensAt: "08:00", ClosesAt: "16:00", Description: "dyżur"},
		{Day: cataloguev1.Weekday_WEEKDAY_TUESDAY, OpensAt: "08:00", ClosesAt: "16:00"},
		{Day: cataloguev1.Weekday_WEEKDAY_WEDNESDAY, OpensAt: "08:00", ClosesAt: "12:00"},
		{Day: cataloguev1.Weekday_WEEKDAY_WEDNESDAY, OpensAt: "13:00", ClosesAt: "18:00"},
		{Day: cataloguev1.Weekday_WEEKDAY_SATURDAY, OpensAt: "09:00", ClosesAt: "24:00"},
	}
	b := &cataloguev1.Service{
		DisplayName:  "Żłobek Miejski „Źdźbło”",
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_POLICY},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3, cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES},
		Status:       cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED,
		Locations:    []*cataloguev1.Location{{Name: "Żłobek", TerytCode: "3022053", Address: &typev1.Address{Address_1: "ul. Śląska 7", PostalCode: "63-900", City: "Rawicz"}}},
		Fee:          &cataloguev1.FeeRule{PriceGrosze: 45000, Unit: cataloguev1.FeeUnit_FEE_UNIT_MONTH},
	}
	c := &cataloguev1.Service{
		DisplayName: "Poradnictwo rodzinne",
		Areas:       []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_SUPPORT, cataloguev1.Area_AREA_HEALTH_PROMOTION},
	}
	return []*cataloguev1.Service{a, b, c}
}

func export(t *testing.T, h *harness, format, filter string) ([]byte, string, string) {
	t.Helper()
	var md metadata.MD
	body, err := h.client.ExportServices(ctx(t), &cataloguev1.ExportServicesRequest{Format: format, Filter: filter}, grpc.Header(&md))
	if err != nil {
		t.Fatalf("export %s: %v", format, err)
	}
	return body.GetData(), body.GetContentType(), strings.Join(md.Get("content-disposition"), "")
}

func importFile(t *testing.T, h *harness, req *cataloguev1.ImportServicesRequest) *cataloguev1.ImportServicesResponse {
	t.Helper()
	out, err := h.client.ImportServices(ctx(t), req)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return out
}

func outcomes(r *cataloguev1.ImportServicesResponse) []string {
	var out []string
	for _, row := range r.GetRows() {
		out = append(out, strings.TrimPrefix(row.GetOutcome().String(), "IMPORT_OUTCOME_"))
	}
	return out
}

// stripServer removes what the server sets on every write, to compare services across instances.
func stripServer(s *cataloguev1.Service) *cataloguev1.Service {
	s = proto.Clone(s).(*cataloguev1.Service)
	s.Etag, s.CreateTime, s.UpdateTime = "", nil, nil
	return s
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		format, contentType, ext string
	}{
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"},
		{"csv", "text/csv; charset=utf-8; header=present", ".csv"},
		{"csv_excel", "text/csv; charset=utf-8; header=present", ".csv"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			h := start(t)
			var created []*cataloguev1.Service
			for _, s := range polishServices() {
				created = append(created, create(t, h, s))
			}
			file, ct, cd := export(t, h, tc.format, "")
			if ct != tc.contentType {
				t.Errorf("content type %q, want %q", ct, tc.contentType)
			}
			if !strings.HasPrefix(cd, `attachment; filename="uslugi-3022053-`) || !strings.HasSuffix(cd, tc.ext+`"`) {
				t.Errorf("content disposition %q", cd)
			}

			// The same instance: every row names a stored service that it does not change.
			rev := h.store.Backend().Revision()
			rep := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: file})
			if got := strings.Join(outcomes(rep), ","); got != "UNCHANGED,UNCHANGED,UNCHANGED" {
				t.Fatalf("re-import of the export: %s %v", got, rep.GetRows())
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("an unchanged import wrote something")
			}

			// A fresh instance: the import creates the same services (ids, names, places, hours, fees).
			h2 := start(t)
			rep = importFile(t, h2, &cataloguev1.ImportServicesRequest{Content: file})
			if rep.GetCreatedCount() != 3 || rep.GetInvalidCount() != 0 {
				t.Fatalf("import into an empty catalogue: %v", rep.GetRows())
			}
			for _, want := range created {
				got, err := h2.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: want.GetName()})
				if err != nil {
					t.Fatalf("%s not imported under its id: %v", want.GetDisplayName(), err)
				}
				w := stripServer(want)
				// What the sheet does not carry: the second phone field, coordinates, interval notes, fee bands.
				w.Locations = nil
				w.Fee = nil
				w.Phones = nil
				g := stripServer(got)
				gotLoc, gotFee, gotPhones := g.Locations, g.Fee, g.Phones
				g.Locations, g.Fee, g.Phones = nil, nil, nil
				if !proto.Equal(w, g) {
					t.Errorf("imported service differs:\n got %v\nwant %v", g, w)
				}
				if len(want.GetLocations()) > 0 {
					wl, gl := want.GetLocations()[0], gotLoc[0]
					if gl.GetAddress().GetAddress_1() != wl.GetAddress().GetAddress_1() || gl.GetTerytCode() != wl.GetTerytCode() ||
						gl.GetName() != wl.GetName() || gl.GetAccessibility().GetWheelchairAccessible() != wl.GetAccessibility().GetWheelchairAccessible() ||
						len(gl.GetOpeningHours()) != len(wl.GetOpeningHours()) {
						t.Errorf("place differs:\n got %v\nwant %v", gl, wl)
					}
				}
				if gotFee.GetPriceGrosze() != want.GetFee().GetPriceGrosze() || gotFee.GetUnit() != want.GetFee().GetUnit() {
					t.Errorf("fee %v, want %v", gotFee, want.GetFee())
				}
				if len(want.GetPhones()) > 0 && gotPhones[0].GetNumber() != want.GetPhones()[0].GetNumber() {
					t.Errorf("phone %v", gotPhones)
				}
			}
			// The search index knows the imported services.
			res, err := h2.client.SearchServices(ctx(t), &cataloguev1.SearchServicesRequest{Query: "poradnictwo rodzine"})
			if err != nil || len(res.GetResults()) == 0 || res.GetResults()[0].GetService().GetDisplayName() != "Poradnictwo rodzinne" {
				t.Fatalf("search after import: %v %v", res, err)
			}
		})
	}
}

func TestExportExcelPLBytes(t *testing.T) {
	h := start(t)
	for _, s := range polishServices() {
		create(t, h, s)
	}
	file, _, _ := export(t, h, "csv_excel", "area = AREA_FAMILY_POLICY")
	if !bytes.HasPrefix(file, []byte("\xEF\xBB\xBFIdentyfikator;Klucz zewnętrzny;Nazwa usługi;")) {
		t.Fatalf("not an Excel PL CSV header: %q", file[:min(60, len(file))])
	}
	lines := strings.Split(string(file), "\r\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("want the header, one service and a final CRLF; got %q", lines)
	}
	for _, want := range []string{";Żłobek Miejski „Źdźbło”;", ";polityka prorodzinna;dzieci do lat 3, rodziny;", ";3022053;Żłobek;ul. Śląska 7;63-900;Rawicz;", ";450,00;miesiąc;", ";czasowo zamknięta;"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %s", want, lines[1])
		}
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	h := start(t)
	csv := "Nazwa usługi;Obszar;Grupy docelowe;Gmina (TERC);Godziny otwarcia;Odpłatność (zł);Jednostka odpłatności\n" +
		"Świetlica „Promyk”;wspieranie rodziny;dzieci i młodzież;3022053;pn-pt 14:00-18:00;0;\n" +
		"Usługi opiekuńcze;pomoc społeczna;seniorzy, opiekunowie;3022053;pn-nd 7:00-20:00;32,50;godzina\n"
	rev := h.store.Backend().Revision()
	rep := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv), DryRun: true})
	if got := strings.Join(outcomes(rep), ","); got != "CREATED,CREATED" || !rep.GetDryRun() || rep.GetFormat() != cataloguev1.ImportFormat_IMPORT_FORMAT_CSV {
		t.Fatalf("dry run report: %s %v", got, rep)
	}
	if h.store.Backend().Revision() != rev {
		t.Fatal("a dry run wrote")
	}
	list, _ := h.client.ListServices(ctx(t), &cataloguev1.ListServicesRequest{})
	if len(list.GetServices()) != 0 {
		t.Fatalf("a dry run created %d services", len(list.GetServices()))
	}
	// A dry run names no service it would create (the id is given when it is written); the run creates them.
	real := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv)})
	for i, row := range real.GetRows() {
		if rep.GetRows()[i].GetService() != "" || row.GetService() == "" || row.GetOutcome() != cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED {
			t.Errorf("row %d: run %v, dry run %v", i, row, rep.GetRows()[i])
		}
	}
	// A dry run of the same file now reports the services the run created.
	again := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv), DryRun: true})
	for i, row := range again.GetRows() {
		if row.GetService() != real.GetRows()[i].GetService() || row.GetOutcome() != cataloguev1.ImportOutcome_IMPORT_OUTCOME_UNCHANGED {
			t.Errorf("row %d: second dry run %v, run %v", i, row, real.GetRows()[i])
		}
	}
	got, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: real.GetRows()[1].GetService()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetFee().GetPriceGrosze() != 3250 || got.GetFee().GetUnit() != cataloguev1.FeeUnit_FEE_UNIT_HOUR || len(got.GetLocations()[0].GetOpeningHours()) != 7 {
		t.Fatalf("imported service: %v", got)
	}
}

func TestImportRerunIsUnchanged(t *testing.T) {
	h := start(t)
	csv := "Klucz zewnętrzny,Nazwa usługi,Obszar,Telefon,Strona www\r\n" +
		"OPS-1,Klub Integracji Społecznej,reintegracja zawodowa i społeczna,+48 65 546 23 00,www.kis.rawicz.example\r\n" +
		"OPS-2,Mieszkanie wspomagane,mieszkalnictwo,,\r\n"
	first := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv)})
	if got := strings.Join(outcomes(first), ","); got != "CREATED,CREATED" {
		t.Fatalf("first run: %s %v", got, first.GetRows())
	}
	changes, _ := h.client.ListChanges(ctx(t), &cataloguev1.ListChangesRequest{PageSize: 100})
	rev := h.store.Backend().Revision()
	second := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv)})
	if got := strings.Join(outcomes(second), ","); got != "UNCHANGED,UNCHANGED" {
		t.Fatalf("second run: %s", got)
	}
	after, _ := h.client.ListChanges(ctx(t), &cataloguev1.ListChangesRequest{PageSize: 100})
	if h.store.Backend().Revision() != rev || len(after.GetChanges()) != len(changes.GetChanges()) || len(changes.GetChanges()) != 2 {
		t.Fatalf("a re-run added changes: %d -> %d", len(changes.GetChanges()), len(after.GetChanges()))
	}
	// A changed cell updates only that service, with one change-feed entry; a reader who had it (in the read
	// cache) gets the new version.
	if svc, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: first.GetRows()[1].GetService()}); err != nil || svc.GetDisplayName() != "Mieszkanie wspomagane" {
		t.Fatalf("service before the change: %v %v", svc, err)
	}
	third := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(strings.Replace(csv, "Mieszkanie wspomagane", "Mieszkanie treningowe", 1))})
	if got := strings.Join(outcomes(third), ","); got != "UNCHANGED,UPDATED" {
		t.Fatalf("third run: %s", got)
	}
	svc, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: third.GetRows()[1].GetService()})
	if err != nil || svc.GetDisplayName() != "Mieszkanie treningowe" {
		t.Fatalf("updated service: %v %v", svc, err)
	}
	first0, _ := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: first.GetRows()[0].GetService()})
	if first0.GetUrl() != "https://www.kis.rawicz.example" {
		t.Errorf("url %q", first0.GetUrl())
	}
}

func TestImportInvalidRowsAreReportedAndNotWritten(t *testing.T) {
	h := start(t)
	csv := "Nazwa usługi;Obszar;Gmina (TERC);Kod pocztowy;Godziny otwarcia;Odpłatność (zł);E-mail\n" +
		"Klub Młodzieżowy;kultura;3022053;63-900;pn 15:00-19:00;;\n" +
		"Zły TERC;kultura;3022059;63-900;;;\n" +
		"Złe dane;gotowanie;3022053;63900;pn 19:00-15:00;12,505;nie-mail\n" +
		";kultura;;;;;\n" +
		"Klub Młodzieżowy;kultura;;;;;\n"
	rev := h.store.Backend().Revision()
	rep := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(csv)})
	if got := strings.Join(outcomes(rep), ","); got != "CREATED,INVALID,INVALID,INVALID,INVALID" {
		t.Fatalf("outcomes %s %v", got, rep.GetRows())
	}
	if rep.GetCreatedCount() != 1 || rep.GetInvalidCount() != 4 {
		t.Fatalf("counts %v", rep)
	}
	cols := func(i int) string {
		var c []string
		for _, v := range rep.GetRows()[i].GetViolations() {
			c = append(c, v.GetColumn())
		}
		return strings.Join(c, "|")
	}
	for i, want := range map[int]string{
		1: "Gmina (TERC)",
		2: "Obszar|Godziny otwarcia|Odpłatność (zł)|Kod pocztowy|E-mail",
		3: "Nazwa usługi",
	} {
		got := cols(i)
		for _, c := range strings.Split(want, "|") {
			if !strings.Contains("|"+got+"|", "|"+c+"|") {
				t.Errorf("row %d: violations on %q, want one on %q (%v)", rep.GetRows()[i].GetRow(), got, c, rep.GetRows()[i].GetViolations())
			}
		}
	}
	if rep.GetRows()[2].GetRow() != 4 || rep.GetRows()[4].GetRow() != 6 {
		t.Errorf("row numbers %d, %d; want the spreadsheet's 4, 6", rep.GetRows()[2].GetRow(), rep.GetRows()[4].GetRow())
	}
	if v := rep.GetRows()[4].GetViolations(); len(v) != 1 || !strings.Contains(v[0].GetDescription(), "row 2") {
		t.Errorf("a repeated service is not reported as such: %v", v)
	}
	if n := h.store.Backend().Revision() - rev; n != 1 {
		t.Fatalf("%d writes, want 1 (the valid row only)", n)
	}
	for _, row := range rep.GetRows()[1:] {
		if row.GetService() != "" {
			t.Errorf("invalid row %d names %s", row.GetRow(), row.GetService())
		}
	}
}

func TestImportHSDSSample(t *testing.T) {
	h := start(t)
	b, err := os.ReadFile("testdata/hsds-jarocin.json")
	if err != nil {
		t.Fatal(err)
	}
	rep := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: b})
	if rep.GetFormat() != cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON {
		t.Fatalf("format %v", rep.GetFormat())
	}
	if got := strings.Join(outcomes(rep), ","); got != "CREATED,CREATED,CREATED" {
		t.Fatalf("outcomes %s %v", got, rep.GetRows())
	}
	if rep.GetRows()[1].GetSourceId() != "jarocin-npp-2026" {
		t.Errorf("source id %q", rep.GetRows()[1].GetSourceId())
	}
	senior, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: rep.GetRows()[0].GetService()})
	if err != nil {
		t.Fatal(err)
	}
	loc := senior.GetLocations()[0]
	if senior.GetDisplayName() != "Dzienny Dom „Senior+” w Jarocinie" || senior.GetMinimumAge() != 60 ||
		!proto.Equal(&cataloguev1.Service{Areas: senior.GetAreas(), TargetGroups: senior.GetTargetGroups()},
			&cataloguev1.Service{Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}, TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS}}) ||
		senior.GetFee().GetPriceGrosze() != 1550 || senior.GetFee().GetUnit() != cataloguev1.FeeUnit_FEE_UNIT_DAY ||
		senior.GetPhones()[0].GetExtension() != "21" || senior.GetServiceAreas()[0].GetTerytCode() != "3006023" {
		t.Errorf("service: %v", senior)
	}
	if loc.GetId() != "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7081" || loc.GetAddress().GetCity() != "Jarocin" || loc.GetAddress().GetPostalCode() != "63-200" ||
		len(loc.GetOpeningHours()) != 5 || !loc.GetAccessibility().GetWheelchairAccessible() || loc.GetCoordinates().GetLatitude() != 51.9726 {
		t.Errorf("place: %v", loc)
	}
	npp, _ := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: rep.GetRows()[1].GetService()})
	hours := npp.GetLocations()[0].GetOpeningHours()
	if len(hours) != 3 || hours[0].GetDescription() != "po wcześniejszym umówieniu" || hours[2].GetDay() != cataloguev1.Weekday_WEEKDAY_SATURDAY ||
		npp.GetAreas()[0] != cataloguev1.Area_AREA_CIVIC_ACTIVITY || npp.GetLocations()[0].GetAddress().GetCountry() != "PL" || npp.GetFee() != nil {
		t.Errorf("legal aid service: %v", npp)
	}
	// A second run of the same export changes nothing.
	rev := h.store.Backend().Revision()
	again := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: b, Format: cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON})
	if got := strings.Join(outcomes(again), ","); got != "UNCHANGED,UNCHANGED,UNCHANGED" || h.store.Backend().Revision() != rev {
		t.Fatalf("re-run: %s %v", got, again.GetRows())
	}
	// A service without areas of our taxonomy is reported on its attributes.
	bad := `[{"id":"x1","name":"Kurs języka polskiego","attributes":[{"taxonomy_term":{"term":"Education"}}]},{"name":"Bez id"}]`
	rep = importFile(t, h, &cataloguev1.ImportServicesRequest{Content: []byte(bad)})
	if got := strings.Join(outcomes(rep), ","); got != "INVALID,INVALID" {
		t.Fatalf("outcomes %s", got)
	}
	if v := rep.GetRows()[0].GetViolations(); len(v) == 0 || !strings.HasPrefix(v[0].GetColumn(), "attributes") {
		t.Errorf("violations %v", v)
	}
	if v := rep.GetRows()[1].GetViolations(); len(v) == 0 || v[0].GetColumn() != "id" {
		t.Errorf("violations %v", v)
	}
}

func TestImportRefusesBadFiles(t *testing.T) {
	h := start(t)
	for name, req := range map[string]*cataloguev1.ImportServicesRequest{
		"empty":          {},
		"unknown column": {Content: []byte("Nazwa usługi;Kolor\nKlub;zielony\n")},
		"no name column": {Content: []byte("Obszar;Opis\nkultura;x\n")},
		"header only":    {Content: []byte("Nazwa usługi;Obszar\n")},
		"not xlsx":       {Content: []byte("Nazwa usługi\nKlub\n"), Format: cataloguev1.ImportFormat_IMPORT_FORMAT_XLSX},
		"broken json":    {Content: []byte(`[{"id": "a", "name": `)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.client.ImportServices(ctx(t), req)
			code, _, fields := errorInfo(t, err)
			if code != codes.InvalidArgument || len(fields) == 0 || fields[0] != "content" {
				t.Fatalf("got %v %v, want INVALID_ARGUMENT on content", err, fields)
			}
		})
	}
}

func TestImportRefusesFilesPastTheLimit(t *testing.T) {
	// Past the default gRPC message limit the transport refuses first; a server configured with a larger limit
	// still refuses a file past 4 MiB, which the handler checks itself.
	h := start(t)
	_, err := h.srv.ImportServices(ctx(t), &cataloguev1.ImportServicesRequest{Content: bytes.Repeat([]byte("a"), 4<<20+1)})
	if e, ok := apierr.As(err); !ok || e.Kind != apierr.KindInvalidArgument || e.Violations[0].Field != "content" {
		t.Fatalf("got %v", err)
	}
}

func TestImportRequestIDReplays(t *testing.T) {
	h := start(t)
	csv := []byte("Nazwa usługi;Obszar\nKlub Seniora;kultura\n")
	first := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: csv, RequestId: "import-1"})
	again := importFile(t, h, &cataloguev1.ImportServicesRequest{Content: csv, RequestId: "import-1"})
	if !proto.Equal(first, again) || first.GetCreatedCount() != 1 {
		t.Fatalf("replay differs:\n%v\n%v", first, again)
	}
	_, err := h.client.ImportServices(ctx(t), &cataloguev1.ImportServicesRequest{Content: []byte("Nazwa usługi;Obszar\nInny;kultura\n"), RequestId: "import-1"})
	if code, reason, _ := errorInfo(t, err); code != codes.InvalidArgument || reason != "REQUEST_ID_REUSED" {
		t.Fatalf("reuse: %v", err)
	}
}

func TestExportRefusesBadRequests(t *testing.T) {
	h := start(t)
	for name, req := range map[string]*cataloguev1.ExportServicesRequest{
		"format": {Format: "ods"},
		"filter": {Filter: "colour = green"},
		"order":  {OrderBy: "colour"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.client.ExportServices(ctx(t), req)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("got %v", err)
			}
		})
	}
}
