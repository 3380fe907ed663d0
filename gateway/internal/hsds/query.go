package hsds

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

const (
	defaultPerPage = 50
	maxPerPage     = 200
	// maxSearchLen is the catalogue's limit of SearchServicesRequest.query, checked here so that the caller
	// learns it under the HSDS parameter's name.
	maxSearchLen = 200
	// The largest pages the catalogue returns (values above are silently capped, which would break the
	// offset arithmetic of fetchWindow if it asked for more).
	listPageCap   = 1000
	searchPageCap = 100
	// maxScan bounds how many search hits are read to filter them by modified_after here (SearchServices
	// has no such filter).
	maxScan = 10000
)

// serviceQuery is a parsed GET /services request.
type serviceQuery struct {
	page, perPage  int
	search         string
	full           bool
	modifiedAfter  time.Time // zero when not given
	termID         string    // canonical UUIDs, "" when not given
	taxonomyID     string
	organizationID string
}

func parseServiceQuery(r *http.Request) (*serviceQuery, *apiError) {
	v := r.URL.Query()
	var vs []violation
	q := &serviceQuery{}
	q.page, q.perPage = parsePaging(v, &vs)
	if s := strings.TrimSpace(v.Get("search")); s != "" {
		if utf8.RuneCountInString(s) > maxSearchLen {
			vs = append(vs, violation{"search", "must be at most " + strconv.Itoa(maxSearchLen) + " characters"})
		}
		q.search = s
	}
	q.full = boolParam(v, "full", &vs)
	if raw := v.Get("modified_after"); raw != "" {
		t, ok := parseTime(raw)
		if !ok {
			vs = append(vs, violation{"modified_after", "must be an RFC 3339 date-time, e.g. 2026-01-31T00:00:00Z"})
		}
		q.modifiedAfter = t
	}
	q.termID = uuidParam(v, "taxonomy_term_id", &vs)
	q.taxonomyID = uuidParam(v, "taxonomy_id", &vs)
	q.organizationID = uuidParam(v, "organization_id", &vs)
	formatParam(v, &vs)
	// Filters the catalogue cannot apply are refused rather than ignored: ignoring one would return services
	// the caller asked to exclude.
	for _, p := range []string{"postcode", "proximity"} {
		if v.Get(p) != "" {
			vs = append(vs, violation{p, "is not supported by this API"})
		}
	}
	if len(vs) > 0 {
		return nil, invalidParams(vs...)
	}
	return q, nil
}

// needsTaxonomy says whether answering needs the taxonomy: for attributes (full services) or to resolve
// taxonomy filters.
func (q *serviceQuery) needsTaxonomy() bool {
	return q.full || q.termID != "" || q.taxonomyID != ""
}

// servicePlan is how a services query is answered by the catalogue.
type servicePlan struct {
	none     bool // no service can match: answer an empty page without asking the catalogue
	search   bool // SearchServices (free text, or a filter ListServices cannot express) instead of ListServices
	areas    []cataloguev1.Area
	groups   []cataloguev1.TargetGroup
	provider string // `providers/{uuid}` that must be among the service's providers, or ""
}

// plan decides how to answer q. orgs says whether organizations are published (Options.Providers is set).
func (q *serviceQuery) plan(tax *Taxonomy, orgs bool) servicePlan {
	var p servicePlan
	if q.organizationID != "" {
		if !orgs {
			// Without the provider registry this API publishes no organizations, so no service is linked
			// to one. HSDS filters are cumulative (AND), so the answer is empty, not unfiltered.
			p.none = true
			return p
		}
		// "Services that this organization provides" (HSDS): the organization is any of the service's
		// providers, not only the first one, which is the service's organization.
		p.provider = providerPrefix + q.organizationID
	}
	switch {
	case q.termID != "":
		ref, ok := tax.lookup(q.termID)
		term, _ := tax.Term(q.termID)
		switch {
		case !ok, q.taxonomyID != "" && term.TaxonomyID != q.taxonomyID:
			p.none = true
		case ref.area != cataloguev1.Area_AREA_UNSPECIFIED:
			p.areas = []cataloguev1.Area{ref.area}
		default:
			p.groups = []cataloguev1.TargetGroup{ref.group}
		}
	case q.taxonomyID == areaTaxonomy.ID:
		// Every service belongs to at least one area (Service.areas is REQUIRED), so this filters nothing.
	case q.taxonomyID == targetGroupTaxonomy.ID:
		// "Any target group" is an OR, which only SearchServices can express.
		for g := range tax.groups {
			p.groups = append(p.groups, g)
		}
		slices.Sort(p.groups)
	case q.taxonomyID != "":
		p.none = true
	}
	p.search = q.search != "" || len(p.groups) > 1
	return p
}

