// Package hsds serves the catalogue as an Open Referral HSDS 3.0 read API under /hsds: services (fully
// nested), the taxonomies of areas and target groups, and their terms, with HSDS paging and filters; and,
// when the provider registry is configured (Options.Providers), the providers as organizations, each service
// carrying its organization. It owns the mapping from catalogue services and providers to HSDS objects
// (ServiceToHSDS, ProviderToHSDS) and nothing else: every read goes to the catalogue or the registry over
// gRPC, so the gateway stays stateless apart from two caches: the taxonomy, which never changes at run time
// and is kept after the first successful read, and the organizations of services, kept for 30 seconds.
package hsds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Version is the HSDS version this API implements.
const Version = "3.0"

// Profile is the HSDS profile the API declares at `/`. The suite publishes plain HSDS 3.0 without a profile
// of its own, so it points at Open Referral itself.
const Profile = "https://openreferral.org"

// callTimeout bounds each call to the catalogue, so that a stuck catalogue turns into a 504 instead of
// holding the HTTP request (and its connection) forever.
const callTimeout = 10 * time.Second

// Options configure the handler.
type Options struct {
	// BaseURL is the absolute URL of the API root, used in links, e.g. "http://localhost:8080/hsds". When
	// empty it is derived from each request's Host (fine for development; set it behind a proxy).
	BaseURL string
	// Publisher names who publishes the data, e.g. the CUS instance, shown at `/` and in the OpenAPI document.
	Publisher string
	// Logger receives failures of the catalogue and the registry (never query text, which may hold what
	// residents typed). nil discards them.
	Logger *zap.Logger
	// Providers is the provider registry. When set, /hsds/organizations and /hsds/organizations/{id} serve
	// its providers (all but closed ones) as HSDS organizations, each service carries the organization of
	// its first provider, and /hsds/services?organization_id= filters by provider. When nil, no
	// organizations are published: those routes do not exist and services carry no organization.
	Providers providerv1.ProviderServiceClient
}

type handler struct {
	client    cataloguev1.CatalogueServiceClient
	providers providerv1.ProviderServiceClient // nil: no organizations
	orgs      *orgCache                        // nil when providers is
	opts      Options
	log       *zap.Logger

	tax     atomic.Pointer[Taxonomy]
	loading singleflight.Group
}

// NewHandler returns the HSDS API handler. It serves GET and HEAD on /hsds/, /hsds/openapi.json,
// /hsds/services, /hsds/services/{id}, /hsds/taxonomies, /hsds/taxonomies/{id}, /hsds/taxonomy_terms and
// /hsds/taxonomy_terms/{id}, and with Options.Providers also /hsds/organizations and
// /hsds/organizations/{id}; mount it at "/hsds/" without stripping the prefix.
func NewHandler(client cataloguev1.CatalogueServiceClient, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	h := &handler{client: client, providers: opts.Providers, opts: opts, log: log}
	if h.providers != nil {
		h.orgs = newOrgCache(h.providers, log)
	}
	return h
}

type endpoint func(w http.ResponseWriter, r *http.Request, arg string)

func (h *handler) route(path string) (endpoint, string, bool) {
	rest, ok := strings.CutPrefix(path, "/hsds")
	if !ok {
		return nil, "", false
	}
	switch rest {
	case "", "/":
		return h.root, "", true
	case "/openapi.json":
		return h.openAPI, "", true
	case "/services":
		return h.listServices, "", true
	case "/taxonomies":
		return h.listTaxonomies, "", true
	case "/taxonomy_terms":
		return h.listTaxonomyTerms, "", true
	case "/organizations":
		if h.providers != nil {
			return h.listOrganizations, "", true
		}
	}
	type byID struct {
		prefix string
		e      endpoint
	}
	items := []byID{
		{"/services/", h.getService},
		{"/taxonomies/", h.getTaxonomy},
		{"/taxonomy_terms/", h.getTaxonomyTerm},
	}
	if h.providers != nil {
		items = append(items, byID{"/organizations/", h.getOrganization})
	}
	for _, item := range items {
		if id, ok := strings.CutPrefix(rest, item.prefix); ok && id != "" && !strings.Contains(id, "/") {
			return item.e, id, true
		}
	}
	return nil, "", false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The route is resolved first so that an unknown path is 404 whatever the method: a client must be
	// able to tell a route that does not exist from a method that is not allowed on one that does.
	e, arg, ok := h.route(r.URL.Path)
	if !ok {
		h.writeError(w, r, errRouteNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, errMethodNotAllowed)
		return
	}
	e(w, r, arg)
}

