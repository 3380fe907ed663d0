package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cus-suite/cus/platform/backupcli"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
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
	fmt.Fprintf(stdout, "backup of revision %s written to %s (%d bytes); keep the PESEL index key (pesel.key) with it\n", rev, *out, n)
	return nil
}

// RestoreCommand puts a backup in place of the data file of a stopped referral service.
func RestoreCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	var cfg Config
	fs := flag.NewFlagSet("referral restore", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&cfg.PESELKeyFile, "pesel-key-file", "", "the PESEL index key the service will use; default <data-dir>/pesel.key")
	from := fs.String("from", "", "backup file to restore")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("--from is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := storage.Restore(*from, cfg.DataFile(), time.Second); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s\n", *from, cfg.DataFile())
	key := cfg.PESELKeyFile
	if key == "" {
		key = filepath.Join(cfg.DataDir, "pesel.key")
	}
	if _, err := os.Stat(key); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "warning: no PESEL index key at %s: put the key of the backed-up service there before starting it, or lookups by PESEL will find nothing\n", key)
	}
	return nil
}
