package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Request ids are remembered with their time: inside the window a retry replays, once expired the id is free.
// A schema-2 file's records (no time) are stamped at migration and still replay.
func TestRequestIDsMigrateAndExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	ring := testRing(t, "k1")
	s := openStore(t, path, ring)
	p := people(t)[0]
	hash := bytes.Repeat([]byte{3}, 32)
	w := Write{Req: Req{Method: "CreateResident", ID: "req-1", Hash: hash}}
	res := &referralv1.Resident{GivenName: p.given, FamilyName: p.family, Pesel: p.pesel, HouseholdSize: 1}
	if _, _, err := s.CreateResident(context.Background(), p.id, res, w); err != nil {
		t.Fatal(err)
	}
	// Rewrite the record in the old layout and the file back to schema 2, as an older binary left it.
	err := s.be.Update(context.Background(), func(tx storage.Tx) error {
		_, h, name, ok := storage.DecodeRequest(tx.Get(storage.BucketRequests, requestKey("CreateResident", "req-1")))
		if !ok {
			t.Fatal("no request record")
		}
		if err := tx.Put(storage.BucketRequests, requestKey("CreateResident", "req-1"), append(append([]byte(nil), h...), name...)); err != nil {
			return err
		}
		return tx.Put(storage.BucketMeta, []byte("schema_version"), storage.RevisionKey(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, path, ring)
	defer s.Close()
	if _, replayed, err := s.CreateResident(context.Background(), p.id, res, w); err != nil || !replayed {
		t.Fatalf("retry after migration: replayed=%v %v", replayed, err)
	}
	if n, err := s.be.ExpireRequests(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ExpireRequests = %d, %v", n, err)
	}
	if _, replayed, err := s.CreateResident(context.Background(), people(t)[1].id, &referralv1.Resident{GivenName: "A", FamilyName: "B",
		Pesel: people(t)[1].pesel, HouseholdSize: 1}, w); err != nil || replayed {
		t.Fatalf("an expired id is new again: replayed=%v %v", replayed, err)
	}
}

// The referral feed (WatchReferrals) refuses a cursor below the compaction point with CHANGES_COMPACTED.
func TestReferralFeedBelowTheCompactionPoint(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "referral.db"), testRing(t, "k1"))
	defer s.Close()
	for _, p := range people(t)[:2] {
		seed(t, s, p)
	}
	ev, err := s.ReferralChanges(0, 10)
	if err != nil || len(ev) != 2 {
		t.Fatalf("feed: %d events, %v", len(ev), err)
	}
	if _, err := s.be.CompactChanges(context.Background(), ev[0].GetRevision()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReferralChanges(0, 10); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("cursor below the point: %v", err)
	}
	if got, err := s.ReferralChanges(ev[0].GetRevision(), 10); err != nil || len(got) != 1 {
		t.Fatalf("cursor at the point: %v %v", got, err)
	}
}

func TestRunMaintenanceFollowsTheReopenedBackend(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "referral.db"), testRing(t, "k1"))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.RunMaintenance(ctx, storage.Maintenance{RequestTTL: time.Hour, Interval: time.Millisecond})
	}()
	if _, err := s.Compact(); err != nil { // erasure's compaction closes and reopens the backend
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
