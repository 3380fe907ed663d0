package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/etcdtest"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Two referral replicas on one etcd prefix append audit entries at once (every read of a resident is audited):
// the audit log stays one chain, which VerifyAuditChain accepts on either replica, with every sequence once and
// none missing, and every read recorded.
func TestAuditOverTwoReplicasIsOneChain(t *testing.T) {
	const callers, reads = 16, 20
	c := etcdtest.StartOne(t)
	cfg := testConfig(t.TempDir())
	cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/referral/"
	var clients []referralv1.ReferralServiceClient
	for i := 0; i < 2; i++ {
		grpcAddr, _, stop := serve(t, cfg) // the replicas share their key files, as from a secret store
		t.Cleanup(stop)
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		clients = append(clients, referralv1.NewReferralServiceClient(conn))
	}
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	as := func(role auth.Role) context.Context {
		tok, err := auth.Mint(key, auth.TokenRequest{Subject: "test-" + string(role), Roles: []auth.Role{role}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok), 2*time.Minute)
		t.Cleanup(cancel)
		return ctx
	}
	coordinator, admin := as(auth.RoleCoordinator), as(auth.RoleAdmin)
	residents, err := clients[0].ListResidents(coordinator, &referralv1.ListResidentsRequest{})
	if err != nil || len(residents.GetResidents()) == 0 {
		t.Fatalf("demo residents: %v %v", residents, err)
	}
	count := func() int {
		n := 0
		for token := ""; ; {
			page, err := clients[0].ListAuditEntries(admin, &referralv1.ListAuditEntriesRequest{PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.GetEntries())
			if token = page.GetNextPageToken(); token == "" {
				return n
			}
		}
	}
	before := count()

	var wg sync.WaitGroup
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < reads; i++ {
				r := residents.GetResidents()[(w+i)%len(residents.GetResidents())]
				if _, err := clients[(w+i)%2].GetResident(coordinator, &referralv1.GetResidentRequest{Name: r.GetName()}); err != nil {
					t.Errorf("read %d of caller %d: %v", i, w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for i, cl := range clients {
		v, err := cl.VerifyAuditChain(admin, &referralv1.VerifyAuditChainRequest{})
		if err != nil || !v.GetOk() {
			t.Fatalf("audit chain on replica %d: %v %v", i, v, err)
		}
	}
	seen := map[int64]bool{}
	var lo, hi int64 = -1, -1
	for token := ""; ; {
		page, err := clients[1].ListAuditEntries(admin, &referralv1.ListAuditEntriesRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.GetEntries() {
			s := e.GetSequence()
			if seen[s] {
				t.Fatalf("audit sequence %d appears twice", s)
			}
			seen[s] = true
			if lo < 0 || s < lo {
				lo = s
			}
			hi = max(hi, s)
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if int64(len(seen)) != hi-lo+1 {
		t.Fatalf("audit sequences %d..%d hold %d entries: some are missing", lo, hi, len(seen))
	}
	if got := len(seen) - before; got < callers*reads {
		t.Fatalf("%d audit entries were added for %d reads of residents", got, callers*reads)
	}
}
