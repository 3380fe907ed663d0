// Package server implements cus.catalogue.v1.CatalogueService: each handler validates the request, applies
// the domain's rules, and calls the store; errors are domain errors that platform/grpcserver maps to statuses.
package server

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec wrapped by Codec
	"regexp"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// Server is the catalogue's gRPC service.
type Server struct {
	cataloguev1.UnimplementedCatalogueServiceServer

	store *store.Store
	index *search.Index
	cache *serviceCache
	log   *zap.Logger
	// terc is this instance's TERYT TERC code: the origin of everything created here.
	terc string

	stopOnce sync.Once
	stopping chan struct{}

	// providers checks provider names against the registry (nil: format only).
	providers ProviderDirectory

	// peerStatus reports federation peers (nil without federation).
	peerStatus func() []*cataloguev1.PeerStatus

	// start is the index's readiness, the writes in flight and the last snapshot (startup.go).
	start *startState
}

// New returns a server over an open store. Load the index (OpenIndex, or LoadIndex) before serving.
func New(st *store.Store, terc string, log *zap.Logger) *Server {
	return &Server{store: st, index: search.New(), cache: newServiceCache(20000), log: log, terc: terc, stopping: make(chan struct{}),
		start: newStartState()}
}

// LoadIndex builds the search index from the whole store, returning the number of services indexed. A
// process start uses OpenIndex, which starts from a snapshot when it can.
func (s *Server) LoadIndex() (int, error) {
	var docs []search.Doc
	err := s.store.ForEachService(func(svc *cataloguev1.Service, rev int64) error {
		docs = append(docs, domain.IndexDoc(svc, rev))
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.index.BulkLoad(docs)
	return len(docs), nil
}

// Codec is the gRPC codec that sends cached services without re-encoding them; give it to the gRPC server
// with grpc.ForceServerCodecV2.
func (s *Server) Codec() encoding.CodecV2 {
	return wireCodec{base: encoding.GetCodecV2(protoCodecName), cache: s.cache}
}

const protoCodecName = "proto"

// Index exposes the search index (the synthetic loader and tests add to it directly).
func (s *Server) Index() *search.Index { return s.index }

// Shutdown ends open watch streams; clients reconnect elsewhere and resume from their revision.
func (s *Server) Shutdown() { s.stopOnce.Do(func() { close(s.stopping) }) }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func checkRequestID(id string) error {
	if id != "" && !requestIDPattern.MatchString(id) {
		return apierr.Invalid("request_id", "must be 1 to 100 characters of letters, digits, . _ - (a UUID is best)")
	}
	return nil
}

func required(field string) error { return apierr.Invalid(field, "is required") }

// indexed records a stored service in the search index and the read cache.
func (s *Server) indexed(svc *cataloguev1.Service, rev int64) {
	s.index.Upsert(domain.IndexDoc(svc, rev))
	s.cache.put(strings.TrimPrefix(svc.GetName(), domain.ServicePrefix), rev, svc)
}

// removed records a deletion in the search index and the read cache.
func (s *Server) removed(id string, rev int64) {
	s.index.Delete(id, rev)
	s.cache.drop(id, rev)
}

// services reads services by id for a result page, from the cache where it can.
func (s *Server) services(ids []string) ([]*cataloguev1.Service, error) {
	out := make([]*cataloguev1.Service, 0, len(ids))
	var missing []string
	for _, id := range ids {
		if svc, ok := s.cache.get(id); ok {
			out = append(out, svc)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	read := s.store.Backend().Revision() // the read is at this revision or a newer one (serviceCache.put)
	loaded, revs, err := s.store.GetServicesWithRevisions(missing)
	if err != nil {
		return nil, err
	}
	for i, svc := range loaded {
		s.cache.put(strings.TrimPrefix(svc.GetName(), domain.ServicePrefix), max(read, revs[i]), svc)
	}
	if len(loaded) == len(ids) {
		return loaded, nil
	}
	// Restore the order of ids.
	byID := make(map[string]*cataloguev1.Service, len(out)+len(loaded))
	for _, svc := range append(out, loaded...) {
		byID[strings.TrimPrefix(svc.GetName(), domain.ServicePrefix)] = svc
	}
	ordered := make([]*cataloguev1.Service, 0, len(ids))
	for _, id := range ids {
		if svc, ok := byID[id]; ok {
			ordered = append(ordered, svc)
		}
	}
	return ordered, nil
}
