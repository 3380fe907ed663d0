package hsds

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // agreements are current by the Polish calendar day; do not depend on the host's zoneinfo
	"unicode/utf8"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	// orgCacheTTL is how long the organization of a provider (or its absence) is reused for services. A
	// page of services names the same few providers many times, and pages follow each other quickly; a
	// provider's change shows in services after at most this long (and at once in /organizations).
	orgCacheTTL = 30 * time.Second
	// orgErrorTTL is how long a failed lookup is reused: while the registry is down, pages of services do
	// not each wait for it again, and organizations come back soon after it does.
	orgErrorTTL = 5 * time.Second
	// orgLookupTimeout bounds a lookup made for a page of services: the organization is an extra there,
	// not worth holding the page for as long as callTimeout.
	orgLookupTimeout = 2 * time.Second
	// orgLookupParallel is how many providers a page of services looks up at once.
	orgLookupParallel = 8
	// orgCacheMax bounds the cache. Services federated from other gminas name providers this registry
	// does not hold, so the set of names is not bounded by the registry.
	orgCacheMax = 10000
	// activeFilter lists the providers published as organizations: a closed provider is kept in the
	// registry for the record, but is no longer one of the CUS's organizations.
	activeFilter = "status != PROVIDER_STATUS_CLOSED"
)

// orgEntry is a cached lookup: the organization, nil for a provider that is not published (none, or
// closed), or the error of a failed lookup.
type orgEntry struct {
	org     *Organization
	err     error
	expires time.Time
}

// orgCache looks providers up by UUID for the organizations of services, keeping answers briefly.
// Concurrent lookups of one provider share a call. Cached organizations are shared between responses and
// must not be modified.
type orgCache struct {
	client  providerv1.ProviderServiceClient
	log     *zap.Logger
	ttl     time.Duration
	errTTL  time.Duration
	timeout time.Duration // of a call, and of the lookups of a page of services
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]orgEntry
	flight  singleflight.Group
}

func newOrgCache(client providerv1.ProviderServiceClient, log *zap.Logger) *orgCache {
	return &orgCache{client: client, log: log, ttl: orgCacheTTL, errTTL: orgErrorTTL, timeout: orgLookupTimeout,
		now: time.Now, entries: map[string]orgEntry{}}
}

