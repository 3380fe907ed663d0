package store

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// Federation: entries pulled from a peer's change feed are stored in the same services bucket as local ones,
// read-only under their origin, with the peer's cursor updated in the same transaction (so a crash never applies
// a change twice or skips one). They are not appended to this instance's change log: an instance republishes
// only its own catalogue, which keeps feeds free of loops between peers.

// AppliedRemote is one effect of applying a peer's changes, for the search index.
type AppliedRemote struct {
	ID       string
	Revision int64
	// Service is the stored entry, or nil when it was deleted.
	Service *cataloguev1.Service
}

// RemoteRejection is a change refused by validation; it is reported, never stored.
type RemoteRejection struct {
	ResourceName string
	Reason       string
}

// PeerCursor is the last revision of terc's feed applied here, and the feed id it belongs to.
func (s *Store) PeerCursor(terc string) (int64, string, error) {
	var cursor int64
	var feed string
	err := s.be.View(func(tx storage.ReadTx) error {
		v := tx.Get(bucketPeers, []byte(terc))
		if v == nil {
			return nil
		}
		st := &structpb.Struct{}
		if err := proto.Unmarshal(v, st); err != nil {
			return err
		}
		cursor = int64(st.GetFields()["cursor"].GetNumberValue())
		feed = st.GetFields()["feed_id"].GetStringValue()
		return nil
	})
	return cursor, feed, err
}

// ApplyRemote applies changes from peer terc and moves its cursor to cursor, all in one transaction. validate
// checks an upserted service as if a user had sent it; a change that fails (or that would overwrite an entry of
// another origin, or exceed maxServices) is rejected and reported, and the cursor still moves past it.
func (s *Store) ApplyRemote(ctx context.Context, terc, feedID string, changes []*cataloguev1.Change, cursor int64, count int, maxServices int, validate func(*cataloguev1.Service) error) ([]AppliedRemote, []RemoteRejection, error) {
	var applied []AppliedRemote
	var rejected []RemoteRejection
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		applied, rejected = applied[:0], rejected[:0]
		n := count
		for _, c := range changes {
			id, ok := strings.CutPrefix(c.GetResourceName(), domain.ServicePrefix)
			if !ok {
				continue // programmes and future resource types do not federate
			}
			if !domain.IsUUID(id) {
				rejected = append(rejected, RemoteRejection{c.GetResourceName(), "resource name is not services/{uuid}"})
				continue
			}
			id = strings.ToLower(id)
			existing := &cataloguev1.Service{}
			if v := tx.Get(bucketServices, []byte(id)); v != nil {
				if _, err := decode(v, existing); err != nil {
					return err
				}
				if existing.GetOriginTerc() != terc {
					rejected = append(rejected, RemoteRejection{c.GetResourceName(), "the id belongs to an entry of another origin"})
					continue
				}
			} else {
				existing = nil
			}
			switch c.GetType() {
			case cataloguev1.ChangeType_CHANGE_TYPE_DELETE:
				if existing == nil {
					continue
				}
				if err := tx.Delete(bucketServices, []byte(id)); err != nil {
					return err
				}
				n--
				applied = append(applied, AppliedRemote{ID: id, Revision: tx.NextRevision()})
			case cataloguev1.ChangeType_CHANGE_TYPE_UPSERT:
				svc := c.GetService()
				if svc == nil {
					rejected = append(rejected, RemoteRejection{c.GetResourceName(), "upsert without a service"})
					continue
				}
				svc = proto.Clone(svc).(*cataloguev1.Service)
				if strings.ToLower(strings.TrimPrefix(svc.GetName(), domain.ServicePrefix)) != id {
					rejected = append(rejected, RemoteRejection{c.GetResourceName(), "the service's name differs from the change's resource name"})
					continue
				}
				if svc.GetOriginTerc() != terc {
					rejected = append(rejected, RemoteRejection{c.GetResourceName(), fmt.Sprintf("origin %q is not the peer's TERC", svc.GetOriginTerc())})
					continue
				}
				if err := validate(svc); err != nil {
					rejected = append(rejected, RemoteRejection{c.GetResourceName(), err.Error()})
					continue
				}
				if existing == nil {
					if maxServices > 0 && n >= maxServices {
						rejected = append(rejected, RemoteRejection{c.GetResourceName(), fmt.Sprintf("the peer exceeds the cap of %d services", maxServices)})
						continue
					}
					n++
				}
				svc.Name = domain.ServicePrefix + id
				rev := tx.NextRevision()
				// Keep the peer's etag and times: they describe the entry at its origin.
				v, err := encode(rev, svc)
				if err != nil {
					return err
				}
				if err := tx.Put(bucketServices, []byte(id), v); err != nil {
					return err
				}
				applied = append(applied, AppliedRemote{ID: id, Revision: rev, Service: svc})
			}
		}
		return s.putCursor(tx, terc, feedID, cursor)
	})
	return applied, rejected, err
}

func (s *Store) putCursor(tx storage.Tx, terc, feedID string, cursor int64) error {
	// A well-known Struct keeps the record protobuf without an internal schema; revisions stay far below 2^53.
	b, err := proto.Marshal(&structpb.Struct{Fields: map[string]*structpb.Value{
		"terc": structpb.NewStringValue(terc), "feed_id": structpb.NewStringValue(feedID),
		"cursor": structpb.NewNumberValue(float64(cursor)),
	}})
	if err != nil {
		return err
	}
	return tx.Put(bucketPeers, []byte(terc), b)
}

// PurgeOrigin deletes every entry of origin terc and resets its cursor, for a peer whose data was reset.
func (s *Store) PurgeOrigin(ctx context.Context, terc string) ([]AppliedRemote, error) {
	var removed []AppliedRemote
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		removed = removed[:0]
		var ids []string
		err := tx.Scan(bucketServices, nil, func(k, v []byte) (bool, error) {
			svc := &cataloguev1.Service{}
			if _, err := decode(v, svc); err != nil {
				return false, err
			}
			if svc.GetOriginTerc() == terc {
				ids = append(ids, string(k))
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Delete(bucketServices, []byte(id)); err != nil {
				return err
			}
			removed = append(removed, AppliedRemote{ID: id, Revision: tx.NextRevision()})
		}
		return s.putCursor(tx, terc, "", 0)
	})
	return removed, err
}
