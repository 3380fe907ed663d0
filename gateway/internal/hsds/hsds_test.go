package hsds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ---- HSDS schemas -------------------------------------------------------------------------------------

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*jsonschema.Schema{}
)

// hsdsDir is the copy of the HSDS 3.0 schemas kept with the tests (testdata/hsds-3.0, see its README), so the
// repository tests itself without anything beside it.
func hsdsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "hsds-3.0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "schema", "service.json")); err != nil {
		t.Fatalf("the HSDS schemas are missing from the checkout: %v", err)
	}
	return dir
}

// schemaFile compiles an HSDS schema file (relative to hsds-3.0/schema) with format assertions on, so
// that uuid, uri, email and date-time formats are checked, not just annotated.
func schemaFile(t *testing.T, rel string) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[rel]; ok {
		return s
	}
	path := filepath.Join(hsdsDir(t), "schema", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("HSDS schema %s: %v", rel, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compile %s: %v", rel, err)
	}
	schemaCache[rel] = s
	return s
}

// openAPISchema compiles a schema taken out of HSDS's openapi.json (pointer: the path of keys), with the
// given properties made required: the document lists them without "required", but its API reference says
// the page envelope "must include" them.
func openAPISchema(t *testing.T, name string, required []string, pointer ...string) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[name]; ok {
		return s
	}
	f, err := os.Open(filepath.Join(hsdsDir(t), "schema", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	node := doc
	for _, key := range pointer {
		m, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("openapi.json: no %v", pointer)
		}
		node = m[key]
	}
	sch, ok := node.(map[string]any)
	if !ok {
		t.Fatalf("openapi.json: %v is not a schema", pointer)
	}
	reqs := make([]any, len(required))
	for i, r := range required {
		reqs[i] = r
	}
	sch["required"] = reqs
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	loc := "https://cus.test/" + name + ".json"
	if err := c.AddResource(loc, sch); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		t.Fatal(err)
	}
	schemaCache[name] = s
	return s
}

func pageSchemaOf(t *testing.T) *jsonschema.Schema {
	return openAPISchema(t, "page",
		[]string{"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"},
		"components", "schemas", "Page")
}

func validate(t *testing.T, s *jsonschema.Schema, what string, body []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", what, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not validate against %s:\n%v\n%s", what, s.Location, err, body)
	}
}

// ---- test environment ---------------------------------------------------------------------------------

type env struct {
	t        *testing.T
	fake     *fakeCatalogue
	srv      *httptest.Server
	stopGRPC func()
	// Set by newOrgEnv only: the provider registry, stopping it, and the organization cache's clock.
	prov          *fakeProviders
	stopProviders func()
	clock         *fakeClock
}

const testBaseURL = "http://cus.test/hsds"

func newEnv(t *testing.T, services ...*cataloguev1.Service) *env {
	t.Helper()
	fake := newFakeCatalogue(services...)
	client, stop := startCatalogue(t, fake)
	srv := httptest.NewServer(NewHandler(client, Options{BaseURL: testBaseURL + "/", Publisher: "CUS w Rawiczu"}))
	t.Cleanup(srv.Close)
	return &env{t: t, fake: fake, srv: srv, stopGRPC: stop}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (e *env) do(method, path string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: body}
}

// get requests path and fails the test unless the answer is 200 JSON.
func (e *env) get(path string) []byte {
	e.t.Helper()
	r := e.do(http.MethodGet, path)
	if r.code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	return r.body
}

type envelope struct {
	TotalItems int               `json:"total_items"`
	TotalPages int               `json:"total_pages"`
	PageNumber int               `json:"page_number"`
	Size       int               `json:"size"`
	FirstPage  bool              `json:"first_page"`
	LastPage   bool              `json:"last_page"`
	Empty      bool              `json:"empty"`
	Contents   []json.RawMessage `json:"contents"`
}

// list requests a list endpoint, validates the envelope against HSDS's Page and each item against
// itemSchemas, and returns the envelope.
func (e *env) list(path string, itemSchemas ...string) envelope {
	e.t.Helper()
	body := e.get(path)
	validate(e.t, pageSchemaOf(e.t), "envelope of "+path, body)
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		e.t.Fatal(err)
	}
	if env.Contents == nil {
		e.t.Fatalf("%s: contents is not an array: %s", path, body)
	}
	for i, item := range env.Contents {
		for _, s := range itemSchemas {
			validate(e.t, schemaFile(e.t, s), fmt.Sprintf("%s contents[%d]", path, i), item)
		}
	}
	return env
}

