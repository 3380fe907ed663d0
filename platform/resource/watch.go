package resource

import (
	"context"
	"time"
)

// CatchUp bounds how long a replica waits for its view of the store to reach a revision a client asks to
// resume from (storage.Backend.AwaitRevision): on etcd the client may have had it from a replica a few
// milliseconds ahead of this one.
const CatchUp = 2 * time.Second

// Feed is what a watch follows: a channel closed at the next commit (storage.Backend.Changed).
type Feed interface {
	Changed() <-chan struct{}
}

// Watch is the loop of a streaming watch over a change feed, the same for every service: read what
// committed after the cursor, send it, and when caught up wait for the next commit, a heartbeat, the end of
// the caller's token, the end of the stream or the server's drain.
type Watch struct {
	// Feed to follow.
	Feed Feed
	// Stopping is closed when the server drains: Run then returns Drained, so the client reconnects (to
	// another replica, or after the restart) from the last revision it received.
	Stopping <-chan struct{}
	Drained  error
	// Heartbeat, when positive, makes every Heartbeat a read whose beat flag is set.
	Heartbeat time.Duration
	// Expires ends the watch with Expired (the caller's token ran out); nil: never.
	Expires <-chan time.Time
	Expired error
}

// Run calls step until it fails or the watch ends. step reads and sends what committed after its cursor;
// more says it stopped before the head (a page limit), so it is called again at once; otherwise Run waits.
// beat is set at the first call and after each Heartbeat period, until a step reaches the head: a step that
// reaches the head with beat set sends a heartbeat. The notification channel is taken before each step, so a
// commit during a step is never missed.
func (w Watch) Run(ctx context.Context, step func(beat bool) (more bool, err error)) error {
	var tick <-chan time.Time
	if w.Heartbeat > 0 {
		t := time.NewTicker(w.Heartbeat)
		defer t.Stop()
		tick = t.C
	}
	beat := w.Heartbeat > 0
	for {
		changed := w.Feed.Changed()
		more, err := step(beat)
		if err != nil {
			return err
		}
		if more {
			continue
		}
		beat = false
		select {
		case <-changed:
		case <-tick:
			beat = true
		case <-w.Expires:
			return w.Expired
		case <-ctx.Done():
			return ctx.Err()
		case <-w.Stopping:
			return w.Drained
		}
	}
}
