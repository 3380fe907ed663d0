package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/platform/webhook"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Option configures Open.
type Option func(*options)

type options struct {
	ring   *KeyRing
	engine storage.Engine
}

// WithDataKeys gives the data key ring that encrypts the personal records (required).
func WithDataKeys(r *KeyRing) Option { return func(o *options) { o.ring = r } }

// sealedBuckets hold personal data: every value in them is sealed. The change feed (storage.BucketChanges)
// is sealed too. The PESEL index (keyed hashes -> ids), the audit log (staff subjects, resource names and
// counts, no resident values), idempotency records (keyed hash + resource name), pending releases (ids) and
// the key fingerprints stay in clear.
var sealedBuckets = []storage.Bucket{bucketResidents, bucketConsents, bucketCases, bucketPlans, bucketReferrals, webhook.BucketSubscriptions}

var (
	keyPESELFingerprint = []byte("pesel")
	dataKeyPrefix       = "data/"
	keyCompactPending   = []byte("compact_pending")
)

// compactIfSealed compacts the file once after sealPlaintext, then forgets that it must.
func (s *Store) compactIfSealed() error {
	var pending bool
	_ = s.view(func(tx storage.ReadTx) error {
		pending = tx.Get(bucketKeys, keyCompactPending) != nil
		return nil
	})
	if !pending {
		return nil
	}
	if _, err := s.Compact(); err != nil {
		return err
	}
	return s.update(context.Background(), func(tx storage.Tx) error { return tx.Delete(bucketKeys, keyCompactPending) })
}

// encode marshals m in the platform's record layout and seals its protobuf part.
func (s *Store) encode(b storage.Bucket, key []byte, rev int64, m proto.Message) ([]byte, error) {
	v, err := storage.EncodeRecord(rev, m)
	if err != nil {
		return nil, err
	}
	return s.ring.seal(b, key, rev, v[8:])
}

// decode opens a sealed record into m and returns its revision.
func (s *Store) decode(b storage.Bucket, key, v []byte, m proto.Message) (int64, error) {
	rev, plain, err := s.ring.open(b, key, v)
	if err != nil {
		return 0, err
	}
	return rev, proto.Unmarshal(plain, m)
}

func (s *Store) appendChange(tx storage.Tx, e *referralv1.ReferralEvent) error {
	v, err := s.encode(storage.BucketChanges, storage.RevisionKey(e.GetRevision()), e.GetRevision(), e)
	if err != nil {
		return err
	}
	return tx.AppendChange(e.GetRevision(), v)
}

func (s *Store) decodeChange(rev int64, v []byte, e *referralv1.ReferralEvent) error {
	_, err := s.decode(storage.BucketChanges, storage.RevisionKey(rev), v, e)
	return err
}

// sealPlaintext migrates a version-1 file, whose records were in clear, by sealing every personal record and
// change-feed entry under the primary key, in the same transaction that records the key's fingerprint.
func (s *Store) sealPlaintext(tx storage.Tx) error {
	n := 0
	for _, b := range append(append([]storage.Bucket(nil), sealedBuckets...), storage.BucketChanges) {
		type kv struct{ k, v []byte }
		var all []kv
		if err := tx.Scan(b, nil, func(k, v []byte) (bool, error) {
			all = append(all, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			return true, nil
		}); err != nil {
			return err
		}
		for _, r := range all {
			var rev int64
			plain := r.v
			if b == storage.BucketChanges {
				// Version-1 change entries were the bare protobuf, keyed by revision.
				rev = int64(binary.BigEndian.Uint64(r.k))
			} else {
				if len(r.v) < 8 {
					return storage.ErrCorruptRecord
				}
				rev, plain = int64(binary.BigEndian.Uint64(r.v[:8])), r.v[8:]
			}
			sealed, err := s.ring.seal(b, r.k, rev, plain)
			if err != nil {
				return err
			}
			if err := tx.Put(b, r.k, sealed); err != nil {
				return err
			}
			n++
		}
	}
	fp, _ := s.ring.Fingerprint(s.ring.Primary())
	if err := tx.Put(bucketKeys, []byte(dataKeyPrefix+s.ring.Primary()), fp); err != nil {
		return err
	}
	// The clear records stay in freed pages until the file is compacted: Open does that (compactIfSealed),
	// also when this start is refused for a key and a later one succeeds.
	if err := tx.Put(bucketKeys, keyCompactPending, []byte{1}); err != nil {
		return err
	}
	s.log.Info("personal records encrypted at rest", zap.Int("records", n), zap.String("key_id", s.ring.Primary()))
	return nil
}

// checkKeys compares the PESEL index key and the data key ring with the fingerprints the file keeps, and
// records the fingerprints of a new file (and of a new primary data key).
func (s *Store) checkKeys() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.be.Update(ctx, func(tx storage.Tx) error {
		stored := tx.Get(bucketKeys, keyPESELFingerprint)
		if err := checkFingerprints(stored, storedDataKeys(tx), s.ring, s.key); err != nil {
			return err
		}
		if stored == nil {
			// A file without the fingerprint: new, or written before fingerprints were kept. Its index must
			// agree with the key before the key is taken as this file's.
			if err := s.verifyPESELIndex(tx); err != nil {
				return err
			}
			if err := tx.Put(bucketKeys, keyPESELFingerprint, PESELKeyFingerprint(s.key)); err != nil {
				return err
			}
		}
		pk := []byte(dataKeyPrefix + s.ring.Primary())
		if tx.Get(bucketKeys, pk) == nil {
			fp, _ := s.ring.Fingerprint(s.ring.Primary())
			return tx.Put(bucketKeys, pk, fp)
		}
		return nil
	})
}

