// Package store keeps the referral service's data in its bbolt file (through platform/storage): residents with
// the keyed-hash PESEL index, consents, cases, plans, referrals, the referral change feed, idempotency records
// and the hash-chained audit log. It is the only package of the service that touches storage, and the only one
// that imports bbolt (for compaction after erasure).
//
// Records are an 8-byte big-endian revision followed by the protobuf binary, which for every record of
// residents, consents, cases, plans and referrals, and every referral change-feed entry, is sealed with
// AES-256-GCM under a key of the data key ring (keyring.go): the data file and its backups hold no resident
// value in clear. The PESEL index key is HMAC-SHA256(key, PESEL): a plain PESEL is never a key. The file
// keeps fingerprints of the PESEL index key and of the data keys it needs, so the service refuses to start
// with a missing or different key instead of quietly finding nobody. An audit entry is written in the same
// transaction as the change it records.
package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// SchemaVersion of the data file: 2 seals the personal records (version 1 kept them in clear and is
// migrated at start, see sealPlaintext); 3 stamps idempotency records with their time so they expire.
const SchemaVersion = 3

// The buckets of the referral service, all declared here.
const (
	bucketResidents storage.Bucket = "residents"  // resident uuid -> rev + Resident
	bucketPESEL     storage.Bucket = "pesel_hmac" // HMAC-SHA256(key, PESEL) -> resident uuid
	bucketConsents  storage.Bucket = "consents"   // resident uuid + "/" + consent uuid -> rev + Consent
	bucketCases     storage.Bucket = "cases"      // case uuid -> rev + Case
	bucketPlans     storage.Bucket = "plans"      // case uuid + "/" + plan uuid -> rev + Plan
	bucketReferrals storage.Bucket = "referrals"  // referral uuid -> rev + Referral
	bucketAudit     storage.Bucket = "audit"      // 8-byte sequence -> AuditEntry (append-only)
	bucketAuditHead storage.Bucket = "audit_head" // "head" -> 8-byte sequence + 32-byte hash of the last entry
	bucketReleases  storage.Bucket = "releases"   // referral uuid -> agreement name: capacity releases to retry
	bucketKeys      storage.Bucket = "keys"       // "pesel" | "data/<key id>" -> fingerprint of that key
)

var allBuckets = []storage.Bucket{bucketResidents, bucketPESEL, bucketConsents, bucketCases, bucketPlans, bucketReferrals, bucketAudit, bucketAuditHead, bucketReleases, bucketKeys}

var keyHead = []byte("head")

// Store is the referral service's storage.
type Store struct {
	// mu lets compaction swap the data file: every operation holds it shared, compaction exclusively.
	mu   sync.RWMutex
	be   *storage.Backend
	path string
	key  []byte
	ring *KeyRing
	log  *zap.Logger
	now  func() time.Time
	// auditFault, when set, fails every stand-alone audit write (SetAuditFault, for tests).
	auditFault atomic.Pointer[error]
}

// Open opens the data file; peselKey is the secret of the PESEL index (at least 32 bytes), and the data key
// ring (WithDataKeys, required) encrypts the personal records. It refuses a PESEL key or a ring that does not
// match the fingerprints the file keeps (errors.Is(err, ErrKeyRing)), naming the missing key id.
func Open(path string, peselKey []byte, log *zap.Logger, opts ...Option) (*Store, error) {
	if len(peselKey) < 32 {
		return nil, errors.New("store: the PESEL index key must be at least 32 bytes")
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.ring == nil {
		return nil, keyErr("store: no data key ring given (store.WithDataKeys): personal records are stored encrypted")
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Store{path: path, key: append([]byte(nil), peselKey...), ring: o.ring, log: log, now: func() time.Time { return time.Now().UTC() }}
	be, err := s.open()
	if err != nil {
		return nil, err
	}
	s.be = be
	if err := s.checkKeys(); err != nil {
		_ = be.Close()
		return nil, err
	}
	if err := s.compactIfSealed(); err != nil {
		_ = s.be.Close()
		return nil, fmt.Errorf("compact after encrypting the records: %w", err)
	}
	return s, nil
}

func (s *Store) open() (*storage.Backend, error) {
	return storage.Open(s.path, storage.Options{Buckets: allBuckets, SchemaVersion: SchemaVersion, Logger: s.log,
		Migrations: []storage.Migration{{From: 1, Run: s.sealPlaintext},
			{From: 2, Run: func(tx storage.Tx) error { return storage.MigrateRequests(tx, time.Now()) }}}})
}

// Close closes the data file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.be.Close()
}

// Path of the data file.
func (s *Store) Path() string { return s.path }

// Revision is the newest committed revision.
func (s *Store) Revision() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.be.Revision()
}

