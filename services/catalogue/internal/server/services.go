package server

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/paging"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// GetService returns one service.
func (s *Server) GetService(_ context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	id, err := domain.ParseName("name", domain.ServicePrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	if svc, ok := s.cache.get(id); ok {
		return svc, nil
	}
	read := s.store.Backend().Revision() // the read is at this revision or a newer one (serviceCache.put)
	svc, rev, err := s.store.GetService(id)
	if err != nil {
		return nil, err
	}
	s.cache.put(id, max(read, rev), svc)
	return svc, nil
}

// ListServices lists services by filter and order, from the index, then reads the page from the store.
func (s *Server) ListServices(_ context.Context, req *cataloguev1.ListServicesRequest) (*cataloguev1.ListServicesResponse, error) {
	size, err := paging.Size("page_size", req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	keep, err := domain.ParseServiceFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	less, err := domain.ParseServiceOrder(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&cataloguev1.ListServicesRequest{Filter: req.GetFilter(), OrderBy: req.GetOrderBy()})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	ids, total := s.index.List(keep, less, offset, size)
	list, err := s.services(ids)
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ListServicesResponse{Services: list, TotalSize: int32(total)}
	if offset+len(ids) < total {
		resp.NextPageToken = paging.Encode(offset+len(ids), digest)
	}
	return resp, nil
}

// CreateService validates and stores a new service of this instance.
func (s *Server) CreateService(ctx context.Context, req *cataloguev1.CreateServiceRequest) (*cataloguev1.Service, error) {
	if req.GetService() == nil {
		return nil, required("service")
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id := strings.ToLower(req.GetServiceId())
	if id != "" && !domain.IsUUID(id) {
		return nil, apierr.Invalid("service_id", "must be a UUID")
	}
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	svc := proto.Clone(req.GetService()).(*cataloguev1.Service)
	domain.ClearOutputOnly(svc)
	s.normaliseService(svc)
	var v apierr.Violations
	domain.ValidateService(svc, "service.", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The registry is asked before the write, outside the transaction: a slow registry must not hold the
	// commit loop, and when it is down nothing is written.
	names, err := s.providerNames(ctx, svc.GetProviders())
	if err != nil {
		return nil, err
	}
	svc.ProviderDisplayNames = names
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	out, rev, replayed, err := s.store.CreateService(ctx, id, svc, req.GetRequestId(), paging.RequestHash(req))
	if err != nil {
		return nil, err
	}
	if !replayed {
		s.indexed(out, rev)
	}
	return out, nil
}

// normaliseService fills defaults the way every stored service has them.
func (s *Server) normaliseService(svc *cataloguev1.Service) {
	svc.OriginTerc = s.terc
	if svc.GetStatus() == cataloguev1.ServiceStatus_SERVICE_STATUS_UNSPECIFIED {
		svc.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE
	}
	if f := svc.GetFee(); f != nil && f.GetCurrency() == "" {
		f.Currency = "PLN"
	}
	for _, l := range svc.GetLocations() {
		if l.GetId() == "" {
			l.Id = uuid.Must(uuid.NewV7()).String()
		}
		l.Id = strings.ToLower(l.Id)
		if a := l.GetAddress(); a != nil && a.GetCountry() == "" {
			a.Country = "PL"
		}
	}
}

// UpdateService applies a field-masked update, atomically checking the etag.
func (s *Server) UpdateService(ctx context.Context, req *cataloguev1.UpdateServiceRequest) (*cataloguev1.Service, error) {
	patch := req.GetService()
	if patch == nil {
		return nil, required("service")
	}
	id, err := domain.ParseName("service.name", domain.ServicePrefix, patch.GetName())
	if err != nil {
		return nil, err
	}
	fields, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	etag := patch.GetEtag()
	providersChange := false
	for _, f := range fields {
		if f[0].Name() == "providers" {
			providersChange = true
		}
	}
	var names []string
	if providersChange {
		if names, err = s.providerNames(ctx, patch.GetProviders()); err != nil {
			return nil, err
		}
	}
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	out, rev, err := s.store.UpdateService(ctx, id, func(cur *cataloguev1.Service) error {
		if cur.GetOriginTerc() != s.terc {
			return domain.ErrReadOnlyOrigin
		}
		if etag != "" && etag != cur.GetEtag() {
			return apierr.ErrStaleEtag
		}
		domain.ApplyMask(cur, patch, fields)
		if providersChange {
			cur.ProviderDisplayNames = names
		}
		s.normaliseService(cur)
		var v apierr.Violations
		domain.ValidateService(cur, "service.", &v)
		return v.Err()
	})
	if err != nil {
		return nil, err
	}
	s.indexed(out, rev)
	return out, nil
}

// DeleteService deletes a service of this instance.
func (s *Server) DeleteService(ctx context.Context, req *cataloguev1.DeleteServiceRequest) (*emptypb.Empty, error) {
	id, err := domain.ParseName("name", domain.ServicePrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	rev, err := s.store.DeleteService(ctx, id, func(cur *cataloguev1.Service) error {
		if cur.GetOriginTerc() != s.terc {
			return domain.ErrReadOnlyOrigin
		}
		if req.GetEtag() != "" && req.GetEtag() != cur.GetEtag() {
			return apierr.ErrStaleEtag
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.removed(id, rev)
	return &emptypb.Empty{}, nil
}

// SearchServices runs a free-text, filtered, faceted search.
func (s *Server) SearchServices(_ context.Context, req *cataloguev1.SearchServicesRequest) (*cataloguev1.SearchServicesResponse, error) {
	q, err := domain.SearchQuery(req)
	if err != nil {
		return nil, err
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 20, 100)
	if err != nil {
		return nil, err
	}
	keyReq := proto.Clone(req).(*cataloguev1.SearchServicesRequest)
	keyReq.PageSize, keyReq.PageToken = 0, ""
	digest := paging.Digest(keyReq)
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	q.Offset, q.Limit = offset, size
	res := s.index.Search(q)
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	list, err := s.services(ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*cataloguev1.Service, len(list))
	for _, svc := range list {
		byID[strings.TrimPrefix(svc.GetName(), domain.ServicePrefix)] = svc
	}
	resp := &cataloguev1.SearchServicesResponse{TotalSize: int32(res.Total), SuggestedQuery: res.Suggestion}
	for _, h := range res.Hits {
		svc, ok := byID[h.ID]
		if !ok {
			continue
		}
		r := &cataloguev1.SearchResult{Service: svc, Score: h.Score}
		if h.HasDistance {
			d := h.DistanceMeters
			r.DistanceMeters = &d
		}
		resp.Results = append(resp.Results, r)
	}
	if offset+len(res.Hits) < res.Total {
		resp.NextPageToken = paging.Encode(offset+len(res.Hits), digest)
	}
	for a := 1; a <= domain.NumAreas; a++ {
		if n := res.AreaFacets[a]; n > 0 {
			resp.AreaFacets = append(resp.AreaFacets, &cataloguev1.AreaFacet{Area: cataloguev1.Area(a), Count: int32(n)})
		}
	}
	for g := 1; g <= domain.NumTargetGroups; g++ {
		if n := res.TargetGroupFacets[g]; n > 0 {
			resp.TargetGroupFacets = append(resp.TargetGroupFacets, &cataloguev1.TargetGroupFacet{TargetGroup: cataloguev1.TargetGroup(g), Count: int32(n)})
		}
	}
	return resp, nil
}

// ListAreas lists the taxonomy of art. 2 ust. 1.
func (s *Server) ListAreas(context.Context, *cataloguev1.ListAreasRequest) (*cataloguev1.ListAreasResponse, error) {
	return &cataloguev1.ListAreasResponse{Areas: domain.Areas()}, nil
}

// ListTargetGroups lists the target groups.
func (s *Server) ListTargetGroups(context.Context, *cataloguev1.ListTargetGroupsRequest) (*cataloguev1.ListTargetGroupsResponse, error) {
	return &cataloguev1.ListTargetGroupsResponse{TargetGroups: domain.TargetGroups()}, nil
}
