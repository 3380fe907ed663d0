package grpcserver

import (
	"context"
	"errors"
	"sync"

	"google.golang.org/grpc"

	"github.com/cus-suite/cus/platform/apierr"
)

// ErrShuttingDown ends the streams of a replica that stops: UNAVAILABLE, so clients reconnect (to another
// replica) and resume from the last revision they saw.
var ErrShuttingDown = apierr.New(apierr.KindUnavailable, "SHUTTING_DOWN",
	"this replica is shutting down; reconnect and resume from the last revision you saw")

// errEnded is the cause of a stream context cancelled by endAll, told apart from the client going away.
var errEnded = errors.New("server draining")

// streams tracks the open server streams, so that a draining server can end every one of them, not only the
// watches that a service's OnShutdown hook knows about (health watches, reflection, a service's new stream).
type streams struct {
	mu    sync.Mutex
	open  map[*context.CancelCauseFunc]struct{}
	ended bool
}

func newStreams() *streams { return &streams{open: map[*context.CancelCauseFunc]struct{}{}} }

func (t *streams) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, cancel := context.WithCancelCause(ss.Context())
	defer cancel(nil)
	t.mu.Lock()
	if t.ended {
		// Opened between endAll and GracefulStop: another replica will answer it.
		t.mu.Unlock()
		return ErrShuttingDown
	}
	t.open[&cancel] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.open, &cancel)
		t.mu.Unlock()
	}()
	err := h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	if errors.Is(context.Cause(ctx), errEnded) {
		// Whatever the handler made of its cancelled context (context.Canceled, nil), the client must learn to
		// go elsewhere, not that it cancelled.
		return ErrShuttingDown
	}
	return err
}

// endAll cancels every open stream and refuses new ones; it returns how many were open.
func (t *streams) endAll() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	for c := range t.open {
		(*c)(errEnded)
	}
	return len(t.open)
}

func (t *streams) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.open)
}
