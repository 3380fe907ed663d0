// Package federation keeps copies of peer CUS instances' catalogues: for each peer in the operator's allowlist it
// pulls the peer's change feed from a cursor persisted in the local store (paging through the recorded changes
// first, then following the live stream), applies the changes read-only under the peer's origin, and
// reconnects with backoff when anything goes wrong. A session fetches, stores and indexes in three overlapping
// stages, with thousands of changes per transaction, and at most MaxConcurrentSyncs peers catch up at once, so
// a regional instance syncs hundreds of thousands of services in minutes (docs/federation.md). Only published
// catalogue data crosses: the feed carries services, which hold no personal data (a test walks every field on
// this path).
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcclient"
	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Peer is one entry of the operator's allowlist. Addresses come only from here, never from data.
type Peer struct {
	// TERC of the peer's gmina; its entries are stored under this origin.
	TERC string `json:"terc"`
	// Name shown in status, e.g. "CUS Jarocin".
	Name string `json:"name"`
	// Address of the peer's catalogue gRPC endpoint: host:port, a comma-separated list of its replicas
	// (host:port,host:port), or dns:///name:port (every address of the name); platform/grpcclient.
	Address string `json:"address"`
	// TokenFile holds a bearer token the peer issued to this instance (role peer); read at each connection,
	// so it can be rotated without a restart.
	TokenFile string `json:"token_file,omitempty"`
	// CAFile verifies the peer's certificate; with CertFile/KeyFile this instance presents its own (mTLS).
	// Without CAFile the connection is plaintext, which is allowed only to loopback addresses.
	CAFile   string `json:"ca_file,omitempty"`
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// MaxServices caps how many of the peer's services are kept (default 200,000).
	MaxServices int `json:"max_services,omitempty"`
}

// Config is the federation part of the catalogue's configuration.
type Config struct {
	Peers []Peer `json:"peers"`
}

// LoadConfig reads and validates a peers file, refusing this instance's own TERC.
func LoadConfig(path, ownTERC string) (Config, error) {
	var cfg Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("peers file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, p := range cfg.Peers {
		where := fmt.Sprintf("peers file %s, peer %d", path, i+1)
		switch {
		case plid.ValidateTERC(p.TERC) != nil:
			return cfg, fmt.Errorf("%s: terc %q is not a TERYT TERC code of a gmina", where, p.TERC)
		case p.TERC == ownTERC:
			return cfg, fmt.Errorf("%s: terc %s is this instance's own", where, p.TERC)
		case seen[p.TERC]:
			return cfg, fmt.Errorf("%s: terc %s is listed twice", where, p.TERC)
		case p.Name == "":
			return cfg, fmt.Errorf("%s: name is required", where)
		}
		if strings.TrimSpace(p.Address) == "" {
			return cfg, fmt.Errorf("%s: address is required: host:port, host:port,host:port (the peer's replicas) or dns:///name:port", where)
		}
		if _, err := grpcclient.Parse(p.Address); err != nil {
			return cfg, fmt.Errorf("%s: address: %w", where, err)
		}
		if p.CAFile == "" && !grpcclient.IsLoopback(p.Address) {
			return cfg, fmt.Errorf("%s: plaintext to %s is not allowed; give ca_file", where, p.Address)
		}
		if (p.CertFile == "") != (p.KeyFile == "") {
			return cfg, fmt.Errorf("%s: cert_file and key_file go together", where)
		}
		if p.MaxServices < 0 {
			return cfg, fmt.Errorf("%s: max_services must not be negative", where)
		}
		if p.MaxServices == 0 {
			cfg.Peers[i].MaxServices = 200000
		}
		seen[p.TERC] = true
	}
	return cfg, nil
}

// Applier is the catalogue's side: where changes land.
type Applier interface {
	// PeerCursor is the persisted cursor of a peer and the id of the peer's feed it belongs to.
	PeerCursor(terc string) (cursor int64, feedID string, err error)
	// ApplyPeerChanges stores changes and moves the cursor in one transaction; it returns the changes rejected
	// and why (one line per rejection), and publish, which makes what was stored searchable. The syncer calls
	// every publish it gets, in order, even when its session then fails (what was stored must reach search),
	// and may store the next batch meanwhile.
	ApplyPeerChanges(ctx context.Context, peer Peer, feedID string, changes []*cataloguev1.Change, cursor int64) (rejected []string, publish func(), err error)
	// PurgePeer removes everything of a peer and resets its cursor (the peer's data was reset).
	PurgePeer(ctx context.Context, terc string) error
	// PeerServiceCount is how many of the peer's services are held.
	PeerServiceCount(terc string) int
}

