package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
)

// BackupCommand copies the data file of a running provider registry through its admin endpoint.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("provider backup", flag.ContinueOnError)
	from := fs.String("admin-url", "http://127.0.0.1:9102", "admin URL of the running provider registry")
	out := fs.String("out", "", "file to write the backup to")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *from+"/backup", nil)
	if err != nil {
		return fmt.Errorf("--admin-url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backup endpoint answered %s", resp.Status)
	}
	tmp := *out + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Printf("backup of revision %s written to %s (%d bytes)\n", resp.Header.Get("X-Revision"), *out, n)
	return nil
}

// RestoreCommand puts a backup in place of the data file of a stopped provider registry.
func RestoreCommand(args []string, getenv func(string) string) error {
	var cfg Config
	fs := flag.NewFlagSet("provider restore", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/provider", "directory of the provider registry's data file")
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
	fmt.Printf("restored %s to %s\n", *from, cfg.DataFile())
	return nil
}
