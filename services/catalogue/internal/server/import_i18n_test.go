package server_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/i18n"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// TestImportReportInPolish: the problems of an import's rows read in the caller's language, both in the
// answer to the import and in the replay of a retried request_id, while an English caller keeps English; the
// columns and outcomes never change.
func TestImportReportInPolish(t *testing.T) {
	h := start(t)
	csv := "Nazwa usługi;Obszar;Decyzja;Godziny otwarcia\n" +
		"Klub Młodzieżowy;gotowanie;może;pn 15:00\n"
	req := &cataloguev1.ImportServicesRequest{Content: []byte(csv), RequestId: "0194c050-3022-7053-8000-00000000f001"}
	polish := func() context.Context {
		return metadata.AppendToOutgoingContext(ctx(t), i18n.MetadataKey, "pl-PL,pl;q=0.9")
	}
	want := map[string]struct{ en, pl string }{
		"Obszar": {`"gotowanie" is not an area of art. 2 ust. 1; use its Polish name (e.g. wspieranie rodziny, pomoc społeczna, kultura) or its point 1-14`,
			`"gotowanie" nie jest obszarem z art. 2 ust. 1; wpisz jego nazwę (np. wspieranie rodziny, pomoc społeczna, kultura) albo numer punktu od 1 do 14`},
		"Decyzja": {"must be tak or nie", "musi mieć wartość tak albo nie"},
		// A cell parser's error, passed on with %v.
		"Godziny otwarcia": {`"15:00" is not an interval HH:MM-HH:MM`, `"15:00" nie jest przedziałem godzin GG:MM-GG:MM`},
	}
	check := func(name string, rep *cataloguev1.ImportServicesResponse, inPolish bool) {
		t.Helper()
		if len(rep.GetRows()) != 1 || rep.GetRows()[0].GetOutcome() != cataloguev1.ImportOutcome_IMPORT_OUTCOME_INVALID {
			t.Fatalf("%s: rows %v, want one INVALID", name, rep.GetRows())
		}
		seen := 0
		for _, v := range rep.GetRows()[0].GetViolations() {
			w, ok := want[v.GetColumn()]
			if !ok {
				continue
			}
			seen++
			text := w.en
			if inPolish {
				text = w.pl
			}
			if v.GetDescription() != text {
				t.Errorf("%s, column %s: %q, want %q", name, v.GetColumn(), v.GetDescription(), text)
			}
		}
		if seen != len(want) {
			t.Errorf("%s: violations %v, want one on each of Obszar, Decyzja and Godziny otwarcia", name, rep.GetRows()[0].GetViolations())
		}
	}
	for _, step := range []struct {
		name     string
		ctx      context.Context
		inPolish bool
	}{
		{"first answer, Polish", polish(), true},
		{"replay, English", ctx(t), false},
		{"replay, Polish", polish(), true},
	} {
		rep, err := h.client.ImportServices(step.ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		check(step.name, rep, step.inPolish)
	}
}

// TestImportHSDSReportInPolish: an HSDS service that cannot be read is reported with the JSON problem, and a
// Polish caller reads both the sentence and the problem in Polish.
func TestImportHSDSReportInPolish(t *testing.T) {
	h := start(t)
	ctxPL := metadata.AppendToOutgoingContext(ctx(t), i18n.MetadataKey, "pl")
	rep, err := h.client.ImportServices(ctxPL, &cataloguev1.ImportServicesRequest{
		Content: []byte(`[{"id": 5, "name": "Klub"}]`), Format: cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "nie można odczytać usługi: pole id zawiera wartość JSON niewłaściwego typu (number)"
	if rows := rep.GetRows(); len(rows) != 1 || len(rows[0].GetViolations()) != 1 || rows[0].GetViolations()[0].GetDescription() != want {
		t.Fatalf("rows %v, want one violation %q", rows, want)
	}
}
