package server

import (
	"context"
	"github.com/cus-suite/cus/platform/paging"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// ListChanges pages through the change feed of providers and agreements.
func (s *Server) ListChanges(_ context.Context, req *providerv1.ListChangesRequest) (*providerv1.ListChangesResponse, error) {
	after := req.GetAfterRevision()
	if after < 0 {
		return nil, domain.Invalid("after_revision", domain.ReasonInvalidValue, "must not be negative")
	}
	if after > s.store.Backend().Revision() {
		// A consumer ahead of us means our data was reset (e.g. restored from an older backup): it must start
		// over rather than silently miss what is rewritten under old revision numbers.
		return nil, domain.ErrRevisionUnavailable
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	latest := s.store.Backend().Revision()
	changes, more, err := s.store.ListChanges(after, size)
	if err != nil {
		return nil, err
	}
	next := after
	if n := len(changes); n > 0 {
		next = changes[n-1].GetRevision()
		latest = max(latest, next)
	}
	return &providerv1.ListChangesResponse{Changes: changes, NextAfterRevision: next, LatestRevision: latest, HasMore: more}, nil
}