// Options tune the syncer; zero values take defaults.
type Options struct {
	// PageSize asked of the peer's ListChanges (default 5,000: what a peer serves to a peer caller; it may
	// answer with fewer, e.g. to keep a page under the message limit).
	PageSize       int32
	MaxMessageSize int
	CallTimeout    time.Duration
	MinBackoff     time.Duration
	MaxBackoff     time.Duration
	// MaxBatch caps the changes stored in one transaction (default 4,000, as an import): pages and live
	// changes that wait are joined up to it.
	MaxBatch int
	// Prefetch is how many catch-up pages may wait decoded while an earlier one is stored (default 2).
	Prefetch int
	// MaxConcurrentSyncs is how many peers may catch up at the same time (default 2); the others wait for a
	// slot, then sync at full speed. Following the live stream needs no slot.
	MaxConcurrentSyncs int
}

// Syncer runs one follower per peer.
type Syncer struct {
	applier Applier
	log     *zap.Logger
	opts    Options
	peers   []*follower
	metrics *metrics
	// slots holds a token for every catch-up under way (MaxConcurrentSyncs).
	slots chan struct{}
}

// acquireSlot waits for a sync slot; release gives it back and may be called more than once.
func (s *Syncer) acquireSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.slots }) }, nil
}

// New builds a syncer; call Run to start it.
func New(cfg Config, applier Applier, log *zap.Logger, reg prometheus.Registerer, opts Options) *Syncer {
	if opts.PageSize <= 0 {
		opts.PageSize = 5000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4000
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = 2
	}
	if opts.MaxConcurrentSyncs <= 0 {
		opts.MaxConcurrentSyncs = 2
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = 8 << 20
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	s := &Syncer{applier: applier, log: log, opts: opts, metrics: newMetrics(reg), slots: make(chan struct{}, opts.MaxConcurrentSyncs)}
	for _, p := range cfg.Peers {
		s.peers = append(s.peers, &follower{peer: p, s: s, status: &cataloguev1.PeerStatus{
			Terc: p.TERC, DisplayName: p.Name, Address: p.Address, State: cataloguev1.PeerState_PEER_STATE_SYNCING,
		}})
	}
	return s
}

// Run follows every peer until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range s.peers {
		wg.Add(1)
		go func() { defer wg.Done(); f.run(ctx) }()
	}
	wg.Wait()
}

// Status reports every peer, ordered by TERC.
func (s *Syncer) Status() []*cataloguev1.PeerStatus {
	out := make([]*cataloguev1.PeerStatus, 0, len(s.peers))
	for _, f := range s.peers {
		out = append(out, f.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetTerc() < out[j].GetTerc() })
	return out
}

type follower struct {
	peer Peer
	s    *Syncer

	mu         sync.Mutex
	status     *cataloguev1.PeerStatus
	caughtUpAt time.Time
}

func (f *follower) snapshot() *cataloguev1.PeerStatus {
	// Read before the lock: the first count of a peer never synced walks the catalogue, and the syncer's
	// updates of this status must not wait for it.
	count := f.s.applier.PeerServiceCount(f.peer.TERC)
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &cataloguev1.PeerStatus{
		Terc: f.status.Terc, DisplayName: f.status.DisplayName, Address: f.status.Address, State: f.status.State,
		Cursor: f.status.Cursor, PeerLatestRevision: f.status.PeerLatestRevision,
		LastSuccessTime: f.status.LastSuccessTime, LastError: f.status.LastError, LastErrorTime: f.status.LastErrorTime,
		RejectedCount: f.status.RejectedCount,
	}
	st.LagRevisions = max(0, st.PeerLatestRevision-st.Cursor)
	if st.LagRevisions > 0 && !f.caughtUpAt.IsZero() {
		st.LagSeconds = int64(time.Since(f.caughtUpAt).Seconds())
	}
	st.ServiceCount = int32(count)
	return st
}

func (f *follower) update(fn func(st *cataloguev1.PeerStatus)) {
	f.mu.Lock()
	fn(f.status)
	lag := max(0, f.status.PeerLatestRevision-f.status.Cursor)
	if lag == 0 {
		f.caughtUpAt = time.Now()
	}
	st := f.status.State
	f.mu.Unlock()
	f.s.metrics.lag.WithLabelValues(f.peer.TERC).Set(float64(lag))
	for _, s := range []cataloguev1.PeerState{cataloguev1.PeerState_PEER_STATE_SYNCING, cataloguev1.PeerState_PEER_STATE_WATCHING, cataloguev1.PeerState_PEER_STATE_BACKOFF} {
		v := 0.0
		if s == st {
			v = 1
		}
		f.s.metrics.state.WithLabelValues(f.peer.TERC, s.String()).Set(v)
	}
}

