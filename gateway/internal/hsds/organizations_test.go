package hsds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// newOrgEnv is newEnv with the provider registry configured (Options.Providers), served by a fake over real
// gRPC on loopback, and a clock for the organization cache that the test moves. tweaks adjust the handler
// before it serves.
func newOrgEnv(t *testing.T, services []*cataloguev1.Service, providers []*providerv1.Provider, agreements []*providerv1.Agreement,
	tweaks ...func(*handler)) *env {
	t.Helper()
	fake := newFakeCatalogue(services...)
	client, stop := startCatalogue(t, fake)
	prov := newFakeProviders(providers, agreements)
	provClient, stopProv := startProviders(t, prov)
	h := NewHandler(client, Options{BaseURL: testBaseURL, Publisher: "CUS w Rawiczu", Providers: provClient}).(*handler)
	clock := &fakeClock{}
	h.orgs.now = clock.now
	for _, tweak := range tweaks {
		tweak(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, fake: fake, srv: srv, stopGRPC: stop, prov: prov, stopProviders: stopProv, clock: clock}
}

// orgServices are the fixture services with providers: the care service's is the CUS; the club's first
// provider is the association (then the CUS); the nursery's first is the closed foundation (then the CUS);
// the legal aid's is a provider the registry does not know (as for a service federated from elsewhere).
func orgServices() []*cataloguev1.Service {
	ss := fixtureServices()
	ss[1].Providers = []string{"providers/" + assocProviderID, "providers/" + cusProviderID}
	ss[2].Providers = []string{"providers/" + closedProviderID, "providers/" + cusProviderID}
	ss[3].Providers = []string{"providers/" + unknownProviderID}
	return ss
}

func newFixtureOrgEnv(t *testing.T) *env {
	return newOrgEnv(t, orgServices(), fixtureProviders(), fixtureAgreements())
}

func (e *env) organizationIDs(path string) []string {
	e.t.Helper()
	env := e.list(path, "compiled/organization.json", "compiled/organization_list.json")
	var ids []string
	for _, item := range env.Contents {
		ids = append(ids, decode[Organization](e.t, item).ID)
	}
	return ids
}

func TestOrganizationsValidateAgainstHSDS(t *testing.T) {
	e := newFixtureOrgEnv(t)
	schema := schemaFile(t, "compiled/organization.json")

	list := e.list("/hsds/organizations", "compiled/organization.json", "compiled/organization_list.json")
	if list.TotalItems != 5 || list.Size != 5 || list.TotalPages != 1 || !list.FirstPage || !list.LastPage || list.Empty {
		t.Errorf("envelope: %+v", list)
	}
	for _, item := range list.Contents {
		for _, key := range []string{`"phones"`, `"locations"`, `"organization_identifiers"`, `"funding"`, `"services"`} {
			if bytes.Contains(item, []byte(key)) {
				t.Errorf("one-to-one list item has %s: %s", key, item)
			}
		}
	}
	full := e.list("/hsds/organizations?full=true", "compiled/organization.json")
	if full.TotalItems != 5 {
		t.Errorf("full envelope: %+v", full)
	}
	for i, id := range publishedOrder {
		if got := decode[Organization](t, full.Contents[i]).ID; got != id {
			t.Errorf("order: %s at %d, want %s", got, i, id)
		}
		body := e.get("/hsds/organizations/" + id)
		validate(t, schema, "organization "+id, body)
		if again := e.get("/hsds/organizations/" + strings.ToUpper(id)); !bytes.Equal(body, again) {
			t.Errorf("organization %s: upper-case id or a second read gives another answer", id)
		}
	}
}

func TestOrganizationMapping(t *testing.T) {
	e := newFixtureOrgEnv(t)

	cus := decode[Organization](t, e.get("/hsds/organizations/"+cusProviderID))
	if cus.ID != cusProviderID || cus.Name != "Centrum Usług Społecznych w Rawiczu" || cus.AlternateName != "" ||
		!strings.HasPrefix(cus.Description, "Gminna jednostka") || cus.Email != "sekretariat@cus.rawicz.example" ||
		cus.Website != "https://cus.rawicz.example" || cus.TaxID != "6991234567" ||
		cus.TaxStatus != "jednostka sektora finansów publicznych" || cus.LegalStatus != "jednostka organizacyjna gminy" {
		t.Errorf("scalar fields: %+v", cus)
	}
	if len(cus.Phones) != 2 || cus.Phones[0].OrganizationID != cusProviderID || cus.Phones[0].ServiceID != "" ||
		cus.Phones[1].Extension == nil || *cus.Phones[1].Extension != 21 {
		t.Errorf("phones: %+v", cus.Phones)
	}
	if len(cus.Locations) != 1 {
		t.Fatalf("locations: %+v", cus.Locations)
	}
	seat := cus.Locations[0]
	wantAddr := Address{ID: seat.Addresses[0].ID, LocationID: seat.ID, Address1: "ul. Kamińskiego 5a", City: "Rawicz",
		Region: "wielkopolskie", StateProvince: "wielkopolskie", PostalCode: "63-900", Country: "PL", AddressType: "physical"}
	if seat.LocationType != "physical" || seat.OrganizationID != cusProviderID || len(seat.Addresses) != 1 || seat.Addresses[0] != wantAddr {
		t.Errorf("seat: %+v", seat)
	}
	if len(cus.OrganizationIdentifiers) != 1 || cus.OrganizationIdentifiers[0].IdentifierScheme != "PL-REGON" ||
		cus.OrganizationIdentifiers[0].Identifier != "990302013" || cus.OrganizationIdentifiers[0].OrganizationID != cusProviderID ||
		strings.Contains(cus.OrganizationIdentifiers[0].IdentifierType, "lokalnej") {
		t.Errorf("identifiers: %+v", cus.OrganizationIdentifiers)
	}
	// Funding: the agreements in force today, each source once; not the terminated or ended ones.
	var sources []string
	for _, f := range cus.Funding {
		if f.OrganizationID != cusProviderID {
			t.Errorf("funding %+v", f)
		}
		sources = append(sources, f.Source)
	}
	wantSources := []string{"Budżet gminy",
		"Projekt współfinansowany ze środków Unii Europejskiej, nr FEWP.06.13-IZ.00-0001/24: Usługi społeczne w gminie Rawicz"}
	if !slices.Equal(sources, wantSources) {
		t.Errorf("funding = %q, want %q", sources, wantSources)
	}
	// Services: every service the CUS is a provider of, first or not, by name, one-to-one.
	var svc []string
	for _, s := range cus.Services {
		svc = append(svc, s.ID)
		if s.CostOptions != nil || s.Organization != nil {
			t.Errorf("nested service is not one-to-one: %+v", s)
		}
	}
	if want := []string{clubID, careID, nurseryID}; !slices.Equal(svc, want) {
		t.Errorf("services = %v, want %v", svc, want)
	}
	fullSvc := decode[Organization](t, e.get("/hsds/organizations/"+cusProviderID+"?full_service=true"))
	if len(fullSvc.Services) != 3 || fullSvc.Services[1].ID != careID || len(fullSvc.Services[1].Attributes) != 4 ||
		len(fullSvc.Services[1].CostOptions) != 4 {
		t.Errorf("full_service: %+v", fullSvc.Services)
	}
	validate(t, schemaFile(t, "compiled/organization.json"), "full_service", e.get("/hsds/organizations/"+cusProviderID+"?full_service=true"))

	coop := decode[Organization](t, e.get("/hsds/organizations/"+coopProviderID))
	if coop.AlternateName != "Spółdzielnia Socjalna „Smaki Rawicza” w Rawiczu" || coop.Email != "" || coop.Website != "" ||
		coop.LegalStatus != "spółdzielnia socjalna" || !strings.HasPrefix(coop.TaxStatus, "non-profit") {
		t.Errorf("cooperative: %+v", coop)
	}
	if a := coop.Locations[0].Addresses[0]; a.StateProvince != "wielkopolskie" || a.Region != "wielkopolskie" || a.Country != "PL" {
		t.Errorf("address without region: %+v (the voivodeship must come from the TERYT code)", a)
	}
	type ident struct{ scheme, value string }
	var ids []ident
	for _, i := range coop.OrganizationIdentifiers {
		ids = append(ids, ident{i.IdentifierScheme, i.Identifier})
	}
	if want := []ident{{"PL-REGON", "30123456700015"}, {"PL-KRS", "0000123456"}}; !slices.Equal(ids, want) ||
		!strings.Contains(coop.OrganizationIdentifiers[0].IdentifierType, "jednostki lokalnej") {
		t.Errorf("identifiers = %+v", coop.OrganizationIdentifiers)
	}
	if coop.Funding != nil || coop.Services != nil {
		t.Errorf("cooperative has no agreements or services: %+v %+v", coop.Funding, coop.Services)
	}

	assoc := decode[Organization](t, e.get("/hsds/organizations/"+assocProviderID))
	if assoc.Description != "Realizator usług społecznych – fundacja lub stowarzyszenie." || assoc.Locations != nil {
		t.Errorf("association without description or address: %+v", assoc)
	}
	group := decode[Organization](t, e.get("/hsds/organizations/"+groupProviderID))
	if group.TaxStatus != "" || group.TaxID != "" || group.OrganizationIdentifiers != nil ||
		group.Locations[0].Addresses[0].Address1 != "" || group.Locations[0].Addresses[0].City != "Sarnowa" {
		t.Errorf("informal group: %+v", group)
	}
	company := decode[Organization](t, e.get("/hsds/organizations/"+companyProviderID))
	if company.Name != "Opiekunki Domowe sp. z o.o." || company.LegalStatus != "przedsiębiorca" {
		t.Errorf("a suspended provider is still an organization: %+v", company)
	}

	// Every id in a document is unique (derived ids must not collide), but for taxonomy terms, which are the
	// same objects wherever they are used.
	for _, id := range publishedOrder {
		body := e.get("/hsds/organizations/" + id + "?full_service=true")
		seen := map[string]bool{}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if s, ok := x["id"].(string); ok {
					if seen[s] {
						t.Errorf("organization %s: id %s used twice", id, s)
					}
					seen[s] = true
				}
				for k, c := range x {
					if k != "taxonomy_term" {
						walk(c)
					}
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			}
		}
		walk(decode[any](t, body))
	}
}

