package server

// The search index across restarts. bbolt stays the source of truth and the index derived state: a snapshot
// of the index (search.WriteSnapshot) is kept beside the data file with the store revision it reflects, and a
// start loads it and applies the change feed after that revision, instead of decoding and analysing every
// service. Whenever the snapshot does not fit the data file (missing, damaged, another format version,
// another feed id after a restore, newer than the file, or a change feed compacted past it) the start
// rebuilds from the store as before and says why. A snapshot written by another build is not used either (see
// indexSource).

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// errIndexLoading answers calls that arrive while the index loads and do not see it ready within the index wait.
var errIndexLoading = apierr.New(apierr.KindUnavailable, "SEARCH_INDEX_LOADING", "the catalogue is loading its search index; retry in a few seconds")

// defaultIndexWait is how long a call that arrives during the start waits for the index before it is refused:
// long enough for a start from a snapshot, so that a client starting with the catalogue (the provider
// registry's demo load, a gateway) is served instead of refused; short enough that a long rebuild does not
// pile calls up.
const defaultIndexWait = 5 * time.Second

// startState is the server's part of the start-up: readiness, in-flight writes, the last snapshot.
type startState struct {
	ready   atomic.Bool
	readyCh chan struct{}
	wait    atomic.Int64 // how long a call waits for the index (time.Duration)

	writesMu  sync.Mutex
	nextWrite uint64
	writes    map[uint64]int64 // open write -> store revision when it began

	saveMu   sync.Mutex
	savedRev atomic.Int64 // revision of the snapshot on disk (-1: none known)

	// following: a Follow runs (etcd), and every change at or below followed is in the index. The store's
	// revision then also counts other replicas' commits, which only the follower puts in the index.
	following atomic.Bool
	followed  atomic.Int64
}

func newStartState() *startState {
	s := &startState{readyCh: make(chan struct{}), writes: make(map[uint64]int64)}
	s.savedRev.Store(-1)
	s.wait.Store(int64(defaultIndexWait))
	return s
}

// SetIndexWait sets how long a call that arrives while the index loads waits for it before it is refused
// (default 5 s).
func (s *Server) SetIndexWait(d time.Duration) { s.start.wait.Store(int64(d)) }

// beginWrite registers a write that will commit to the store and then update the index; call the returned
// function once the index has it (or the write failed). While it is open, snapshots record a revision below
// the write's, so a restart applies it again from the change feed.
func (s *Server) beginWrite() (end func()) {
	s.start.writesMu.Lock()
	id := s.start.nextWrite
	s.start.nextWrite++
	s.start.writes[id] = s.store.Backend().Revision()
	s.start.writesMu.Unlock()
	return func() {
		s.start.writesMu.Lock()
		delete(s.start.writes, id)
		s.start.writesMu.Unlock()
	}
}

// indexedRevision is a store revision R such that every write at or below R is in the index: the newest
// committed revision, lowered below every write still between its commit and its index update. A write
// registered later commits above the revision read here, and an open one commits above the revision it
// registered with, so neither is at or below R. Writers never wait for it. With other replicas writing to the
// same store (Follow), R is also at most what the follower applied.
func (s *Server) indexedRevision() int64 {
	s.start.writesMu.Lock()
	defer s.start.writesMu.Unlock()
	r := s.store.Backend().Revision()
	if s.start.following.Load() {
		r = min(r, s.start.followed.Load())
	}
	for _, began := range s.start.writes {
		r = min(r, began)
	}
	return r
}

// IndexReady reports whether the search index has been loaded (MarkIndexReady).
func (s *Server) IndexReady() bool { return s.start.ready.Load() }

// MarkIndexReady lets calls through the IndexGate.
func (s *Server) MarkIndexReady() {
	if s.start.ready.CompareAndSwap(false, true) {
		close(s.start.readyCh)
	}
}

