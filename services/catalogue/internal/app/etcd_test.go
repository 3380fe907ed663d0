package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/etcdtest"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Two catalogue processes on one etcd prefix (--storage-engine=etcd): the demo catalogue one loads is what the
// other lists and searches (its index built from the same store).
func TestTwoReplicasOnEtcdServeOneCatalogue(t *testing.T) {
	c := etcdtest.StartOne(t)
	var clients []cataloguev1.CatalogueServiceClient
	for i := 0; i < 2; i++ {
		cfg := failureTestConfig(t.TempDir())
		cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
		client, _, stop := start(t, cfg)
		defer stop()
		clients = append(clients, client)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sizes []int32
	for _, cl := range clients {
		resp, err := cl.ListServices(ctx, &cataloguev1.ListServicesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, resp.GetTotalSize())
	}
	if sizes[0] == 0 || sizes[0] != sizes[1] {
		t.Fatalf("the replicas list %v services; want the same demo catalogue on both", sizes)
	}
}
