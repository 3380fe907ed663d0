package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

const (
	// resultsPerPage is the page size of the results page.
	resultsPerPage = 20
	// maxPage bounds the page number: deeper than 1,000 results a resident is better served by a filter. It also
	// bounds what a link without a token costs (a typed page number, a "previous" link): the page is found by
	// walking from the first one, at most 10 catalogue searches, so an anonymous request cannot multiply its
	// load on the catalogue.
	maxPage = 50
	// defaultRadiusKm is the distance from a town when none is chosen.
	defaultRadiusKm = 10
	// gminaSelectMax is the most gminas offered as a list; with more (a large federation, a synthetic
	// catalogue) the field takes a TERC code, so the results page stays light.
	gminaSelectMax = 40
)

var (
	radiiKm  = []int{2, 5, 10, 20, 50}
	tercForm = regexp.MustCompile(`^[0-9]{7}$`)
)

// filters are the query parameters of /szukaj, as the resident set them.
type filters struct {
	Q       string
	Areas   []string
	Groups  []string
	Age     string
	Free    bool
	Open    bool
	Gmina   string
	Town    string
	RadiusK int
	Page    int
	Token   string
}

// values encodes the filters for a link (without the page).
func (f *filters) values() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	for _, a := range f.Areas {
		v.Add("obszar", a)
	}
	for _, g := range f.Groups {
		v.Add("grupa", g)
	}
	if f.Age != "" {
		v.Set("wiek", f.Age)
	}
	if f.Free {
		v.Set("bezplatne", "1")
	}
	if f.Open {
		v.Set("otwarte", "1")
	}
	if f.Gmina != "" {
		v.Set("gmina", f.Gmina)
	}
	if f.Town != "" {
		v.Set("miejscowosc", f.Town)
		v.Set("promien", strconv.Itoa(f.RadiusK))
	}
	return v
}

// link is the URL of page n of these results. The catalogue pages by opaque tokens, not numbers: a link to the
// next page carries the token the catalogue gave (t), so following it costs one search; a link without one
// (page numbers typed or shared, "previous") is resolved by walking the tokens from the first page, in steps of
// up to 100 results (see pageToken).
func (f *filters) link(n int, token string) string {
	v := f.values()
	if n > 1 {
		v.Set("strona", strconv.Itoa(n))
		if token != "" {
			v.Set("t", token)
		}
	}
	if len(v) == 0 {
		return "/szukaj"
	}
	return "/szukaj?" + v.Encode()
}

// option is one choice of a filter.
type option struct {
	Value, Label string
	Count        int32
	Checked      bool
}

type resultItem struct {
	ID, Name, Excerpt, Fee, Town, Distance, Origin string
	Areas                                          []string
	Free                                           bool
}

type resultsBody struct {
	F             filters
	Problems      []string
	Searched      bool
	Total         int
	Summary       string
	Items         []resultItem
	Start         int
	Page, Pages   int
	Prev, Next    string
	First         string
	Suggestion    string
	SuggestionURL string
	AreaOpts      []option
	GroupOpts     []option
	GminaOpts     []option
	GminaSelect   bool
	Radii         []option
	TownFound     string
}

