package server_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

type rowWant struct {
	action providerv1.ImportAction
	column string // a violated column, for rejected rows
	text   string // a fragment of its description
}

const (
	created   = providerv1.ImportAction_IMPORT_ACTION_CREATED
	updated   = providerv1.ImportAction_IMPORT_ACTION_UPDATED
	unchanged = providerv1.ImportAction_IMPORT_ACTION_UNCHANGED
	rejected  = providerv1.ImportAction_IMPORT_ACTION_REJECTED
)

func checkReport(t *testing.T, rep *providerv1.ImportProvidersResponse, want map[int32]rowWant) {
	t.Helper()
	if len(rep.GetRows()) != len(want) {
		for _, r := range rep.GetRows() {
			t.Logf("row %d %v %v", r.GetRow(), r.GetAction(), r.GetViolations())
		}
		t.Fatalf("%d rows reported, want %d", len(rep.GetRows()), len(want))
	}
	counts := map[providerv1.ImportAction]int32{}
	for _, r := range rep.GetRows() {
		w, ok := want[r.GetRow()]
		if !ok {
			t.Fatalf("unexpected row %d: %v", r.GetRow(), r)
		}
		counts[r.GetAction()]++
		if r.GetAction() != w.action {
			t.Errorf("row %d (%s): %v %v, want %v", r.GetRow(), r.GetDisplayName(), r.GetAction(), r.GetViolations(), w.action)
			continue
		}
		if w.action != rejected {
			if len(r.GetViolations()) != 0 {
				t.Errorf("row %d: violations on a %v row: %v", r.GetRow(), r.GetAction(), r.GetViolations())
			}
			continue
		}
		found := false
		for _, v := range r.GetViolations() {
			if v.GetColumn() == w.column && strings.Contains(v.GetDescription(), w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("row %d: violations %v, want column %q with %q", r.GetRow(), r.GetViolations(), w.column, w.text)
		}
	}
	if rep.GetCreatedCount() != counts[created] || rep.GetUpdatedCount() != counts[updated] ||
		rep.GetUnchangedCount() != counts[unchanged] || rep.GetRejectedCount() != counts[rejected] {
		t.Errorf("counts %d/%d/%d/%d disagree with the rows %v", rep.GetCreatedCount(), rep.GetUpdatedCount(),
			rep.GetUnchangedCount(), rep.GetRejectedCount(), counts)
	}
}

// TestImportProvidersCSV imports a spreadsheet export (UTF-8 with a byte order mark, semicolons, Polish
// headers) with good, bad and duplicate rows: a dry run writes nothing and says what would happen, the import
// does it in one transaction, and a re-run changes nothing.
func TestImportProvidersCSV(t *testing.T) {
	h := start(t)
	ctx := h.as(t, "organiser")
	// Registered before the import: the file updates one's e-mail; another lends its KRS to a conflicting row.
	reg := h.createProvider(t, validProvider())
	other := h.createProvider(t, validProvider())

	nip1, nip2, nip3, nip4 := nextNIP(), nextNIP(), nextNIP(), nextNIP()
	badNIP := nip4[:9] + string('0'+(nip4[9]-'0'+1)%10)
	if badNIP[9] == nip4[9] {
		t.Fatal("bad NIP equals good")
	}
	dash := func(n string) string { return n[:3] + "-" + n[3:6] + "-" + n[6:8] + "-" + n[8:] }
	lines := []string{
		"\uFEFFNazwa;Forma prawna;NIP;REGON;KRS;Adres;Kod pocztowy;Miejscowość;TERYT;E-mail;Telefon;WWW",
		/* 2 */ fmt.Sprintf("Fundacja „Dobry Start”;fundacja;%s;%s;%s;ul. Wały Dwernickiego 8;63-900;Rawicz;3022053;kontakt@dobrystart.example;+48 65 546 27 40;www.dobrystart.example", nip1, nextREGON(), nextKRS()),
		/* 3 */ fmt.Sprintf(`Spółdzielnia Socjalna "Smaki Rawicza";Spółdzielnia socjalna;%s;%s;%s;ul. Rynek 15;63-900;Rawicz;3022053;bistro@smaki.example;;`, dash(nip2), nextREGON(), strings.TrimLeft(nextKRS(), "0")),
		/* 4 */ fmt.Sprintf("Żłobek Miejski w Rawiczu;JEDNOSTKA GMINNA;;%s;;ul. Kopernika 12;63-900;Rawicz;3022053;;;", nextREGON()),
		/* 5 */ "Wolontariusze „Pomocna Dłoń”;grupa nieformalna;;;;;;Rawicz;;;;",
		/* 6 */ fmt.Sprintf("%s;stowarzyszenie;%s;%s;%s;%s;%s;%s;%s;nowy@sasiedzi.example;%s;%s", reg.GetDisplayName(), reg.GetNip(), reg.GetRegon(), reg.GetKrs(),
			reg.GetAddress().GetAddress_1(), reg.GetAddress().GetPostalCode(), reg.GetAddress().GetCity(), reg.GetTerytCode(), reg.GetPhones()[0].GetNumber(), reg.GetWebsite()),
		/* 7 */ fmt.Sprintf("Fundacja Zły NIP;fundacja;%s;%s;;;;;;;;", badNIP, nextREGON()),
		/* 8 */ fmt.Sprintf("Kancelaria;spółka partnerska;%s;%s;;;;;;;;", nextNIP(), nextREGON()),
		/* 9 */ fmt.Sprintf("Spółdzielnia bez KRS;spółdzielnia socjalna;%s;%s;;;;;;;;", nextNIP(), nextREGON()),
		/* 10 */ fmt.Sprintf("Fundacja zły kod;fundacja;%s;%s;;ul. Polna 1;63900;Rawicz;;;;", nextNIP(), nextREGON()),
		/* 11 */ fmt.Sprintf("Fundacja zły TERYT;fundacja;%s;%s;;;;;3022056;;;", nextNIP(), nextREGON()),
		/* 12 */ fmt.Sprintf("Fundacja zły e-mail;fundacja;%s;%s;;;;;;biuro(at)fundacja.pl;;", nextNIP(), nextREGON()),
		/* 13 */ fmt.Sprintf("Szkoła z KRS;jednostka gminna;;%s;%s;;;;;;;", nextREGON(), nextKRS()),
		/* 14 */ fmt.Sprintf("Fundacja „Dobry Start” (kopia);fundacja;PL%s;%s;;;;;;;;", nip1, nextREGON()),
		/* 15 */ ";;;;;;;;;;;",
		/* 16 */ fmt.Sprintf("Za dużo komórek;fundacja;%s;%s;;;;;;;;;nadmiarowa", nip3, nextREGON()),
		/* 17 */ fmt.Sprintf("Konflikt;stowarzyszenie;%s;%s;%s;;;;;;;", reg.GetNip(), reg.GetRegon(), other.GetKrs()),
		/* 18 */ ";fundacja;;;;;;;;;;",
	}
	file := strings.Join(lines, "\r\n") + "\r\n"
	want := map[int32]rowWant{
		2: {action: created}, 3: {action: created}, 4: {action: created}, 5: {action: created}, 6: {action: updated},
		7:  {rejected, "NIP", "check digit"},
		8:  {rejected, "Forma prawna", "not a known legal form"},
		9:  {rejected, "KRS", "required for a social cooperative"},
		10: {rejected, "Kod pocztowy", "NN-NNN"},
		11: {rejected, "TERYT", "type digit"},
		12: {rejected, "E-mail", "e-mail address"},
		13: {rejected, "KRS", "gmina units are not entered in KRS"},
		14: {rejected, "NIP", "repeats row 2"},
		16: {rejected, "", "header has 12 columns"},
		17: {rejected, "KRS", "is registered to " + other.GetName()},
		18: {rejected, "Nazwa", "is required"},
	}

	// Dry run: the report, nothing written.
	rev := h.store.Backend().Revision()
	dry, err := h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, dry, want)
	if !dry.GetDryRun() || dry.GetSeparator() != ";" || h.store.Backend().Revision() != rev {
		t.Fatalf("dry run: dry_run %v separator %q, revision %d -> %d", dry.GetDryRun(), dry.GetSeparator(), rev, h.store.Backend().Revision())
	}
	for _, r := range dry.GetRows() {
		if r.GetAction() == created && r.GetProvider() != "" {
			t.Fatalf("a dry run names a provider it did not create: %v", r)
		}
	}

	// The import: the same report, and the providers are there.
	rep, err := h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, want)
	if h.store.Backend().Revision() != rev+5 {
		t.Fatalf("revision %d -> %d, want 5 writes", rev, h.store.Backend().Revision())
	}
	byRow := map[int32]*providerv1.ImportRowResult{}
	for _, r := range rep.GetRows() {
		byRow[r.GetRow()] = r
	}
	if byRow[6].GetProvider() != reg.GetName() || strings.Join(byRow[6].GetChangedFields(), ",") != "email" {
		t.Fatalf("update of the registered provider: %v", byRow[6])
	}
	coop, err := h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: byRow[3].GetProvider()})
	if err != nil {
		t.Fatal(err)
	}
	if coop.GetNip() != nip2 || len(coop.GetKrs()) != 10 || coop.GetDisplayName() != `Spółdzielnia Socjalna "Smaki Rawicza"` ||
		coop.GetKind() != providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE || coop.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE {
		t.Fatalf("imported cooperative: %v", coop)
	}
	fund, _ := h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: byRow[2].GetProvider()})
	if fund.GetWebsite() != "https://www.dobrystart.example" || fund.GetPhones()[0].GetNumber() != "+48 65 546 27 40" ||
		fund.GetAddress().GetCity() != "Rawicz" || fund.GetAddress().GetCountry() != "PL" {
		t.Fatalf("imported foundation: %v", fund)
	}

	// The re-run: every accepted row is unchanged, the rejected rows are rejected again, nothing is written.
	rev = h.store.Backend().Revision()
	again, err := h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}})
	if err != nil {
		t.Fatal(err)
	}
	rerun := map[int32]rowWant{}
	for row, w := range want {
		if w.action != rejected {
			w.action = unchanged
		}
		rerun[row] = w
	}
	checkReport(t, again, rerun)
	if h.store.Backend().Revision() != rev {
		t.Fatal("a re-run wrote something")
	}
	for _, r := range again.GetRows() {
		if r.GetAction() == unchanged && r.GetProvider() != byRow[r.GetRow()].GetProvider() {
			t.Fatalf("row %d matched %s, first created %s", r.GetRow(), r.GetProvider(), byRow[r.GetRow()].GetProvider())
		}
	}

	// Nothing of the file reached the logs.
	for _, e := range h.logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		for _, secret := range []string{"kontakt@dobrystart.example", nip1, "Dobry Start"} {
			if strings.Contains(line, secret) {
				t.Fatalf("log line holds file content: %s", line)
			}
		}
	}
}

