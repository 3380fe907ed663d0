package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

const today = "2026-06-15"

func openStore(t testing.TB, path string) *Store {
	t.Helper()
	st, err := Open(path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// seed stores a provider with n agreements of the given capacity and returns the agreement ids.
func seed(t testing.TB, st *Store, providerID string, n int, capacity int32) []string {
	t.Helper()
	ctx := context.Background()
	p := &providerv1.Provider{DisplayName: "Fundacja", Kind: providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP,
		Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE}
	if _, _, err := st.CreateProvider(ctx, providerID, p, "", nil); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("0194c050-0000-7000-8000-%012d", i)
		a := &providerv1.Agreement{Service: "services/0194c050-3022-7053-8000-000000000034",
			LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT, StartDate: "2026-01-01",
			Capacity: &providerv1.Capacity{Amount: capacity, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS,
				Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK},
			Funding: &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_OTHER, Description: "wolontariat"},
			Status:  providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE}
		if _, _, err := st.CreateAgreement(ctx, providerID, ids[i], a, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestReservationsAreDurable: what a reservation acknowledged is on disk, with its counter and index, after the
// file is closed and opened again; the revision (the feed) is not advanced by reservations.
func TestReservationsAreDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "provider.db")
	st := openStore(t, path)
	const pid = "0194c050-3022-7053-b000-000000000007"
	aid := seed(t, st, pid, 1, 10)[0]
	rev := st.Backend().Revision()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, _, err := st.Reserve(context.Background(), pid, aid, fmt.Sprintf("0194c050-ffff-7000-8000-%012d", i), 1, today); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if st.Backend().Revision() != rev {
		t.Fatal("reservations advanced the change feed")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, path)
	defer st.Close()
	av, err := st.Availability(pid, aid, today)
	if err != nil || av.GetReserved() != 8 || av.GetAvailable() != 2 {
		t.Fatalf("after reopening: %v %v", av, err)
	}
	list, err := st.Reservations(pid, "")
	if err != nil || len(list) != 8 {
		t.Fatalf("reservations after reopening: %d %v", len(list), err)
	}
	// The identifier index survived too: a second provider with the first one's name is fine, the same id is not.
	if _, _, err := st.CreateProvider(context.Background(), pid, &providerv1.Provider{}, "", nil); err == nil {
		t.Fatal("id reused")
	}
	if _, err := st.Agreements("0194c050-0000-7000-8000-00000000dead"); !errors.Is(err, domain.ErrProviderNotFound) {
		t.Fatalf("agreements of an unknown provider: %v", err)
	}
}
