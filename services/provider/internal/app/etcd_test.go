package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cus-suite/cus/platform/etcdtest"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// Two processes on one etcd prefix (--storage-engine=etcd) serve one registry: the demo data one loads is
// what the other lists.
func TestTwoReplicasOnEtcdServeOneRegistry(t *testing.T) {
	c := etcdtest.StartOne(t)
	catAddr, _ := serveDemoCatalogue(t)
	list := func(addr string) int32 {
		t.Helper()
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := providerv1.NewProviderServiceClient(conn).ListProviders(ctx, &providerv1.ListProvidersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetTotalSize()
	}
	var addrs []string
	for i := 0; i < 2; i++ {
		cfg := testConfig(t.TempDir(), catAddr)
		cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/provider/"
		grpcAddr, _, stop := serve(t, cfg)
		defer stop()
		addrs = append(addrs, grpcAddr)
	}
	for i, addr := range addrs {
		if n := list(addr); n != 7 {
			t.Fatalf("replica %d lists %d providers, want the 7 of the demo registry loaded once", i, n)
		}
	}
}
