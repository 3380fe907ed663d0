package store

import (
	"context"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
)

// writeSchema1 makes a catalogue data file as schema 1 wrote it: the feed id in the "feed" bucket.
func writeSchema1(t *testing.T, path, feed string) {
	t.Helper()
	be, err := storage.Open(path, storage.Options{Buckets: []storage.Bucket{bucketServices, bucketProgrammes, bucketPeers, bucketFeed}, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = be.Update(context.Background(), func(tx storage.Tx) error {
		// storage gave the file a feed id of its own; schema 1 had none there.
		if err := tx.Delete(storage.BucketMeta, storage.MetaFeedID); err != nil {
			return err
		}
		return tx.Put(bucketFeed, keyFeedID, []byte(feed))
	})
	if err != nil {
		t.Fatal(err)
	}
	be.Close()
}

// TestFeedIDAcrossUpgradeAndRestore: upgrading a schema-1 file keeps its feed id (followers go on), while
// restoring a schema-1 backup gives a new one (followers resync).
func TestFeedIDAcrossUpgradeAndRestore(t *testing.T) {
	enginetest.BboltOnly(t, "writes a schema-1 bbolt file and restores a copy of it")
	dir := t.TempDir()
	path := filepath.Join(dir, "catalogue.db")
	writeSchema1(t, path, "feed-of-schema-1")
	backup := filepath.Join(dir, "backup.db")
	raw, err := os.ReadFile(path)
	if err != nil || os.WriteFile(backup, raw, 0o600) != nil {
		t.Fatal(err)
	}
	st, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.FeedID() != "feed-of-schema-1" {
		t.Fatalf("upgraded feed id %q", st.FeedID())
	}
	st.Close()
	if err := storage.Restore(backup, path, time.Second); err != nil {
		t.Fatal(err)
	}
	st, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.FeedID() == "feed-of-schema-1" || st.FeedID() == "" {
		t.Fatalf("restored feed id %q, want a new one", st.FeedID())
	}
}
