package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// Federation: entries pulled from a peer's change feed are stored in the same services bucket as local ones,
// read-only under their origin, with the peer's cursor (and the number of its entries held) updated in the same
// transaction (so a crash never applies a change twice or skips one). They are not appended to this instance's
// change log: an instance republishes only its own catalogue, which keeps feeds free of loops between peers.
//
// They are recorded in the peer log instead: under the local revision of each write, 'u' or 'd' and the id,
// key-compacted like the change log (a newer write of an entry deletes the entry of the previous one), so a
// start from a search index snapshot catches up the federated entries written after it (ListPeerChanges) as
// it catches up the local ones from the change feed. Compaction by the retention window removes its
// tombstones with the change log's (a side log of the backend, deadPeerLogEntry), and a read from below the
// compaction point is refused as the change feed's is.

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

// peerRecord is what the peers bucket holds for one peer. It is stored as a well-known Struct, which keeps the
// record protobuf without an internal schema; revisions and counts stay far below 2^53.
type peerRecord struct {
	cursor int64
	feedID string
	// services is the number of the peer's entries held; -1 when it is not known: the record predates the
	// field, or there is no record yet while the file may already hold entries of that origin (an instance
	// whose own TERC was changed, a file written by `catalogue generate`). It is then counted once from the
	// services bucket, and stored with the next write.
	services int
	// stored: the record exists.
	stored bool
}

func readPeer(tx storage.ReadTx, terc string) (peerRecord, error) {
	rec := peerRecord{services: -1}
	v := tx.Get(bucketPeers, []byte(terc))
	if v == nil {
		return rec, nil
	}
	rec.stored = true
	st := &structpb.Struct{}
	if err := proto.Unmarshal(v, st); err != nil {
		return rec, err
	}
	f := st.GetFields()
	rec.cursor = int64(f["cursor"].GetNumberValue())
	rec.feedID = f["feed_id"].GetStringValue()
	if n, ok := f["services"]; ok {
		rec.services = int(n.GetNumberValue())
	}
	return rec, nil
}

// PeerCursor is the last revision of terc's feed applied here, and the feed id it belongs to.
func (s *Store) PeerCursor(terc string) (int64, string, error) {
	var rec peerRecord
	err := s.be.View(func(tx storage.ReadTx) (err error) {
		rec, err = readPeer(tx, terc)
		return err
	})
	return rec.cursor, rec.feedID, err
}

// PeerServiceCount is how many entries of origin terc are held. It reads one record: the count is kept with the
// peer's cursor, so status pages of an instance following many peers cost nothing per entry.
func (s *Store) PeerServiceCount(terc string) (int, error) {
	n, stored, err := s.peerCount(terc)
	if err != nil || n >= 0 || stored {
		return n, err
	}
	return s.origins.count(s.be, terc)
}

// peerCount reads the count of terc's peer record (-1: not known) and whether the record exists; a record of an
// older version, without the count, is counted by a walk (its count is stored with the peer's next write).
func (s *Store) peerCount(terc string) (n int, stored bool, err error) {
	err = s.be.View(func(tx storage.ReadTx) error {
		rec, err := readPeer(tx, terc)
		if err != nil {
			return err
		}
		n, stored = rec.services, rec.stored
		if n < 0 && stored {
			n, err = countOrigin(tx, terc)
		}
		return err
	})
	return n, stored, err
}

// countOrigin counts the stored services of an origin, reading only the origin field of each record.
func countOrigin(tx storage.ReadTx, terc string) (int, error) {
	n := 0
	err := tx.Scan(bucketServices, nil, func(_, v []byte) (bool, error) {
		if originOf(v) == terc {
			n++
		}
		return true, nil
	})
	return n, err
}

// originCounts holds how many entries each origin has, for a peer without a record: a peer not synced yet,
// whose cap must start from what the file already holds of its origin (an instance whose own TERC was
// changed, a file written by `catalogue generate`), and whose status is read over and over while it is
// unreachable. One walk over the services counts every origin at once, the first time a count is asked for:
// an aggregator adding fifty peers walks its catalogue once, not fifty times as it grows. The counts stay
// right for every origin without a record: its entries are written only by a bulk ImportServices, which
// forgets the counts after its writes, and by the peer's first sync, which writes the record (the count is
// then never read here again). On etcd they are this process's: a bulk import through another replica is
// seen here after a restart.
type originCounts struct {
	walk sync.Mutex // one walk at a time; the others wait for its counts
	mu   sync.Mutex
	gen  uint64         // bumped by forget: a walk that began before it is not kept
	n    map[string]int // nil: not counted
}