// fetchFunc reads one page of a paged listing (services of the catalogue, providers of the registry).
type fetchFunc[T any] func(ctx context.Context, pageSize int32, token string) (items []T, next string, total int, err error)

func (h *handler) listFetcher(filter string) fetchFunc[*cataloguev1.Service] {
	return func(ctx context.Context, pageSize int32, token string) ([]*cataloguev1.Service, string, int, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		resp, err := h.client.ListServices(ctx, &cataloguev1.ListServicesRequest{
			Filter: filter, PageSize: pageSize, PageToken: token,
		})
		if err != nil {
			return nil, "", 0, err
		}
		return resp.GetServices(), resp.GetNextPageToken(), int(resp.GetTotalSize()), nil
	}
}

func (h *handler) searchFetcher(query string, p servicePlan) fetchFunc[*cataloguev1.Service] {
	return func(ctx context.Context, pageSize int32, token string) ([]*cataloguev1.Service, string, int, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		resp, err := h.client.SearchServices(ctx, &cataloguev1.SearchServicesRequest{
			Query:        query,
			Areas:        p.areas,
			TargetGroups: p.groups,
			// HSDS publishes every status (status is a field of the service); only SearchServices
			// defaults to active services, so it is told not to, and both paths return the same set.
			IncludeInactive: true,
			PageSize:        pageSize,
			PageToken:       token,
		})
		if err != nil {
			return nil, "", 0, err
		}
		services := make([]*cataloguev1.Service, 0, len(resp.GetResults()))
		for _, res := range resp.GetResults() {
			if res.GetService() != nil {
				services = append(services, res.GetService())
			}
		}
		return services, resp.GetNextPageToken(), int(resp.GetTotalSize()), nil
	}
}

// listFilter is the ListServices filter (AIP-160) of a plan without free text.
func listFilter(p servicePlan, modifiedAfter time.Time) string {
	var parts []string
	for _, a := range p.areas {
		parts = append(parts, "area = "+a.String())
	}
	for _, g := range p.groups {
		parts = append(parts, "target_group = "+g.String())
	}
	if p.provider != "" {
		parts = append(parts, `provider = "`+p.provider+`"`)
	}
	if !modifiedAfter.IsZero() {
		// ">=": HSDS defines modified_after as "modified on or after".
		parts = append(parts, `update_time >= "`+modifiedAfter.Format(time.RFC3339Nano)+`"`)
	}
	return strings.Join(parts, " AND ")
}

// runPlan returns the services of the requested page and the number of matches over all pages.
func (h *handler) runPlan(ctx context.Context, p servicePlan, q *serviceQuery) ([]*cataloguev1.Service, int, error) {
	if p.none {
		return nil, 0, nil
	}
	offset := (q.page - 1) * q.perPage
	if !p.search {
		return fetchWindow(ctx, h.listFetcher(listFilter(p, q.modifiedAfter)), offset, q.perPage, listPageCap)
	}
	fetch := h.searchFetcher(q.search, p)
	if q.modifiedAfter.IsZero() && p.provider == "" {
		return fetchWindow(ctx, fetch, offset, q.perPage, searchPageCap)
	}
	// SearchServices cannot filter by time or provider: read every hit (in relevance order) and filter
	// here, so that total_items and the pages count only what matches all.
	all, err := scanAll(ctx, fetch, searchPageCap, func(s *cataloguev1.Service) bool {
		if p.provider != "" && !slices.ContainsFunc(s.GetProviders(), func(n string) bool { return strings.EqualFold(n, p.provider) }) {
			return false
		}
		if q.modifiedAfter.IsZero() {
			return true
		}
		ts := s.GetUpdateTime()
		if ts == nil {
			ts = s.GetCreateTime()
		}
		return ts != nil && !ts.AsTime().Before(q.modifiedAfter)
	}, invalidParams(violation{"search",
		"matches too many services to combine with modified_after or organization_id; narrow the search"}))
	if err != nil {
		return nil, 0, err
	}
	start := min(offset, len(all))
	end := min(start+q.perPage, len(all))
	return all[start:end], len(all), nil
}

