package federation_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
)

// The federation at scale: big pages for peers, bounded by bytes; changes sent in their stored encoding; a cap
// on the catch-ups running at once.

// importPeerServices stores n valid services of in's origin straight into its store (as `catalogue generate`
// does), with descriptions of descLen characters, and returns their names.
func importPeerServices(t *testing.T, in *instance, n, descLen int) []string {
	t.Helper()
	var list []*cataloguev1.Service
	var ids, names []string
	for i := range n {
		s := service(in.terc, fmt.Sprintf("Usługa hurtowa %d", i))
		s.OriginTerc = in.terc
		if descLen > 0 {
			s.Description = strings.Repeat("ż", descLen)
		}
		id := fmt.Sprintf("0194c050-%s-7%s-8000-%012d", in.terc[:4], in.terc[4:], i)
		list, ids, names = append(list, s), append(ids, id), append(names, "services/"+id)
	}
	if _, _, err := in.st.ImportServices(context.Background(), list, ids); err != nil {
		t.Fatal(err)
	}
	return names
}

// peerCaller is a gRPC client of in that presents a token in issued to a peer.
func (in *instance) peerCaller(t *testing.T, forTERC string) context.Context {
	t.Helper()
	tok, err := os.ReadFile(in.peerToken(forTERC))
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+string(tok))
}

func TestPeerPagesAreBigAndBoundedByBytes(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	importPeerServices(t, jar, 6000, 0)
	peer := jar.peerCaller(t, rawicz)
	tests := []struct {
		name     string
		ctx      context.Context
		size     int32
		want     int
		wantMore bool
	}{
		{"a peer asking for 5,000 gets 5,000", peer, 5000, 5000, true},
		{"a peer asking for more is held to 5,000", peer, 9000, 5000, true},
		{"a peer asking for 2,000 gets 2,000", peer, 2000, 2000, true},
		{"staff get at most 1,000", jar.editor(), 5000, 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := jar.client.ListChanges(tc.ctx, &cataloguev1.ListChangesRequest{PageSize: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetChanges()) != tc.want || resp.GetHasMore() != tc.wantMore {
				t.Fatalf("got %d changes (has_more %v), want %d (%v)", len(resp.GetChanges()), resp.GetHasMore(), tc.want, tc.wantMore)
			}
		})
	}

	// 400 services of 20 KB are 8 MB: a page of them is cut at the byte budget, so it fits the 4 MiB a gRPC
	// client accepts by default, and the pages together still hold every change once.
	big := startInstance(t, jarocin, t.TempDir())
	names := importPeerServices(t, big, 400, 10000)
	conn, err := grpc.NewClient(big.addr, grpc.WithTransportCredentials(insecure.NewCredentials())) // default 4 MiB limit
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := cataloguev1.NewCatalogueServiceClient(conn)
	ctx := big.peerCaller(t, rawicz)
	var got []string
	after, pages := int64(0), 0
	for {
		resp, err := client.ListChanges(ctx, &cataloguev1.ListChangesRequest{AfterRevision: after, PageSize: 5000})
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if size := proto.Size(resp); size > 4<<20 {
			t.Fatalf("page %d is %d bytes", pages, size)
		}
		for _, c := range resp.GetChanges() {
			got = append(got, c.GetResourceName())
		}
		after = resp.GetNextAfterRevision()
		if !resp.GetHasMore() {
			break
		}
	}
	if pages < 3 || strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%d pages with %d changes, want at least 3 pages with the %d services in order", pages, len(got), len(names))
	}
}

// The feed handler sends the stored records as they are, without decoding them: what arrives must be the whole
// service, equal to what GetService answers, for native clients and for the REST gateway alike (which decodes
// the gRPC message too).
func TestChangesCarryTheWholeStoredService(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	created := jar.create("Klub Seniora „Złota Jesień”")
	resp, err := jar.client.ListChanges(jar.editor(), &cataloguev1.ListChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetChanges()) != 1 {
		t.Fatalf("changes: %v", resp.GetChanges())
	}
	c := resp.GetChanges()[0]
	got, err := jar.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: created.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(c.GetService(), got) || c.GetType() != cataloguev1.ChangeType_CHANGE_TYPE_UPSERT || c.GetResourceName() != created.GetName() {
		t.Fatalf("change %v\nservice %v", c, got)
	}
	if len(c.ProtoReflect().GetUnknown()) != 0 {
		t.Fatalf("the change arrived with unknown fields")
	}
}

