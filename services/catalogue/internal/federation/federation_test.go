package federation_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
)

func peerOf(jar *instance, raw *instance, addr string) federation.Peer {
	return federation.Peer{TERC: jarocin, Name: "CUS Jarocin", Address: addr, TokenFile: jar.peerToken(raw.terc), MaxServices: 100000}
}

func statusOf(s *federation.Syncer) *cataloguev1.PeerStatus { return s.Status()[0] }

func TestSyncThenFollowLiveChanges(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 120; i++ {
		jar.create("Klub Jarocin " + string(rune('A'+i%26)))
	}
	own := raw.create("Klub Rawicz")
	s, _ := raw.follow([]federation.Peer{peerOf(jar, raw, jar.addr)}, fast)
	eventually(t, "initial sync of 120 services", func() bool { return raw.originCount(jarocin) == 120 })
	eventually(t, "watching", func() bool { return statusOf(s).GetState() == cataloguev1.PeerState_PEER_STATE_WATCHING })

	// Live changes on the peer arrive: a new service, an update, a delete.
	added := jar.create("Świetlica Jarocińska Nowa")
	list, _ := jar.client.ListServices(context.Background(), &cataloguev1.ListServicesRequest{PageSize: 2})
	gone, changed := list.GetServices()[0], list.GetServices()[1]
	if _, err := jar.client.DeleteService(jar.editor(), &cataloguev1.DeleteServiceRequest{Name: gone.GetName()}); err != nil {
		t.Fatal(err)
	}
	if _, err := jar.client.UpdateService(jar.editor(), &cataloguev1.UpdateServiceRequest{
		Service: &cataloguev1.Service{Name: changed.GetName(), Description: "zmieniony opis"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "live changes", func() bool {
		got, err := raw.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: changed.GetName()})
		_, goneErr := raw.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: gone.GetName()})
		return err == nil && got.GetDescription() == "zmieniony opis" && status.Code(goneErr) == codes.NotFound
	})
	res, err := raw.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "swietlica jarocinska"})
	if err != nil || len(res.GetResults()) == 0 || res.GetResults()[0].GetService().GetName() != added.GetName() || res.GetResults()[0].GetService().GetOriginTerc() != jarocin {
		t.Fatalf("federated service not found by search: %v %v", res.GetResults(), err)
	}
	// Exactly the peer's catalogue, and the local one untouched.
	want := names(jar, jarocin)
	mustEqualSets(t, names(raw, jarocin), want)
	if _, err := raw.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: own.GetName()}); err != nil {
		t.Fatal(err)
	}
	// Federated entries are read-only here, and are not republished in this instance's feed.
	_, err = raw.client.UpdateService(raw.editor(), &cataloguev1.UpdateServiceRequest{
		Service: &cataloguev1.Service{Name: added.GetName(), Description: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("update of a federated entry: %v", err)
	}
	feed, err := raw.client.ListChanges(raw.editor(), &cataloguev1.ListChangesRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range feed.GetChanges() {
		if c.GetService().GetOriginTerc() == jarocin {
			t.Fatal("a federated entry was republished in the local feed")
		}
	}
	st := statusOf(s)
	if st.GetLagRevisions() != 0 || st.GetServiceCount() != int32(len(want)) || st.GetLastSuccessTime() == nil || st.GetLastError() != "" {
		t.Fatalf("status: %v", st)
	}
}

func TestRestartResumesFromCursorExactly(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	rawDir := t.TempDir()
	raw := startInstance(t, rawicz, rawDir)
	for i := 0; i < 200; i++ {
		jar.create("Usługa " + string(rune('a'+i%26)))
	}
	px := newProxy(t, jar.addr)
	px.setDelay(2 * time.Millisecond)
	peer := peerOf(jar, raw, px.addr())
	_, stop := raw.follow([]federation.Peer{peer}, fast)
	eventually(t, "a partial sync", func() bool { n := raw.originCount(jarocin); return n > 0 })
	stop()
	raw.stop() // the process dies mid-sync
	px.setDelay(0)
	// While it is down, the peer deletes some and adds some.
	list, _ := jar.client.ListServices(context.Background(), &cataloguev1.ListServicesRequest{PageSize: 10})
	for _, s := range list.GetServices() {
		if _, err := jar.client.DeleteService(jar.editor(), &cataloguev1.DeleteServiceRequest{Name: s.GetName()}); err != nil {
			t.Fatal(err)
		}
	}
	jar.create("Dodana w czasie przerwy")
	raw = startInstance(t, rawicz, rawDir)
	raw.follow([]federation.Peer{peer}, fast)
	want := names(jar, jarocin)
	eventually(t, "convergence after restart", func() bool { return maps.Equal(names(raw, jarocin), want) })
	mustEqualSets(t, names(raw, jarocin), want)
}

func TestPeerDownAtStartThenUp(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	jar.create("Dzienny Dom Senior+ Jarocin")
	raw.create("Klub Seniora Rawicz")
	px := newProxy(t, jar.addr)
	px.setDown(true)
	s, _ := raw.follow([]federation.Peer{peerOf(jar, raw, px.addr())}, fast)
	eventually(t, "backoff with an error", func() bool {
		st := statusOf(s)
		return st.GetState() == cataloguev1.PeerState_PEER_STATE_BACKOFF && st.GetLastError() != ""
	})
	// The local catalogue keeps serving.
	res, err := raw.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "klub seniora"})
	if err != nil || res.GetTotalSize() != 1 {
		t.Fatalf("local search while the peer is down: %v %v", res, err)
	}
	px.setDown(false)
	eventually(t, "sync once the peer is up", func() bool { return raw.originCount(jarocin) == 1 })
}