func TestImportRequestIDAndWholeFileErrors(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	file := fmt.Sprintf("nazwa,forma_prawna,nip,regon,adres\n\"Fundacja \"\"Most\"\"\",fundacja,%s,%s,\"ul. Długa 1, lok. 2\"\n", nextNIP(), nextREGON())
	req := &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}, RequestId: "import-2026-06-15"}
	first, err := h.client.ImportProviders(ctx, req)
	if err != nil || first.GetCreatedCount() != 1 || first.GetSeparator() != "," {
		t.Fatalf("comma file: %v %v", first, err)
	}
	p, _ := h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: first.GetRows()[0].GetProvider()})
	if p.GetDisplayName() != `Fundacja "Most"` || p.GetAddress().GetAddress_1() != "ul. Długa 1, lok. 2" {
		t.Fatalf("quoted cells: %v", p)
	}
	// The same request id returns the first report (CREATED, not UNCHANGED).
	again, err := h.client.ImportProviders(ctx, req)
	if err != nil || !proto.Equal(again, first) {
		t.Fatalf("replay: %v %v", again, err)
	}

	// Windows-1250 bytes (a plain "CSV" save of a Polish spreadsheet), tab-separated.
	text := fmt.Sprintf("Nazwa\tForma prawna\tNIP\tREGON\tMiejscowość\nStowarzyszenie Łączy Nas Pasja\tstowarzyszenie\t%s\t%s\tŁaszczyn\n", nextNIP(), nextREGON())
	cp, err := charmap.Windows1250.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_CsvFile{CsvFile: cp}})
	if err != nil || rep.GetCreatedCount() != 1 || rep.GetSeparator() != "\t" {
		t.Fatalf("cp1250: %v %v", rep, err)
	}
	p, _ = h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: rep.GetRows()[0].GetProvider()})
	if p.GetDisplayName() != "Stowarzyszenie Łączy Nas Pasja" || p.GetAddress().GetCity() != "Łaszczyn" {
		t.Fatalf("cp1250 text: %v", p)
	}

	// Problems with the whole file: INVALID_ARGUMENT naming the field, nothing written.
	rev := h.store.Backend().Revision()
	for name, c := range map[string]struct {
		req   *providerv1.ImportProvidersRequest
		field string
		text  string
	}{
		"no file":         {&providerv1.ImportProvidersRequest{}, "csv", "send the file"},
		"empty":           {&providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: "\uFEFF\r\n"}}, "csv", "empty"},
		"unknown column":  {&providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: "nazwa;forma_prawna;emial\n"}}, "csv", `"emial" is not a known column`},
		"repeated column": {&providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: "nazwa;forma_prawna;NIP;Numer NIP\n"}}, "csv", "repeats column 3"},
		"no kind column":  {&providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: "nazwa;nip\nA;1\n"}}, "csv", "no column forma_prawna"},
		"too large":       {&providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_CsvFile{CsvFile: make([]byte, 4<<20+1)}}, "csv_file", "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.client.ImportProviders(ctx, c.req)
			code, _, _, fields := errorInfo(t, err)
			if code != codes.InvalidArgument || fields[c.field] == "" || !strings.Contains(violationText(err, c.field), c.text) {
				t.Fatalf("got %v %v %v, want %s with %q", code, fields, err, c.field, c.text)
			}
		})
	}
	if h.store.Backend().Revision() != rev {
		t.Fatal("a refused import wrote something")
	}
}