func (e *env) serviceIDs(path string) []string {
	e.t.Helper()
	env := e.list(path, "compiled/service.json")
	var ids []string
	for _, item := range env.Contents {
		var s struct{ ID string }
		if err := json.Unmarshal(item, &s); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	return ids
}

// statusBody is a google.rpc.Status as the API writes it.
type statusBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// detail is the union of the fields of the ErrorInfo and BadRequest details the API writes.
type detail struct {
	Type            string            `json:"@type"`
	Reason          string            `json:"reason"`
	Domain          string            `json:"domain"`
	Metadata        map[string]string `json:"metadata"`
	FieldViolations []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"fieldViolations"`
}

// reason returns the ErrorInfo reason of an error (checking its domain).
func (st statusBody) reason(t *testing.T) string {
	t.Helper()
	for _, raw := range st.Details {
		var d detail
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" {
			if d.Domain != "cus.gov.pl" {
				t.Errorf("ErrorInfo domain %q", d.Domain)
			}
			return d.Reason
		}
	}
	t.Errorf("no ErrorInfo in %+v", st)
	return ""
}

// fields returns the fields named by the BadRequest detail of an error.
func (st statusBody) fields(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, raw := range st.Details {
		var d detail
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if d.Type == "type.googleapis.com/google.rpc.BadRequest" {
			for _, v := range d.FieldViolations {
				if v.Description == "" {
					t.Errorf("violation of %s has no description", v.Field)
				}
				out = append(out, v.Field)
			}
		}
	}
	return out
}

// expectError checks the HTTP status, the gRPC code in the body and the JSON error shape, and returns it.
func (e *env) expectError(method, path string, httpCode, grpcCode int) (statusBody, string) {
	e.t.Helper()
	r := e.do(method, path)
	if r.code != httpCode {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.code, httpCode, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var st statusBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		e.t.Fatalf("%s %s: error body %s: %v", method, path, r.body, err)
	}
	if st.Code != grpcCode || st.Message == "" || st.Details == nil {
		e.t.Errorf("%s %s: error %+v, want code %d with a message and details", method, path, st, grpcCode)
	}
	return st, string(r.body)
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// ---- tests --------------------------------------------------------------------------------------------

func TestServiceValidatesAgainstHSDS(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	schema := schemaFile(t, "compiled/service.json")
	for _, id := range []string{careID, clubID, nurseryID, legalAidID} {
		body := e.get("/hsds/services/" + id)
		validate(t, schema, "service "+id, body)
		if again := e.get("/hsds/services/" + id); !bytes.Equal(body, again) {
			t.Errorf("service %s: two reads differ (derived ids must be deterministic)", id)
		}
		if upper := e.get("/hsds/services/" + strings.ToUpper(id)); !bytes.Equal(body, upper) {
			t.Errorf("service %s: upper-case id gives another answer", id)
		}
	}
}

func TestServiceMapping(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	care := decode[Service](t, e.get("/hsds/services/"+careID))

	if care.ID != careID || care.Name != "Usługi opiekuńcze w miejscu zamieszkania" || care.AlternateName != "Opieka domowa" ||
		care.Status != "active" || care.URL != "https://cus.rawicz.pl/uslugi/opiekuncze" || care.Email != "opieka@cus.rawicz.pl" {
		t.Errorf("scalar fields: %+v", care)
	}
	if care.LastModified != "2026-01-10T10:00:00Z" {
		t.Errorf("last_modified = %q", care.LastModified)
	}
	if care.MinimumAge == nil || *care.MinimumAge != 18 || care.MaximumAge != nil {
		t.Errorf("ages: %v %v", care.MinimumAge, care.MaximumAge)
	}
	if care.Accreditations != "Standard usług opiekuńczych 2023; Certyfikat Dostępności" {
		t.Errorf("accreditations = %q", care.Accreditations)
	}
	if want := "Odpłatność zależy od dochodu na osobę w rodzinie. Podstawa: uchwała nr XLII/345/2022 z dnia 2022-03-24."; care.FeesDescription != want {
		t.Errorf("fees_description = %q, want %q", care.FeesDescription, want)
	}

	// Languages: duplicates (pl, PL) collapse; Polish names.
	var langs []string
	for _, l := range care.Languages {
		langs = append(langs, l.Code+"="+l.Name)
	}
	if want := []string{"pl=polski", "uk=ukraiński"}; !slices.Equal(langs, want) {
		t.Errorf("languages = %v, want %v", langs, want)
	}

	// Phones: a plain numeric extension becomes a number, others go to the description verbatim.
	if len(care.Phones) != 3 {
		t.Fatalf("phones: %+v", care.Phones)
	}
	if p := care.Phones[0]; p.Extension == nil || *p.Extension != 12 || p.Type != "voice" || p.Number != "+48 65 546 23 00" {
		t.Errorf("phone 0: %+v", p)
	}
	if p := care.Phones[1]; p.Extension != nil || !strings.Contains(p.Description, "12a") {
		t.Errorf("phone 1: %+v", p)
	}
	if p := care.Phones[2]; p.Extension != nil || !strings.Contains(p.Description, "012") {
		t.Errorf("phone 2 (leading zero must survive): %+v", p)
	}

	// Cost options: one per income band, amounts in exact PLN, rounded half up to grosze.
	type opt struct{ amount, option string }
	var opts []opt
	for _, c := range care.CostOptions {
		if c.Currency != "PLN" || !strings.Contains(c.AmountDescription, "za godzinę") ||
			!strings.Contains(c.AmountDescription, "uchwała nr XLII/345/2022") {
			t.Errorf("cost option %+v", c)
		}
		opts = append(opts, opt{string(c.Amount), c.Option})
	}
	wantOpts := []opt{
		{"0.00", "dochód na osobę poniżej 100% kryterium dochodowego (ustawa o pomocy społecznej)"},
		{"3.55", "dochód na osobę od 100% do poniżej 150% kryterium dochodowego (ustawa o pomocy społecznej)"},
		{"12.43", "dochód na osobę od 150% do poniżej 250% kryterium dochodowego (ustawa o pomocy społecznej)"},
		{"35.50", "dochód na osobę od 250% kryterium dochodowego (ustawa o pomocy społecznej)"},
	}
	if !slices.Equal(opts, wantOpts) {
		t.Errorf("cost options = %v, want %v", opts, wantOpts)
	}
	if !strings.Contains(care.CostOptions[0].AmountDescription, "Zwolnienie z odpłatności") {
		t.Errorf("exemption band: %q", care.CostOptions[0].AmountDescription)
	}

	// Location, address (state_province = voivodeship), accessibility, schedules grouped by interval.
	if len(care.ServiceAtLocations) != 1 {
		t.Fatalf("service_at_locations: %+v", care.ServiceAtLocations)
	}
	sal := care.ServiceAtLocations[0]
	loc := sal.Location
	if sal.ServiceID != careID || sal.LocationID != cusLocID || loc == nil || loc.ID != cusLocID || loc.LocationType != "physical" {
		t.Fatalf("service_at_location: %+v", sal)
	}
	if loc.Latitude == nil || *loc.Latitude != 51.6097 || loc.Longitude == nil || *loc.Longitude != 16.858 {
		t.Errorf("coordinates: %v %v", loc.Latitude, loc.Longitude)
	}
	wantAddr := Address{ID: loc.Addresses[0].ID, LocationID: cusLocID, Address1: "ul. Kamińskiego 8", City: "Rawicz",
		Region: "wielkopolskie", StateProvince: "wielkopolskie", PostalCode: "63-900", Country: "PL", AddressType: "physical"}
	if len(loc.Addresses) != 1 || loc.Addresses[0] != wantAddr {
		t.Errorf("addresses = %+v, want %+v", loc.Addresses, wantAddr)
	}
	if len(loc.Accessibility) != 1 || loc.Accessibility[0].URL != "https://cus.rawicz.pl/deklaracja-dostepnosci" ||
		!strings.Contains(loc.Accessibility[0].Description, "pętla indukcyjna") || loc.Accessibility[0].Details == "" {
		t.Errorf("accessibility = %+v", loc.Accessibility)
	}
	type sched struct{ byday, opens, closes, notes string }
	var scheds []sched
	for _, s := range sal.Schedules {
		if s.Freq != "WEEKLY" || s.ServiceAtLocationID != sal.ID || s.ServiceID != careID || s.LocationID != cusLocID {
			t.Errorf("schedule %+v", s)
		}
		scheds = append(scheds, sched{s.Byday, s.OpensAt, s.ClosesAt, s.Notes})
	}
	wantScheds := []sched{
		{"MO,TU,WE,TH,FR", "07:30", "15:30", ""},
		{"TU", "15:30", "17:00", "po wcześniejszym umówieniu"},
	}
	if !slices.Equal(scheds, wantScheds) {
		t.Errorf("schedules = %v, want %v", scheds, wantScheds)
	}

	// Service area with its TERYT code.
	if len(care.ServiceAreas) != 1 || care.ServiceAreas[0].Name != "Gmina Rawicz" ||
		!strings.Contains(care.ServiceAreas[0].Description, "3022053") {
		t.Errorf("service_areas = %+v", care.ServiceAreas)
	}

	// Attributes: areas then target groups, linked to the catalogue's term ids.
	type attr struct{ term, linkType, taxonomy string }
	var attrs []attr
	for _, a := range care.Attributes {
		if a.LinkID != careID || a.LinkEntity != "service" || a.TaxonomyTerm == nil || a.TaxonomyTerm.ID != a.TaxonomyTermID {
			t.Errorf("attribute %+v", a)
			continue
		}
		attrs = append(attrs, attr{a.TaxonomyTermID, a.LinkType, a.TaxonomyTerm.Taxonomy})
	}
	wantAttrs := []attr{
		{areaTermID(cataloguev1.Area_AREA_SOCIAL_ASSISTANCE), "category", AreaTaxonomyName},
		{areaTermID(cataloguev1.Area_AREA_DISABILITY_SUPPORT), "category", AreaTaxonomyName},
		{groupTermID(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS), "audience", TargetGroupTaxonomyName},
		{groupTermID(cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES), "audience", TargetGroupTaxonomyName},
	}
	if !slices.Equal(attrs, wantAttrs) {
		t.Errorf("attributes = %v, want %v", attrs, wantAttrs)
	}

	// Every id in the document is unique (derived ids must not collide).
	ids := regexp.MustCompile(`"id":"([^"]+)"`).FindAllStringSubmatch(string(e.get("/hsds/services/"+careID)), -1)
	seen := map[string]bool{}
	for _, m := range ids {
		if seen[m[1]] {
			t.Errorf("id %s used twice", m[1])
		}
		seen[m[1]] = true
	}
	if len(ids) < 15 {
		t.Errorf("only %d ids found in the service", len(ids))
	}

	club := decode[Service](t, e.get("/hsds/services/"+clubID))
	if club.Status != "temporarily closed" {
		t.Errorf("club status %q", club.Status)
	}
	if len(club.CostOptions) != 1 || club.CostOptions[0].Amount != "0.00" || club.CostOptions[0].Option != "bezpłatnie" ||
		club.FeesDescription != "Usługa bezpłatna." {
		t.Errorf("free service: %+v %q", club.CostOptions, club.FeesDescription)
	}
	clubLoc := club.ServiceAtLocations[0].Location
	if a := clubLoc.Addresses[0]; a.StateProvince != "wielkopolskie" || a.Region != "wielkopolskie" || a.Country != "PL" {
		t.Errorf("address without region: %+v (voivodeship must come from the TERYT code)", a)
	}
	if clubLoc.Accessibility != nil || clubLoc.Latitude != nil {
		t.Errorf("absent accessibility/coordinates must be omitted: %+v", clubLoc)
	}
	scheds = nil
	for _, s := range club.ServiceAtLocations[0].Schedules {
		scheds = append(scheds, sched{s.Byday, s.OpensAt, s.ClosesAt, s.Notes})
	}
	wantScheds = []sched{{"MO,WE", "10:00", "14:00", ""}, {"SA", "18:00", "23:59", "potańcówka"}}
	if !slices.Equal(scheds, wantScheds) {
		t.Errorf("club schedules = %v, want %v", scheds, wantScheds)
	}

	nursery := decode[Service](t, e.get("/hsds/services/"+nurseryID))
	if nursery.Status != "active" || nursery.MinimumAge == nil || *nursery.MinimumAge != 0 ||
		nursery.MaximumAge == nil || *nursery.MaximumAge != 3 {
		t.Errorf("nursery status/ages: %q %v %v", nursery.Status, nursery.MinimumAge, nursery.MaximumAge)
	}
	if nursery.Email != "" {
		t.Errorf("an invalid e-mail must be dropped, got %q", nursery.Email)
	}
	if len(nursery.Phones) != 1 {
		t.Errorf("an empty phone must be dropped: %+v", nursery.Phones)
	}
	if len(nursery.CostOptions) != 1 || nursery.CostOptions[0].Amount != "600.00" || nursery.CostOptions[0].Currency != "PLN" ||
		!strings.Contains(nursery.CostOptions[0].AmountDescription, "600,00 zł za miesiąc") {
		t.Errorf("flat fee: %+v", nursery.CostOptions)
	}
	if want := "Odpłatność: 600,00 zł za miesiąc. Podstawa: uchwała nr XX/150/2024."; nursery.FeesDescription != want {
		t.Errorf("fees_description = %q, want %q", nursery.FeesDescription, want)
	}
	if len(nursery.ServiceAtLocations) != 2 || nursery.ServiceAtLocations[1].Location.Addresses != nil ||
		nursery.ServiceAtLocations[1].Schedules != nil || nursery.ServiceAtLocations[0].Location.Addresses[0].Address2 != "budynek A" {
		t.Errorf("nursery locations: %+v", nursery.ServiceAtLocations)
	}

	aid := decode[Service](t, e.get("/hsds/services/"+legalAidID))
	if aid.Status != "defunct" || aid.LastModified != "2025-12-01T09:15:30.5Z" ||
		len(aid.CostOptions) != 1 || aid.CostOptions[0].Amount != "0.00" ||
		!strings.Contains(aid.CostOptions[0].AmountDescription, "V/40/2019") {
		t.Errorf("legal aid: %+v", aid)
	}
}