func (o *originCounts) count(be *storage.Backend, terc string) (int, error) {
	o.walk.Lock()
	defer o.walk.Unlock()
	o.mu.Lock()
	m, gen := o.n, o.gen
	o.mu.Unlock()
	if m != nil {
		return m[terc], nil
	}
	m = make(map[string]int)
	err := be.View(func(tx storage.ReadTx) error {
		return tx.Scan(bucketServices, nil, func(_, v []byte) (bool, error) {
			m[string(originBytes(v))]++
			return true, nil
		})
	})
	if err != nil {
		return 0, err // a failed or partial walk is not kept
	}
	o.mu.Lock()
	if o.gen == gen {
		o.n = m
	}
	o.mu.Unlock()
	return m[terc], nil
}

// forget drops the counts (after a bulk import); the next count walks again.
func (o *originCounts) forget() {
	o.mu.Lock()
	o.n = nil
	o.gen++
	o.mu.Unlock()
}

// serviceOriginField is the field number of cus.catalogue.v1.Service.origin_terc.
const serviceOriginField = 21

// originOf reads the origin TERC of a stored service record without decoding the rest of it: the origin
// checks of a peer's changes (and a purge) then cost a walk over the record's field tags, not an allocation of
// every field.
func originOf(v []byte) string { return string(originBytes(v)) }

// originBytes is originOf's TERC as a slice of v.
func originBytes(v []byte) []byte {
	if len(v) < 8 {
		return nil
	}
	b := v[8:]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		b = b[n:]
		if num == serviceOriginField && typ == protowire.BytesType {
			s, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil
			}
			return s
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil
		}
		b = b[m:]
	}
	return nil
}

