package grpcclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// opening is what one opening of a scripted watch does: send up to send messages of the feed after the
// request's revision (a heartbeat first when beat is set), then hold the stream open, or end it with end
// (nil: OK, the end of the stream).
type opening struct {
	beat bool
	send int
	hold bool
	end  error
}

// script is a watch server of both kinds whose openings follow plan in turn (the last one repeats); it records
// the after_revision of every request. The feed is revisions 1..size.
type script struct {
	mu    sync.Mutex
	plan  []opening
	after []int64
	size  int64
}

func (s *script) next(after int64) opening {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after = append(s.after, after)
	o := s.plan[min(len(s.after), len(s.plan))-1]
	return o
}

func (s *script) requests() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.after)
}

func (s *script) run(ctx context.Context, after int64, send func(rev int64, beat bool) error) error {
	o := s.next(after)
	// Headers first, as a server that has started the stream: gRPC's own retry of an opening then stays
	// out, and every opening here is one of the interceptor's.
	if err := grpc.SetHeader(ctx, metadata.Pairs("opened", "1")); err != nil {
		return err
	}
	if err := grpc.SendHeader(ctx, nil); err != nil {
		return err
	}
	if o.beat {
		if err := send(after, true); err != nil {
			return err
		}
	}
	for rev := after + 1; rev <= after+int64(o.send) && rev <= s.size; rev++ {
		if err := send(rev, false); err != nil {
			return err
		}
	}
	if o.hold {
		<-ctx.Done()
	}
	return o.end
}

type catalogueScript struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	*script
}

func (c catalogueScript) WatchChanges(req *cataloguev1.WatchChangesRequest, st cataloguev1.CatalogueService_WatchChangesServer) error {
	return c.run(st.Context(), req.GetAfterRevision(), func(rev int64, _ bool) error {
		return st.Send(&cataloguev1.WatchChangesResponse{Change: &cataloguev1.Change{Revision: rev, ResourceName: "services/x"}})
	})
}

type referralScript struct {
	referralv1.UnimplementedReferralServiceServer
	*script
}

func (r referralScript) WatchReferrals(req *referralv1.WatchReferralsRequest, st referralv1.ReferralService_WatchReferralsServer) error {
	after := req.GetAfterRevision()
	if after == 0 {
		after = 7 // "the current revision", as the server picks it
	}
	return r.run(st.Context(), after, func(rev int64, beat bool) error {
		if beat {
			return st.Send(&referralv1.ReferralEvent{Revision: rev, Heartbeat: true})
		}
		return st.Send(&referralv1.ReferralEvent{Revision: rev, Referral: &referralv1.Referral{Name: "referrals/x"}})
	})
}

func serveScript(t *testing.T, s *script) *grpc.ClientConn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(srv, catalogueScript{script: s})
	referralv1.RegisterReferralServiceServer(srv, referralScript{script: s})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcclient.Dial(l.Addr().String(), insecure.NewCredentials(), grpcclient.WithWatchResume())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

var (
	shuttingDown = status.Error(codes.Unavailable, "the service is shutting down")
	compacted    = status.Error(codes.OutOfRange, "compacted")
)

// fastResume shortens the pauses between openings for a test.
func fastResume(t *testing.T) {
	saved := grpcclient.ResumePolicy
	grpcclient.ResumePolicy.InitialBackoff, grpcclient.ResumePolicy.MaxBackoff = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { grpcclient.ResumePolicy = saved })
}

// recvChanges reads a catalogue watch until it ends and returns the revisions and the end.
func recvChanges(ctx context.Context, t *testing.T, conn *grpc.ClientConn, after int64) ([]int64, error) {
	t.Helper()
	st, err := cataloguev1.NewCatalogueServiceClient(conn).WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: after})
	if err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for {
		m, err := st.Recv()
		if err != nil {
			return revs, err
		}
		revs = append(revs, m.GetChange().GetRevision())
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for r := from; r <= to; r++ {
		out = append(out, r)
	}
	return out
}

