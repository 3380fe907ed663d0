package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

const (
	provA = "providers/0194c050-3022-7053-b000-00000000000a"
	provB = "providers/0194c050-3022-7053-b000-00000000000b"
)

func referTo(t *testing.T, s *Store, id, provider string) {
	t.Helper()
	if _, _, err := s.CreateReferral(context.Background(), id, &referralv1.Referral{Provider: provider, Note: "opieka"},
		func(Reader) error { return nil }, Write{}); err != nil {
		t.Fatal(err)
	}
}

func referralsOf(t *testing.T, s *Store, provider string) []string {
	t.Helper()
	var got []string
	if err := s.ForEachReferralOf(provider, func(r *referralv1.Referral) error {
		got = append(got, r.GetName())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// A provider's referrals are read through the index written with each referral; a file of schema 3 (no
// index) gets it built at the first start of this version.
func TestProviderIndexWrittenOnCreateAndBuiltByMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	ring := testRing(t, "k1")
	s := openStore(t, path, ring)
	referTo(t, s, "0194c050-0000-7000-8000-000000000001", provA)
	referTo(t, s, "0194c050-0000-7000-8000-000000000002", provB)
	referTo(t, s, "0194c050-0000-7000-8000-000000000003", provA)
	want := []string{"referrals/0194c050-0000-7000-8000-000000000001", "referrals/0194c050-0000-7000-8000-000000000003"}
	if got := referralsOf(t, s, provA); !slices.Equal(got, want) {
		t.Fatalf("referrals of A: %v, want %v", got, want)
	}
	// Back to schema 3 as an older binary left it: no index.
	err := s.be.Update(context.Background(), func(tx storage.Tx) error {
		var keys [][]byte
		_ = tx.Scan(bucketByProvider, nil, func(k, _ []byte) (bool, error) {
			keys = append(keys, append([]byte(nil), k...))
			return true, nil
		})
		for _, k := range keys {
			if err := tx.Delete(bucketByProvider, k); err != nil {
				return err
			}
		}
		return tx.Put(storage.BucketMeta, []byte("schema_version"), storage.RevisionKey(3))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := referralsOf(t, s, provA); len(got) != 0 {
		t.Fatalf("the index was not emptied: %v", got)
	}
	s.Close()
	s = openStore(t, path, ring)
	defer s.Close()
	if got := referralsOf(t, s, provA); !slices.Equal(got, want) {
		t.Fatalf("referrals of A after the migration: %v, want %v", got, want)
	}
	if got := referralsOf(t, s, provB); len(got) != 1 {
		t.Fatalf("referrals of B after the migration: %v", got)
	}
}

// One scan decrypts at most its budget of feed entries, and says where it stopped, so a caller who sees few
// of them pages through the rest instead of one call reading the whole feed.
func TestScanReferralChangesStopsAtItsBudget(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "referral.db"), testRing(t, "k1"))
	defer s.Close()
	for i, p := range []string{provA, provA, provA, provB} {
		referTo(t, s, "0194c050-0000-7000-8000-00000000001"+string(rune('0'+i)), p)
	}
	onlyB := func(r *referralv1.Referral) bool { return r.GetProvider() == provB }
	var after int64
	calls := 0
	var seen []string
	for {
		calls++
		p, err := s.ScanReferralChanges(after, 10, 2, onlyB)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			seen = append(seen, e.GetReferral().GetName())
		}
		if p.Last > after {
			after = p.Last
		}
		if !p.More {
			break
		}
		if calls > 5 {
			t.Fatal("the scan does not advance")
		}
	}
	if calls != 2 || len(seen) != 1 || seen[0] != "referrals/0194c050-0000-7000-8000-000000000013" {
		t.Fatalf("%d calls saw %v; want 2 calls of 2 entries and B's referral", calls, seen)
	}
	// The page limit stops a scan too.
	p, err := s.ScanReferralChanges(0, 1, 100, func(*referralv1.Referral) bool { return true })
	if err != nil || len(p.Events) != 1 || !p.More || p.Last != p.Events[0].GetRevision() {
		t.Fatalf("page of 1: %+v %v", p, err)
	}
}
