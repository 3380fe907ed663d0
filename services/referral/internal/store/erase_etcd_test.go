package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// Two referral replicas on one etcd prefix, each with a data directory of its own: a resident erased through
// replica A, then a backup taken before the erasure restored into the prefix; replica B, which never saw the
// erasure and has no file of A's, erases the resident again when it opens the restored prefix (the journal is
// in etcd, beside the prefix: the backup did not carry it and the restore did not remove it).
func TestErasureJournalOnEtcdOutlivesARestoreForEveryReplica(t *testing.T) {
	c := etcdtest.StartOne(t)
	const prefix = "/cus/referral/"
	eng := storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{Endpoints: c.Endpoints(), Prefix: prefix, ScratchDir: t.TempDir()}}
	dirA, dirB := t.TempDir(), t.TempDir()
	open := func(dir string) *Store {
		t.Helper()
		s, err := Open(filepath.Join(dir, "referral.db"), testPESELKey, nil, WithDataKeys(testRing(t, "k1")), WithEngine(eng))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(dirA), open(dirB)
	ps := people(t)
	for _, p := range ps {
		seed(t, a, p)
	}
	gone := ps[0]
	backup := filepath.Join(t.TempDir(), "referral-backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := a.EraseResident(context.Background(), gone.id, Write{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetResident(gone.id); !errors.Is(err, domain.ErrResidentNotFound) {
		t.Fatalf("replica B reads the resident erased through A: %v", err)
	}
	a.Close()
	b.Close()

	cli := c.Client(t)
	ctx := context.Background()
	journal, err := cli.Get(ctx, "/cus/.journal/referral/erasures/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(journal.Kvs) != 1 || !strings.HasSuffix(string(journal.Kvs[0].Value), " "+gone.id) {
		t.Fatalf("the erasure journal in etcd holds %v, want one record naming the resident", journal.Kvs)
	}
	scan(t, "the erasure journal", journal.Kvs[0].Value, gone.needles())
	for _, dir := range []string{dirA, dirB} {
		if _, err := os.Stat(ErasureJournal(filepath.Join(dir, "referral.db"))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a journal file in a replica's directory on etcd: %v", err)
		}
	}
	raw, _ := os.ReadFile(backup)
	if strings.Contains(string(raw), ".journal/") || strings.Contains(string(raw), string(journal.Kvs[0].Value)) {
		t.Fatal("the backup carries the erasure journal")
	}

	// The restore: the prefix emptied (with its trailing /), the backup copied in under a new feed id.
	if _, err := cli.Delete(ctx, prefix, clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.RestoreToEtcd(ctx, backup, storage.Options{Engine: eng}); err != nil {
		t.Fatal(err)
	}
	if n, err := cli.Get(ctx, prefix+"residents\x00"+gone.id, clientv3.WithCountOnly()); err != nil || n.Count != 1 {
		t.Fatalf("precondition: the restored prefix holds the erased resident (%v, %v)", n, err)
	}

	b = open(dirB)
	defer b.Close()
	if _, err := b.GetResident(gone.id); !errors.Is(err, domain.ErrResidentNotFound) {
		t.Fatalf("erased resident after a restore, on replica B: %v", err)
	}
	for _, p := range ps[1:] {
		if r, err := b.GetResident(p.id); err != nil || r.GetPesel() != p.pesel {
			t.Fatalf("resident of the backup: %v %v", r, err)
		}
	}
	entries, _, _, err := b.ListAudit(0, 1000, domain.ResidentPrefix+gone.id)
	if err != nil || len(entries) == 0 || entries[len(entries)-1].GetSubject() != "system:erasure-journal" {
		t.Fatalf("re-applied erasure not audited: %v %v", entries, err)
	}
	// Replica A opening afterwards finds nothing left to erase.
	rev := b.Revision()
	a = open(dirA)
	defer a.Close()
	if a.Revision() != rev {
		t.Fatalf("replica A's start changed the store: revision %d -> %d", rev, a.Revision())
	}
}

// A replica that ran on etcd before the erasure journal moved into etcd kept it in a file beside its data path.
// Opening the prefix hands that file's records to the journal in etcd (the file is renamed, so it is done once)
// and erases the journaled resident the prefix still holds; every other replica then knows the erasure.
func TestOldErasureJournalFileOfAReplicaIsImportedIntoEtcd(t *testing.T) {
	c := etcdtest.StartOne(t)
	eng := storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/cus/referral/", ScratchDir: t.TempDir()}}
	open := func(dir string) *Store {
		t.Helper()
		s, err := Open(filepath.Join(dir, "referral.db"), testPESELKey, nil, WithDataKeys(testRing(t, "k1")), WithEngine(eng))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	a := open(dirA)
	ps := people(t)
	for _, p := range ps {
		seed(t, a, p)
	}
	a.Close()
	gone := ps[1]
	old := ErasureJournal(filepath.Join(dirB, "referral.db"))
	if err := os.WriteFile(old, []byte("2026-06-15T10:00:00Z "+gone.id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := open(dirB)
	defer b.Close()
	if _, err := b.GetResident(gone.id); !errors.Is(err, domain.ErrResidentNotFound) {
		t.Fatalf("resident of the old journal file: %v", err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old journal file was not renamed: %v", err)
	}
	if _, err := os.Stat(old + ".imported"); err != nil {
		t.Fatal(err)
	}
	journal, err := c.Client(t).Get(context.Background(), "/cus/.journal/referral/erasures/", clientv3.WithPrefix())
	if err != nil || len(journal.Kvs) != 1 || !strings.HasSuffix(string(journal.Kvs[0].Value), " "+gone.id) {
		t.Fatalf("the erasure journal in etcd: %v, %v", journal, err)
	}
	for _, p := range []person{ps[0], ps[2]} {
		if r, err := b.GetResident(p.id); err != nil || r.GetPesel() != p.pesel {
			t.Fatalf("another resident: %v %v", r, err)
		}
	}
}
