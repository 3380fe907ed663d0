package grpcclient

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Resumable says how a watch stream resumes: where a message puts the caller (its resume token, a revision)
// and how a request starts after a token. A watch of the suite sends every change once, in revision order,
// and a request carrying the revision of the last message received starts with the message after it, on any
// replica (they share the change feed): that is what makes a hand-over exact.
type Resumable struct {
	// Token reads the revision a received message puts the caller at; ok is false for a message that carries
	// none (the caller's position does not move).
	Token func(msg any) (rev int64, ok bool)
	// After returns a copy of the request that starts after rev.
	After func(req proto.Message, rev int64) proto.Message
	// Replayable reports whether the request may be sent again as it is when the stream ended before its
	// first message: true when the request alone fixes where the stream starts; false when the server
	// picks the start itself (e.g. "from now"), so a second opening would start later and skip what
	// committed in between, which the caller, told nothing yet, could not notice.
	Replayable func(req proto.Message) bool
}

// Watches are the watch streams of the suite that WithWatchResume resumes. TestWatchesResumable checks that
// every server-streaming Watch method of the suite's services is here.
var Watches = map[string]Resumable{
	// The catalogue's change feed: after_revision fixes the start (0 is the beginning of the feed); no
	// heartbeats, so a position moves only with a change.
	"/cus.catalogue.v1.CatalogueService/WatchChanges": {
		Token: func(msg any) (int64, bool) {
			m, ok := msg.(*cataloguev1.WatchChangesResponse)
			if !ok || m.GetChange() == nil {
				return 0, false
			}
			return m.GetChange().GetRevision(), true
		},
		After: func(req proto.Message, rev int64) proto.Message {
			r := proto.Clone(req).(*cataloguev1.WatchChangesRequest)
			r.AfterRevision = rev
			return r
		},
		Replayable: func(proto.Message) bool { return true },
	},
	// Referral events: every event, heartbeats included, carries the revision the caller has seen up to
	// (a heartbeat's moves past changes the caller may not see). after_revision 0 means "from the current
	// revision", picked by the server: replayed on another replica later, it could skip changes; the first
	// message (a heartbeat at the start) tells the revision it picked.
	"/cus.referral.v1.ReferralService/WatchReferrals": {
		Token: func(msg any) (int64, bool) {
			m, ok := msg.(*referralv1.ReferralEvent)
			if !ok || m.GetRevision() <= 0 {
				return 0, false
			}
			return m.GetRevision(), true
		},
		After: func(req proto.Message, rev int64) proto.Message {
			r := proto.Clone(req).(*referralv1.WatchReferralsRequest)
			r.AfterRevision = rev
			return r
		},
		Replayable: func(req proto.Message) bool {
			r, ok := req.(*referralv1.WatchReferralsRequest)
			return ok && r.GetAfterRevision() > 0
		},
	},
}

// ResumePolicy bounds the re-opening of one watch: at most MaxAttempts openings in a row that deliver
// nothing and end within Settled, each after a random pause below a backoff growing from InitialBackoff to
// MaxBackoff. A stream that delivers a message, or stays open past Settled, starts the count again: a watch
// that follows a rolling restart of every replica, one after the other, is handed over each time.
var ResumePolicy = struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Settled        time.Duration
}{MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, Settled: 5 * time.Second}

// WithWatchResume makes the Watches of a connection survive the end of a replica: a stream that ends
// UNAVAILABLE (the replica drains, SHUTTING_DOWN, or its connection broke) is opened again, on the replica
// round robin picks (a draining one reports NOT_SERVING and is skipped), after the last token received, and
// the caller reads on as if nothing happened: no message twice, none missed. Other errors (an expired token,
// a revision compacted away, too many watches) and the end of the caller's context reach the caller as before,
// and so does UNAVAILABLE when the attempts run out or when the stream had delivered nothing and its request
// is not Replayable. The gateway uses it, so a REST client's NDJSON stream does not see a replica's drain.
func WithWatchResume() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(resumeWatches)
}

func resumeWatches(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	w, ok := Watches[method]
	if !ok || desc.ClientStreams || !desc.ServerStreams {
		return streamer(ctx, desc, cc, method, opts...)
	}
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &resumingStream{ClientStream: cs, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts, w: w, opened: time.Now()}, nil
}

// resumingStream is the caller's stream; the grpc.ClientStream inside is the current opening.
type resumingStream struct {
	grpc.ClientStream
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	w        Resumable

	mu       sync.Mutex // Header and Trailer may be called beside RecvMsg
	req      proto.Message
	closed   bool // CloseSend was called
	rev      int64
	has      bool // rev was received
	failures int  // openings in a row that delivered nothing and did not settle
	opened   time.Time
}

func (s *resumingStream) current() grpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ClientStream
}

func (s *resumingStream) Header() (metadata.MD, error) { return s.current().Header() }
func (s *resumingStream) Trailer() metadata.MD         { return s.current().Trailer() }
func (s *resumingStream) Context() context.Context     { return s.current().Context() }

// SendMsg keeps the request: a server stream has exactly one, sent before CloseSend.
func (s *resumingStream) SendMsg(m any) error {
	if p, ok := m.(proto.Message); ok && s.req == nil {
		s.req = proto.Clone(p)
	}
	return s.ClientStream.SendMsg(m)
}

func (s *resumingStream) CloseSend() error {
	s.closed = true
	return s.ClientStream.CloseSend()
}

func (s *resumingStream) RecvMsg(m any) error {
	for {
		err := s.current().RecvMsg(m)
		if err == nil {
			if rev, ok := s.w.Token(m); ok {
				s.rev, s.has = rev, true
			}
			s.failures = 0
			return nil
		}
		if !s.resumable(err) {
			return err
		}
		if time.Since(s.opened) >= ResumePolicy.Settled {
			s.failures = 0
		}
		if s.failures++; s.failures > ResumePolicy.MaxAttempts {
			return err
		}
		if rerr := s.reopen(); rerr != nil {
			if s.ctx.Err() != nil {
				return status.FromContextError(s.ctx.Err()).Err()
			}
			return err
		}
	}
}

func (s *resumingStream) resumable(err error) bool {
	if errors.Is(err, io.EOF) || s.req == nil || !s.closed || s.ctx.Err() != nil || status.Code(err) != codes.Unavailable {
		return false
	}
	return s.has || s.w.Replayable(s.req)
}

// reopen opens the stream again after the last token (or as it was, when nothing was received), after a
// pause, and sends the request. A failure to open counts as a failed attempt and is tried again here.
func (s *resumingStream) reopen() error {
	for {
		if err := sleep(s.ctx, resumePause(s.failures)); err != nil {
			return err
		}
		req := s.req
		if s.has {
			req = s.w.After(s.req, s.rev)
		}
		cs, err := s.streamer(s.ctx, s.desc, s.cc, s.method, s.opts...)
		if err == nil {
			if err = cs.SendMsg(req); err == nil {
				err = cs.CloseSend()
			}
		}
		if err == nil {
			s.mu.Lock()
			s.ClientStream, s.opened = cs, time.Now()
			s.mu.Unlock()
			return nil
		}
		if status.Code(err) != codes.Unavailable || s.failures >= ResumePolicy.MaxAttempts {
			return err
		}
		s.failures++
	}
}

// resumePause is the pause before the nth attempt in a row (from 1): full jitter below an exponential cap.
func resumePause(n int) time.Duration {
	d := ResumePolicy.InitialBackoff
	for i := 1; i < n && d < ResumePolicy.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, ResumePolicy.MaxBackoff)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
