package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

const ourTerc = "3022053"

func p32(v int32) *int32 { return &v }

func sid(i int) string { return fmt.Sprintf("0194c050-3022-7053-8000-%012d", i) }

// svc is a local, active service in Rawicz with one location.
func svc(i int, name, desc string) *cataloguev1.Service {
	return &cataloguev1.Service{
		Name: "services/" + sid(i), DisplayName: name, Description: desc, OriginTerc: ourTerc,
		Status:       cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS},
		ServiceAreas: []*cataloguev1.GeographicArea{{Name: "Gmina Rawicz", TerytCode: ourTerc}},
		UpdateTime:   timestamppb.New(time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)),
		Locations: []*cataloguev1.Location{{
			Name: "Dom Kultury", TerytCode: ourTerc,
			Address:     &typev1.Address{Address_1: "ul. Wały Jarosława Dąbrowskiego 1", PostalCode: "63-900", City: "Rawicz"},
			Coordinates: &typev1.LatLng{Latitude: 51.6094, Longitude: 16.8583},
			OpeningHours: []*cataloguev1.OpeningHours{
				{Day: cataloguev1.Weekday_WEEKDAY_MONDAY, OpensAt: "08:00", ClosesAt: "16:00"},
				{Day: cataloguev1.Weekday_WEEKDAY_WEDNESDAY, OpensAt: "10:00", ClosesAt: "18:00", Description: "po wcześniejszym umówieniu"},
			},
			Accessibility: &cataloguev1.Accessibility{WheelchairAccessible: true, Description: "winda, pętla indukcyjna"},
		}},
	}
}

// careFee is the fee rule of the tests: 25,50 zł an hour, income bands of 100/150/250% of the criterion.
func careFee() *cataloguev1.FeeRule {
	return &cataloguev1.FeeRule{PriceGrosze: 2550, Unit: cataloguev1.FeeUnit_FEE_UNIT_HOUR,
		LegalBasis: &typev1.Resolution{Number: "XLII/345/2022", AdoptedOn: "2022-05-26"},
		IncomeBands: []*cataloguev1.IncomeBand{
			{FromPercent: 0, ToPercent: p32(100), PayablePercent: 0},
			{FromPercent: 100, ToPercent: p32(150), PayablePercent: 10},
			{FromPercent: 150, ToPercent: p32(250), PayablePercent: 50},
			{FromPercent: 250, PayablePercent: 100},
		}}
}

// demoServices: a few services of Rawicz, one with a fee and a provider, and one federated from Jarocin.
func demoServices() []*cataloguev1.Service {
	club := svc(1, "Klub Seniora „Pod Lipami”", "Spotkania, gimnastyka i wycieczki dla seniorów.")
	care := svc(2, "Usługi opiekuńcze", "Opiekunka pomaga w domu: przy higienie, posiłkach i zakupach.")
	care.Fee = careFee()
	care.Areas = []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}
	care.RequiresDecision = true
	care.Providers = []string{"providers/0194c050-0000-7000-8000-000000000001"}
	care.ProviderDisplayNames = []string{"Spółdzielnia Socjalna „Opieka”"}
	care.Phones = []*typev1.Phone{{Number: "+48 65 000 00 02"}}
	nursery := svc(3, "Żłobek Miejski", "Opieka nad dziećmi do lat 3.")
	nursery.TargetGroups = []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3}
	nursery.MaximumAge = p32(3)
	nursery.Locations[0].Address.City = "Sierakowo"
	nursery.Locations[0].Coordinates = &typev1.LatLng{Latitude: 51.70, Longitude: 16.90}
	jarocin := svc(4, "Świetlica środowiskowa w Jarocinie", "Zajęcia dla dzieci po lekcjach.")
	jarocin.OriginTerc = "3006023"
	jarocin.ServiceAreas = []*cataloguev1.GeographicArea{{Name: "Gmina Jarocin", TerytCode: "3006023"}}
	jarocin.Locations[0].Address.City = "Jarocin"
	jarocin.Locations[0].TerytCode = "3006023"
	jarocin.Locations[0].Coordinates = &typev1.LatLng{Latitude: 51.97, Longitude: 17.50}
	return []*cataloguev1.Service{club, care, nursery, jarocin}
}

type env struct {
	t             *testing.T
	cat           *fakeCatalogue
	h             *Handler
	srv           *httptest.Server
	stopCatalogue func()
	now           time.Time
}

