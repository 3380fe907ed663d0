package store

// The hash-chained audit log (dziennik zdarzeń): appending, listing, and verifying the chain against its stored
// head, its stored base (where the live chain continues after older entries were archived, audit_archive.go)
// and the anchors kept outside the data file.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// keyBase, in bucketAuditHead, is the chain's base: the 8-byte sequence and 32-byte hash of the last entry
// moved to an archive. The live chain continues from it; absent until the first archive.
var keyBase = []byte("base")

// Audit appends one entry (a read, a denial, a failure, a summary) on its own. A read of personal data must
// not be answered when this fails (the caller fails closed).
func (s *Store) Audit(ctx context.Context, e *referralv1.AuditEntry) error {
	if f := s.auditFault.Load(); f != nil {
		return *f
	}
	return s.update(ctx, func(tx storage.Tx) error { return s.appendAudit(tx, e) })
}

// SetAuditFault makes every Audit call fail with err until it is called with nil: tests use it to prove that
// reads fail closed when the audit log cannot be written (a full disk, a broken file).
func (s *Store) SetAuditFault(err error) {
	if err == nil {
		s.auditFault.Store(nil)
		return
	}
	s.auditFault.Store(&err)
}

// AuditHead returns the sequence and hex hash of the last entry as the chain's head records them (0, "" when
// the log is empty). Anchoring them outside the data file lets VerifyAudit detect a rewritten or truncated
// chain whose head was recomputed too.
func (s *Store) AuditHead() (seq int64, hash string, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		seq, hash = seqHash(tx.Get(bucketAuditHead, keyHead))
		return nil
	})
	return seq, hash, err
}

// AuditBase returns the sequence and hex hash of the last archived entry, where the live chain continues
// (0, "" when nothing was archived).
func (s *Store) AuditBase() (seq int64, hash string, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		seq, hash = seqHash(tx.Get(bucketAuditHead, keyBase))
		return nil
	})
	return seq, hash, err
}

// seqHash decodes an 8-byte sequence + 32-byte hash value (the head, the base).
func seqHash(v []byte) (int64, string) {
	if len(v) != 40 {
		return 0, ""
	}
	return int64(binary.BigEndian.Uint64(v[:8])), hex.EncodeToString(v[8:])
}

func seqHashValue(seq int64, hash []byte) []byte {
	v := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(v, uint64(seq))
	return append(v, hash...)
}

func auditBytes(e *referralv1.AuditEntry) []byte {
	c := proto.Clone(e).(*referralv1.AuditEntry)
	c.Hash, c.PreviousHash = "", ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return b
}

func chainHash(prev []byte, entry []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(entry)
	return h.Sum(nil)
}

// appendAudit chains e after the last entry inside tx. The entry given is not modified (a group commit may
// run this function again).
func (s *Store) appendAudit(tx storage.Tx, in *referralv1.AuditEntry) error {
	if in == nil {
		return nil
	}
	e := proto.Clone(in).(*referralv1.AuditEntry)
	var seq int64
	var prev []byte
	if v := tx.Get(bucketAuditHead, keyHead); len(v) == 40 {
		seq = int64(binary.BigEndian.Uint64(v[:8]))
		prev = append([]byte(nil), v[8:]...)
	}
	seq++
	e.Sequence = seq
	if e.Time == nil {
		e.Time = timestamppb.New(s.now())
	}
	if prev != nil {
		e.PreviousHash = hex.EncodeToString(prev)
	}
	h := chainHash(prev, auditBytes(e))
	e.Hash = hex.EncodeToString(h)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		return err
	}
	if err := tx.Put(bucketAudit, storage.RevisionKey(seq), b); err != nil {
		return err
	}
	return tx.Put(bucketAuditHead, keyHead, seqHashValue(seq, h))
}

// ListAudit returns up to limit entries after sequence `after`, optionally only about one resource. Archived
// entries are no longer listed (they are in the archive files).
func (s *Store) ListAudit(after int64, limit int, resource string) (out []*referralv1.AuditEntry, last int64, more bool, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		return tx.Scan(bucketAudit, storage.RevisionKey(after+1), func(k, v []byte) (bool, error) {
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				return false, err
			}
			if resource != "" && e.GetResource() != resource && !slices.Contains(e.GetDisclosed(), resource) {
				return true, nil
			}
			if len(out) == limit {
				more = true
				return false, nil
			}
			out = append(out, e)
			last = e.GetSequence()
			return true, nil
		})
	})
	return out, last, more, err
}

// VerifyAudit recomputes the chain and checks it against its stored head (VerifyAuditAnchored without
// anchors); it returns the number of entries and the sequence of the first entry that does not verify or is
// missing (0 when all do).
func (s *Store) VerifyAudit() (n int64, broken int64, err error) {
	n, p, err := s.VerifyAuditAnchored(nil)
	return n, p.Sequence, err
}

