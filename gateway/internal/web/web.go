// Package web serves the CUS's public pages for residents, in Polish, at the gateway's root: the home page,
// search with filters, a page per service (with the fee calculator, "ile zapłacę?"), the programmes (PUS), the
// accessibility declaration, contact, sitemap.xml and robots.txt. Pages are rendered on the server with
// html/template from embedded templates and work without JavaScript. They read through the same gRPC APIs as the
// REST gateway (the catalogue, and the provider registry for the providers' contact details): there is no second
// path to the data. docs/web.md describes the pages and how a gmina configures them.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/fee"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the pages.
type Options struct {
	// Catalogue is the catalogue's client (required).
	Catalogue cataloguev1.CatalogueServiceClient
	// Providers is the provider registry's client; without it a service page names its providers without
	// their contact details.
	Providers providerv1.ProviderServiceClient
	// PublicURL is the gateway's external URL, for canonical links, the sitemap and JSON-LD.
	PublicURL string
	// Site describes the CUS (name, contact, accessibility declaration).
	Site Site
	// Criteria are the income criteria (kryterium dochodowe) by date, as the referral service has them; the
	// defaults of platform/fee when empty.
	Criteria []fee.Criterion
	// Logger logs failures that become a 500 page, once, with the request id.
	Logger *zap.Logger
	// Now is the clock ("open now", the criterion in force); time.Now when nil.
	Now func() time.Time
}

// Handler serves the pages.
type Handler struct {
	opts   Options
	pages  map[string]*template.Template
	static http.Handler
	places *places
	log    *zap.Logger
	base   string

	taxMu  sync.Mutex
	areas  []*cataloguev1.AreaInfo
	groups []*cataloguev1.TargetGroupInfo
}

// New builds the pages' handler.
func New(opts Options) (*Handler, error) {
	if opts.Catalogue == nil {
		return nil, errors.New("web: a catalogue client is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if len(opts.Criteria) == 0 {
		opts.Criteria = fee.DefaultCriteria()
	}
	if err := opts.Site.Check(); err != nil {
		return nil, err
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &Handler{
		opts: opts, pages: pages, log: opts.Logger,
		static: http.StripPrefix("/static/", http.FileServer(http.FS(sub))),
		places: &places{catalogue: opts.Catalogue, now: opts.Now},
		base:   strings.TrimSuffix(opts.PublicURL, "/"),
	}, nil
}

// Cacheable tells which page paths are the same for every anonymous reader (when asked without a query string),
// so the gateway's public cache may keep them for a moment as it keeps the REST reads: the static pages and one
// service or programme. Search results, and a service page with the fee calculator's figures, are not.
func Cacheable(path string) bool { return cacheablePath.MatchString(path) }

var cacheablePath = regexp.MustCompile(`^/(|uslugi/[0-9a-fA-F-]{36}|programy|programy/[0-9a-fA-F-]{36}|kontakt|deklaracja-dostepnosci|sitemap\.xml|robots\.txt)$`)

var validID = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.errorPage(w, r, http.StatusMethodNotAllowed, nil)
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/static/"):
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.static.ServeHTTP(w, r)
	case p == "/":
		h.home(w, r)
	case p == "/szukaj":
		h.search(w, r)
	case strings.HasPrefix(p, "/uslugi/"):
		h.service(w, r, strings.TrimPrefix(p, "/uslugi/"))
	case p == "/programy":
		h.programmes(w, r)
	case strings.HasPrefix(p, "/programy/"):
		h.programme(w, r, strings.TrimPrefix(p, "/programy/"))
	case p == "/kontakt":
		h.render(w, r, http.StatusOK, "kontakt", &page{Title: "Kontakt", Description: "Jak skontaktować się z " + h.opts.Site.Name + ": adres, telefon, e-mail, godziny pracy.", Canonical: "/kontakt"})
	case p == "/deklaracja-dostepnosci":
		h.render(w, r, http.StatusOK, "deklaracja", &page{Title: "Deklaracja dostępności", Description: "Deklaracja dostępności stron " + h.opts.Site.Name + ".", Canonical: "/deklaracja-dostepnosci"})
	case p == "/sitemap.xml":
		h.sitemap(w, r)
	case p == "/robots.txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write([]byte("User-agent: *\nAllow: /\nDisallow: /szukaj\nDisallow: /v1/\nDisallow: /hsds/\nSitemap: " + h.base + "/sitemap.xml\n"))
	default:
		h.errorPage(w, r, http.StatusNotFound, nil)
	}
}

// page is what every template gets.
type page struct {
	Title       string
	Description string
	// Canonical is the page's path with the query that identifies it; the public URL is prefixed.
	Canonical string
	// NoIndex keeps search engines off pages that are not content (results, errors).
	NoIndex bool
	// SearchInMain puts the search form in the page (home, results) rather than in the header.
	SearchInMain bool
	Query        string
	JSONLD       template.JS
	Site         *Site
	Base         string
	Body         any
	// backend is the time spent waiting for the catalogue, reported in Server-Timing with the render time and
	// the whole page's time since started.
	backend time.Duration
	started time.Time
}

