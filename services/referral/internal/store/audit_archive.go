package store

// Archives of the audit log (archiwum dziennika zdarzeń): the oldest entries, once past their retention
// (audit_retention.go), are written to a self-describing file and only then deleted from the data file, which
// records where the live chain now starts (its base). VerifyAuditChain (audit.go) verifies the archives and the
// live chain as one chain.
//
// An archive is newline-delimited JSON:
//
//	{"format":"cus-referral-audit-archive/1","first_sequence":1,"last_sequence":120,"entries":120,"previous_hash":"","last_hash":"…",…}
//	{"sequence":"1","time":"…","subject":"…",…,"hash":"…"}     one AuditEntry (protojson) per line, in sequence order
//	…
//	{"sha256":"…"}                                              SHA-256 (hex) of every byte above this line
//
// previous_hash is the hash of the entry before the first one (empty when the archive starts the chain), so
// archives link to one another and the last one to the data file's base.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// ArchiveFormat names the archive format in its header.
const ArchiveFormat = "cus-referral-audit-archive/1"

// DefaultArchiveMaxEntries bounds one archive (and the transaction that deletes its entries); run the archive
// again for the rest.
const DefaultArchiveMaxEntries = 200_000

// ErrAuditChainBroken: the live chain does not verify, so nothing is archived (moving entries of a tampered
// chain out of the data file would hide the evidence).
var ErrAuditChainBroken = errors.New("the audit chain does not verify")

// archiveHeader is the first line of an archive.
type archiveHeader struct {
	Format       string `json:"format"`
	First        int64  `json:"first_sequence"`
	Last         int64  `json:"last_sequence"`
	Entries      int64  `json:"entries"`
	PreviousHash string `json:"previous_hash"`
	LastHash     string `json:"last_hash"`
	FirstTime    string `json:"first_time"`
	LastTime     string `json:"last_time"`
	Before       string `json:"before,omitempty"`
	Retention    string `json:"retention"`
	Created      string `json:"created"`
}

type archiveTrailer struct {
	SHA256 string `json:"sha256"`
}

// ArchiveOptions of ArchiveAudit.
type ArchiveOptions struct {
	// Out is the archive file to write; it must not exist.
	Out string
	// Before: only entries older than it are archived (zero: only the retention limits).
	Before time.Time
	// Now is the time the retention is counted to (zero: the store's clock).
	Now time.Time
	// Retention of --audit-retention (zero: DefaultAuditRetention); below MinAuditRetention it is refused.
	Retention time.Duration
	// MaxEntries in one archive (0: DefaultArchiveMaxEntries).
	MaxEntries int
	// Anchors (--audit-anchor-file) the live chain is verified against before anything is archived.
	Anchors []Anchor
}

// ArchiveResult says what ArchiveAudit did.
type ArchiveResult struct {
	// Entries archived (0: none was due, no file written), sequences First..Last.
	Entries, First, Last int64
	// PreviousHash is the hash of entry First-1, LastHash that of Last (the data file's new base).
	PreviousHash, LastHash string
	// SHA256 of the archive (its trailer).
	SHA256 string
	// More: entries after Last are due too (MaxEntries reached); run again.
	More bool
}