func newEnv(t *testing.T, services ...*cataloguev1.Service) *env {
	t.Helper()
	e := &env{t: t, cat: &fakeCatalogue{services: services}, now: time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)}
	e.cat.programmes = []*cataloguev1.Programme{{Name: "programmes/0194c050-3022-7053-8000-0000000000aa",
		DisplayName: "Program usług społecznych Gminy Rawicz na lata 2026-2028", StartDate: "2026-01-01", EndDate: "2028-12-31",
		Resolution: &typev1.Resolution{Number: "XX/100/2025", AdoptedOn: "2025-12-18"}, Services: []string{"services/" + sid(1), "services/" + sid(2), "services/" + sid(999)}}}
	conn, stop := serveGRPC(t, func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, e.cat) })
	pconn, _ := serveGRPC(t, func(s *grpc.Server) {
		providerv1.RegisterProviderServiceServer(s, &fakeProviders{byName: map[string]*providerv1.Provider{
			"providers/0194c050-0000-7000-8000-000000000001": {DisplayName: "Spółdzielnia Socjalna „Opieka”", Email: "biuro@opieka.example",
				Phones: []*typev1.Phone{{Number: "+48 65 000 00 03"}}},
		}})
	})
	e.stopCatalogue = stop
	site := Site{Name: "Centrum Usług Społecznych w Rawiczu", ShortName: "CUS Rawicz", Terc: ourTerc,
		Phones: []string{"+48 65 000 00 00"}, Email: "kontakt@cus.rawicz.example", Address: []string{"ul. Przykładowa 12", "63-900 Rawicz"}}
	h, err := New(Options{Catalogue: cataloguev1.NewCatalogueServiceClient(conn), Providers: providerv1.NewProviderServiceClient(pconn),
		PublicURL: "https://cus.rawicz.example", Site: site, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	code   int
	header http.Header
	body   string
}

func (e *env) get(path string) response {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// doc parses a page, failing the test when it is not well-formed enough to parse.
func doc(t *testing.T, body string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// all returns the elements for which keep is true, in document order.
func all(root *html.Node, keep func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && keep(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func byID(root *html.Node, id string) *html.Node {
	if l := all(root, func(n *html.Node) bool { return attr(n, "id") == id }); len(l) > 0 {
		return l[0]
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// checkPage checks what every page must have: lang="pl", a title and description, the skip link as the first
// focusable element, main#tresc, unique ids, a visible label for every form field, no script but JSON-LD, and
// forms that submit with GET (so nothing needs JavaScript).
func checkPage(t *testing.T, path, body string) *html.Node {
	t.Helper()
	root := doc(t, body)
	htmlEl := all(root, tag("html"))
	if len(htmlEl) != 1 || attr(htmlEl[0], "lang") != "pl" {
		t.Errorf("%s: no <html lang=\"pl\">", path)
	}
	if ti := all(root, tag("title")); len(ti) != 1 || text(ti[0]) == "" {
		t.Errorf("%s: no title", path)
	}
	if d := all(root, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "description" }); len(d) != 1 || attr(d[0], "content") == "" {
		t.Errorf("%s: no meta description", path)
	}
	focusable := all(root, func(n *html.Node) bool {
		switch n.Data {
		case "a":
			return hasAttr(n, "href")
		case "input":
			return attr(n, "type") != "hidden"
		case "button", "select", "textarea":
			return true
		}
		return false
	})
	if len(focusable) == 0 || attr(focusable[0], "class") != "skip-link" || attr(focusable[0], "href") != "#tresc" || text(focusable[0]) != "Przejdź do treści" {
		t.Errorf("%s: the first focusable element is not the skip link", path)
	}
	if m := all(root, tag("main")); len(m) != 1 || attr(m[0], "id") != "tresc" {
		t.Errorf("%s: no single <main id=\"tresc\">", path)
	}
	ids := map[string]bool{}
	for _, n := range all(root, func(n *html.Node) bool { return hasAttr(n, "id") }) {
		if ids[attr(n, "id")] {
			t.Errorf("%s: id %q twice", path, attr(n, "id"))
		}
		ids[attr(n, "id")] = true
	}
	labels := map[string]bool{}
	for _, l := range all(root, tag("label")) {
		if text(l) != "" {
			labels[attr(l, "for")] = true
		}
	}
	for _, f := range all(root, func(n *html.Node) bool {
		return (n.Data == "input" && attr(n, "type") != "hidden") || n.Data == "select" || n.Data == "textarea"
	}) {
		if !labels[attr(f, "id")] {
			t.Errorf("%s: field %s#%s has no visible label", path, f.Data, attr(f, "id"))
		}
	}
	for _, s := range all(root, tag("script")) {
		if attr(s, "type") != "application/ld+json" {
			t.Errorf("%s: a script that is not data: %s", path, attr(s, "src"))
		}
	}
	for _, f := range all(root, tag("form")) {
		if attr(f, "method") != "get" || attr(f, "action") == "" {
			t.Errorf("%s: form #%s is not a plain GET form", path, attr(f, "id"))
		}
	}
	return root
}

func TestEveryPageIsWellFormedAndAccessible(t *testing.T) {
	e := newEnv(t, demoServices()...)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/", 200},
		{"/szukaj", 200},
		{"/szukaj?q=seniorow", 200},
		{"/szukaj?q=klub&obszar=AREA_CULTURE&grupa=TARGET_GROUP_SENIORS&wiek=70&bezplatne=1&otwarte=1&gmina=3022053&miejscowosc=Rawicz&promien=20", 200},
		{"/szukaj?wiek=dużo", 400},
		{"/uslugi/" + sid(1), 200},
		{"/uslugi/" + sid(2), 200},
		{"/uslugi/" + sid(2) + "?dochod=900&osoby=1", 200},
		{"/uslugi/" + sid(2) + "?dochod=abc", 400},
		{"/uslugi/" + sid(4), 200},
		{"/uslugi/" + sid(77), 404},
		{"/uslugi/not-an-id", 404},
		{"/programy", 200},
		{"/programy/0194c050-3022-7053-8000-0000000000aa", 200},
		{"/programy/0194c050-3022-7053-8000-0000000000bb", 404},
		{"/kontakt", 200},
		{"/deklaracja-dostepnosci", 200},
		{"/nie-ma-takiej-strony", 404},
	} {
		r := e.get(tc.path)
		if r.code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, r.code, tc.code)
		}
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.path, ct)
		}
		checkPage(t, tc.path, r.body)
	}
}

func TestSearchFormsFollowTheContract(t *testing.T) {
	e := newEnv(t, demoServices()...)
	for _, path := range []string{"/", "/szukaj?q=klub", "/uslugi/" + sid(1), "/kontakt"} {
		root := doc(t, e.get(path).body)
		forms := all(root, func(n *html.Node) bool { return n.Data == "form" && attr(n, "role") == "search" })
		if len(forms) != 1 || attr(forms[0], "action") != "/szukaj" {
			t.Fatalf("%s: want one search form to /szukaj", path)
		}
		q := byID(forms[0], "q")
		if q == nil || attr(q, "name") != "q" || attr(q, "type") != "search" {
			t.Errorf("%s: no input#q name=q type=search", path)
		}
		if len(all(forms[0], func(n *html.Node) bool { return n.Data == "button" && attr(n, "type") == "submit" })) != 1 {
			t.Errorf("%s: no submit button", path)
		}
	}
	root := doc(t, e.get("/szukaj?q=klub").body)
	f := byID(root, "filtry")
	if f == nil || attr(f, "action") != "/szukaj" || attr(f, "method") != "get" {
		t.Fatal("no form#filtry")
	}
	ol := byID(root, "wyniki")
	if ol == nil || ol.Data != "ol" {
		t.Fatal("no ol#wyniki")
	}
	for _, li := range all(ol, tag("li")) {
		if li.Parent != ol {
			continue
		}
		links := all(li, tag("a"))
		if len(links) == 0 || !strings.HasPrefix(attr(links[0], "href"), "/uslugi/") {
			t.Errorf("a result whose first link is not a service: %s", text(li))
		}
	}
}

func TestFiltersMapToTheSearchRequest(t *testing.T) {
	e := newEnv(t, demoServices()...)
	minute := timestamppb.New(e.now.Truncate(time.Minute))
	for _, tc := range []struct {
		query string
		check func(*cataloguev1.SearchServicesRequest) bool
	}{
		{"q=klub+seniora", func(r *cataloguev1.SearchServicesRequest) bool {
			return r.GetQuery() == "klub seniora" && r.GetPageSize() == 20
		}},
		{"obszar=AREA_CULTURE&obszar=AREA_HOUSING", func(r *cataloguev1.SearchServicesRequest) bool {
			return slices.Equal(r.GetAreas(), []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE, cataloguev1.Area_AREA_HOUSING})
		}},
		{"grupa=TARGET_GROUP_SENIORS", func(r *cataloguev1.SearchServicesRequest) bool {
			return slices.Equal(r.GetTargetGroups(), []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS})
		}},
		{"wiek=67", func(r *cataloguev1.SearchServicesRequest) bool { return r.Age != nil && r.GetAge() == 67 }},
		{"bezplatne=1", func(r *cataloguev1.SearchServicesRequest) bool { return r.GetFreeOfCharge() }},
		{"otwarte=1", func(r *cataloguev1.SearchServicesRequest) bool { return r.GetOpenAt().AsTime().Equal(minute.AsTime()) }},
		{"gmina=3006023", func(r *cataloguev1.SearchServicesRequest) bool {
			return slices.Equal(r.GetTercCodes(), []string{"3006023"})
		}},
		{"miejscowosc=rawicz&promien=5", func(r *cataloguev1.SearchServicesRequest) bool {
			n := r.GetNear()
			// Rawicz's point is the centroid of the catalogue's locations there (all four demo services but two).
			return n.GetRadiusMeters() == 5000 && n.GetCenter().GetLatitude() == 51.6094 && n.GetCenter().GetLongitude() == 16.8583
		}},
		{"miejscowosc=Rawicz", func(r *cataloguev1.SearchServicesRequest) bool {
			return r.GetNear().GetRadiusMeters() == defaultRadiusKm*1000
		}},
		{"", func(r *cataloguev1.SearchServicesRequest) bool {
			return r.GetQuery() == "" && r.Age == nil && r.OpenAt == nil && r.Near == nil && !r.GetFreeOfCharge() && len(r.GetAreas()) == 0
		}},
	} {
		before := e.cat.searchCount()
		r := e.get("/szukaj?" + tc.query)
		if r.code != 200 || e.cat.searchCount() == before {
			t.Errorf("%q: %d, searches %d", tc.query, r.code, e.cat.searchCount()-before)
			continue
		}
		if got := e.cat.lastSearch(); !tc.check(got) {
			t.Errorf("%q: request %v", tc.query, got)
		}
	}
	// Bad filters are explained in Polish and not searched for.
	for _, tc := range []struct{ query, says string }{
		{"obszar=AREA_MARS", "Nie znamy obszaru"},
		{"grupa=MARTIANS", "Nie znamy grupy"},
		{"wiek=200", "Wiek podaj w latach"},
		{"gmina=30220", "Kod gminy to 7 cyfr"},
		{"miejscowosc=Rawic", "Może chodzi o: Rawicz"},
		{"miejscowosc=Zzz", "Nie znamy miejscowości"},
		{"strona=0", "Numer strony"},
		{"strona=51", "Zawęź wyszukiwanie"},
	} {
		before := e.cat.searchCount()
		r := e.get("/szukaj?" + tc.query)
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tc.says) || e.cat.searchCount() != before {
			t.Errorf("%q: %d, says %q: %v", tc.query, r.code, tc.says, strings.Contains(r.body, tc.says))
		}
		if root := doc(t, r.body); len(all(root, func(n *html.Node) bool { return attr(n, "role") == "alert" })) != 1 {
			t.Errorf("%q: the problems are not in one alert", tc.query)
		}
	}
}

