package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

const peerTERC = "3006023"

func peerUpsert(rev int64, i int) *cataloguev1.Change {
	name := fmt.Sprintf("services/0194c050-3006-7023-8000-%012d", i)
	return &cataloguev1.Change{Revision: rev, Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, ResourceName: name,
		Resource: &cataloguev1.Change_Service{Service: &cataloguev1.Service{Name: name, DisplayName: "Usługa", OriginTerc: peerTERC}}}
}

func peerDelete(rev int64, i int) *cataloguev1.Change {
	return &cataloguev1.Change{Revision: rev, Type: cataloguev1.ChangeType_CHANGE_TYPE_DELETE, ResourceName: fmt.Sprintf("services/0194c050-3006-7023-8000-%012d", i)}
}

func noCheck(*cataloguev1.Service) error { return nil }

// The number of a peer's entries is kept with its cursor, so reading it costs one record, not a walk over the
// catalogue; it follows upserts, deletes, the cap and a purge, and a record written before the count existed
// is counted from the services once.
func TestPeerServiceCountIsKeptWithTheCursor(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func() int {
		t.Helper()
		n, err := s.PeerServiceCount(peerTERC)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("an unknown peer holds %d", n)
	}
	steps := []struct {
		name    string
		changes []*cataloguev1.Change
		max     int
		want    int
	}{
		{"five new", []*cataloguev1.Change{peerUpsert(1, 1), peerUpsert(2, 2), peerUpsert(3, 3), peerUpsert(4, 4), peerUpsert(5, 5)}, 0, 5},
		{"an update is not a new entry", []*cataloguev1.Change{peerUpsert(6, 1)}, 0, 5},
		{"a delete, and a delete of nothing", []*cataloguev1.Change{peerDelete(7, 2), peerDelete(8, 99)}, 0, 4},
		{"the cap refuses the third new one", []*cataloguev1.Change{peerUpsert(9, 6), peerUpsert(10, 7), peerUpsert(11, 8)}, 6, 6},
	}
	for _, st := range steps {
		cursor := st.changes[len(st.changes)-1].GetRevision()
		if _, _, err := s.ApplyRemote(ctx, peerTERC, "feed", st.changes, cursor, st.max, noCheck); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != st.want {
			t.Fatalf("%s: count %d, want %d", st.name, n, st.want)
		}
		if c, feed, _ := s.PeerCursor(peerTERC); c != cursor || feed != "feed" {
			t.Fatalf("%s: cursor %d of %q", st.name, c, feed)
		}
	}

	// A record of an older version has no count: it is counted from the services bucket.
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		b, err := proto.Marshal(&structpb.Struct{Fields: map[string]*structpb.Value{
			"terc": structpb.NewStringValue(peerTERC), "feed_id": structpb.NewStringValue("feed"), "cursor": structpb.NewNumberValue(11),
		}})
		if err != nil {
			return err
		}
		return tx.Put(bucketPeers, []byte(peerTERC), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 6 {
		t.Fatalf("count of an old record: %d, want 6", n)
	}
	if _, _, err := s.ApplyRemote(ctx, peerTERC, "feed", []*cataloguev1.Change{peerUpsert(12, 9)}, 12, 0, noCheck); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 7 {
		t.Fatalf("count after an apply on an old record: %d, want 7", n)
	}

	removed, err := s.PurgeOrigin(ctx, peerTERC)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 7 || count() != 0 {
		t.Fatalf("purge removed %d, count %d", len(removed), count())
	}
}

// A file may hold entries of an origin before its peer is first synced (the instance's own TERC was changed, or
// the file was written by `catalogue generate`, whose services carry their gmina's TERC): the peer's count, and
// so its cap, starts from them, not from zero.
func TestPeerCapCountsEntriesHeldBeforeTheFirstSync(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	var held []*cataloguev1.Service
	var ids []string
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("0194c050-3006-7023-8000-%012d", 100+i)
		held = append(held, &cataloguev1.Service{Name: "services/" + id, DisplayName: "Usługa", OriginTerc: peerTERC})
		ids = append(ids, id)
	}
	// One of another origin, which the count must not take.
	held = append(held, &cataloguev1.Service{Name: "services/0194c050-3006-7023-8000-000000000200", DisplayName: "Usługa", OriginTerc: "1465011"})
	ids = append(ids, "0194c050-3006-7023-8000-000000000200")
	if _, _, err := s.ImportServices(ctx, held, ids); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PeerServiceCount(peerTERC); err != nil || n != 3 {
		t.Fatalf("before the first sync the peer holds %d (%v), want 3", n, err)
	}
	if n, err := s.PeerServiceCount("1465011"); err != nil || n != 1 {
		t.Fatalf("another origin without a record holds %d (%v), want 1", n, err)
	}
	// The count of a peer without a record is kept between reads; a bulk import of its origin renews it.
	more := &cataloguev1.Service{Name: "services/0194c050-3006-7023-8000-000000000104", DisplayName: "Usługa", OriginTerc: peerTERC}
	if _, _, err := s.ImportServices(ctx, []*cataloguev1.Service{more}, []string{"0194c050-3006-7023-8000-000000000104"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PeerServiceCount(peerTERC); err != nil || n != 4 {
		t.Fatalf("after one more was imported the peer holds %d (%v), want 4", n, err)
	}
	changes := []*cataloguev1.Change{peerUpsert(1, 1), peerUpsert(2, 2), peerUpsert(3, 3)}
	applied, rejected, err := s.ApplyRemote(ctx, peerTERC, "feed", changes, 3, 5, noCheck)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || len(rejected) != 2 {
		t.Fatalf("a cap of 5 over 4 held entries: %d applied, %d rejected; want 1 and 2", len(applied), len(rejected))
	}
	if n, err := s.PeerServiceCount(peerTERC); err != nil || n != 5 {
		t.Fatalf("after the first sync the peer holds %d (%v), want 5", n, err)
	}
}

// originOf reads the origin of a stored record without decoding it, and agrees with a full decode.
func TestOriginOfAStoredRecord(t *testing.T) {
	for _, svc := range []*cataloguev1.Service{
		{Name: "services/x", DisplayName: "Usługa", OriginTerc: peerTERC, Description: "opis"},
		{Name: "services/y", DisplayName: "Lokalna"},
		{OriginTerc: "3022053", Locations: []*cataloguev1.Location{{Name: "Siedziba", TerytCode: peerTERC}}},
	} {
		v, err := encode(42, svc)
		if err != nil {
			t.Fatal(err)
		}
		if sized, err := encodeSized(42, svc); err != nil || string(sized) != string(v) {
			t.Fatalf("encodeSized differs from the platform's record: %v", err)
		}
		if got := originOf(v); got != svc.GetOriginTerc() {
			t.Fatalf("origin %q, want %q", got, svc.GetOriginTerc())
		}
	}
	if got := originOf([]byte{1, 2, 3}); got != "" {
		t.Fatalf("origin of a short record: %q", got)
	}
}

// peerLogStore opens an empty store and returns it with a function that applies a page of peerTERC's changes.
func peerLogStore(t *testing.T) (*Store, func(...*cataloguev1.Change)) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, func(changes ...*cataloguev1.Change) {
		t.Helper()
		if _, _, err := s.ApplyRemote(context.Background(), peerTERC, "feed", changes, changes[len(changes)-1].GetRevision(), 0, noCheck); err != nil {
			t.Fatal(err)
		}
	}
}

// The peer log keeps the newest write of each federated entry, deletes as tombstones, in revision order, so a
// start from a snapshot at any revision finds every federated write after it.
func TestPeerLogKeepsTheNewestWriteOfEachEntry(t *testing.T) {
	ctx := context.Background()
	s, apply := peerLogStore(t)
	apply(peerUpsert(1, 1), peerUpsert(2, 2), peerUpsert(3, 3)) // local revisions 1, 2, 3
	apply(peerUpsert(4, 1), peerDelete(5, 2))                   // 4 replaces 1; 5 deletes 2
	type entry struct {
		rev  int64
		kind cataloguev1.ChangeType
		name string
	}
	list := func(after int64) []entry {
		t.Helper()
		changes, more, err := s.ListPeerChanges(after, 100)
		if err != nil || more {
			t.Fatal(err, more)
		}
		var out []entry
		for _, c := range changes {
			if c.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_UPSERT && c.GetService().GetName() != c.GetResourceName() {
				t.Fatalf("upsert without its service: %v", c)
			}
			out = append(out, entry{c.GetRevision(), c.GetType(), c.GetResourceName()})
		}
		return out
	}
	up, del := cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, cataloguev1.ChangeType_CHANGE_TYPE_DELETE
	want := []entry{{3, up, peerUpsert(0, 3).GetResourceName()}, {4, up, peerUpsert(0, 1).GetResourceName()}, {5, del, peerDelete(0, 2).GetResourceName()}}
	if got := list(0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("peer log %v, want %v", got, want)
	}
	if got := list(4); fmt.Sprint(got) != fmt.Sprint(want[2:]) {
		t.Fatalf("peer log after 4: %v", got)
	}
	if _, err := s.PurgeOrigin(ctx, peerTERC); err != nil {
		t.Fatal(err)
	}
	for _, e := range list(5) {
		if e.kind != del {
			t.Fatalf("after a purge: %v", e)
		}
	}
	if got := list(0); len(got) != 3 { // the tombstone at 5 and the purge's two
		t.Fatalf("after a purge: %v", got)
	}
}

// The peer log's tombstones go with the change log's compaction: a regional instance whose peers delete
// services kept a tombstone for each of them for good. A live entry stays (a start from 0 is a full listing), a
// tombstone above the compaction point stays, and a read from below the point is refused as the feed's is (it
// may have missed a delete), which makes a start from an older snapshot rebuild.
func TestPeerLogTombstonesGoWithCompaction(t *testing.T) {
	ctx := context.Background()
	s, apply := peerLogStore(t)
	apply(peerUpsert(1, 1), peerUpsert(2, 2), peerUpsert(3, 3), peerUpsert(4, 4)) // local revisions 1-4
	apply(peerDelete(5, 2), peerDelete(6, 3))                                     // tombstones at 5 and 6
	point := s.Backend().Revision()
	apply(peerDelete(7, 4)) // a tombstone above the point
	kinds := func(after int64) (string, error) {
		changes, _, err := s.ListPeerChanges(after, 100)
		var out []string
		for _, c := range changes {
			out = append(out, fmt.Sprintf("%d:%s", c.GetRevision(), c.GetType()))
		}
		return fmt.Sprint(out), err
	}
	if got, err := kinds(0); err != nil || got != "[1:CHANGE_TYPE_UPSERT 5:CHANGE_TYPE_DELETE 6:CHANGE_TYPE_DELETE 7:CHANGE_TYPE_DELETE]" {
		t.Fatalf("before compaction: %s, %v", got, err)
	}
	if _, err := s.Backend().CompactChanges(ctx, point); err != nil {
		t.Fatal(err)
	}
	if got, err := kinds(0); err != nil || got != "[1:CHANGE_TYPE_UPSERT 7:CHANGE_TYPE_DELETE]" {
		t.Fatalf("after compacting to %d: %s, %v; want the live entry and the tombstone above the point", point, got, err)
	}
	if _, err := kinds(point - 1); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("a read from below the compaction point: %v, want CHANGES_COMPACTED", err)
	}
	if got, err := kinds(point); err != nil || got != "[7:CHANGE_TYPE_DELETE]" {
		t.Fatalf("from the compaction point: %s, %v", got, err)
	}
}

