package app

import (
	"context"
	"errors"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

func failureTestConfig(dir string) Config {
	var cfg Config
	cfg.Listen, cfg.AdminListen, cfg.DataDir, cfg.DemoData = "127.0.0.1:0", "", filepath.Join(dir, "data"), true
	cfg.InstanceTERC, cfg.InstanceName = "3022053", "CUS Rawicz"
	cfg.LogLevel, cfg.LogFormat, cfg.ShutdownGrace, cfg.MaxRecvBytes = "info", "json", time.Second, 4<<20
	cfg.Security.DevMode, cfg.Security.DevKeysDir, cfg.Security.ClockSkew, cfg.Security.OIDCAudience = true, filepath.Join(dir, "dev"), 30*time.Second, "cus"
	cfg.Security.TrustedProxies = "127.0.0.0/8"
	return cfg
}

// launch runs the catalogue with cfg and returns its gRPC address once it serves, the channel Run's result
// arrives on, and the cancel of Run's context (its stop).
func launch(t *testing.T, cfg Config) (string, <-chan error, context.CancelFunc) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- Run(ctx, cfg, zap.NewNop(), func(g, _ string) { ready <- g })
	}()
	// Whatever the test does with its stop, Run has returned (its last snapshot written, its store closed)
	// before the test's temporary directories are removed: cleanups run in reverse, and cfg's came first.
	t.Cleanup(func() { cancel(); <-finished })
	select {
	case addr := <-ready:
		return addr, done, cancel
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("not ready")
	}
	return "", nil, nil
}

// start runs the catalogue and returns a client, the channel Run's result arrives on, and a stop.
func start(t *testing.T, cfg Config) (cataloguev1.CatalogueServiceClient, <-chan error, context.CancelFunc) {
	t.Helper()
	addr, done, cancel := launch(t, cfg)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return cataloguev1.NewCatalogueServiceClient(conn), done, cancel
}

// A commit whose outcome is unknown (reported failed after bbolt published it, etcd-io/bbolt#233) ends Run
// with an error, so the process exits for its supervisor to restart it; the restart reads the file again, and
// the search index, rebuilt from it, agrees with the file.
func TestRunEndsWhenACommitFails(t *testing.T) {
	cfg := failureTestConfig(t.TempDir())
	// The maintenance worker's first pass commits (a checkpoint) just as the catalogue serves: it must not be
	// the commit that takes the injected fault instead of the delete.
	cfg.maintain = func(ctx context.Context) error { <-ctx.Done(); return nil }
	client, done, stop := start(t, cfg)
	defer stop()
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "admin", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 20*time.Second)
	defer cancel()
	list, err := client.ListServices(ctx, &cataloguev1.ListServicesRequest{})
	if err != nil || len(list.GetServices()) < 2 {
		t.Fatalf("demo services: %v %v", list, err)
	}
	victim, other := list.GetServices()[0].GetName(), list.GetServices()[1].GetName()
	before, err := client.SearchServices(ctx, &cataloguev1.SearchServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}

	enginetest.BboltOnly(t, "the fault fails a bbolt commit's fsync; on etcd a lost reply is resolved, not failed")
	remove := storage.InjectFault(cfg.DataFile(), storage.Fault{Stage: storage.FaultAfterCommit})
	defer remove()
	_, err = client.DeleteService(ctx, &cataloguev1.DeleteServiceRequest{Name: victim})
	if st := status.Convert(err); st.Code() != codes.Unavailable || reason(st) != "STORAGE_FAILED" {
		t.Fatalf("delete with a failing commit: %v, want UNAVAILABLE STORAGE_FAILED", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, storage.ErrFailed) {
			t.Fatalf("run ended with %v, want STORAGE_FAILED", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not end after the failed commit")
	}

	// The restart reads the file: the delete was published, so the service is gone from the file and from the
	// index rebuilt from it, and writes go on.
	client, done, stop = start(t, cfg)
	defer stop()
	if _, err := client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: victim}); status.Code(err) != codes.NotFound {
		t.Fatalf("published delete after restart: %v, want NOT_FOUND", err)
	}
	res, err := client.SearchServices(ctx, &cataloguev1.SearchServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotalSize() != before.GetTotalSize()-1 {
		t.Fatalf("search finds %d services after restart, %d before the delete", res.GetTotalSize(), before.GetTotalSize())
	}
	for _, s := range res.GetResults() {
		if s.GetService().GetName() == victim {
			t.Fatal("the search index lists a service the file no longer has")
		}
	}
	if _, err := client.DeleteService(ctx, &cataloguev1.DeleteServiceRequest{Name: other}); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run after restart: %v", err)
	}
}

func reason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