func TestFacetCountsAndFederatedOrigin(t *testing.T) {
	e := newEnv(t, demoServices()...)
	root := doc(t, e.get("/szukaj?obszar=AREA_CULTURE").body)
	// Three services are in culture; the area filter does not narrow its own facet (social assistance keeps 1).
	for id, want := range map[string]string{"obszar-8": "Kultura (3)", "obszar-3": "Obszar 4 (1)", "grupa-3": "Seniorzy (2)"} {
		lbl := all(root, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == id })
		if len(lbl) != 1 || text(lbl[0]) != want {
			t.Errorf("label for %s: %v, want %q", id, lbl, want)
		}
	}
	if in := byID(root, "obszar-8"); in == nil || !hasAttr(in, "checked") {
		t.Error("the chosen area is not checked")
	}
	// The service from Jarocin says where it comes from, on the results and on its page; ours do not.
	items := all(byID(root, "wyniki"), func(n *html.Node) bool { return attr(n, "class") == "origin" })
	if len(items) != 1 || text(items[0]) != "Usługa z gminy Jarocin" {
		t.Errorf("origin marks: %d", len(items))
	}
	if b := e.get("/uslugi/" + sid(4)).body; !strings.Contains(b, "Usługa z gminy Jarocin") {
		t.Error("the federated service's page does not name its gmina")
	}
	if b := e.get("/uslugi/" + sid(1)).body; strings.Contains(b, "Usługa z gminy") {
		t.Error("a local service is marked as federated")
	}
	// The gmina filter offers the gminas the catalogue knows, by name.
	sel := byID(root, "gmina")
	if sel == nil || sel.Data != "select" {
		t.Fatal("no gmina select")
	}
	var opts []string
	for _, o := range all(sel, tag("option")) {
		opts = append(opts, attr(o, "value")+"="+text(o))
	}
	if want := []string{"=Wszystkie gminy", "3006023=Gmina Jarocin", "3022053=Gmina Rawicz"}; !slices.Equal(opts, want) {
		t.Errorf("gmina options %v, want %v", opts, want)
	}
}