func TestConnectionResetsAndSlowPeer(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 300; i++ {
		jar.create("Zajęcia " + string(rune('a'+i%26)))
	}
	px := newProxy(t, jar.addr)
	opts := fast
	opts.CallTimeout = 300 * time.Millisecond
	s, _ := raw.follow([]federation.Peer{peerOf(jar, raw, px.addr())}, opts)
	// Slow: every chunk waits longer than the call deadline.
	px.setDelay(400 * time.Millisecond)
	eventually(t, "a deadline error", func() bool { return strings.Contains(statusOf(s).GetLastError(), "DeadlineExceeded") })
	px.setDelay(0)
	// Resets: cut every connection repeatedly while syncing.
	stopResets := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopResets:
				return
			case <-time.After(15 * time.Millisecond):
				px.reset()
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	close(stopResets)
	eventually(t, "convergence after resets", func() bool { return raw.originCount(jarocin) == 300 })
	mustEqualSets(t, names(raw, jarocin), names(jar, jarocin))
}

func TestPeerRestartsWithItsDataReset(t *testing.T) {
	jarDir := t.TempDir()
	jar := startInstance(t, jarocin, jarDir)
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 30; i++ {
		jar.create("Stara usługa " + string(rune('a'+i)))
	}
	px := newProxy(t, jar.addr)
	peer := peerOf(jar, raw, px.addr())
	raw.follow([]federation.Peer{peer}, fast)
	eventually(t, "first sync", func() bool { return raw.originCount(jarocin) == 30 })
	jar.stop()
	// The peer comes back with a new data file (same keys), and a different, larger catalogue, so its revision
	// numbers pass our cursor: only the feed id tells the histories apart.
	newDir := t.TempDir()
	copyDir(t, filepath.Join(jarDir, "dev"), filepath.Join(newDir, "dev"))
	jar2 := startInstance(t, jarocin, newDir)
	for i := 0; i < 40; i++ {
		jar2.create("Nowa usługa " + string(rune('a'+i%26)))
	}
	px.setTarget(jar2.addr)
	want := names(jar2, jarocin)
	eventually(t, "exactly the new catalogue", func() bool {
		got := names(raw, jarocin)
		if len(got) != len(want) {
			return false
		}
		for k := range want {
			if !got[k] {
				return false
			}
		}
		return true
	})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// fakePeer serves a fixed change feed, to send what a real catalogue never would.
type fakePeer struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	changes []*cataloguev1.Change
}

func (f *fakePeer) ListChanges(_ context.Context, req *cataloguev1.ListChangesRequest) (*cataloguev1.ListChangesResponse, error) {
	var out []*cataloguev1.Change
	for _, c := range f.changes {
		if c.GetRevision() > req.GetAfterRevision() {
			out = append(out, c)
		}
	}
	last := req.GetAfterRevision()
	if len(out) > 0 {
		last = out[len(out)-1].GetRevision()
	}
	return &cataloguev1.ListChangesResponse{Changes: out, NextAfterRevision: last, LatestRevision: last, FeedId: "fake"}, nil
}

func (f *fakePeer) WatchChanges(_ *cataloguev1.WatchChangesRequest, s cataloguev1.CatalogueService_WatchChangesServer) error {
	<-s.Context().Done()
	return nil
}