// parseFilters reads /szukaj's parameters into a search request, collecting problems in words for residents.
func (h *Handler) parseFilters(ctx context.Context, q url.Values, n names) (*cataloguev1.SearchServicesRequest, filters, []string, error) {
	f := filters{Q: strings.TrimSpace(q.Get("q")), Age: strings.TrimSpace(q.Get("wiek")), Gmina: strings.TrimSpace(q.Get("gmina")),
		Town: strings.TrimSpace(q.Get("miejscowosc")), Free: q.Get("bezplatne") != "", Open: q.Get("otwarte") != "",
		Page: 1, RadiusK: defaultRadiusKm, Token: q.Get("t")}
	req := &cataloguev1.SearchServicesRequest{Query: f.Q, FreeOfCharge: f.Free, PageSize: resultsPerPage}
	var problems []string
	if len([]rune(f.Q)) > 200 {
		problems = append(problems, "Wpisz krótsze hasło (najwyżej 200 znaków).")
	}
	for _, a := range q["obszar"] {
		v, ok := cataloguev1.Area_value[a]
		if !ok || v == 0 {
			problems = append(problems, fmt.Sprintf("Nie znamy obszaru „%s”. Wybierz obszar z listy.", a))
			continue
		}
		if !slices.Contains(f.Areas, a) {
			f.Areas = append(f.Areas, a)
			req.Areas = append(req.Areas, cataloguev1.Area(v))
		}
	}
	for _, g := range q["grupa"] {
		v, ok := cataloguev1.TargetGroup_value[g]
		if !ok || v == 0 {
			problems = append(problems, fmt.Sprintf("Nie znamy grupy „%s”. Wybierz grupę z listy.", g))
			continue
		}
		if !slices.Contains(f.Groups, g) {
			f.Groups = append(f.Groups, g)
			req.TargetGroups = append(req.TargetGroups, cataloguev1.TargetGroup(v))
		}
	}
	if f.Age != "" {
		a, err := strconv.Atoi(f.Age)
		if err != nil || a < 0 || a > 150 {
			problems = append(problems, "Wiek podaj w latach, liczbą od 0 do 150.")
		} else {
			a32 := int32(a)
			req.Age = &a32
		}
	}
	if f.Open {
		// Whole minutes: the request (and so its page tokens) stays the same while a resident pages through.
		req.OpenAt = timestamppb.New(h.opts.Now().Truncate(time.Minute))
	}
	if f.Gmina != "" {
		if !tercForm.MatchString(f.Gmina) {
			problems = append(problems, "Kod gminy to 7 cyfr kodu TERYT, np. 3022053.")
		} else {
			req.TercCodes = []string{f.Gmina}
		}
	}
	if s := q.Get("promien"); s != "" {
		r, err := strconv.Atoi(s)
		if err != nil || r < 1 || r > 100 {
			problems = append(problems, "Odległość podaj w kilometrach, od 1 do 100.")
		} else {
			f.RadiusK = r
		}
	}
	if f.Town != "" {
		ix, err := h.places.get(ctx)
		if err != nil {
			return nil, f, nil, err
		}
		if t, ok := ix.town(f.Town); ok {
			req.Near = &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: t.Lat, Longitude: t.Lng}, RadiusMeters: int32(f.RadiusK * 1000)}
		} else if like := ix.similar(f.Town, 5); len(like) > 0 {
			problems = append(problems, fmt.Sprintf("Nie znamy miejscowości „%s”. Może chodzi o: %s?", f.Town, strings.Join(like, ", ")))
		} else {
			problems = append(problems, fmt.Sprintf("Nie znamy miejscowości „%s”. Wpisz miejscowość, w której działa jakaś usługa.", f.Town))
		}
	}
	if s := q.Get("strona"); s != "" {
		p, err := strconv.Atoi(s)
		switch {
		case err != nil || p < 1:
			problems = append(problems, "Numer strony wyników musi być liczbą od 1.")
		case p > maxPage:
			problems = append(problems, fmt.Sprintf("Pokazujemy najwyżej %d stron wyników. Zawęź wyszukiwanie filtrami.", maxPage))
		default:
			f.Page = p
		}
	}
	return req, f, problems, nil
}