func TestSuggestionLink(t *testing.T) {
	e := newEnv(t, demoServices()...)
	root := doc(t, e.get("/szukaj?q=swietlca&bezplatne=1").body)
	p := byID(root, "sugestia")
	if p == nil || p.Data != "p" {
		t.Fatal("no p#sugestia")
	}
	a := all(p, tag("a"))
	if len(a) != 1 || text(a[0]) != "swietlica" {
		t.Fatalf("suggestion %q", text(p))
	}
	u, _ := url.Parse(attr(a[0], "href"))
	if u.Path != "/szukaj" || u.Query().Get("q") != "swietlica" || u.Query().Get("bezplatne") != "1" {
		t.Errorf("suggestion link %s does not keep the filters", u)
	}
	if byID(doc(t, e.get("/szukaj?q=swietlica").body), "sugestia") != nil {
		t.Error("a suggestion for a known word")
	}
}

// resultIDs lists the services on a results page, in order.
func resultIDs(t *testing.T, root *html.Node) []string {
	t.Helper()
	var out []string
	ol := byID(root, "wyniki")
	if ol == nil {
		return nil
	}
	for _, li := range all(ol, tag("li")) {
		if li.Parent == ol {
			out = append(out, strings.TrimPrefix(attr(all(li, tag("a"))[0], "href"), "/uslugi/"))
		}
	}
	return out
}