func (f *follower) run(ctx context.Context) {
	backoff := f.s.opts.MinBackoff
	for ctx.Err() == nil {
		started := time.Now()
		err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		reason := describe(err)
		f.s.log.Warn("federation peer failed", zap.String("peer", f.peer.TERC), zap.String("error", reason))
		f.s.metrics.errors.WithLabelValues(f.peer.TERC).Inc()
		f.update(func(st *cataloguev1.PeerStatus) {
			st.State = cataloguev1.PeerState_PEER_STATE_BACKOFF
			st.LastError = reason
			st.LastErrorTime = timestamppb.Now()
		})
		// A session that ran for a while was healthy: start the backoff over.
		if time.Since(started) > time.Minute {
			backoff = f.s.opts.MinBackoff
		}
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, f.s.opts.MaxBackoff)
	}
}

// errPeerReset means the peer's feed restarted below our cursor: its data was reset.
var errPeerReset = errors.New("the peer's change feed is behind our cursor (its data was reset); resynchronising")

// errPeerCompacted means the peer compacted its change log past our cursor (we were away longer than its
// retention window), so deletes we missed are gone from its feed: we purge its entries and resync from its full
// listing (its key-compacted feed read from revision 0).
var errPeerCompacted = errors.New("the peer compacted its change feed past our cursor; resynchronising from its full listing")

// resyncReason names why an OUT_OF_RANGE answer sends us back to a full resync.
func resyncReason(err error) error {
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == "CHANGES_COMPACTED" {
				return errPeerCompacted
			}
		}
	}
	return errPeerReset
}

// batch is what the fetching side of a session hands to the applying side: a page of the catch-up, or a change
// of the live stream.
type batch struct {
	changes []*cataloguev1.Change
	// next is the cursor once the changes are applied; latest the peer's newest revision (0: unknown).
	next, latest int64
	feedID       string
	// caughtUp marks the last page of the catch-up: the live stream follows.
	caughtUp bool
	// page is a catch-up page, which holds a credit of the session's prefetch window.
	page bool
}

// resync is a fetch that found our copy of the peer unusable: everything of it is purged and synced again.
type resync struct{ reason error }

func (r *resync) Error() string { return r.reason.Error() }

// session connects, catches up page by page, then follows the live stream until an error. Three goroutines
// split the work, so that on a machine with two cores or more the peer's reads, the wire, the durable writes
// and the search index overlap instead of taking turns: one fetches (the next page is read and decoded while
// the previous one is being stored), one stores, joining what has arrived meanwhile into one transaction (at
// most MaxBatch changes, so a burst on the peer's live stream is not stored one fsync per change), and one
// makes what was stored searchable. The catch-up waits for one of the syncer's sync
// slots, so an instance following many peers does not split its CPU and memory between all of them at once.
func (f *follower) session(ctx context.Context) error {
	conn, err := f.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)
	cursor, feedID, err := f.s.applier.PeerCursor(f.peer.TERC)
	if err != nil {
		return err
	}
	f.update(func(st *cataloguev1.PeerStatus) {
		st.State = cataloguev1.PeerState_PEER_STATE_SYNCING
		st.Cursor = cursor
	})
	release, err := f.s.acquireSlot(ctx)
	if err != nil {
		return err
	}
	defer release()

	// Either side failing ends the other (and the watch stream) through the errgroup's context.
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan batch, watchBuffer)
	credits := make(chan struct{}, f.s.opts.Prefetch)
	for range f.s.opts.Prefetch {
		credits <- struct{}{}
	}
	g.Go(func() error {
		defer close(batches)
		return f.fetch(gctx, client, cursor, feedID, batches, credits)
	})
	stored := make(chan storedBatch, 1)
	g.Go(func() error {
		defer close(stored)
		return f.storeAll(gctx, batches, credits, stored)
	})
	// Not under the errgroup's context: every stored batch is published, whatever ends the session.
	g.Go(func() error {
		f.publishAll(stored, release)
		return nil
	})
	err = g.Wait()
	var rs *resync
	if errors.As(err, &rs) {
		if perr := f.s.applier.PurgePeer(ctx, f.peer.TERC); perr != nil {
			return perr
		}
		f.update(func(st *cataloguev1.PeerStatus) { st.Cursor = 0 })
		return rs.reason
	}
	return err
}

