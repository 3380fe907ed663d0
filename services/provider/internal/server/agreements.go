package server

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/paging"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// GetAgreement returns one agreement.
func (s *Server) GetAgreement(_ context.Context, req *providerv1.GetAgreementRequest) (*providerv1.Agreement, error) {
	pid, aid, err := domain.ParseAgreementName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return s.store.GetAgreement(pid, aid)
}

// ListAgreements lists the agreements of one provider or of all.
func (s *Server) ListAgreements(_ context.Context, req *providerv1.ListAgreementsRequest) (*providerv1.ListAgreementsResponse, error) {
	pid, err := domain.ParseProviderParent("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	keep, err := domain.ParseAgreementFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	order, err := domain.ParseAgreementOrder(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&providerv1.ListAgreementsRequest{Parent: req.GetParent(), Filter: req.GetFilter(), OrderBy: req.GetOrderBy()})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	if pid == domain.Wildcard {
		pid = ""
	}
	all, err := s.store.Agreements(pid)
	if err != nil {
		return nil, err
	}
	list := slices.DeleteFunc(all, func(a *providerv1.Agreement) bool { return !keep(a) })
	slices.SortFunc(list, order)
	pg, next := paging.Page(list, offset, size, digest)
	return &providerv1.ListAgreementsResponse{Agreements: pg, NextPageToken: next, TotalSize: int32(len(list))}, nil
}

// lookupService asks the ServiceChecker for the agreement's service; a service the catalogue does not have
// becomes a violation of agreement.service, an unreachable catalogue stays UNAVAILABLE.
func (s *Server) lookupService(ctx context.Context, service string) (*cataloguev1.Service, error) {
	svc, err := s.services.LookupService(ctx, service)
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindNotFound {
		return nil, domain.Invalid("agreement.service", domain.ReasonUnknown, "%s", e.Message)
	}
	return svc, err
}

// CreateAgreement validates and records an agreement with a provider.
func (s *Server) CreateAgreement(ctx context.Context, req *providerv1.CreateAgreementRequest) (*providerv1.Agreement, error) {
	pid, err := domain.ParseProviderName("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	if req.GetAgreement() == nil {
		return nil, required("agreement")
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id := req.GetAgreementId()
	if id != "" {
		if id, err = domain.ParseID("agreement_id", id); err != nil {
			return nil, err
		}
	} else {
		id = uuid.Must(uuid.NewV7()).String()
	}
	a := proto.Clone(req.GetAgreement()).(*providerv1.Agreement)
	domain.ClearOutputOnly(a)
	domain.NormaliseAgreement(a)
	var v domain.Violations
	domain.ValidateAgreement(a, "agreement.", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The catalogue is asked before anything is written: the service exists, is still offered, and is not one
	// granted by a decyzja that this agreement would contract out.
	svc, err := s.lookupService(ctx, a.GetService())
	if err != nil {
		return nil, err
	}
	if err := domain.CheckServiceOffered(svc, "agreement.service"); err != nil {
		return nil, err
	}
	if err := domain.CheckNotContractedOut(a, svc, "agreement.service"); err != nil {
		return nil, err
	}
	out, _, err := s.store.CreateAgreement(ctx, pid, id, a, req.GetRequestId(), paging.RequestHash(req))
	return out, err
}

// UpdateAgreement applies a field-masked update, atomically checking the etag and the capacity reserved.
func (s *Server) UpdateAgreement(ctx context.Context, req *providerv1.UpdateAgreementRequest) (*providerv1.Agreement, error) {
	patch := req.GetAgreement()
	if patch == nil {
		return nil, required("agreement")
	}
	pid, aid, err := domain.ParseAgreementName("agreement.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	paths, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	normPatch := proto.Clone(patch).(*providerv1.Agreement)
	domain.NormaliseAgreement(normPatch)
	return s.store.UpdateAgreement(ctx, pid, aid, func(cur *providerv1.Agreement) error {
		if err := checkEtag(patch.GetEtag(), cur.GetEtag()); err != nil {
			return err
		}
		for _, p := range paths {
			if p.Top() == "service" && normPatch.GetService() != cur.GetService() {
				return domain.Invalid("agreement.service", domain.ReasonImmutable, "cannot change; record a new agreement for another service")
			}
		}
		domain.ApplyMask(cur, patch, paths)
		domain.NormaliseAgreement(cur)
		var v domain.Violations
		domain.ValidateAgreement(cur, "agreement.", &v)
		return v.Err()
	})
}

// DeleteAgreement deletes an agreement that holds no reservations.
func (s *Server) DeleteAgreement(ctx context.Context, req *providerv1.DeleteAgreementRequest) (*emptypb.Empty, error) {
	pid, aid, err := domain.ParseAgreementName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteAgreement(ctx, pid, aid, func(cur *providerv1.Agreement) error {
		return checkEtag(req.GetEtag(), cur.GetEtag())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