// ApplyRemote applies changes from peer terc and moves its cursor to cursor, all in one transaction. validate
// checks an upserted service as if a user had sent it; a change that fails (or that would overwrite an entry of
// another origin, or exceed maxServices) is rejected and reported, and the cursor still moves past it. The
// upserted services are stored as given (the caller hands them over; they are not copied).
//
// Everything that does not depend on the stored state (the name, the origin, validation) is checked before the
// write transaction, so the commit loop, shared with local writers, is held only for the lookups and writes.
func (s *Store) ApplyRemote(ctx context.Context, terc, feedID string, changes []*cataloguev1.Change, cursor int64, maxServices int, validate func(*cataloguev1.Service) error) ([]AppliedRemote, []RemoteRejection, error) {
	type step struct {
		name   string // as the change gives it, for a rejection
		id     string
		svc    *cataloguev1.Service // nil: delete
		reject string
	}
	steps := make([]step, 0, len(changes))
	for _, c := range changes {
		id, ok := strings.CutPrefix(c.GetResourceName(), domain.ServicePrefix)
		if !ok {
			continue // programmes and future resource types do not federate
		}
		st := step{name: c.GetResourceName(), id: strings.ToLower(id)}
		switch {
		case !domain.IsUUID(id):
			st.reject = "resource name is not services/{uuid}"
		case c.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_DELETE:
		case c.GetType() != cataloguev1.ChangeType_CHANGE_TYPE_UPSERT:
			continue
		case c.GetService() == nil:
			st.reject = "upsert without a service"
		case strings.ToLower(strings.TrimPrefix(c.GetService().GetName(), domain.ServicePrefix)) != st.id:
			st.reject = "the service's name differs from the change's resource name"
		case c.GetService().GetOriginTerc() != terc:
			st.reject = fmt.Sprintf("origin %q is not the peer's TERC", c.GetService().GetOriginTerc())
		default:
			if err := validate(c.GetService()); err != nil {
				st.reject = err.Error()
			} else {
				st.svc = c.GetService()
			}
		}
		steps = append(steps, st)
	}
	// A peer's count not yet known (its first batch, or a record of an older version) is taken before the write
	// transaction, not in it: the commit loop is shared with local writers. Once its record holds the count
	// (s.counted) this costs nothing. Only a sync of this peer writes entries of its origin, and the write
	// transaction reads the record again: a count stored meanwhile (another replica's sync, on etcd) wins.
	known := -1
	if _, ok := s.counted.Load(terc); !ok {
		n, stored, err := s.peerCount(terc)
		if err == nil && n < 0 && !stored {
			n, err = s.origins.count(s.be, terc)
		}
		if err != nil {
			return nil, nil, err
		}
		known = n
	}
	var applied []AppliedRemote
	var rejected []RemoteRejection
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		applied, rejected = applied[:0], rejected[:0]
		rec, err := readPeer(tx, terc)
		if err != nil {
			return err
		}
		n := rec.services
		if n < 0 {
			n = known
		}
		if n < 0 { // counted before, and the record has lost its count since (a replica of an older version)
			if n, err = countOrigin(tx, terc); err != nil {
				return err
			}
		}
		for _, st := range steps {
			name := domain.ServicePrefix + st.id
			if st.reject != "" {
				rejected = append(rejected, RemoteRejection{st.name, st.reject})
				continue
			}
			prev := tx.Get(bucketServices, []byte(st.id))
			if prev != nil && originOf(prev) != terc {
				rejected = append(rejected, RemoteRejection{st.name, "the id belongs to an entry of another origin"})
				continue
			}
			if st.svc == nil {
				if prev == nil {
					continue
				}
				if err := tx.Delete(bucketServices, []byte(st.id)); err != nil {
					return err
				}
				n--
				rev := tx.NextRevision()
				if err := logPeerWrite(tx, rev, st.id, true, prev); err != nil {
					return err
				}
				applied = append(applied, AppliedRemote{ID: st.id, Revision: rev})
				continue
			}
			if prev == nil {
				if maxServices > 0 && n >= maxServices {
					rejected = append(rejected, RemoteRejection{st.name, fmt.Sprintf("the peer exceeds the cap of %d services", maxServices)})
					continue
				}
				n++
			}
			st.svc.Name = name
			rev := tx.NextRevision()
			// Keep the peer's etag and times: they describe the entry at its origin.
			v, err := encodeSized(rev, st.svc)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketServices, []byte(st.id), v); err != nil {
				return err
			}
			if err := logPeerWrite(tx, rev, st.id, false, prev); err != nil {
				return err
			}
			applied = append(applied, AppliedRemote{ID: st.id, Revision: rev, Service: st.svc})
		}
		return s.putPeer(tx, terc, peerRecord{cursor: cursor, feedID: feedID, services: n})
	})
	if err == nil {
		s.counted.Store(terc, struct{}{})
	}
	return applied, rejected, err
}

func (s *Store) putPeer(tx storage.Tx, terc string, rec peerRecord) error {
	b, err := proto.Marshal(&structpb.Struct{Fields: map[string]*structpb.Value{
		"terc": structpb.NewStringValue(terc), "feed_id": structpb.NewStringValue(rec.feedID),
		"cursor": structpb.NewNumberValue(float64(rec.cursor)), "services": structpb.NewNumberValue(float64(rec.services)),
	}})
	if err != nil {
		return err
	}
	return tx.Put(bucketPeers, []byte(terc), b)
}

// PurgeOrigin deletes every entry of origin terc and resets its cursor, for a peer whose data was reset. It
// writes as many transactions as the engine's limits need (one on bbolt; on etcd a purge of a peer of thousands
// of services cannot be one, each entry costing three keys): the cursor is reset by the last, so a purge cut
// short leaves the old cursor and feed id, and the next sync purges the rest. It returns what it deleted, also
// with an error (what the transactions before it committed).
func (s *Store) PurgeOrigin(ctx context.Context, terc string) ([]AppliedRemote, error) {
	var ids []string
	if err := s.be.View(func(tx storage.ReadTx) error {
		return tx.Scan(bucketServices, nil, func(k, v []byte) (bool, error) {
			if originOf(v) == terc {
				ids = append(ids, string(k))
			}
			return true, nil
		})
	}); err != nil {
		return nil, err
	}
	// Per entry: the record's delete, the delete of its peer-log entry and the tombstone's; per transaction the
	// peer's record.
	size := s.be.ItemsPerWrite(max(1, len(ids)), 3, 256, 2)
	var removed []AppliedRemote
	for start := 0; start == 0 || start < len(ids); start += size {
		chunk, last := ids[start:min(start+size, len(ids))], start+size >= len(ids)
		var done []AppliedRemote
		err := s.be.Update(ctx, func(tx storage.Tx) error {
			done = done[:0]
			for _, id := range chunk {
				prev := tx.Get(bucketServices, []byte(id))
				if prev == nil || originOf(prev) != terc {
					continue // gone meanwhile
				}
				if err := tx.Delete(bucketServices, []byte(id)); err != nil {
					return err
				}
				rev := tx.NextRevision()
				if err := logPeerWrite(tx, rev, id, true, prev); err != nil {
					return err
				}
				done = append(done, AppliedRemote{ID: id, Revision: rev})
			}
			if last {
				return s.putPeer(tx, terc, peerRecord{})
			}
			rec, err := readPeer(tx, terc)
			if err != nil {
				return err
			}
			if rec.services >= 0 {
				rec.services = max(0, rec.services-len(done))
			}
			return s.putPeer(tx, terc, rec)
		})
		if err != nil {
			return removed, err
		}
		removed = append(removed, done...)
	}
	return removed, nil
}