// watchBuffer bounds the live changes received and not yet applied.
const watchBuffer = 1024

// fetch pages through the peer's recorded changes after cursor, then follows its live stream, handing batches
// to out. A catch-up page takes a credit first, so at most Prefetch pages wait decoded in memory.
func (f *follower) fetch(ctx context.Context, client cataloguev1.CatalogueServiceClient, cursor int64, feedID string, out chan<- batch, credits <-chan struct{}) error {
	send := func(b batch) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		select {
		case <-credits:
		case <-ctx.Done():
			return ctx.Err()
		}
		cctx, cancel := context.WithTimeout(ctx, f.s.opts.CallTimeout)
		resp, err := client.ListChanges(cctx, &cataloguev1.ListChangesRequest{AfterRevision: cursor, PageSize: f.s.opts.PageSize})
		cancel()
		if status.Code(err) == codes.OutOfRange {
			return &resync{resyncReason(err)}
		}
		if err != nil {
			return err
		}
		if resp.GetFeedId() != feedID {
			if cursor > 0 {
				// Our cursor counts revisions of another history of the peer: start over.
				return &resync{errPeerReset}
			}
			feedID = resp.GetFeedId()
		}
		next := resp.GetNextAfterRevision()
		if next < cursor || (len(resp.GetChanges()) > 0 && resp.GetChanges()[0].GetRevision() <= cursor) {
			return errors.New("the peer sent changes out of order")
		}
		cursor = next
		b := batch{changes: resp.GetChanges(), next: next, latest: max(resp.GetLatestRevision(), next), feedID: feedID, caughtUp: !resp.GetHasMore(), page: true}
		if err := send(b); err != nil {
			return err
		}
		if b.caughtUp {
			break
		}
	}
	stream, err := client.WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: cursor})
	if err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if status.Code(err) == codes.OutOfRange {
			return &resync{resyncReason(err)}
		}
		if err != nil {
			return err
		}
		c := m.GetChange()
		if c.GetRevision() <= cursor {
			return errors.New("the peer sent changes out of order")
		}
		cursor = c.GetRevision()
		if err := send(batch{changes: []*cataloguev1.Change{c}, next: cursor, feedID: feedID}); err != nil {
			return err
		}
	}
}

// storedBatch is a committed batch on its way to the search index.
type storedBatch struct {
	publish  func()
	caughtUp bool
}

// storeAll stores the batches fetch hands over, joining those already waiting (up to MaxBatch changes, never
// past the end of the catch-up) into one transaction, and hands each committed batch to publishAll.
func (f *follower) storeAll(ctx context.Context, in <-chan batch, credits chan<- struct{}, out chan<- storedBatch) error {
	for b := range in {
		pages := 0
		if b.page {
			pages++
		}
		changes := b.changes
	join:
		for !b.caughtUp && len(changes) < f.s.opts.MaxBatch {
			select {
			case nb, ok := <-in:
				if !ok {
					break join
				}
				if nb.page {
					pages++
				}
				if len(changes) == len(b.changes) {
					changes = append(make([]*cataloguev1.Change, 0, len(changes)+len(nb.changes)), changes...)
				}
				changes = append(changes, nb.changes...)
				nb.latest = max(nb.latest, b.latest)
				b = nb
			default:
				break join
			}
		}
		// A page may hold more changes than one transaction may write (PageSize 5,000 against MaxBatch, which the
		// app sizes to the storage engine: on etcd's default limits a few dozen): it is stored in transactions
		// of at most MaxBatch, each moving the cursor to the peer's revision of its last change, so a crash
		// between them resumes after what was stored.
		rejected := 0
		for lo := 0; lo == 0 || lo < len(changes); lo += f.s.opts.MaxBatch {
			hi := min(lo+f.s.opts.MaxBatch, len(changes))
			cursor := b.next
			if hi < len(changes) {
				cursor = changes[hi-1].GetRevision()
			}
			n, publish, err := f.apply(ctx, b.feedID, changes[lo:hi], cursor)
			if err != nil {
				return err
			}
			rejected += n
			// Always handed on (publishAll drains until this side closes), so a stored batch reaches search.
			out <- storedBatch{publish: publish, caughtUp: b.caughtUp && hi == len(changes)}
		}
		for range pages {
			credits <- struct{}{}
		}
		f.update(func(st *cataloguev1.PeerStatus) {
			st.Cursor = b.next
			st.PeerLatestRevision = max(st.PeerLatestRevision, b.latest, b.next)
			st.LastSuccessTime = timestamppb.Now()
			if rejected == 0 {
				st.LastError = ""
			}
		})
	}
	return nil
}

