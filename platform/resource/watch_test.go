package resource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// The watch loop follows commits: each step reads what committed after its cursor, a commit wakes it, the
// first step is told to send a heartbeat, and a drain ends it with the error that tells clients to reconnect.
func TestWatchFollowsCommitsUntilDrained(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayKey)
	stopping := make(chan struct{})
	drained := errors.New("draining")
	seen := make(chan int64, 10)
	var beats []bool
	after := int64(0)
	done := make(chan error, 1)
	go func() {
		done <- resource.Watch{Feed: be, Stopping: stopping, Drained: drained, Heartbeat: time.Hour}.Run(context.Background(), func(beat bool) (bool, error) {
			beats = append(beats, beat)
			list, more, err := storage.ListChanges(be, after, 1, func() *cataloguev1.Change { return &cataloguev1.Change{} })
			for _, c := range list {
				after = c.GetRevision()
				seen <- after
			}
			return more, err
		})
	}()
	for i, key := range []string{"a", "b", "c"} {
		if _, _, err := create(be, k, key, key, resource.Req{}); err != nil {
			t.Fatal(err)
		}
		select {
		case rev := <-seen:
			if rev != int64(i+1) {
				t.Fatalf("saw revision %d, want %d", rev, i+1)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the watch did not follow a commit")
		}
	}
	close(stopping)
	if err := <-done; !errors.Is(err, drained) {
		t.Fatalf("watch ended with %v", err)
	}
	if len(beats) < 4 || !beats[0] || beats[len(beats)-1] {
		t.Fatalf("heartbeat flags %v: the first step only", beats)
	}
}