// Changed returns a channel closed at the next commit.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.be.Changed()
}

// Backup writes a consistent copy of the data file.
func (s *Store) Backup(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.be.Backup(w)
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Etag of a record written at rev.
func Etag(rev int64) string { return storage.Etag(rev) }

// PESELKey is the index key of a PESEL: HMAC-SHA256 under the service's secret.
func (s *Store) PESELKey(pesel string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(pesel))
	return m.Sum(nil)
}

// RequestHash is a keyed hash of a request's bytes for idempotency records (keyed, because requests carry
// personal data).
func (s *Store) RequestHash(m proto.Message) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h := hmac.New(sha256.New, s.key)
	h.Write(b)
	return h.Sum(nil)
}

// update runs fn in a write transaction, holding the file shared.
func (s *Store) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.be.Update(ctx, fn)
}

func (s *Store) view(fn func(tx storage.ReadTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.be.View(fn)
}

// --- audit ---

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
		if v := tx.Get(bucketAuditHead, keyHead); len(v) == 40 {
			seq, hash = int64(binary.BigEndian.Uint64(v[:8])), hex.EncodeToString(v[8:])
		}
		return nil
	})
	return seq, hash, err
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
	head := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(head, uint64(seq))
	return tx.Put(bucketAuditHead, keyHead, append(head, h...))
}

// ListAudit returns up to limit entries after sequence `after`, optionally only about one resource.
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

// AuditProblem says what VerifyAuditAnchored found wrong.
type AuditProblem struct {
	// Sequence of the first entry that does not verify or is missing (0 when the chain verifies).
	Sequence int64
	// Why, for the log: "hash", "order", "head", "anchor", "shorter than anchor".
	Why string
}

// Anchor is a (sequence, hash) pair of the chain recorded outside the data file.
type Anchor struct {
	Sequence int64
	Hash     string
}

// VerifyAuditAnchored recomputes the chain and checks it against its stored head and the anchors given (taken outside
// the data file): the last entry must be the head (an entry deleted from the tail, or a head left behind by a
// rewrite, is detected), every anchored entry must exist with the anchored hash, and the chain must not be
// shorter than the last anchor (a rewrite that recomputed the chain and its head is detected up to the last
// anchor). It returns the number of entries and the first problem (Sequence 0 when all verifies).
func (s *Store) VerifyAuditAnchored(anchors []Anchor) (n int64, broken AuditProblem, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		var prev []byte
		var want int64 = 1
		hashes := map[int64]string{}
		for _, a := range anchors {
			hashes[a.Sequence] = ""
		}
		err := tx.Scan(bucketAudit, nil, func(k, v []byte) (bool, error) {
			seq := int64(binary.BigEndian.Uint64(k))
			e := &referralv1.AuditEntry{}
			if err := proto.Unmarshal(v, e); err != nil || seq != want || e.GetSequence() != seq {
				broken = AuditProblem{want, "order"}
				return false, nil
			}
			if e.GetPreviousHash() != hex.EncodeToString(prev) || e.GetHash() != hex.EncodeToString(chainHash(prev, auditBytes(e))) {
				broken = AuditProblem{seq, "hash"}
				return false, nil
			}
			n++
			if _, ok := hashes[seq]; ok {
				hashes[seq] = e.GetHash()
			}
			prev, _ = hex.DecodeString(e.GetHash())
			want++
			return true, nil
		})
		if err != nil || broken.Sequence != 0 {
			return err
		}
		last := want - 1
		var headSeq int64
		var headHash []byte
		if v := tx.Get(bucketAuditHead, keyHead); len(v) == 40 {
			headSeq, headHash = int64(binary.BigEndian.Uint64(v[:8])), v[8:]
		} else if v != nil {
			broken = AuditProblem{1, "head"}
			return nil
		}
		switch {
		case headSeq > last:
			broken = AuditProblem{last + 1, "head"} // entries after last were deleted
			return nil
		case headSeq < last:
			broken = AuditProblem{headSeq + 1, "head"}
			return nil
		case last > 0 && !bytes.Equal(headHash, prev):
			broken = AuditProblem{last, "head"}
			return nil
		}
		for _, a := range anchors {
			switch h := hashes[a.Sequence]; {
			case a.Sequence > last:
				broken = AuditProblem{last + 1, "shorter than anchor"}
			case a.Sequence > 0 && h != a.Hash:
				broken = AuditProblem{a.Sequence, "anchor"}
			default:
				continue
			}
			return nil
		}
		return nil
	})
	return n, broken, err
}