func TestServicesCarryOrganization(t *testing.T) {
	e := newFixtureOrgEnv(t)
	serviceSchema := schemaFile(t, "compiled/service.json")

	body := e.get("/hsds/services/" + careID)
	validate(t, serviceSchema, "care service", body)
	validate(t, schemaFile(t, "compiled/organization.json"), "care service's organization",
		[]byte(mustJSON(t, decode[map[string]any](t, body)["organization"])))
	care := decode[Service](t, body)
	if care.OrganizationID != cusProviderID || care.Organization == nil || care.Organization.ID != cusProviderID ||
		care.Organization.Name != "Centrum Usług Społecznych w Rawiczu" || len(care.Organization.Locations) != 1 ||
		len(care.Organization.OrganizationIdentifiers) != 1 || len(care.Organization.Phones) != 2 {
		t.Fatalf("care organization: %+v", care.Organization)
	}
	if care.Organization.Services != nil || care.Organization.Funding != nil {
		t.Errorf("a service's organization nests no services or funding: %+v", care.Organization)
	}

	// The default list: one-to-one services, whose organization has its one-to-one fields.
	list := e.list("/hsds/services", "compiled/service.json", "compiled/service_list.json")
	orgOf := map[string]string{}
	for _, item := range list.Contents {
		s := decode[Service](t, item)
		if s.Organization != nil {
			orgOf[s.ID] = s.Organization.ID
			if s.OrganizationID != s.Organization.ID {
				t.Errorf("%s: organization_id %s, organization %s", s.ID, s.OrganizationID, s.Organization.ID)
			}
			if s.Organization.Phones != nil || s.Organization.Locations != nil || s.Organization.OrganizationIdentifiers != nil {
				t.Errorf("organization in a one-to-one service has arrays: %s", item)
			}
		} else if s.OrganizationID != "" {
			t.Errorf("%s: organization_id without organization", s.ID)
		}
	}
	// The first provider only; a closed first provider or an unknown one leaves the service without one.
	want := map[string]string{careID: cusProviderID, clubID: assocProviderID}
	if fmt.Sprint(orgOf) != fmt.Sprint(want) {
		t.Errorf("organizations = %v, want %v", orgOf, want)
	}
	full := e.list("/hsds/services?full=true", "compiled/service.json")
	for _, item := range full.Contents {
		s := decode[Service](t, item)
		if single := e.get("/hsds/services/" + s.ID); !bytes.Equal(bytes.TrimSpace(single), item) {
			t.Errorf("full list item %s differs from GET /services/{id}", s.ID)
		}
	}

	// Each provider was looked up once, however many services and pages named it.
	if n := e.prov.callCount("GetProvider"); n != 4 {
		t.Errorf("GetProvider called %d times for 4 distinct first providers", n)
	}
	// After the cache's 30 seconds, they are looked up again.
	e.clock.advance(orgCacheTTL + time.Second)
	e.list("/hsds/services")
	if n := e.prov.callCount("GetProvider"); n != 8 {
		t.Errorf("GetProvider called %d times after the cache expired, want 8", n)
	}
	if n := e.prov.callCount("ListProviders"); n != 0 {
		t.Errorf("services listed providers %d times", n)
	}
}

