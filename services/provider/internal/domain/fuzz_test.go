package domain

import (
	"testing"
	"unicode/utf8"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// memRegistry is an in-memory Registry for planning imports without storage.
type memRegistry struct {
	providers map[string]*providerv1.Provider
}

func (m memRegistry) Provider(id string) *providerv1.Provider { return m.providers[id] }

func (m memRegistry) OwnerOf(field, value string) string {
	for id, p := range m.providers {
		if (field == "nip" && p.GetNip() == value) || (field == "krs" && p.GetKrs() == value) || (field == "regon" && p.GetRegon() == value) {
			return id
		}
	}
	return ""
}

func (m memRegistry) ByName(name string) []string {
	var out []string
	for id, p := range m.providers {
		if FoldName(p.GetDisplayName()) == name {
			out = append(out, id)
		}
	}
	return out
}

func (m memRegistry) Agreements(string) []*providerv1.Agreement { return nil }

var knownColumns = func() map[Column]bool {
	m := map[Column]bool{}
	for _, c := range Columns {
		m[c] = true
	}
	return m
}()

// FuzzParseProvidersCSV feeds arbitrary bytes through the whole import path (decoding, parsing, planning): it
// must never panic, and what it accepts must be well-formed. The seed corpus in testdata/fuzz runs in every
// `go test`.
func FuzzParseProvidersCSV(f *testing.F) {
	f.Add([]byte("nazwa;forma_prawna;nip\nFundacja;fundacja;8567346215\n"))
	f.Add([]byte("\xef\xbb\xbfNazwa;Forma prawna\r\n\"A;\"\"B\"\"\";firma\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text := DecodeCSVText(data)
		if !utf8.ValidString(text) {
			t.Fatalf("decoded text is not UTF-8: %q", text)
		}
		file, err := ParseProvidersCSV("csv", text)
		if err != nil {
			return
		}
		if file.Separator != ';' && file.Separator != ',' && file.Separator != '\t' {
			t.Fatalf("separator %q", file.Separator)
		}
		if len(file.Rows) > MaxImportRows {
			t.Fatalf("%d rows", len(file.Rows))
		}
		last := 1
		for _, r := range file.Rows {
			if r.Row <= last && r.Problem == "" {
				t.Fatalf("row %d after row %d", r.Row, last)
			}
			if r.Problem == "" {
				last = r.Row
			}
			for c, v := range r.Cells {
				if !knownColumns[c] || v == "" {
					t.Fatalf("cell %q=%q", c, v)
				}
			}
		}
		existing := &providerv1.Provider{Name: "providers/x", DisplayName: "Fundacja", Nip: "8567346215",
			Kind: providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION, Regon: "123456785"}
		reg := memRegistry{providers: map[string]*providerv1.Provider{"x": existing}}
		results, writes := PlanImport(file, reg, func(int) string { return "0194c050-0000-7000-8000-000000000001" })
		if len(results) != len(file.Rows) {
			t.Fatalf("%d results for %d rows", len(results), len(file.Rows))
		}
		accepted := 0
		for _, r := range results {
			switch r.GetAction() {
			case providerv1.ImportAction_IMPORT_ACTION_REJECTED:
				if len(r.GetViolations()) == 0 {
					t.Fatalf("rejected without a reason: %v", r)
				}
			case providerv1.ImportAction_IMPORT_ACTION_CREATED, providerv1.ImportAction_IMPORT_ACTION_UPDATED:
				accepted++
			case providerv1.ImportAction_IMPORT_ACTION_UNCHANGED:
			default:
				t.Fatalf("action %v", r.GetAction())
			}
		}
		if accepted != len(writes) {
			t.Fatalf("%d accepted rows, %d writes", accepted, len(writes))
		}
		for _, w := range writes {
			var v Violations
			ValidateProvider(w.New, "", &v)
			if v.Len() > 0 {
				t.Fatalf("a planned write is invalid: %v", v.List())
			}
		}
	})
}
