// Package backupcli is the `backup` and `restore` subcommands every service binary offers: a backup is a
// consistent copy of the data file streamed by the running service's admin endpoint (storage.BackupHandler,
// behind auth.RequireAdmin: the request carries a bearer token of the admin role, read from --token-file);
// the copy is kept only when whole (size, SHA-256 trailer, bbolt consistency check) with its checksum file
// beside it; a restore verifies a backup the same way and puts it in place of the data file of a stopped
// service under a new feed id (storage.Restore).
package backupcli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
)

// Service names what is backed up.
type Service struct {
	// Name of the binary, e.g. "catalogue".
	Name string
	// DefaultAdminURL of the running service, e.g. "http://127.0.0.1:9101".
	DefaultAdminURL string
	// DefaultDataDir and DataFile locate the data file, e.g. "var/catalogue" and "catalogue.db".
	DefaultDataDir string
	DataFile       string
}

// Backup copies the data file of the running service through its admin endpoint into --out (written to a
// temporary file, synced, then renamed, so a failed backup never leaves a truncated file under the name).
func (s Service) Backup(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet(s.Name+" backup", flag.ContinueOnError)
	from := fs.String("admin-url", s.DefaultAdminURL, "admin URL of the running "+s.Name)
	out := fs.String("out", "", "file to write the backup to")
	tokenFile := RegisterTokenFlag(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	token, err := ReadToken(*tokenFile)
	if err != nil {
		return err
	}
	rev, n, err := Fetch(ctx, *from, token, *out)
	if err != nil {
		return err
	}
	fmt.Printf("backup of revision %s written to %s (%d bytes)\n", rev, *out, n)
	return nil
}

// RegisterTokenFlag declares --token-file (env CUS_TOKEN_FILE) on fs.
func RegisterTokenFlag(fs *flag.FlagSet) *string {
	return fs.String("token-file", "", "file holding a bearer token with the admin role (the backup endpoint refuses anyone else)")
}

// ReadToken reads the bearer token of --token-file.
func ReadToken(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("--token-file (%s) is required: the backup endpoint needs a token with the admin role", config.EnvName("token-file"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--token-file: %s is empty", path)
	}
	return tok, nil
}

// Fetch downloads the backup of the service at adminURL, presenting token (admin role), into the file out,
// owner-readable only (it holds everything the service stores). The copy is written to a temporary file and
// kept only when it has the size the service announced, hashes to the SHA-256 the service sent after the
// last byte, and passes bbolt's consistency check; then <out>.sha256 is written beside it (sha256sum format:
// restore checks it) and the copy renamed into place. A stream cut off, or damaged, is an error and leaves
// nothing at out. It returns the revision the copy was taken at and its size.
func Fetch(ctx context.Context, adminURL, token, out string) (revision string, size int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, adminURL+"/backup", nil)
	if err != nil {
		return "", 0, fmt.Errorf("--admin-url: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The refusal is a JSON status; its message says what to fix (no token, wrong role, expired).
		var st struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&st)
		if st.Message != "" {
			return "", 0, fmt.Errorf("backup endpoint answered %s: %s", resp.Status, st.Message)
		}
		return "", 0, fmt.Errorf("backup endpoint answered %s", resp.Status)
	}
	want, err := strconv.ParseInt(resp.Header.Get(storage.HeaderSize), 10, 64)
	if err != nil || want < 0 {
		return "", 0, fmt.Errorf("backup endpoint sent no %s header: is the service older than this command?", storage.HeaderSize)
	}
	tmp := out + ".part"
	n, sum, err := receive(resp, tmp, want)
	if err == nil {
		// The bytes are the ones sent; a consistent data file is what was meant to be sent.
		err = storage.VerifyFile(tmp, time.Second)
	}
	if err == nil {
		// A checksum file of an older copy under the same name must not outlive it.
		if rerr := os.Remove(out + storage.ChecksumSuffix); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", 0, err
	}
	if err := storage.WriteChecksumFile(out, sum); err != nil {
		return "", 0, fmt.Errorf("backup %s written, its checksum file not: %w", out, err)
	}
	if err := storage.SyncDir(filepath.Dir(out)); err != nil {
		return "", 0, err
	}
	return resp.Header.Get(storage.HeaderRevision), n, nil
}

// receive writes the body to tmp (synced) and checks it: exactly want bytes, hashing to the SHA-256 trailer.
// Anything else (a stream cut off, a trailer missing or different) is an error naming what was wrong.
func receive(resp *http.Response, tmp string, want int64) (int64, string, error) {
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, "", fmt.Errorf("backup cut off after %d of %d bytes: %w", n, want, err)
	}
	if n != want {
		return n, "", fmt.Errorf("backup cut off: %d of %d bytes received", n, want)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	// The trailer is read once the body is read to its end.
	sent := resp.Trailer.Get(storage.TrailerSHA256)
	switch {
	case sent == "":
		return n, "", fmt.Errorf("backup stream ended without its %s trailer: the service did not finish it", storage.TrailerSHA256)
	case !strings.EqualFold(sent, sum):
		return n, "", fmt.Errorf("backup damaged in transit: SHA-256 %s, the service sent %s", sum, sent)
	}
	return n, sum, nil
}

// Restore puts --from in place of the data file in --data-dir (storage.Restore: verified first, then given
// a new feed id); the service must be stopped.
func (s Service) Restore(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet(s.Name+" restore", flag.ContinueOnError)
	dir := fs.String("data-dir", s.DefaultDataDir, "directory of the "+s.Name+"'s data file")
	from := fs.String("from", "", "backup file to restore")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("--from is required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	dst := filepath.Join(*dir, s.DataFile)
	if err := storage.Restore(*from, dst, time.Second); err != nil {
		return err
	}
	fmt.Printf("restored %s to %s under a new feed id (followers and watchers resync)\n", *from, dst)
	return nil
}
