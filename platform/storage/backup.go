package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// keyFeedID in _meta identifies the data file's history. A restore writes a new one into the restored copy,
// so every consumer that keeps a cursor (federation followers, watchers) sees that the history it followed
// was replaced, and resyncs instead of silently skipping the revisions the restore rolled back.
var keyFeedID = []byte("feed_id")

// MetaFeedID is the _meta key of the feed id, for a service migrating a feed id it used to keep elsewhere
// (see the catalogue's schema migration 1 -> 2).
var MetaFeedID = append([]byte(nil), keyFeedID...)

// FeedID identifies this data file's change history: it is made when the file is created and replaced by
// Restore, so a cursor (revision) means something only together with it.
func (b *Backend) FeedID() string {
	var id string
	_ = b.View(func(tx ReadTx) error {
		id = string(tx.Get(BucketMeta, keyFeedID))
		return nil
	})
	return id
}

// Snapshot writes a consistent copy of the whole data file while the backend keeps serving (reads and
// writes: the copy is one read transaction). begin is called first with the copy's exact size and revision
// and returns where to write it; Snapshot returns the number of bytes written. A compaction that swaps the
// file meanwhile does not disturb it: the copy keeps reading the file it started on.
func (b *Backend) Snapshot(begin func(size, revision int64) io.Writer) (int64, error) {
	if b.etcd != nil {
		return b.etcd.snapshot(b, begin)
	}
	db, release := b.acquire()
	defer release()
	var n int64
	err := db.View(func(btx *bolt.Tx) error {
		w := begin(btx.Size(), revisionOf(btx))
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// Backup writes a consistent copy of the whole data file to w and returns the number of bytes written.
func (b *Backend) Backup(w io.Writer) (int64, error) {
	return b.Snapshot(func(int64, int64) io.Writer { return w })
}

// ChecksumSuffix names the file beside a backup holding its SHA-256 (hex, as sha256sum writes it).
const ChecksumSuffix = ".sha256"

// WriteChecksumFile writes "<hex>  <base name>\n" to path+ChecksumSuffix (the sha256sum format, so
// `sha256sum -c` checks it too), synced.
func WriteChecksumFile(path, sum string) error {
	tmp := path + ChecksumSuffix + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s  %s\n", sum, filepath.Base(path))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path+ChecksumSuffix)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrBackupDamaged marks a backup that fails its checksum or bbolt's consistency check.
var ErrBackupDamaged = errors.New("backup is damaged")

// VerifyFile checks that path is a whole, consistent data file: bbolt's Tx.Check over every page (read-only,
// so nothing is changed) and a _meta bucket. Backups are verified with it before they are kept or restored.
func VerifyFile(path string, timeout time.Duration) error {
	// bbolt trusts a file's length when it opens it (and panics, in a goroutine nobody can recover, on a page
	// past the end): a truncated copy is told from its meta pages first.
	if err := checkLength(path); err != nil {
		return err
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return fmt.Errorf("%w: %s is not a readable data file: %w", ErrBackupDamaged, path, err)
	}
	defer db.Close()
	return db.View(func(btx *bolt.Tx) error {
		var problems []string
		for err := range btx.Check() {
			if len(problems) < 5 {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%w: %s fails the consistency check: %s", ErrBackupDamaged, path, strings.Join(problems, "; "))
		}
		if btx.Bucket([]byte(BucketMeta)) == nil {
			return fmt.Errorf("%w: %s has no meta bucket", ErrBackupDamaged, path)
		}
		return nil
	})
}

// VerifyBackup checks a backup before it is used: against its checksum file (src+ChecksumSuffix, when there
// is one; a mismatch is refused, naming both sums), then bbolt's consistency check. Errors wrap
// ErrBackupDamaged and say that nothing was restored.
func VerifyBackup(src string, timeout time.Duration) error {
	if want, err := os.ReadFile(src + ChecksumSuffix); err == nil {
		fields := strings.Fields(string(want))
		if len(fields) == 0 {
			return fmt.Errorf("%w: checksum file %s is empty", ErrBackupDamaged, src+ChecksumSuffix)
		}
		got, err := FileSHA256(src)
		if err != nil {
			return err
		}
		if !strings.EqualFold(fields[0], got) {
			return fmt.Errorf("%w: %s does not match its checksum file %s (SHA-256 %s, file says %s): nothing restored",
				ErrBackupDamaged, src, src+ChecksumSuffix, got, fields[0])
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := VerifyFile(src, timeout); err != nil {
		return fmt.Errorf("%w: nothing restored", err)
	}
	return nil
}

// Restore puts the backup src in place of the data file dst, which must not be locked by a running process.
// Before anything is replaced it checks src against its checksum file (src+ChecksumSuffix, when there is one;
// a mismatch is refused) and runs bbolt's consistency check on it. The copy gets a new feed id (see FeedID)
// before it is renamed into place, so every consumer of the old history resyncs. The copy is synced, renamed
// and the directory synced, so a crash leaves either the old file or the whole restored one.
func Restore(src, dst string, timeout time.Duration) error {
	if err := VerifyBackup(src, timeout); err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		lock, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: timeout})
		if err != nil {
			return fmt.Errorf("data file %s is in use; stop the service before restoring: %w", dst, err)
		}
		_ = lock.Close()
	}
	tmp := dst + ".restore"
	_ = os.Remove(tmp)
	if err := copyFile(src, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	// The copy, not the backup, gets the new feed id: the backup stays as it was taken.
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	err = db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket([]byte(BucketMeta)).Put(keyFeedID, []byte(uuid.NewString()))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("give the restored copy a new feed id: %w", err)
	}
	// A compaction left pending in the data directory belonged to the file being replaced.
	_ = os.Remove(dst + compactMarkerSuffix)
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(dst))
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir makes a rename or a new file in dir durable (fsync of the directory).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkLength compares a data file's length with the number of pages its newest valid meta page says it
// has (bbolt's layout: a 16-byte page header, then magic, version, page size, flags, root bucket (16 bytes),
// freelist page, page count, txid, checksum; little-endian on the platforms the suite runs on).
func checkLength(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	const header, magic = 16, 0xED0CDAED
	readMeta := func(off int64) (pageSize, pages, txid uint64, ok bool) {
		buf := make([]byte, header+64)
		if _, err := f.ReadAt(buf, off); err != nil {
			return 0, 0, 0, false
		}
		m := buf[header:]
		if binary.LittleEndian.Uint32(m[0:]) != magic {
			return 0, 0, 0, false
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
			return 0, 0, 0, false
		}
		return uint64(binary.LittleEndian.Uint32(m[8:])), binary.LittleEndian.Uint64(m[40:]), binary.LittleEndian.Uint64(m[48:]), true
	}
	ps, pages, txid, ok0 := readMeta(0)
	if ok0 && ps >= 1024 {
		if _, p1, t1, ok1 := readMeta(int64(ps)); ok1 && t1 > txid {
			pages = p1
		}
	} else if !ok0 {
		return fmt.Errorf("%w: %s is not a readable data file (no valid meta page)", ErrBackupDamaged, path)
	}
	if need := pages * ps; uint64(fi.Size()) < need {
		return fmt.Errorf("%w: %s is not a readable data file: truncated (%d bytes, its meta page needs %d)", ErrBackupDamaged, path, fi.Size(), need)
	}
	return nil
}
