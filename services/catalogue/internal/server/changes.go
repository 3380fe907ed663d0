package server

import (
	"context"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/paging"
	"github.com/cus-suite/cus/platform/resource"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// errShuttingDown tells a watcher to reconnect (to another replica, or after the restart) from its revision.
var errShuttingDown = apierr.New(apierr.KindUnavailable, "SHUTTING_DOWN", "the service is shutting down; reconnect and resume from the last revision you received")

func (s *Server) checkAfter(ctx context.Context, after int64) error {
	if after < 0 {
		return apierr.Invalid("after_revision", "must not be negative")
	}
	// On etcd the revision may come from another replica, a few milliseconds ahead of this one.
	if !s.store.Backend().AwaitRevision(ctx, after, resource.CatchUp) {
		// A consumer ahead of us means our data was reset (e.g. restored from an older backup): it must
		// start over rather than silently miss what is rewritten under old revision numbers.
		return domain.ErrRevisionUnavailable
	}
	return nil
}

// maxPeerPageSize is the largest page of ListChanges served to a peer (role peer); other callers get 1,000.
const maxPeerPageSize = 5000

// maxPageBytes bounds the records of one ListChanges page, under the 4 MiB a gRPC client accepts by default
// (a page of large services is cut short, with has_more set).
const maxPageBytes = 3 << 20

// ListChanges pages through the change feed.
func (s *Server) ListChanges(ctx context.Context, req *cataloguev1.ListChangesRequest) (*cataloguev1.ListChangesResponse, error) {
	if err := s.checkAfter(ctx, req.GetAfterRevision()); err != nil {
		return nil, err
	}
	maxSize := int32(1000)
	if auth.FromContext(ctx).Has(auth.RolePeer) {
		// A peer's follower stores what it reads in batches of thousands: bigger pages spare it round trips.
		maxSize = maxPeerPageSize
	}
	size, err := paging.Size("page_size", req.GetPageSize(), 100, maxSize)
	if err != nil {
		return nil, err
	}
	latest := s.store.Backend().Revision()
	// The changes go out as they are (this handler only sends them), so the records are not decoded and
	// re-encoded: they are attached in their stored encoding.
	changes, more, err := s.store.ListChangesEncoded(req.GetAfterRevision(), size, maxPageBytes, true)
	if err != nil {
		return nil, err
	}
	next := req.GetAfterRevision()
	if n := len(changes); n > 0 {
		next = changes[n-1].GetRevision()
		if next > latest {
			latest = next
		}
	}
	if !more && latest > next {
		// Nothing is recorded between next and latest (revisions of federated entries are not published), so
		// the cursor may jump: a caught-up follower then reports no lag.
		next = latest
	}
	return &cataloguev1.ListChangesResponse{Changes: changes, NextAfterRevision: next, LatestRevision: latest, HasMore: more, FeedId: s.store.FeedID()}, nil
}

// WatchChanges streams the recorded changes after a revision, then each new one as it commits.
func (s *Server) WatchChanges(req *cataloguev1.WatchChangesRequest, stream cataloguev1.CatalogueService_WatchChangesServer) error {
	if err := s.checkAfter(stream.Context(), req.GetAfterRevision()); err != nil {
		return err
	}
	after := req.GetAfterRevision()
	w := resource.Watch{Feed: s.store.Backend(), Stopping: s.stopping, Drained: errShuttingDown}
	return w.Run(stream.Context(), func(bool) (bool, error) {
		changes, more, err := s.store.ListChanges(after, 500)
		if err != nil {
			return false, err
		}
		for _, c := range changes {
			if err := stream.Send(&cataloguev1.WatchChangesResponse{Change: c}); err != nil {
				return false, err
			}
			after = c.GetRevision()
		}
		return more, nil
	})
}