// pageToken finds the token of page f.Page when the link did not carry one (or carried one the catalogue no
// longer accepts, e.g. "open now" a minute later): it asks for the results before the page, up to 100 at a
// time, and keeps the last token. ok is false when the results end before the page.
func (h *Handler) pageToken(ctx context.Context, req *cataloguev1.SearchServicesRequest, page int) (string, bool, error) {
	walk := &cataloguev1.SearchServicesRequest{Query: req.Query, Areas: req.Areas, TargetGroups: req.TargetGroups, Age: req.Age,
		TercCodes: req.TercCodes, FreeOfCharge: req.FreeOfCharge, OpenAt: req.OpenAt, Near: req.Near}
	token := ""
	for left := (page - 1) * resultsPerPage; left > 0; {
		walk.PageSize, walk.PageToken = int32(min(left, 100)), token
		resp, err := h.opts.Catalogue.SearchServices(ctx, walk)
		if err != nil {
			return "", false, err
		}
		if resp.GetNextPageToken() == "" {
			return "", false, nil
		}
		token = resp.GetNextPageToken()
		left -= int(walk.PageSize)
	}
	return token, true, nil
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	ctx := r.Context()
	n, err := h.names(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, f, problems, err := h.parseFilters(ctx, r.URL.Query(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := &resultsBody{F: f, Problems: problems, Page: f.Page}
	code := http.StatusOK
	var resp *cataloguev1.SearchServicesResponse
	var backend time.Duration
	if len(problems) == 0 {
		start := time.Now()
		resp, err = h.runSearch(ctx, req, &f)
		backend = time.Since(start)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		b.Searched = true
	} else {
		code = http.StatusBadRequest
	}
	h.fillResults(ctx, b, resp, n)
	title := "Wyniki wyszukiwania"
	if f.Q != "" {
		title = "Wyniki dla „" + f.Q + "”"
	}
	if f.Page > 1 {
		title += fmt.Sprintf(" – strona %d", f.Page)
	}
	desc := b.Summary
	if desc == "" {
		desc = "Wyszukiwarka usług społecznych " + h.opts.Site.Name + "."
	}
	h.render(w, r, code, "wyniki", &page{Title: title, Description: desc, NoIndex: true, SearchInMain: true,
		Query: f.Q, Canonical: f.link(f.Page, ""), Body: b, backend: backend, started: started})
}

// runSearch asks the catalogue for the page the filters name.
func (h *Handler) runSearch(ctx context.Context, req *cataloguev1.SearchServicesRequest, f *filters) (*cataloguev1.SearchServicesResponse, error) {
	if f.Page > 1 && f.Token != "" {
		req.PageToken = f.Token
		resp, err := h.opts.Catalogue.SearchServices(ctx, req)
		if err == nil || reasonOf(err) != "INVALID_PAGE_TOKEN" {
			return resp, err
		}
	}
	req.PageToken = ""
	if f.Page > 1 {
		tok, ok, err := h.pageToken(ctx, req, f.Page)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Past the end: answer the totals and facets of the query with no results.
			req.PageSize = 1
			resp, err := h.opts.Catalogue.SearchServices(ctx, req)
			if resp != nil {
				resp.Results, resp.NextPageToken = nil, ""
			}
			return resp, err
		}
		req.PageToken = tok
	}
	return h.opts.Catalogue.SearchServices(ctx, req)
}

func (h *Handler) fillResults(ctx context.Context, b *resultsBody, resp *cataloguev1.SearchServicesResponse, n names) {
	f := &b.F
	areaCount := map[cataloguev1.Area]int32{}
	groupCount := map[cataloguev1.TargetGroup]int32{}
	if resp != nil {
		for _, a := range resp.GetAreaFacets() {
			areaCount[a.GetArea()] = a.GetCount()
		}
		for _, g := range resp.GetTargetGroupFacets() {
			groupCount[g.GetTargetGroup()] = g.GetCount()
		}
		b.Total = int(resp.GetTotalSize())
		b.Pages = (b.Total + resultsPerPage - 1) / resultsPerPage
		b.Start = (f.Page-1)*resultsPerPage + 1
		for _, res := range resp.GetResults() {
			it := h.item(res.GetService(), n)
			if res.DistanceMeters != nil {
				it.Distance = distance(res.GetDistanceMeters())
			}
			b.Items = append(b.Items, it)
		}
		b.Summary = fmt.Sprintf("Znaleźliśmy %d %s.", b.Total, plural(b.Total, "usługę", "usługi", "usług"))
		if b.Total == 0 {
			b.Summary = "Nie znaleźliśmy usług pasujących do wyszukiwania."
		}
		if f.Page > 1 {
			b.Prev = f.link(f.Page-1, "")
		}
		if tok := resp.GetNextPageToken(); tok != "" && f.Page < maxPage {
			b.Next = f.link(f.Page+1, tok)
		}
		b.First = f.link(1, "")
		if s := resp.GetSuggestedQuery(); s != "" && s != fold(f.Q) {
			b.Suggestion = s
			g := *f
			g.Q, g.Page = s, 1
			b.SuggestionURL = g.link(1, "")
		}
	}
	for v := int32(1); v <= 14; v++ {
		a := cataloguev1.Area(v)
		b.AreaOpts = append(b.AreaOpts, option{Value: a.String(), Label: n.areas[a], Count: areaCount[a], Checked: slices.Contains(f.Areas, a.String())})
	}
	for v := int32(1); v <= 8; v++ {
		g := cataloguev1.TargetGroup(v)
		b.GroupOpts = append(b.GroupOpts, option{Value: g.String(), Label: n.groups[g], Count: groupCount[g], Checked: slices.Contains(f.Groups, g.String())})
	}
	for _, km := range radiiKm {
		b.Radii = append(b.Radii, option{Value: strconv.Itoa(km), Label: fmt.Sprintf("%d km", km), Checked: km == f.RadiusK})
	}
	if !slices.Contains(radiiKm, f.RadiusK) {
		b.Radii = append(b.Radii, option{Value: strconv.Itoa(f.RadiusK), Label: fmt.Sprintf("%d km", f.RadiusK), Checked: true})
	}
	// The gmina list comes from the place index; when it cannot be had now, the field takes a code instead.
	if ix, err := h.places.get(ctx); err == nil && len(ix.gminas) <= gminaSelectMax {
		b.GminaSelect = true
		for _, g := range ix.gminas {
			b.GminaOpts = append(b.GminaOpts, option{Value: g.Terc, Label: g.Name, Checked: g.Terc == f.Gmina})
		}
	}
}

// item is a service as a line of results.
func (h *Handler) item(s *cataloguev1.Service, n names) resultItem {
	it := resultItem{ID: serviceID(s.GetName()), Name: s.GetDisplayName(), Excerpt: excerpt(s.GetDescription(), 180),
		Origin: h.origin(s)}
	for _, a := range s.GetAreas() {
		it.Areas = append(it.Areas, n.areas[a])
	}
	if p := s.GetFee().GetPriceGrosze(); p > 0 {
		it.Fee = "Płatna: " + zl(int64(p)) + " " + unitPer[s.GetFee().GetUnit()]
		if len(s.GetFee().GetIncomeBands()) > 0 {
			it.Fee += ", mniej przy niższym dochodzie"
		}
	} else {
		it.Free = true
	}
	for _, l := range s.GetLocations() {
		if c := l.GetAddress().GetCity(); c != "" {
			it.Town = c
			break
		}
	}
	return it
}

// origin says where a federated service comes from ("Usługa z gminy Jarocin"), "" for the CUS's own.
func (h *Handler) origin(s *cataloguev1.Service) string {
	o := s.GetOriginTerc()
	if o == "" || h.opts.Site.Terc == "" || o == h.opts.Site.Terc {
		return ""
	}
	name := ""
	for _, a := range s.GetServiceAreas() {
		if a.GetTerytCode() == o {
			name = a.GetName()
			break
		}
	}
	if name == "" {
		h.places.mu.RLock()
		name = h.places.ix.gminaName(o)
		h.places.mu.RUnlock()
	}
	if name == "" {
		return "Usługa z innej gminy (kod TERYT " + o + ")"
	}
	for _, p := range []string{"Miasto i Gmina ", "Miasto i gmina ", "Gmina Miejska ", "Gmina miejska ", "Gmina ", "gmina ", "Miasto "} {
		name = strings.TrimPrefix(name, p)
	}
	return "Usługa z gminy " + name
}
