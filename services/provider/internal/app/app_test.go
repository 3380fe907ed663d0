package app

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/demo"
)

func testConfig(dir, catalogueAddr string) Config {
	var cfg Config
	cfg.Listen, cfg.AdminListen, cfg.DataDir, cfg.DemoData = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "data"), true
	cfg.CatalogueAddr, cfg.CallTimeout = catalogueAddr, 2*time.Second
	cfg.LogLevel, cfg.LogFormat, cfg.ShutdownGrace, cfg.MaxRecvBytes = "info", "json", time.Second, 5<<20
	cfg.Security.DevMode, cfg.Security.DevKeysDir, cfg.Security.ClockSkew, cfg.Security.OIDCAudience = true, filepath.Join(dir, "dev"), 30*time.Second, "cus"
	cfg.Security.TrustedProxies = "127.0.0.0/8"
	return cfg
}

// serve runs the process until the returned stop is called.
func serve(t *testing.T, cfg Config) (grpcAddr, adminAddr string, stop func()) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zap.NewNop(), func(g, a string) { ready <- [2]string{g, a} }) }()
	select {
	case addrs := <-ready:
		return addrs[0], addrs[1], func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	return "", "", nil
}

func TestRunServesTheDemoRegistry(t *testing.T) {
	dir := t.TempDir()
	catAddr, _ := serveDemoCatalogue(t)
	cfg := testConfig(dir, catAddr)
	grpcAddr, adminAddr, stop := serve(t, cfg)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: providerv1.ProviderService_ServiceDesc.ServiceName})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}
	client := providerv1.NewProviderServiceClient(conn)
	list, err := client.ListProviders(ctx, &providerv1.ListProvidersRequest{})
	if err != nil || list.GetTotalSize() != 7 {
		t.Fatalf("demo providers: %v %v", list.GetTotalSize(), err)
	}
	coop, err := client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: "providers/" + demo.CooperativeProviderID})
	if err != nil || coop.GetKind() != providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE {
		t.Fatalf("the cooperative: %v %v", coop, err)
	}
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "koordynator", Roles: []auth.Role{auth.RoleCoordinator}})
	if err != nil {
		t.Fatal(err)
	}
	cctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	av, err := client.ListAvailability(cctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", Service: "services/0194c050-3022-7053-8000-000000000018"})
	if err != nil || av.GetTotalSize() != 1 || av.GetAvailabilities()[0].GetCapacity().GetAmount() != 1500 {
		t.Fatalf("bistro availability: %v %v", av, err)
	}
	// The backup needs an admin token: a coordinator's is refused.
	backup := func(tok string) (*http.Response, int64) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/backup", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, n
	}
	if resp, _ := backup(tok); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("backup with a coordinator token: %s", resp.Status)
	}
	admin, err := auth.Mint(key, auth.TokenRequest{Subject: "admin", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	resp, n := backup(admin)
	if resp.StatusCode != http.StatusOK || n == 0 || resp.Header.Get("X-Revision") == "" {
		t.Fatalf("backup: %s, %d bytes", resp.Status, n)
	}
	stop()

	// A restart with --demo-data on a registry that has data loads nothing again.
	grpcAddr, _, stop = serve(t, cfg)
	defer stop()
	conn2, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	list, err = providerv1.NewProviderServiceClient(conn2).ListProviders(ctx, &providerv1.ListProvidersRequest{})
	if err != nil || list.GetTotalSize() != 7 {
		t.Fatalf("after restart: %v %v", list.GetTotalSize(), err)
	}
}

func TestConfigIsValidatedByName(t *testing.T) {
	cfg := testConfig(t.TempDir(), "127.0.0.1:7001")
	cfg.Listen, cfg.LogFormat, cfg.MaxRecvBytes = "nowhere", "xml", 1
	err := cfg.Validate()
	for _, want := range []string{"--listen (CUS_LISTEN)", "--log-format (CUS_LOG_FORMAT)", "--max-recv-bytes (CUS_MAX_RECV_BYTES)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v does not name %s", err, want)
		}
	}
}