// AuditProblem says what the verification found wrong.
type AuditProblem struct {
	// Sequence of the first entry that does not verify or is missing (0 when the chain verifies).
	Sequence int64
	// Why, for the log: "hash", "order", "head", "anchor", "shorter than anchor", "base", "archive missing",
	// "archives overlap", "archive header", "archive checksum", "archive malformed".
	Why string
	// Archive is the archive file the problem is in ("" for the live data).
	Archive string
}

// Anchor is a (sequence, hash) pair of the chain recorded outside the data file.
type Anchor struct {
	Sequence int64
	Hash     string
}

// ReadAnchors parses an anchor file of "<time> <sequence> <hash>" lines (--audit-anchor-file); a missing
// file or an empty path has no anchors, a malformed line is an error (a tampered anchor file must not pass
// for an empty one).
func ReadAnchors(path string) ([]Anchor, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Anchor
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 3 {
			return nil, fmt.Errorf("anchor file line %d: want <time> <sequence> <hash>", line)
		}
		seq, err := strconv.ParseInt(fs[1], 10, 64)
		if err != nil || seq <= 0 || len(fs[2]) != 64 {
			return nil, fmt.Errorf("anchor file line %d: bad sequence or hash", line)
		}
		out = append(out, Anchor{Sequence: seq, Hash: fs[2]})
	}
	return out, sc.Err()
}

// VerifyAuditAnchored recomputes the live chain from its stored base and checks it against its stored head
// and the anchors given (taken outside the data file): the last entry must be the head (an entry deleted from
// the tail, or a head left behind by a rewrite, is detected), every anchored entry from the base on must
// exist with the anchored hash, and the chain must not be shorter than the last anchor (a rewrite that
// recomputed the chain and its head is detected up to the last anchor). Anchors older than the base are
// checked only by VerifyAuditChain with the archives. It returns the number of live entries and the first
// problem (Sequence 0 when all verifies).
func (s *Store) VerifyAuditAnchored(anchors []Anchor) (n int64, broken AuditProblem, err error) {
	r, err := s.VerifyAuditChain(nil, anchors)
	return r.Entries, r.Problem, err
}

// AuditReport is the outcome of VerifyAuditChain.
type AuditReport struct {
	// Entries of the live chain verified.
	Entries int64
	// Archived entries verified, in Archives archive files.
	Archived int64
	Archives int
	// BaseSequence is the stored base: the sequence of the last archived entry (0 when nothing was archived).
	BaseSequence int64
	// FirstSequence is the first sequence verified: 1 when the whole history was, BaseSequence+1 when only
	// the live chain was.
	FirstSequence int64
	// HeadSequence is the stored head (the last entry).
	HeadSequence int64
	// Anchors checked, and anchors older than everything verified (not checkable without their archive).
	AnchorsChecked, AnchorsSkipped int
	// Problem is the first problem found (Sequence 0 when all verifies).
	Problem AuditProblem
}

// OK says whether everything verified.
func (r AuditReport) OK() bool { return r.Problem.Sequence == 0 }

// chain recomputes a hash chain entry by entry, across archives and into the live data.
type chain struct {
	next int64  // the sequence expected next
	prev []byte // the hash of entry next-1 (nil before entry 1)
	// anchored holds the hash seen for each anchored sequence once passed.
	anchored map[int64]string
}

// add checks that e, stored under key sequence seq, follows the chain.
func (c *chain) add(seq int64, e *referralv1.AuditEntry) (why string) {
	if seq != c.next || e.GetSequence() != seq {
		return "order"
	}
	if e.GetPreviousHash() != hex.EncodeToString(c.prev) || e.GetHash() != hex.EncodeToString(chainHash(c.prev, auditBytes(e))) {
		return "hash"
	}
	if _, ok := c.anchored[seq]; ok {
		c.anchored[seq] = e.GetHash()
	}
	c.prev, _ = hex.DecodeString(e.GetHash())
	c.next++
	return ""
}