func TestServiceToHSDSWithoutTaxonomy(t *testing.T) {
	s := ServiceToHSDS(fixtureServices()[0], nil)
	if s.Attributes != nil {
		t.Errorf("attributes without a taxonomy: %+v", s.Attributes)
	}
	if s.ID != careID || len(s.CostOptions) != 4 {
		t.Errorf("mapping without taxonomy: %+v", s)
	}
	if got := ServiceID("services/not-a-uuid"); got == "" || got != ServiceID("services/not-a-uuid") {
		t.Errorf("ServiceID fallback must be a stable UUID, got %q", got)
	}
}

func TestListServices(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	// The default list has the one-to-one fields (HSDS's service_list); full=true nests everything.
	env := e.list("/hsds/services", "compiled/service.json", "compiled/service_list.json")
	if env.TotalItems != 4 || env.Size != 4 || env.TotalPages != 1 || !env.FirstPage || !env.LastPage || env.Empty {
		t.Errorf("envelope: %+v", env)
	}
	for _, item := range env.Contents {
		if bytes.Contains(item, []byte(`"cost_options"`)) || bytes.Contains(item, []byte(`"attributes"`)) {
			t.Errorf("one-to-one list item has arrays: %s", item)
		}
	}
	// Display-name order with Polish collation: Ż after P.
	names := func(env envelope) []string {
		var out []string
		for _, item := range env.Contents {
			out = append(out, decode[Service](t, item).Name)
		}
		return out
	}
	want := []string{"Klub Seniora „Pod Lipami”", "Punkt nieodpłatnej pomocy prawnej",
		"Usługi opiekuńcze w miejscu zamieszkania", "Żłobek Miejski „Promyk”"}
	if got := names(env); !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	// Listing needs no taxonomy unless asked for full services.
	if n := e.fake.callCount("ListAreas"); n != 0 {
		t.Errorf("ListAreas called %d times for a one-to-one list", n)
	}

	full := e.list("/hsds/services?full=true", "compiled/service.json")
	for i, item := range full.Contents {
		name := decode[Service](t, item).Name
		if name != want[i] {
			t.Errorf("full order: %s at %d", name, i)
		}
		id := decode[Service](t, item).ID
		if single := e.get("/hsds/services/" + id); !bytes.Equal(bytes.TrimSpace(single), item) {
			t.Errorf("full list item %s differs from GET /services/{id}", id)
		}
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	all := e.serviceIDs("/hsds/services")
	for _, tc := range []struct {
		query                  string
		totalPages, page, size int
		first, last, empty     bool
		from, to               int // expected slice of all
	}{
		{"per_page=3", 2, 1, 3, true, false, false, 0, 3},
		{"per_page=3&page=2", 2, 2, 1, false, true, false, 3, 4},
		{"per_page=3&page=3", 2, 3, 0, false, true, true, 4, 4},
		{"per_page=1&page=4", 4, 4, 1, false, true, false, 3, 4},
		{"per_page=2&page=2", 2, 2, 2, false, true, false, 2, 4},
		{"per_page=200", 1, 1, 4, true, true, false, 0, 4},
		{"page=1000000", 1, 1000000, 0, false, true, true, 4, 4},
	} {
		env := e.list("/hsds/services?"+tc.query, "compiled/service.json")
		if env.TotalItems != 4 || env.TotalPages != tc.totalPages || env.PageNumber != tc.page || env.Size != tc.size ||
			env.FirstPage != tc.first || env.LastPage != tc.last || env.Empty != tc.empty || len(env.Contents) != tc.size {
			t.Errorf("%s: envelope %+v", tc.query, env)
		}
		if got := e.serviceIDs("/hsds/services?" + tc.query); !slices.Equal(got, all[tc.from:tc.to]) {
			t.Errorf("%s: ids %v, want %v", tc.query, got, all[tc.from:tc.to])
		}
	}

	// An empty result set.
	env := e.list("/hsds/services?organization_id=0195f3a2-7c1e-7a10-9a52-3f6a1c0b9001", "compiled/service.json")
	if env.TotalItems != 0 || env.TotalPages != 0 || env.Size != 0 || !env.FirstPage || !env.LastPage || !env.Empty {
		t.Errorf("empty result: %+v", env)
	}
}

// TestPagingLargeCatalogue walks pages far beyond one catalogue page, through both ListServices (pages of
// up to 1000) and SearchServices (pages of up to 100, less than per_page's 200), and checks that HSDS pages
// partition the catalogue exactly.
func TestPagingLargeCatalogue(t *testing.T) {
	services := generatedServices(1234)
	e := newEnv(t, services...)
	ids := make([]string, len(services))
	for i, s := range services {
		ids[i] = ServiceID(s.GetName())
	}
	for _, tc := range []struct {
		base          string
		perPage, page int
	}{
		{"/hsds/services?", 50, 1},
		{"/hsds/services?", 50, 21},
		{"/hsds/services?", 7, 100},
		{"/hsds/services?", 200, 6},
		{"/hsds/services?", 200, 7},
		{"/hsds/services?", 199, 5},
		{"/hsds/services?search=usluga&", 200, 2},
		{"/hsds/services?search=Usługa&", 150, 9},
		{"/hsds/services?search=usługa&", 33, 17},
		{"/hsds/services?search=usluga&", 1, 1234},
	} {
		path := fmt.Sprintf("%sper_page=%d&page=%d", tc.base, tc.perPage, tc.page)
		from := min((tc.page-1)*tc.perPage, len(ids))
		to := min(from+tc.perPage, len(ids))
		env := e.list(path)
		got := make([]string, 0, len(env.Contents))
		for _, item := range env.Contents {
			got = append(got, decode[Service](t, item).ID)
		}
		if !slices.Equal(got, ids[from:to]) {
			t.Errorf("%s: got %d ids starting %v, want ids[%d:%d]", path, len(got), got[:min(3, len(got))], from, to)
		}
		wantPages := (len(ids) + tc.perPage - 1) / tc.perPage
		if env.TotalItems != len(ids) || env.TotalPages != wantPages || env.LastPage != (tc.page >= wantPages) {
			t.Errorf("%s: envelope %+v", path, env)
		}
	}

	// Reaching page 3 of 10 takes a single catalogue call (page size 30), not three.
	e.fake.resetCalls()
	e.list("/hsds/services?per_page=10&page=3")
	if n := e.fake.callCount("ListServices"); n != 1 {
		t.Errorf("page 3 of 10 took %d ListServices calls, want 1", n)
	}
	// Past the end costs one call: total_size tells where the end is.
	e.fake.resetCalls()
	if env := e.list("/hsds/services?per_page=200&page=500"); !env.Empty || env.TotalItems != 1234 {
		t.Errorf("past the end: %+v", env)
	}
	if n := e.fake.callCount("ListServices"); n != 1 {
		t.Errorf("a page past the end took %d ListServices calls, want 1", n)
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"opiekuncze", []string{careID}},     // no diacritics
		{"ŻŁOBEK", []string{nurseryID}},      // case
		{"pomocy", []string{legalAidID}},     // defunct services are published too
		{"seniorów", []string{clubID}},       // description; temporarily closed
		{"nie ma takiej usługi", nil},        // nothing
		{"  opiekuncze  ", []string{careID}}, // trimmed
	} {
		got := e.serviceIDs("/hsds/services?search=" + url.QueryEscape(tc.query))
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %v, want %v", tc.query, got, tc.want)
		}
	}
	if e.fake.callCount("SearchServices") == 0 {
		t.Error("search did not use SearchServices")
	}
}