// lookup returns the organization of the provider with the canonical UUID id: nil when the registry has no
// such provider or it is closed, an error when the registry could not say or ctx ended first. The call to
// the registry is shared by concurrent lookups and bounded by c.timeout, whatever ctx says: a caller
// that stops waiting leaves it to finish and fill the cache for the next.
func (c *orgCache) lookup(ctx context.Context, id string) (*Organization, error) {
	if e, ok := c.cached(id); ok {
		return e.org, e.err
	}
	ch := c.flight.DoChan(id, func() (any, error) {
		if e, ok := c.cached(id); ok {
			return e, nil
		}
		// Detached from the request: other requests may be waiting on this call.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		p, err := c.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: providerPrefix + id})
		if err != nil && !isAbsent(err) {
			c.log.Warn("hsds: provider registry lookup failed; services go without their organization",
				zap.String("provider", id), zap.Error(err))
		}
		return c.store(id, p, err), nil
	})
	select {
	case res := <-ch:
		e := res.Val.(orgEntry)
		return e.org, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *orgCache) cached(id string) (orgEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !c.now().Before(e.expires) {
		return orgEntry{}, false
	}
	return e, true
}

// store records the answer of GetProvider for id and returns the entry.
func (c *orgCache) store(id string, p *providerv1.Provider, err error) orgEntry {
	now := c.now()
	e := orgEntry{expires: now.Add(c.ttl)}
	switch {
	case err == nil && published(p):
		e.org = ProviderToHSDS(p)
	case err == nil, isAbsent(err):
	default:
		e.err, e.expires = err, now.Add(c.errTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; !ok && len(c.entries) >= orgCacheMax {
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= orgCacheMax {
			clear(c.entries)
		}
	}
	c.entries[id] = e
	return e
}

// isAbsent says whether a GetProvider error means that there is no such provider.
func isAbsent(err error) bool {
	c := status.Code(err)
	return c == codes.NotFound || c == codes.InvalidArgument
}

// published says whether a provider is published as an organization.
func published(p *providerv1.Provider) bool {
	return p.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED
}

// firstProvider returns the canonical UUID of a service's first provider, which is its HSDS organization.
func firstProvider(s *cataloguev1.Service) (string, bool) {
	ps := s.GetProviders()
	if len(ps) == 0 {
		return "", false
	}
	id, ok := strings.CutPrefix(ps[0], providerPrefix)
	if !ok {
		return "", false
	}
	return canonicalUUID(id)
}

// attachOrganizations sets the organization of each mapped service (out[i] is services[i]) from its first
// provider, looking the providers of the page up at most once each, all within orgLookupTimeout. A provider
// that is not published, or that the registry cannot find or answer about in that time, leaves its services
// without an organization: the page never fails for it. Without a registry it does nothing.
func (h *handler) attachOrganizations(ctx context.Context, services []*cataloguev1.Service, out []*Service) {
	if h.orgs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.orgs.timeout)
	defer cancel()
	var ids []string
	seen := map[string]bool{}
	for _, s := range services {
		if id, ok := firstProvider(s); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	orgs := make(map[string]*Organization, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, orgLookupParallel)
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // out of time: the providers not yet asked for go without
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if org, err := h.orgs.lookup(ctx, id); err == nil && org != nil {
				mu.Lock()
				orgs[id] = org
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, s := range services {
		id, _ := firstProvider(s)
		if org := orgs[id]; org != nil {
			out[i].OrganizationID = org.ID
			out[i].Organization = org
		}
	}
}

// orgQuery is a parsed GET /organizations or /organizations/{id} request.
type orgQuery struct {
	page, perPage int
	search        string // folded
	full          bool
	fullService   bool
}

func parseOrgQuery(r *http.Request, single bool) (*orgQuery, *apiError) {
	v := r.URL.Query()
	var vs []violation
	q := &orgQuery{}
	formatParam(v, &vs)
	q.fullService = boolParam(v, "full_service", &vs)
	if single {
		if len(vs) > 0 {
			return nil, invalidParams(vs...)
		}
		return q, nil
	}
	q.page, q.perPage = parsePaging(v, &vs)
	if s := strings.TrimSpace(v.Get("search")); s != "" {
		if utf8.RuneCountInString(s) > maxSearchLen {
			vs = append(vs, violation{"search", "must be at most " + strconv.Itoa(maxSearchLen) + " characters"})
		}
		q.search = fold(s)
	}
	q.full = boolParam(v, "full", &vs)
	if q.fullService {
		vs = append(vs, violation{"full_service",
			"is not supported on the list: services are given by /organizations/{id} and /services?organization_id="})
	}
	if len(vs) > 0 {
		return nil, invalidParams(vs...)
	}
	return q, nil
}

func (h *handler) providerFetcher() fetchFunc[*providerv1.Provider] {
	return func(ctx context.Context, pageSize int32, token string) ([]*providerv1.Provider, string, int, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		resp, err := h.providers.ListProviders(ctx, &providerv1.ListProvidersRequest{
			Filter: activeFilter, PageSize: pageSize, PageToken: token,
		})
		if err != nil {
			return nil, "", 0, err
		}
		return resp.GetProviders(), resp.GetNextPageToken(), int(resp.GetTotalSize()), nil
	}
}

// listOrganizations serves GET /organizations: the providers that are not closed, by display name (Polish
// collation), each with its one-to-one fields, or fully nested (without services and funding) with full=true.
//
// ListProviders has no free-text search (its display_name filter only matches a prefix), so a search reads
// the whole registry, a few hundred providers in a gmina, and matches here like the taxonomy searches:
// names, description and town, ignoring case and Polish diacritics, or NIP/REGON/KRS digits.
func (h *handler) listOrganizations(w http.ResponseWriter, r *http.Request, _ string) {
	q, perr := parseOrgQuery(r, false)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	var (
		providers []*providerv1.Provider
		total     int
		err       error
	)
	offset := (q.page - 1) * q.perPage
	if q.search == "" {
		providers, total, err = fetchWindow(r.Context(), h.providerFetcher(), offset, q.perPage, listPageCap)
	} else {
		var all []*providerv1.Provider
		all, err = scanAll(r.Context(), h.providerFetcher(), listPageCap,
			func(p *providerv1.Provider) bool { return organizationMatches(p, q.search) },
			invalidParams(violation{"search", "cannot search a registry of more than " + strconv.Itoa(maxScan) + " organizations"}))
		start := min(offset, len(all))
		providers, total = all[start:min(start+q.perPage, len(all))], len(all)
	}
	if err != nil {
		var pe *apiError
		if errors.As(err, &pe) {
			h.writeError(w, r, pe)
			return
		}
		h.backendErrorOf(w, r, err, providerBackend)
		return
	}
	contents := make([]*Organization, 0, len(providers))
	for _, p := range providers {
		org := ProviderToHSDS(p)
		if !q.full {
			org = org.OneToOne()
		}
		contents = append(contents, org)
	}
	h.writeJSON(w, r, http.StatusOK, NewPage(contents, total, q.page, q.perPage))
}

// getOrganization serves GET /organizations/{id}: one fully nested organization, with the funding of its
// current agreements and the services it provides (one-to-one, or fully nested with full_service=true). The
// provider is read afresh (and refreshes the cache). Funding and services come from one more call each, to
// the registry and the catalogue; when one of them fails, the organization is served without that part.
func (h *handler) getOrganization(w http.ResponseWriter, r *http.Request, rawID string) {
	id, ok := canonicalUUID(rawID)
	if !ok {
		h.writeError(w, r, invalidParams(violation{"id", "must be a UUID"}))
		return
	}
	q, perr := parseOrgQuery(r, true)
	if perr != nil {
		h.writeError(w, r, perr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	p, err := h.providers.GetProvider(ctx, &providerv1.GetProviderRequest{Name: providerPrefix + id})
	if err != nil && !isNotFound(err) {
		h.backendErrorOf(w, r, err, providerBackend)
		return
	}
	h.orgs.store(id, p, err)
	if err != nil || !published(p) {
		h.writeError(w, r, notFound("ORGANIZATION_NOT_FOUND", "organization not found", id))
		return
	}
	org := ProviderToHSDS(p)
	var wg sync.WaitGroup
	wg.Go(func() { org.Funding = h.organizationFunding(r, org.ID) })
	wg.Go(func() { org.Services = h.organizationServices(r, org.ID, q.fullService) })
	wg.Wait()
	h.writeJSON(w, r, http.StatusOK, org)
}

// organizationFunding lists the funding sources of the provider's agreements in force today, each once, or
// nil when there are none or the registry cannot list them.
func (h *handler) organizationFunding(r *http.Request, orgID string) []Funding {
	today := time.Now().In(warsaw).Format(time.DateOnly)
	req := &providerv1.ListAgreementsRequest{
		Parent:   providerPrefix + orgID,
		Filter:   `status = AGREEMENT_STATUS_ACTIVE AND active_on = "` + today + `"`,
		PageSize: listPageCap,
	}
	var out []Funding
	seen := map[string]bool{}
	for range maxScan / listPageCap {
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		resp, err := h.providers.ListAgreements(ctx, req)
		cancel()
		if err != nil {
			h.log.Warn("hsds: agreements unavailable; organization served without funding",
				zap.String("path", r.URL.Path), zap.Error(err))
			return nil
		}
		for _, a := range resp.GetAgreements() {
			src := fundingSource(a.GetFunding())
			if src == "" || seen[src] {
				continue
			}
			seen[src] = true
			out = append(out, Funding{ID: deriveID(orgID, "funding", src), OrganizationID: orgID, Source: src})
		}
		if resp.GetNextPageToken() == "" || len(resp.GetAgreements()) == 0 {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return out
}

// organizationServices lists the catalogue services the provider delivers (it is any of their providers), by
// display name: one-to-one, or fully nested when full. nil when there are none or the catalogue cannot list
// them. The services carry no organization of their own: they are nested in one.
func (h *handler) organizationServices(r *http.Request, orgID string, full bool) []*Service {
	var tax *Taxonomy
	if full {
		var err error
		if tax, err = h.taxonomy(r.Context()); err != nil {
			h.log.Warn("hsds: catalogue unavailable; organization served without services",
				zap.String("path", r.URL.Path), zap.Error(err))
			return nil
		}
	}
	services, err := scanAll(r.Context(), h.listFetcher(`provider = "`+providerPrefix+orgID+`"`), listPageCap,
		func(*cataloguev1.Service) bool { return true }, errInternal)
	if err != nil {
		h.log.Warn("hsds: catalogue unavailable; organization served without services",
			zap.String("path", r.URL.Path), zap.Error(err))
		return nil
	}
	var out []*Service
	for _, s := range services {
		m := ServiceToHSDS(s, tax)
		if !full {
			m = m.OneToOne()
		}
		out = append(out, m)
	}
	return out
}

// warsaw is the time zone of the calendar days of agreements.
var warsaw = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Warsaw"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600) // unreachable with time/tzdata linked in
}()