func TestServicesWithoutRegistryCarryNoOrganization(t *testing.T) {
	e := newEnv(t, orgServices()...)
	for _, path := range []string{"/hsds/services", "/hsds/services?full=true"} {
		for _, item := range e.list(path, "compiled/service.json").Contents {
			if bytes.Contains(item, []byte(`"organization`)) {
				t.Errorf("%s: organization without a registry: %s", path, item)
			}
		}
	}
	if body := e.get("/hsds/services/" + careID); bytes.Contains(body, []byte(`"organization`)) {
		t.Errorf("organization without a registry: %s", body)
	}
	doc := decode[map[string]any](t, e.get("/hsds/openapi.json"))
	if _, ok := doc["paths"].(map[string]any)["/organizations"]; ok {
		t.Error("openapi.json describes /organizations without a registry")
	}
}

func TestOrganizationIDFilter(t *testing.T) {
	e := newFixtureOrgEnv(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"organization_id=" + cusProviderID, []string{clubID, careID, nurseryID}}, // any provider, not only the first
		{"organization_id=" + strings.ToUpper(cusProviderID), []string{clubID, careID, nurseryID}},
		{"organization_id=" + assocProviderID, []string{clubID}},
		{"organization_id=" + coopProviderID, nil},
		{"organization_id=" + closedProviderID, nil},  // not published: provides nothing
		{"organization_id=" + unknownProviderID, nil}, // not in the registry
		{"organization_id=" + cusProviderID + "&search=opiekuncze", []string{careID}},
		{"organization_id=" + cusProviderID + "&search=i&modified_after=2026-02-01T00:00:00Z", []string{clubID, nurseryID}},
		{"organization_id=" + cusProviderID + "&modified_after=2026-02-01T00:00:00Z", []string{clubID, nurseryID}},
		{"organization_id=" + cusProviderID + "&taxonomy_id=" + targetGroupTaxonomy.ID, []string{clubID, careID, nurseryID}},
		{"organization_id=" + cusProviderID + "&taxonomy_term_id=" + areaTermID(cataloguev1.Area_AREA_CULTURE), []string{clubID}},
	} {
		if got := e.serviceIDs("/hsds/services?" + tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	env := e.list("/hsds/services?organization_id=" + cusProviderID + "&per_page=2&page=2")
	if env.TotalItems != 3 || env.TotalPages != 2 || env.Size != 1 || !env.LastPage {
		t.Errorf("paging of a filtered list: %+v", env)
	}
}

func TestOrganizationsPaging(t *testing.T) {
	providers, ids := generatedProviders(1600) // 1067 published: more than one registry page of 1000
	e := newOrgEnv(t, nil, providers, nil)
	if len(ids) != 1067 {
		t.Fatalf("fixture: %d published", len(ids))
	}
	for _, tc := range []struct{ perPage, page int }{
		{50, 1}, {50, 2}, {7, 100}, {200, 5}, {200, 6}, {199, 6}, {1, 1067}, {3, 356}, {200, 7}, {50, 100000},
	} {
		path := fmt.Sprintf("/hsds/organizations?per_page=%d&page=%d", tc.perPage, tc.page)
		env := e.list(path, "compiled/organization_list.json")
		from := min((tc.page-1)*tc.perPage, len(ids))
		to := min(from+tc.perPage, len(ids))
		var got []string
		for _, item := range env.Contents {
			got = append(got, decode[Organization](t, item).ID)
		}
		if !slices.Equal(got, ids[from:to]) {
			t.Errorf("%s: %d ids starting %v, want ids[%d:%d]", path, len(got), got[:min(2, len(got))], from, to)
		}
		wantPages := (len(ids) + tc.perPage - 1) / tc.perPage
		if env.TotalItems != len(ids) || env.TotalPages != wantPages || env.PageNumber != tc.page ||
			env.Size != to-from || env.FirstPage != (tc.page == 1) || env.LastPage != (tc.page >= wantPages) ||
			env.Empty != (to == from) {
			t.Errorf("%s: envelope %+v", path, env)
		}
	}
	// The default page is 50; page 3 of 10 is one registry call.
	if env := e.list("/hsds/organizations"); env.Size != 50 || env.TotalPages != 22 {
		t.Errorf("default paging: %+v", env)
	}
	before := e.prov.callCount("ListProviders")
	e.list("/hsds/organizations?per_page=10&page=3")
	if n := e.prov.callCount("ListProviders") - before; n != 1 {
		t.Errorf("page 3 of 10 took %d ListProviders calls, want 1", n)
	}
	// A search reads the registry (two pages here) and pages its matches.
	env := e.list("/hsds/organizations?search=organizacja%2010&per_page=20&page=2", "compiled/organization_list.json")
	// "Organizacja 10xx" published: 1000..1099 without every third (i%3 == 2).
	var matches []string
	for i, p := range providers {
		if strings.Contains(p.GetDisplayName(), "Organizacja 10") && i%3 != 2 {
			matches = append(matches, OrganizationID(p.GetName()))
		}
	}
	var got []string
	for _, item := range env.Contents {
		got = append(got, decode[Organization](t, item).ID)
	}
	if env.TotalItems != len(matches) || !slices.Equal(got, matches[20:40]) {
		t.Errorf("search paging: %+v, %d matches", env, len(matches))
	}
}

func TestOrganizationSearch(t *testing.T) {
	e := newFixtureOrgEnv(t)
	for _, tc := range []struct {
		search string
		want   []string
	}{
		{"smaki", []string{coopProviderID}},
		{"SPÓŁDZIELNIA", []string{coopProviderID}},
		{"spoldzielnia", []string{coopProviderID}},             // diacritics optional
		{"w Rawiczu", []string{cusProviderID, coopProviderID}}, // the legal name too
		{"sarnowa", []string{groupProviderID}},                 // the town
		{"naprawach", []string{groupProviderID}},               // the description
		{"856-734-62-15", []string{coopProviderID}},            // NIP as people write it
		{"PL 8567346215", []string{coopProviderID}},
		{"654321", []string{assocProviderID}}, // KRS without its zeros
		{"300000000", nil},                    // the closed foundation's REGON: not published
		{"dawna pomoc", nil},                  // nor by name
		{"nie ma takiej organizacji", nil},
	} {
		got := e.organizationIDs("/hsds/organizations?search=" + url.QueryEscape(tc.search))
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %v, want %v", tc.search, got, tc.want)
		}
	}
}