func TestLargeServicesSyncUnderTheMessageLimit(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	importPeerServices(t, jar, 400, 10000) // 8 MB
	opts := fast
	opts.PageSize = 5000
	opts.MaxMessageSize = 4 << 20
	s, _ := raw.follow([]federation.Peer{peerOf(jar, raw, jar.addr)}, opts)
	eventually(t, "the 400 large services synced", func() bool { return raw.originCount(jarocin) == 400 })
	if st := statusOf(s); st.GetRejectedCount() != 0 || st.GetServiceCount() != 400 {
		t.Fatalf("status: %v", st)
	}
}

// pagedPeer serves a fixed, valid feed in small, slow pages and records how many followers are catching up
// from it and its siblings at the same time (from a follower's first page to its last).
type pagedPeer struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	changes []*cataloguev1.Change
	page    int
	delay   time.Duration
	meter   *overlapMeter
}

type overlapMeter struct {
	mu          sync.Mutex
	active, max int
}

func (m *overlapMeter) change(d int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active += d
	m.max = max(m.max, m.active)
}

func (p *pagedPeer) ListChanges(_ context.Context, req *cataloguev1.ListChangesRequest) (*cataloguev1.ListChangesResponse, error) {
	after := req.GetAfterRevision()
	if after == 0 {
		p.meter.change(+1)
	}
	time.Sleep(p.delay)
	var out []*cataloguev1.Change
	for _, c := range p.changes {
		if c.GetRevision() > after && len(out) < p.page {
			out = append(out, c)
		}
	}
	last := p.changes[len(p.changes)-1].GetRevision()
	next := after
	if len(out) > 0 {
		next = out[len(out)-1].GetRevision()
	}
	more := next < last
	if !more && len(out) > 0 {
		p.meter.change(-1)
	}
	return &cataloguev1.ListChangesResponse{Changes: out, NextAfterRevision: next, LatestRevision: last, HasMore: more, FeedId: "paged"}, nil
}

func (p *pagedPeer) WatchChanges(_ *cataloguev1.WatchChangesRequest, s cataloguev1.CatalogueService_WatchChangesServer) error {
	<-s.Context().Done()
	return nil
}

func TestCatchUpsWaitForASyncSlot(t *testing.T) {
	tests := []struct {
		slots int
		want  int // most catch-ups seen at once
	}{
		{slots: 1, want: 1},
		{slots: 3, want: 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d slots", tc.slots), func(t *testing.T) {
			raw := startInstance(t, rawicz, t.TempDir())
			meter := &overlapMeter{}
			var peers []federation.Peer
			for i := 1; i <= 3; i++ {
				terc := fmt.Sprintf("30%02d013", i)
				var changes []*cataloguev1.Change
				for j := 1; j <= 40; j++ {
					s := service(terc, fmt.Sprintf("Usługa %d", j))
					s.OriginTerc = terc
					changes = append(changes, upsert(int64(j), fmt.Sprintf("0194c050-%s-7%s-8000-%012d", terc[:4], terc[4:], j), s))
				}
				addr := startFake(t, &pagedPeer{changes: changes, page: 4, delay: 20 * time.Millisecond, meter: meter})
				peers = append(peers, federation.Peer{TERC: terc, Name: terc, Address: addr, MaxServices: 1000})
			}
			opts := fast
			opts.MaxConcurrentSyncs = tc.slots
			s, _ := raw.follow(peers, opts)
			eventually(t, "every peer synced", func() bool {
				for _, st := range s.Status() {
					if st.GetState() != cataloguev1.PeerState_PEER_STATE_WATCHING || st.GetServiceCount() != 40 {
						return false
					}
				}
				return true
			})
			meter.mu.Lock()
			defer meter.mu.Unlock()
			if meter.max != tc.want {
				t.Fatalf("at most %d catch-ups ran at once, want %d", meter.max, tc.want)
			}
		})
	}
}
