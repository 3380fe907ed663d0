// Package store keeps the catalogue in its bbolt file (through platform/storage): services, programmes, the
// change feed and idempotency records. It is the only package of the catalogue that touches storage.
//
// Every record is an 8-byte big-endian revision (of the write that produced it) followed by the protobuf
// binary of the resource; every write appends a cus.catalogue.v1.Change to the change log in the same
// transaction, so the feed and the data never disagree.
package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
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

// kind describes one resource type of the catalogue.
type kind[T proto.Message] struct {
	bucket   storage.Bucket
	prefix   string
	notFound *apierr.Error
	exists   *apierr.Error
	newT     func() T
	// check runs inside the transaction before a create or update is stored (referential checks).
	check func(tx storage.ReadTx, t T) error
}

var services = kind[*cataloguev1.Service]{
	bucket: bucketServices, prefix: domain.ServicePrefix,
	notFound: domain.ErrServiceNotFound, exists: domain.ErrServiceExists,
	newT: func() *cataloguev1.Service { return &cataloguev1.Service{} },
}

var programmes = kind[*cataloguev1.Programme]{
	bucket: bucketProgrammes, prefix: domain.ProgrammePrefix,
	notFound: domain.ErrProgrammeNotFound, exists: domain.ErrProgrammeExists,
	newT: func() *cataloguev1.Programme { return &cataloguev1.Programme{} },
	check: func(tx storage.ReadTx, p *cataloguev1.Programme) error {
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

// stamp sets the server-owned fields of a resource written at rev.
func stamp(m proto.Message, name string, rev int64, now time.Time, created bool) {
	r := m.ProtoReflect()
	fds := r.Descriptor().Fields()
	set := func(field string, v protoreflect.Value) { r.Set(fds.ByName(protoreflect.Name(field)), v) }
	ts := timestamppb.New(now)
	set("name", protoreflect.ValueOfString(name))
	set("etag", protoreflect.ValueOfString(Etag(rev)))
	set("update_time", protoreflect.ValueOfMessage(ts.ProtoReflect()))
	if created {
		set("create_time", protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
	}
}

func appendChange(tx storage.Tx, rev int64, name string, now time.Time, deleted bool) error {
	c := &cataloguev1.Change{Revision: rev, ResourceName: name, ChangeTime: timestamppb.New(now), Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT}
	if deleted {
		c.Type = cataloguev1.ChangeType_CHANGE_TYPE_DELETE
	}
	// An upsert refers to the record written at rev instead of copying it (changes.go).
	b, err := proto.Marshal(c)
	if err != nil {
		return err
	}
	return tx.AppendChange(rev, b)
}

// Idempotency: a request id maps to the hash of the first request and the id of the resource it created, so a
// retry within the request-id TTL returns that resource (as it is now: a copy of the first response would double
// the file, docs/decisions.md) and a reuse for another request is refused.
func requestKey(method, requestID string) []byte { return []byte(method + "/" + requestID) }

func create[T proto.Message](ctx context.Context, s *Store, k kind[T], id string, t T, method, requestID string, reqHash []byte) (T, int64, bool, error) {
	var out T
	var outRev int64
	replayed := false
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		replayed = false
		if requestID != "" {
			if hash, resp, ok := storage.LookupRequest(tx, requestKey(method, requestID)); ok {
				if !bytes.Equal(hash, reqHash) {
					return apierr.ErrRequestIDReused
				}
				v := tx.Get(k.bucket, resp)
				if v == nil {
					// Created by this request id, then deleted before the retry.
					return k.notFound.With("resource", k.prefix+string(resp))
				}
				out = k.newT()
				replayed = true
				_, err := decode(v, out)
				return err
			}
		}
		if tx.Get(k.bucket, []byte(id)) != nil {
			return k.exists.With("resource", k.prefix+id)
		}
		if k.check != nil {
			if err := k.check(tx, t); err != nil {
				return err
			}
		}
		now := s.now()
		rev := tx.NextRevision()
		rec := proto.Clone(t).(T)
		stamp(rec, k.prefix+id, rev, now, true)
		v, err := encode(rev, rec)
		if err != nil {
			return err
		}
		if err := tx.Put(k.bucket, []byte(id), v); err != nil {
			return err
		}
		if err := appendChange(tx, rev, k.prefix+id, now, false); err != nil {
			return err
		}
		if requestID != "" {
			if err := storage.RememberRequest(tx, requestKey(method, requestID), reqHash, []byte(id)); err != nil {
				return err
			}
		}
		out, outRev = rec, rev
		return nil
	})
	return out, outRev, replayed, err
}

func update[T proto.Message](ctx context.Context, s *Store, k kind[T], id string, mutate func(cur T) error) (T, int64, error) {
	var out T
	var outRev int64
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		v := tx.Get(k.bucket, []byte(id))
		if v == nil {
			return k.notFound
		}
		cur := k.newT()
		if _, err := decode(v, cur); err != nil {
			return err
		}
		if err := mutate(cur); err != nil {
			return err
		}
		if k.check != nil {
			if err := k.check(tx, cur); err != nil {
				return err
			}
		}
		now := s.now()
		rev := tx.NextRevision()
		stamp(cur, k.prefix+id, rev, now, false)
		nv, err := encode(rev, cur)
		if err != nil {
			return err
		}
		if err := supersede(tx, v); err != nil {
			return err
		}
		if err := tx.Put(k.bucket, []byte(id), nv); err != nil {
			return err
		}
		out, outRev = cur, rev
		return appendChange(tx, rev, k.prefix+id, now, false)
	})
	return out, outRev, err
}