// ArchiveAudit moves the entries past their retention (and before opts.Before) to a new archive file: the
// longest run of such entries from the chain's base, so an entry still to be kept is never archived, nor any
// after it. It verifies the live chain first (refusing with ErrAuditChainBroken), writes and fsyncs the
// archive, and only then deletes the archived entries in one transaction that also records the new base (the
// last archived entry's sequence and hash). If that transaction fails the archive file stays: the data file
// either still holds its entries (VerifyAuditChain with the archive then reports "archives overlap": delete
// the file and run again) or has its base moved (the archive is needed).
func (s *Store) ArchiveAudit(ctx context.Context, opts ArchiveOptions) (res ArchiveResult, err error) {
	if opts.Retention == 0 {
		opts.Retention = DefaultAuditRetention
	}
	if err := CheckAuditRetention(opts.Retention); err != nil {
		return res, fmt.Errorf("audit retention %w", err)
	}
	if opts.Out == "" {
		return res, errors.New("no archive file given")
	}
	if opts.Now.IsZero() {
		opts.Now = s.now()
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultArchiveMaxEntries
	}
	if _, err := os.Stat(opts.Out); err == nil {
		return res, fmt.Errorf("archive file %s exists already: give a new file", opts.Out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	rep, err := s.VerifyAuditChain(nil, opts.Anchors)
	if err != nil {
		return res, err
	}
	if !rep.OK() {
		return res, fmt.Errorf("%w at sequence %d (%s): nothing archived", ErrAuditChainBroken, rep.Problem.Sequence, rep.Problem.Why)
	}
	due := func(e *referralv1.AuditEntry) bool {
		if e.GetTime() == nil {
			return false
		}
		if !opts.Before.IsZero() && !e.GetTime().AsTime().Before(opts.Before) {
			return false
		}
		return !opts.Now.Before(AuditKeepUntil(e, opts.Retention))
	}
	tmp := opts.Out + ".partial"
	err = s.view(func(tx storage.ReadTx) error {
		base, baseHash := seqHash(tx.Get(bucketAuditHead, keyBase))
		res.PreviousHash = baseHash
		// Pass 1: how far the due run goes.
		var first, last *referralv1.AuditEntry
		err := tx.Scan(bucketAudit, storage.RevisionKey(base+1), func(_, v []byte) (bool, error) {
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				return false, err
			}
			if !due(e) {
				return false, nil
			}
			if first == nil {
				first = e
			}
			if res.Entries == int64(opts.MaxEntries) {
				res.More = true
				return false, nil
			}
			last = e
			res.Entries++
			return true, nil
		})
		if err != nil || res.Entries == 0 {
			return err
		}
		res.First, res.Last, res.LastHash = first.GetSequence(), last.GetSequence(), last.GetHash()
		// Pass 2, in the same snapshot: write them. A .partial file left by an interrupted run is stale
		// (nothing is deleted before the archive is in place), so it is replaced.
		_ = os.Remove(tmp)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		sum := sha256.New()
		w := bufio.NewWriterSize(io.MultiWriter(f, sum), 1<<16)
		hdr := archiveHeader{Format: ArchiveFormat, First: res.First, Last: res.Last, Entries: res.Entries,
			PreviousHash: res.PreviousHash, LastHash: res.LastHash,
			FirstTime: first.GetTime().AsTime().UTC().Format(time.RFC3339Nano), LastTime: last.GetTime().AsTime().UTC().Format(time.RFC3339Nano),
			Retention: opts.Retention.String(), Created: opts.Now.UTC().Format(time.RFC3339)}
		if !opts.Before.IsZero() {
			hdr.Before = opts.Before.UTC().Format(time.RFC3339)
		}
		if err := writeJSONLine(w, hdr); err != nil {
			return err
		}
		err = tx.Scan(bucketAudit, storage.RevisionKey(res.First), func(k, v []byte) (bool, error) {
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				return false, err
			}
			b, err := protojson.Marshal(e)
			if err != nil {
				return false, err
			}
			if _, err := w.Write(append(b, '\n')); err != nil {
				return false, err
			}
			return e.GetSequence() < res.Last, nil
		})
		if err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		res.SHA256 = hex.EncodeToString(sum.Sum(nil))
		if err := writeJSONLine(f, archiveTrailer{SHA256: res.SHA256}); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil || res.Entries == 0 {
		_ = os.Remove(tmp)
		return res, err
	}
	if err := os.Rename(tmp, opts.Out); err != nil {
		_ = os.Remove(tmp)
		return res, err
	}
	if err := storage.SyncDir(filepath.Dir(opts.Out)); err != nil {
		return res, fmt.Errorf("archive %s written but its directory not synced, nothing deleted from the data file: %w", opts.Out, err)
	}
	// The archive is durable: now delete its entries and move the base, in one transaction.
	lastHash, err := hex.DecodeString(res.LastHash)
	if err != nil {
		return res, err
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		base, baseHash := seqHash(tx.Get(bucketAuditHead, keyBase))
		if base != res.First-1 || baseHash != res.PreviousHash {
			return fmt.Errorf("the audit base moved meanwhile (another archive ran): %s is not needed, delete it", opts.Out)
		}
		if v := tx.Get(bucketAudit, storage.RevisionKey(res.Last)); v == nil {
			return fmt.Errorf("audit entry %d vanished meanwhile", res.Last)
		}
		for seq := res.First; seq <= res.Last; seq++ {
			if err := tx.Delete(bucketAudit, storage.RevisionKey(seq)); err != nil {
				return err
			}
		}
		return tx.Put(bucketAuditHead, keyBase, seqHashValue(res.Last, lastHash))
	})
	if err != nil {
		return res, fmt.Errorf("archive %s written, but its entries were not deleted from the data file: %w", opts.Out, err)
	}
	return res, nil
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// auditArchive is an archive file being verified: its header, read first (so archives can be put in order),
// then its entries, streamed.
type auditArchive struct {
	path   string
	header archiveHeader
	// problem, when the header is unreadable.
	problem string
}

// openAuditArchive reads an archive's header. A file that cannot be opened is an error; one whose header is
// not an archive's is returned with a problem.
func openAuditArchive(path string) (*auditArchive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &auditArchive{path: path}
	line, err := bufio.NewReaderSize(f, 1<<16).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if json.Unmarshal(line, &a.header) != nil || a.header.Format != ArchiveFormat || a.header.First < 1 || a.header.Last < a.header.First {
		a.problem = "archive malformed"
	}
	return a, nil
}

// scan streams the archive's entries to fn (which returns why an entry does not follow the chain, or "") and
// checks the trailer's checksum. It returns the first problem ("" when none): fn's, "archive malformed" or
// "archive checksum".
func (a *auditArchive) scan(fn func(e *referralv1.AuditEntry) string) (string, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	sum := sha256.New()
	var pending []byte // the last line read: the trailer once the file ends
	for n := 0; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if pending != nil {
				if why := a.line(n-1, pending, sum, fn); why != "" {
					return why, nil
				}
			}
			pending = line
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	var tr archiveTrailer
	if pending == nil || json.Unmarshal(pending, &tr) != nil || tr.SHA256 == "" {
		return "archive malformed", nil
	}
	if tr.SHA256 != hex.EncodeToString(sum.Sum(nil)) {
		return "archive checksum", nil
	}
	return "", nil
}

// line takes line n (0 is the header) of the archive before its trailer.
func (a *auditArchive) line(n int, line []byte, sum hash.Hash, fn func(*referralv1.AuditEntry) string) string {
	sum.Write(line)
	if n == 0 {
		return ""
	}
	e := &referralv1.AuditEntry{}
	if err := protojson.Unmarshal(line, e); err != nil {
		return "archive malformed"
	}
	return fn(e)
}

// AuditDue counts, up to limit, the entries from the chain's base that ArchiveAudit would archive at now with
// this retention (more: there are more than limit).
func (s *Store) AuditDue(now time.Time, retention time.Duration, limit int64) (n int64, more bool, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		base, _ := seqHash(tx.Get(bucketAuditHead, keyBase))
		return tx.Scan(bucketAudit, storage.RevisionKey(base+1), func(_, v []byte) (bool, error) {
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				return false, err
			}
			if e.GetTime() == nil || now.Before(AuditKeepUntil(e, retention)) {
				return false, nil
			}
			if n == limit {
				more = true
				return false, nil
			}
			n++
			return true, nil
		})
	})
	return n, more, err
}
