package store

import (
	"context"
	"strings"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// ChangePage is one page of the referral change feed as one caller sees it (ScanReferralChanges).
type ChangePage struct {
	// Events the caller may see, in revision order.
	Events []*referralv1.ReferralEvent
	// Last is the revision of the last entry read (shown or passed over); 0 when none was read.
	Last int64
	// More: entries after Last were not read (the page or the scan budget was full).
	More bool
}

// ScanReferralChanges reads the change feed after a revision from one snapshot, keeping the events whose
// referral visible accepts, until limit events are kept or budget entries were read (so a provider whose
// referrals are rare among the others' does not make one call decrypt the whole feed). A cursor below the
// compaction point gets storage.ErrCompacted (OUT_OF_RANGE CHANGES_COMPACTED, with compacted_revision).
func (s *Store) ScanReferralChanges(after int64, limit, budget int, visible func(*referralv1.Referral) bool) (ChangePage, error) {
	var p ChangePage
	read := 0
	err := s.be.ViewChanges(after, func(_ storage.ReadTx, rev int64, v []byte) (bool, error) {
		if len(p.Events) >= limit || read >= budget {
			p.More = true
			return false, nil
		}
		e := &referralv1.ReferralEvent{}
		if err := s.decodeChange(rev, v, e); err != nil {
			return false, err
		}
		read++
		p.Last = rev
		if visible(e.GetReferral()) {
			p.Events = append(p.Events, e)
		}
		return true, nil
	})
	return p, err
}

// --- referrals by provider ---

// bucketByProvider indexes referrals by provider: provider uuid + "/" + referral uuid -> empty. A referral's
// provider is immutable and referrals are never deleted (an erasure anonymises them, keeping the provider),
// so an entry is written once, with the referral. It holds identifiers only, no resident data, and is not sealed.
const bucketByProvider storage.Bucket = "referrals_by_provider"

func providerKey(provider, referralID string) []byte {
	return []byte(strings.TrimPrefix(provider, domain.ProviderPrefix) + "/" + referralID)
}

// ForEachReferralOf visits the referrals addressed to a provider (`providers/{uuid}`), oldest first, reading
// only those through the provider index.
func (s *Store) ForEachReferralOf(provider string, fn func(*referralv1.Referral) error) error {
	prefix := []byte(strings.TrimPrefix(provider, domain.ProviderPrefix) + "/")
	return s.view(func(tx storage.ReadTx) error {
		return tx.ScanPrefix(bucketByProvider, prefix, func(k, _ []byte) (bool, error) {
			r := &referralv1.Referral{}
			_, ok, err := s.getRecord(tx, bucketReferrals, string(k[len(prefix):]), r)
			if err != nil || !ok {
				return err == nil, err
			}
			return true, fn(r)
		})
	})
}

// indexProviders (schema 3 -> 4) builds the provider index of the referrals already stored.
func (s *Store) indexProviders(tx storage.Tx) error {
	var keys [][]byte
	if err := tx.Scan(bucketReferrals, nil, func(k, v []byte) (bool, error) {
		r := &referralv1.Referral{}
		if _, err := s.decode(bucketReferrals, k, v, r); err != nil {
			return false, err
		}
		keys = append(keys, providerKey(r.GetProvider(), string(k)))
		return true, nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Put(bucketByProvider, k, []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// CompactChanges compacts the change feed up to a revision now (storage.Backend.CompactChanges); the
// maintenance worker does it by age (--change-retention). For tests and tools.
func (s *Store) CompactChanges(ctx context.Context, upTo int64) (int, error) {
	return s.be.CompactChanges(ctx, upTo)
}
