package server

// Following the other replicas. On etcd several catalogue processes share one store, and each holds derived
// state in memory: the search index and the read cache. A process updates both for its own writes (indexed,
// removed); Follow brings in everyone else's from the change feed and the peer log, so a write on one replica
// is found by a search on another. On bbolt there is one process per data file and Follow is not run: it would
// only re-read this process's own writes.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// followPage is how many changes one feed read returns.
const followPage = 500

// FollowFrom declares that other processes write to the store too, and returns the revision Follow must read
// after. Call it BEFORE OpenIndex: a write committed while the index loads is then read again (re-applying a
// change the index already has is harmless: revisions order the index), and from here on a snapshot claims no
// revision the follower has not applied, not even one written before Follow starts.
func (s *Server) FollowFrom() int64 {
	rev := s.store.Backend().Revision()
	s.start.followed.Store(rev)
	s.start.following.Store(true)
	return rev
}

// Follow applies to the search index and the read cache the changes other replicas commit, from revision
// after (FollowFrom) until ctx ends. Run it under the server's errgroup, joined before the store closes, once
// the index is loaded. While it runs, snapshots claim no revision it has not applied (indexedRevision).
//
// A read that fails (etcd electing a leader, a member unreachable) is tried again; a feed compacted past the
// follower's position cannot say what it missed (deletes among it), so Follow returns an error then and the
// process restarts and rebuilds its index, as after any other loss of derived state.
func (s *Server) Follow(ctx context.Context, after int64) error {
	be := s.store.Backend()
	feed, peers := after, after
	backoff := 50 * time.Millisecond
	failing := false
	for {
		// Taken before reading, so a commit during the reads is not missed; target is a revision every change at
		// or below which the reads that follow see (they read at the current revision, at least target).
		changed := be.Changed()
		target := be.Revision()
		var err error
		if feed, err = s.followFeed(ctx, s.store.ListChanges, feed); err == nil {
			// Services federated from peers are written to the peer log, not the change feed.
			peers, err = s.followFeed(ctx, s.store.ListPeerChanges, peers)
		}
		switch {
		case err == nil:
			// Both reads saw every change at or below target: that is where they resume, not at the last change
			// each applied. A quiet feed would otherwise keep an old position, and once retention compacted the
			// feed past it, the next read would be refused as if changes had been missed.
			feed, peers = max(feed, target), max(peers, target)
			if failing {
				s.log.Info("search index following the store again", zap.Int64("revision", target))
				failing = false
			}
			backoff = 50 * time.Millisecond
			s.start.followed.Store(max(s.start.followed.Load(), target))
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, storage.ErrCompacted):
			return fmt.Errorf("search index: the change feed was compacted past revision %d before this replica read it; restart to rebuild the index: %w",
				min(feed, peers), err)
		default:
			if !failing {
				s.log.Warn("search index: reading the changes of other replicas failed; retrying", zap.Error(err))
				failing = true
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// followFeed applies the changes of one feed after rev and returns the revision it read up to.
func (s *Server) followFeed(ctx context.Context, list func(after int64, limit int) ([]*cataloguev1.Change, bool, error), rev int64) (int64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return rev, err
		}
		changes, more, err := list(rev, followPage)
		if err != nil {
			return rev, err
		}
		for _, c := range changes {
			rev = c.GetRevision()
			s.applyChange(c)
		}
		if !more || len(changes) == 0 {
			return rev, nil
		}
	}
}

// applyChange puts one change of the feed into the index and the read cache, unless they already have it
// (this process's own writes, applied by their handlers).
func (s *Server) applyChange(c *cataloguev1.Change) {
	id, ok := strings.CutPrefix(c.GetResourceName(), domain.ServicePrefix)
	if !ok {
		return // programmes are neither searched nor cached
	}
	rev := c.GetRevision()
	if c.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_DELETE {
		s.removed(id, rev)
		return
	}
	svc := c.GetService()
	if svc == nil {
		return
	}
	if d, ok := s.index.Get(id); ok && d.Revision >= rev {
		return
	}
	s.index.Upsert(domain.IndexDoc(svc, rev))
	// Not kept in the cache: most of what other replicas write is never read here; the first reader fills it.
	s.cache.invalidate(id, rev)
}
