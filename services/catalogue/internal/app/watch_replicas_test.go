package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/resource/resourcetest"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// startStoppable runs a catalogue with cfg and returns its gRPC address and a graceful stop (its drain) that
// returns once Run has.
func startStoppable(t *testing.T, cfg Config) (string, func()) {
	t.Helper()
	addr, done, cancel := launch(t, cfg)
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after the stop: %v", err)
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// issue 11: a replica that stops hands its watchers over without losing an event. Two catalogue replicas on one
// etcd cluster; a WatchChanges through one round-robin connection to both while services are created and
// renamed through the other; the one serving the watch stops (a 300 ms drain). The watcher resumes from its
// last revision on the remaining replica and has every change of the feed exactly once, in order, and the
// renamed services' older versions only before their newer ones (resourcetest.CheckHandOver).
func TestReplicaWatchHandOver(t *testing.T) {
	c := etcdtest.StartOne(t)
	keys := filepath.Join(t.TempDir(), "dev")
	var h resourcetest.HandOver
	var cfg Config
	for i := range 2 {
		cfg = failureTestConfig(t.TempDir())
		cfg.Security.DevKeysDir, cfg.Security.DrainPeriod = keys, 300*time.Millisecond
		cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
		h.Addrs[i], h.Stop[i] = startStoppable(t, cfg)
	}
	ctx, cancel := context.WithTimeout(adminToken(t, cfg), 2*time.Minute)
	defer cancel()
	h.Ctx = ctx
	var last *cataloguev1.Service
	h.Write = func(ctx context.Context, conn *grpc.ClientConn, i int) error {
		cl := cataloguev1.NewCatalogueServiceClient(conn)
		if i%3 == 2 && last != nil { // every third write renames the service created before it
			s, err := cl.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{
				Service:    &cataloguev1.Service{Name: last.GetName(), DisplayName: last.GetDisplayName() + " (zmiana)"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			last = s
			return err
		}
		s, err := cl.CreateService(ctx, newService("Punkt "+token("zh", i)))
		last = s
		return err
	}
	h.Watch = func(ctx context.Context, conn *grpc.ClientConn, after int64) (context.Context, func() (resourcetest.Change, error), error) {
		st, err := cataloguev1.NewCatalogueServiceClient(conn).WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: after})
		if err != nil {
			return nil, nil, err
		}
		return st.Context(), func() (resourcetest.Change, error) {
			m, err := st.Recv()
			return resourcetest.Change{Rev: m.GetChange().GetRevision(), Name: m.GetChange().GetResourceName()}, err
		}, nil
	}
	h.Feed = func(ctx context.Context, conn *grpc.ClientConn, after int64) ([]resourcetest.Change, error) {
		var revs []resourcetest.Change
		for {
			page, err := cataloguev1.NewCatalogueServiceClient(conn).ListChanges(ctx, &cataloguev1.ListChangesRequest{AfterRevision: after, PageSize: 1000})
			if err != nil {
				return nil, err
			}
			for _, ch := range page.GetChanges() {
				revs = append(revs, resourcetest.Change{Rev: ch.GetRevision(), Name: ch.GetResourceName()})
			}
			if !page.GetHasMore() {
				return revs, nil
			}
			after = page.GetNextAfterRevision()
		}
	}
	resourcetest.CheckHandOver(t, h)
}
