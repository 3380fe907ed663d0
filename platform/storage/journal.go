package storage

// Journals: records a store keeps outside its data, so that a backup does not hold them and a restore does not
// replace them.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// journalSibling follows an etcd prefix's last "/" in the name of the sibling prefix that holds its journals.
const journalSibling = ".journal/"

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

// journalPrefix is where the journal name of the store's prefix lives on etcd: beside the prefix, not under it
// ("/cus/referral/" keeps its erasures under "/cus/referral.journal/erasures/"), so a backup (which reads the
// prefix) does not carry it and a restore (which fills the emptied prefix) does not remove it. A prefix that
// does not end with "/" has no such sibling: every key beside it that a person would pick starts with it.
func (e *etcdEngine) journalPrefix(name string) (string, error) {
	if !strings.HasSuffix(e.prefix, "/") || len(e.prefix) < 2 {
		return "", fmt.Errorf("etcd prefix %q: a journal is kept beside the prefix, which needs it to end with / (e.g. /cus/referral/)", e.prefix)
	}
	return strings.TrimSuffix(e.prefix, "/") + journalSibling + name + "/", nil
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
	path := JournalFile(b.path, name)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	_, err = f.WriteString(record + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && errors.Is(statErr, os.ErrNotExist) {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", name, err)
	}
	return nil
}

// Journal returns the records of the journal name in the order they were appended (none when there is no
// journal). On bbolt a last line cut short by a crash in the middle of its append is left out: its append
// did not return.
func (b *Backend) Journal(name string) ([]string, error) {
	if b.etcd != nil {
		return b.etcd.journal(name)
	}
	raw, err := os.ReadFile(JournalFile(b.path, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("journal %s: %w", name, err)
	}
	text := string(raw)
	if i := strings.LastIndexByte(text, '\n'); i < len(text)-1 {
		text = text[:i+1] // the torn last line
	}
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
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
	var out []string
	from, end := p, clientv3.GetPrefixRangeEnd(p)
	for {
		var resp *clientv3.GetResponse
		err := e.read(ctx, func(ctx context.Context) (err error) {
			resp, err = e.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(scanPage),
				clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("journal %s: %w", name, unavailable(err))
		}
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Value))
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