// awaitIndex waits for the index (at most the index wait, or until ctx ends).
func (s *Server) awaitIndex(ctx context.Context) error {
	if s.start.ready.Load() {
		return nil
	}
	t := time.NewTimer(time.Duration(s.start.wait.Load()))
	defer t.Stop()
	select {
	case <-s.start.readyCh:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	return errIndexLoading
}

// IndexGate returns interceptors that hold the CatalogueService's calls until the index is ready: a call
// waits up to the index wait (SetIndexWait), then is refused UNAVAILABLE SEARCH_INDEX_LOADING (retryable). Health and reflection
// are not held: they tell a caller NOT_SERVING meanwhile. Give them to the gRPC server after the platform's
// chain (grpc.ChainUnaryInterceptor, grpc.ChainStreamInterceptor), so the refusal is mapped and logged as
// any other error.
func (s *Server) IndexGate() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	prefix := "/" + cataloguev1.CatalogueService_ServiceDesc.ServiceName + "/"
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if strings.HasPrefix(info.FullMethod, prefix) {
			if err := s.awaitIndex(ctx); err != nil {
				return nil, err
			}
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if strings.HasPrefix(info.FullMethod, prefix) {
			if err := s.awaitIndex(ss.Context()); err != nil {
				return err
			}
		}
		return h(srv, ss)
	}
	return unary, stream
}

// IndexLoad says how OpenIndex loaded the index.
type IndexLoad struct {
	Docs int
	// FromSnapshot: loaded from the snapshot written at SnapshotRevision, then CaughtUp changes of the feed.
	FromSnapshot     bool
	SnapshotRevision int64
	CaughtUp         int
	// Rebuilt says why the snapshot was not used ("" when it was).
	Rebuilt string
}

// OpenIndex loads the search index before serving: from the snapshot at path when it fits the store, then
// the change feed after the snapshot's revision; otherwise (logged once, as a warning, with the reason when a
// snapshot was there) by a rebuild from the store. Only a failure to read the store is an error.
func (s *Server) OpenIndex(ctx context.Context, path string) (IndexLoad, error) {
	load, why := s.loadSnapshot(ctx, path)
	if why == nil {
		return load, nil
	}
	if err := ctx.Err(); err != nil {
		return IndexLoad{}, err
	}
	load = IndexLoad{Rebuilt: why.Error()}
	if !errors.Is(why, fs.ErrNotExist) {
		s.log.Warn("search index snapshot not used; rebuilding the index from the store", zap.String("snapshot", path), zap.String("reason", why.Error()))
		// An unusable snapshot is removed, not left for a later start: one refused as newer than a data file
		// put back from a copy of itself (same feed id) would fit again once the new history passes its
		// revision, and would skip that history's writes and keep the abandoned one's.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return IndexLoad{}, fmt.Errorf("remove the unusable search index snapshot %s: %w", path, err)
		}
		if err := storage.SyncDir(filepath.Dir(path)); err != nil {
			return IndexLoad{}, err
		}
	}
	s.index = search.New()
	n, err := s.rebuild(ctx)
	if err != nil {
		return IndexLoad{}, err
	}
	load.Docs = n
	return load, nil
}

// indexSource names this build for SnapshotMeta.Source: how records become documents (domain.IndexDoc) and
// how documents are analysed (package search) are code, and a new build may change either without changing
// the snapshot layout. The commit of a clean build names it; otherwise (a work tree with changes, go test,
// go run) the executable's own hash does. Each new build thus rebuilds the index once, at its first start.
var indexSource = sync.OnceValue(func() string {
	src := fmt.Sprintf("schema %d", store.SchemaVersion)
	rev, dirty := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				dirty = kv.Value == "true"
			}
		}
	}
	if rev != "" && !dirty {
		return src + ", commit " + rev
	}
	exe, err := os.Executable()
	if err != nil {
		return src
	}
	f, err := os.Open(exe)
	if err != nil {
		return src
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return src
	}
	return src + ", binary " + hex.EncodeToString(h.Sum(nil)[:12])
})