func TestOrganizationErrors(t *testing.T) {
	e := newFixtureOrgEnv(t)
	for _, tc := range []struct{ path, reason string }{
		{"/hsds/organizations/" + unknownProviderID, "ORGANIZATION_NOT_FOUND"},
		{"/hsds/organizations/" + closedProviderID, "ORGANIZATION_NOT_FOUND"},
		{"/hsds/organizations/" + cusProviderID + "/services", "ROUTE_NOT_FOUND"},
		{"/hsds/organizations/", "ROUTE_NOT_FOUND"},
	} {
		st, body := e.expectError(http.MethodGet, tc.path, http.StatusNotFound, 5)
		if got := st.reason(t); got != tc.reason {
			t.Errorf("%s: reason %s, want %s: %s", tc.path, got, tc.reason, body)
		}
	}
	for _, tc := range []struct{ path, field string }{
		{"/hsds/organizations/not-a-uuid", "id"},
		{"/hsds/organizations/0195f3a27c1e7a109a523f6a1c0b9001", "id"},
		{"/hsds/organizations/{" + cusProviderID[1:] + "}", "id"},
		{"/hsds/organizations?page=0", "page"},
		{"/hsds/organizations?per_page=201", "per_page"},
		{"/hsds/organizations?full=perhaps", "full"},
		{"/hsds/organizations?full_service=true", "full_service"},
		{"/hsds/organizations?format=csv", "format"},
		{"/hsds/organizations?search=" + url.QueryEscape(strings.Repeat("ż", 201)), "search"},
		{"/hsds/organizations/" + cusProviderID + "?full_service=yes", "full_service"},
	} {
		st, body := e.expectError(http.MethodGet, tc.path, http.StatusBadRequest, 3)
		if fields := st.fields(t); !slices.Equal(fields, []string{tc.field}) || st.reason(t) != "INVALID_FIELDS" {
			t.Errorf("%s: error names %v, want %s: %s", tc.path, fields, tc.field, body)
		}
	}
	for _, path := range []string{"/hsds/organizations", "/hsds/organizations/" + cusProviderID} {
		r := e.do(http.MethodPost, path)
		if r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d", path, r.code)
		}
		get, head := e.do(http.MethodGet, path), e.do(http.MethodHead, path)
		if head.code != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Length") != fmt.Sprint(len(get.body)) {
			t.Errorf("HEAD %s: %d %v", path, head.code, head.header)
		}
	}
	// An internal error of the registry is a generic 500: its text stays inside.
	e.prov.setGetErr(status.Error(codes.Internal, "bbolt: /var/lib/cus/provider.db: page 77 corrupt"))
	_, body := e.expectError(http.MethodGet, "/hsds/organizations/"+cusProviderID, http.StatusInternalServerError, 13)
	if strings.Contains(body, "bbolt") {
		t.Errorf("internal error text leaked: %s", body)
	}
}