// A purge (a peer whose feed id changed) of a peer of any size goes through on etcd with its default limits (128
// operations per transaction): each entry costs three keys, so the purge of 200 entries was one transaction of
// 601 keys, refused, and such a peer could never be synced again.
func TestPurgeOriginFitsEtcdLimits(t *testing.T) {
	c := etcdtest.StartWith(t, 1, etcdtest.Options{}) // etcd's own limits
	s, err := OpenOn(storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{Client: c.Client(t), Prefix: "/cus/catalogue/"}}, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 200
	batch := s.ImportBatchSize() // what the syncer stores per transaction
	for lo := 0; lo < n; lo += batch {
		var changes []*cataloguev1.Change
		for i := lo; i < min(lo+batch, n); i++ {
			changes = append(changes, peerUpsert(int64(i+1), i))
		}
		if _, _, err := s.ApplyRemote(ctx, peerTERC, "feed", changes, int64(min(lo+batch, n)), 0, noCheck); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.PurgeOrigin(ctx, peerTERC)
	if err != nil || len(removed) != n {
		t.Fatalf("purge: %d removed, %v; want %d", len(removed), err, n)
	}
	if held, err := s.PeerServiceCount(peerTERC); err != nil || held != 0 {
		t.Fatalf("after the purge the peer holds %d (%v)", held, err)
	}
	if cursor, feed, err := s.PeerCursor(peerTERC); err != nil || cursor != 0 || feed != "" {
		t.Fatalf("after the purge the cursor is %d of feed %q (%v); want it reset", cursor, feed, err)
	}
	changes, _, err := s.ListPeerChanges(0, 1000)
	if err != nil || len(changes) != n {
		t.Fatalf("peer log after the purge: %d entries, %v; want %d tombstones", len(changes), err, n)
	}
}

// A walk that fails is not kept as the counts: the next asks again.
func TestOriginCountsKeepNoFailedWalk(t *testing.T) {
	enginetest.BboltOnly(t, "the walk fails on a closed file; the etcd client of the tests is shared and stays open")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	held := &cataloguev1.Service{Name: "services/0194c050-3006-7023-8000-000000000101", DisplayName: "Usługa", OriginTerc: peerTERC}
	if _, _, err := s.ImportServices(ctx, []*cataloguev1.Service{held}, []string{"0194c050-3006-7023-8000-000000000101"}); err != nil {
		t.Fatal(err)
	}
	closed := s.be
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var o originCounts
	if _, err := o.count(closed, peerTERC); err == nil {
		t.Fatal("a walk over a closed store succeeded")
	}
	s = openTest(t, path)
	defer s.Close()
	if n, err := o.count(s.be, peerTERC); err != nil || n != 1 {
		t.Fatalf("after a failed walk: %d (%v), want 1", n, err)
	}
}
