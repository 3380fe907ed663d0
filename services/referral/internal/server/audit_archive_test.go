package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// VerifyAuditChain stays ok after the oldest entries were archived (the live chain is verified from its
// stored base, and says so), anchors older than the base do not fail it, and a change in the live chain after
// the base is still detected.
func TestVerifyAuditChainAfterArchiving(t *testing.T) {
	anchors := filepath.Join(t.TempDir(), "audit.anchors")
	h := start(t, func(o *server.Options) { o.AuditAnchorFile = anchors })
	ctx := context.Background()
	old := time.Now().UTC().AddDate(-3, 0, 0)
	for i := range 20 {
		e := &referralv1.AuditEntry{Time: timestamppb.New(old.Add(time.Duration(i) * time.Minute)), Subject: "u-coordinator", Role: "coordinator",
			Action: "GetResident", Resource: "residents/0194c050-aaaa-7000-8000-000000000001", Decision: referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, Reason: "read"}
		if err := h.store.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	h.server.FlushAudit(ctx) // anchors sequence 20, which the archive will move out
	res, _, _ := h.seed(t, pesel(t, "710203", 2233), 0, 1)
	if _, err := h.client.GetResident(h.coord(t), &referralv1.GetResidentRequest{Name: res}); err != nil {
		t.Fatal(err)
	}
	h.server.FlushAudit(ctx)
	admin := h.as(t, auth.RoleAdmin, "")
	before, err := h.client.VerifyAuditChain(admin, &referralv1.VerifyAuditChainRequest{})
	if err != nil || !before.GetOk() || before.GetBaseSequence() != 0 {
		t.Fatalf("before archiving: %v %v", before, err)
	}
	out := filepath.Join(t.TempDir(), "audit-1.ndjson")
	// Online: the archive transaction runs beside the service's writes.
	arch, err := h.store.ArchiveAudit(ctx, store.ArchiveOptions{Out: out, Before: time.Now(), Retention: store.DefaultAuditRetention})
	if err != nil || arch.Entries != 20 || arch.Last != 20 {
		t.Fatalf("archive: %+v %v", arch, err)
	}
	v, err := h.client.VerifyAuditChain(admin, &referralv1.VerifyAuditChainRequest{})
	if err != nil || !v.GetOk() || v.GetBaseSequence() != 20 || v.GetEntries() == 0 || v.GetEntries() >= before.GetEntries() {
		t.Fatalf("after archiving: %v %v (before: %v)", v, err, before)
	}
	list, err := h.client.ListAuditEntries(admin, &referralv1.ListAuditEntriesRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetEntries()) == 0 || list.GetEntries()[0].GetSequence() != 21 {
		t.Fatalf("the archived entries are still listed: first %v", list.GetEntries()[0].GetSequence())
	}
	// New entries chain on after the base.
	if _, err := h.client.GetResident(h.coord(t), &referralv1.GetResidentRequest{Name: res}); err != nil {
		t.Fatal(err)
	}
	h.server.FlushAudit(ctx)
	if v, err := h.client.VerifyAuditChain(admin, &referralv1.VerifyAuditChainRequest{}); err != nil || !v.GetOk() {
		t.Fatalf("after a new entry: %v %v", v, err)
	}
	b, _ := os.ReadFile(anchors)
	if fs := strings.Fields(string(b)); len(fs) < 3 || fs[1] != "20" {
		t.Fatalf("the first anchor is not the archived head 20: %q", b)
	}
	// Someone rewrites the live chain after the base and recomputes it with its head: the anchors still catch it.
	h.stop()
	enginetest.BboltOnly(t, "tampers with the data file through bbolt")
	db, err := bolt.Open(h.store.Path(), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		rewriteLiveChain(t, tx, func(seq int64, e *referralv1.AuditEntry) {
			if seq == 22 {
				e.Subject = "someone-else"
			}
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := store.Open(h.store.Path(), testKey, nil, store.WithDataKeys(testRing))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(st, nil, nil, zap.NewNop(), server.Options{AuditAnchorFile: anchors})
	v, err = srv.VerifyAuditChain(ctx, &referralv1.VerifyAuditChainRequest{})
	if err != nil || v.GetOk() || v.GetFirstBrokenSequence() == 0 || v.GetBaseSequence() != 20 {
		t.Fatalf("a rewritten live chain after the base: %v %v", v, err)
	}
}

// rewriteLiveChain recomputes every live entry's hashes from the stored base on, and the head, as someone
// with write access to the data file would after changing an entry.
func rewriteLiveChain(t *testing.T, tx *bolt.Tx, change func(seq int64, e *referralv1.AuditEntry)) {
	t.Helper()
	b := tx.Bucket([]byte("audit"))
	var prev []byte
	if v := tx.Bucket([]byte("audit_head")).Get([]byte("base")); len(v) == 40 {
		prev = append([]byte(nil), v[8:]...)
	}
	var last int64
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e := &referralv1.AuditEntry{}
		if err := proto.Unmarshal(v, e); err != nil {
			t.Fatal(err)
		}
		change(e.GetSequence(), e)
		e.Hash, e.PreviousHash = "", ""
		body, _ := proto.MarshalOptions{Deterministic: true}.Marshal(e)
		h := sha256.New()
		h.Write(prev)
		h.Write(body)
		sum := h.Sum(nil)
		if prev != nil {
			e.PreviousHash = hex.EncodeToString(prev)
		}
		e.Hash = hex.EncodeToString(sum)
		nb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(e)
		if err := b.Put(append([]byte(nil), k...), nb); err != nil {
			t.Fatal(err)
		}
		prev, last = sum, e.GetSequence()
	}
	head := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(head, uint64(last))
	if err := tx.Bucket([]byte("audit_head")).Put([]byte("head"), append(head, prev...)); err != nil {
		t.Fatal(err)
	}
}
