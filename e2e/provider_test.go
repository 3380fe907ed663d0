package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/plid"
)

// registryIDs are fresh, valid register identifiers for a test provider: NIPs with the prefix 000 (which no tax
// office has, as in the demo data) and REGONs starting 99, random so that parallel tests and the demo registry
// never collide.
type registryIDs struct{ nip, regon string }

func newRegistryIDs(t testing.TB) registryIDs {
	t.Helper()
	var ids registryIDs
	for ids.nip == "" {
		first9 := fmt.Sprintf("000%06d", rand.IntN(1000000))
		if c, err := plid.NIPCheckDigit(first9); err == nil { // some 9 digits have no valid check digit
			ids.nip = first9 + string(c)
		}
	}
	first8 := fmt.Sprintf("99%06d", rand.IntN(1000000))
	c, err := plid.REGONCheckDigit(first8)
	if err != nil {
		t.Fatal(err)
	}
	ids.regon = first8 + string(c)
	if plid.ValidateNIP(ids.nip) != nil || plid.ValidateREGON(ids.regon) != nil {
		t.Fatalf("computed identifiers %+v are invalid", ids)
	}
	return ids
}

// badCheckDigit changes the last digit of a valid identifier, so that only its check digit is wrong.
func badCheckDigit(s string) string {
	last := s[len(s)-1]
	return s[:len(s)-1] + string('0'+(last-'0'+1)%10)
}

// errorMetadata returns the ErrorInfo metadata of a google.rpc.Status body.
func errorMetadata(t testing.TB, r httpResult) map[string]string {
	t.Helper()
	var st struct {
		Details []struct {
			Type     string            `json:"@type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"details"`
	}
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatalf("error body: %v: %s", err, r)
	}
	for _, d := range st.Details {
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" {
			return d.Metadata
		}
	}
	return nil
}

// providersWithNIP lists the registered providers with a NIP (through the public list filter).
func (s *suite) providersWithNIP(t testing.TB, nip string) []map[string]any {
	t.Helper()
	m := s.call(t, http.MethodGet, "/v1/providers?filter="+url.QueryEscape("nip = "+nip), "", nil).wantOK(t)
	return objects(t, m, "providers")
}