func TestOpenAPIWithOrganizations(t *testing.T) {
	e := newFixtureOrgEnv(t)
	doc := decode[map[string]any](t, e.get("/hsds/openapi.json"))
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/organizations", "/organizations/{id}", "/services"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	// The new paths refer to HSDS's compiled organization schemas.
	raw := string(e.get("/hsds/openapi.json"))
	for _, ref := range []string{"compiled/organization.json", "compiled/organization_list.json"} {
		if !strings.Contains(raw, ref) {
			t.Errorf("openapi.json does not refer to %s", ref)
		}
	}
}

// TestRegistryDown: with the provider registry gone, organizations answer 503 (without transport details),
// while services still answer, without their organization, and no slower than the lookup bound.
func TestRegistryDown(t *testing.T) {
	e := newFixtureOrgEnv(t)
	e.stopProviders()
	for _, path := range []string{"/hsds/organizations", "/hsds/organizations?search=smaki", "/hsds/organizations/" + cusProviderID} {
		st, body := e.expectError(http.MethodGet, path, http.StatusServiceUnavailable, 14)
		if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "dial") || strings.Contains(body, "transport") ||
			!strings.Contains(st.Message, "provider registry") || st.reason(t) != "BACKEND_UNAVAILABLE" {
			t.Errorf("%s: %s", path, body)
		}
	}
	start := time.Now()
	r := e.do(http.MethodGet, "/hsds/services")
	if d := time.Since(start); d > orgLookupTimeout {
		t.Errorf("services took %v with the registry down", d)
	}
	if r.code != http.StatusOK {
		t.Fatalf("services with the registry down: %d %s", r.code, r.body)
	}
	list := e.list("/hsds/services", "compiled/service.json", "compiled/service_list.json")
	if list.TotalItems != 4 {
		t.Errorf("services: %+v", list)
	}
	for _, item := range list.Contents {
		if bytes.Contains(item, []byte(`"organization`)) {
			t.Errorf("organization while the registry is down: %s", item)
		}
	}
	body := e.get("/hsds/services/" + careID)
	validate(t, schemaFile(t, "compiled/service.json"), "care without registry", body)
	if bytes.Contains(body, []byte(`"organization`)) {
		t.Errorf("organization while the registry is down: %s", body)
	}
	// The organization_id filter falls back on the catalogue when the registry cannot say.
	if got := e.serviceIDs("/hsds/services?organization_id=" + assocProviderID); !slices.Equal(got, []string{clubID}) {
		t.Errorf("organization_id with the registry down: %v", got)
	}
}

