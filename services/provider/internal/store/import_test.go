package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
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

// Two attempts of one import under one request id (grpcclient retries ImportProviders on UNAVAILABLE, on
// another replica, while the first attempt still runs): the one that commits first records its report with its
// writes, and the other, finding that report inside its own transaction, returns it and writes nothing, so
// both callers (and every later repeat) get the report of the writes: created, not unchanged. Another file
// under the same id, committing meanwhile, makes the slower attempt's answer REQUEST_ID_REUSED.
func TestImportUnderOneRequestIDRacingAnotherAttempt(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "provider.db"))
	defer st.Close()
	ctx := context.Background()
	const n = 10
	text := importFile(n)
	var other *providerv1.ImportProvidersResponse
	st.beforeImportBatch = func() {
		st.beforeImportBatch = nil // the other attempt runs once, between this attempt's plan and its commit
		var err error
		if other, err = st.Import(ctx, parse(t, text), newIDs(n), false, "import-1", hashOf("h1")); err != nil {
			t.Error(err)
		}
	}
	rep, err := st.Import(ctx, parse(t, text), newIDs(n), false, "import-1", hashOf("h1"))
	if err != nil {
		t.Fatal(err)
	}
	if other == nil || other.GetCreatedCount() != n {
		t.Fatalf("the attempt that committed first: %v", other)
	}
	if !proto.Equal(rep, other) {
		t.Fatalf("the slower attempt answered %s, the first %s: want the first's report", counts(rep), counts(other))
	}
	again, err := st.Import(ctx, parse(t, text), newIDs(n), false, "import-1", hashOf("h1"))
	if err != nil || !proto.Equal(again, other) {
		t.Fatalf("a later repeat: %v, %v; want the first report (%s)", again, err, counts(other))
	}
	if all, _ := st.Providers(); len(all) != n {
		t.Fatalf("the registry holds %d providers, want %d", len(all), n)
	}

	// Another file under one id, committed while this attempt was between its plan and its commit.
	second := importFile(n + 3)
	st.beforeImportBatch = func() {
		st.beforeImportBatch = nil
		if _, err := st.Import(ctx, parse(t, text), newIDs(n), false, "import-2", hashOf("h-other")); err != nil {
			t.Error(err)
		}
	}
	if _, err := st.Import(ctx, parse(t, second), newIDs(n+3), false, "import-2", hashOf("h2")); !errors.Is(err, apierr.ErrRequestIDReused) {
		t.Fatalf("another file under a request id another attempt used first: %v, want REQUEST_ID_REUSED", err)
	}
	// Nothing left to write (every row already stored): the report in a transaction of its own, checked there too.
	st.beforeImportBatch = nil
	if _, err := st.Import(ctx, parse(t, text), newIDs(n), false, "import-2", hashOf("h3")); !errors.Is(err, apierr.ErrRequestIDReused) {
		t.Fatalf("a third file under the id: %v", err)
	}
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// The registry changes after every batch of an import on etcd (another writer at work all along): the import
// plans again each time, gives up past importReplans with IMPORT_INTERRUPTED (ABORTED), and keeps the rows it
// wrote; running the file again finishes it.
func TestImportInterruptedWhenTheRegistryKeepsChanging(t *testing.T) {
	st := openOnEtcdDefaults(t)
	ctx := context.Background()
	other, _, err := st.CreateProvider(ctx, "0194c050-bbbb-7000-8000-000000000001", &providerv1.Provider{DisplayName: "Koło gospodyń wiejskich w Sarnowie",
		Kind: providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	otherID := strings.TrimPrefix(other.GetName(), domain.ProviderPrefix)
	batches := 0
	st.afterImportBatch = func() {
		batches++
		if _, err := st.UpdateProvider(ctx, otherID, func(cur *providerv1.Provider) error {
			cur.Website = fmt.Sprintf("https://kgw-sarnowo.example.org/%d", batches)
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	const n = 600
	_, err = st.Import(ctx, parse(t, importFile(n)), newIDs(n), false, "", nil)
	if !errors.Is(err, domain.ErrImportInterrupted) {
		t.Fatalf("an import the registry kept changing under: %v, want IMPORT_INTERRUPTED", err)
	}
	if e, ok := apierr.As(err); !ok || e.Kind != apierr.KindAborted || e.Reason != "IMPORT_INTERRUPTED" {
		t.Fatalf("the error %v is not ABORTED with reason IMPORT_INTERRUPTED", err)
	}
	all, err := st.Providers()
	if err != nil {
		t.Fatal(err)
	}
	kept := len(all) - 1
	if batches != importReplans+1 || kept <= 0 || kept >= n {
		t.Fatalf("%d batches committed (want one per plan, %d), %d of the file's providers kept", batches, importReplans+1, kept)
	}
	st.afterImportBatch = nil
	rep, err := st.Import(ctx, parse(t, importFile(n)), newIDs(n), false, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if int(rep.GetUnchangedCount()) != kept || int(rep.GetCreatedCount()) != n-kept {
		t.Fatalf("the re-run: %s; %d rows were kept from the interrupted import", counts(rep), kept)
	}
}
