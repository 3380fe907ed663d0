// Package store keeps the catalogue in its bbolt file (through platform/storage): services, programmes, the
// change feed and idempotency records. It is the only package of the catalogue that touches storage.
//
// Every record is an 8-byte big-endian revision (of the write that produced it) followed by the protobuf
// binary of the resource; every write appends a cus.catalogue.v1.Change to the change log in the same
// transaction, so the feed and the data never disagree.
package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// SchemaVersion of the catalogue's data file; raise it with a migration when the layout changes. Version 2
// keeps the feed id in the platform's _meta (storage.Backend.FeedID), where a restore replaces it; version 3
// has the key-compacted change log (entries point at the record) and timed idempotency records.
const SchemaVersion = 3

// The catalogue's buckets, all declared here.
const (
	bucketServices   storage.Bucket = "services"    // uuid -> rev + Service
	bucketProgrammes storage.Bucket = "programmes"  // uuid -> rev + Programme
	bucketPeers      storage.Bucket = "peers"       // peer TERC -> PeerStatus with the persisted cursor
	bucketFeed       storage.Bucket = "feed"        // schema 1 only: "id" -> the feed id (moved to _meta by schema 2)
	bucketImportKeys storage.Bucket = "import_keys" // import key (domain.ImportKey) -> uuid of the service it created
	bucketPeerLog    storage.Bucket = "peer_log"    // revision -> 'u'|'d' + uuid of a federated entry written (federation.go)
)

var keyFeedID = []byte("id")

// Store is the catalogue's storage.
type Store struct {
	be     *storage.Backend
	now    func() time.Time
	feedID string
	// origins counts the entries of every origin, for peers without a record (originCounts).
	origins originCounts
	// counted holds the TERCs of peers whose record is known to hold their count (ApplyRemote wrote it): a
	// count, once stored, is kept by every later write of the record.
	counted sync.Map
}

// Open opens the catalogue's data file.
func Open(path string, log *zap.Logger) (*Store, error) { return OpenOn(storage.Engine{}, path, log) }

// OpenOn opens the catalogue on the chosen storage engine (path: the data file, on bbolt).
func OpenOn(engine storage.Engine, path string, log *zap.Logger) (*Store, error) {
	// Ids are UUIDv7 (time-ordered): new records are appended, so their pages are filled.
	storage.DeclareSequential(bucketServices, bucketProgrammes)
	be, err := storage.Open(path, storage.Options{
		Buckets:       []storage.Bucket{bucketServices, bucketProgrammes, bucketPeers, bucketFeed, bucketImportKeys, bucketPeerLog},
		SchemaVersion: SchemaVersion,
		Migrations:    []storage.Migration{{From: 1, Run: adoptFeedID}, {From: 2, Run: migrateCompactLog(time.Now().UTC())}},
		Logger:        log,
		Engine:        engine,
	})
	if err != nil {
		return nil, err
	}
	be.SetChangeKeeper(keepChange)
	be.DeclareSideLog(bucketPeerLog, deadPeerLogEntry)
	// The feed id is fixed while the file is open: only a restore (service stopped) replaces it.
	return &Store{be: be, now: func() time.Time { return time.Now().UTC() }, feedID: be.FeedID()}, nil
}

// adoptFeedID moves a schema-1 file's feed id into _meta, so followers of it see the same history. A file
// restored from a schema-1 backup already has a new feed id there (storage.Restore): it is kept, and the old
// one dropped, so followers resync.
func adoptFeedID(tx storage.Tx) error {
	if old := tx.Get(bucketFeed, keyFeedID); old != nil && tx.Get(storage.BucketMeta, storage.MetaFeedID) == nil {
		if err := tx.Put(storage.BucketMeta, storage.MetaFeedID, append([]byte(nil), old...)); err != nil {
			return err
		}
	}
	return tx.Delete(bucketFeed, keyFeedID)
}

// FeedID identifies this data file's change history: made with the file, replaced by a restore (so followers
// whose cursor belongs to the replaced history purge and resync).
func (s *Store) FeedID() string { return s.feedID }

// Close closes the data file.
func (s *Store) Close() error { return s.be.Close() }

// Backend exposes the backend for backups, revision and change notifications.
func (s *Store) Backend() *storage.Backend { return s.be }