func TestTaxonomyTermFilter(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	culture := areaTermID(cataloguev1.Area_AREA_CULTURE)
	social := areaTermID(cataloguev1.Area_AREA_SOCIAL_ASSISTANCE)
	seniors := groupTermID(cataloguev1.TargetGroup_TARGET_GROUP_SENIORS)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"taxonomy_term_id=" + culture, []string{clubID}},
		{"taxonomy_term_id=" + strings.ToUpper(culture), []string{clubID}},
		{"taxonomy_term_id=" + social, []string{legalAidID, careID}},
		{"taxonomy_term_id=" + seniors, []string{clubID, careID}},
		{"taxonomy_term_id=" + seniors + "&search=klub", []string{clubID}},
		{"taxonomy_term_id=" + social + "&modified_after=2026-01-01T00:00:00Z", []string{careID}},
		{"taxonomy_term_id=0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff", nil}, // unknown term
		{"taxonomy_id=" + targetGroupTaxonomy.ID, []string{clubID, legalAidID, careID, nurseryID}},
		{"taxonomy_id=" + areaTaxonomy.ID, []string{clubID, legalAidID, careID, nurseryID}},
		{"taxonomy_id=" + areaTaxonomy.ID + "&taxonomy_term_id=" + culture, []string{clubID}},
		{"taxonomy_id=" + targetGroupTaxonomy.ID + "&taxonomy_term_id=" + culture, nil}, // term of another taxonomy
		{"taxonomy_id=0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff", nil},
	} {
		if got := e.serviceIDs("/hsds/services?" + tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestModifiedAfter(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"2026-02-01T00:00:00Z", []string{clubID, nurseryID}},
		{"2026-02-15T12:30:00Z", []string{clubID, nurseryID}}, // on or after (HSDS), so equal counts
		{"2026-02-15T12:30:00.000000001Z", []string{nurseryID}},
		{"2026-02-15T13:30:00+01:00", []string{clubID, nurseryID}}, // offsets are honoured
		{"2030-01-01T00:00:00Z", nil},
		{"2000-01-01T00:00:00Z", []string{clubID, legalAidID, careID, nurseryID}},
	} {
		got := e.serviceIDs("/hsds/services?modified_after=" + url.QueryEscape(tc.value))
		if !slices.Equal(got, tc.want) {
			t.Errorf("modified_after=%s: %v, want %v", tc.value, got, tc.want)
		}
	}
	// An unencoded "+" arrives as a space; it is read as the offset sign it was meant to be.
	if got := e.serviceIDs("/hsds/services?modified_after=2026-02-15T13:30:00+01:00"); !slices.Equal(got, []string{clubID, nurseryID}) {
		t.Errorf("unencoded +01:00: %v", got)
	}
	// Combined with free text, which SearchServices cannot filter by time.
	if got := e.serviceIDs("/hsds/services?search=rawicz&modified_after=2026-01-01T00:00:00Z"); len(got) != 0 {
		t.Errorf("search rawicz: %v", got)
	}
	if got := e.serviceIDs("/hsds/services?search=i&modified_after=2026-01-01T00:00:00Z"); !slices.Equal(got, []string{clubID, careID, nurseryID}) {
		t.Errorf("search + modified_after: %v", got)
	}
	env := e.list("/hsds/services?search=i&modified_after=2026-01-01T00:00:00Z&per_page=2&page=2")
	if env.TotalItems != 3 || env.TotalPages != 2 || env.Size != 1 || !env.LastPage {
		t.Errorf("search + modified_after paging: %+v", env)
	}
}

