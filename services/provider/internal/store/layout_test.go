package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/resource/resourcetest"
	"github.com/cus-suite/cus/platform/storage"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// layoutDigest is the digest of the data file written by TestStoredBytesUnchanged, as the store wrote it before
// the resource kit (computed with that code): the records, indexes, change records and idempotency records are
// byte for byte what they were, so files written before read back unchanged and no migration is needed. A
// deliberate change of the layout changes it, with a migration.
const layoutDigest = "8abe816f6407ae551ec6b7bac31ba39e683aa42464a343f96df859c8cad05db2"

// TestStoredBytesUnchanged writes providers, agreements and a reservation through every write of the store at
// a fixed time and compares what the file holds with layoutDigest.
func TestStoredBytesUnchanged(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "provider.db"))
	defer st.Close()
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return at }
	ctx := context.Background()
	const p1, p2 = "0194c050-3022-7053-b000-000000000001", "0194c050-3022-7053-b000-000000000002"
	const a1 = "0194c050-3022-7053-a000-000000000001"
	hash := make([]byte, 32)
	p := &providerv1.Provider{DisplayName: "Fundacja Pomocna Dłoń", Nip: "1234563218", Kind: providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP,
		Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := st.CreateProvider(ctx, p1, p, "req-1", hash)
	must(err)
	_, _, err = st.CreateProvider(ctx, p1, p, "req-1", hash) // a retry: nothing written
	must(err)
	_, _, err = st.CreateProvider(ctx, p2, &providerv1.Provider{DisplayName: "Klub Seniora", Krs: "0000123456"}, "", nil)
	must(err)
	at = at.Add(time.Minute)
	_, err = st.UpdateProvider(ctx, p1, func(cur *providerv1.Provider) error {
		cur.Nip, cur.DisplayName = "5260250274", "Fundacja Pomocna Dłoń w Rawiczu"
		return nil
	})
	must(err)
	a := &providerv1.Agreement{Service: "services/0194c050-3022-7053-8000-000000000034",
		LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT, StartDate: "2026-01-01",
		Capacity: &providerv1.Capacity{Amount: 10, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK},
		Status:   providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE}
	_, _, err = st.CreateAgreement(ctx, p1, a1, a, "req-2", hash)
	must(err)
	at = at.Add(time.Minute)
	_, err = st.UpdateAgreement(ctx, p1, a1, func(cur *providerv1.Agreement) error {
		cur.Capacity.Amount = 12
		return nil
	})
	must(err)
	_, _, _, err = st.Reserve(ctx, p1, a1, "0194c050-ffff-7000-8000-000000000001", 2, today)
	must(err)
	_, _, _, err = st.Reserve(ctx, p1, a1, "0194c050-ffff-7000-8000-000000000002", 3, today)
	must(err)
	_, _, _, err = st.Release(ctx, p1, a1, "0194c050-ffff-7000-8000-000000000002", today)
	must(err)
	must(st.DeleteProvider(ctx, p2, func(*providerv1.Provider) error { return nil }))

	got := resourcetest.Digest(t, st.Backend(), append(buckets, storage.BucketChanges, storage.BucketRequests), nil)
	if got != layoutDigest {
		t.Fatalf("the data file's bytes changed: digest %s, want %s", got, layoutDigest)
	}
}