// The catalogue's resources on the resource kit: keyed by uuid, idempotency records keep the id of the
// resource created (a retry within the request-id TTL returns that resource as it is now: a copy of the first
// response would double the file, docs/decisions.md), and the change log is key-compacted (changes.go).
var services = &resource.Kind[*cataloguev1.Service]{
	Bucket: bucketServices, New: func() *cataloguev1.Service { return &cataloguev1.Service{} },
	Name:     func(id string) string { return domain.ServicePrefix + id },
	NotFound: domain.ErrServiceNotFound, Exists: domain.ErrServiceExists,
	Replay: resource.ReplayKey, KeyCompacted: true,
	Change: func(c resource.Change[*cataloguev1.Service]) ([]byte, error) {
		return change(c.Rev, c.Name, c.Time, c.Deleted)
	},
}

var programmes = &resource.Kind[*cataloguev1.Programme]{
	Bucket: bucketProgrammes, New: func() *cataloguev1.Programme { return &cataloguev1.Programme{} },
	Name:     func(id string) string { return domain.ProgrammePrefix + id },
	NotFound: domain.ErrProgrammeNotFound, Exists: domain.ErrProgrammeExists,
	Replay: resource.ReplayKey, KeyCompacted: true,
	Change: func(c resource.Change[*cataloguev1.Programme]) ([]byte, error) {
		return change(c.Rev, c.Name, c.Time, c.Deleted)
	},
	// The services a programme names must exist, checked in the write's transaction.
	Check: func(tx storage.ReadTx, _ string, _, p *cataloguev1.Programme) error {
		var v apierr.Violations
		for i, name := range p.GetServices() {
			if tx.Get(bucketServices, []byte(name[len(domain.ServicePrefix):])) == nil {
				v.Add(fmt.Sprintf("programme.services[%d]", i), "no service %s in this catalogue", name)
			}
		}
		return v.Err()
	},
}

// Records are the platform's: the revision of the write, then the protobuf binary.
var (
	encode = storage.EncodeRecord
	decode = storage.DecodeRecord
)

// Etag is the etag of a resource last written at rev.
func Etag(rev int64) string { return storage.Etag(rev) }

// stamp sets the server-owned fields of a service written at rev (import.go writes its services itself).
func stamp(svc *cataloguev1.Service, name string, rev int64, now time.Time, created bool) {
	services.Stamp(svc, name, rev, now, created)
}

// change is the change record of a write: an upsert refers to the record written at rev instead of copying
// it (changes.go).
func change(rev int64, name string, now time.Time, deleted bool) ([]byte, error) {
	c := &cataloguev1.Change{Revision: rev, ResourceName: name, ChangeTime: timestamppb.New(now), Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT}
	if deleted {
		c.Type = cataloguev1.ChangeType_CHANGE_TYPE_DELETE
	}
	return proto.Marshal(c)
}

func appendChange(tx storage.Tx, rev int64, name string, now time.Time, deleted bool) error {
	b, err := change(rev, name, now, deleted)
	if err != nil {
		return err
	}
	return tx.AppendChange(rev, b)
}

// requestKey is the key of the idempotency record of a method's request id.
func requestKey(method, requestID string) []byte {
	return resource.Req{Method: method, ID: requestID}.Key()
}

func create[T proto.Message](ctx context.Context, s *Store, k *resource.Kind[T], id string, t T, method, requestID string, reqHash []byte) (out T, outRev int64, replayed bool, err error) {
	w := resource.Write[T]{Req: resource.Req{Method: method, ID: requestID, Hash: reqHash}, Now: s.now(),
		After: func(_ storage.Tx, _ T, rev int64) error { outRev = rev; return nil }}
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		outRev = 0
		out, replayed, err = k.Create(tx, id, t, w)
		return err
	})
	return out, outRev, replayed, err
}

func update[T proto.Message](ctx context.Context, s *Store, k *resource.Kind[T], id string, mutate func(cur T) error) (out T, outRev int64, err error) {
	w := resource.Write[T]{Now: s.now(), After: func(_ storage.Tx, _ T, rev int64) error { outRev = rev; return nil }}
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		out, _, err = k.Update(tx, id, w, mutate)
		return err
	})
	return out, outRev, err
}

func remove[T proto.Message](ctx context.Context, s *Store, k *resource.Kind[T], id string, check func(cur T) error) (rev int64, err error) {
	w := resource.Write[T]{Now: s.now(), Check: func(_ storage.Tx, cur, _ T) error { return check(cur) }}
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		rev, err = k.Delete(tx, id, w)
		return err
	})
	return rev, err
}

func get[T proto.Message](s *Store, k *resource.Kind[T], id string) (out T, rev int64, err error) {
	err = s.be.View(func(tx storage.ReadTx) error {
		out, rev, err = k.Get(tx, id)
		return err
	})
	if err != nil {
		out = k.New()
	}
	return out, rev, err
}

