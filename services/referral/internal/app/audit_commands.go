package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// AuditCommand maintains the audit log of a stopped referral service (docs/referral.md, "Audit retention"):
//
//	audit archive --before DATE --out FILE   move the entries past their retention (and older than DATE) to a
//	                                         new archive file, then delete them from the data file
//	audit verify [--archives FILE,...]       verify the archives and the live chain as one chain, its head and
//	                                         the anchors (--audit-anchor-file)
//
// Both open the data file, so the service must be stopped (the file is locked while it serves).
func AuditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "archive", "verify":
	default:
		return fmt.Errorf("unknown audit command %q (want archive or verify)", sub)
	}
	var cfg Config
	fs := flag.NewFlagSet("referral audit "+sub, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "var/referral", "directory of the referral service's data file")
	fs.StringVar(&cfg.PESELKeyFile, "pesel-key-file", "", "the PESEL index key; default <data-dir>/pesel.key")
	fs.StringVar(&cfg.DataKeyFile, "data-key-file", "", "the data key ring; default <parent of data-dir>/referral-data.keys")
	fs.StringVar(&cfg.AuditAnchorFile, "audit-anchor-file", "", "the anchor file of the service (--audit-anchor-file): the chain is verified against it")
	var before, out string
	var archives fileList
	maxEntries := 0
	if sub == "archive" {
		registerAuditRetention(fs, &cfg.AuditRetention)
		fs.StringVar(&before, "before", "", "archive only entries older than this date (RFC 3339, or YYYY-MM-DD for its midnight UTC); required")
		fs.StringVar(&out, "out", "", "the archive file to write (must not exist); required")
		fs.IntVar(&maxEntries, "max-entries", store.DefaultArchiveMaxEntries, "at most this many entries in one archive (run again for the rest)")
	} else {
		fs.Var(&archives, "archives", "archive files written by `referral audit archive`, comma-separated or the flag repeated, in any order; all of them from sequence 1, or none (then the live chain is verified from its stored base)")
	}
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	anchors, err := store.ReadAnchors(cfg.AuditAnchorFile)
	if err != nil {
		return fmt.Errorf("--audit-anchor-file: %w", err)
	}
	var opts store.ArchiveOptions
	if sub == "archive" {
		if err := store.CheckAuditRetention(cfg.AuditRetention); err != nil {
			return fmt.Errorf("--audit-retention: %w", err)
		}
		if out == "" {
			return errors.New("--out is required: the archive file to write")
		}
		t, err := parseDate(before)
		if err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		opts = store.ArchiveOptions{Out: out, Before: t, Retention: cfg.AuditRetention, MaxEntries: maxEntries, Anchors: anchors}
	}
	st, err := openExisting(cfg, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "archive" {
		return archiveAudit(ctx, st, opts, stdout)
	}
	return verifyAudit(st, archives, anchors, stdout)
}

func archiveAudit(ctx context.Context, st *store.Store, opts store.ArchiveOptions, stdout io.Writer) error {
	opts.Now = time.Now().UTC()
	res, err := st.ArchiveAudit(ctx, opts)
	if err != nil {
		return err
	}
	if res.Entries == 0 {
		fmt.Fprintf(stdout, "no audit entry older than %s is past its retention (%s, or longer by its legal basis): nothing archived\n",
			opts.Before.Format(time.RFC3339), opts.Retention)
		return nil
	}
	fmt.Fprintf(stdout, "archived %d audit entries (sequences %d to %d) to %s, sha256 %s; the data file's chain now continues from sequence %d (hash %s)\n",
		res.Entries, res.First, res.Last, opts.Out, res.SHA256, res.Last, res.LastHash)
	fmt.Fprintf(stdout, "keep the archive with the earlier ones (on another disk or a WORM share): `referral audit verify --archives` needs all of them\n")
	if res.More {
		fmt.Fprintf(stdout, "more entries are due (--max-entries %d reached): run again with another --out\n", opts.MaxEntries)
	}
	return nil
}

func verifyAudit(st *store.Store, archives []string, anchors []store.Anchor, stdout io.Writer) error {
	r, err := st.VerifyAuditChain(archives, anchors)
	if err != nil {
		return err
	}
	if !r.OK() {
		where := "the data file"
		if r.Problem.Archive != "" {
			where = "archive " + r.Problem.Archive
		}
		return fmt.Errorf("the audit chain does not verify: sequence %d (%s) in %s", r.Problem.Sequence, r.Problem.Why, where)
	}
	if r.Archives > 0 {
		fmt.Fprintf(stdout, "ok: %d archived entries in %d archives (sequences 1 to %d) ", r.Archived, r.Archives, r.BaseSequence)
	} else {
		fmt.Fprintf(stdout, "ok: from the stored base (sequence %d; give --archives to verify the entries before it) ", r.BaseSequence)
	}
	fmt.Fprintf(stdout, "and %d live entries up to the head %d; %d anchors checked, %d older than the entries verified\n",
		r.Entries, r.HeadSequence, r.AnchorsChecked, r.AnchorsSkipped)
	return nil
}

// registerAuditRetention declares --audit-retention (serve and audit archive share it).
func registerAuditRetention(fs *flag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "audit-retention", store.DefaultAuditRetention,
		"how long audit entries stay in the data file before `referral audit archive` may move them to an archive; at least the legal minimum of 2 years (17520h), longer where an entry's legal basis requires (docs/referral.md)")
}

// openExisting opens the data file with the keys it already has: an audit command never creates a store or
// a key.
func openExisting(cfg Config, stdout io.Writer) (*store.Store, error) {
	info, err := store.Inspect(cfg.DataFile())
	if err != nil {
		return nil, err
	}
	if !info.Exists {
		return nil, fmt.Errorf("no data file at %s: give the --data-dir of the service", cfg.DataFile())
	}
	ring, warning, err := store.LoadKeyRing(cfg.DataKeyPath())
	if err != nil {
		return nil, fmt.Errorf("data-key-file: %w", err)
	}
	if warning != "" {
		fmt.Fprintln(stdout, "warning:", warning)
	}
	key, _, err := LoadPESELKey(cfg.PESELKeyPath(), false)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DataFile(), key, zap.NewNop(), store.WithDataKeys(ring))
	if err != nil {
		return nil, fmt.Errorf("data file %s: %w", cfg.DataFile(), err)
	}
	return st, nil
}

// warnAuditDue logs, at start, how many audit entries are past their retention (none is ever deleted by the
// service itself: archiving is an operator's act, `referral audit archive`).
func warnAuditDue(st *store.Store, retention time.Duration, log *zap.Logger) {
	if retention == 0 {
		retention = store.DefaultAuditRetention
	}
	n, more, err := st.AuditDue(time.Now(), retention, 10_000)
	switch {
	case err != nil:
		log.Warn("audit retention not checked", zap.Error(err))
	case n > 0:
		log.Info("audit entries are past their retention: move them to an archive with `referral audit archive` (service stopped)",
			zap.Int64("entries", n), zap.Bool("more", more), zap.Duration("audit_retention", retention))
	}
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("required: archive only entries older than this date (RFC 3339 or YYYY-MM-DD)")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", s)
	}
	return t, nil
}

// fileList is a flag of file names, comma-separated or repeated.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}