func TestBadParams(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	long := strings.Repeat("ą", 201)
	for _, tc := range []struct {
		path  string
		field string
	}{
		{"/hsds/services?page=0", "page"},
		{"/hsds/services?page=-1", "page"},
		{"/hsds/services?page=abc", "page"},
		{"/hsds/services?page=1.5", "page"},
		{"/hsds/services?page=99999999999", "page"},
		{"/hsds/services?per_page=0", "per_page"},
		{"/hsds/services?per_page=201", "per_page"},
		{"/hsds/services?per_page=x", "per_page"},
		{"/hsds/services?taxonomy_term_id=kultura", "taxonomy_term_id"},
		{"/hsds/services?taxonomy_term_id=0195f3a27c1e7a109a523f6a1c0b0001", "taxonomy_term_id"},
		{"/hsds/services?taxonomy_id=%7B0195f3a2-7c1e-7a10-9a52-3f6a1c0b0001%7D", "taxonomy_id"},
		{"/hsds/services?organization_id=1", "organization_id"},
		{"/hsds/services?modified_after=2026-01-01", "modified_after"},
		{"/hsds/services?modified_after=yesterday", "modified_after"},
		{"/hsds/services?modified_after=2026-13-01T00:00:00Z", "modified_after"},
		{"/hsds/services?full=maybe", "full"},
		{"/hsds/services?format=ndjson", "format"},
		{"/hsds/services?postcode=63-900", "postcode"},
		{"/hsds/services?search=" + url.QueryEscape(long), "search"},
		{"/hsds/services/not-a-uuid", "id"},
		{"/hsds/taxonomies?per_page=1000", "per_page"},
		{"/hsds/taxonomies/xyz", "id"},
		{"/hsds/taxonomy_terms?taxonomy_id=x", "taxonomy_id"},
		{"/hsds/taxonomy_terms?parent_id=x", "parent_id"},
		{"/hsds/taxonomy_terms?top_only=perhaps", "top_only"},
		{"/hsds/taxonomy_terms/123", "id"},
	} {
		st, body := e.expectError(http.MethodGet, tc.path, http.StatusBadRequest, 3)
		if fields := st.fields(t); !slices.Equal(fields, []string{tc.field}) || st.reason(t) != "INVALID_FIELDS" {
			t.Errorf("%s: error names %v, want %s: %s", tc.path, fields, tc.field, body)
		}
	}
	// Every bad parameter is reported at once.
	st, body := e.expectError(http.MethodGet, "/hsds/services?page=0&per_page=0&full=x", http.StatusBadRequest, 3)
	if fields := st.fields(t); !slices.Equal(fields, []string{"page", "per_page", "full"}) {
		t.Errorf("combined error names %v: %s", fields, body)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	for _, tc := range []struct{ path, reason string }{
		{"/hsds/services/0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff", "SERVICE_NOT_FOUND"},
		{"/hsds/taxonomies/0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff", "TAXONOMY_NOT_FOUND"},
		{"/hsds/taxonomy_terms/" + areaTaxonomy.ID, "TAXONOMY_TERM_NOT_FOUND"},
		// A route that does not exist is told apart from a resource that does not exist.
		{"/hsds/organizations", "ROUTE_NOT_FOUND"},
		{"/hsds/services/" + careID + "/phones", "ROUTE_NOT_FOUND"},
		{"/hsds/services/", "ROUTE_NOT_FOUND"},
		{"/hsdsx", "ROUTE_NOT_FOUND"},
		{"/other", "ROUTE_NOT_FOUND"},
		{"/hsds/service_at_locations", "ROUTE_NOT_FOUND"},
	} {
		st, body := e.expectError(http.MethodGet, tc.path, http.StatusNotFound, 5)
		if got := st.reason(t); got != tc.reason {
			t.Errorf("%s: reason %s, want %s: %s", tc.path, got, tc.reason, body)
		}
	}
}

func TestMethods(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		for _, path := range []string{"/hsds/", "/hsds/services", "/hsds/services/" + careID, "/hsds/taxonomy_terms"} {
			r := e.do(m, path)
			if r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d Allow=%q", m, path, r.code, r.header.Get("Allow"))
			}
			var st statusBody
			if err := json.Unmarshal(r.body, &st); err != nil || st.Code != 12 || st.reason(t) != "METHOD_NOT_ALLOWED" {
				t.Errorf("%s %s: body %s", m, path, r.body)
			}
		}
	}
	// HEAD answers like GET without a body.
	get := e.do(http.MethodGet, "/hsds/services/"+careID)
	head := e.do(http.MethodHead, "/hsds/services/"+careID)
	if head.code != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Length") != fmt.Sprint(len(get.body)) ||
		head.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("HEAD: %d %v %q", head.code, head.header, head.body)
	}
	if r := e.do(http.MethodHead, "/hsds/services/"+"0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff"); r.code != http.StatusNotFound || len(r.body) != 0 {
		t.Errorf("HEAD of a missing service: %d %q", r.code, r.body)
	}
}