// baseURL is the absolute URL of the API root for links.
func (h *handler) baseURL(r *http.Request) string {
	if h.opts.BaseURL != "" {
		return h.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/hsds"
}

func (h *handler) root(w http.ResponseWriter, r *http.Request, _ string) {
	base := h.baseURL(r)
	h.writeJSON(w, r, http.StatusOK, Root{
		Version:    Version,
		Profile:    Profile,
		OpenAPIURL: base + "/openapi.json",
		Publisher:  h.opts.Publisher,
	})
}

func (h *handler) openAPI(w http.ResponseWriter, r *http.Request, _ string) {
	h.writeJSON(w, r, http.StatusOK, openAPIDocument(h.baseURL(r), h.opts.Publisher, h.providers != nil))
}

// taxonomy returns the cached taxonomy, reading it from the catalogue on first use. Concurrent first
// requests share one read (singleflight), and a failed read is not cached, so the API recovers by itself
// once the catalogue is back. The read is detached from the request's cancellation because other requests
// may be waiting on it.
func (h *handler) taxonomy(ctx context.Context) (*Taxonomy, error) {
	if t := h.tax.Load(); t != nil {
		return t, nil
	}
	v, err, _ := h.loading.Do("taxonomy", func() (any, error) {
		if t := h.tax.Load(); t != nil {
			return t, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		t, err := LoadTaxonomy(ctx, h.client)
		if err != nil {
			return nil, err
		}
		h.tax.Store(t)
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Taxonomy), nil
}

func (h *handler) getService(w http.ResponseWriter, r *http.Request, rawID string) {
	id, ok := canonicalUUID(rawID)
	if !ok {
		h.writeError(w, r, invalidParams(violation{"id", "must be a UUID"}))
		return
	}
	tax, err := h.taxonomy(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	s, err := h.client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: "services/" + id})
	if err != nil {
		if isNotFound(err) {
			h.writeError(w, r, notFound("SERVICE_NOT_FOUND", "service not found", id))
			return
		}
		h.backendError(w, r, err)
		return
	}
	out := ServiceToHSDS(s, tax)
	h.attachOrganizations(r.Context(), []*cataloguev1.Service{s}, []*Service{out})
	h.writeJSON(w, r, http.StatusOK, out)
}

func (h *handler) listServices(w http.ResponseWriter, r *http.Request, _ string) {
	q, perr := parseServiceQuery(r)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	var tax *Taxonomy
	if q.needsTaxonomy() {
		var err error
		if tax, err = h.taxonomy(r.Context()); err != nil {
			h.backendError(w, r, err)
			return
		}
	}
	p := q.plan(tax, h.providers != nil)
	if p.provider != "" {
		// An organization that is not published (no such provider, or a closed one) provides nothing.
		// When the registry cannot tell, the catalogue's answer stands.
		if org, err := h.orgs.lookup(r.Context(), q.organizationID); err == nil && org == nil {
			p.none = true
		}
	}
	services, total, err := h.runPlan(r.Context(), p, q)
	if err != nil {
		var pe *apiError
		if errors.As(err, &pe) {
			h.writeError(w, r, pe)
			return
		}
		h.backendError(w, r, err)
		return
	}
	contents := make([]*Service, 0, len(services))
	for _, s := range services {
		contents = append(contents, ServiceToHSDS(s, tax))
	}
	h.attachOrganizations(r.Context(), services, contents)
	if !q.full {
		for i, m := range contents {
			contents[i] = m.OneToOne()
		}
	}
	h.writeJSON(w, r, http.StatusOK, NewPage(contents, total, q.page, q.perPage))
}

func (h *handler) listTaxonomies(w http.ResponseWriter, r *http.Request, _ string) {
	q, perr := parseLocalQuery(r, false)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	tax, err := h.taxonomy(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	var all []TaxonomyDetail
	for _, t := range tax.Taxonomies() {
		if q.matches(t.Name, t.Description) {
			all = append(all, t)
		}
	}
	h.writeJSON(w, r, http.StatusOK, pageOf(all, q.page, q.perPage))
}

func (h *handler) getTaxonomy(w http.ResponseWriter, r *http.Request, rawID string) {
	id, ok := canonicalUUID(rawID)
	if !ok {
		h.writeError(w, r, invalidParams(violation{"id", "must be a UUID"}))
		return
	}
	tax, err := h.taxonomy(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	t, ok := tax.Taxonomy(id)
	if !ok {
		h.writeError(w, r, notFound("TAXONOMY_NOT_FOUND", "taxonomy not found", id))
		return
	}
	h.writeJSON(w, r, http.StatusOK, t)
}

func (h *handler) listTaxonomyTerms(w http.ResponseWriter, r *http.Request, _ string) {
	q, perr := parseLocalQuery(r, true)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	tax, err := h.taxonomy(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	var all []TaxonomyTerm
	if q.parentID == "" { // no term has a parent: both taxonomies are flat
		for _, t := range tax.Terms() {
			if (q.taxonomyID == "" || t.TaxonomyID == q.taxonomyID) && q.matches(t.Name, t.Description, t.Code) {
				all = append(all, t)
			}
		}
	}
	h.writeJSON(w, r, http.StatusOK, pageOf(all, q.page, q.perPage))
}

func (h *handler) getTaxonomyTerm(w http.ResponseWriter, r *http.Request, rawID string) {
	id, ok := canonicalUUID(rawID)
	if !ok {
		h.writeError(w, r, invalidParams(violation{"id", "must be a UUID"}))
		return
	}
	tax, err := h.taxonomy(r.Context())
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	t, ok := tax.Term(id)
	if !ok {
		h.writeError(w, r, notFound("TAXONOMY_TERM_NOT_FOUND", "taxonomy term not found", id))
		return
	}
	h.writeJSON(w, r, http.StatusOK, t)
}

// pageOf pages a list held in memory.
func pageOf[T any](all []T, page, perPage int) Page[T] {
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	return NewPage(all[start:end], len(all), page, perPage)
}

// writeJSON writes v as the whole response. The body is encoded before the status line is written, so an
// encoding failure can still become a proper 500.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // HSDS text is Polish prose; "<" and "&" need no escaping in JSON
	if err := enc.Encode(v); err != nil {
		h.log.Error("hsds: encoding the response failed", zap.String("path", r.URL.Path), zap.Error(err))
		h.writeError(w, r, errInternal)
		return
	}
	h.writeBody(w, r, code, buf.Bytes())
}

func (h *handler) writeBody(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away; nothing left to tell it
	}
}
