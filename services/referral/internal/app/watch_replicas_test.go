package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/resource/resourcetest"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// issue 11: a referral replica that stops hands its WatchReferrals clients over without losing an event. Two
// replicas on one etcd cluster; a coordinator watches through one round-robin connection to both (heartbeats
// every 50 ms, whose revisions are resume tokens too) while the provider's staff hold and resume a demo
// referral through the other replica; the one serving the watch stops (a 300 ms drain). The watcher resumes
// from its last revision on the remaining replica and has every change once, in order
// (resourcetest.CheckHandOver).
func TestReplicaWatchHandOver(t *testing.T) {
	c := etcdtest.StartOne(t)
	cfg := testConfig(t.TempDir())
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/referral/"
	cfg.Security.DrainPeriod, cfg.WatchHeartbeat = 300*time.Millisecond, 50*time.Millisecond
	var h resourcetest.HandOver
	for i := range 2 {
		h.Addrs[i], _, h.Stop[i] = serve(t, cfg) // the replicas share their key files, as from a secret store
		t.Cleanup(h.Stop[i])
	}
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	as := func(r auth.TokenRequest) context.Context {
		tok, err := auth.Mint(key, r)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 2*time.Minute)
		t.Cleanup(cancel)
		return ctx
	}
	coordinator := as(auth.TokenRequest{Subject: "test-coordinator", Roles: []auth.Role{auth.RoleCoordinator}})
	conn := dialOne(t, h.Addrs[0])
	list, err := referralv1.NewReferralServiceClient(conn).ListReferrals(coordinator, &referralv1.ListReferralsRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var target *referralv1.Referral
	for _, r := range list.GetReferrals() {
		if r.GetStatus() == referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS {
			target = r
		}
	}
	if target == nil {
		t.Fatalf("no demo referral in progress among %d", len(list.GetReferrals()))
	}
	staff := as(auth.TokenRequest{Subject: "test-provider", Roles: []auth.Role{auth.RoleProvider},
		ProviderID: strings.TrimPrefix(target.GetProvider(), "providers/")})

	h.Ctx, h.After = coordinator, list.GetRevision()
	h.Write = func(_ context.Context, conn *grpc.ClientConn, i int) error {
		cl := referralv1.NewReferralServiceClient(conn)
		if i%2 == 0 {
			_, err := cl.HoldReferral(staff, &referralv1.HoldReferralRequest{Name: target.GetName(), Reason: "Przerwa w zajęciach"})
			return err
		}
		_, err := cl.ResumeReferral(staff, &referralv1.ResumeReferralRequest{Name: target.GetName()})
		return err
	}
	h.Watch = func(ctx context.Context, conn *grpc.ClientConn, after int64) (context.Context, func() (resourcetest.Change, error), error) {
		st, err := referralv1.NewReferralServiceClient(conn).WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: after})
		if err != nil {
			return nil, nil, err
		}
		return st.Context(), func() (resourcetest.Change, error) {
			e, err := st.Recv()
			return resourcetest.Change{Rev: e.GetRevision(), Name: e.GetReferral().GetName()}, err
		}, nil
	}
	h.Feed = func(ctx context.Context, conn *grpc.ClientConn, after int64) ([]resourcetest.Change, error) {
		var out []resourcetest.Change
		req := &referralv1.ListReferralChangesRequest{AfterRevision: after, PageSize: 1000}
		for {
			page, err := referralv1.NewReferralServiceClient(conn).ListReferralChanges(ctx, req)
			if err != nil {
				return nil, err
			}
			for _, ch := range page.GetChanges() {
				out = append(out, resourcetest.Change{Rev: ch.GetRevision(), Name: ch.GetName()})
			}
			if page.GetNextPageToken() == "" {
				return out, nil
			}
			req = &referralv1.ListReferralChangesRequest{PageToken: page.GetNextPageToken(), PageSize: 1000}
		}
	}
	resourcetest.CheckHandOver(t, h)
}

func dialOne(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
