package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/platform/webhook"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Webhooks (docs/webhooks.md) keep their subscriptions, outbox and delivery log in this data file, in the
// buckets of platform/webhook (declared with the service's, see allBuckets). Subscription records hold the
// signing secrets, so they are sealed under the data key ring like the personal records (and re-sealed by
// Reencrypt: the bucket is among sealedBuckets); the outbox and the log hold no personal data (names of
// referrals, statuses, providers, HTTP statuses) and stay in clear.

// Webhooks returns the webhook engine on this store's data file, its subscriptions sealed with the data keys.
func (s *Store) Webhooks(opts webhook.Options) *webhook.Engine {
	opts.Sealer = ringSealer{s.ring}
	return webhook.New(s.be, opts)
}

// ringSealer seals webhook records in the layout of the other sealed records (revision 0: a subscription has a
// version of its own), so Reencrypt moves them to a new primary key with the rest.
type ringSealer struct{ ring *KeyRing }

func (r ringSealer) Seal(b storage.Bucket, key, plain []byte) ([]byte, error) {
	return r.ring.seal(b, key, 0, plain)
}

func (r ringSealer) Open(b storage.Bucket, key, v []byte) ([]byte, error) {
	_, plain, err := r.ring.open(b, key, v)
	return plain, err
}

// ReferralFeed reads up to limit referral events after a revision, and the revision they reach: the last
// event's when limit was reached, else at least the revision committed before the read (changes of other
// records move the revision without an event, and the cursor moves past them). A cursor below the compaction
// point is webhook.ErrCursorLost.
func (s *Store) ReferralFeed(after int64, limit int) (out []*referralv1.ReferralEvent, next int64, err error) {
	// Published after its commit: the snapshot read below holds every change up to it.
	reached := s.be.Revision()
	next = after
	err = s.be.ViewChanges(after, func(_ storage.ReadTx, rev int64, v []byte) (bool, error) {
		if len(out) == limit {
			return false, nil
		}
		e := &referralv1.ReferralEvent{}
		if err := s.decodeChange(rev, v, e); err != nil {
			return false, err
		}
		out, next = append(out, e), rev
		return true, nil
	})
	if errors.Is(err, storage.ErrCompacted) {
		return nil, after, fmt.Errorf("%w: %w", webhook.ErrCursorLost, err)
	}
	if len(out) < limit {
		next = max(next, reached)
	}
	return out, next, err
}

// WaitChange returns when the revision moves past after, or ctx ends.
func (s *Store) WaitChange(ctx context.Context, after int64) {
	ch := s.be.Changed()
	if s.be.Revision() > after {
		return
	}
	select {
	case <-ctx.Done():
	case <-ch:
	}
}