// publishAll makes stored batches searchable in order. Once the catch-up is searchable the peer is WATCHING and
// the sync slot is given back.
func (f *follower) publishAll(in <-chan storedBatch, release func()) {
	for b := range in {
		if b.publish != nil {
			b.publish()
		}
		if b.caughtUp {
			f.update(func(st *cataloguev1.PeerStatus) { st.State = cataloguev1.PeerState_PEER_STATE_WATCHING })
			release()
		}
	}
}

// apply stores a batch and reports rejections; it returns how many changes were rejected and the batch's
// publish.
func (f *follower) apply(ctx context.Context, feedID string, changes []*cataloguev1.Change, cursor int64) (int, func(), error) {
	rejected, publish, err := f.s.applier.ApplyPeerChanges(ctx, f.peer, feedID, changes, cursor)
	if err != nil {
		return 0, nil, err
	}
	f.s.metrics.applied.WithLabelValues(f.peer.TERC).Add(float64(len(changes) - len(rejected)))
	if len(rejected) > 0 {
		f.s.metrics.rejected.WithLabelValues(f.peer.TERC).Add(float64(len(rejected)))
		f.s.log.Warn("federation entries rejected", zap.String("peer", f.peer.TERC), zap.Int("count", len(rejected)), zap.String("first", rejected[0]))
		f.update(func(st *cataloguev1.PeerStatus) {
			st.RejectedCount += int64(len(rejected))
			st.LastError = fmt.Sprintf("%d entries rejected; first: %s", len(rejected), rejected[0])
			st.LastErrorTime = timestamppb.Now()
		})
	}
	return len(rejected), publish, nil
}

// dial connects to the peer through platform/grpcclient, as the services dial one another: a peer that runs
// replicas (a list of addresses, or dns:///) is followed through all of them, round robin with health checks,
// and a read that fails UNAVAILABLE on one (ListChanges, the opening of WatchChanges) is tried on another.
func (f *follower) dial() (*grpc.ClientConn, error) {
	// The peer's own CA and client certificate (not this instance's --backend-ca): its errors name the peer's files.
	creds := insecure.NewCredentials()
	if f.peer.CAFile != "" {
		tc, err := auth.ClientTLS(f.peer.CertFile, f.peer.KeyFile, f.peer.CAFile)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tc)
	}
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(f.s.opts.MaxMessageSize))}
	if f.peer.TokenFile != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(tokenFile{path: f.peer.TokenFile, secure: f.peer.CAFile != ""}))
	}
	return grpcclient.Dial(f.peer.Address, creds, opts...)
}

// tokenFile presents the token in a file as a bearer token, re-reading it for every call.
type tokenFile struct {
	path   string
	secure bool
}

func (t tokenFile) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return nil, fmt.Errorf("peer token file: %w", err)
	}
	return map[string]string{"authorization": "Bearer " + strings.TrimSpace(string(b))}, nil
}

// RequireTransportSecurity is false only for plaintext loopback peers (development), which LoadConfig enforces.
func (t tokenFile) RequireTransportSecurity() bool { return t.secure }

// describe turns an error into a line for status and logs: the peer's status message, or the kind of failure.
func describe(err error) string {
	if err == nil {
		return ""
	}
	if st, ok := status.FromError(err); ok {
		msg := st.Message()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return st.Code().String() + ": " + msg
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

type metrics struct {
	lag      *prometheus.GaugeVec
	state    *prometheus.GaugeVec
	errors   *prometheus.CounterVec
	applied  *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cus_federation_peer_lag_revisions", Help: "Revisions of a peer's feed not yet applied here.",
		}, []string{"peer"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cus_federation_peer_state", Help: "1 for the current synchronisation state of a peer.",
		}, []string{"peer", "state"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cus_federation_peer_errors_total", Help: "Failed synchronisation sessions with a peer.",
		}, []string{"peer"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cus_federation_changes_applied_total", Help: "Changes from a peer applied here.",
		}, []string{"peer"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cus_federation_changes_rejected_total", Help: "Changes from a peer refused by validation.",
		}, []string{"peer"}),
	}
	if reg != nil {
		reg.MustRegister(m.lag, m.state, m.errors, m.applied, m.rejected)
	}
	return m
}
