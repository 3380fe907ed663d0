package server

import (
	"context"
	"fmt"

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
func (s *Server) ApplyPeerChanges(ctx context.Context, peer federation.Peer, feedID string, changes []*cataloguev1.Change, cursor int64) ([]string, error) {
	validate := func(svc *cataloguev1.Service) error {
		var v apierr.Violations
		domain.ValidateService(svc, "service.", &v)
		if err := v.Err(); err != nil {
			return err
		}
		return nil
	}
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	applied, rejected, err := s.store.ApplyRemote(ctx, peer.TERC, feedID, changes, cursor, s.PeerServiceCount(peer.TERC), peer.MaxServices, validate)
	if err != nil {
		return nil, err
	}
	for _, a := range applied {
		if a.Service == nil {
			s.removed(a.ID, a.Revision)
		} else {
			s.indexed(a.Service, a.Revision)
		}
	}
	out := make([]string, len(rejected))
	for i, r := range rejected {
		out[i] = fmt.Sprintf("%s: %s", r.ResourceName, r.Reason)
	}
	return out, nil
}

// PurgePeer implements federation.Applier.
func (s *Server) PurgePeer(ctx context.Context, terc string) error {
	defer s.beginWrite()() // from the commit to the index update (startup.go)
	removed, err := s.store.PurgeOrigin(ctx, terc)
	if err != nil {
		return err
	}
	for _, r := range removed {
		s.removed(r.ID, r.Revision)
	}
	return nil
}

// PeerServiceCount implements federation.Applier.
func (s *Server) PeerServiceCount(terc string) int {
	_, total := s.index.List(func(d *search.Doc) bool { return d.Origin == terc }, nil, 0, 1)
	return total
}
