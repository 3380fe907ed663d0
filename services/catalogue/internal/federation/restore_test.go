package federation_test

import (
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
)

// TestPeerRestoredFromABackupIsResynced: a peer is restored from a backup taken 30 services ago and then
// writes on, so its revisions pass our cursor again. The restore gives it a new feed id: ListChanges says so,
// and the follower purges and resyncs to exactly the restored catalogue plus what came after (today the feed
// id was kept, and the follower silently kept the rolled-back services and skipped the rewritten revisions).
func TestPeerRestoredFromABackupIsResynced(t *testing.T) {
	jarDir := t.TempDir()
	jar := startInstance(t, jarocin, jarDir)
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 30; i++ {
		jar.create("Usługa z kopii " + string(rune('a'+i%26)))
	}
	backup := filepath.Join(t.TempDir(), "catalogue-backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jar.st.Backend().Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for i := 0; i < 30; i++ {
		jar.create("Usługa cofnięta " + string(rune('a'+i%26)))
	}
	before, err := jar.client.ListChanges(jar.editor(), &cataloguev1.ListChangesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, jar.addr)
	raw.follow([]federation.Peer{peerOf(jar, raw, px.addr())}, fast)
	eventually(t, "first sync", func() bool { return raw.originCount(jarocin) == 60 })
	jar.stop()

	enginetest.BboltOnly(t, "restores a backup over the data file")
	if err := storage.Restore(backup, filepath.Join(jarDir, "catalogue.db"), time.Second); err != nil {
		t.Fatal(err)
	}
	jar2 := startInstance(t, jarocin, jarDir)
	after, err := jar2.client.ListChanges(jar2.editor(), &cataloguev1.ListChangesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetFeedId() == before.GetFeedId() || after.GetFeedId() == "" {
		t.Fatalf("feed id after the restore %q, before %q: want a new one", after.GetFeedId(), before.GetFeedId())
	}
	for i := 0; i < 40; i++ {
		jar2.create("Usługa po odtworzeniu " + string(rune('a'+i%26)))
	}
	px.setTarget(jar2.addr)
	want := names(jar2, jarocin)
	eventually(t, "exactly the restored catalogue and what came after", func() bool {
		got := names(raw, jarocin)
		if len(got) != len(want) {
			return false
		}
		for k := range want {
			if !got[k] {
				return false
			}
		}
		return true
	})
}
