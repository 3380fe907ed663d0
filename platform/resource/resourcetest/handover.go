package resourcetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/grpcclient"
)

// HandOver is one service's part in CheckHandOver: two replicas of it on one storage cluster, how to write
// through one, how to watch, and how to list the change feed.
type HandOver struct {
	// Addrs are the two replicas' gRPC addresses; Stop[i] stops replica i gracefully (its drain) and returns
	// once it has stopped.
	Addrs [2]string
	Stop  [2]func()
	// Ctx carries the calls' credentials and bounds the whole check.
	Ctx context.Context
	// After is the revision the watch starts after (0, or the current one for a watch whose 0 means "now").
	After int64
	// Write makes the ith change through conn, a connection to one replica alone.
	Write func(ctx context.Context, conn *grpc.ClientConn, i int) error
	// Watch opens the watch after rev through conn and returns the stream's context (it names the replica
	// serving it) and next, which returns each message as a Change (Name empty: a heartbeat, whose revision is
	// a resume token all the same).
	Watch func(ctx context.Context, conn *grpc.ClientConn, after int64) (stream context.Context, next func() (Change, error), err error)
	// Feed lists every change after rev through conn.
	Feed func(ctx context.Context, conn *grpc.ClientConn, after int64) ([]Change, error)
}

// Change is one change of a feed: its revision and the name of the resource it changed.
type Change struct {
	Rev  int64
	Name string
}

// watched is one opening of the watch: the replica serving it and how it ended.
type watched struct {
	replica string
	msgs    int
	end     error
}