// TestRegistryHangs: a registry that does not answer holds a page of services for the lookup bound, however
// many providers the page names (here 40 distinct ones: five rounds of lookups at once, if each had its own
// bound).
func TestRegistryHangs(t *testing.T) {
	const bound = 300 * time.Millisecond
	services := generatedServices(40)
	providers, ids := generatedProviders(60)
	for i, s := range services {
		s.Providers = []string{"providers/" + ids[i]}
	}
	e := newOrgEnv(t, services, providers, nil, func(h *handler) { h.orgs.timeout = bound })
	e.list("/hsds/services?per_page=1") // connect to both services first: only the lookups are timed
	e.prov.setHang(true)
	e.clock.advance(time.Hour)
	start := time.Now()
	r := e.do(http.MethodGet, "/hsds/services")
	if d := time.Since(start); d > 3*bound {
		t.Errorf("the page took %v", d)
	}
	if r.code != http.StatusOK || bytes.Contains(r.body, []byte(`"organization`)) {
		t.Errorf("services from a registry that does not answer: %d %s", r.code, r.body)
	}
	// Once it answers again (and the failed calls, which ended by their own bound, are forgotten), services
	// carry their organizations.
	// The failed calls end by their bound, but on a loaded machine some may end later: a lookup made while one
	// is still in flight shares its failure, so the page is asked again (past the failures' TTL each time)
	// until every service has its organization, for a few seconds at most.
	e.prov.setHang(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(bound)
		e.clock.advance(orgErrorTTL + time.Second)
		var missing []json.RawMessage
		for _, item := range e.list("/hsds/services").Contents {
			if s := decode[Service](t, item); s.Organization == nil || s.OrganizationID != s.Organization.ID {
				missing = append(missing, item)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no organization after recovery for %d services, e.g. %s", len(missing), missing[0])
		}
	}
}

// TestLookupFailuresAreCachedBriefly: a registry that fails lookups is asked again only after orgErrorTTL,
// and organizations come back once it answers.
func TestLookupFailuresAreCachedBriefly(t *testing.T) {
	e := newFixtureOrgEnv(t)
	e.prov.setGetErr(status.Error(codes.Unavailable, "overloaded"))
	e.list("/hsds/services")
	e.list("/hsds/services?full=true")
	if n := e.prov.callCount("GetProvider"); n != 4 {
		t.Errorf("GetProvider called %d times, want 4 (failures reused)", n)
	}
	e.prov.setGetErr(nil)
	e.clock.advance(orgErrorTTL + time.Second)
	if care := decode[Service](t, e.get("/hsds/services/"+careID)); care.Organization == nil {
		t.Error("the organization did not come back with the registry")
	}
}

// TestCatalogueDownForOrganization: an organization is served without its services when the catalogue cannot
// list them; its own data comes from the registry.
func TestCatalogueDownForOrganization(t *testing.T) {
	e := newFixtureOrgEnv(t)
	e.stopGRPC()
	body := e.get("/hsds/organizations/" + cusProviderID)
	validate(t, schemaFile(t, "compiled/organization.json"), "organization without catalogue", body)
	org := decode[Organization](t, body)
	if org.Services != nil || len(org.Funding) != 2 || org.Name == "" {
		t.Errorf("organization without catalogue: %+v", org)
	}
	e.list("/hsds/organizations", "compiled/organization_list.json")
}

// TestConcurrentLookups: many requests naming the same providers at once share one lookup each (run with
// -race).
func TestConcurrentLookups(t *testing.T) {
	e := newFixtureOrgEnv(t)
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		wg.Go(func() {
			path := "/hsds/services"
			switch i % 4 {
			case 1:
				path = "/hsds/services/" + careID
			case 2:
				path = "/hsds/services?full=true"
			case 3:
				path = "/hsds/organizations/" + assocProviderID
			}
			resp, err := e.srv.Client().Get(e.srv.URL + path)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("%s: %d", path, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 4 distinct first providers, each looked up once by services; the association is also read afresh by
	// each of its 10 GET /organizations/{id}.
	if n := e.prov.callCount("GetProvider"); n > 4+10 {
		t.Errorf("GetProvider called %d times", n)
	}
}

// TestOrganizationSchemaValidationIsStrict makes sure the organization checks above can fail.
func TestOrganizationSchemaValidationIsStrict(t *testing.T) {
	schema := schemaFile(t, "compiled/organization.json")
	check := func(o *Organization) error {
		raw, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.Replace(raw, []byte(`"description":"DROP",`), nil, 1)
		raw = bytes.Replace(raw, []byte(`"identifier_type":"DROP",`), nil, 1)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(inst)
	}
	if err := check(ProviderToHSDS(fixtureProviders()[1])); err != nil {
		t.Fatalf("fixture does not validate: %v", err)
	}
	for name, mutate := range map[string]func(o *Organization){
		"id not a uuid":           func(o *Organization) { o.ID = "providers/1" },
		"no description":          func(o *Organization) { o.Description = "DROP" },
		"website not a uri":       func(o *Organization) { o.Website = "smaki.example" },
		"email not an email":      func(o *Organization) { o.Email = "bistro at smaki" },
		"identifier without type": func(o *Organization) { o.OrganizationIdentifiers[0].IdentifierType = "DROP" },
		"location type":           func(o *Organization) { o.Locations[0].LocationType = "seat" },
		"phone id":                func(o *Organization) { o.Phones = []Phone{{ID: "1", Number: "1"}} },
	} {
		o := ProviderToHSDS(fixtureProviders()[1])
		mutate(o)
		if check(o) == nil {
			t.Errorf("%s: validated, want an error", name)
		}
	}
}

func TestFundingSource(t *testing.T) {
	for _, tc := range []struct {
		f    *providerv1.Funding
		want string
	}{
		{&providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET}, "Budżet gminy"},
		{&providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_STATE_PROGRAMME, Description: "Program „Senior+” – edycja 2026"},
			"Program rządowy: Program „Senior+” – edycja 2026"},
		{&providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_OTHER, Description: "darowizna parafii"}, "Darowizna parafii"},
		{&providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_OTHER}, ""},
		{nil, ""},
	} {
		if got := fundingSource(tc.f); got != tc.want {
			t.Errorf("fundingSource(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestDerivedOrganizationIDsAreStable(t *testing.T) {
	o := ProviderToHSDS(fixtureProviders()[0])
	if o.ID != cusProviderID || o.Phones[0].ID != deriveID(cusProviderID, "phone", "0") ||
		o.Locations[0].ID != deriveID(cusProviderID, "location", "seat") ||
		o.OrganizationIdentifiers[0].ID != deriveID(cusProviderID, "organization_identifier", "PL-REGON") {
		t.Errorf("derived ids: %+v", o)
	}
	if got := OrganizationID("providers/not-a-uuid"); got == "" || got != OrganizationID("providers/not-a-uuid") {
		t.Errorf("OrganizationID fallback must be a stable UUID, got %q", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