// A watch whose openings end UNAVAILABLE (a drain after 30 changes, then an opening that fails at once) reads
// on from the last revision received: every change once, in order, and the caller sees the feed's end only.
// Without WithWatchResume the caller gets the first UNAVAILABLE after revision 30.
func TestWatchResumesAfterUnavailable(t *testing.T) {
	fastResume(t)
	s := &script{size: 100, plan: []opening{{send: 30, end: shuttingDown}, {send: 0, end: shuttingDown}, {send: 40, end: shuttingDown}, {send: 1000, hold: true}}}
	conn := serveScript(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The last opening holds the stream open: read the 100 changes, then end the call.
	st, err := cataloguev1.NewCatalogueServiceClient(conn).WatchChanges(ctx, &cataloguev1.WatchChangesRequest{AfterRevision: 0})
	if err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for len(revs) < 100 {
		m, err := st.Recv()
		if err != nil {
			t.Fatalf("after %d changes: %v", len(revs), err)
		}
		revs = append(revs, m.GetChange().GetRevision())
	}
	if !slices.Equal(revs, seq(1, 100)) {
		t.Errorf("received %v, want 1..100 once each in order", revs)
	}
	if got := s.requests(); !slices.Equal(got, []int64{0, 30, 30, 70}) {
		t.Errorf("openings after revisions %v, want [0 30 30 70]", got)
	}
	if md, err := st.Header(); err != nil || md.Get("opened")[0] != "1" {
		t.Errorf("header of the stream: %v %v", md, err)
	}
}

// What is not a replica going away ends the watch as before: the caller gets the error and nothing is opened
// again. So do the end of the stream (io.EOF) and the caller's own cancel.
func TestWatchOtherErrorsReachTheCaller(t *testing.T) {
	fastResume(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		end  error
		want codes.Code
	}{
		{"compacted", compacted, codes.OutOfRange},
		{"expired token", status.Error(codes.Unauthenticated, "token expired"), codes.Unauthenticated},
		{"end of the feed", nil, codes.OK},
	} {
		s := &script{size: 10, plan: []opening{{send: 5, end: tc.end}}}
		conn := serveScript(t, s)
		revs, err := recvChanges(ctx, t, conn, 0)
		if tc.want == codes.OK {
			if !errors.Is(err, io.EOF) {
				t.Errorf("%s: ended with %v, want io.EOF", tc.name, err)
			}
		} else if status.Code(err) != tc.want {
			t.Errorf("%s: ended with %v, want %v", tc.name, err, tc.want)
		}
		if !slices.Equal(revs, seq(1, 5)) || len(s.requests()) != 1 {
			t.Errorf("%s: received %v in %d openings, want 1..5 in one", tc.name, revs, len(s.requests()))
		}
	}

	// The caller's cancel during a pause between openings ends the watch with CANCELED, not UNAVAILABLE.
	grpcclient.ResumePolicy.InitialBackoff, grpcclient.ResumePolicy.MaxBackoff = time.Hour, time.Hour
	s := &script{size: 10, plan: []opening{{send: 2, end: shuttingDown}}}
	conn := serveScript(t, s)
	cctx, ccancel := context.WithCancel(ctx)
	st, err := cataloguev1.NewCatalogueServiceClient(conn).WatchChanges(cctx, &cataloguev1.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	time.AfterFunc(50*time.Millisecond, ccancel)
	if _, err := st.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled during the pause: %v, want CANCELED", err)
	}
}

// A watch that every replica ends at once with UNAVAILABLE gives up after the bounded attempts: the caller
// gets the UNAVAILABLE, having received every change once.
func TestWatchResumeAttemptsAreBounded(t *testing.T) {
	fastResume(t)
	s := &script{size: 10, plan: []opening{{send: 3, end: shuttingDown}, {send: 0, end: shuttingDown}}}
	conn := serveScript(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	revs, err := recvChanges(ctx, t, conn, 0)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("ended with %v, want the replicas' UNAVAILABLE", err)
	}
	if !slices.Equal(revs, seq(1, 3)) {
		t.Errorf("received %v, want 1..3", revs)
	}
	if got, want := len(s.requests()), 1+grpcclient.ResumePolicy.MaxAttempts; got != want {
		t.Errorf("%d openings, want %d (the first and MaxAttempts more)", got, want)
	}
}

// WatchReferrals: a heartbeat's revision is a resume token; a watch "from now" (after_revision 0) that ended
// before its first message is not opened again (another replica's "now" would be later, skipping what
// committed in between, unseen by the caller); one with a revision is.
func TestWatchReferralsResume(t *testing.T) {
	fastResume(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recv := func(conn *grpc.ClientConn, after int64, n int) ([]*referralv1.ReferralEvent, error) {
		st, err := referralv1.NewReferralServiceClient(conn).WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: after})
		if err != nil {
			t.Fatal(err)
		}
		var out []*referralv1.ReferralEvent
		for len(out) < n {
			e, err := st.Recv()
			if err != nil {
				return out, err
			}
			out = append(out, e)
		}
		return out, nil
	}

	// From now: the heartbeat at the start (revision 7) is where the second opening starts.
	s := &script{size: 20, plan: []opening{{beat: true, send: 2, end: shuttingDown}, {beat: true, send: 100, hold: true}}}
	events, err := recv(serveScript(t, s), 0, 1+2+1+11)
	if err != nil {
		t.Fatal(err)
	}
	var changes []int64
	for _, e := range events {
		if !e.GetHeartbeat() {
			changes = append(changes, e.GetRevision())
		}
	}
	if !slices.Equal(changes, seq(8, 20)) || !slices.Equal(s.requests(), []int64{7, 9}) {
		t.Errorf("changes %v in openings after %v; want 8..20 after [7 9]", changes, s.requests())
	}

	// From now, ended before anything was received: the caller gets UNAVAILABLE and watches again itself.
	s = &script{size: 20, plan: []opening{{end: shuttingDown}, {beat: true, send: 100, hold: true}}}
	if _, err := recv(serveScript(t, s), 0, 1); status.Code(err) != codes.Unavailable || len(s.requests()) != 1 {
		t.Errorf("a watch from now ended before its first message: %v after %d openings, want UNAVAILABLE after 1", err, len(s.requests()))
	}

	// From a revision, ended before anything was received: opened again from the same revision.
	s = &script{size: 20, plan: []opening{{end: shuttingDown}, {send: 100, hold: true}}}
	events, err = recv(serveScript(t, s), 12, 8)
	if err != nil || events[0].GetRevision() != 13 || !slices.Equal(s.requests(), []int64{12, 12}) {
		t.Errorf("a watch from 12: first %v, %v, openings after %v; want 13 after [12 12]", events[0], err, s.requests())
	}
}

// Every server-streaming Watch method of the suite's services resumes across replicas: it is in
// grpcclient.Watches. (grpc.health.v1's Watch is a health probe, not a feed.)
func TestWatchesResumable(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "cus.") {
			return true
		}
		for i := 0; i < f.Services().Len(); i++ {
			svc := f.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				m := svc.Methods().Get(j)
				full := "/" + string(svc.FullName()) + "/" + string(m.Name())
				_, ok := grpcclient.Watches[full]
				if m.IsStreamingServer() && strings.HasPrefix(string(m.Name()), "Watch") {
					n++
					if !ok {
						t.Errorf("%s is a watch: say in grpcclient.Watches how it resumes", full)
					}
				} else if ok {
					t.Errorf("grpcclient.Watches names %s, which is not a watch stream", full)
				}
			}
		}
		return true
	})
	if n < 2 {
		t.Fatalf("%d watches found: are the proto packages linked in?", n)
	}
}