// logPeerWrite records a write of a federated entry at rev in the peer log, dropping the entry of the write it
// replaces (prev: the stored record, or at least its 8-byte revision; nil for a new entry).
func logPeerWrite(tx storage.Tx, rev int64, id string, deleted bool, prev []byte) error {
	if old := recordRev(prev); old > 0 {
		if err := tx.Delete(bucketPeerLog, storage.RevisionKey(old)); err != nil {
			return err
		}
	}
	op := byte('u')
	if deleted {
		op = 'd'
	}
	return tx.Put(bucketPeerLog, storage.RevisionKey(rev), append([]byte{op}, id...))
}

// ListPeerChanges reads up to limit writes of federated entries after a revision from the peer log, in the
// form of ListChanges (upserts with the stored service, deletes as tombstones), for a start from a search
// index snapshot: federated entries are not in the change feed. It is never served to anyone.
func (s *Store) ListPeerChanges(after int64, limit int) ([]*cataloguev1.Change, bool, error) {
	var out []*cataloguev1.Change
	more := false
	err := s.be.ViewSideLog(bucketPeerLog, after, func(tx storage.ReadTx, rev int64, v []byte) (bool, error) {
		if len(v) < 2 {
			return false, fmt.Errorf("peer log: malformed entry at revision %d", rev)
		}
		name := domain.ServicePrefix + string(v[1:])
		c := &cataloguev1.Change{Revision: rev, ResourceName: name, Type: cataloguev1.ChangeType_CHANGE_TYPE_DELETE}
		if v[0] == 'u' {
			rv := tx.Get(bucketServices, v[1:])
			if recordRev(rv) != rev {
				return true, nil // replaced since (its entry goes with the replacing write)
			}
			svc := &cataloguev1.Service{}
			if _, err := decode(rv, svc); err != nil {
				return false, err
			}
			c.Type = cataloguev1.ChangeType_CHANGE_TYPE_UPSERT
			c.Resource = &cataloguev1.Change_Service{Service: svc}
		}
		if len(out) == limit {
			more = true
			return false, nil
		}
		out = append(out, c)
		return true, nil
	})
	return out, more, err
}

// deadPeerLogEntry tells the compaction of the change log (storage.DeclareSideLog) which entries of the peer
// log at or below the compaction point go: the tombstones of deleted federated entries, and any entry a newer
// write replaced. Without it the peer log of a regional instance kept a tombstone for every federated entry
// ever deleted, for good.
func deadPeerLogEntry(tx storage.ReadTx, rev int64, v []byte) bool {
	return len(v) < 2 || v[0] != 'u' || recordRev(tx.Get(bucketServices, v[1:])) != rev
}

// encodeSized is storage.EncodeRecord marshalled straight into a buffer of the record's size (one allocation
// and no copy per record: a sync writes hundreds of thousands).
func encodeSized(rev int64, svc *cataloguev1.Service) ([]byte, error) {
	opts := proto.MarshalOptions{Deterministic: true}
	out := make([]byte, 8, 8+opts.Size(svc))
	binary.BigEndian.PutUint64(out, uint64(rev))
	// The sizes were just computed, on a message nothing else touches meanwhile.
	opts.UseCachedSize = true
	return opts.MarshalAppend(out, svc)
}