func storedDataKeys(tx storage.ReadTx) map[string][]byte {
	out := map[string][]byte{}
	_ = tx.ScanPrefix(bucketKeys, []byte(dataKeyPrefix), func(k, v []byte) (bool, error) {
		out[strings.TrimPrefix(string(k), dataKeyPrefix)] = append([]byte(nil), v...)
		return true, nil
	})
	return out
}

// checkFingerprints says whether peselKey (when given) and ring match what a data file needs.
func checkFingerprints(peselFP []byte, dataKeys map[string][]byte, ring *KeyRing, peselKey []byte) error {
	if peselKey != nil && peselFP != nil && !hmac.Equal(peselFP, PESELKeyFingerprint(peselKey)) {
		return keyErr("the PESEL index key (--pesel-key-file) is not the key this data file's index was built with " +
			"(its fingerprint differs): start with the original key; with another one every lookup and duplicate check by PESEL would find nobody")
	}
	if ring == nil {
		return nil
	}
	var missing, differ []string
	for id, fp := range dataKeys {
		have, ok := ring.Fingerprint(id)
		switch {
		case !ok:
			missing = append(missing, id)
		case !hmac.Equal(have, fp):
			differ = append(differ, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(differ)
	if len(missing) > 0 {
		return keyErr("the data key ring (--data-key-file) lacks key %s, which this data file's records are encrypted with: "+
			"restore the key ring file from the secret store", strings.Join(missing, ", "))
	}
	if len(differ) > 0 {
		return keyErr("key %s of the data key ring (--data-key-file) is not the key this data file was written with (its fingerprint differs)",
			strings.Join(differ, ", "))
	}
	return nil
}

// verifyPESELIndex checks, for a file without a PESEL key fingerprint, that every resident with a PESEL is
// indexed under the given key.
func (s *Store) verifyPESELIndex(tx storage.ReadTx) error {
	return tx.Scan(bucketResidents, nil, func(k, v []byte) (bool, error) {
		r := &referralv1.Resident{}
		if _, err := s.decode(bucketResidents, k, v, r); err != nil {
			return false, err
		}
		if r.GetPesel() == "" {
			return true, nil
		}
		if !bytes.Equal(tx.Get(bucketPESEL, s.PESELKey(r.GetPesel())), k) {
			return false, keyErr("the PESEL index key (--pesel-key-file) is not the key this data file's index was built with " +
				"(residents are not found under it): start with the original key")
		}
		return true, nil
	})
}

// NeededKeys lists the ids of the data keys the file's records may be encrypted with.
func (s *Store) NeededKeys() ([]string, error) {
	var out []string
	err := s.view(func(tx storage.ReadTx) error {
		for id := range storedDataKeys(tx) {
			out = append(out, id)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// Reencrypt seals every record not under the primary key anew under it (same revision, same bytes inside),
// in transactions of a few hundred records, then forgets the other keys' fingerprints and compacts the file
// so no old ciphertext lingers in free pages. It returns how many records each old key had. Run it with the
// service stopped (the data file is locked while the service runs).
func (s *Store) Reencrypt(ctx context.Context) (map[string]int, error) {
	batch := reencryptBatch
	moved := map[string]int{}
	primary := s.ring.Primary()
	for _, b := range append(append([]storage.Bucket(nil), sealedBuckets...), storage.BucketChanges) {
		var from []byte // resume after the last batch: records before it are done
		for {
			n := 0
			var next []byte
			err := s.update(ctx, func(tx storage.Tx) error {
				n, next = 0, nil
				type kv struct{ k, v []byte }
				var todo []kv
				if err := tx.Scan(b, from, func(k, v []byte) (bool, error) {
					if id, ok := sealedKeyID(v); !ok || id != primary {
						todo = append(todo, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
					}
					return len(todo) < batch, nil
				}); err != nil {
					return err
				}
				for _, r := range todo {
					rev, plain, err := s.ring.open(b, r.k, r.v)
					if err != nil {
						return err
					}
					sealed, err := s.ring.seal(b, r.k, rev, plain)
					if err != nil {
						return err
					}
					if err := tx.Put(b, r.k, sealed); err != nil {
						return err
					}
				}
				n = len(todo)
				if n > 0 {
					// The smallest key after the last one done.
					next = append(append([]byte(nil), todo[n-1].k...), 0)
				}
				return nil
			})
			if err != nil {
				return moved, err
			}
			if n == 0 {
				break
			}
			moved[string(b)] += n
			from = next
		}
	}
	err := s.update(ctx, func(tx storage.Tx) error {
		for id := range storedDataKeys(tx) {
			if id != primary {
				if err := tx.Delete(bucketKeys, []byte(dataKeyPrefix+id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return moved, err
	}
	_, err = s.Compact()
	return moved, err
}

// reencryptBatch is the number of records Reencrypt re-seals in one transaction (a variable for tests).
var reencryptBatch = 500

// Info is what Inspect reads from a data file (or a backup) without keys.
type Info struct {
	// Exists is false for a path with no file: a brand-new store.
	Exists bool
	// Residents counts the resident records.
	Residents int
	// PESELFingerprint is the stored fingerprint of the PESEL index key, nil when none is stored.
	PESELFingerprint []byte
	// DataKeys maps the ids of the data keys the records need to their fingerprints.
	DataKeys map[string][]byte
}

// New says whether the file holds nothing a key is needed for: no residents, no fingerprints. Only then may
// a missing key be created.
func (i Info) New() bool {
	return i.Residents == 0 && i.PESELFingerprint == nil && len(i.DataKeys) == 0
}

// Check compares a PESEL key (nil: not checked) and a key ring (nil: not checked) with the file's fingerprints.
func (i Info) Check(peselKey []byte, ring *KeyRing) error {
	return checkFingerprints(i.PESELFingerprint, i.DataKeys, ring, peselKey)
}

// Inspect reads, read-only and without keys, what a data file or a backup needs: its residents count and
// key fingerprints. A missing file is a new store.
func Inspect(path string) (Info, error) {
	out := Info{DataKeys: map[string][]byte{}}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return out, err
	}
	db, err := storage.OpenReadOnly(path, time.Second)
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			return out, fmt.Errorf("data file %s is locked by another process (is the service running?)", path)
		}
		return out, fmt.Errorf("%s is not a readable data file: %w", path, err)
	}
	defer db.Close()
	out.Exists = true
	err = db.View(func(tx storage.ReadTx) error {
		out.Residents = tx.Count(bucketResidents)
		if v := tx.Get(bucketKeys, keyPESELFingerprint); v != nil {
			out.PESELFingerprint = append([]byte(nil), v...)
		}
		return tx.ScanPrefix(bucketKeys, []byte(dataKeyPrefix), func(k, v []byte) (bool, error) {
			out.DataKeys[strings.TrimPrefix(string(k), dataKeyPrefix)] = append([]byte(nil), v...)
			return true, nil
		})
	})
	return out, err
}
