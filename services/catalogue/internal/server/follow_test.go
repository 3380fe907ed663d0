package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// twoReplicas opens two catalogue stores on one etcd cluster, "other" (a replica that writes) and "mine" (the one
// whose server is tested, index loaded), and returns the revision mine's follower starts from.
func twoReplicas(t *testing.T) (other, mine *store.Store, srv *server.Server, from int64) {
	t.Helper()
	c := etcdtest.StartOne(t)
	engine := storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{Client: c.Client(t), Prefix: "/cus/catalogue/"}}
	open := func() *store.Store {
		st, err := store.OpenOn(engine, "", zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	other, mine = open(), open()
	srv = server.New(mine, rawicz, zap.NewNop())
	from = srv.FollowFrom()
	if _, err := srv.LoadIndex(); err != nil {
		t.Fatal(err)
	}
	return other, mine, srv, from
}

// On etcd the store's revision also counts the other replicas' commits, which only the follower brings into
// this replica's index: a snapshot written before the follower applied one must not claim it (the next start
// would skip it), and once the follower has it the snapshot may.
func TestSnapshotClaimsOnlyWhatTheFollowerApplied(t *testing.T) {
	other, mine, srv, from := twoReplicas(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := "0194c050-3022-7053-8000-00000000f201"
	svc := &cataloguev1.Service{DisplayName: "Kwiaciarnia społeczna", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		OriginTerc: rawicz, Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
	_, rev, _, err := other.CreateService(ctx, id, svc, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for mine.Backend().Revision() < rev { // this replica's store has seen the commit; its index has not
		if ctx.Err() != nil {
			t.Fatal("the other replica's commit never reached this one's store")
		}
		time.Sleep(time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "index.snapshot")
	meta, err := srv.SaveIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Revision >= rev {
		t.Fatalf("a snapshot before the follower ran claims revision %d; the other replica's write at %d is not in it", meta.Revision, rev)
	}

	g, gctx := errgroup.WithContext(ctx)
	fctx, stop := context.WithCancel(gctx)
	g.Go(func() error { return srv.Follow(fctx, from) })
	for {
		if _, ok := srv.Index().Get(id); ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the follower never indexed the other replica's write")
		}
		time.Sleep(time.Millisecond)
	}
	// The watermark moves once the follower's pass ends, just after the document is in.
	for {
		meta, err = srv.SaveIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Revision >= rev || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if meta.Revision < rev {
		t.Fatalf("after the follower applied revision %d the snapshot still claims only %d", rev, meta.Revision)
	}
}

// A replica whose change feed is quiet (an aggregator that only federates, a gmina between edits) still sees
// the store's revision move (checkpoints, the other replicas' federated writes), and retention compacts the
// feed up to a revision from days ago. The follower had read everything up to the revision it last passed, so
// the compaction must not make it think it missed changes: before, it kept the revision of the last change it
// applied as its position, got CHANGES_COMPACTED below the point and stopped, and the replica restarted to
// rebuild its whole index.
func TestFollowerOnAQuietFeedOutlivesCompaction(t *testing.T) {
	other, _, srv, from := twoReplicas(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	fctx, stop := context.WithCancel(gctx)
	done := make(chan struct{})
	g.Go(func() error { defer close(done); return srv.Follow(fctx, from) })

	create := func(id, name string) int64 {
		t.Helper()
		svc := &cataloguev1.Service{DisplayName: name, Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
			OriginTerc: rawicz, Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
		_, rev, _, err := other.CreateService(ctx, id, svc, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	indexed := func(id string) {
		t.Helper()
		for {
			if _, ok := srv.Index().Get(id); ok {
				return
			}
			select {
			case <-done:
				t.Fatalf("the follower stopped before it indexed %s: %v", id, g.Wait())
			case <-ctx.Done():
				t.Fatalf("the follower never indexed %s", id)
			default:
			}
			time.Sleep(time.Millisecond)
		}
	}
	first := "0194c050-3022-7053-8000-00000000f301"
	create(first, "Kwiaciarnia społeczna")
	indexed(first)
	// Writes that are not changes of the feed: entries federated from a peer (they go to the peer log).
	const peer = "3001011"
	var changes []*cataloguev1.Change
	for i := range 3 {
		id := fmt.Sprintf("0194c050-3001-7011-8000-00000000f30%d", i)
		changes = append(changes, &cataloguev1.Change{Revision: int64(i + 1), ResourceName: domain.ServicePrefix + id,
			Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, Resource: &cataloguev1.Change_Service{Service: &cataloguev1.Service{
				Name: domain.ServicePrefix + id, DisplayName: "Usługa sąsiedniej gminy", OriginTerc: peer,
				Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}, Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}}})
	}
	if _, _, err := other.ApplyRemote(ctx, peer, "peer-feed", changes, 3, 0, func(*cataloguev1.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	quiet := other.Backend().Revision()
	path := filepath.Join(t.TempDir(), "index.snapshot")
	for { // the follower has passed the quiet revisions
		meta, err := srv.SaveIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Revision >= quiet {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the follower never passed revision %d", quiet)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := other.Backend().CompactChanges(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	second := "0194c050-3022-7053-8000-00000000f302"
	create(second, "Pralnia społeczna")
	indexed(second)
	stop()
	if err := g.Wait(); err != nil {
		t.Fatalf("the follower stopped: %v", err)
	}
}
