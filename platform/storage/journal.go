package storage

// Journals: records a store keeps outside its data, so that a backup does not hold them and a restore does not
// replace them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// JournalErasures is the referral service's erasure journal (RODO art. 17): one record per erased resident.
const JournalErasures = "erasures"

// SuiteJournals names every journal a service of the suite keeps, for a copy into etcd that does not know
// which service's file it copies (cusctl migrate-to-etcd: Options.Journals).
var SuiteJournals = []string{JournalErasures}

// journalDir is the directory, beside the prefixes of a parent, that holds their journals on etcd.
const journalDir = ".journal/"

// importedSuffix is appended to a journal file's name once its records are in etcd (Open on etcd).
const importedSuffix = ".imported"

// JournalFile is the file of the journal name of the bbolt data file at path: "<path>.<name>", beside it.
func JournalFile(path, name string) string { return path + "." + name }

// JournalLocation says where the journal name of this store is kept, for messages: a file on bbolt, keys of
// etcd (their prefix) on etcd.
func (b *Backend) JournalLocation(name string) string {
	if b.etcd != nil {
		if p, err := b.etcd.journalPrefix(name); err == nil {
			return "etcd keys " + p
		}
	}
	return JournalFile(b.path, name)
}

// journalPrefix is where the journal name of the store's prefix lives on etcd: under the prefix's parent, in
// ".journal/<last segment of the prefix>/<name>/" ("/cus/referral/" keeps its erasures under
// "/cus/.journal/referral/erasures/"). So it is outside the prefix, which a backup reads and a restore empties
// and fills, and no key of it starts with the prefix without its "/" ("etcdctl del --prefix /cus/referral"
// leaves it). That needs a prefix that ends with "/" and whose last segment is a name.
func (e *etcdEngine) journalPrefix(name string) (string, error) {
	trimmed, ok := strings.CutSuffix(e.prefix, "/")
	i := strings.LastIndexByte(trimmed, '/')
	seg := trimmed[i+1:]
	if !ok || seg == "" || seg == "." || seg == ".." || seg+"/" == journalDir {
		return "", fmt.Errorf("--etcd-prefix %q: the service keeps a journal beside its prefix, which needs the prefix to end with / after a name (e.g. /cus/referral/)", e.prefix)
	}
	return trimmed[:i+1] + journalDir + seg + "/" + name + "/", nil
}

// AppendJournal appends record (one line of text: no line break, no personal data) to the store's journal name,
// durably: it returns once the record would survive a crash. A journal lives outside the store's data: a backup
// does not hold it and a restore does not replace it, so what it records still holds after a restore of an
// older backup (the referral's erasures). On bbolt it is the file JournalFile(path, name), each record a line,
// synced (with its directory when the append creates it); keep it with the data directory. On etcd it is keys
// beside the store's prefix (journalPrefix), one per record in the order of appending, each acknowledged once
// a quorum of members has it: every replica of the store reads the same journal.
func (b *Backend) AppendJournal(name, record string) error {
	if strings.ContainsAny(record, "\r\n") || record == "" {
		return fmt.Errorf("journal %s: a record is one non-empty line", name)
	}
	if b.etcd != nil {
		return b.etcd.appendJournal(name, record)
	}
	if err := appendJournalFile(JournalFile(b.path, name), record); err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	return nil
}

// appendJournalFile appends record as a line of the file at path, synced. A last line without its line break
// (an append cut short by a crash, or a copy edited by hand) is ended first, so the two never merge into one.
func appendJournalFile(path, record string) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	line := record + "\n"
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err != nil && !errors.Is(err, io.EOF) {
			_ = f.Close()
			return err
		}
		if last[0] != '\n' {
			line = "\n" + line
		}
	}
	_, err = f.WriteString(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && errors.Is(statErr, os.ErrNotExist) {
		err = SyncDir(filepath.Dir(path))
	}
	return err
}

// Journal returns the records of the journal name in the order they were appended (none when there is no
// journal). On bbolt a last line without its line break is returned too: it may be an append cut short by a
// crash (whose append did not return) or a complete record of a copy restored by hand. The caller validates
// each record and skips what does not parse.
func (b *Backend) Journal(name string) ([]string, error) {
	if b.etcd != nil {
		return b.etcd.journal(name)
	}
	out, err := readJournalFile(JournalFile(b.path, name))
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", name, err)
	}
	return out, nil
}

// readJournalFile returns the non-empty lines of the journal file at path (none when there is no file).
func readJournalFile(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			out = append(out, line)
		}
	}
	return out, nil
}

