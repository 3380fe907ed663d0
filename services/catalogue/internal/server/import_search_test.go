package server_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// ownWord is the word of row n alone: with digits, so the typo matching leaves it out, and of one width, so
// none is a prefix of another.
func ownWord(n int) string { return fmt.Sprintf("kod%06d", n) }

// searchableCSV is a CSV file of rows from first to first+n, each service named with a word of its own.
func searchableCSV(first, n int) []byte {
	var b bytes.Buffer
	b.WriteString("Klucz zewnętrzny;Nazwa usługi;Obszar;Grupy docelowe;Placówka;Adres;Kod pocztowy;Miejscowość;Opis\r\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "IMP-%06d;Zajęcia wspólnewyszukiwanie %s;kultura;seniorzy;Świetlica nr %d;ul. Łąkowa %d;63-900;Rawicz;Opis usługi nr %d.\r\n",
			i, ownWord(i), i%50, i%200+1, i)
	}
	return b.Bytes()
}

// TestImportSearchFindsEveryRow: services imported by files in flight at once (one of more rows than a
// durable batch, so its batches go through the pipeline) are each found by search, by a word of their own, as
// soon as their import returns, and all of them by a word they share; a re-run of the files changes nothing
// (UNCHANGED rows, no new revision, the same search answers).
func TestImportSearchFindsEveryRow(t *testing.T) {
	h := start(t)
	firsts := []int{0, store.ImportBatch + 700, store.ImportBatch + 1600}
	files := [][]byte{searchableCSV(firsts[0], store.ImportBatch+700), searchableCSV(firsts[1], 900), searchableCSV(firsts[2], 1100)}
	total := store.ImportBatch + 2700
	names := make([]string, total) // by row number across the files
	run := func(wantOutcome cataloguev1.ImportOutcome) {
		var wg sync.WaitGroup
		errs := make([]error, len(files))
		for f, content := range files {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := h.client.ImportServices(ctx(t), &cataloguev1.ImportServicesRequest{Content: content})
				if err != nil {
					errs[f] = err
					return
				}
				for _, row := range rep.GetRows() {
					i := firsts[f] + int(row.GetRow()) - 2 // row 1 is the header
					if !strings.HasSuffix(row.GetDisplayName(), " "+ownWord(i)) || row.GetOutcome() != wantOutcome {
						errs[f] = fmt.Errorf("file %d row %d (%s): %v, want %v (%v)", f, row.GetRow(), row.GetDisplayName(), row.GetOutcome(), wantOutcome, row.GetViolations())
						return
					}
					if names[i] != "" && names[i] != row.GetService() {
						errs[f] = fmt.Errorf("row IMP-%06d is %s, was %s", i, row.GetService(), names[i])
						return
					}
					names[i] = row.GetService()
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	run(cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED)
	check := func() {
		t.Helper()
		for i := 0; i < total; i++ {
			res, err := h.srv.SearchServices(ctx(t), &cataloguev1.SearchServicesRequest{Query: ownWord(i)})
			if err != nil {
				t.Fatal(err)
			}
			if res.GetTotalSize() != 1 || res.GetResults()[0].GetService().GetName() != names[i] {
				t.Fatalf("row IMP-%06d (%s): search finds %d services, not it alone", i, names[i], res.GetTotalSize())
			}
		}
		res, err := h.srv.SearchServices(ctx(t), &cataloguev1.SearchServicesRequest{Query: "wspólnewyszukiwanie", PageSize: 1})
		if err != nil || res.GetTotalSize() != int32(total) {
			t.Fatalf("a word every row has finds %d services, want %d (%v)", res.GetTotalSize(), total, err)
		}
	}
	check()
	rev := h.store.Backend().Revision()
	run(cataloguev1.ImportOutcome_IMPORT_OUTCOME_UNCHANGED)
	if got := h.store.Backend().Revision(); got != rev {
		t.Fatalf("a re-run moved the store from revision %d to %d", rev, got)
	}
	check()
}
