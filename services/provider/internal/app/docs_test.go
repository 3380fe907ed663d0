package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/server"
	"github.com/cus-suite/cus/services/provider/internal/store"
)

// TestDocsCSVExample runs the CSV example of docs/provider.md against the demo registry and checks the report
// the document shows.
func TestDocsCSVExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "provider.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- csv-example -->\n```csv\n")
	if !ok {
		t.Fatal("docs/provider.md has no csv example")
	}
	csv, _, _ := strings.Cut(after, "```")
	st, err := store.Open(filepath.Join(t.TempDir(), "provider.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(st, zap.NewNop())
	ctx := context.Background()
	if _, err := LoadDemo(ctx, st, srv); err != nil {
		t.Fatal(err)
	}
	rep, err := srv.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: csv}})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		action   providerv1.ImportAction
		provider string
		detail   string
	}
	want := []row{
		{providerv1.ImportAction_IMPORT_ACTION_UNCHANGED, "providers/0194c050-3022-7053-b000-000000000006", ""},
		{providerv1.ImportAction_IMPORT_ACTION_UPDATED, "providers/0194c050-3022-7053-b000-000000000005", "email"},
		{providerv1.ImportAction_IMPORT_ACTION_CREATED, "", "display_name,kind,nip,regon,address,teryt_code,email,status"},
		{providerv1.ImportAction_IMPORT_ACTION_CREATED, "", ""},
		{providerv1.ImportAction_IMPORT_ACTION_REJECTED, "", "NIP: check digit does not match|Kod pocztowy: must be 6 characters in the form NN-NNN"},
	}
	if len(rep.GetRows()) != len(want) {
		t.Fatalf("%d rows: %v", len(rep.GetRows()), rep)
	}
	for i, r := range rep.GetRows() {
		w := want[i]
		detail := strings.Join(r.GetChangedFields(), ",")
		if w.action == providerv1.ImportAction_IMPORT_ACTION_REJECTED {
			var parts []string
			for _, v := range r.GetViolations() {
				parts = append(parts, v.GetColumn()+": "+v.GetDescription())
			}
			detail = strings.Join(parts, "|")
		}
		if r.GetRow() != int32(i+2) || r.GetAction() != w.action || (w.provider != "" && r.GetProvider() != w.provider) ||
			(w.detail != "" && detail != w.detail) {
			t.Errorf("row %d: %v %s %q, the docs say %v %s %q", r.GetRow(), r.GetAction(), r.GetProvider(), detail, w.action, w.provider, w.detail)
		}
	}
	if rep.GetCreatedCount() != 2 || rep.GetUpdatedCount() != 1 || rep.GetUnchangedCount() != 1 || rep.GetRejectedCount() != 1 || rep.GetSeparator() != ";" {
		t.Errorf("counts: %v", rep)
	}
}
