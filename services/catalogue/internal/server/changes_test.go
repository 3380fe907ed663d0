package server_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// A consumer whose cursor is below the compaction point is told to resync (OUT_OF_RANGE CHANGES_COMPACTED), on
// both the paged feed and the watch stream; from revision 0 the key-compacted feed is still a full listing.
func TestCompactedFeedTellsOldCursorsToResync(t *testing.T) {
	h := start(t)
	c := ctx(t)
	a := create(t, h, validService())
	b := create(t, h, validService())
	if _, err := h.client.DeleteService(c, &cataloguev1.DeleteServiceRequest{Name: a.GetName()}); err != nil {
		t.Fatal(err)
	}
	create(t, h, validService()) // 4
	if _, err := h.store.Backend().CompactChanges(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	for _, after := range []int64{1, 2} {
		_, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{AfterRevision: after})
		if code, reason, _ := errorInfo(t, err); code != codes.OutOfRange || reason != "CHANGES_COMPACTED" {
			t.Errorf("ListChanges after %d: %v %s", after, code, reason)
		}
		stream, err := h.client.WatchChanges(c, &cataloguev1.WatchChangesRequest{AfterRevision: after})
		if err == nil {
			_, err = stream.Recv()
		}
		if code, reason, _ := errorInfo(t, err); code != codes.OutOfRange || reason != "CHANGES_COMPACTED" {
			t.Errorf("WatchChanges after %d: %v %s", after, code, reason)
		}
	}
	// From 0: the live services (b, then the fourth), without a's tombstone, which compaction removed.
	all, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{})
	if err != nil || len(all.GetChanges()) != 2 || all.GetChanges()[0].GetResourceName() != b.GetName() || all.GetChanges()[0].GetService() == nil {
		t.Fatalf("full listing: %v %v", all, err)
	}
	// At or above the point, the feed goes on.
	if page, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{AfterRevision: 3}); err != nil || len(page.GetChanges()) != 1 {
		t.Fatalf("after the point: %v %v", page, err)
	}
}