// --- idempotency ---

// ErrRequestIDReused: the request id was used for a different request.
var errReplay = errors.New("replay")

func requestKey(method, requestID string) []byte { return []byte(method + "/" + requestID) }

// replay checks a request id inside tx: it returns the resource name the first request produced, or "".
func replay(tx storage.ReadTx, method, requestID string, hash []byte) (string, error) {
	if requestID == "" {
		return "", nil
	}
	first, name, ok := storage.LookupRequest(tx, requestKey(method, requestID))
	if !ok {
		return "", nil
	}
	if !bytes.Equal(first, hash) {
		return "", apierr.ErrRequestIDReused
	}
	return string(name), nil
}

func remember(tx storage.Tx, method, requestID string, hash []byte, name string) error {
	if requestID == "" {
		return nil
	}
	return storage.RememberRequest(tx, requestKey(method, requestID), hash, []byte(name))
}

// Req is the idempotency part of a write: the method, the client's request id and the keyed request hash.
type Req struct {
	Method string
	ID     string
	Hash   []byte
}

// --- generic records ---

// putRecord writes m sealed under the primary data key (sealed.go).
func (s *Store) putRecord(tx storage.Tx, b storage.Bucket, key string, rev int64, m proto.Message) error {
	v, err := s.encode(b, []byte(key), rev, m)
	if err != nil {
		return err
	}
	return tx.Put(b, []byte(key), v)
}

func (s *Store) getRecord(tx storage.ReadTx, b storage.Bucket, key string, m proto.Message) (int64, bool, error) {
	v := tx.Get(b, []byte(key))
	if v == nil {
		return 0, false, nil
	}
	rev, err := s.decode(b, []byte(key), v, m)
	return rev, true, err
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// Compact rewrites the data file into a fresh one holding only live keys, and swaps it in, so deleted data
// does not linger in free pages. Every other operation waits meanwhile.
func (s *Store) Compact() (size int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.be.Close(); err != nil {
		return 0, err
	}
	defer func() {
		be, oerr := s.open()
		if oerr != nil {
			if err == nil {
				err = oerr
			}
			s.log.Error("reopen after compaction failed", zap.Error(oerr))
			return
		}
		s.be = be
	}()
	tmp := s.path + ".compact"
	_ = os.Remove(tmp)
	src, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		src.Close()
		return 0, err
	}
	if err := bolt.Compact(dst, src, 1<<20); err != nil {
		src.Close()
		dst.Close()
		_ = os.Remove(tmp)
		return 0, err
	}
	if err := dst.Sync(); err != nil {
		src.Close()
		dst.Close()
		return 0, err
	}
	if err := dst.Close(); err != nil {
		src.Close()
		return 0, err
	}
	if err := src.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return 0, err
	}
	if d, err := os.Open(dirOf(s.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
