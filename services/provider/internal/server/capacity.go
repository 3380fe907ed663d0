package server

import (
	"context"
	"github.com/cus-suite/cus/platform/paging"
	"slices"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// agreementInScope parses an agreement name and answers NOT_FOUND, exactly as for an agreement that does not
// exist, when the caller may not see the agreement's capacity.
func agreementInScope(ctx context.Context, method, field, name string) (string, string, error) {
	pid, aid, err := domain.ParseAgreementName(field, name)
	if err != nil {
		return "", "", err
	}
	if !scopeOf(ctx, method).sees(pid) {
		return "", "", domain.ErrAgreementNotFound
	}
	return pid, aid, nil
}

// ReserveCapacity holds units of an agreement for a referral.
func (s *Server) ReserveCapacity(ctx context.Context, req *providerv1.ReserveCapacityRequest) (*providerv1.ReserveCapacityResponse, error) {
	pid, aid, err := agreementInScope(ctx, "ReserveCapacity", "name", req.GetName())
	if err != nil {
		return nil, err
	}
	ref, err := domain.ParseID("referral_id", req.GetReferralId())
	if err != nil {
		return nil, err
	}
	if req.GetUnits() < 1 {
		return nil, domain.Invalid("units", domain.ReasonInvalidValue, "must be at least 1")
	}
	res, avail, already, err := s.store.Reserve(ctx, pid, aid, ref, req.GetUnits(), s.today())
	if err != nil {
		return nil, err
	}
	return &providerv1.ReserveCapacityResponse{Reservation: res, Availability: avail, AlreadyReserved: already}, nil
}

// ReleaseCapacity gives back the units a referral holds on an agreement.
func (s *Server) ReleaseCapacity(ctx context.Context, req *providerv1.ReleaseCapacityRequest) (*providerv1.ReleaseCapacityResponse, error) {
	pid, aid, err := agreementInScope(ctx, "ReleaseCapacity", "name", req.GetName())
	if err != nil {
		return nil, err
	}
	ref, err := domain.ParseID("referral_id", req.GetReferralId())
	if err != nil {
		return nil, err
	}
	released, units, avail, err := s.store.Release(ctx, pid, aid, ref, s.today())
	if err != nil {
		return nil, err
	}
	return &providerv1.ReleaseCapacityResponse{Released: released, ReleasedUnits: units, Availability: avail}, nil
}

// GetAvailability returns the capacity left on one agreement.
func (s *Server) GetAvailability(ctx context.Context, req *providerv1.GetAvailabilityRequest) (*providerv1.Availability, error) {
	pid, aid, err := domain.ParseAvailabilityName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if !scopeOf(ctx, "GetAvailability").sees(pid) {
		return nil, domain.ErrAgreementNotFound
	}
	return s.store.Availability(pid, aid, s.today())
}

// providerInScope resolves a list parent for the caller: provider staff asking for every provider get their
// own, and asking for another provider get NOT_FOUND as for a provider that does not exist.
func providerInScope(sc scope, pid string) (string, error) {
	switch {
	case sc.all:
		if pid == domain.Wildcard {
			return "", nil
		}
		return pid, nil
	case sc.provider == "":
		return "", domain.ErrProviderNotFound
	case pid == domain.Wildcard || pid == sc.provider:
		return sc.provider, nil
	}
	return "", domain.ErrProviderNotFound
}

// ListAvailability lists the capacity left on the agreements of one provider or all, optionally for a service.
func (s *Server) ListAvailability(ctx context.Context, req *providerv1.ListAvailabilityRequest) (*providerv1.ListAvailabilityResponse, error) {
	pid, err := domain.ParseProviderParent("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	service := ""
	if req.GetService() != "" {
		if service, err = domain.ParseServiceName("service", req.GetService()); err != nil {
			return nil, err
		}
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&providerv1.ListAvailabilityRequest{Parent: req.GetParent(), Service: service, OnlyAccepting: req.GetOnlyAccepting()})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	if pid, err = providerInScope(scopeOf(ctx, "ListAvailability"), pid); err != nil {
		return nil, err
	}
	list, err := s.store.ListAvailability(pid, service, s.today())
	if err != nil {
		return nil, err
	}
	if req.GetOnlyAccepting() {
		list = slices.DeleteFunc(list, func(a *providerv1.Availability) bool { return !a.GetAccepting() || a.GetAvailable() == 0 })
	}
	domain.SortAvailability(list)
	pg, next := paging.Page(list, offset, size, digest)
	return &providerv1.ListAvailabilityResponse{Availabilities: pg, NextPageToken: next, TotalSize: int32(len(list))}, nil
}

// ListReservations lists the reservations held on an agreement, on a provider's agreements, or on all.
func (s *Server) ListReservations(ctx context.Context, req *providerv1.ListReservationsRequest) (*providerv1.ListReservationsResponse, error) {
	pid, aid, err := domain.ParseAgreementParent("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&providerv1.ListReservationsRequest{Parent: req.GetParent()})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	sc := scopeOf(ctx, "ListReservations")
	if aid != domain.Wildcard && !sc.sees(pid) {
		return nil, domain.ErrAgreementNotFound
	}
	if pid, err = providerInScope(sc, pid); err != nil {
		return nil, err
	}
	if aid == domain.Wildcard {
		aid = ""
	}
	list, err := s.store.Reservations(pid, aid)
	if err != nil {
		return nil, err
	}
	pg, next := paging.Page(list, offset, size, digest)
	return &providerv1.ListReservationsResponse{Reservations: pg, NextPageToken: next, TotalSize: int32(len(list))}, nil
}