// render executes a page into a buffer first, so a failing template yields a clean 500 page rather than half
// a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, p *page) {
	p.Site, p.Base = &h.opts.Site, h.base
	start := time.Now()
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("page template failed", zap.String("request_id", r.Header.Get("X-Request-Id")),
			zap.String("page", name), zap.Error(err))
		if name != "error" {
			h.errorPage(w, r, http.StatusInternalServerError, nil)
		} else {
			http.Error(w, "Wystąpił błąd.", http.StatusInternalServerError)
		}
		return
	}
	hd := w.Header()
	// Server-Timing (W3C): what the catalogue took and what the page took to render, visible in a browser's
	// developer tools, and what make bench-web subtracts to measure the page's own cost.
	if p.backend > 0 {
		hd.Set("Server-Timing", fmt.Sprintf("search;dur=%.3f, render;dur=%.3f, page;dur=%.3f",
			ms(p.backend), ms(time.Since(start)), ms(time.Since(p.started))))
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", "pl")
	if hd.Get("Cache-Control") == "" {
		if code == http.StatusOK {
			hd.Set("Cache-Control", "public, max-age=60")
		} else {
			hd.Set("Cache-Control", "no-store")
		}
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type errorBody struct {
	Code    int
	Heading string
	Text    string
}

// errorPage answers with a Polish page for the status.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, code int, text []string) {
	b := errorBody{Code: code}
	switch code {
	case http.StatusNotFound:
		b.Heading = "Nie znaleźliśmy tej strony"
		if strings.HasPrefix(r.URL.Path, "/uslugi/") {
			b.Heading = "Nie znaleźliśmy tej usługi"
			b.Text = "Mogła zostać usunięta z katalogu albo adres jest niepełny. Poszukaj jej w wyszukiwarce poniżej."
		} else if strings.HasPrefix(r.URL.Path, "/programy/") {
			b.Heading = "Nie znaleźliśmy tego programu"
			b.Text = "Mógł zostać usunięty albo adres jest niepełny. Zobacz listę programów."
		} else {
			b.Text = "Sprawdź adres albo poszukaj usługi w wyszukiwarce poniżej."
		}
	case http.StatusServiceUnavailable:
		b.Heading = "Katalog usług jest chwilowo niedostępny"
		b.Text = "Spróbuj ponownie za kilka minut. Jeśli sprawa jest pilna, zadzwoń do nas (dane poniżej)."
		w.Header().Set("Retry-After", "30")
	case http.StatusBadRequest:
		b.Heading = "Nie możemy wykonać tego zapytania"
		b.Text = strings.Join(text, " ")
	case http.StatusMethodNotAllowed:
		b.Heading = "Tej strony nie można wysłać w ten sposób"
		b.Text = "Otwórz ją zwykłym linkiem."
	default:
		b.Heading = "Coś poszło nie tak"
		b.Text = "Przepraszamy. Spróbuj ponownie za chwilę."
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, code, "error", &page{Title: b.Heading, Description: b.Text, NoIndex: true, SearchInMain: true, Body: b})
}

// fail answers a failed backend call: NOT_FOUND is a 404 page, an unreachable or slow catalogue a 503, bad input
// a 400; anything else is logged once with its cause and the request id and answered with a 500 page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.NotFound:
		h.errorPage(w, r, http.StatusNotFound, nil)
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		h.errorPage(w, r, http.StatusServiceUnavailable, nil)
	case codes.InvalidArgument:
		h.errorPage(w, r, http.StatusBadRequest, []string{"Sprawdź wpisane wartości i spróbuj jeszcze raz."})
	default:
		h.log.Error("page failed", zap.String("request_id", r.Header.Get("X-Request-Id")),
			zap.String("path", r.URL.Path), zap.String("code", st.Code().String()), zap.String("cause", st.Message()))
		h.errorPage(w, r, http.StatusInternalServerError, nil)
	}
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// taxonomy returns the areas and target groups, read once from the catalogue (they are fixed by the act).
func (h *Handler) taxonomy(ctx context.Context) ([]*cataloguev1.AreaInfo, []*cataloguev1.TargetGroupInfo, error) {
	h.taxMu.Lock()
	defer h.taxMu.Unlock()
	if h.areas != nil && h.groups != nil {
		return h.areas, h.groups, nil
	}
	a, err := h.opts.Catalogue.ListAreas(ctx, &cataloguev1.ListAreasRequest{})
	if err != nil {
		return nil, nil, err
	}
	g, err := h.opts.Catalogue.ListTargetGroups(ctx, &cataloguev1.ListTargetGroupsRequest{})
	if err != nil {
		return nil, nil, err
	}
	h.areas, h.groups = a.GetAreas(), g.GetTargetGroups()
	return h.areas, h.groups, nil
}

// names maps the taxonomy for templates.
type names struct {
	areas  map[cataloguev1.Area]string
	groups map[cataloguev1.TargetGroup]string
}

func (h *Handler) names(ctx context.Context) (names, error) {
	as, gs, err := h.taxonomy(ctx)
	if err != nil {
		return names{}, err
	}
	n := names{areas: map[cataloguev1.Area]string{}, groups: map[cataloguev1.TargetGroup]string{}}
	for _, a := range as {
		n.areas[a.GetArea()] = capitalize(a.GetNamePl())
	}
	for _, g := range gs {
		n.groups[g.GetTargetGroup()] = capitalize(g.GetNamePl())
	}
	return n, nil
}
