package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// feed is one change feed that several replicas serve, as they would from one etcd cluster: two replicas cannot
// share a bbolt file, and the point here is the servers' drain and the clients' hand-over, not the storage.
type feed struct {
	mu      sync.Mutex
	changes []*cataloguev1.Change
	grew    chan struct{}
}

func newFeed() *feed { return &feed{grew: make(chan struct{})} }

func (f *feed) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, &cataloguev1.Change{Revision: int64(len(f.changes) + 1), ResourceName: "services/x"})
	close(f.grew)
	f.grew = make(chan struct{})
}

// after returns the changes above rev and a channel closed when more come.
func (f *feed) after(rev int64) ([]*cataloguev1.Change, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rev >= int64(len(f.changes)) {
		return nil, f.grew
	}
	return slices.Clone(f.changes[rev:]), f.grew
}

// watchReplica serves the feed like the catalogue's WatchChanges, but with no OnShutdown hook: ending its
// streams is left to the server's drain.
type watchReplica struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	name string
	feed *feed
}

func (r *watchReplica) WatchChanges(req *cataloguev1.WatchChangesRequest, stream cataloguev1.CatalogueService_WatchChangesServer) error {
	if err := stream.SendHeader(metadata.Pairs("replica", r.name)); err != nil {
		return err
	}
	rev := req.GetAfterRevision()
	for {
		batch, grew := r.feed.after(rev)
		for _, c := range batch {
			if err := stream.Send(&cataloguev1.WatchChangesResponse{Change: c}); err != nil {
				return err
			}
			rev = c.GetRevision()
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-grew:
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

func (r *watchReplica) GetService(context.Context, *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	return &cataloguev1.Service{DisplayName: r.name}, nil
}

type runningReplica struct {
	addr, admin string
	stop        context.CancelFunc
	done        chan error
}

func startReplica(t *testing.T, name string, f *feed, drain time.Duration) *runningReplica {
	t.Helper()
	s := New(Config{Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownGrace: 5 * time.Second, DrainPeriod: drain}, zap.NewNop())
	cataloguev1.RegisterCatalogueServiceServer(s.GRPC(), &watchReplica{name: name, feed: f})
	ls, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningReplica{addr: ls.GRPC.Addr().String(), admin: ls.Admin.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx, ls) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

type watchStream struct {
	replica        string
	end            error
	first, endedAt time.Time // first change received, end seen
}

// watch follows the feed through conn from revision 0 until it has seen last, reconnecting after an error
// from the revision it saw last, as the suite's watch clients do. It returns every revision seen in order
// and the streams it had.
func watch(ctx context.Context, conn *grpc.ClientConn, last int64, opened chan<- string, progress chan<- int64) ([]int64, []watchStream, error) {
	c := cataloguev1.NewCatalogueServiceClient(conn)
	var seen []int64
	var streams []watchStream
	var rev int64
	for rev < last {
		if ctx.Err() != nil {
			return seen, streams, fmt.Errorf("stopped at revision %d: %w", rev, ctx.Err())
		}
		st, err := c.WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: rev})
		if err != nil {
			return seen, streams, err
		}
		md, err := st.Header()
		if err != nil {
			streams = append(streams, watchStream{end: err})
			continue
		}
		ws := watchStream{replica: md.Get("replica")[0]}
		opened <- ws.replica
		for rev < last {
			msg, err := st.Recv()
			if err != nil {
				ws.end, ws.endedAt = err, time.Now()
				break
			}
			if ws.first.IsZero() {
				ws.first = time.Now()
			}
			rev = msg.GetChange().GetRevision()
			seen = append(seen, rev)
			select {
			case progress <- rev:
			default:
			}
		}
		streams = append(streams, ws)
	}
	return seen, streams, nil
}

// Two replicas behind one round-robin connection; a watcher on one of them; that replica stops mid-stream.
// It reports NOT_SERVING at once, still answers calls during its drain period, then ends the stream with
// UNAVAILABLE SHUTTING_DOWN; the watcher resumes on the other replica from its last revision and sees every
// change exactly once.
func TestDrainHandsWatchersOver(t *testing.T) {
	const drain = time.Second
	const total = 600
	f := newFeed()
	replicas := map[string]*runningReplica{"a": startReplica(t, "a", f, drain), "b": startReplica(t, "b", f, drain)}
	conn, err := grpcclient.Dial(replicas["a"].addr+","+replicas["b"].addr, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The writer: changes keep coming during and after the hand-over.
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for range total {
			f.add()
			select {
			case <-time.After(3 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { <-writerDone }()

	opened := make(chan string, 10)
	progress := make(chan int64, 1)
	type result struct {
		seen    []int64
		streams []watchStream
		err     error
	}
	res := make(chan result, 1)
	go func() {
		seen, streams, err := watch(ctx, conn, total, opened, progress)
		res <- result{seen, streams, err}
	}()
	first := <-opened
	for rev := int64(0); rev < 50; rev = <-progress {
	}
	stopping, other := replicas[first], replicas[map[string]string{"a": "b", "b": "a"}[first]]
	// A caller connected straight to the replica that stops, as one that has not yet heard of the stop.
	direct, err := grpc.NewClient(stopping.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	dc := cataloguev1.NewCatalogueServiceClient(direct)
	if _, err := dc.GetService(ctx, &cataloguev1.GetServiceRequest{}); err != nil {
		t.Fatal(err)
	}
	stopAt := time.Now()
	stopping.stop()

	// Its call during the drain period is still answered, while /readyz says NOT_SERVING.
	if got, err := dc.GetService(ctx, &cataloguev1.GetServiceRequest{}); err != nil || got.GetDisplayName() != first {
		t.Errorf("a call during the drain period: %v, %v", got, err)
	}
	waitStatus(ctx, t, "http://"+stopping.admin+"/readyz", http.StatusServiceUnavailable)
	waitStatus(ctx, t, "http://"+other.admin+"/readyz", http.StatusOK)

	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := make([]int64, total)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(r.seen, want) {
		t.Errorf("the watcher saw %d changes, want each of 1..%d exactly once in order", len(r.seen), total)
	}
	if len(r.streams) < 2 {
		t.Fatalf("one stream only (%+v): the stop did not end it", r.streams)
	}
	end := r.streams[0].end
	if st := status.Convert(end); st.Code() != codes.Unavailable || reason(st) != "SHUTTING_DOWN" {
		t.Errorf("the first stream ended with %v, want UNAVAILABLE SHUTTING_DOWN", end)
	}
	if last := r.streams[len(r.streams)-1]; last.replica == first || last.end != nil {
		t.Errorf("the watch ended on %q (%v), want it to follow on the other replica to the end", last.replica, last.end)
	}
	// A figure, not an assertion: how long the watcher went without changes while it moved over.
	t.Logf("hand-over: the stream on %s ended %s after the stop (drain %s); the first change on %s came %s after that",
		first, r.streams[0].endedAt.Sub(stopAt).Round(time.Millisecond), drain, r.streams[len(r.streams)-1].replica,
		r.streams[len(r.streams)-1].first.Sub(r.streams[0].endedAt).Round(100*time.Microsecond))
	if err := <-stopping.done; err != nil {
		t.Errorf("Serve of the stopped replica: %v", err)
	}
	stopping.done <- nil // for the cleanup
	if d := time.Since(stopAt); d < drain {
		t.Errorf("stopped after %s, within the drain period %s", d, drain)
	}
}

// A stream opened on a server that has ended its streams is refused with UNAVAILABLE (another replica will
// answer it); a stream that ends by itself keeps its own error.
func TestStreamsEndAll(t *testing.T) {
	tr := newStreams()
	handlerErr := errors.New("handler error")
	run := func(wait bool) chan error {
		started, out := make(chan struct{}), make(chan error, 1)
		go func() {
			out <- tr.intercept(nil, &fakeStream{ctx: context.Background()}, nil, func(_ any, ss grpc.ServerStream) error {
				close(started)
				if wait {
					<-ss.Context().Done()
					return ss.Context().Err()
				}
				return handlerErr
			})
		}()
		<-started
		return out
	}
	if err := <-run(false); !errors.Is(err, handlerErr) {
		t.Errorf("a stream ending by itself: %v", err)
	}
	waiting := run(true)
	for tr.count() != 1 {
		time.Sleep(time.Millisecond)
	}
	if n := tr.endAll(); n != 1 {
		t.Errorf("endAll ended %d streams, want 1", n)
	}
	if err := <-waiting; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("an ended stream returned %v, want ErrShuttingDown", err)
	}
	err := tr.intercept(nil, &fakeStream{ctx: context.Background()}, nil, func(any, grpc.ServerStream) error {
		t.Error("a stream ran after endAll")
		return nil
	})
	if !errors.Is(err, ErrShuttingDown) {
		t.Errorf("a stream opened after endAll: %v", err)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func reason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func waitStatus(ctx context.Context, t *testing.T, url string, want int) {
	t.Helper()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered %d", url, want)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (r *watchReplica) UpdateService(context.Context, *cataloguev1.UpdateServiceRequest) (*cataloguev1.Service, error) {
	return &cataloguev1.Service{DisplayName: r.name}, nil
}

// Callers keep calling, reads and writes that are never retried, while one of two replicas stops: none of
// their calls fails. Calls sent to the stopping replica are answered (the drain period, then GracefulStop), and
// calls that meet its closing connection go to the other replica before they were sent (gRPC's transparent
// retry over the round robin of platform/grpcclient). This holds with no drain period too: what the drain
// period adds is for callers that do not see the health (TestDrainHandsWatchersOver's direct call) and for
// streams.
func TestDrainLosesNoCall(t *testing.T) {
	f := newFeed()
	replicas := map[string]*runningReplica{"a": startReplica(t, "a", f, 300*time.Millisecond), "b": startReplica(t, "b", f, 300*time.Millisecond)}
	conn, err := grpcclient.Dial(replicas["a"].addr+","+replicas["b"].addr, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cataloguev1.NewCatalogueServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	served := map[string]int{}
	var failures []error
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stopped:
					return
				default:
				}
				var got *cataloguev1.Service
				var err error
				if (i+n)%2 == 0 {
					got, err = c.GetService(ctx, &cataloguev1.GetServiceRequest{})
				} else {
					got, err = c.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{})
				}
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					served[got.GetDisplayName()]++
				}
				mu.Unlock()
			}
		}()
	}
	// Both replicas take calls before the stop.
	for {
		mu.Lock()
		both := served["a"] > 0 && served["b"] > 0
		mu.Unlock()
		if both {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the calls never reached both replicas")
		}
		time.Sleep(5 * time.Millisecond)
	}
	replicas["a"].stop()
	if err := <-replicas["a"].done; err != nil {
		t.Fatal(err)
	}
	replicas["a"].done <- nil // for the cleanup
	mu.Lock()
	atStop := served["b"]
	mu.Unlock()
	// And after it: the survivor answers everything.
	for {
		mu.Lock()
		more := served["b"] > atStop+200
		mu.Unlock()
		if more || ctx.Err() != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stopped)
	wg.Wait()
	t.Logf("calls answered: %d by the stopped replica, %d by the other; %d failed", served["a"], served["b"], len(failures))
	if len(failures) > 0 {
		t.Errorf("%d calls failed while a replica stopped, the first: %v", len(failures), failures[0])
	}
}