func TestTaxonomies(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	env := e.list("/hsds/taxonomies", "taxonomy.json")
	if env.TotalItems != 2 || env.Size != 2 {
		t.Fatalf("taxonomies: %+v", env)
	}
	var names []string
	for _, item := range env.Contents {
		tx := decode[TaxonomyDetail](t, item)
		names = append(names, tx.Name)
		single := e.get("/hsds/taxonomies/" + tx.ID)
		validate(t, schemaFile(t, "taxonomy.json"), "taxonomy "+tx.ID, single)
		if !bytes.Equal(bytes.TrimSpace(single), item) {
			t.Errorf("taxonomy %s differs between list and get", tx.ID)
		}
	}
	if !slices.Equal(names, []string{AreaTaxonomyName, TargetGroupTaxonomyName}) {
		t.Errorf("taxonomy names %v", names)
	}
	if env := e.list("/hsds/taxonomies?search=GRUPY", "taxonomy.json"); env.TotalItems != 1 {
		t.Errorf("taxonomy search: %+v", env)
	}

	terms := e.list("/hsds/taxonomy_terms?per_page=200", "taxonomy_term.json")
	if terms.TotalItems != 22 || terms.Size != 22 {
		t.Fatalf("terms: %+v", terms)
	}
	first := decode[TaxonomyTerm](t, terms.Contents[0])
	if first.ID != areaTermID(cataloguev1.Area_AREA_FAMILY_POLICY) || first.Code != "AREA_FAMILY_POLICY" ||
		first.Name != "polityka prorodzinna" || first.Taxonomy != AreaTaxonomyName || first.TaxonomyID != areaTaxonomy.ID ||
		first.TaxonomyDetail == nil || first.TaxonomyDetail.ID != areaTaxonomy.ID || !strings.Contains(first.Description, "pkt 1") {
		t.Errorf("first term: %+v", first)
	}
	last := decode[TaxonomyTerm](t, terms.Contents[21])
	if last.ID != groupTermID(cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS) || last.TaxonomyID != targetGroupTaxonomy.ID {
		t.Errorf("last term: %+v", last)
	}
	single := e.get("/hsds/taxonomy_terms/" + last.ID)
	validate(t, schemaFile(t, "taxonomy_term.json"), "term", single)
	if !bytes.Equal(bytes.TrimSpace(single), terms.Contents[21]) {
		t.Errorf("term differs between list and get")
	}

	for _, tc := range []struct {
		query string
		total int
	}{
		{"taxonomy_id=" + areaTaxonomy.ID, 14},
		{"taxonomy_id=" + targetGroupTaxonomy.ID, 8},
		{"taxonomy_id=0195f3a2-7c1e-7a10-9a52-3f6a1c0bffff", 0},
		{"parent_id=" + first.ID, 0},
		{"top_only=true", 22},
		{"search=spoleczna", 2}, // pomoc społeczna, reintegracja zawodowa i społeczna; diacritics optional
		{"search=seniors", 1},   // English name in the description
		{"search=AREA_CULTURE", 1},
		{"per_page=5&page=5", 22},
	} {
		env := e.list("/hsds/taxonomy_terms?"+tc.query, "taxonomy_term.json")
		if env.TotalItems != tc.total {
			t.Errorf("%s: total %d, want %d", tc.query, env.TotalItems, tc.total)
		}
	}
	if env := e.list("/hsds/taxonomy_terms?per_page=5&page=5", "taxonomy_term.json"); env.Size != 2 || env.TotalPages != 5 || !env.LastPage {
		t.Errorf("last page of terms: %+v", env)
	}

	// The taxonomy is read once and cached.
	if n := e.fake.callCount("ListAreas"); n != 1 {
		t.Errorf("ListAreas called %d times", n)
	}
}