// TestProviderRegistryThroughREST: the register identifiers are validated with their check digits (400 naming
// the field), a duplicate NIP is 409 naming the registered provider, a CSV import reports per row in a dry run
// and for real (and a re-run changes nothing), and provider staff may update only their own record's contact
// fields.
func TestProviderRegistryThroughREST(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	org := s.as(t, "organiser")
	ids := newRegistryIDs(t)

	provider := func(nip, regon, krs string) string {
		p := map[string]any{
			"displayName": "Stowarzyszenie „Sąsiedzi e2e”", "kind": "PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION",
			"nip": nip, "regon": regon, "terytCode": "3022053",
			"address": map[string]any{"address1": "ul. Testowa 1", "city": "Rawicz", "postalCode": "63-900"},
			"email":   "biuro@sasiedzi-e2e.example",
		}
		if krs != "" {
			p["krs"] = krs
		}
		return jsonBody(t, p)
	}

	// ---- invalid identifiers: 400 INVALID_FIELDS naming the field ----
	for _, c := range []struct {
		name, body, field string
	}{
		{"NIP check digit", provider(badCheckDigit(ids.nip), ids.regon, ""), "provider.nip"},
		{"NIP length", provider(ids.nip[:9], ids.regon, ""), "provider.nip"},
		{"REGON check digit", provider(ids.nip, badCheckDigit(ids.regon), ""), "provider.regon"},
		{"REGON length", provider(ids.nip, ids.regon+"0", ""), "provider.regon"},
		{"KRS all zeros", provider(ids.nip, ids.regon, "0000000000"), "provider.krs"},
		{"KRS letters", provider(ids.nip, ids.regon, "00001234AB"), "provider.krs"},
	} {
		r := s.call(t, http.MethodPost, "/v1/providers", c.body, org)
		st := r.wantStatus(t, http.StatusBadRequest, "INVALID_FIELDS")
		if !st.hasViolation(c.field) {
			t.Errorf("%s: violations %v, want one on %s: %s", c.name, st.Violations, c.field, r)
		}
		if len(st.Violations) != 1 {
			t.Errorf("%s: violations %v, want only %s", c.name, st.Violations, c.field)
		}
	}
	if got := s.providersWithNIP(t, ids.nip); len(got) != 0 {
		t.Fatalf("a refused create registered %v", got)
	}

	// Who may register: not anonymous (401), not a coordinator (403).
	s.call(t, http.MethodPost, "/v1/providers", provider(ids.nip, ids.regon, ""), nil).wantStatus(t, http.StatusUnauthorized, "")
	s.call(t, http.MethodPost, "/v1/providers", provider(ids.nip, ids.regon, ""), s.as(t, "coordinator")).wantStatus(t, http.StatusForbidden, "")

	// ---- valid: 200 ----
	created := s.call(t, http.MethodPost, "/v1/providers", provider(ids.nip, ids.regon, "KRS 9302299"), org).wantOK(t)
	name := str(t, created, "name")
	if !strings.HasPrefix(name, "providers/") || optStr(created, "etag") == "" {
		t.Fatalf("created provider: %v", created)
	}
	if optStr(created, "nip") != ids.nip || optStr(created, "regon") != ids.regon || optStr(created, "krs") != "0009302299" {
		t.Errorf("identifiers stored as nip %q regon %q krs %q, want %s %s 0009302299", optStr(created, "nip"), optStr(created, "regon"), optStr(created, "krs"), ids.nip, ids.regon)
	}
	if got := optStr(created, "status"); got != "PROVIDER_STATUS_ACTIVE" {
		t.Errorf("status %q, want PROVIDER_STATUS_ACTIVE by default", got)
	}
	if got := s.get(t, "/v1/"+name).wantOK(t); optStr(got, "nip") != ids.nip {
		t.Errorf("GET %s: %v", name, got)
	}

	// ---- duplicate NIP (in a human spelling): 409 naming the registered provider ----
	other := newRegistryIDs(t)
	spelled := "PL " + ids.nip[:3] + "-" + ids.nip[3:6] + "-" + ids.nip[6:8] + "-" + ids.nip[8:]
	dup := s.call(t, http.MethodPost, "/v1/providers", provider(spelled, other.regon, ""), org)
	if st := dup.wantStatus(t, http.StatusConflict, "PROVIDER_ALREADY_REGISTERED"); st.Code != 6 {
		t.Errorf("duplicate NIP: code %d, want 6 (ALREADY_EXISTS)", st.Code)
	}
	md := errorMetadata(t, dup)
	if md["existing_provider"] != name {
		t.Errorf("duplicate NIP: existing_provider %q, want %s: %s", md["existing_provider"], name, dup)
	}
	if md["field"] != "provider.nip" {
		t.Errorf("duplicate NIP: field %q, want provider.nip: %s", md["field"], dup)
	}
	if got := s.providersWithNIP(t, ids.nip); len(got) != 1 {
		t.Errorf("after the refused duplicate %d providers have NIP %s, want 1", len(got), ids.nip)
	}

	// ---- CSV import: a dry run, the real run, a re-run ----
	fresh, bad := newRegistryIDs(t), newRegistryIDs(t)
	csv := strings.Join([]string{
		"Nazwa;Forma prawna;NIP;REGON;KRS;Miejscowość",
		"Fundacja „Import e2e”;fundacja;" + fresh.nip + ";" + fresh.regon + ";;Rawicz",
		"Fundacja Zły Numer;fundacja;" + badCheckDigit(bad.nip) + ";" + bad.regon + ";;Rawicz",
		"Stowarzyszenie „Sąsiedzi e2e”;stowarzyszenie;" + ids.nip + ";" + ids.regon + ";;",
		";;;;;",
		"",
	}, "\n")
	type row struct {
		Row           int    `json:"row"`
		Action        string `json:"action"`
		Provider      string `json:"provider"`
		DisplayName   string `json:"displayName"`
		ChangedFields []string
		Violations    []struct {
			Column      string `json:"column"`
			Description string `json:"description"`
		} `json:"violations"`
	}
	type report struct {
		Rows           []row  `json:"rows"`
		CreatedCount   int    `json:"createdCount"`
		UpdatedCount   int    `json:"updatedCount"`
		UnchangedCount int    `json:"unchangedCount"`
		RejectedCount  int    `json:"rejectedCount"`
		DryRun         bool   `json:"dryRun"`
		Separator      string `json:"separator"`
	}
	importCSV := func(dryRun bool) report {
		t.Helper()
		r := s.call(t, http.MethodPost, "/v1/providers:import", jsonBody(t, map[string]any{"csv": csv, "dryRun": dryRun}), org)
		if r.Status != http.StatusOK {
			t.Fatalf("import (dry run %v): %s", dryRun, r)
		}
		var rep report
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("import report: %v: %s", err, r)
		}
		if len(rep.Rows) != 3 {
			t.Fatalf("import report has %d rows, want 3 (the empty rows skipped): %s", len(rep.Rows), r)
		}
		for i, want := range []int{2, 3, 4} {
			if rep.Rows[i].Row != want {
				t.Errorf("report row %d numbered %d, want %d (the header is row 1)", i, rep.Rows[i].Row, want)
			}
		}
		if rep.Separator != ";" || rep.DryRun != dryRun {
			t.Errorf("import report separator %q dryRun %v", rep.Separator, rep.DryRun)
		}
		rej := rep.Rows[1]
		if rej.Action != "IMPORT_ACTION_REJECTED" || rej.Provider != "" || len(rej.Violations) != 1 || rej.Violations[0].Column != "NIP" ||
			rej.Violations[0].Description == "" {
			t.Errorf("row 3 (bad NIP): %+v, want REJECTED with one violation on column NIP", rej)
		}
		if rep.RejectedCount != 1 {
			t.Errorf("rejectedCount %d, want 1", rep.RejectedCount)
		}
		return rep
	}

	dry := importCSV(true)
	if r := dry.Rows[0]; r.Action != "IMPORT_ACTION_CREATED" || r.Provider != "" || r.DisplayName != "Fundacja „Import e2e”" {
		t.Errorf("dry run row 2: %+v, want CREATED without a provider name", r)
	}
	if r := dry.Rows[2]; r.Action != "IMPORT_ACTION_UNCHANGED" || r.Provider != name {
		t.Errorf("dry run row 4: %+v, want UNCHANGED %s", r, name)
	}
	if dry.CreatedCount != 1 || dry.UnchangedCount != 1 || dry.UpdatedCount != 0 {
		t.Errorf("dry run counts: %+v", dry)
	}
	if got := s.providersWithNIP(t, fresh.nip); len(got) != 0 {
		t.Fatalf("the dry run registered %v", got)
	}

	run := importCSV(false)
	r2 := run.Rows[0]
	if r2.Action != "IMPORT_ACTION_CREATED" || !strings.HasPrefix(r2.Provider, "providers/") {
		t.Fatalf("row 2: %+v, want CREATED with the provider's name", r2)
	}
	if r := run.Rows[2]; r.Action != "IMPORT_ACTION_UNCHANGED" || r.Provider != name {
		t.Errorf("row 4: %+v, want UNCHANGED %s", r, name)
	}
	imported := s.get(t, "/v1/"+r2.Provider).wantOK(t)
	if optStr(imported, "nip") != fresh.nip || optStr(imported, "kind") != "PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION" || optStr(imported, "displayName") != "Fundacja „Import e2e”" {
		t.Errorf("imported provider: %v", imported)
	}
	if got := s.providersWithNIP(t, badCheckDigit(bad.nip)); len(got) != 0 {
		t.Errorf("the rejected row was registered: %v", got)
	}

	again := importCSV(false)
	if r := again.Rows[0]; r.Action != "IMPORT_ACTION_UNCHANGED" || r.Provider != r2.Provider {
		t.Errorf("re-run row 2: %+v, want UNCHANGED %s", r, r2.Provider)
	}
	if again.CreatedCount != 0 || again.UpdatedCount != 0 || again.UnchangedCount != 2 {
		t.Errorf("re-run counts: %+v, want 2 unchanged and nothing created or updated", again)
	}
	if got := s.providersWithNIP(t, fresh.nip); len(got) != 1 {
		t.Errorf("after the re-run %d providers have NIP %s, want 1", len(got), fresh.nip)
	}
	s.call(t, http.MethodPost, "/v1/providers:import", jsonBody(t, map[string]any{"csv": csv, "dryRun": true}), nil).
		wantStatus(t, http.StatusUnauthorized, "")

	// ---- provider staff: their own record's contact fields only ----
	staff := s.asProvider(t, lastID(name))
	own := s.call(t, http.MethodPatch, "/v1/"+name+"?updateMask=email,website",
		`{"email":"kontakt@sasiedzi-e2e.example","website":"https://sasiedzi-e2e.example"}`, staff).wantOK(t)
	if optStr(own, "email") != "kontakt@sasiedzi-e2e.example" || optStr(own, "displayName") != "Stowarzyszenie „Sąsiedzi e2e”" {
		t.Errorf("own update by provider staff: %v", own)
	}
	notWritable := s.call(t, http.MethodPatch, "/v1/"+name+"?updateMask=display_name,nip",
		`{"displayName":"Przejęte","nip":"`+other.nip+`"}`, staff)
	st := notWritable.wantStatus(t, http.StatusForbidden, "FIELD_NOT_WRITABLE")
	if !st.hasViolation("display_name") && !st.hasViolation("provider.display_name") {
		t.Errorf("FIELD_NOT_WRITABLE names %v, want display_name among them", st.Violations)
	}
	if len(st.Violations) != 2 {
		t.Errorf("FIELD_NOT_WRITABLE has violations %v, want one per field (display_name, nip)", st.Violations)
	}
	s.call(t, http.MethodPatch, "/v1/"+r2.Provider+"?updateMask=email", `{"email":"przejete@example.org"}`, staff).
		wantStatus(t, http.StatusForbidden, "NOT_OWN_PROVIDER")
	s.call(t, http.MethodPatch, "/v1/"+name+"?updateMask=email", `{"email":"anonim@example.org"}`, nil).
		wantStatus(t, http.StatusUnauthorized, "")
	after := s.get(t, "/v1/"+name).wantOK(t)
	if optStr(after, "displayName") != "Stowarzyszenie „Sąsiedzi e2e”" || optStr(after, "nip") != ids.nip || optStr(after, "email") != "kontakt@sasiedzi-e2e.example" {
		t.Errorf("after the refused updates: %v", after)
	}
	if got := s.get(t, "/v1/"+r2.Provider).wantOK(t); optStr(got, "email") == "przejete@example.org" {
		t.Errorf("provider staff changed another provider: %v", got)
	}
}
