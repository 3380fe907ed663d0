package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/plid"
	"github.com/cus-suite/cus/platform/storage"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// openOnEtcdDefaults opens a registry on a member of its own that runs etcd's default limits of one transaction
// (128 operations, 1.5 MiB), as a cluster does unless told otherwise; make test-etcd's shared member has them
// raised, so this test starts its own.
func openOnEtcdDefaults(t *testing.T) *Store {
	t.Helper()
	c := etcdtest.StartOne(t)
	st, err := OpenOn(storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/cus/provider/"}}, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if keys, _ := st.Backend().WriteLimit(); keys != storage.DefaultEtcdMaxTxnOps-2 {
		t.Fatalf("WriteLimit = %d keys; the test wants etcd's default limits", keys)
	}
	return st
}

// importFile is a gmina's list of n providers (invented): social economy entities with a NIP, and every fifth
// an informal group known only by its name.
func importFile(n int) string {
	var b strings.Builder
	b.WriteString("nazwa;forma_prawna;nip;miejscowosc;email;opis\n")
	seq := 0
	for i := 0; i < n; i++ {
		if i%5 == 4 {
			fmt.Fprintf(&b, "Grupa sąsiedzka nr %d;grupa nieformalna;;Rawicz;grupa%d@example.org;Spotkania i pomoc sąsiedzka.\n", i, i)
			continue
		}
		var nip string
		for nip == "" {
			seq++
			first9 := fmt.Sprintf("000%06d", seq)
			if c, err := plid.NIPCheckDigit(first9); err == nil {
				nip = first9 + string(c)
			}
		}
		fmt.Fprintf(&b, "Spółdzielnia „Pomocna dłoń” %d;PES;%s;Rawicz;kontakt%d@example.org;Usługi opiekuńcze i prace porządkowe.\n", i, nip, i)
	}
	return b.String()
}

func parse(t *testing.T, text string) *domain.CSVFile {
	t.Helper()
	f, err := domain.ParseProvidersCSV("csv", text)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	return ids
}

func counts(r *providerv1.ImportProvidersResponse) string {
	return fmt.Sprintf("created %d, updated %d, unchanged %d, rejected %d", r.GetCreatedCount(), r.GetUpdatedCount(), r.GetUnchangedCount(), r.GetRejectedCount())
}

// An import of 300 providers goes through on etcd's default limits (one transaction would be refused as too
// large: about 20 providers fit one), in batches; an import cut short after some batches (a crash) is finished
// by running the file again, which creates nothing twice; a third run is a no-op.
func TestImportOfHundredsOfProvidersOnEtcdInBatches(t *testing.T) {
	st := openOnEtcdDefaults(t)
	ctx := context.Background()
	const n = 300
	text := importFile(n)
	lines := strings.SplitAfter(text, "\n")

	// What batches committed before a crash leave: the first 120 rows stored.
	cut := strings.Join(lines[:121], "")
	rep, err := st.Import(ctx, parse(t, cut), newIDs(120), false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.GetCreatedCount() != 120 {
		t.Fatalf("first 120 rows: %s", counts(rep))
	}

	rep, err = st.Import(ctx, parse(t, text), newIDs(n), false, "", nil)
	if err != nil {
		t.Fatalf("an import of %d providers on etcd's default limits: %v", n, err)
	}
	if rep.GetCreatedCount() != n-120 || rep.GetUnchangedCount() != 120 || rep.GetRejectedCount() != 0 || len(rep.GetRows()) != n {
		t.Fatalf("the whole file after the cut: %s (%d rows), want created %d, unchanged 120", counts(rep), len(rep.GetRows()), n-120)
	}
	all, err := st.Providers()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range all {
		names[p.GetDisplayName()] = true
	}
	if len(all) != n || len(names) != n {
		t.Fatalf("the registry holds %d providers (%d names), want each of the %d rows once", len(all), len(names), n)
	}

	rev := st.Backend().Revision()
	rep, err = st.Import(ctx, parse(t, text), newIDs(n), false, "import-again", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.GetUnchangedCount() != n {
		t.Fatalf("a re-run: %s, want all %d unchanged", counts(rep), n)
	}
	if got := st.Backend().Revision(); got != rev {
		t.Fatalf("a re-run moved the revision from %d to %d: it wrote something", rev, got)
	}
}

// Another writer changes a provider the file updates while the import is between two batches: the import plans
// the rows not yet written again on the new state, so the row merges into the changed provider instead of
// writing back the state it was first planned on (a lost update).
func TestImportReplansWhenTheRegistryChangesBetweenBatches(t *testing.T) {
	st := openOnEtcdDefaults(t)
	ctx := context.Background()
	const n = 100
	text := importFile(n)
	if _, err := st.Import(ctx, parse(t, text), newIDs(n), false, "", nil); err != nil {
		t.Fatal(err)
	}
	// The same file with the last provider's e-mail changed: row n-1 (index n-2 in the file, a PES) updates it.
	lines := strings.SplitAfter(text, "\n")
	last := lines[n-1]
	lines[n-1] = strings.Replace(last, fmt.Sprintf("kontakt%d@", n-2), fmt.Sprintf("biuro%d@", n-2), 1)
	// And 40 new providers before it, so the import takes several batches.
	more := strings.SplitAfter(importFile(n+40), "\n")[n+1 : n+41]
	for i := range more {
		more[i] = strings.Replace(more[i], "Spółdzielnia", "Nowa spółdzielnia", 1)
		more[i] = strings.Replace(more[i], "Grupa", "Nowa grupa", 1)
	}
	file := lines[0] + strings.Join(more, "") + strings.Join(lines[1:], "")
	var target *providerv1.Provider
	all, _ := st.Providers()
	for _, p := range all {
		if p.GetDisplayName() == fmt.Sprintf("Spółdzielnia „Pomocna dłoń” %d", n-2) {
			target = p
		}
	}
	if target == nil {
		t.Fatal("the provider of row n-1 is not registered")
	}
	id := strings.TrimPrefix(target.GetName(), domain.ProviderPrefix)
	batches := 0
	st.afterImportBatch = func() {
		batches++
		if batches == 1 {
			if _, err := st.UpdateProvider(ctx, id, func(cur *providerv1.Provider) error {
				cur.Website = "https://pomocna.example.org"
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
	}
	rep, err := st.Import(ctx, parse(t, file), newIDs(n+40), false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if batches < 2 {
		t.Fatalf("the import took %d batches; the test needs several", batches)
	}
	if rep.GetCreatedCount() != 40 || rep.GetUpdatedCount() != 1 || rep.GetUnchangedCount() != n-1 {
		t.Fatalf("%s, want created 40, updated 1, unchanged %d", counts(rep), n-1)
	}
	got, err := st.GetProvider(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetEmail() != fmt.Sprintf("biuro%d@example.org", n-2) || got.GetWebsite() != "https://pomocna.example.org" {
		t.Fatalf("the provider has e-mail %q and website %q: want the import's e-mail and the other writer's website", got.GetEmail(), got.GetWebsite())
	}
}
