package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func fill(t *testing.T, b *Backend, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := put(b, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupStreamCarriesSizeAndChecksum: the handler announces the exact size first and sends the SHA-256
// of the bytes as a trailer, so a client can tell a whole copy from a cut-off one.
func TestBackupStreamCarriesSizeAndChecksum(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "d.db"))
	defer b.Close()
	fill(t, b, 100)
	srv := httptest.NewServer(BackupHandler(b, "d.db", zap.NewNop()))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := strconv.Atoi(resp.Header.Get(HeaderSize)); size != len(body) || size == 0 {
		t.Fatalf("%s %q, body %d bytes", HeaderSize, resp.Header.Get(HeaderSize), len(body))
	}
	sum := sha256.Sum256(body)
	if got := resp.Trailer.Get(TrailerSHA256); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("trailer %s = %q, want %x", TrailerSHA256, got, sum)
	}
}

// TestRestoreRefusesDamagedBackups: a truncated copy, a copy that does not match its checksum file and a
// file that is no data file are refused before anything is replaced: the data file stays as it was.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	dir := t.TempDir()
	b := open(t, filepath.Join(dir, "src.db"))
	fill(t, b, 200)
	var buf bytes.Buffer
	if _, err := b.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	b.Close()
	good := buf.Bytes()
	sum := sha256.Sum256(good)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-100] ^= 0xff

	for _, tc := range []struct {
		name     string
		data     []byte
		checksum string // "" : no checksum file
		want     string
	}{
		{"truncated to half", good[:len(good)/2], "", "not a readable data file"},
		{"truncated to a page boundary", good[:4*4096], "", ""},
		{"one byte changed, checksum file kept", flipped, hex.EncodeToString(sum[:]), "does not match its checksum file"},
		{"not a data file", []byte(strings.Repeat("x", 8192)), "", "not a readable data file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			dst := filepath.Join(d, "d.db")
			live := open(t, dst)
			fill(t, live, 3)
			live.Close()
			before, _ := os.ReadFile(dst)
			src := filepath.Join(d, "backup.db")
			if err := os.WriteFile(src, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.checksum != "" {
				if err := WriteChecksumFile(src, tc.checksum); err != nil {
					t.Fatal(err)
				}
			}
			err := Restore(src, dst, time.Second)
			if !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want a damaged backup error containing %q", err, tc.want)
			}
			after, _ := os.ReadFile(dst)
			if !bytes.Equal(before, after) {
				t.Fatal("the data file was changed by a refused restore")
			}
			if _, err := os.Stat(dst + ".restore"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("temporary copy left behind: %v", err)
			}
		})
	}
}

// TestRestoreGivesANewFeedID: the restored file keeps the backup's data and revision but not its feed id, so
// consumers that followed the old history (their cursor may be past the restored revision) resync.
func TestRestoreGivesANewFeedID(t *testing.T) {
	dir := t.TempDir()
	b := open(t, filepath.Join(dir, "d.db"))
	fill(t, b, 10)
	backup := filepath.Join(dir, "backup.db")
	var buf bytes.Buffer
	if _, err := b.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if err := os.WriteFile(backup, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteChecksumFile(backup, hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	fill(t, b, 20) // history goes on past the backup
	feed, rev := b.FeedID(), b.Revision()
	if feed == "" {
		t.Fatal("no feed id")
	}
	b.Close()
	if err := Restore(backup, filepath.Join(dir, "d.db"), time.Second); err != nil {
		t.Fatal(err)
	}
	r := open(t, filepath.Join(dir, "d.db"))
	defer r.Close()
	if r.Revision() != 10 || rev != 30 {
		t.Fatalf("restored revision %d (was %d), want 10", r.Revision(), rev)
	}
	if r.FeedID() == feed || r.FeedID() == "" {
		t.Fatalf("restored feed id %q, want a new one (was %q)", r.FeedID(), feed)
	}
	// The backup itself is untouched: it still matches its checksum.
	if got, _ := FileSHA256(backup); got != hex.EncodeToString(sum[:]) {
		t.Fatal("restore changed the backup")
	}
}