func startFake(t *testing.T, f cataloguev1.CatalogueServiceServer) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(g, f)
	go g.Serve(ln) //nolint:errcheck // ends with Stop
	t.Cleanup(g.Stop)
	return ln.Addr().String()
}

func upsert(rev int64, id string, s *cataloguev1.Service) *cataloguev1.Change {
	s.Name = "services/" + id
	return &cataloguev1.Change{Revision: rev, Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, ResourceName: s.Name, Resource: &cataloguev1.Change_Service{Service: s}}
}

func TestGarbageFromPeerIsRejectedAndReported(t *testing.T) {
	raw := startInstance(t, rawicz, t.TempDir())
	own := raw.create("Lokalna usługa")
	ownID := strings.TrimPrefix(own.GetName(), "services/")
	good := service(jarocin, "Poprawna")
	good.OriginTerc = jarocin
	future := service(jarocin, "Z przyszłości")
	future.OriginTerc = jarocin
	future.UpdateTime = timestamppb.New(time.Now().AddDate(3, 0, 0)) // the peer's clock is years ahead
	badTERC := service(jarocin, "Zły TERC")
	badTERC.OriginTerc = jarocin
	badTERC.Locations[0].TerytCode = "9999999"
	foreign := service(jarocin, "Podszywa się pod Rawicz")
	foreign.OriginTerc = rawicz
	collision := service(jarocin, "Nadpisuje lokalną")
	collision.OriginTerc = jarocin
	huge := service(jarocin, strings.Repeat("x", 5000))
	huge.OriginTerc = jarocin
	fake := &fakePeer{changes: []*cataloguev1.Change{
		upsert(1, "0194c050-3006-7023-8000-000000000001", good),
		upsert(2, "0194c050-3006-7023-8000-000000000002", future),
		upsert(3, "0194c050-3006-7023-8000-000000000003", badTERC),
		upsert(4, "0194c050-3006-7023-8000-000000000004", foreign),
		upsert(5, ownID, collision),
		upsert(6, "0194c050-3006-7023-8000-000000000006", huge),
		{Revision: 7, Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, ResourceName: "programmes/0194c050-3006-7023-9000-000000000001"},
		{Revision: 8, Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, ResourceName: "services/not-a-uuid"},
	}}
	addr := startFake(t, fake)
	s, _ := raw.follow([]federation.Peer{{TERC: jarocin, Name: "CUS Jarocin (fake)", Address: addr}}, fast)
	eventually(t, "the feed consumed", func() bool { return statusOf(s).GetCursor() == 8 })
	if n := raw.originCount(jarocin); n != 2 {
		t.Fatalf("stored %d entries of the peer, want the 2 valid ones", n)
	}
	st := statusOf(s)
	if st.GetRejectedCount() != 5 || !strings.Contains(st.GetLastError(), "rejected") {
		t.Fatalf("status: %v", st)
	}
	got, err := raw.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: own.GetName()})
	if err != nil || !proto.Equal(got, own) {
		t.Fatalf("the local entry was changed by a peer: %v %v", got, err)
	}
}

func TestOversizedMessageCutsThePeerOff(t *testing.T) {
	raw := startInstance(t, rawicz, t.TempDir())
	raw.create("Lokalna")
	var changes []*cataloguev1.Change
	for i := 0; i < 40; i++ {
		s := service(jarocin, "Duża")
		s.OriginTerc = jarocin
		s.Description = strings.Repeat("ż", 5000)
		changes = append(changes, upsert(int64(i+1), "0194c050-3006-7023-8000-0000000001"+string(rune('0'+i/10))+string(rune('0'+i%10)), s))
	}
	addr := startFake(t, &fakePeer{changes: changes})
	opts := fast
	opts.MaxMessageSize = 64 << 10
	s, _ := raw.follow([]federation.Peer{{TERC: jarocin, Name: "CUS Jarocin (fake)", Address: addr}}, opts)
	eventually(t, "the peer cut off", func() bool { return strings.Contains(statusOf(s).GetLastError(), "ResourceExhausted") })
	if raw.originCount(jarocin) != 0 {
		t.Fatal("entries from an oversized message were stored")
	}
	if res, err := raw.client.SearchServices(context.Background(), &cataloguev1.SearchServicesRequest{Query: "lokalna"}); err != nil || res.GetTotalSize() != 1 {
		t.Fatalf("local service while a peer misbehaves: %v %v", res, err)
	}
}

