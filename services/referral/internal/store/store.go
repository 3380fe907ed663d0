// Package store keeps the referral service's data in its bbolt file (through platform/storage): residents with
// the keyed-hash PESEL index, consents, cases, plans, referrals, the referral change feed, idempotency records
// and the hash-chained audit log. It is the only package of the service that touches storage, and it does so
// through platform/storage only (Inspect reads a backup's key fingerprints read-only, without keys). Its
// resources are declared once on the resource kit (platform/resource, records.go). Erasures are journaled outside
// the data file (erase.go) and compacted away by the backend (storage.Backend.Compact).
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
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/platform/webhook"
)

// SchemaVersion of the data file: 2 seals the personal records (version 1 kept them in clear and is
// migrated at start, see sealPlaintext); 3 stamps idempotency records with their time so they expire; 4 adds
// the index of referrals by provider (changes.go, built at start from the stored referrals).
const SchemaVersion = 4

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

var allBuckets = append([]storage.Bucket{bucketResidents, bucketPESEL, bucketConsents, bucketCases, bucketPlans, bucketReferrals, bucketAudit, bucketAuditHead, bucketReleases, bucketKeys, bucketByProvider},
	webhook.Buckets...) // webhook.go

var keyHead = []byte("head")

// Store is the referral service's storage.
type Store struct {
	be   *storage.Backend
	path string
	key  []byte
	ring *KeyRing
	log  *zap.Logger
	now  func() time.Time
	// kinds are its resources on the resource kit (records.go).
	kinds kinds
	// engine is the storage engine (WithEngine; zero: bbolt at path).
	engine storage.Engine
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
	s := &Store{path: path, key: append([]byte(nil), peselKey...), ring: o.ring, log: log, now: func() time.Time { return time.Now().UTC() }, engine: o.engine}
	s.declareKinds()
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
	if err := s.reapplyErasures(); err != nil {
		_ = s.be.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open() (*storage.Backend, error) {
	return storage.Open(s.path, storage.Options{Buckets: allBuckets, SchemaVersion: SchemaVersion, Logger: s.log, Engine: s.engine,
		Journals: []string{erasureJournal},
		Migrations: []storage.Migration{{From: 1, Run: s.sealPlaintext},
			{From: 2, Run: func(tx storage.Tx) error { return storage.MigrateRequests(tx, time.Now()) }},
			{From: 3, Run: s.indexProviders}}})
}

// Close closes the data file.
func (s *Store) Close() error { return s.be.Close() }

// Path of the data file.
func (s *Store) Path() string { return s.path }

// Revision is the newest committed revision.
func (s *Store) Revision() int64 { return s.be.Revision() }

// AwaitRevision reports whether the revision reaches rev, waiting up to within on etcd, where it may come
// from another replica a little ahead of this one (storage.Backend.AwaitRevision).
func (s *Store) AwaitRevision(ctx context.Context, rev int64, within time.Duration) bool {
	return s.be.AwaitRevision(ctx, rev, within)
}

// Changed returns a channel closed at the next commit.
func (s *Store) Changed() <-chan struct{} { return s.be.Changed() }

// Backup writes a consistent copy of the data file.
func (s *Store) Backup(w io.Writer) (int64, error) { return s.be.Backup(w) }

// Snapshot streams a consistent copy of the data file (storage.BackupHandler).
func (s *Store) Snapshot(begin func(size, revision int64) io.Writer) (int64, error) {
	return s.be.Snapshot(begin)
}

// Err is nil while the data file is healthy (see storage.ErrFailed); Failed is closed when it stops being so:
// the service then stops reporting SERVING.
func (s *Store) Err() error { return s.be.Err() }

// Failed is closed when the data file fails (Err says why).
func (s *Store) Failed() <-chan struct{} { return s.be.Failed() }

// SetCompactHook stops compactions at a stage (tests: crash simulation, slow compactions).
func (s *Store) SetCompactHook(fn func(storage.CompactStage) error) { s.be.SetCompactHook(fn) }

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

// update runs fn in a write transaction.
func (s *Store) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.be.Update(ctx, fn)
}

func (s *Store) view(fn func(tx storage.ReadTx) error) error { return s.be.View(fn) }

// Req is the idempotency part of a write: the method, the client's request id and the keyed request hash.
type Req = resource.Req

// requestKey is the key of the idempotency record of a method's request id (resource.Req.Key).
func requestKey(method, requestID string) []byte { return Req{Method: method, ID: requestID}.Key() }

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
// does not linger in free pages (storage.Backend.Compact: writes wait meanwhile, reads do not).
func (s *Store) Compact() (size int64, err error) { return s.be.Compact() }
