package app

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/etcdtest"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// replicaPair starts two catalogue processes on one etcd prefix (one dev key, so one token serves both).
func replicaPair(t *testing.T, c *etcdtest.Cluster) (a, b cataloguev1.CatalogueServiceClient, tok context.Context) {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "dev")
	var clients []cataloguev1.CatalogueServiceClient
	var cfg Config
	for i := 0; i < 2; i++ {
		cfg = failureTestConfig(t.TempDir())
		cfg.Security.DevKeysDir = keys
		cfg.Storage.Kind, cfg.Storage.Endpoints, cfg.Storage.Prefix = "etcd", strings.Join(c.Endpoints(), ","), "/cus/catalogue/"
		client, _, stop := start(t, cfg) // one after the other: the second finds the first's demo catalogue
		t.Cleanup(stop)
		clients = append(clients, client)
	}
	return clients[0], clients[1], adminToken(t, cfg)
}

// token is a search term made of letters only, different for each i.
func token(prefix string, i int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for {
		b.WriteByte(byte('a' + i%26))
		if i /= 26; i == 0 {
			return b.String()
		}
	}
}

// found reports whether a search for q on c lists the service name.
func found(ctx context.Context, t *testing.T, c cataloguev1.CatalogueServiceClient, q, name string) bool {
	t.Helper()
	res, err := c.SearchServices(ctx, &cataloguev1.SearchServicesRequest{Query: q, PageSize: 100, IncludeInactive: true})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	for _, r := range res.GetResults() {
		if r.GetService().GetName() == name {
			return true
		}
	}
	return false
}

// await polls until found(q, name) is want and returns how long that took.
func await(ctx context.Context, t *testing.T, c cataloguev1.CatalogueServiceClient, q, name string, want bool) time.Duration {
	t.Helper()
	began := time.Now()
	for found(ctx, t, c, q, name) != want {
		if ctx.Err() != nil {
			t.Fatalf("search %q on the other replica: %s found=%v never came", q, name, want)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(began)
}

func newService(name string) *cataloguev1.CreateServiceRequest {
	return &cataloguev1.CreateServiceRequest{Service: &cataloguev1.Service{
		DisplayName: name, Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS}}}
}

// A create, an update and a delete on replica A are found (or gone) by a search on replica B, and B's read
// cache does not serve the version it held before the update. Without the follower (server/follow.go) B's index
// never sees A's writes.
func TestReplicaSearchFollowsTheOther(t *testing.T) {
	c := etcdtest.StartOne(t)
	a, b, tok := replicaPair(t, c)

	created, err := a.CreateService(tok, newService("Pracownia "+token("zq", 1)))
	if err != nil {
		t.Fatal(err)
	}
	await(tok, t, b, token("zq", 1), created.GetName(), true)

	// B reads it once (its cache holds it), then A changes it.
	if got, err := b.GetService(tok, &cataloguev1.GetServiceRequest{Name: created.GetName()}); err != nil || got.GetDisplayName() != created.GetDisplayName() {
		t.Fatalf("get on B: %v %v", got, err)
	}
	renamed := "Pracownia " + token("zw", 2)
	if _, err := a.UpdateService(tok, &cataloguev1.UpdateServiceRequest{
		Service:    &cataloguev1.Service{Name: created.GetName(), DisplayName: renamed},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	}); err != nil {
		t.Fatal(err)
	}
	await(tok, t, b, token("zw", 2), created.GetName(), true)
	await(tok, t, b, token("zq", 1), created.GetName(), false)
	if got, err := b.GetService(tok, &cataloguev1.GetServiceRequest{Name: created.GetName()}); err != nil || got.GetDisplayName() != renamed {
		t.Fatalf("get on B after the update on A: %q %v; want %q (B's cache must follow)", got.GetDisplayName(), err, renamed)
	}

	if _, err := a.DeleteService(tok, &cataloguev1.DeleteServiceRequest{Name: created.GetName()}); err != nil {
		t.Fatal(err)
	}
	await(tok, t, b, token("zw", 2), created.GetName(), false)
	if _, err := b.GetService(tok, &cataloguev1.GetServiceRequest{Name: created.GetName()}); err == nil {
		t.Fatal("B still serves the service A deleted")
	}

	// And the other way round: B's write is in A's search.
	back, err := b.CreateService(tok, newService("Pracownia "+token("zv", 3)))
	if err != nil {
		t.Fatal(err)
	}
	await(tok, t, a, token("zv", 3), back.GetName(), true)
}

// How long a create on A takes to be found by search on B: 200 creates, one at a time, each polled for on B
// (every millisecond) from the moment A acknowledged it. The figures are logged, not asserted (the machine is
// shared): go test -run TestReplicaFollowDelay -v ./internal/app/.
func TestReplicaFollowDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("200 writes")
	}
	c := etcdtest.StartOne(t)
	a, b, tok := replicaPair(t, c)
	// Not tok's own 30 s: 200 rounds may take longer on a loaded machine.
	md, _ := metadata.FromOutgoingContext(tok)
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 5*time.Minute)
	defer cancel()
	const n = 200
	delays := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		q := token("zd", i)
		created, err := a.CreateService(ctx, newService("Punkt "+q))
		if err != nil {
			t.Fatal(err)
		}
		delays = append(delays, await(ctx, t, b, q, created.GetName(), true))
	}
	slices.Sort(delays)
	t.Logf("a create on A found by search on B, %d creates: p50 %v, p90 %v, p99 %v, max %v", n,
		delays[n/2], delays[n*9/10], delays[n*99/100], delays[n-1])
}
