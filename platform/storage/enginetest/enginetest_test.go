package enginetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cus-suite/cus/platform/storage"
)

// TestMain runs this package on etcd whatever the environment says: the hook is what is under test.
func TestMain(m *testing.M) {
	_ = os.Setenv(EnvVar, string(storage.EngineEtcd))
	Main(m)
}

var bucket = storage.Bucket("things")

func open(t *testing.T, path string) *storage.Backend {
	t.Helper()
	b, err := storage.Open(path, storage.Options{Buckets: []storage.Bucket{bucket}})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return b
}

func put(t *testing.T, b *storage.Backend, k, v string) error {
	t.Helper()
	return b.Update(context.Background(), func(tx storage.Tx) error { return tx.Put(bucket, []byte(k), []byte(v)) })
}

func get(t *testing.T, b *storage.Backend, k string) string {
	t.Helper()
	var v string
	if err := b.View(func(tx storage.ReadTx) error { v = string(tx.Get(bucket, []byte(k))); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

// A bbolt path opens an etcd prefix of its own: no file, the data back when the path is reopened, none seen
// from another path; Path keeps the bbolt path.
func TestBoltPathsOpenEtcdPrefixes(t *testing.T) {
	dir := t.TempDir()
	a, other := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")

	b := open(t, a)
	if err := put(t, b, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if b.Path() != a {
		t.Errorf("Path() = %q, want the bbolt path %q", b.Path(), a)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a data file was created at %s (stat: %v): the store is not on etcd", a, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	again := open(t, a)
	defer func() { _ = again.Close() }()
	if got := get(t, again, "k"); got != "v1" {
		t.Errorf("reopened %s: k = %q, want v1", a, got)
	}
	o := open(t, other)
	defer func() { _ = o.Close() }()
	if got := get(t, o, "k"); got != "" {
		t.Errorf("another path sees k = %q: the prefixes are not apart", got)
	}
}

func TestPrefixIsStablePerPath(t *testing.T) {
	if Prefix("x/a.db") != Prefix("x/./a.db") || Prefix("x/a.db") == Prefix("x/b.db") {
		t.Errorf("Prefix: same path %q %q, other path %q", Prefix("x/a.db"), Prefix("x/./a.db"), Prefix("x/b.db"))
	}
}