func relLink(root *html.Node, rel string) string {
	nav := all(root, func(n *html.Node) bool { return n.Data == "nav" && attr(n, "aria-label") == "Strony wyników" })
	if len(nav) != 1 {
		return ""
	}
	for _, a := range all(nav[0], tag("a")) {
		if attr(a, "rel") == rel {
			return attr(a, "href")
		}
	}
	return ""
}

func TestPaging(t *testing.T) {
	var many []*cataloguev1.Service
	for i := 1; i <= 45; i++ {
		many = append(many, svc(i, fmt.Sprintf("Usługa %02d", i), "Zajęcia dla seniorów."))
	}
	e := newEnv(t, many...)
	want := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, sid(i))
		}
		return out
	}
	root := doc(t, e.get("/szukaj?q=zajecia&otwarte=1").body)
	if got := resultIDs(t, root); !slices.Equal(got, want(1, 20)) {
		t.Fatalf("page 1: %v", got)
	}
	if relLink(root, "prev") != "" {
		t.Error("page 1 links to a previous page")
	}
	next := relLink(root, "next")
	u, _ := url.Parse(next)
	if u.Query().Get("strona") != "2" || u.Query().Get("t") == "" || u.Query().Get("q") != "zajecia" || u.Query().Get("otwarte") != "1" {
		t.Fatalf("next link %q", next)
	}
	// Following the link costs one search: the token is in it.
	before := e.cat.searchCount()
	root = doc(t, e.get(next).body)
	if got := resultIDs(t, root); !slices.Equal(got, want(21, 40)) || e.cat.searchCount()-before != 1 {
		t.Fatalf("page 2: %v after %d searches", got, e.cat.searchCount()-before)
	}
	if ol := byID(root, "wyniki"); attr(ol, "start") != "21" {
		t.Errorf("page 2 numbers from %s", attr(ol, "start"))
	}
	third := relLink(root, "next")
	// A minute later "open now" is another query: the catalogue refuses the token, the page walks instead.
	e.now = e.now.Add(time.Minute)
	root = doc(t, e.get(third).body)
	if got := resultIDs(t, root); !slices.Equal(got, want(41, 45)) {
		t.Fatalf("page 3 after the token went stale: %v", got)
	}
	if relLink(root, "next") != "" {
		t.Error("the last page links to a next one")
	}
	// A page number typed without a token, and "previous" links, are walked to.
	prev := relLink(root, "prev")
	if u, _ := url.Parse(prev); u.Query().Get("strona") != "2" || u.Query().Has("t") {
		t.Errorf("prev link %q", prev)
	}
	if got := resultIDs(t, doc(t, e.get(prev).body)); !slices.Equal(got, want(21, 40)) {
		t.Errorf("page 2 by number: %v", got)
	}
	// Past the end: no results, totals kept, a way back.
	r := e.get("/szukaj?q=zajecia&strona=9")
	if r.code != 200 || resultIDs(t, doc(t, r.body)) != nil || !strings.Contains(r.body, "Znaleźliśmy 45 usług") || !strings.Contains(r.body, "Wróć do pierwszej strony") {
		t.Errorf("page 9: %d", r.code)
	}
}

// A deep page typed without a token is not walked to: a page number alone must not cost the catalogue dozens of
// searches. Pages stop at maxPage (1,000 results); the deepest is found in at most 10 searches.
func TestDeepPageWithoutTokenIsNotWalked(t *testing.T) {
	var many []*cataloguev1.Service
	for i := 1; i <= 1300; i++ {
		many = append(many, svc(i, fmt.Sprintf("Usługa %04d", i), "Zajęcia dla seniorów."))
	}
	e := newEnv(t, many...)
	before := e.cat.searchCount()
	r := e.get("/szukaj?q=zajecia&strona=60")
	if r.code != 400 || !strings.Contains(r.body, "Zawęź wyszukiwanie") || e.cat.searchCount()-before > 1 {
		t.Errorf("page 60 without a token: %d after %d searches, want 400 asking for a filter", r.code, e.cat.searchCount()-before)
	}
	before = e.cat.searchCount()
	root := doc(t, e.get("/szukaj?q=zajecia&strona=50").body)
	if got := resultIDs(t, root); len(got) != 20 || e.cat.searchCount()-before > 11 {
		t.Errorf("page 50 without a token: %d results after %d searches", len(got), e.cat.searchCount()-before)
	}
	if relLink(root, "next") != "" {
		t.Error("page 50, the last one shown, links to a next page")
	}
}

