package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

func keyedItems(t *testing.T, csv string) []*domain.ImportItem {
	t.Helper()
	tab, err := sheet.ReadCSV("content", []byte(csv), sheet.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := domain.ParseServicesSheet("content", tab)
	if err != nil {
		t.Fatal(err)
	}
	return f.Items()
}

func planAll(s *Store, items []*domain.ImportItem, plan func(*domain.ImportItem, *cataloguev1.Service) domain.ImportPlan) ([]domain.ImportPlan, []int64, error) {
	ids, curs, bases, err := s.ImportSnapshot(items)
	if err != nil {
		return nil, nil, err
	}
	plans := make([]domain.ImportPlan, len(items))
	for i, it := range items {
		if ids[i] != "" {
			it.ID = ids[i]
		} else {
			it.ID = uuid.Must(uuid.NewV7()).String()
		}
		plans[i] = plan(it, curs[i])
	}
	return plans, bases, nil
}

// Two imports of the same key planned against the same state (both see no service): the second to commit finds
// the key taken inside its transaction, plans again against the service the first created, and writes no
// second service.
func TestImportKeyTakenMeanwhileIsReplanned(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	normalise := func(svc *cataloguev1.Service) { svc.OriginTerc = "3022053" }
	plan := func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan {
		return domain.PlanImportRow(it, cur, "3022053", normalise)
	}
	const csv = "Klucz zewnętrzny;Nazwa usługi;Obszar\nK-1;Klub Seniora;kultura\n"
	a, b := keyedItems(t, csv), keyedItems(t, csv)
	plansA, basesA, err := planAll(s, a, plan)
	if err != nil {
		t.Fatal(err)
	}
	plansB, basesB, err := planAll(s, b, plan)
	if err != nil {
		t.Fatal(err)
	}
	if a[0].ID == b[0].ID || plansB[0].Outcome != cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED {
		t.Fatalf("setup: %s %s %v", a[0].ID, b[0].ID, plansB[0].Outcome)
	}
	if _, w, err := s.ImportRows(context.Background(), a, plansA, basesA, plan); err != nil || len(w) != 1 {
		t.Fatalf("first: %v %v", w, err)
	}
	rev := s.Backend().Revision()
	out, w, err := s.ImportRows(context.Background(), b, plansB, basesB, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 0 || out[0].Outcome != cataloguev1.ImportOutcome_IMPORT_OUTCOME_UNCHANGED || b[0].ID != a[0].ID || s.Backend().Revision() != rev {
		t.Fatalf("second: %v written %d, id %s (first %s)", out[0].Outcome, len(w), b[0].ID, a[0].ID)
	}
	n := 0
	if err := s.ForEachService(func(*cataloguev1.Service, int64) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("%d services, want 1 (%v)", n, err)
	}
}

// A service created by a key and then deleted is created again under the same name by the next import.
func TestImportKeyOfDeletedService(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	normalise := func(svc *cataloguev1.Service) { svc.OriginTerc = "3022053" }
	plan := func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan {
		return domain.PlanImportRow(it, cur, "3022053", normalise)
	}
	const csv = "Klucz zewnętrzny;Nazwa usługi;Obszar\nK-1;Klub Seniora;kultura\n"
	items := keyedItems(t, csv)
	plans, bases, _ := planAll(s, items, plan)
	if _, _, err := s.ImportRows(context.Background(), items, plans, bases, plan); err != nil {
		t.Fatal(err)
	}
	id := items[0].ID
	if _, err := s.DeleteService(context.Background(), id, func(*cataloguev1.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	again := keyedItems(t, csv)
	plans, bases, _ = planAll(s, again, plan)
	out, _, err := s.ImportRows(context.Background(), again, plans, bases, plan)
	if err != nil || out[0].Outcome != cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED || again[0].ID != id {
		t.Fatalf("re-import: %v %s (was %s) %v", out[0].Outcome, again[0].ID, id, err)
	}
}
