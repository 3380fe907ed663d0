package store

import (
	"bytes"
	"context"
	"errors"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// sealedOf returns the last 32 bytes of the erased resident's sealed records: bytes only its ciphertext has.
func sealedOf(t *testing.T, s *Store, p person) [][]byte {
	t.Helper()
	var out [][]byte
	_ = s.view(func(tx storage.ReadTx) error {
		for _, bk := range []struct {
			b storage.Bucket
			k string
		}{{bucketResidents, p.id}, {bucketConsents, p.id + "/c-" + p.id}, {bucketCases, "k-" + p.id}} {
			v := tx.Get(bk.b, []byte(bk.k))
			if v == nil {
				t.Fatalf("no %s/%s", bk.b, bk.k)
			}
			out = append(out, append([]byte(nil), v[len(v)-32:]...))
		}
		return nil
	})
	return out
}

func fileHolds(t *testing.T, path string, cts [][]byte) bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cts {
		if bytes.Contains(raw, c) {
			return true
		}
	}
	return false
}

// TestErasureInterruptedBeforeTheSwapIsCompactedAtOpen: the process "dies" after the erasure committed and
// the compaction copied, before the swap. The erased resident's ciphertext is still in the file's free pages
// then (today a later backup carries it); the next Open finds the journaled compaction and finishes it
// before serving.
func TestErasureInterruptedBeforeTheSwapIsCompactedAtOpen(t *testing.T) {
	enginetest.BboltOnly(t, "interrupts the swap of a bbolt compaction")
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	ps := people(t)
	for _, p := range ps {
		seed(t, s, p)
	}
	gone := ps[0]
	cts := sealedOf(t, s, gone)
	s.SetCompactHook(func(st storage.CompactStage) error {
		if st == storage.StageCopied {
			return errors.New("killed before the swap")
		}
		return nil
	})
	if _, err := s.EraseResident(context.Background(), gone.id, Write{}); err == nil {
		t.Fatal("erasure with an interrupted compaction reported success")
	}
	s.Close()
	if !fileHolds(t, path, cts) {
		t.Fatal("precondition: the erased ciphertext should still be in the file's free pages")
	}
	s = openStore(t, path, testRing(t, "k1"))
	defer s.Close()
	if fileHolds(t, path, cts) {
		t.Fatal("the erased resident's ciphertext is still in the file after the next Open")
	}
	if _, err := s.GetResident(gone.id); !errors.Is(err, domain.ErrResidentNotFound) {
		t.Fatalf("erased resident: %v", err)
	}
	if r, err := s.GetResident(ps[1].id); err != nil || r.GetPesel() != ps[1].pesel {
		t.Fatalf("another resident: %v %v", r, err)
	}
}

// TestRestoreDoesNotBringErasedResidentsBack: a backup taken before an erasure is restored (with the
// platform's verified restore); at the next Open the erasure journal erases the resident again (audited),
// its ciphertext is compacted away, and the others are as they were in the backup.
func TestRestoreDoesNotBringErasedResidentsBack(t *testing.T) {
	enginetest.BboltOnly(t, "restores a bbolt backup file and reads its bytes")
	dir := t.TempDir()
	path := filepath.Join(dir, "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	ps := people(t)
	for _, p := range ps {
		seed(t, s, p)
	}
	gone := ps[0]
	cts := sealedOf(t, s, gone)
	backup := filepath.Join(dir, "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.EraseResident(context.Background(), gone.id, Write{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	journal, _ := os.ReadFile(ErasureJournal(path))
	if !strings.Contains(string(journal), gone.id) {
		t.Fatalf("erasure journal %q lacks the resident's id", journal)
	}
	scan(t, "the erasure journal", journal, gone.needles())

	if err := storage.Restore(backup, path, time.Second); err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, path, cts) {
		t.Fatal("precondition: the restored file holds the erased resident")
	}
	s = openStore(t, path, testRing(t, "k1"))
	defer s.Close()
	if _, err := s.GetResident(gone.id); !errors.Is(err, domain.ErrResidentNotFound) {
		t.Fatalf("erased resident after a restore: %v", err)
	}
	if fileHolds(t, path, cts) {
		t.Fatal("the erased resident's ciphertext is in the restored file after the start")
	}
	raw, _ := os.ReadFile(path)
	scan(t, "the restored data file", raw, gone.needles())
	for _, p := range ps[1:] {
		if r, err := s.GetResident(p.id); err != nil || r.GetPesel() != p.pesel {
			t.Fatalf("resident of the backup: %v %v", r, err)
		}
	}
	entries, _, _, err := s.ListAudit(0, 1000, domain.ResidentPrefix+gone.id)
	if err != nil || len(entries) == 0 || entries[len(entries)-1].GetSubject() != "system:erasure-journal" {
		t.Fatalf("re-applied erasure not audited: %v %v", entries, err)
	}
	// A second start finds nothing left to erase.
	rev := s.Revision()
	s.Close()
	s = openStore(t, path, testRing(t, "k1"))
	if s.Revision() != rev {
		t.Fatalf("a second start changed the file: revision %d -> %d", rev, s.Revision())
	}
	s.Close()
}
