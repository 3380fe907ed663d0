package app

import (
	"context"
	"flag"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/backupcli"
	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
)

// backups are the backup and restore subcommands of the catalogue.
var backups = backupcli.Service{Name: "catalogue", DefaultAdminURL: "http://127.0.0.1:9101", DefaultDataDir: "var/catalogue", DataFile: "catalogue.db"}

// BackupCommand copies the data file of a running catalogue through its admin endpoint.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string) error {
	return backups.Backup(ctx, args, getenv)
}

// RestoreCommand puts a backup in place of the data file of a stopped catalogue.
func RestoreCommand(args []string, getenv func(string) string) error {
	return backups.Restore(args, getenv)
}

// GenerateCommand writes a synthetic catalogue into a data file or, with --out-dir, into files for
// ImportServices (and the search query set of the benchmarks).
func GenerateCommand(ctx context.Context, args []string, getenv func(string) string) error {
	var cfg Config
	var opts demo.SyntheticOptions
	var fo FileOptions
	fs := flag.NewFlagSet("catalogue generate", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/catalogue", "directory of the catalogue's data file")
	fs.IntVar(&opts.Services, "services", 100000, "number of services")
	fs.IntVar(&opts.Gminas, "gminas", 200, "number of gminas they are spread over (2477: all of Poland's)")
	fs.Int64Var(&opts.Seed, "seed", 1, "random seed (same seed, same catalogue)")
	fs.StringVar(&opts.Profile, "profile", demo.ProfileRealistic, "text of the services: realistic (a national catalogue's vocabulary) or harsh (the earlier generator: a few templates, common words in most services)")
	outDir := fs.String("out-dir", "", "write import files (CSV, HSDS 3.0 JSON) and queries.json into this directory instead of a data file")
	fs.StringVar(&fo.Format, "format", FileFormatMixed, "with --out-dir: csv, hsds or mixed (the two in turn)")
	fs.IntVar(&fo.MaxBytes, "max-file-bytes", 3<<20, "with --out-dir: largest file, below the import's 4 MiB")
	fs.IntVar(&fo.Queries, "queries", 200, "with --out-dir: number of search queries in queries.json (0: none)")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if opts.Services < 1 || opts.Gminas < 1 {
		return fmt.Errorf("--services and --gminas must be at least 1")
	}
	start := time.Now()
	if *outDir != "" {
		set, err := GenerateFiles(*outDir, opts, fo)
		if err != nil {
			return err
		}
		fmt.Printf("generated %d services (%s) over %d gminas into %s in %s: %d CSV files (%d services), %d HSDS files (%d services), %.1f MiB\n",
			set.Services, opts.Profile, opts.Gminas, *outDir, time.Since(start).Round(time.Millisecond),
			set.CSVFiles, set.CSVServices, set.HSDSFiles, set.HSDSServices, float64(set.Bytes)/(1<<20))
		return nil
	}
	n, err := Generate(ctx, cfg.DataFile(), opts, zap.NewNop())
	if err != nil {
		return err
	}
	fmt.Printf("generated %d services (%s) over %d gminas into %s in %s\n", n, opts.Profile, opts.Gminas, cfg.DataFile(), time.Since(start).Round(time.Millisecond))
	return nil
}