// TestImportMatchesByIdentifiersThenName: NIP first, then KRS, then REGON; rows without identifiers by name.
func TestImportMatchesByIdentifiersThenName(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	noNIP := validProvider()
	noNIP.Kind, noNIP.Nip = providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY, ""
	byKRS := h.createProvider(t, noNIP)
	onlyREGON := validProvider()
	onlyREGON.Kind, onlyREGON.Nip, onlyREGON.Krs = providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, "", ""
	byREGON := h.createProvider(t, onlyREGON)
	group := validProvider()
	group.Kind, group.Nip, group.Regon, group.Krs, group.DisplayName = providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, "", "", "", "Klub Seniora „Pod Lipami”"
	byName := h.createProvider(t, group)
	newNIP := nextNIP()
	file := strings.Join([]string{
		"nazwa;forma_prawna;nip;regon;krs;email",
		// KRS matches; the NIP is new to the provider, so it is added.
		fmt.Sprintf("%s;podmiot publiczny;%s;;%s;", byKRS.GetDisplayName(), newNIP, byKRS.GetKrs()),
		// REGON matches.
		fmt.Sprintf("%s;jednostka gminna;;%s;;nowy@gmina.example", byREGON.GetDisplayName(), byREGON.GetRegon()),
		// No identifiers: the name matches, ignoring case and diacritics.
		"KLUB SENIORA POD LIPAMI;grupa nieformalna;;;;klub@lipy.example",
	}, "\n")
	rep, err := h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}})
	if err != nil {
		t.Fatal(err)
	}
	wantProv := []string{byKRS.GetName(), byREGON.GetName(), byName.GetName()}
	for i, r := range rep.GetRows() {
		if r.GetAction() != updated || r.GetProvider() != wantProv[i] {
			t.Fatalf("row %d: %v", r.GetRow(), r)
		}
	}
	p, _ := h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: byKRS.GetName()})
	if p.GetNip() != newNIP {
		t.Fatalf("NIP not added: %v", p.GetNip())
	}
	n, _ := h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: byName.GetName()})
	if n.GetDisplayName() != "KLUB SENIORA POD LIPAMI" || n.GetEmail() != "klub@lipy.example" {
		t.Fatalf("matched by name: %v", n)
	}
	// A different NIP for a provider that has one is refused; changing identifiers is for UpdateProvider.
	file = fmt.Sprintf("nazwa;forma_prawna;nip;krs\n%s;podmiot publiczny;%s;%s\n", byKRS.GetDisplayName(), nextNIP(), byKRS.GetKrs())
	rep, err = h.client.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: file}})
	if err != nil || rep.GetRows()[0].GetAction() != rejected || !strings.Contains(rep.GetRows()[0].GetViolations()[0].GetDescription(), "differs from the nip") {
		t.Fatalf("identifier change through import: %v %v", rep, err)
	}
}