func TestRootAndOpenAPI(t *testing.T) {
	e := newEnv(t)
	rootSchema := openAPISchema(t, "root", []string{"version", "profile", "openapi_url"},
		"paths", "/", "get", "responses", "200", "content", "application/json", "schema")
	for _, path := range []string{"/hsds/", "/hsds"} {
		body := e.get(path)
		validate(t, rootSchema, path, body)
		root := decode[Root](t, body)
		if root.Version != "3.0" || root.OpenAPIURL != testBaseURL+"/openapi.json" || root.Publisher != "CUS w Rawiczu" {
			t.Errorf("%s: %+v", path, root)
		}
	}
	doc := decode[map[string]any](t, e.get("/hsds/openapi.json"))
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi: %v", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/", "/services", "/services/{id}", "/taxonomies", "/taxonomies/{id}", "/taxonomy_terms", "/taxonomy_terms/{id}"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("openapi.json lacks %s", p)
		}
	}

	// Without a configured base URL, links follow the request's host.
	client, _ := startCatalogue(t, newFakeCatalogue())
	srv := httptest.NewServer(NewHandler(client, Options{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/hsds/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if root := decode[Root](t, body); root.OpenAPIURL != srv.URL+"/hsds/openapi.json" {
		t.Errorf("derived openapi_url %q", root.OpenAPIURL)
	}
}

func TestCatalogueFailures(t *testing.T) {
	e := newEnv(t, fixtureServices()...)

	// A taxonomy read that fails is not cached: the next request succeeds.
	e.fake.mu.Lock()
	e.fake.taxonomyErr = fmt.Errorf("boom")
	e.fake.mu.Unlock()
	_, body := e.expectError(http.MethodGet, "/hsds/taxonomies", http.StatusInternalServerError, 13)
	if strings.Contains(body, "boom") {
		t.Errorf("error text leaked: %s", body)
	}
	e.list("/hsds/taxonomies", "taxonomy.json")

	// An internal error of the catalogue becomes a generic 500: its text stays inside.
	_, body = e.expectError(http.MethodGet, "/hsds/services/"+internalFailureID, http.StatusInternalServerError, 13)
	if strings.Contains(body, "bbolt") || strings.Contains(body, "/var/lib") {
		t.Errorf("internal error text leaked: %s", body)
	}

	// With the catalogue gone: 503 without transport details (addresses, dial errors).
	e.stopGRPC()
	_, body = e.expectError(http.MethodGet, "/hsds/services", http.StatusServiceUnavailable, 14)
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "dial") || strings.Contains(body, "transport") {
		t.Errorf("transport error leaked: %s", body)
	}
	// The cached taxonomy keeps serving what does not need the catalogue.
	e.list("/hsds/taxonomy_terms", "taxonomy_term.json")
	// A malformed term id is still a 400, not a 503: parameters are checked before the catalogue is asked.
	e.expectError(http.MethodGet, "/hsds/services?taxonomy_term_id=x", http.StatusBadRequest, 3)
}

func TestNewTaxonomyRejectsBadTermIDs(t *testing.T) {
	areas := []*cataloguev1.AreaInfo{{Area: cataloguev1.Area_AREA_CULTURE, TermId: "kultura"}}
	if _, err := NewTaxonomy(areas, nil); err == nil {
		t.Error("a term id that is no UUID was accepted")
	}
	id := areaTermID(cataloguev1.Area_AREA_CULTURE)
	dup := []*cataloguev1.AreaInfo{{Area: cataloguev1.Area_AREA_CULTURE, TermId: id}, {Area: cataloguev1.Area_AREA_HOUSING, TermId: id}}
	if _, err := NewTaxonomy(dup, nil); err == nil {
		t.Error("a duplicate term id was accepted")
	}
}

func TestDerivedIDsAreStableUUIDv5(t *testing.T) {
	// Derived ids are published data that consumers store: pin them, so that a change of namespace or
	// naming scheme fails here. The values were cross-checked with Python's uuid.uuid5.
	for _, tc := range []struct{ got, want string }{
		{deriveID(careID, "phone", "0"), "38021863-6f15-5637-b355-34d0f7a8845c"},
		{areaTaxonomy.ID, "5d5cd192-39d4-52c1-bf74-2c2901dfdba8"},
		{targetGroupTaxonomy.ID, "f8325765-a9fd-5922-899e-960ebd050bab"},
	} {
		if tc.got != tc.want {
			t.Errorf("derived id %s, want %s", tc.got, tc.want)
		}
	}
	if deriveID(careID, "phone", "0") == deriveID(careID, "phone", "1") {
		t.Error("derived ids of siblings collide")
	}
}

// TestSchemaValidationIsStrict makes sure the schema checks above can fail: formats are asserted (not just
// annotated), enums and required fields of nested objects are enforced.
func TestSchemaValidationIsStrict(t *testing.T) {
	schema := schemaFile(t, "compiled/service.json")
	good, err := json.Marshal(ServiceToHSDS(fixtureServices()[0], nil))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("fixture does not validate: %v", err)
	}
	for name, mutate := range map[string]func(s *Service){
		"id not a uuid":         func(s *Service) { s.ID = "services/1" },
		"status not in enum":    func(s *Service) { s.Status = "open" },
		"url not a uri":         func(s *Service) { s.URL = "cus rawicz" },
		"bad last_modified":     func(s *Service) { s.LastModified = "10.01.2026" },
		"address without state": func(s *Service) { s.ServiceAtLocations[0].Location.Addresses[0].StateProvince = "DROP" },
		"schedule id not uuid":  func(s *Service) { s.ServiceAtLocations[0].Schedules[0].ID = "1" },
	} {
		s := ServiceToHSDS(fixtureServices()[0], nil)
		mutate(s)
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// A required field is removed from the JSON itself, since the struct always writes it.
		raw = bytes.Replace(raw, []byte(`"state_province":"DROP",`), nil, 1)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("%s: validated, want an error", name)
		}
	}
}

