package app

import (
	"bytes"
	"context"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// auditStore makes a data file (with its keys) whose audit log holds 10 entries of 4 and 3 years ago and 5
// of today, and returns its data directory.
func auditStore(t *testing.T) string {
	t.Helper()
	cfg := testConfig(t.TempDir())
	st, err := openStore(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	for _, at := range []time.Time{now.AddDate(-4, 0, 0), now.AddDate(-3, 0, 0), now} {
		for range 5 {
			e := &referralv1.AuditEntry{Time: timestamppb.New(at), Subject: "u-admin", Role: "admin", Action: "ListResidents", Resource: "residents",
				Decision: referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, Reason: "read"}
			if err := st.Audit(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cfg.DataDir
}

func runAudit(args ...string) (string, error) {
	var out bytes.Buffer
	err := AuditCommand(context.Background(), args, func(string) string { return "" }, &out)
	return out.String(), err
}

// `referral audit archive` moves the entries past their retention to archives, and `referral audit verify`
// verifies archives and live data as one chain; a tampered or missing archive makes it fail.
func TestAuditArchiveAndVerifyCommands(t *testing.T) {
	enginetest.BboltOnly(t, "the offline audit commands read the data file in --data-dir")
	dataDir := auditStore(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "audit-1.ndjson"), filepath.Join(dir, "audit-2.ndjson")
	before1 := time.Now().UTC().AddDate(-3, -6, 0).Format(time.DateOnly)
	if out, err := runAudit("archive", "--data-dir", dataDir, "--before", before1, "--out", first); err != nil || !strings.Contains(out, "archived 5 audit entries (sequences 1 to 5)") {
		t.Fatalf("first archive: %q %v", out, err)
	}
	if out, err := runAudit("archive", "--data-dir", dataDir, "--before", time.Now().UTC().Format(time.RFC3339), "--out", second); err != nil || !strings.Contains(out, "(sequences 6 to 10)") {
		t.Fatalf("second archive: %q %v", out, err)
	}
	// Today's entries are never archived.
	if out, err := runAudit("archive", "--data-dir", dataDir, "--before", time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "--out", filepath.Join(dir, "audit-3.ndjson")); err != nil || !strings.Contains(out, "nothing archived") {
		t.Fatalf("third archive: %q %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit-3.ndjson")); err == nil {
		t.Fatal("an empty archive was written")
	}
	if out, err := runAudit("verify", "--data-dir", dataDir, "--archives", second+","+first); err != nil || !strings.Contains(out, "ok: 10 archived entries in 2 archives") || !strings.Contains(out, "5 live entries") {
		t.Fatalf("verify with archives: %q %v", out, err)
	}
	if out, err := runAudit("verify", "--data-dir", dataDir); err != nil || !strings.Contains(out, "ok: from the stored base (sequence 10") {
		t.Fatalf("verify live only: %q %v", out, err)
	}
	if _, err := runAudit("verify", "--data-dir", dataDir, "--archives", second); err == nil || !strings.Contains(err.Error(), "sequence 1 (archive missing)") {
		t.Fatalf("verify without the first archive: %v", err)
	}
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(b, []byte(`"u-admin"`), []byte(`"u-other"`), 1)
	if err := os.WriteFile(first, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runAudit("verify", "--data-dir", dataDir, "--archives", first, "--archives", second); err == nil || !strings.Contains(err.Error(), "sequence 1 (hash) in archive "+first) {
		t.Fatalf("verify a tampered archive: %v", err)
	}
}

func TestAuditRetentionBelowTheLegalMinimumIsRefused(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.AuditRetention = 365 * 24 * time.Hour
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "--audit-retention (CUS_AUDIT_RETENTION)") || !strings.Contains(err.Error(), "legal minimum of 2 years") {
		t.Fatalf("serve with a 1-year retention: %v", err)
	}
	cfg.AuditRetention = 17520 * time.Hour
	if err := cfg.Validate(); err != nil {
		t.Fatalf("2 years: %v", err)
	}
	dataDir := auditStore(t)
	_, err = runAudit("archive", "--data-dir", dataDir, "--before", "2026-01-01", "--out", filepath.Join(t.TempDir(), "a.ndjson"), "--audit-retention", "8760h")
	if err == nil || !strings.Contains(err.Error(), "legal minimum of 2 years") {
		t.Fatalf("archive with a 1-year retention: %v", err)
	}
}
