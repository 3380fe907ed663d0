package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/etcdtest"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Two referral processes on one etcd prefix (--storage-engine=etcd), sharing their key files (as replicas share
// them from the secret store): the demo residents one loads are what the other lists.
func TestTwoReplicasOnEtcdServeOneRegister(t *testing.T) {
	c := etcdtest.StartOne(t)
	cfg := testConfig(t.TempDir())
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/referral/"
	var addrs []string
	for i := 0; i < 2; i++ {
		grpcAddr, _, stop := serve(t, cfg)
		defer stop()
		addrs = append(addrs, grpcAddr)
	}
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "koordynator", Roles: []auth.Role{auth.RoleCoordinator}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 20*time.Second)
	defer cancel()
	for i, addr := range addrs {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		list, err := referralv1.NewReferralServiceClient(conn).ListResidents(ctx, &referralv1.ListResidentsRequest{})
		if err != nil || len(list.GetResidents()) != 5 {
			t.Fatalf("replica %d: %d residents, %v; want the 5 of the demo loaded once", i, len(list.GetResidents()), err)
		}
	}
}