func (e *etcdEngine) appendJournal(name, record string) error {
	p, err := e.journalPrefix(name)
	if err != nil {
		return err
	}
	// Time-ordered ids: the keys sort in the order of appending (across replicas, to the clocks' precision),
	// and two appends never share a key.
	key := p + uuid.Must(uuid.NewV7()).String()
	ctx, cancel := e.rctx()
	defer cancel()
	if _, err := e.cli.Put(ctx, key, record); err != nil {
		return fmt.Errorf("journal %s: %w", name, unavailable(err))
	}
	return nil
}

func (e *etcdEngine) journal(name string) ([]string, error) {
	p, err := e.journalPrefix(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := e.readCtx()
	defer cancel()
	out, _, err := e.journalAt(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", name, unavailable(err))
	}
	return out, nil
}

// journalAt reads the records under the journal prefix p at one etcd revision, which it returns.
func (e *etcdEngine) journalAt(ctx context.Context, p string) ([]string, int64, error) {
	var out []string
	var rev int64
	from, end := p, clientv3.GetPrefixRangeEnd(p)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(scanPage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		var resp *clientv3.GetResponse
		err := e.read(ctx, func(ctx context.Context) (err error) {
			resp, err = e.cli.Get(ctx, from, opts...)
			return err
		})
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Value))
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// importJournal appends to the etcd journal name the records it does not hold yet, so importing one file twice
// (a copy run again, two replicas) adds nothing the second time: each batch is a Txn that commits only if no
// key of the journal changed since it was read, and is tried again on a fresh read otherwise. It returns the
// number of records added.
func (e *etcdEngine) importJournal(ctx context.Context, name string, records []string) (int, error) {
	p, err := e.journalPrefix(name)
	if err != nil {
		return 0, err
	}
	added := 0
	for attempt := 0; ; attempt++ {
		have, rev, err := e.journalAt(ctx, p)
		if err != nil {
			return added, fmt.Errorf("journal %s: %w", name, unavailable(err))
		}
		seen := make(map[string]bool, len(have)+len(records))
		for _, r := range have {
			seen[r] = true
		}
		var todo []string
		for _, r := range records {
			if !seen[r] && r != "" && !strings.ContainsAny(r, "\r\n") {
				seen[r] = true
				todo = append(todo, r)
			}
		}
		raced := false
		for len(todo) > 0 && !raced {
			var ops []clientv3.Op
			size := 0
			for len(todo) > 0 && len(ops) < e.opt.MaxTxnOps-1 && size+len(todo[0])+len(p)+64 < e.opt.MaxRequestBytes/2 {
				ops = append(ops, clientv3.OpPut(p+uuid.Must(uuid.NewV7()).String(), todo[0]))
				size += len(todo[0]) + len(p) + 64
				todo = todo[1:]
			}
			tr, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(p), "<", rev+1).WithPrefix()).Then(ops...).Commit()
			if err != nil {
				return added, fmt.Errorf("journal %s: %w", name, unavailable(err))
			}
			if !tr.Succeeded {
				raced = true
				break
			}
			added += len(ops)
			rev = tr.Header.Revision
		}
		if !raced {
			return added, nil
		}
		if attempt >= 20 {
			return added, fmt.Errorf("journal %s: written by others during every one of %d imports; try again", name, attempt+1)
		}
	}
}

// importJournalFile imports the records of the journal file into the etcd journal name (importJournal). With
// rename, the file is then renamed to "<file>.imported", so an Open imports it once. A missing file is no error.
func (e *etcdEngine) importJournalFile(ctx context.Context, log *zap.Logger, name, file string, rename bool) (int, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	records, err := readJournalFile(file)
	if err != nil {
		return 0, fmt.Errorf("journal file %s: %w", file, err)
	}
	added, err := e.importJournal(ctx, name, records)
	if err != nil {
		return added, err
	}
	p, _ := e.journalPrefix(name)
	if rename {
		if err := os.Rename(file, file+importedSuffix); err != nil {
			return added, fmt.Errorf("journal file %s imported into etcd, but not renamed: %w", file, err)
		}
		if err := SyncDir(filepath.Dir(file)); err != nil {
			return added, err
		}
	}
	log.Info("journal file imported into etcd", zap.String("journal", name), zap.String("file", file),
		zap.Int("records", len(records)), zap.Int("added", added), zap.String("etcd_keys", p), zap.Bool("renamed", rename))
	return added, nil
}