func forEach[T proto.Message](s *Store, k *resource.Kind[T], fn func(t T, rev int64) error) error {
	return s.be.View(func(tx storage.ReadTx) error {
		return k.Scan(tx, "", func(_ string, t T, rev int64) (bool, error) { return true, fn(t, rev) })
	})
}

// CreateService stores a new service under id. With a request id, a repeat of the same request returns the
// first result (replayed = true) and a different request with the same id is refused.
func (s *Store) CreateService(ctx context.Context, id string, svc *cataloguev1.Service, requestID string, reqHash []byte) (*cataloguev1.Service, int64, bool, error) {
	return create(ctx, s, services, id, svc, "CreateService", requestID, reqHash)
}

// UpdateService applies mutate to the current service inside one transaction (so etag checks are atomic).
func (s *Store) UpdateService(ctx context.Context, id string, mutate func(cur *cataloguev1.Service) error) (*cataloguev1.Service, int64, error) {
	return update(ctx, s, services, id, mutate)
}

// DeleteService deletes a service after check approves the current state; the feed gets a tombstone.
func (s *Store) DeleteService(ctx context.Context, id string, check func(cur *cataloguev1.Service) error) (int64, error) {
	return remove(ctx, s, services, id, check)
}

// GetService reads one service and the revision it was written at.
func (s *Store) GetService(id string) (*cataloguev1.Service, int64, error) {
	return get(s, services, id)
}

// GetServicesWithRevisions reads services by id with the revisions they were written at, skipping ids that no
// longer exist.
func (s *Store) GetServicesWithRevisions(ids []string) ([]*cataloguev1.Service, []int64, error) {
	out := make([]*cataloguev1.Service, 0, len(ids))
	revs := make([]int64, 0, len(ids))
	err := s.be.View(func(tx storage.ReadTx) error {
		for _, id := range ids {
			svc, rev, found, err := services.Lookup(tx, id)
			if err != nil {
				return err
			}
			if found {
				out = append(out, svc)
				revs = append(revs, rev)
			}
		}
		return nil
	})
	return out, revs, err
}

// ForEachService visits every service in id order.
func (s *Store) ForEachService(fn func(*cataloguev1.Service, int64) error) error {
	return forEach(s, services, fn)
}

// CreateProgramme stores a new programme; the services it names must exist.
func (s *Store) CreateProgramme(ctx context.Context, id string, p *cataloguev1.Programme, requestID string, reqHash []byte) (*cataloguev1.Programme, int64, bool, error) {
	return create(ctx, s, programmes, id, p, "CreateProgramme", requestID, reqHash)
}

// UpdateProgramme applies mutate to the current programme inside one transaction.
func (s *Store) UpdateProgramme(ctx context.Context, id string, mutate func(cur *cataloguev1.Programme) error) (*cataloguev1.Programme, int64, error) {
	return update(ctx, s, programmes, id, mutate)
}

// DeleteProgramme deletes a programme after check approves the current state.
func (s *Store) DeleteProgramme(ctx context.Context, id string, check func(cur *cataloguev1.Programme) error) (int64, error) {
	return remove(ctx, s, programmes, id, check)
}

// GetProgramme reads one programme.
func (s *Store) GetProgramme(id string) (*cataloguev1.Programme, int64, error) {
	return get(s, programmes, id)
}

// ForEachProgramme visits every programme in id order.
func (s *Store) ForEachProgramme(fn func(*cataloguev1.Programme, int64) error) error {
	return forEach(s, programmes, fn)
}

// ImportServices stores many services, as the synthetic-catalogue generator and demo loader do: in one
// transaction on bbolt, in as many as the engine's limits need on etcd (ItemsPerWrite). Existing ids are
// overwritten. It returns the stored services with their revisions (those of the transactions that committed,
// with an error).
func (s *Store) ImportServices(ctx context.Context, list []*cataloguev1.Service, ids []string) ([]*cataloguev1.Service, []int64, error) {
	defer s.origins.forget()
	out := make([]*cataloguev1.Service, len(list))
	revs := make([]int64, len(list))
	size := s.be.ItemsPerWrite(max(1, len(list)), rowKeys, rowBytes, 0)
	var err error
	for lo := 0; lo < len(list) && err == nil; lo += size {
		hi := min(lo+size, len(list))
		err = s.be.Update(ctx, func(tx storage.Tx) error {
			now := s.now()
			for i := lo; i < hi; i++ {
				rec := proto.Clone(list[i]).(*cataloguev1.Service)
				rev, err := services.Put(tx, ids[i], rec, now)
				if err != nil {
					return err
				}
				out[i], revs[i] = rec, rev
			}
			return nil
		})
		if err != nil {
			out, revs = out[:lo], revs[:lo]
		}
	}
	return out, revs, err
}
