package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/storage"
)

func TestMigrateToEtcdMovesAFileKeepingItsHistory(t *testing.T) {
	c := etcdtest.StartOne(t)
	path := filepath.Join(t.TempDir(), "provider.db")
	items := storage.Bucket("providers")
	be, err := storage.Open(path, storage.Options{Buckets: []storage.Bucket{items}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if err := be.Update(context.Background(), func(tx storage.Tx) error {
			rev := tx.NextRevision()
			if err := tx.Put(items, []byte(fmt.Sprint("p", i)), []byte("v")); err != nil {
				return err
			}
			return tx.AppendChange(rev, []byte(fmt.Sprint("p", i)))
		}); err != nil {
			t.Fatal(err)
		}
	}
	feed := be.FeedID()
	// A running service's file is refused, naming the lock.
	endpoints := strings.Join(c.Endpoints(), ",")
	args := []string{"--from", path, "--etcd-endpoints", endpoints, "--etcd-prefix", "/cus/provider/"}
	if err := run(append([]string{"migrate-to-etcd"}, args...)); err == nil || !strings.Contains(err.Error(), "running service") {
		t.Fatalf("copy of a file in use: %v", err)
	}
	be.Close()
	// The erasure journal beside the file goes along, into the journal keys beside the prefix.
	if err := os.WriteFile(storage.JournalFile(path, storage.JournalErasures), []byte("2026-06-15T10:00:00Z 0190c3a4-7b1e-7000-8000-000000000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := migrateToEtcd(args, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "copied 403 keys") || !strings.Contains(out.String(), "--etcd-prefix=/cus/provider/") {
		t.Fatalf("output: %s", out.String())
	}
	e, err := storage.Open("", storage.Options{Buckets: []storage.Bucket{items}, Engine: storage.Engine{Kind: storage.EngineEtcd,
		Etcd: storage.EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/cus/provider/"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if j, err := e.Journal(storage.JournalErasures); err != nil || len(j) != 1 || !strings.HasSuffix(j[0], "-000000000001") ||
		!strings.Contains(out.String(), "journal file imported") {
		t.Fatalf("the erasure journal in etcd: %q, %v; output: %s", j, err, out.String())
	}
	if e.Revision() != 200 || e.FeedID() != feed {
		t.Fatalf("on etcd: revision %d, feed %q; want 200, %q", e.Revision(), e.FeedID(), feed)
	}
	// Twice is refused: the prefix is no longer empty.
	if err := migrateToEtcd(args, &out); err == nil || !strings.Contains(err.Error(), "empty prefix") {
		t.Fatalf("second copy: %v", err)
	}
	if err := migrateToEtcd([]string{"--from", path, "--etcd-endpoints", endpoints}, &out); err == nil || !strings.Contains(err.Error(), "--etcd-prefix is required") {
		t.Fatalf("without a prefix: %v", err)
	}
}