// VerifyAuditChain verifies the whole audit history: each archive file given (its checksum and its own
// chain; archive_audit.go), that the archives follow one another without a gap or an overlap (each one's
// preceding hash is the previous one's last hash), that the stored base is the last archive's last entry, that
// the live chain continues from the base and ends at the stored head, and the anchors. Without archives it
// verifies the live chain from the stored base, so it stays ok after archiving; anchors older than the first
// sequence verified are skipped (counted in AnchorsSkipped), never failed. An archive that cannot be read is
// an error; one that is malformed or tampered with is a Problem naming it.
func (s *Store) VerifyAuditChain(archives []string, anchors []Anchor) (r AuditReport, err error) {
	c := &chain{next: 1, anchored: map[int64]string{}}
	for _, a := range anchors {
		c.anchored[a.Sequence] = ""
	}
	fail := func(seq int64, why, archive string) {
		if seq < 1 {
			seq = 1
		}
		r.Problem = AuditProblem{Sequence: seq, Why: why, Archive: archive}
	}
	var read []*auditArchive
	for _, path := range archives {
		a, err := openAuditArchive(path)
		if err != nil {
			return r, err
		}
		read = append(read, a)
	}
	slices.SortStableFunc(read, func(a, b *auditArchive) int { return cmp.Compare(a.header.First, b.header.First) })
	// Archives first, in sequence order.
	for _, a := range read {
		r.Archives++
		h := a.header
		switch {
		case a.problem != "":
			fail(c.next, a.problem, a.path)
		case h.First > c.next:
			fail(c.next, "archive missing", a.path)
		case h.First < c.next:
			fail(h.First, "archives overlap", a.path)
		case h.PreviousHash != hex.EncodeToString(c.prev):
			fail(h.First, "archive header", a.path)
		}
		if r.Problem.Sequence != 0 {
			return r, nil
		}
		var entries int64
		why, err := a.scan(func(e *referralv1.AuditEntry) string {
			if why := c.add(e.GetSequence(), e); why != "" {
				return why
			}
			entries++
			return ""
		})
		r.Archived += entries
		switch {
		case err != nil:
			return r, err
		case why == "archive checksum":
			// Every entry verified, but the file is not the one written (its header or layout changed).
			fail(h.First, why, a.path)
		case why != "":
			fail(c.next, why, a.path)
		case c.next-1 != h.Last || hex.EncodeToString(c.prev) != h.LastHash || entries != h.Entries:
			fail(min(c.next, h.Last), "archive header", a.path)
		}
		if r.Problem.Sequence != 0 {
			return r, nil
		}
	}
	err = s.view(func(tx storage.ReadTx) error {
		var baseHash string
		r.BaseSequence, baseHash = seqHash(tx.Get(bucketAuditHead, keyBase))
		if v := tx.Get(bucketAuditHead, keyBase); v != nil && len(v) != 40 {
			fail(1, "base", "")
			return nil
		}
		if len(read) == 0 {
			// Only the live data: trust the stored base as the chain's start.
			c.next = r.BaseSequence + 1
			c.prev, _ = hex.DecodeString(baseHash)
		} else if r.BaseSequence != c.next-1 || baseHash != hex.EncodeToString(c.prev) {
			switch {
			case r.BaseSequence > c.next-1:
				fail(c.next, "archive missing", "") // entries up to the base were archived in a file not given
			default:
				fail(r.BaseSequence+1, "base", "")
			}
			return nil
		}
		r.FirstSequence = 1
		if len(read) == 0 {
			r.FirstSequence = r.BaseSequence + 1
		}
		// An anchor at the base itself is checked against the base's hash.
		if _, ok := c.anchored[r.BaseSequence]; ok && r.BaseSequence > 0 && len(read) == 0 {
			c.anchored[r.BaseSequence] = baseHash
		}
		err := tx.Scan(bucketAudit, nil, func(k, v []byte) (bool, error) {
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil {
				fail(c.next, "order", "")
				return false, nil
			}
			if why := c.add(int64(binary.BigEndian.Uint64(k)), e); why != "" {
				fail(c.next, why, "")
				return false, nil
			}
			r.Entries++
			return true, nil
		})
		if err != nil || r.Problem.Sequence != 0 {
			return err
		}
		last := c.next - 1
		var headHash []byte
		hv := tx.Get(bucketAuditHead, keyHead)
		if len(hv) == 40 {
			r.HeadSequence, headHash = int64(binary.BigEndian.Uint64(hv[:8])), hv[8:]
		} else if hv != nil {
			fail(1, "head", "")
			return nil
		}
		switch {
		case r.HeadSequence > last:
			fail(last+1, "head", "") // entries after last were deleted
			return nil
		case r.HeadSequence < last:
			fail(r.HeadSequence+1, "head", "")
			return nil
		case last > 0 && !bytes.Equal(headHash, c.prev):
			fail(last, "head", "")
			return nil
		}
		for _, a := range anchors {
			switch h := c.anchored[a.Sequence]; {
			case a.Sequence > last:
				fail(last+1, "shorter than anchor", "")
			case a.Sequence < r.FirstSequence-1 || a.Sequence == 0:
				// Older than the base and its archive not given: not checkable here, and not a failure.
				r.AnchorsSkipped++
				continue
			case h != a.Hash:
				fail(a.Sequence, "anchor", "")
			default:
				r.AnchorsChecked++
				continue
			}
			return nil
		}
		return nil
	})
	return r, err
}
