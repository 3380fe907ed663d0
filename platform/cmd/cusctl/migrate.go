package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/storage"
)

// migrateToEtcd copies a stopped service's data file, or a backup of either engine, into an empty etcd prefix
// (storage.MigrateToEtcd): revisions, change log and feed id are kept, so followers and watchers carry on
// from where they were. The journal files beside --from (storage.SuiteJournals: the referral's erasure journal
// referral.db.erasures) are copied into the etcd journals, each record once however often the copy runs.
// With --new-feed-id it is a restore instead (storage.RestoreToEtcd): consumers resync.
func migrateToEtcd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cusctl migrate-to-etcd", flag.ContinueOnError)
	from := fs.String("from", "", "the service's data file (the service stopped) or a backup of it, e.g. var/provider/provider.db")
	newFeed := fs.Bool("new-feed-id", false, "give the copy a new feed id, as a restore does (every follower and watcher resyncs)")
	timeout := fs.Duration("timeout", 10*time.Minute, "time the whole copy may take")
	var eng storage.EngineFlags
	eng.RegisterFlags(fs, "SERVICE")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from is required: the data file or backup to copy")
	}
	if fs.Lookup("etcd-prefix").Value.String() == "/cus/SERVICE/" {
		return errors.New("--etcd-prefix is required: the prefix the service will run on, e.g. /cus/provider/")
	}
	eng.Kind = string(storage.EngineEtcd)
	e, err := eng.Engine()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	copyFn := storage.MigrateToEtcd
	if *newFeed {
		copyFn = storage.RestoreToEtcd
	}
	start := time.Now()
	// The journal files beside --from (the referral's erasures) are copied too; what was copied is logged.
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey, enc.CallerKey = "", ""
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(out), zapcore.InfoLevel))
	n, err := copyFn(ctx, *from, storage.Options{Engine: e, OpenTimeout: time.Second, Journals: storage.SuiteJournals, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %d keys from %s into etcd prefix %s in %v; start the service with --storage-engine=etcd --etcd-prefix=%s\n",
		n, *from, e.Etcd.Prefix, time.Since(start).Round(time.Millisecond), e.Etcd.Prefix)
	return nil
}
