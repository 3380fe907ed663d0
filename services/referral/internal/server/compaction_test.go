package server_test

import (
	"context"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
)

// TestErasureCompactionDoesNotStopReadsOrWatches: while an erasure's compaction is held between its copy and
// its swap, a read of another resident is answered (today every call waited for the whole file copy), and an
// open WatchReferrals stream keeps delivering events after the swap, from the new file.
func TestErasureCompactionDoesNotStopReadsOrWatches(t *testing.T) {
	enginetest.BboltOnly(t, "an erasure compacts the bbolt file")
	h := start(t, func(o *server.Options) { o.WatchHeartbeat = 50 * time.Millisecond })
	keep, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	gone, gcon, gkase := h.seed(t, pesel(t, "750101", 3344), 0, 1)
	h.refer(t, gone, gcon, gkase, 0)
	ctx, cancel := context.WithCancel(h.prov(t))
	defer cancel()
	w, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	heartbeat(t, w)

	readDuringCopy := make(chan error, 1)
	h.store.SetCompactHook(func(s storage.CompactStage) error {
		if s != storage.StageCopied {
			return nil
		}
		// Bounded only to turn a deadlock into a failure, not a performance assertion.
		rctx, rcancel := context.WithTimeout(h.coord(t), 20*time.Second)
		defer rcancel()
		r, err := h.client.GetResident(rctx, &referralv1.GetResidentRequest{Name: keep})
		if err == nil && r.GetName() != keep {
			err = fmt.Errorf("read %s", r.GetName())
		}
		readDuringCopy <- err
		return nil
	})
	if _, err := h.client.EraseResident(h.as(t, auth.RoleDirector, ""), &referralv1.EraseResidentRequest{Name: gone, Reason: "RODO art. 17"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readDuringCopy:
		if err != nil {
			t.Fatalf("read during the compaction: %v", err)
		}
	default:
		t.Fatal("the erasure did not compact")
	}
	fresh := h.refer(t, keep, con, kase, 0)
	if ev := nextChange(t, w); ev.GetReferral().GetName() != fresh.GetName() {
		t.Fatalf("the watch after the erasure delivered %v, want %s", ev, fresh.GetName())
	}
}