func TestNotFoundAndUnavailablePages(t *testing.T) {
	e := newEnv(t, demoServices()...)
	r := e.get("/uslugi/" + sid(77))
	if r.code != 404 || !strings.Contains(r.body, "Nie znaleźliśmy tej usługi") || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("missing service: %d", r.code)
	}
	e.stopCatalogue()
	for _, path := range []string{"/", "/szukaj?q=klub", "/uslugi/" + sid(1), "/programy", "/sitemap.xml"} {
		r := e.get(path)
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "Katalog usług jest chwilowo niedostępny") || r.header.Get("Retry-After") == "" {
			t.Errorf("%s with the catalogue down: %d", path, r.code)
		}
		checkPage(t, path, r.body)
	}
	if r := e.get("/"); !strings.Contains(text(doc(t, r.body)), "+48 65 000 00 00") {
		t.Error("the 503 page does not give the CUS's phone")
	}
}

// feeFigures reads the calculator's result: the amount, or "0" for an exemption.
var amountRe = regexp.MustCompile(`Zapłacisz <strong>([^<]+)</strong>`)

func TestFeeCalculatorAgreesWithPlatformFee(t *testing.T) {
	e := newEnv(t, demoServices()...)
	c, _ := fee.CriterionOn(fee.DefaultCriteria(), "2026-12-02")
	for _, tc := range []struct {
		income  string
		grosze  int64
		persons int32
	}{
		{"0", 0, 1},
		{"1009,99", 100999, 1}, // just under 100% of the single-person criterion
		{"1010", 101000, 1},    // exactly 100%: the next band
		{"1 514,99", 151499, 1},
		{"1515", 151500, 1},
		{"1200", 120000, 3}, // a family: 823 zł per person
		{"2057.50", 205750, 4},
		{"2057,5", 205750, 2},
		{"99999", 9999900, 2},
	} {
		r := e.get("/uslugi/" + sid(2) + "?dochod=" + url.QueryEscape(tc.income) + "&osoby=" + fmt.Sprint(tc.persons))
		if r.code != 200 || r.header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("%s: %d %q", tc.income, r.code, r.header.Get("Cache-Control"))
		}
		q := fee.For(careFee(), tc.grosze, c.ForHousehold(tc.persons))
		m := amountRe.FindStringSubmatch(r.body)
		switch {
		case q.Exempt:
			if !strings.Contains(r.body, "Nie płacisz nic") || m != nil {
				t.Errorf("%s zł, %d persons: want an exemption", tc.income, tc.persons)
			}
		case m == nil || m[1] != zl(q.AmountGrosze):
			t.Errorf("%s zł, %d persons: page says %v, platform/fee %s", tc.income, tc.persons, m, zl(q.AmountGrosze))
		}
		pct := fmt.Sprintf("Twój dochód na osobę to %d%% kryterium", tc.grosze*100/c.ForHousehold(tc.persons))
		if !strings.Contains(r.body, pct) {
			t.Errorf("%s zł: the page does not explain %q", tc.income, pct)
		}
	}
	// The form carries the figures back, and sends the resident to the calculator.
	root := doc(t, e.get("/uslugi/"+sid(2)+"?dochod=1200&osoby=3").body)
	f := byID(root, "oplata")
	if f == nil || f.Data != "form" || attr(f, "action") != "/uslugi/"+sid(2)+"#oplata" {
		t.Fatal("no form#oplata to the page itself")
	}
	if attr(byID(f, "dochod"), "value") != "1200" || attr(byID(f, "osoby"), "value") != "3" {
		t.Error("the form lost the figures")
	}
	// A free service has no calculator.
	if byID(doc(t, e.get("/uslugi/"+sid(1)).body), "oplata") != nil {
		t.Error("a calculator on a free service")
	}
}

