package app

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/demo"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

func testConfig(dir string) Config {
	var cfg Config
	cfg.Listen, cfg.AdminListen, cfg.DataDir, cfg.DemoData = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "data"), true
	// Nothing listens there: the demo needs neither service, and these tests make no referral.
	cfg.CatalogueAddr, cfg.ProviderAddr = "127.0.0.1:1", "127.0.0.1:1"
	cfg.LogLevel, cfg.LogFormat, cfg.ShutdownGrace, cfg.CallTimeout = "info", "json", time.Second, time.Second
	cfg.Security.DevMode, cfg.Security.DevKeysDir, cfg.Security.ClockSkew, cfg.Security.OIDCAudience = true, filepath.Join(dir, "dev"), 30*time.Second, "cus"
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
		var once sync.Once
		return addrs[0], addrs[1], func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("run: %v", err)
				}
			})
		}
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	return "", "", nil
}

func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	grpcAddr, adminAddr, stop := serve(t, cfg)
	defer stop()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: referralv1.ReferralService_ServiceDesc.ServiceName})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
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
	client := referralv1.NewReferralServiceClient(conn)
	list, err := client.ListResidents(cctx, &referralv1.ListResidentsRequest{})
	if err != nil || len(list.GetResidents()) != 5 {
		t.Fatalf("demo residents over gRPC: %d %v", len(list.GetResidents()), err)
	}

	// Writers keep committing while the backup is taken.
	var written atomic.Int64
	stopWriters := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				_, err := client.CreateResident(cctx, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{
					GivenName: "Jan", FamilyName: fmt.Sprintf("Zapis-%d-%d", w, i), BirthDate: "1970-01-01", HouseholdSize: 1}})
				if err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for written.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(dir, "referral-backup.db")
	var out bytes.Buffer
	// Without a token the command says what it needs; with an admin token (CUS_TOKEN_FILE) it takes the copy.
	if err := BackupCommand(ctx, []string{"--admin-url", "http://" + adminAddr, "--out", backup}, func(string) string { return "" }, &out); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("backup without a token: %v", err)
	}
	adminTok, err := auth.Mint(key, auth.TokenRequest{Subject: "admin", Roles: []auth.Role{auth.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "admin.token")
	if err := os.WriteFile(tokenFile, []byte(adminTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "CUS_TOKEN_FILE" {
			return tokenFile
		}
		return ""
	}
	if err := BackupCommand(ctx, []string{"--admin-url", "http://" + adminAddr, "--out", backup}, env, &out); err != nil {
		t.Fatal(err)
	}
	close(stopWriters)
	wg.Wait()
	if !strings.Contains(out.String(), "backup of revision") {
		t.Fatalf("backup output: %q", out.String())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	// The backup's residents' records are encrypted: no PESEL, name or address of theirs in it.
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	noNeedles(t, "the backup", raw)
	stop()

	enginetest.BboltOnly(t, "restore writes a bbolt data file")
	// Restore into a fresh directory; without the key the command warns.
	restored := filepath.Join(dir, "restored")
	out.Reset()
	if err := RestoreCommand([]string{"--from", backup, "--data-dir", restored}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "warning: no PESEL index key") {
		t.Fatalf("restore output: %q", out.String())
	}
	peselKey, err := os.ReadFile(filepath.Join(cfg.DataDir, "pesel.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, _, err := store.LoadKeyRing(cfg.DataKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(restored, "referral.db"), peselKey, nil, store.WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	residents, _, err := st.ListResidents("", 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(residents) < 5+20 || int64(len(residents)) > 5+written.Load() {
		t.Fatalf("restored %d residents; 5 demo + %d written in all, at least 20 before the backup", len(residents), written.Load())
	}
	p, err := demo.PESEL("410317", 4082)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := st.LookupPESEL(p); err != nil || id == "" {
		t.Fatalf("PESEL lookup in the restored file: %q %v", id, err)
	}
	if n, broken, err := st.VerifyAudit(); err != nil || broken != 0 || n == 0 {
		t.Fatalf("restored audit chain: %d entries, broken %d, %v", n, broken, err)
	}
	referrals := 0
	_ = st.ForEachReferral(func(*referralv1.Referral) error { referrals++; return nil })
	if referrals != 6 {
		t.Fatalf("restored referrals %d", referrals)
	}

	// Not a data file: refused, nothing replaced.
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RestoreCommand([]string{"--from", junk, "--data-dir", filepath.Join(dir, "other")}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("a junk file was restored")
	}
}

func TestRestartWithDemoDataLoadsNothingAgain(t *testing.T) {
	cfg := testConfig(t.TempDir())
	_, _, stop := serve(t, cfg)
	stop()
	_, _, stop = serve(t, cfg)
	stop()
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "pesel.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, _, err := store.LoadKeyRing(cfg.DataKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.DataFile(), key, nil, store.WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	residents, _, err := st.ListResidents("", 100)
	if err != nil || len(residents) != 5 {
		t.Fatalf("after two starts: %d residents, %v", len(residents), err)
	}
}

// --service-token-file: the service presents that token (re-read when the file changes); without it the
// caller's token is forwarded.
func TestServiceTokenFile(t *testing.T) {
	cfg := testConfig(t.TempDir())
	if tokens, err := serviceToken(cfg); err != nil || tokens != nil {
		t.Fatalf("without a file the caller's token is forwarded: %v", err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.ServiceTokenFile = file
	tokens, err := serviceToken(cfg)
	if err != nil || tokens() != "abc" {
		t.Fatalf("token file: %v", err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(file, []byte("def"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	if got := tokens(); got != "def" {
		t.Fatalf("after rotation: %q", got)
	}
	cfg.ServiceTokenFile = filepath.Join(t.TempDir(), "missing")
	if _, err := serviceToken(cfg); err == nil {
		t.Fatal("a missing token file is accepted")
	}
}