// CheckHandOver proves that a replica that stops hands its watchers over without losing an event: a watcher
// follows the feed through ONE round-robin connection to both replicas (platform/grpcclient) while a writer
// changes things steadily through the replica not serving the watch; the serving replica is stopped
// gracefully; its stream must end UNAVAILABLE SHUTTING_DOWN, the watcher reconnects through the same
// connection from the last revision it received (a heartbeat's included), lands on the remaining replica, and
// must have received every change of the feed (listed afterwards) exactly once, in order. It logs how long
// the watcher went without a message while it moved over.
func CheckHandOver(t *testing.T, h HandOver) {
	t.Helper()
	ctx, cancel := context.WithCancel(h.Ctx)
	defer cancel()
	conn, err := grpcclient.Dial(h.Addrs[0]+","+h.Addrs[1], insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	direct := func(addr string) *grpc.ClientConn {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	var (
		mu       sync.Mutex
		revs     []Change // changes received
		streams  []watched
		endedAt  time.Time     // the first stream's end
		gap      time.Duration // from that end to the next message
		opened   = make(chan string, 8)
		watchErr = make(chan error, 1)
	)
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(revs)
	}
	last := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		if len(revs) == 0 {
			return h.After
		}
		return revs[len(revs)-1].Rev
	}
	go func() {
		after := h.After
		for ctx.Err() == nil {
			sctx, next, err := h.Watch(ctx, conn, after)
			if err != nil {
				watchErr <- err
				return
			}
			var w watched
			if p, ok := peer.FromContext(sctx); ok {
				w.replica = p.Addr.String()
			}
			opened <- w.replica
			for {
				c, err := next()
				if err != nil {
					w.end = err
					break
				}
				mu.Lock()
				if !endedAt.IsZero() && gap == 0 {
					gap = time.Since(endedAt)
				}
				if c.Name != "" {
					revs = append(revs, c)
				}
				mu.Unlock()
				w.msgs++
				after = c.Rev
			}
			mu.Lock()
			streams = append(streams, w)
			if len(streams) == 1 {
				endedAt = time.Now()
			}
			mu.Unlock()
			if ctx.Err() != nil {
				break
			}
			if status.Code(w.end) != codes.Unavailable {
				watchErr <- w.end
				return
			}
			time.Sleep(10 * time.Millisecond) // as a client would pause before it reconnects
		}
		watchErr <- nil
	}()
	serving := <-opened
	idx := slices.Index(h.Addrs[:], serving)
	if idx < 0 {
		t.Fatalf("the watch is served by %q, neither replica %v", serving, h.Addrs)
	}
	other := direct(h.Addrs[1-idx])

	// The writer: through the replica that stays, before, during and after the stop.
	var wmu sync.Mutex
	written := 0
	writerErr := make(chan error, 1)
	stopWriter := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				writerErr <- nil
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := h.Write(ctx, other, i); err != nil {
				writerErr <- err
				return
			}
			wmu.Lock()
			written++
			wmu.Unlock()
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case err := <-writerErr:
				t.Fatalf("the writer stopped (%v) while waiting for %s", err, what)
			case err := <-watchErr:
				t.Fatalf("the watch stopped (%v) while waiting for %s", err, what)
			case <-ctx.Done():
				t.Fatalf("%s: %v", what, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	writes := func() int {
		wmu.Lock()
		defer wmu.Unlock()
		return written
	}
	waitFor("the watcher receiving 30 changes", func() bool { return received() >= 30 })
	stopAt := time.Now()
	h.Stop[idx]()
	stopped := time.Since(stopAt)
	n := writes()
	waitFor("30 writes after the stop", func() bool { return writes() >= n+30 })
	close(stopWriter)
	if err := <-writerErr; err != nil {
		t.Fatalf("writer: %v", err)
	}

	feed, err := h.Feed(ctx, other, h.After)
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the watcher reaching the end of the feed", func() bool { return len(feed) > 0 && last() >= feed[len(feed)-1].Rev })
	cancel()
	if err := <-watchErr; err != nil && !errors.Is(err, context.Canceled) && status.Code(err) != codes.Canceled {
		t.Fatalf("the watch ended with %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	checkFollowed(t, revs, feed)
	if len(streams) < 2 {
		t.Fatalf("one stream only (%+v): the stop did not end it", streams)
	}
	if st := status.Convert(streams[0].end); st.Code() != codes.Unavailable || reasonOf(st) != "SHUTTING_DOWN" {
		t.Errorf("the stream on the stopped replica ended with %v, want UNAVAILABLE SHUTTING_DOWN", streams[0].end)
	}
	for _, s := range streams[1:] {
		if s.replica == serving && s.msgs > 0 {
			t.Errorf("a stream after the stop was served by the stopped replica %s (%d messages)", serving, s.msgs)
		}
	}
	t.Logf("hand-over of a watch under a writer (every 5 ms, %d writes, %d changes watched): the serving replica stopped in %v; "+
		"the next message came %v after its stream ended, on the other replica (%d openings in all)",
		writes(), len(revs), stopped.Round(time.Millisecond), gap.Round(100*time.Microsecond), len(streams))
}

func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// checkFollowed checks what a watcher received against the feed listed afterwards. A feed is key-compacted
// (a newer change of a resource replaces the older one's entry), so a watcher that saw a change live may have
// received entries the listing no longer has. It must have received: every change once, in revision order;
// every change the listing has; and for each change the listing lacks, a later one of the same resource.
func checkFollowed(t *testing.T, got, feed []Change) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].Rev <= got[i-1].Rev {
			t.Errorf("revision %d received after %d: twice or out of order", got[i].Rev, got[i-1].Rev)
		}
	}
	received := map[int64]bool{}
	newest := map[string]int64{}
	for _, c := range got {
		received[c.Rev] = true
		newest[c.Name] = c.Rev
	}
	listed := map[int64]bool{}
	missing := 0
	for _, c := range feed {
		listed[c.Rev] = true
		if !received[c.Rev] {
			if missing++; missing <= 5 {
				t.Errorf("revision %d (%s) of the feed was never received", c.Rev, c.Name)
			}
		}
	}
	superseded := 0
	for _, c := range got {
		if listed[c.Rev] {
			continue
		}
		superseded++
		if newest[c.Name] <= c.Rev {
			t.Errorf("revision %d (%s) was received but is not in the feed, and no later change of %s was received", c.Rev, c.Name, c.Name)
		}
	}
	if t.Failed() {
		t.Errorf("received %d changes, the feed lists %d (%d of them never received)", len(got), len(feed), missing)
	}
	t.Logf("received %d changes: the %d the feed lists and %d it no longer lists (superseded by a later change received)", len(got), len(feed), superseded)
}
