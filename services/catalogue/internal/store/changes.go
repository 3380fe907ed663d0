package store

import (
	"encoding/binary"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// The catalogue's change log is key-compacted and refers to records instead of copying them (docs/decisions.md,
// "Data that stops growing"):
//   - an upsert entry holds the resource name, type, time and revision, not the resource; the feed serves the
//     stored record, whose revision equals the entry's while the entry is the newest change of the resource;
//   - a write that supersedes a resource's previous change deletes that entry in the same transaction, so the
//     log holds one entry per live resource plus the tombstones of deletes;
//   - compaction (storage.CompactChanges, by the retention window) then removes tombstones and keeps live
//     upserts, so reading from revision 0 is always a full listing, and only a cursor between 0 and the
//     compaction point (which may have missed deletes) is told to resync.
// The log is thus bounded by the live data, whatever the number of updates, and costs about 60 bytes a resource.

// bucketOf maps a resource name to its bucket and id.
func bucketOf(name string) (storage.Bucket, string, bool) {
	if id, ok := strings.CutPrefix(name, domain.ServicePrefix); ok {
		return bucketServices, id, true
	}
	if id, ok := strings.CutPrefix(name, domain.ProgrammePrefix); ok {
		return bucketProgrammes, id, true
	}
	return "", "", false
}

// recordRev is the revision a stored record was written at (0: none).
var recordRev = resource.RecordRevision

// supersede deletes the change entry of a record's previous version (at prev, the revision in its stored
// value): a newer change of the same resource replaces it in the key-compacted log.
func supersede(tx storage.Tx, prev []byte) error { return services.Supersede(tx, prev) }

// keepChange tells compaction which entries stay: an upsert that is still the newest change of a live
// resource. Tombstones and anything else at or below the compaction point go.
func keepChange(tx storage.ReadTx, rev int64, v []byte) bool {
	c := &cataloguev1.Change{}
	if proto.Unmarshal(v, c) != nil || c.GetType() != cataloguev1.ChangeType_CHANGE_TYPE_UPSERT {
		return false
	}
	b, id, ok := bucketOf(c.GetResourceName())
	return ok && recordRev(tx.Get(b, []byte(id))) == rev
}

// ListChanges reads up to limit changes after a revision from one snapshot, filling each upsert with the
// stored record and skipping entries a newer write superseded. A cursor below the compaction point (other than
// 0) gets storage.ErrCompacted, an OUT_OF_RANGE CHANGES_COMPACTED error.
func (s *Store) ListChanges(after int64, limit int) ([]*cataloguev1.Change, bool, error) {
	return s.ListChangesEncoded(after, limit, 0, false)
}

// changeOverhead bounds what a change's encoding adds to its log entry and record (tags and lengths).
const changeOverhead = 16

// Field numbers of the resource oneof of cus.catalogue.v1.Change.
const (
	changeServiceField   = 5
	changeProgrammeField = 6
)

// ListChangesEncoded is ListChanges that also stops before the page's records exceed maxBytes (0: no bound),
// always returning at least one change, so a page of large services stays under a gRPC message limit.
//
// With encoded, an upsert's resource is not decoded: the stored protobuf bytes are attached to the change as
// the encoding of its resource field (protobuf unknown fields, which marshal verbatim), so the change is
// complete on the wire, and whoever decodes it gets the resource, at the cost of a copy instead of a decode and
// a re-encode. GetService and GetProgramme of such a change are nil until it has crossed the wire: only a
// handler that sends the changes as they are may ask for it.
func (s *Store) ListChangesEncoded(after int64, limit, maxBytes int, encoded bool) ([]*cataloguev1.Change, bool, error) {
	var out []*cataloguev1.Change
	more := false
	size := 0
	err := s.be.ViewChanges(after, func(tx storage.ReadTx, rev int64, v []byte) (bool, error) {
		c := &cataloguev1.Change{}
		if err := proto.Unmarshal(v, c); err != nil {
			return false, err
		}
		sized := 0 // bytes of the record filled in
		if c.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_UPSERT && c.GetResource() == nil {
			b, id, ok := bucketOf(c.GetResourceName())
			if !ok {
				return true, nil
			}
			rv := tx.Get(b, []byte(id))
			if recordRev(rv) != rev {
				return true, nil // superseded (or deleted) later in the log
			}
			sized = len(rv) - 8
			switch {
			case encoded:
				field := protowire.Number(changeServiceField)
				if b != bucketServices {
					field = changeProgrammeField
				}
				// rv belongs to the read transaction: the append copies it.
				raw := protowire.AppendTag(make([]byte, 0, len(rv)+8), field, protowire.BytesType)
				c.ProtoReflect().SetUnknown(protowire.AppendBytes(raw, rv[8:]))
			case b == bucketServices:
				svc := &cataloguev1.Service{}
				if _, err := decode(rv, svc); err != nil {
					return false, err
				}
				c.Resource = &cataloguev1.Change_Service{Service: svc}
			default:
				p := &cataloguev1.Programme{}
				if _, err := decode(rv, p); err != nil {
					return false, err
				}
				c.Resource = &cataloguev1.Change_Programme{Programme: p}
			}
		}
		n := changeOverhead + len(v) + sized
		if len(out) == limit || (maxBytes > 0 && len(out) > 0 && size+n > maxBytes) {
			more = true
			return false, nil
		}
		size += n
		out = append(out, c)
		return true, nil
	})
	return out, more, err
}

// migrateCompactLog (schema 1 -> 2) rewrites the change log in the key-compacted form (superseded entries
// dropped, upserts without their copy of the resource) and stamps the idempotency records with the migration
// time, so they expire one window after the upgrade.
func migrateCompactLog(now time.Time) func(tx storage.Tx) error {
	return func(tx storage.Tx) error {
		if err := migrateRequests(tx, now); err != nil {
			return err
		}
		type entry struct {
			k, v []byte // v nil: delete
		}
		var edits []entry
		err := tx.Scan(storage.BucketChanges, nil, func(k, v []byte) (bool, error) {
			c := &cataloguev1.Change{}
			if err := proto.Unmarshal(v, c); err != nil {
				return false, err
			}
			if c.GetType() != cataloguev1.ChangeType_CHANGE_TYPE_UPSERT {
				return true, nil
			}
			key := append([]byte(nil), k...)
			if !keepChange(tx, int64(binary.BigEndian.Uint64(k)), v) {
				edits = append(edits, entry{k: key})
				return true, nil
			}
			c.Resource = nil
			b, err := proto.Marshal(c)
			if err != nil {
				return false, err
			}
			edits = append(edits, entry{k: key, v: b})
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, e := range edits {
			if e.v == nil {
				err = tx.Delete(storage.BucketChanges, e.k)
			} else {
				err = tx.Put(storage.BucketChanges, e.k, e.v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// migrateRequests rewrites schema-1 idempotency records (hash, then a copy of the created resource) as the
// platform's timed records holding the resource's id, written at now.
func migrateRequests(tx storage.Tx, now time.Time) error {
	type kv struct{ k, v []byte }
	var all []kv
	err := tx.Scan(storage.BucketRequests, nil, func(k, v []byte) (bool, error) {
		if len(v) < 32 {
			all = append(all, kv{k: append([]byte(nil), k...)})
			return true, nil
		}
		var m interface{ GetName() string }
		switch {
		case strings.HasPrefix(string(k), "CreateProgramme/"):
			m = &cataloguev1.Programme{}
		default:
			m = &cataloguev1.Service{}
		}
		if err := proto.Unmarshal(v[32:], m.(proto.Message)); err != nil {
			return false, err
		}
		name := m.GetName()
		id := name[strings.IndexByte(name, '/')+1:]
		all = append(all, kv{append([]byte(nil), k...), storage.EncodeRequest(now, v[:32], []byte(id))})
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.v == nil {
			err = tx.Delete(storage.BucketRequests, e.k)
		} else {
			err = tx.Put(storage.BucketRequests, e.k, e.v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
