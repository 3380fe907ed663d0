package app

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// The workers (release retries, refusal summaries, audit anchors) run joined to the process: at shutdown the
// last summary and anchor are written after the last call and before the store closes.
func TestShutdownWritesTheLastSummaryAndAnchorBeforeTheStoreCloses(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.AuditAnchorFile = filepath.Join(dir, "anchors", "referral-audit.anchors")
	cfg.AuditInterval = time.Hour // only the shutdown writes
	if err := os.MkdirAll(filepath.Dir(cfg.AuditAnchorFile), 0o700); err != nil {
		t.Fatal(err)
	}
	grpcAddr, _, stop := serve(t, cfg)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := referralv1.NewReferralServiceClient(conn)
	for range 5 {
		if _, err := client.ListResidents(ctx, &referralv1.ListResidentsRequest{}); err == nil {
			t.Fatal("an anonymous list was answered")
		}
	}
	stop()

	b, err := os.ReadFile(cfg.AuditAnchorFile)
	if err != nil {
		t.Fatalf("no anchor written at shutdown: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(fields) != 3 {
		t.Fatalf("anchor line %q", lines[len(lines)-1])
	}
	seq, _ := strconv.ParseInt(fields[1], 10, 64)
	ring, _, err := store.LoadKeyRing(cfg.DataKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.DataFile(), mustKey(t, cfg), nil, store.WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	head, hash, err := st.AuditHead()
	if err != nil || head != seq || hash != fields[2] {
		t.Fatalf("anchor %v, head %d %s %v", fields, head, hash, err)
	}
	entries, _, _, err := st.ListAudit(0, 100000, "")
	if err != nil {
		t.Fatal(err)
	}
	var summarised int64
	for _, e := range entries {
		if e.GetSubject() == "anonymous" && e.GetAction() == "ListResidents" {
			summarised += e.GetCount()
		}
	}
	if summarised != 5 {
		t.Fatalf("the summary written at shutdown counts %d anonymous refusals, want 5", summarised)
	}
}

func mustKey(t *testing.T, cfg Config) []byte {
	t.Helper()
	k, _, err := LoadPESELKey(filepath.Join(cfg.DataDir, "pesel.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