// errNoSnapshot is why a start without a snapshot file rebuilds.
var errNoSnapshot = fmt.Errorf("no snapshot: %w", fs.ErrNotExist)

// snapshotFits says why a snapshot cannot serve this store, or nil.
func (s *Server) snapshotFits(meta search.SnapshotMeta) error {
	if feed := s.store.FeedID(); meta.FeedID != feed {
		return fmt.Errorf("the snapshot is of another data file (feed id %s, the store's is %s): restored from a backup?", meta.FeedID, feed)
	}
	if src := indexSource(); meta.Source != src {
		return fmt.Errorf("the snapshot was written by another build of the catalogue (%s; this is %s): its documents may be derived differently", meta.Source, src)
	}
	if rev := s.store.Backend().Revision(); meta.Revision > rev {
		return fmt.Errorf("the snapshot (revision %d) is newer than the data file (revision %d)", meta.Revision, rev)
	}
	// The feed must still hold every change after the snapshot: a compacted feed read from below its
	// compaction point lists the live records but not the deletes it dropped.
	if point := s.store.Backend().CompactedRevision(); meta.Revision < point {
		return fmt.Errorf("the change feed no longer reaches back to the snapshot's revision %d (compacted up to %d)", meta.Revision, point)
	}
	return nil
}

// loadSnapshot installs the snapshot at path and applies the feed after it, or says why it cannot.
func (s *Server) loadSnapshot(ctx context.Context, path string) (IndexLoad, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return IndexLoad{}, errNoSnapshot
	}
	if err != nil {
		return IndexLoad{}, err
	}
	defer f.Close()
	// What the snapshot says of itself is judged first: a new build or a restore must not read (and hold,
	// beside the rebuild that follows) a whole index it will not use.
	head, err := search.ReadSnapshotMeta(f)
	if err != nil {
		return IndexLoad{}, err
	}
	if err := s.snapshotFits(head); err != nil {
		return IndexLoad{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return IndexLoad{}, err
	}
	// No collection while the snapshot is read: the heap only grows, to the index, and a collection every
	// time it doubles would scan the growing index again and again. (A GOMEMLIMIT still bounds it.)
	gc := debug.SetGCPercent(-1)
	ix, meta, err := search.ReadSnapshot(f) // unbuffered: it reads whole frames
	debug.SetGCPercent(gc)
	if err != nil {
		return IndexLoad{}, err
	}
	if err := s.snapshotFits(meta); err != nil {
		return IndexLoad{}, err
	}
	caught, err := catchUp(ctx, ix, s.store.ListChanges, meta.Revision)
	if err == nil {
		// Entries federated from peers are not in the change feed: their writes are in the peer log.
		var peers int
		peers, err = catchUp(ctx, ix, s.store.ListPeerChanges, meta.Revision)
		caught += peers
	}
	if err != nil {
		if errors.Is(err, storage.ErrCompacted) {
			return IndexLoad{}, fmt.Errorf("the change feed no longer reaches back to the snapshot's revision %d (compacted)", meta.Revision)
		}
		return IndexLoad{}, fmt.Errorf("catch up from revision %d: %w", meta.Revision, err)
	}
	s.index = ix
	s.start.savedRev.Store(meta.Revision)
	return IndexLoad{Docs: ix.Len(), FromSnapshot: true, SnapshotRevision: meta.Revision, CaughtUp: caught}, nil
}