// TestBackendErrorMapping pins how catalogue errors reach HTTP clients: client-facing codes pass through
// with their text, everything else gets a fixed text, since gRPC client errors carry transport details.
func TestBackendErrorMapping(t *testing.T) {
	h := NewHandler(nil, Options{}).(*handler)
	for _, tc := range []struct {
		err      error
		httpCode int
		grpcCode int
		message  string
	}{
		{status.Error(codes.InvalidArgument, "query is longer than 200 characters"), 400, 3, "query is longer than 200 characters"},
		{status.Error(codes.FailedPrecondition, "programme not published"), 400, 9, "programme not published"},
		{status.Error(codes.NotFound, "service not found"), 404, 5, "service not found"},
		{status.Error(codes.Unavailable, "connection error: desc = \"transport: dial tcp 10.0.0.7:9090: connect: connection refused\""), 503, 14, errUnavailable.st.Message()},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), 504, 4, errDeadline.st.Message()},
		{context.DeadlineExceeded, 504, 4, errDeadline.st.Message()},
		{status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5000000 vs. 4194304)"), 429, 8, errBusy.st.Message()},
		{status.Error(codes.Canceled, "context canceled"), 499, 1, errCancelled.st.Message()},
		{status.Error(codes.PermissionDenied, "peer certificate not allowed"), 500, 13, "internal error"},
		{status.Error(codes.Internal, "panic: nil map"), 500, 13, "internal error"},
		{errors.New("open /etc/cus/key.pem: permission denied"), 500, 13, "internal error"},
	} {
		rec := httptest.NewRecorder()
		h.backendError(rec, httptest.NewRequest(http.MethodGet, "/hsds/services", nil), tc.err)
		var st statusBody
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("%v: %v: %s", tc.err, err, rec.Body.Bytes())
		}
		if rec.Code != tc.httpCode || st.Code != tc.grpcCode || st.Message != tc.message || st.Details == nil {
			t.Errorf("%v: %d %+v, want %d code %d %q", tc.err, rec.Code, st, tc.httpCode, tc.grpcCode, tc.message)
		}
	}
}

// TestConcurrentFirstRequests starts many requests at once on a handler that has not read the taxonomy
// yet: they share one read (run with -race).
func TestConcurrentFirstRequests(t *testing.T) {
	e := newEnv(t, fixtureServices()...)
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/hsds/taxonomy_terms"
			if i%2 == 0 {
				path = "/hsds/services/" + careID
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
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.fake.callCount("ListAreas"); n != 1 {
		t.Errorf("ListAreas called %d times, want 1", n)
	}
}
