package federation_test

import (
	"context"
	"maps"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// Federated entries are not in the change feed, so a start from a search index snapshot must catch them up
// from the peer log: here the peer creates and deletes after the snapshot, the follower stores it, then stops
// without a new snapshot (a crash); the restarted index holds exactly the peer's catalogue.
func TestRestartFromASnapshotCatchesUpFederatedEntries(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	rawDir := t.TempDir()
	raw := startInstance(t, rawicz, rawDir)
	for i := 0; i < 20; i++ {
		jar.create("Usługa przed migawką " + string(rune('a'+i)))
	}
	_, stop := raw.follow([]federation.Peer{peerOf(jar, raw, jar.addr)}, fast)
	eventually(t, "the first sync", func() bool { return raw.originCount(jarocin) == 20 })
	snapshot := filepath.Join(rawDir, "catalogue.search")
	if _, err := raw.srv.SaveIndex(snapshot); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		jar.create("Usługa po migawce " + string(rune('a'+i)))
	}
	list, _ := jar.client.ListServices(context.Background(), &cataloguev1.ListServicesRequest{PageSize: 3})
	for _, s := range list.GetServices() {
		if _, err := jar.client.DeleteService(jar.editor(), &cataloguev1.DeleteServiceRequest{Name: s.GetName()}); err != nil {
			t.Fatal(err)
		}
	}
	want := names(jar, jarocin)
	// The same set, not only as many: 20 + 2 of the new ones is also 22, before the rest and the deletes arrive.
	eventually(t, "the changes after the snapshot", func() bool { return maps.Equal(names(raw, jarocin), want) })
	stop()
	raw.stop()

	st, err := store.Open(filepath.Join(rawDir, "catalogue.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(st, rawicz, zap.NewNop())
	load, err := srv.OpenIndex(context.Background(), snapshot)
	if err != nil {
		t.Fatal(err)
	}
	restarted := &instance{t: t, srv: srv}
	mustEqualSets(t, names(restarted, jarocin), want)
	if !load.FromSnapshot {
		t.Fatalf("not a start from the snapshot: %+v", load)
	}
}