// catchUp applies the changes after rev to ix: upserts with the stored record, deletes as tombstones.
// Re-applying a change the snapshot already had is harmless (the index's revision rules), so the order
// within a page does not matter either: upserts go in one BulkLoad per page.
func catchUp(ctx context.Context, ix *search.Index, list func(after int64, limit int) ([]*cataloguev1.Change, bool, error), rev int64) (int, error) {
	n := 0
	for after := rev; ; {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		changes, more, err := list(after, 1000)
		if err != nil {
			return n, err
		}
		var docs []search.Doc
		for _, c := range changes {
			after = c.GetRevision()
			id, ok := strings.CutPrefix(c.GetResourceName(), domain.ServicePrefix)
			if !ok {
				continue // programmes are not searched
			}
			n++
			if c.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_DELETE {
				ix.Delete(id, c.GetRevision())
			} else if svc := c.GetService(); svc != nil {
				docs = append(docs, domain.IndexDoc(svc, c.GetRevision()))
			}
		}
		if len(docs) > 0 {
			// (Not with none: BulkLoad also refreshes the length norms, which would move every score a little
			// for nothing.)
			ix.BulkLoad(docs)
		}
		if !more || len(changes) == 0 {
			return n, nil
		}
	}
}

// rebuild indexes every stored service (what LoadIndex does), stopping early when ctx ends.
func (s *Server) rebuild(ctx context.Context) (int, error) {
	var docs []search.Doc
	err := s.store.ForEachService(func(svc *cataloguev1.Service, rev int64) error {
		if len(docs)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		docs = append(docs, domain.IndexDoc(svc, rev))
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.index.BulkLoad(docs)
	return len(docs), nil
}

// SaveIndex writes a snapshot of the index to path: to a temporary file beside it, synced, then renamed over
// it, and the directory synced, so a crash leaves the old snapshot or the new one, never a part. Searches go
// on meanwhile; writes wait while the index is serialised (search.WriteSnapshot).
func (s *Server) SaveIndex(path string) (search.SnapshotMeta, error) {
	s.start.saveMu.Lock()
	defer s.start.saveMu.Unlock()
	meta := search.SnapshotMeta{FeedID: s.store.FeedID(), Revision: s.indexedRevision(), Docs: s.index.Len(), Source: indexSource()}
	// After a commit whose outcome is unknown the store's revision may count a write the index never got (its
	// caller saw an error): such a snapshot would skip that write at the next start. The backend fails before
	// it advances the revision, so checking after reading it is enough.
	if err := s.store.Backend().Err(); err != nil {
		return meta, fmt.Errorf("no search index snapshot after a storage failure: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return meta, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = s.index.WriteSnapshot(w, meta)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return meta, fmt.Errorf("write search index snapshot %s: %w", path, err)
	}
	if err := storage.SyncDir(filepath.Dir(path)); err != nil {
		return meta, err
	}
	s.start.savedRev.Store(meta.Revision)
	return meta, nil
}

// SnapshotDue reports whether at least minChanges store revisions passed since the snapshot on disk (any,
// when none is known).
func (s *Server) SnapshotDue(minChanges int64) bool {
	saved := s.start.savedRev.Load()
	// A snapshot the feed's compaction has passed is as good as none (loadSnapshot refuses it): rewrite it
	// however little changed, so a quiet catalogue still starts from a snapshot after a crash.
	return saved < 0 || s.store.Backend().Revision()-saved >= minChanges || saved < s.store.Backend().CompactedRevision()
}

// KeepSnapshots writes a snapshot to path at once and then every interval when at least minChanges revisions
// passed since the last one, until ctx ends (run it under the server's errgroup, joined before the store
// closes). A failed write is logged and tried again at the next tick: the index is derived state, and the
// worst case is a slower start.
func (s *Server) KeepSnapshots(ctx context.Context, path string, every time.Duration, minChanges int64) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if s.SnapshotDue(minChanges) {
			began := time.Now()
			meta, err := s.SaveIndex(path)
			if err != nil {
				s.log.Warn("search index snapshot not written", zap.Error(err))
			} else {
				s.log.Info("search index snapshot written", zap.Int64("revision", meta.Revision), zap.Int("services", meta.Docs),
					zap.Duration("took", time.Since(began)))
			}
		}
		if every <= 0 {
			<-ctx.Done()
			return nil
		}
		t.Reset(every)
	}
}
