package app

import (
	"context"
	"errors"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// TestFailedDataFileStopsServing: when an erasure's compaction cannot make its swap durable (injected), the
// store refuses writes and the service stops reporting SERVING and exits with the cause, for its supervisor to
// restart it (today a failed reopen left a dead store behind a SERVING health check).
func TestFailedDataFileStopsServing(t *testing.T) {
	enginetest.BboltOnly(t, "fails the swap of a bbolt compaction")
	defer func(f func(*store.Store)) { storeOpened = f }(storeOpened)
	storeOpened = func(st *store.Store) {
		st.SetCompactHook(func(s storage.CompactStage) error {
			if s == storage.StageRenamed {
				return errors.New("injected: directory sync failed")
			}
			return nil
		})
	}
	dir := t.TempDir()
	cfg := testConfig(dir)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zap.NewNop(), func(g, a string) { ready <- [2]string{g, a} }) }()
	var addr string
	select {
	case a := <-ready:
		addr = a[0]
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hw, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: referralv1.ReferralService_ServiceDesc.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := hw.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before: %v %v", m, err)
	}
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "dyrektor", Roles: []auth.Role{auth.RoleDirector}})
	if err != nil {
		t.Fatal(err)
	}
	dctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	client := referralv1.NewReferralServiceClient(conn)
	list, err := client.ListResidents(dctx, &referralv1.ListResidentsRequest{})
	if err != nil || len(list.GetResidents()) == 0 {
		t.Fatalf("residents: %v %v", list, err)
	}
	if _, err := client.EraseResident(dctx, &referralv1.EraseResidentRequest{Name: list.GetResidents()[0].GetName(), Reason: "RODO art. 17"}); err == nil {
		t.Fatal("erasure with a failed swap reported success")
	}
	if m, err := hw.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after the failure: %v %v", m, err)
	}
	if err := <-done; !errors.Is(err, storage.ErrFailed) {
		t.Fatalf("run ended with %v, want the storage failure", err)
	}
}