// A peers file with a bad entry is refused with a message naming the file, the peer and the problem; the
// address takes what platform/grpcclient dials (host:port, a list of the peer's replicas, dns:///name:port).
func TestLoadConfigRefusesBadPeers(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ body, want string }{
		"own TERC":      {`{"peers":[{"terc":"3022053","name":"x","address":"127.0.0.1:1"}]}`, "peer 1: terc 3022053 is this instance's own"},
		"bad TERC":      {`{"peers":[{"terc":"12","name":"x","address":"127.0.0.1:1"}]}`, `peer 1: terc "12" is not a TERYT TERC code`},
		"twice":         {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:1"},{"terc":"3006023","name":"y","address":"127.0.0.1:2"}]}`, "peer 2: terc 3006023 is listed twice"},
		"plaintext WAN": {`{"peers":[{"terc":"3006023","name":"x","address":"10.1.2.3:7001"}]}`, "peer 1: plaintext to 10.1.2.3:7001 is not allowed; give ca_file"},
		"plaintext to one replica beyond loopback": {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:7001,10.1.2.3:7001"}]}`, "plaintext to 127.0.0.1:7001,10.1.2.3:7001 is not allowed"},
		"unknown field":            {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:1","url":"http://x"}]}`, `unknown field "url"`},
		"no name":                  {`{"peers":[{"terc":"3006023","address":"127.0.0.1:1"}]}`, "peer 1: name is required"},
		"no address":               {`{"peers":[{"terc":"3006023","name":"x"}]}`, "peer 1: address is required: host:port, host:port,host:port (the peer's replicas) or dns:///name:port"},
		"address no port":          {`{"peers":[{"terc":"3006023","name":"x","address":"jarocin"}]}`, `peer 1: address: "jarocin" is not a host:port address`},
		"list with a bad entry":    {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:7001,127.0.0.1"}]}`, `peer 1: address: "127.0.0.1" is not a host:port address`},
		"list with an empty entry": {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:7001,"}]}`, `peer 1: address: "" is not a host:port address`},
		"replica twice":            {`{"peers":[{"terc":"3006023","name":"x","address":"127.0.0.1:7001, 127.0.0.1:7001"}]}`, `peer 1: address: "127.0.0.1:7001" is listed twice`},
		"other scheme":             {`{"peers":[{"terc":"3006023","name":"x","address":"https://cus.jarocin.example:7001","ca_file":"ca.pem"}]}`, "the only scheme understood is dns:///"},
		"dns without port":         {`{"peers":[{"terc":"3006023","name":"x","address":"dns:///cus.jarocin.example","ca_file":"ca.pem"}]}`, `peer 1: address: "cus.jarocin.example" is not a host:port address`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := federation.LoadConfig(path, rawicz)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q, want it to name the file and say %q", name, err, tc.want)
		}
	}
	// What is accepted: one address, the peer's replicas, or a DNS name that resolves to them.
	for name, addr := range map[string]string{
		"one":          `"127.0.0.1:7001"`,
		"replicas":     `"127.0.0.1:7001, 127.0.0.1:7002"`,
		"dns":          `"dns:///localhost:7001"`,
		"dns with TLS": `"dns:///cus-catalogue.cus-jarocin.svc:7001","ca_file":"ca.pem"`,
	} {
		path := filepath.Join(dir, "ok_"+strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(`{"peers":[{"terc":"3006023","name":"CUS Jarocin","address":`+addr+`}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := federation.LoadConfig(path, rawicz); err != nil {
			t.Errorf("%s (%s): %v", name, addr, err)
		}
	}
}

// A peer that runs two replicas is followed through both: with one of them down the initial sync comes through
// the other, and when that one goes down in turn the live changes come through the first.
func TestPeerReplicasAreFollowedThroughEach(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 40; i++ {
		jar.create("Klub Jarocin " + string(rune('A'+i%26)))
	}
	// Two replicas of the peer: proxies in front of the one instance.
	r1, r2 := newProxy(t, jar.addr), newProxy(t, jar.addr)
	r1.setDown(true)
	s, _ := raw.follow([]federation.Peer{peerOf(jar, raw, r1.addr()+","+r2.addr())}, fast)
	eventually(t, "initial sync through the second replica", func() bool { return raw.originCount(jarocin) == 40 })
	eventually(t, "watching", func() bool { return statusOf(s).GetState() == cataloguev1.PeerState_PEER_STATE_WATCHING })
	r1.setDown(false)
	r2.setDown(true)
	added := jar.create("Świetlica przy drugiej instancji")
	eventually(t, "a live change through the first replica", func() bool {
		_, err := raw.client.GetService(context.Background(), &cataloguev1.GetServiceRequest{Name: added.GetName()})
		return err == nil
	})
}

// personalData matches field names that could hold a resident's personal data.
var personalData = regexp.MustCompile(`(?i)pesel|resident|person|birth|sex|gender|income|household|health|diagnos|consent|case|referral|first_?name|last_?name|surname|citizen|nationality|religion|ethnic`)

// reviewed are fields whose names match the pattern but were checked to hold no personal data.
var reviewed = map[string]bool{
	// Percentages of the statutory income criterion in a service's fee table, not anybody's income.
	"FeeRule.income_bands": true,
}

// TestFederationPathCarriesNoPersonalData walks every message type a peer receives (the change feed) and fails
// if a field could carry personal data, or if a field was added without review (the golden list below).
func TestFederationPathCarriesNoPersonalData(t *testing.T) {
	var fields []string
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			fields = append(fields, string(md.Name())+"."+string(fd.Name()))
			if personalData.MatchString(string(fd.Name())) && !reviewed[string(md.Name())+"."+string(fd.Name())] {
				t.Errorf("field %s.%s could carry personal data", md.FullName(), fd.Name())
			}
			if fd.Message() != nil && !strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") {
				walk(fd.Message())
			}
		}
	}
	for _, m := range []proto.Message{&cataloguev1.ListChangesResponse{}, &cataloguev1.WatchChangesResponse{}} {
		walk(m.ProtoReflect().Descriptor())
	}
	sort.Strings(fields)
	golden := filepath.Join("testdata", "federation_fields.txt")
	want, err := os.ReadFile(golden)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		_ = os.MkdirAll("testdata", 0o755)
		_ = os.WriteFile(golden, []byte(strings.Join(fields, "\n")+"\n"), 0o644)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fields, "\n") + "\n"; got != string(want) {
		t.Fatalf("the federation path changed; review the new fields for personal data, then run with UPDATE_GOLDEN=1.\ngot:\n%s", got)
	}
}

// A follower away longer than the peer's change retention finds its cursor below the compaction point: it gets
// OUT_OF_RANGE CHANGES_COMPACTED, purges the peer's entries and resyncs from the full listing, so the deletes
// it missed (whose tombstones were compacted away) do not survive here.
func TestCursorBelowCompactionPointResyncsFromFullListing(t *testing.T) {
	jar := startInstance(t, jarocin, t.TempDir())
	raw := startInstance(t, rawicz, t.TempDir())
	for i := 0; i < 30; i++ {
		jar.create("Usługa " + string(rune('a'+i%26)))
	}
	peer := peerOf(jar, raw, jar.addr)
	_, stop := raw.follow([]federation.Peer{peer}, fast)
	eventually(t, "the first sync", func() bool { return raw.originCount(jarocin) == 30 })
	stop()
	// While the follower is away: deletes, a create, then compaction past all of it.
	list, _ := jar.client.ListServices(context.Background(), &cataloguev1.ListServicesRequest{PageSize: 5})
	for _, s := range list.GetServices() {
		if _, err := jar.client.DeleteService(jar.editor(), &cataloguev1.DeleteServiceRequest{Name: s.GetName()}); err != nil {
			t.Fatal(err)
		}
	}
	jar.create("Dodana w czasie przerwy")
	if _, err := jar.st.Backend().CompactChanges(context.Background(), jar.st.Backend().Revision()); err != nil {
		t.Fatal(err)
	}
	cursor, _, _ := raw.st.PeerCursor(jarocin)
	if _, _, err := jar.st.ListChanges(cursor, 1); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("the follower's cursor %d should be below the compaction point: %v", cursor, err)
	}
	s, _ := raw.follow([]federation.Peer{peer}, fast)
	want := names(jar, jarocin)
	eventually(t, "convergence after the resync", func() bool {
		return maps.Equal(names(raw, jarocin), want) && statusOf(s).GetState() == cataloguev1.PeerState_PEER_STATE_WATCHING
	})
	mustEqualSets(t, names(raw, jarocin), want)
	if len(want) != 26 {
		t.Fatalf("peer has %d services, want 26", len(want))
	}
}