func TestServicePageContent(t *testing.T) {
	e := newEnv(t, demoServices()...)
	r := e.get("/uslugi/" + sid(2))
	for _, want := range []string{
		"Potrzebna jest decyzja", "ul. Wały Jarosława Dąbrowskiego 1", "poniedziałek", "08:00–16:00", "po wcześniejszym umówieniu",
		"Wejście bez schodów", "winda, pętla indukcyjna", "https://www.openstreetmap.org/?mlat=51.60940&amp;mlon=16.85830",
		"Spółdzielnia Socjalna „Opieka”", "biuro@opieka.example", "+48 65 000 00 03", "25,50\u00a0zł za godzinę", "Uchwała nr XLII/345/2022",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the service page lacks %q", want)
		}
	}
	root := doc(t, r.body)
	if c := all(root, func(n *html.Node) bool { return n.Data == "link" && attr(n, "rel") == "canonical" }); len(c) != 1 || attr(c[0], "href") != "https://cus.rawicz.example/uslugi/"+sid(2) {
		t.Error("no canonical link")
	}
	scripts := all(root, func(n *html.Node) bool { return n.Data == "script" && attr(n, "type") == "application/ld+json" })
	if len(scripts) != 1 {
		t.Fatal("no JSON-LD")
	}
	var ld struct {
		Context  string `json:"@context"`
		Type     string `json:"@type"`
		Name     string `json:"name"`
		URL      string `json:"url"`
		Provider []struct {
			Name string `json:"name"`
		} `json:"provider"`
		AreaServed []struct {
			Name string `json:"name"`
		} `json:"areaServed"`
		AvailableChannel []struct {
			ServiceLocation struct {
				Address struct {
					Locality string `json:"addressLocality"`
				} `json:"address"`
			} `json:"serviceLocation"`
			HoursAvailable []struct {
				DayOfWeek string `json:"dayOfWeek"`
				Opens     string `json:"opens"`
			} `json:"hoursAvailable"`
		} `json:"availableChannel"`
		Offers struct {
			Price string `json:"price"`
		} `json:"offers"`
	}
	if err := json.Unmarshal([]byte(text(scripts[0])), &ld); err != nil {
		t.Fatalf("JSON-LD does not parse: %v", err)
	}
	if ld.Context != "https://schema.org" || ld.Type != "GovernmentService" || ld.Name != "Usługi opiekuńcze" || ld.URL != "https://cus.rawicz.example/uslugi/"+sid(2) ||
		len(ld.Provider) != 1 || ld.Provider[0].Name != "Spółdzielnia Socjalna „Opieka”" || len(ld.AreaServed) != 1 || ld.AreaServed[0].Name != "Gmina Rawicz" ||
		len(ld.AvailableChannel) != 1 || ld.AvailableChannel[0].ServiceLocation.Address.Locality != "Rawicz" ||
		len(ld.AvailableChannel[0].HoursAvailable) != 2 || ld.AvailableChannel[0].HoursAvailable[0].DayOfWeek != "https://schema.org/Monday" || ld.Offers.Price != "25.50" {
		t.Errorf("JSON-LD: %+v", ld)
	}
	// Text from the catalogue cannot end the script element.
	evil := svc(9, "</script><script>alert(1)</script>", "x")
	e2 := newEnv(t, evil)
	if b := e2.get("/uslugi/" + sid(9)).body; strings.Contains(b, "<script>alert") {
		t.Error("a service name broke out of the JSON-LD")
	}
}

func TestSitemapAndRobots(t *testing.T) {
	var many []*cataloguev1.Service
	for i := 1; i <= 2100; i++ {
		many = append(many, svc(i, fmt.Sprintf("Usługa %d", i), ""))
	}
	many[5].Status = cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT
	e := newEnv(t, many...)
	r := e.get("/sitemap.xml")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
		t.Fatalf("sitemap: %d", r.code)
	}
	locs := regexp.MustCompile(`<loc>https://cus\.rawicz\.example/uslugi/([0-9a-f-]+)</loc><lastmod>2026-11-03</lastmod>`).FindAllStringSubmatch(r.body, -1)
	if len(locs) != 2099 {
		t.Errorf("sitemap lists %d services, want the 2099 active ones (over three pages of ListServices)", len(locs))
	}
	if strings.Contains(r.body, sid(6)) {
		t.Error("a defunct service is in the sitemap")
	}
	for _, p := range []string{"https://cus.rawicz.example/</loc>", "/programy/0194c050-3022-7053-8000-0000000000aa</loc>", "/deklaracja-dostepnosci</loc>"} {
		if !strings.Contains(r.body, p) {
			t.Errorf("sitemap lacks %s", p)
		}
	}
	rb := e.get("/robots.txt")
	if rb.code != 200 || !strings.Contains(rb.body, "Sitemap: https://cus.rawicz.example/sitemap.xml") {
		t.Errorf("robots.txt: %s", rb.body)
	}
}

