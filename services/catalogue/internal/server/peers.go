package server

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// The server is the federation's Applier: it owns the store and the index, so changes from peers land in both.
var _ federation.Applier = (*Server)(nil)

// SetPeerStatus gives ListPeers its source (the running syncer).
func (s *Server) SetPeerStatus(fn func() []*cataloguev1.PeerStatus) { s.peerStatus = fn }

// ListPeers reports the federation peers and their synchronisation.
func (s *Server) ListPeers(context.Context, *cataloguev1.ListPeersRequest) (*cataloguev1.ListPeersResponse, error) {
	if s.peerStatus == nil {
		return &cataloguev1.ListPeersResponse{}, nil
	}
	return &cataloguev1.ListPeersResponse{Peers: s.peerStatus()}, nil
}

// PeerCursor implements federation.Applier.
func (s *Server) PeerCursor(terc string) (int64, string, error) { return s.store.PeerCursor(terc) }

// ApplyPeerChanges implements federation.Applier: each upserted entry is validated exactly like user input.
// Its publish gives the committed batch to the search index as one batch (UpsertBatch, below) rather than one
// upsert per entry: an initial sync brings thousands of entries per transaction, and the syncer indexes one
// batch while it stores the next.
func (s *Server) ApplyPeerChanges(ctx context.Context, peer federation.Peer, feedID string, changes []*cataloguev1.Change, cursor int64) ([]string, func(), error) {
	validate := func(svc *cataloguev1.Service) error {
		var v apierr.Violations
		domain.ValidateService(svc, "service.", &v)
		if err := v.Err(); err != nil {
			return err
		}
		return nil
	}
	// Registered from the commit to the index update (startup.go): publish ends it, and the syncer calls
	// every publish it gets.
	end := s.beginWrite()
	applied, rejected, err := s.store.ApplyRemote(ctx, peer.TERC, feedID, changes, cursor, peer.MaxServices, validate)
	if err != nil {
		end()
		return nil, nil, err
	}
	out := make([]string, len(rejected))
	for i, r := range rejected {
		out[i] = fmt.Sprintf("%s: %s", r.ResourceName, r.Reason)
	}
	// The documents are made here, so the publishing side (one goroutine) only indexes them, as an import's
	// batch is (UpsertBatch: the text analysed on every core before the index's write lock is taken, then the
	// lock held for spans of a few milliseconds, not for a whole page: searches keep being answered while a
	// peer syncs in; BulkLoad is the start-up rebuild's).
	docs := make([]search.Doc, 0, len(applied))
	for _, a := range applied {
		if a.Service != nil {
			docs = append(docs, domain.IndexDoc(a.Service, a.Revision))
		}
	}
	publish := func() {
		for _, a := range applied {
			if a.Service == nil {
				s.removed(a.ID, a.Revision)
			} else {
				s.cache.invalidate(a.ID, a.Revision)
			}
		}
		// Revisions order the index, not call order: a delete and a later upsert of one id land right
		// whichever is applied first (an upsert at or below a tombstone is ignored, and the reverse).
		s.index.UpsertBatch(docs)
		end()
	}
	return out, publish, nil
}

// PurgePeer implements federation.Applier.
func (s *Server) PurgePeer(ctx context.Context, terc string) error {
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	removed, err := s.store.PurgeOrigin(ctx, terc)
	for _, r := range removed { // also when a later transaction failed: these deletes are committed
		s.removed(r.ID, r.Revision)
	}
	return err
}

// PeerServiceCount implements federation.Applier: the count is kept with the peer's cursor in the store.
func (s *Server) PeerServiceCount(terc string) int {
	n, err := s.store.PeerServiceCount(terc)
	if err != nil {
		s.log.Warn("federation: reading a peer's service count failed", zap.String("peer", terc), zap.Error(err))
		return 0
	}
	return n
}