// fetchWindow returns the items [offset, offset+limit) of a paged listing and its total size.
//
// Page tokens are opaque, so page N can only be reached by walking from the first page. To keep that
// walk short, the catalogue page size is a multiple of limit (as large as the catalogue allows, but no
// larger than offset+limit): the requested window then never straddles two catalogue pages, and pages
// 1..N of a small listing take a single call. The page size stays the same along the walk, as the
// catalogue requires of a token's other parameters.
func fetchWindow[T any](ctx context.Context, fetch fetchFunc[T], offset, limit, maxPageSize int) ([]T, int, error) {
	pageSize := maxPageSize
	if limit <= maxPageSize {
		pageSize = limit * min(maxPageSize/limit, offset/limit+1)
	}
	var out []T
	pos, total, token := 0, -1, ""
	for {
		items, next, tot, err := fetch(ctx, int32(pageSize), token)
		if err != nil {
			return nil, 0, err
		}
		if total < 0 {
			total = tot
			if total > 0 && offset >= total {
				return nil, total, nil // past the last page: no need to walk there
			}
		}
		for _, it := range items {
			if pos >= offset && pos < offset+limit {
				out = append(out, it)
			}
			pos++
		}
		// A catalogue that returns a token with an empty page would otherwise loop forever.
		if next == "" || pos >= offset+limit || len(items) == 0 {
			return out, max(total, pos), nil
		}
		token = next
	}
}

// scanAll reads every page and keeps the items keep accepts. It refuses a scan of more than maxScan items,
// which would hold the backend busy for one request, with tooMany (a 400 naming the parameter to change).
func scanAll[T any](ctx context.Context, fetch fetchFunc[T], pageSize int, keep func(T) bool, tooMany *apiError) ([]T, error) {
	var out []T
	seen, token := 0, ""
	for {
		items, next, _, err := fetch(ctx, int32(pageSize), token)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if keep(it) {
				out = append(out, it)
			}
		}
		seen += len(items)
		if next == "" || len(items) == 0 {
			return out, nil
		}
		if seen >= maxScan {
			return nil, tooMany
		}
		token = next
	}
}

// localQuery is a parsed request of a list held in memory (taxonomies, taxonomy terms).
type localQuery struct {
	page, perPage int
	search        string // folded
	taxonomyID    string
	parentID      string
}

func parseLocalQuery(r *http.Request, terms bool) (*localQuery, *apiError) {
	v := r.URL.Query()
	var vs []violation
	q := &localQuery{}
	q.page, q.perPage = parsePaging(v, &vs)
	q.search = fold(strings.TrimSpace(v.Get("search")))
	formatParam(v, &vs)
	if terms {
		q.taxonomyID = uuidParam(v, "taxonomy_id", &vs)
		q.parentID = uuidParam(v, "parent_id", &vs)
		boolParam(v, "top_only", &vs) // every term is a top term: validated, nothing to filter
	}
	if len(vs) > 0 {
		return nil, invalidParams(vs...)
	}
	return q, nil
}

// matches says whether any of the fields contains the search text, ignoring case and Polish diacritics.
func (q *localQuery) matches(fields ...string) bool {
	if q.search == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(fold(f), q.search) {
			return true
		}
	}
	return false
}

var diacritics = strings.NewReplacer("ą", "a", "ć", "c", "ę", "e", "ł", "l", "ń", "n", "ó", "o", "ś", "s", "ź", "z", "ż", "z")

// fold makes text comparable the way residents type it: lower case, Polish letters without diacritics.
func fold(s string) string { return diacritics.Replace(strings.ToLower(s)) }

// parsePaging reads page (1-based, default 1) and per_page (default 50, at most 200).
func parsePaging(v url.Values, vs *[]violation) (page, perPage int) {
	page, perPage = 1, defaultPerPage
	if raw := v.Get("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > math.MaxInt32 {
			*vs = append(*vs, violation{"page", "must be a whole number from 1"})
		} else {
			page = n
		}
	}
	if raw := v.Get("per_page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPerPage {
			*vs = append(*vs, violation{"per_page", "must be a whole number from 1 to " + strconv.Itoa(maxPerPage)})
		} else {
			perPage = n
		}
	}
	return page, perPage
}

// uuidParam reads an optional UUID parameter and returns it in canonical form.
func uuidParam(v url.Values, name string, vs *[]violation) string {
	raw := v.Get(name)
	if raw == "" {
		return ""
	}
	id, ok := canonicalUUID(raw)
	if !ok {
		*vs = append(*vs, violation{name, "must be a UUID"})
	}
	return id
}

func boolParam(v url.Values, name string, vs *[]violation) bool {
	raw := v.Get(name)
	if raw == "" {
		return false
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		*vs = append(*vs, violation{name, "must be true or false"})
	}
	return b
}

// formatParam accepts HSDS's format parameter when it asks for JSON, the only format served.
func formatParam(v url.Values, vs *[]violation) {
	if f := v.Get("format"); f != "" && f != "json" {
		*vs = append(*vs, violation{"format", "only json is supported"})
	}
}

// parseTime parses an RFC 3339 date-time. A "+" of a UTC offset that the client did not percent-encode
// arrives as a space; it is put back rather than refused.
func parseTime(raw string) (time.Time, bool) {
	for _, s := range []string{raw, strings.ReplaceAll(raw, " ", "+")} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