func remove[T proto.Message](ctx context.Context, s *Store, k kind[T], id string, check func(cur T) error) (int64, error) {
	var rev int64
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		v := tx.Get(k.bucket, []byte(id))
		if v == nil {
			return k.notFound
		}
		cur := k.newT()
		if _, err := decode(v, cur); err != nil {
			return err
		}
		if err := check(cur); err != nil {
			return err
		}
		rev = tx.NextRevision()
		if err := supersede(tx, v); err != nil {
			return err
		}
		if err := tx.Delete(k.bucket, []byte(id)); err != nil {
			return err
		}
		return appendChange(tx, rev, k.prefix+id, s.now(), true)
	})
	return rev, err
}

func get[T proto.Message](s *Store, k kind[T], id string) (T, int64, error) {
	t := k.newT()
	var rev int64
	err := s.be.View(func(tx storage.ReadTx) error {
		v := tx.Get(k.bucket, []byte(id))
		if v == nil {
			return k.notFound
		}
		var err error
		rev, err = decode(v, t)
		return err
	})
	return t, rev, err
}

func forEach[T proto.Message](s *Store, k kind[T], fn func(t T, rev int64) error) error {
	return s.be.View(func(tx storage.ReadTx) error {
		return tx.Scan(k.bucket, nil, func(_, v []byte) (bool, error) {
			t := k.newT()
			rev, err := decode(v, t)
			if err != nil {
				return false, err
			}
			return true, fn(t, rev)
		})
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
			v := tx.Get(bucketServices, []byte(id))
			if v == nil {
				continue
			}
			svc := &cataloguev1.Service{}
			rev, err := decode(v, svc)
			if err != nil {
				return err
			}
			out = append(out, svc)
			revs = append(revs, rev)
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

// ImportServices stores many services in one transaction, as the synthetic-catalogue generator and demo
// loader do. Existing ids are overwritten. It returns the stored services with their revisions.
func (s *Store) ImportServices(ctx context.Context, list []*cataloguev1.Service, ids []string) ([]*cataloguev1.Service, []int64, error) {
	out := make([]*cataloguev1.Service, len(list))
	revs := make([]int64, len(list))
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		now := s.now()
		for i, svc := range list {
			rev := tx.NextRevision()
			rec := proto.Clone(svc).(*cataloguev1.Service)
			prev := tx.Get(bucketServices, []byte(ids[i]))
			created := prev == nil
			if err := supersede(tx, prev); err != nil {
				return err
			}
			stamp(rec, domain.ServicePrefix+ids[i], rev, now, created)
			v, err := encode(rev, rec)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketServices, []byte(ids[i]), v); err != nil {
				return err
			}
			if err := appendChange(tx, rev, rec.GetName(), now, false); err != nil {
				return err
			}
			out[i], revs[i] = rec, rev
		}
		return nil
	})
	return out, revs, err
}
