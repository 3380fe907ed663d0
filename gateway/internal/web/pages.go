package web

import (
	"bytes"
	"encoding/xml"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // opening hours and dates are Warsaw-local; do not depend on the host's zoneinfo

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

var warsaw = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
})

// parseTemplates parses each page together with the layout: one template set per page, so the pages' blocks do
// not collide.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"zl":      zl,
		"feeForm": feeFormAction,
		"join":    strings.Join,
		"tel":     func(s string) string { return strings.Map(telRune, s) },
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"home", "wyniki", "usluga", "programy", "program", "kontakt", "deklaracja", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// telRune keeps what a tel: link may hold.
func telRune(r rune) rune {
	if r == '+' || (r >= '0' && r <= '9') {
		return r
	}
	return -1
}

// CanonicalURL is the page's absolute canonical address.
func (p *page) CanonicalURL() string { return p.Base + p.Canonical }

type homeBody struct {
	AreaOpts  []option
	Open      []resultItem
	OpenTotal int
	OpenLink  string
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, err := h.names(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// One search for the areas' counts, one for what is open now.
	all, err := h.opts.Catalogue.SearchServices(ctx, &cataloguev1.SearchServicesRequest{PageSize: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	open, err := h.opts.Catalogue.SearchServices(ctx, &cataloguev1.SearchServicesRequest{PageSize: 5,
		OpenAt: timestamppb.New(h.opts.Now().Truncate(time.Minute))})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := &homeBody{OpenTotal: int(open.GetTotalSize()), OpenLink: "/szukaj?otwarte=1"}
	counts := map[cataloguev1.Area]int32{}
	for _, f := range all.GetAreaFacets() {
		counts[f.GetArea()] = f.GetCount()
	}
	for v := int32(1); v <= 14; v++ {
		a := cataloguev1.Area(v)
		b.AreaOpts = append(b.AreaOpts, option{Value: "/szukaj?obszar=" + a.String(), Label: n.areas[a], Count: counts[a]})
	}
	for _, res := range open.GetResults() {
		b.Open = append(b.Open, h.item(res.GetService(), n))
	}
	s := &h.opts.Site
	h.render(w, r, http.StatusOK, "home", &page{Title: s.Name, SearchInMain: true, Canonical: "/",
		Description: "Usługi społeczne " + s.Name + ": wyszukiwarka usług, godziny otwarcia, opłaty i kontakt.", Body: b})
}

type programmeView struct {
	ID, Name, Description, Period, Resolution, Access, Fees, Origin string
	Services                                                        []resultItem
}

func (h *Handler) programmes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var list []programmeView
	req := &cataloguev1.ListProgrammesRequest{PageSize: 1000}
	for {
		resp, err := h.opts.Catalogue.ListProgrammes(ctx, req)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, p := range resp.GetProgrammes() {
			list = append(list, h.programmeOf(p))
		}
		if resp.GetNextPageToken() == "" || len(list) >= 5000 {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	h.render(w, r, http.StatusOK, "programy", &page{Title: "Programy usług społecznych",
		Description: "Programy usług społecznych (PUS) i usługi, które w nich oferujemy.", Canonical: "/programy", Body: list})
}

func (h *Handler) programmeOf(p *cataloguev1.Programme) programmeView {
	v := programmeView{ID: serviceID(p.GetName()), Name: p.GetDisplayName(), Description: p.GetDescription(),
		Access: p.GetAccessCriteria(), Fees: p.GetFeeDescription()}
	switch {
	case p.GetStartDate() != "" && p.GetEndDate() != "":
		v.Period = "od " + p.GetStartDate() + " do " + p.GetEndDate()
	case p.GetStartDate() != "":
		v.Period = "od " + p.GetStartDate()
	}
	if res := p.GetResolution(); res.GetNumber() != "" {
		v.Resolution = "Uchwała nr " + res.GetNumber()
		if res.GetAdoptedOn() != "" {
			v.Resolution += " z dnia " + res.GetAdoptedOn()
		}
	}
	return v
}

func (h *Handler) programme(w http.ResponseWriter, r *http.Request, id string) {
	if !validID.MatchString(id) {
		h.errorPage(w, r, http.StatusNotFound, nil)
		return
	}
	ctx := r.Context()
	n, err := h.names(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.opts.Catalogue.GetProgramme(ctx, &cataloguev1.GetProgrammeRequest{Name: "programmes/" + id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.programmeOf(p)
	for i, name := range p.GetServices() {
		if i >= 200 {
			break
		}
		s, err := h.opts.Catalogue.GetService(ctx, &cataloguev1.GetServiceRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			continue // deleted since the programme named it
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Services = append(v.Services, h.item(s, n))
	}
	h.render(w, r, http.StatusOK, "program", &page{Title: p.GetDisplayName(), Description: excerpt(firstNonEmpty(p.GetDescription(), p.GetDisplayName()), 155),
		Canonical: "/programy/" + v.ID, Body: v})
}

// sitemapMax is the protocol's limit of URLs in one sitemap file.
const sitemapMax = 50000

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemap lists the pages and every active service (and programme), paged from ListServices.
func (h *Handler) sitemap(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	urls := []sitemapURL{{Loc: h.base + "/"}, {Loc: h.base + "/programy"}, {Loc: h.base + "/kontakt"}, {Loc: h.base + "/deklaracja-dostepnosci"}}
	req := &cataloguev1.ListServicesRequest{PageSize: 1000, Filter: "status = SERVICE_STATUS_ACTIVE"}
	for len(urls) < sitemapMax {
		resp, err := h.opts.Catalogue.ListServices(ctx, req)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, s := range resp.GetServices() {
			u := sitemapURL{Loc: h.base + "/uslugi/" + serviceID(s.GetName())}
			if t := s.GetUpdateTime(); t != nil {
				u.LastMod = t.AsTime().UTC().Format(time.DateOnly)
			}
			urls = append(urls, u)
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	preq := &cataloguev1.ListProgrammesRequest{PageSize: 1000}
	for len(urls) < sitemapMax {
		resp, err := h.opts.Catalogue.ListProgrammes(ctx, preq)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, p := range resp.GetProgrammes() {
			urls = append(urls, sitemapURL{Loc: h.base + "/programy/" + serviceID(p.GetName())})
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		preq.PageToken = resp.GetNextPageToken()
	}
	if len(urls) > sitemapMax {
		urls = urls[:sitemapMax]
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := enc.Encode(struct {
		XMLName xml.Name     `xml:"urlset"`
		NS      string       `xml:"xmlns,attr"`
		URLs    []sitemapURL `xml:"url"`
	}{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: urls}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(buf.Bytes())
}
