package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
)

// nextChange returns the next event of a watch that is not a heartbeat.
func nextChange(t testing.TB, w referralv1.ReferralService_WatchReferralsClient) *referralv1.ReferralEvent {
	t.Helper()
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if !ev.GetHeartbeat() {
			return ev
		}
	}
}

// heartbeat returns the next event, which must be a heartbeat.
func heartbeat(t testing.TB, w referralv1.ReferralService_WatchReferralsClient) *referralv1.ReferralEvent {
	t.Helper()
	ev, err := w.Recv()
	if err != nil || !ev.GetHeartbeat() || ev.GetReferral() != nil {
		t.Fatalf("want a heartbeat, got %v %v", ev, err)
	}
	return ev
}

// Finding 6: 270 watches opened with one provider token. Watches are capped per principal and per service.
func TestWatchesAreCappedPerCallerAndPerService(t *testing.T) {
	h := start(t, func(o *server.Options) { o.MaxWatchesPerCaller, o.MaxWatches = 2, 3 })
	open := func(ctx context.Context) (referralv1.ReferralService_WatchReferralsClient, error) {
		w, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{})
		if err != nil {
			return nil, err
		}
		if _, err := w.Recv(); err != nil { // the first heartbeat: the watch is open
			return nil, err
		}
		return w, nil
	}
	a := h.prov(t)
	for i := range 2 {
		if _, err := open(a); err != nil {
			t.Fatalf("watch %d of provider A: %v", i+1, err)
		}
	}
	_, err := open(a)
	if status.Code(err) != codes.ResourceExhausted || errReason(err) != "TOO_MANY_WATCHES" || errMetadata(err, "limit") != "2" {
		t.Fatalf("third watch of one caller: %v", err)
	}
	// Another caller still gets one, until the service's cap.
	b := h.as(t, auth.RoleProvider, providerB)
	bctx, closeB := context.WithCancel(b)
	if _, err := open(bctx); err != nil {
		t.Fatalf("watch of provider B: %v", err)
	}
	_, err = open(h.coord(t))
	if status.Code(err) != codes.ResourceExhausted || errReason(err) != "TOO_MANY_WATCHES" || errMetadata(err, "limit") != "3" {
		t.Fatalf("watch beyond the service's cap: %v", err)
	}
	// A closed watch frees its place.
	closeB()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err = open(h.coord(t)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed watch did not free its place: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Watches outlived their token: a stream ends at the token's expiry.
func TestWatchEndsWhenTheTokenExpires(t *testing.T) {
	h := start(t)
	tok := h.mint(auth.TokenRequest{Subject: "u-short", Roles: []auth.Role{auth.RoleProvider}, ProviderID: providerA, TTL: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := h.client.WatchReferrals(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), &referralv1.WatchReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := w.Recv()
		if err == nil {
			if !ev.GetHeartbeat() {
				t.Fatalf("unexpected event %v", ev)
			}
			continue
		}
		if status.Code(err) != codes.Unauthenticated || errReason(err) != "TOKEN_EXPIRED" {
			t.Fatalf("stream end: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("the stream outlived the token")
		}
		return
	}
}

// Each watch from revision 0 replayed the whole log. 0 now starts at the head (a heartbeat says which), a list
// gives the revision to watch from, and heartbeats advance the cursor of a caller who sees few events.
func TestWatchStartsAtTheHeadAndHeartbeatsCarryTheRevision(t *testing.T) {
	h := start(t, func(o *server.Options) { o.WatchHeartbeat = 50 * time.Millisecond })
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	old := h.refer(t, res, con, kase, 0)
	ctx, cancel := context.WithCancel(h.prov(t))
	defer cancel()
	w, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first := heartbeat(t, w)
	if first.GetRevision() != h.store.Revision() {
		t.Fatalf("first heartbeat at %d, head %d", first.GetRevision(), h.store.Revision())
	}
	// Nothing is replayed: the next change is a new one.
	list, err := h.client.ListReferrals(h.prov(t), &referralv1.ListReferralsRequest{})
	if err != nil || list.GetRevision() != first.GetRevision() || len(list.GetReferrals()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	fresh := h.refer(t, res, con, kase, 0)
	if ev := nextChange(t, w); ev.GetReferral().GetName() != fresh.GetName() || ev.GetRevision() <= first.GetRevision() {
		t.Fatalf("after the head came %v (old referral %s)", ev, old.GetName())
	}
	// Listing then watching from the list's revision gets what changed after the list, and only that.
	w2, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: list.GetRevision()})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextChange(t, w2); ev.GetReferral().GetName() != fresh.GetName() {
		t.Fatalf("watch from the list's revision: %v", ev)
	}
	// A revision the service has not reached is refused rather than waited for.
	w3, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: h.store.Revision() + 1000})
	if err == nil {
		_, err = w3.Recv()
	}
	if status.Code(err) != codes.OutOfRange || errReason(err) != "REVISION_IN_FUTURE" {
		t.Fatalf("watch from the future: %v", err)
	}
	// Changes the provider does not see (a resident's data) still advance its cursor through heartbeats.
	before := h.store.Revision()
	if _, err := h.client.CreateResident(h.coord(t), &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{
		GivenName: "Ewa", FamilyName: "Cicha", HouseholdSize: 1, BirthDate: "1960-02-02"}}); err != nil {
		t.Fatal(err)
	}
	if h.store.Revision() <= before {
		t.Fatal("the write did not advance the revision")
	}
	for {
		ev := heartbeat(t, w)
		if ev.GetRevision() >= h.store.Revision() {
			break
		}
	}
}
