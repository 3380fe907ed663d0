package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/apierr"
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
	if _, w, _, err := s.ImportRows(context.Background(), a, plansA, basesA, plan, ImportAnswer{}); err != nil || len(w) != 1 {
		t.Fatalf("first: %v %v", w, err)
	}
	rev := s.Backend().Revision()
	out, w, _, err := s.ImportRows(context.Background(), b, plansB, basesB, plan, ImportAnswer{})
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
	if _, _, _, err := s.ImportRows(context.Background(), items, plans, bases, plan, ImportAnswer{}); err != nil {
		t.Fatal(err)
	}
	id := items[0].ID
	if _, err := s.DeleteService(context.Background(), id, func(*cataloguev1.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	again := keyedItems(t, csv)
	plans, bases, _ = planAll(s, again, plan)
	out, _, _, err := s.ImportRows(context.Background(), again, plans, bases, plan, ImportAnswer{})
	if err != nil || out[0].Outcome != cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED || again[0].ID != id {
		t.Fatalf("re-import: %v %s (was %s) %v", out[0].Outcome, again[0].ID, id, err)
	}
}

// Two attempts of one import under one request id, planned on the same state: the first to commit records its
// report with its rows (Last, in the same transaction); the other finds that report inside its own
// transaction and gets it back instead of writing, so it neither reports the rows UNCHANGED nor overwrites the
// first report. Another file under the id is REQUEST_ID_REUSED.
func TestImportAttemptsUnderOneRequestID(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	normalise := func(svc *cataloguev1.Service) { svc.OriginTerc = "3022053" }
	plan := func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan {
		return domain.PlanImportRow(it, cur, "3022053", normalise)
	}
	const csv = "Klucz zewnętrzny;Nazwa usługi;Obszar\nK-1;Klub Seniora;kultura\nK-2;Świetlica środowiskowa;kultura\n"
	hash := sha256.Sum256([]byte(csv))
	reportOf := func(plans []domain.ImportPlan) *cataloguev1.ImportServicesResponse {
		out := &cataloguev1.ImportServicesResponse{}
		for _, p := range plans {
			if p.Outcome == cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED {
				out.CreatedCount++
			} else {
				out.UnchangedCount++
			}
		}
		return out
	}
	attempt := func() ImportAnswer {
		a := NewImportAnswer("import-1", hash[:])
		a.Last = reportOf
		return a
	}
	a, b := keyedItems(t, csv), keyedItems(t, csv)
	plansA, basesA, err := planAll(s, a, plan)
	if err != nil {
		t.Fatal(err)
	}
	plansB, basesB, err := planAll(s, b, plan)
	if err != nil {
		t.Fatal(err)
	}
	_, w, theirs, err := s.ImportRows(context.Background(), a, plansA, basesA, plan, attempt())
	if err != nil || theirs != nil || len(w) != 2 {
		t.Fatalf("the first attempt: %d written, %v, %v", len(w), theirs, err)
	}
	rev := s.Backend().Revision()
	_, w, theirs, err = s.ImportRows(context.Background(), b, plansB, basesB, plan, attempt())
	if err != nil || len(w) != 0 || theirs.GetCreatedCount() != 2 || s.Backend().Revision() != rev {
		t.Fatalf("the second attempt: %d written, report %v, %v; want the first's report (2 created) and nothing written", len(w), theirs, err)
	}
	if rep, ok, err := s.ImportReport("import-1", hash[:]); err != nil || !ok || rep.GetCreatedCount() != 2 {
		t.Fatalf("the recorded report: %v %v %v", rep, ok, err)
	}
	other := sha256.Sum256([]byte("another file"))
	c := keyedItems(t, csv)
	plansC, basesC, _ := planAll(s, c, plan)
	if _, _, _, err := s.ImportRows(context.Background(), c, plansC, basesC, plan, NewImportAnswer("import-1", other[:])); !errors.Is(err, apierr.ErrRequestIDReused) {
		t.Fatalf("another file under the id: %v, want REQUEST_ID_REUSED", err)
	}
}
