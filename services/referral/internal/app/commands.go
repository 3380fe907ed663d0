package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/backupcli"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// BackupCommand copies the data file of a running referral service through its admin endpoint. The file
// holds personal data: it is written readable by its owner only.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("referral backup", flag.ContinueOnError)
	from := fs.String("admin-url", "http://127.0.0.1:9103", "admin URL of the running referral service")
	out := fs.String("out", "", "file to write the backup to")
	tokenFile := backupcli.RegisterTokenFlag(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	token, err := backupcli.ReadToken(*tokenFile)
	if err != nil {
		return err
	}
	rev, n, err := backupcli.Fetch(ctx, *from, token, *out)
	if err != nil {
		return err
	}
	// The residents' records in it are encrypted: it is readable only with the data key ring, which it does
	// not contain (nor the PESEL index key). Both stay in the secret store, never beside the backups.
	fmt.Fprintf(stdout, "backup of revision %s written to %s (%d bytes); personal records in it are encrypted: restoring it needs the data key ring and the PESEL index key, kept in the secret store, not with the backup\n", rev, *out, n)
	return nil
}

// RestoreCommand puts a backup in place of the data file of a stopped referral service, under a new feed id.
// It refuses a backup that fails its checksum file or bbolt's consistency check (storage.VerifyBackup), one
// whose records the data key ring cannot decrypt, and one whose PESEL index was built under another key than
// the one at --pesel-key-file (both by the fingerprints the backup keeps); a missing PESEL key is only warned
// about, as the service refuses to start without it. The erasure journal beside the data file is kept: the
// service re-applies it at start, so residents erased after the backup stay erased.
func RestoreCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("referral restore", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&cfg.PESELKeyFile, "pesel-key-file", "", "the PESEL index key the service will use; default <data-dir>/pesel.key")
	fs.StringVar(&cfg.DataKeyFile, "data-key-file", "", "the data key ring the service will use; default <parent of data-dir>/referral-data.keys")
	from := fs.String("from", "", "backup file to restore")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("--from is required")
	}
	// Checksum and consistency first: Inspect and the key checks below read the file.
	if err := storage.VerifyBackup(*from, time.Second); err != nil {
		return err
	}
	info, err := store.Inspect(*from)
	if err != nil {
		return fmt.Errorf("backup file %s: %w", *from, err)
	}
	if !info.Exists {
		return fmt.Errorf("backup file %s does not exist", *from)
	}
	ring, _, err := store.LoadKeyRing(cfg.DataKeyPath())
	switch {
	case errors.Is(err, os.ErrNotExist) && len(info.DataKeys) > 0:
		return fmt.Errorf("no data key ring at %s, and the backup's records are encrypted: put the ring with key %s there first (or give --data-key-file)",
			cfg.DataKeyPath(), strings.Join(sortedKeys(info.DataKeys), ", "))
	case errors.Is(err, os.ErrNotExist):
		ring = nil
	case err != nil:
		return err
	}
	var peselKey []byte
	if b, err := os.ReadFile(cfg.PESELKeyPath()); err == nil {
		peselKey = b
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := info.Check(peselKey, ring); err != nil {
		return fmt.Errorf("backup file %s does not fit the keys given, nothing restored: %w", *from, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := storage.Restore(*from, cfg.DataFile(), time.Second); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s under a new feed id (watchers resync)\n", *from, cfg.DataFile())
	if _, err := os.Stat(store.ErasureJournal(cfg.DataFile())); err == nil {
		fmt.Fprintf(stdout, "residents erased since the backup (%s) are erased again when the service starts\n", store.ErasureJournal(cfg.DataFile()))
	} else {
		// No journal: no resident was erased here, or the data directory was lost with it.
		fmt.Fprintf(stdout, "no erasure journal at %s: if the data directory was lost, put its copy there before starting, or residents erased after the backup come back\n", store.ErasureJournal(cfg.DataFile()))
	}
	if peselKey == nil {
		fmt.Fprintf(stdout, "warning: no PESEL index key at %s: put the key of the backed-up service there before starting it (the service refuses to start without it)\n", cfg.PESELKeyPath())
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KeysCommand manages the data key ring (--data-key-file):
//
//	keys init    create a ring with one new key (k1)
//	keys rotate  add a new primary key and re-encrypt every record with it (service stopped); --drop-old then
//	             removes the keys the data no longer needs
//	keys drop    remove the keys the data no longer needs
//
// Backups taken before a rotation stay encrypted under the old keys: keep a copy of the old ring with them
// for as long as they are kept.
func KeysCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	var cfg Config
	fs := flag.NewFlagSet("referral keys "+sub, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&cfg.DataKeyFile, "data-key-file", "", "the data key ring; default <parent of data-dir>/referral-data.keys")
	fs.StringVar(&cfg.PESELKeyFile, "pesel-key-file", "", "the PESEL index key (rotate opens the store with it); default <data-dir>/pesel.key")
	dropOld := fs.Bool("drop-old", false, "rotate: then remove the keys the data no longer needs")
	fs.Usage = config.Usage(fs)
	switch sub {
	case "init", "rotate", "drop":
	default:
		return fmt.Errorf("unknown keys command %q (want init, rotate or drop)", sub)
	}
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	path := cfg.DataKeyPath()
	if Inside(path, cfg.DataDir) {
		return fmt.Errorf("data-key-file %s is inside --data-dir %s: keep the key ring apart from the data", path, cfg.DataDir)
	}
	if sub == "init" {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("data-key-file %s exists already; use `referral keys rotate` to add a key", path)
		}
		ring, err := store.NewKeyRing()
		if err != nil {
			return err
		}
		if err := store.WriteKeyRing(path, ring); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created data key ring %s with key %s; keep a copy in the secret store\n", path, ring.Primary())
		return nil
	}
	ring, warning, err := store.LoadKeyRing(path)
	if err != nil {
		return fmt.Errorf("data-key-file: %w", err)
	}
	if warning != "" {
		fmt.Fprintln(stdout, "warning:", warning)
	}
	info, err := store.Inspect(cfg.DataFile())
	if err != nil {
		return err
	}
	if !info.Exists {
		// Dropping keys by the fingerprints of a file that is not there would drop keys the real data needs.
		return fmt.Errorf("no data file at %s: give the --data-dir of the data this ring encrypts", cfg.DataFile())
	}
	if err := info.Check(nil, ring); err != nil {
		return err
	}
	if sub == "rotate" {
		peselKey, _, err := LoadPESELKey(cfg.PESELKeyPath(), false)
		if err != nil {
			return err
		}
		old := ring.IDs()
		id, err := ring.AddKey()
		if err != nil {
			return err
		}
		// The ring is saved with the new key before any record uses it: an interrupted rotation leaves
		// records under keys the ring still holds, and running rotate again finishes it.
		if err := store.WriteKeyRing(path, ring); err != nil {
			return err
		}
		st, err := store.Open(cfg.DataFile(), peselKey, nil, store.WithDataKeys(ring))
		if err != nil {
			return err
		}
		moved, err := st.Reencrypt(ctx)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("re-encryption stopped (run rotate again to finish; every key is still in the ring): %w", err)
		}
		n := 0
		for _, c := range moved {
			n += c
		}
		fmt.Fprintf(stdout, "new primary key %s; re-encrypted %d records; the data no longer needs %s\n", id, n, strings.Join(old, ", "))
		if !*dropOld {
			fmt.Fprintf(stdout, "drop the old keys with `referral keys drop` once no backup you keep needs them\n")
			return nil
		}
		if info, err = store.Inspect(cfg.DataFile()); err != nil {
			return err
		}
	}
	var dropped []string
	for _, id := range ring.IDs() {
		if _, needed := info.DataKeys[id]; !needed && id != ring.Primary() {
			dropped = append(dropped, id)
		}
	}
	if len(dropped) == 0 {
		fmt.Fprintf(stdout, "no key to drop: the data needs %s\n", strings.Join(sortedKeys(info.DataKeys), ", "))
		return nil
	}
	kept := map[string][]byte{}
	for _, id := range ring.IDs() {
		if _, needed := info.DataKeys[id]; needed || id == ring.Primary() {
			kept[id], _ = ring.Key(id)
		}
	}
	smaller, err := store.KeyRingOf(ring.Primary(), kept)
	if err != nil {
		return err
	}
	if err := store.WriteKeyRing(path, smaller); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dropped key %s from %s; backups taken before the rotation need the old ring: keep a copy of it with them\n", strings.Join(dropped, ", "), path)
	return nil
}
