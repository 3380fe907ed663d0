package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// TestWebPages: the residents' pages at / over the real suite with the demo data of CUS Rawicz, as make run
// serves them: search (with the catalogue's own "did you mean"), a service with its fee calculator agreeing
// with platform/fee, the sitemap, Polish 404 and 503 pages, and the API's paths untouched.
func TestWebPages(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true,
		gatewayEnv: []string{"CUS_CUS_CONTACT_FILE=" + filepath.Join(repoRoot, "deploy/config/cus-contact.json.example")}})

	home := s.get(t, "/")
	if home.Status != http.StatusOK || !strings.HasPrefix(home.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s", home)
	}
	page := string(home.Body)
	for _, want := range []string{`<html lang="pl">`, `<a class="skip-link" href="#tresc">Przejdź do treści</a>`, `<main id="tresc"`,
		"Centrum Usług Społecznych w Rawiczu", `<form role="search" action="/szukaj" method="get"`, "Otwarte teraz", `href="/docs"`} {
		if !strings.Contains(page, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if n := strings.Count(page, `href="/szukaj?obszar=AREA_`); n != 14 {
		t.Errorf("home links %d areas, want 14", n)
	}

	found := s.get(t, "/szukaj?q=zlobek")
	if found.Status != http.StatusOK || !regexp.MustCompile(`<ol id="wyniki" start="1"><li><article class="card">\s*<h3><a href="/uslugi/[0-9a-f-]{36}">`).Match(found.Body) {
		t.Errorf("a search for zlobek finds nothing: %s", found)
	}
	typo := string(s.get(t, "/szukaj?q=swietlca").Body)
	if !strings.Contains(typo, `<p id="sugestia">Czy chodziło Ci o: <a href="/szukaj?q=swietlica">swietlica</a>?</p>`) {
		t.Errorf("no suggestion for swietlca:\n%s", typo)
	}
	// The same suggestion is in the API's answer (SearchServicesResponse.suggested_query).
	if m := s.send(t, "POST", "/v1/services:search", `{"query":"swietlca"}`).wantOK(t); m["suggestedQuery"] != "swietlica" {
		t.Errorf("REST suggestedQuery %v", m["suggestedQuery"])
	}

	// The demo nursery: its page, and the calculator against platform/fee on the rule the API returns.
	id := "0194c050-3022-7053-8000-000000000001"
	svcJSON := s.get(t, "/v1/services/"+id)
	var svc cataloguev1.Service
	if err := protojson.Unmarshal(svcJSON.Body, &svc); err != nil {
		t.Fatal(err)
	}
	sp := s.get(t, "/uslugi/"+id)
	if sp.Status != http.StatusOK || !strings.Contains(string(sp.Body), `<script type="application/ld+json">{"@context":"https://schema.org"`) ||
		!strings.Contains(string(sp.Body), `<form id="oplata" action="/uslugi/`+id+`#oplata" method="get">`) {
		t.Errorf("service page: %s", sp)
	}
	c, _ := fee.CriterionOn(fee.DefaultCriteria(), time.Now().Format(time.DateOnly))
	for _, tc := range []struct {
		income  int64
		persons int32
	}{{90000, 1}, {120000, 3}, {200000, 2}, {500000, 1}} {
		r := s.get(t, fmt.Sprintf("/uslugi/%s?dochod=%d&osoby=%d", id, tc.income/100, tc.persons))
		q := fee.For(svc.GetFee(), tc.income, c.ForHousehold(tc.persons))
		body := string(r.Body)
		if q.Exempt {
			if !strings.Contains(body, "Nie płacisz nic") {
				t.Errorf("%d zł for %d: want an exemption", tc.income/100, tc.persons)
			}
			continue
		}
		want := fmt.Sprintf("Zapłacisz <strong>%d", q.AmountGrosze/100)
		if !strings.Contains(body, want) || r.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("%d zł for %d: the page does not say %q (platform/fee: %+v)", tc.income/100, tc.persons, want, q)
		}
	}

	// The sitemap lists every active service.
	var active struct {
		TotalSize int `json:"totalSize"`
	}
	if err := json.Unmarshal(s.get(t, "/v1/services?pageSize=1&filter="+url.QueryEscape("status = SERVICE_STATUS_ACTIVE")).Body, &active); err != nil {
		t.Fatal(err)
	}
	sm := string(s.get(t, "/sitemap.xml").Body)
	if n := strings.Count(sm, "/uslugi/"); n != active.TotalSize || !strings.Contains(sm, "/uslugi/"+id+"</loc>") {
		t.Errorf("sitemap lists %d services, the catalogue has %d active", n, active.TotalSize)
	}
	for _, p := range []string{"/programy", "/kontakt", "/deklaracja-dostepnosci", "/robots.txt", "/static/style.css"} {
		if r := s.get(t, p); r.Status != http.StatusOK {
			t.Errorf("%s: %d", p, r.Status)
		}
	}

	// Polish errors with the right codes; other API versions stay JSON.
	if r := s.get(t, "/uslugi/0194c050-3022-7053-8000-00000000ffff"); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "Nie znaleźliśmy tej usługi") {
		t.Errorf("missing service: %s", r)
	}
	s.get(t, "/v2/services").wantStatus(t, http.StatusNotFound, "ROUTE_NOT_FOUND")
	s.catalogue.stop(t)
	if r := s.get(t, "/szukaj?q=zlobek"); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "Katalog usług jest chwilowo niedostępny") {
		t.Errorf("catalogue down: %s", r)
	}
}
