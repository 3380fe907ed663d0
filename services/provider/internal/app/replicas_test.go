package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/etcdtest"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// 200 reservations at once, spread over two replicas on a three-member etcd cluster, against an agreement of
// capacity 37: exactly 37 succeed, the other 163 are refused CAPACITY_EXHAUSTED, and both replicas say 37 are
// reserved. The change feed is the same from either replica, and a reader resumes on B from where it stopped
// on A.
func TestReservationsOverTwoReplicasNeverOverbook(t *testing.T) {
	const n, capacity = 200, 37
	c := etcdtest.Start(t, 3)
	catAddr, _ := serveDemoCatalogue(t)
	keys := filepath.Join(t.TempDir(), "dev")
	var clients []providerv1.ProviderServiceClient
	for i := 0; i < 2; i++ {
		cfg := testConfig(t.TempDir(), catAddr)
		cfg.Security.DevKeysDir = keys
		cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/provider/"
		grpcAddr, _, stop := serve(t, cfg) // one after the other: the second finds the first's demo registry
		t.Cleanup(stop)
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		clients = append(clients, providerv1.NewProviderServiceClient(conn))
	}
	key, err := auth.EnsureDevKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	as := func(role auth.Role) context.Context {
		tok, err := auth.Mint(key, auth.TokenRequest{Subject: "test-" + string(role), Roles: []auth.Role{role}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), time.Minute)
		t.Cleanup(cancel)
		return ctx
	}
	admin, coordinator := as(auth.RoleAdmin), as(auth.RoleCoordinator)

	providers, err := clients[0].ListProviders(admin, &providerv1.ListProvidersRequest{})
	if err != nil || len(providers.GetProviders()) == 0 {
		t.Fatalf("demo providers: %v %v", providers, err)
	}
	parent := ""
	for _, p := range providers.GetProviders() {
		if p.GetKind() == providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION {
			parent = p.GetName() // an open call is for NGOs
			break
		}
	}
	agreement, err := clients[0].CreateAgreement(admin, &providerv1.CreateAgreementRequest{Parent: parent, Agreement: &providerv1.Agreement{
		DisplayName: "Usługi sąsiedzkie 2026", ReferenceNumber: "CUS.524.9.2026", Service: "services/0194c050-3022-7053-8000-000000000020",
		LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL, StartDate: "2026-01-01", EndDate: "2026-12-31",
		Capacity: &providerv1.Capacity{Amount: capacity, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK},
		Funding:  &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET},
	}})
	if err != nil {
		st, _ := status.FromError(err)
		t.Fatalf("create agreement: %v %v", err, st.Details())
	}

	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := clients[i%2].ReserveCapacity(coordinator, &providerv1.ReserveCapacityRequest{
				Name: agreement.GetName(), ReferralId: fmt.Sprintf("0194c050-ffff-7000-8000-%012d", i), Units: 1})
			if err == nil {
				ok.Add(1)
				return
			}
			if st, _ := status.FromError(err); st.Code() != codes.FailedPrecondition || reasonOf(st) != "CAPACITY_EXHAUSTED" {
				t.Errorf("reservation %d on replica %d: %v (want success or CAPACITY_EXHAUSTED)", i, i%2, err)
				return
			}
			refused.Add(1)
		}(i)
	}
	wg.Wait()
	if ok.Load() != capacity || refused.Load() != n-capacity {
		t.Fatalf("%d reservations succeeded and %d were refused; want %d and %d", ok.Load(), refused.Load(), capacity, n-capacity)
	}
	for i, cl := range clients {
		av, err := cl.GetAvailability(admin, &providerv1.GetAvailabilityRequest{Name: agreement.GetName() + "/availability"})
		if err != nil || av.GetReserved() != capacity || av.GetAvailable() != 0 {
			t.Fatalf("availability on replica %d: %v %v; want %d reserved, none available", i, av, err, capacity)
		}
	}

	// The feed from either replica, whole; then read 5 at a time, alternating replicas, from the cursor the
	// other one returned.
	feed := func(cl providerv1.ProviderServiceClient) []string {
		var out []string
		for after := int64(0); ; {
			resp, err := cl.ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: after, PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range resp.GetChanges() {
				out = append(out, describe(ch))
			}
			if after = resp.GetNextAfterRevision(); !resp.GetHasMore() {
				return out
			}
		}
	}
	onA, onB := feed(clients[0]), feed(clients[1])
	if strings.Join(onA, "\n") != strings.Join(onB, "\n") || len(onA) == 0 {
		t.Fatalf("the replicas' change feeds differ (%d and %d changes)", len(onA), len(onB))
	}
	var resumed []string
	for after, i := int64(0), 0; ; i++ {
		resp, err := clients[i%2].ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: after, PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range resp.GetChanges() {
			resumed = append(resumed, describe(ch))
		}
		if after = resp.GetNextAfterRevision(); !resp.GetHasMore() {
			break
		}
	}
	if strings.Join(resumed, "\n") != strings.Join(onA, "\n") {
		t.Fatalf("the feed read across replicas (%d changes) is not the feed of one (%d)", len(resumed), len(onA))
	}
}

func describe(ch *providerv1.Change) string {
	return fmt.Sprintf("%d %s %s %s", ch.GetRevision(), ch.GetType(), ch.GetResourceName(), ch.GetAgreement().GetEtag()+ch.GetProvider().GetEtag())
}

func reasonOf(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
