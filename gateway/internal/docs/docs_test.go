package docs

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/cus-suite/cus/gateway/internal/openapi"
)

// TestPageGroupsResourcesWithSecurityAndPolishNames renders the served 3.1 document.
func TestPageGroupsResourcesWithSecurityAndPolishNames(t *testing.T) {
	doc, err := openapi.Document()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(doc, Options{Title: "CUS API reference", PublicURL: "http://cus.example/", InstanceName: "CUS Rawicz"})
	if err != nil {
		t.Fatal(err)
	}
	page := string(out)
	// One section per resource tag, with the Polish name beside the English one.
	for _, want := range []string{
		`<h2 id="tag-Services-h">Services <span class="pl" lang="pl">(usługa społeczna`,
		`<h2 id="tag-Referrals-h">Referrals <span class="pl" lang="pl">(skierowanie)`,
		`<h2 id="tag-Agreements-h">Agreements <span class="pl" lang="pl">(umowa`,
		`id="authentication"`, "<code>bearer</code>", "JWT",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Operations sit in their resource's section, in the order of the document's tags.
	services := strings.Index(page, `id="tag-Services"`)
	referrals := strings.Index(page, `id="tag-Referrals"`)
	getService := strings.Index(page, `id="CatalogueService_GetService"`)
	sendReferral := strings.Index(page, `id="ReferralService_SendReferral"`)
	if services < 0 || referrals < services || getService < services || getService > referrals || sendReferral < referrals {
		t.Errorf("sections out of place: services %d referrals %d GetService %d SendReferral %d", services, referrals, getService, sendReferral)
	}
	// A public read is marked public and its curl has no token; a write names its roles and sends one.
	get := section(t, page, "CatalogueService_GetService")
	if !strings.Contains(get, "auth pub") || strings.Contains(get, "Authorization") || !strings.Contains(get, "http://cus.example/v1/services/{service}") {
		t.Errorf("GetService block:\n%s", get)
	}
	create := section(t, page, "CatalogueService_CreateService")
	if !strings.Contains(create, "bearer: ") || !strings.Contains(create, "organiser") || !strings.Contains(create, "Authorization: Bearer $TOKEN") {
		t.Errorf("CreateService block:\n%s", create)
	}
	watch := section(t, page, "CatalogueService_WatchChanges")
	if !strings.Contains(watch, "application/x-ndjson") {
		t.Errorf("WatchChanges block does not say ndjson:\n%s", watch)
	}
	// Every schema and every operation of the document is on the page.
	var d struct {
		Paths      map[string]map[string]struct{ OperationID string } `json:"paths"`
		Components struct{ Schemas map[string]any }                   `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for name := range d.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("page lacks the schema %s", name)
		}
	}
	for path, item := range d.Paths {
		for m, op := range item {
			if !strings.Contains(page, `id="`+op.OperationID+`"`) {
				t.Errorf("page lacks %s %s", m, path)
			}
		}
	}
	// Every in-page link leads somewhere.
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("link #%s leads nowhere", m[1])
		}
	}
}

func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<div class="op" id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no block %s", id)
	}
	j := strings.Index(page[i:], "</div>")
	return page[i : i+j]
}

func TestRenderRejectsNonJSON(t *testing.T) {
	if _, err := Render([]byte("swagger: '2.0'"), Options{}); err == nil {
		t.Error("YAML accepted")
	}
}