func TestHomePage(t *testing.T) {
	e := newEnv(t, demoServices()...)
	root := checkPage(t, "/", e.get("/").body)
	var areas []string
	for _, a := range all(root, tag("a")) {
		if strings.HasPrefix(attr(a, "href"), "/szukaj?obszar=AREA_") {
			areas = append(areas, attr(a, "href"))
		}
	}
	if len(areas) != 14 {
		t.Errorf("%d areas as ways in, want 14", len(areas))
	}
	if s := e.cat.lastSearch(); s.GetOpenAt() == nil || !s.GetOpenAt().AsTime().Equal(e.now.Truncate(time.Minute)) {
		t.Errorf("the open-now list did not ask for now: %v", s)
	}
	body := text(root)
	for _, want := range []string{"Otwarte teraz", "Klub Seniora „Pod Lipami”", "Kultura (3)", "kontakt@cus.rawicz.example", "ul. Przykładowa 12"} {
		if !strings.Contains(body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
}

func TestResultsPageWeight(t *testing.T) {
	// 20 results with long descriptions (cut to an excerpt), two locations and a fee each.
	var many []*cataloguev1.Service
	for i := 1; i <= 40; i++ {
		s := svc(i, fmt.Sprintf("Centrum Opiekuńczo-Mieszkalne dla osób z niepełnosprawnościami nr %d", i), strings.Repeat("Długi opis usługi z wieloma szczegółami o zajęciach, posiłkach i dojazdach. ", 60))
		s.Fee = careFee()
		s.Areas = []cataloguev1.Area{1, 4, 6, 12}
		s.Locations = append(s.Locations, s.Locations[0])
		many = append(many, s)
	}
	e := newEnv(t, many...)
	r := e.get("/szukaj?q=centrum&obszar=AREA_SOCIAL_ASSISTANCE&grupa=TARGET_GROUP_SENIORS")
	if n := len(resultIDs(t, doc(t, r.body))); n != 20 {
		t.Fatalf("%d results", n)
	}
	css := e.get("/static/style.css")
	if css.code != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Fatalf("style.css: %d", css.code)
	}
	total := len(r.body) + len(css.body)
	t.Logf("results page of 20: HTML %d bytes + CSS %d bytes = %d bytes", len(r.body), len(css.body), total)
	if total > 50<<10 {
		t.Errorf("page weight %d bytes, target at most 50 KB", total)
	}
}

func TestStylesheet(t *testing.T) {
	e := newEnv(t)
	css := e.get("/static/style.css").body
	for _, want := range []string{"@media print", ":focus-visible", "@media (max-width: 36rem)", ".skip-link:focus"} {
		if !strings.Contains(css, want) {
			t.Errorf("style.css lacks %q", want)
		}
	}
	// No fixed widths in pixels that could force sideways scrolling at 320 px.
	if m := regexp.MustCompile(`(?:^|[;{ ])(?:min-)?width:\s*[0-9]{3,}px`).FindString(css); m != "" {
		t.Errorf("a fixed width: %q", m)
	}
}

func TestCacheable(t *testing.T) {
	for path, want := range map[string]bool{
		"/": true, "/uslugi/" + sid(1): true, "/programy": true, "/kontakt": true, "/sitemap.xml": true,
		"/szukaj": false, "/uslugi/x": false, "/static/style.css": false, "/v1/services": false,
	} {
		if Cacheable(path) != want {
			t.Errorf("Cacheable(%q) = %v", path, !want)
		}
	}
}

func TestLoadSite(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := dir + "/site.json"
		if err := writeFile(p, body); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if s, err := LoadSite(write(`{"name":"CUS Rawicz","terc":"3022053","phones":["+48 65 000 00 00"]}`)); err != nil || s.Short() != "CUS Rawicz" {
		t.Errorf("good file: %v", err)
	}
	for body, says := range map[string]string{
		`{"terc":"3022053"}`:           "name",
		`{"name":"X","terc":"30220"}`:  "terc",
		`{"name":"X","telephone":"1"}`: "unknown field",
		`{"name":"X"`:                  "unexpected EOF",
	} {
		if _, err := LoadSite(write(body)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error about %s", body, err, says)
		}
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Krótki opis.", 50, "Krótki opis."},
		{"  Dużo\n\n  spacji\t w  tekście ", 50, "Dużo spacji w tekście"},
		{"Żłobek zapewnia opiekę, wychowanie i edukację dzieciom", 20, "Żłobek zapewnia…"},
		{"Słowo, słowo, słowo", 15, "Słowo, słowo…"},
		{"", 10, ""},
	} {
		if got := excerpt(tc.in, tc.n); got != tc.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestServerTiming(t *testing.T) {
	e := newEnv(t, demoServices()...)
	st := e.get("/szukaj?q=klub").header.Get("Server-Timing")
	if !regexp.MustCompile(`^search;dur=[0-9]+\.[0-9]{3}, render;dur=[0-9]+\.[0-9]{3}, page;dur=[0-9]+\.[0-9]{3}$`).MatchString(st) {
		t.Errorf("Server-Timing %q", st)
	}
}
