package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
)

// BackupCommand copies the data file of a running catalogue through its admin endpoint.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("catalogue backup", flag.ContinueOnError)
	from := fs.String("admin-url", "http://127.0.0.1:9101", "admin URL of the running catalogue")
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
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Printf("backup of revision %s written to %s (%d bytes)\n", resp.Header.Get("X-Revision"), *out, n)
	return nil
}

// RestoreCommand puts a backup in place of the data file of a stopped catalogue.
func RestoreCommand(args []string, getenv func(string) string) error {
	var cfg Config
	fs := flag.NewFlagSet("catalogue restore", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/catalogue", "directory of the catalogue's data file")
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

// GenerateCommand writes a synthetic catalogue into a data file.
func GenerateCommand(ctx context.Context, args []string, getenv func(string) string) error {
	var cfg Config
	var opts demo.SyntheticOptions
	fs := flag.NewFlagSet("catalogue generate", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/catalogue", "directory of the catalogue's data file")
	fs.IntVar(&opts.Services, "services", 100000, "number of services")
	fs.IntVar(&opts.Gminas, "gminas", 200, "number of gminas they are spread over")
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed (same seed, same catalogue)")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if opts.Services < 1 || opts.Gminas < 1 {
		return fmt.Errorf("--services and --gminas must be at least 1")
	}
	start := time.Now()
	n, err := Generate(ctx, cfg.DataFile(), opts, zap.NewNop())
	if err != nil {
		return err
	}
	fmt.Printf("generated %d services over %d gminas into %s in %s\n", n, opts.Gminas, cfg.DataFile(), time.Since(start).Round(time.Millisecond))
	return nil
}
