package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/etcdtest"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// An import on etcd is written in batches that fit etcd's transaction limits (128 keys by default), so a file of
// hundreds of services goes through instead of being refused as one write too large, and every row is stored.
func TestImportOnEtcdFitsItsTransactionLimits(t *testing.T) {
	c := etcdtest.StartOne(t)
	cfg := failureTestConfig(t.TempDir())
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
	client, _, stop := start(t, cfg)
	defer stop()
	ctx := adminToken(t, cfg)

	before, err := client.ListServices(ctx, &cataloguev1.ListServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 300
	var b bytes.Buffer
	b.WriteString("Klucz zewnętrzny;Nazwa usługi;Obszar;Grupy docelowe;Placówka;Adres;Kod pocztowy;Miejscowość;Opis\r\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "ETCD-%04d;Zajęcia klubowe nr %d;kultura;seniorzy;Świetlica;ul. Łąkowa %d;63-900;Rawicz;Opis usługi nr %d.\r\n", i, i, i%200+1, i)
	}
	rep, err := client.ImportServices(ctx, &cataloguev1.ImportServicesRequest{Content: b.Bytes()})
	if err != nil {
		t.Fatalf("import of %d rows on etcd: %v", rows, err)
	}
	if got := len(rep.GetRows()); got != rows {
		t.Fatalf("the report lists %d rows, want %d", got, rows)
	}
	for _, r := range rep.GetRows() {
		if r.GetOutcome() != cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED {
			t.Fatalf("row %d: %v %v", r.GetRow(), r.GetOutcome(), r.GetViolations())
		}
	}
	after, err := client.ListServices(ctx, &cataloguev1.ListServicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetTotalSize()-before.GetTotalSize() != rows {
		t.Fatalf("the catalogue grew by %d services, want %d", after.GetTotalSize()-before.GetTotalSize(), rows)
	}
}

// On etcd the data directory holds only the search index snapshot: a catalogue given a directory that does not
// exist yet creates it, and its graceful stop writes the snapshot there (so the next start is fast).
func TestSnapshotOnEtcdInANewDataDir(t *testing.T) {
	c := etcdtest.StartOne(t)
	cfg := failureTestConfig(t.TempDir())
	cfg.DataDir = filepath.Join(t.TempDir(), "not", "yet")
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
	_, done, stop := start(t, cfg)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Stat(cfg.SnapshotFile()); err != nil {
		t.Fatalf("no search index snapshot after a graceful stop on etcd: %v", err)
	}
}
