package federation_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/federation"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

const (
	rawicz  = "3022053"
	jarocin = "3006023"
)

// instance is a whole catalogue (store, server, secured gRPC endpoint) in-process.
type instance struct {
	t      testing.TB
	terc   string
	dir    string
	st     *store.Store
	srv    *server.Server
	addr   string
	key    *jose.JSONWebKey
	client cataloguev1.CatalogueServiceClient
	stop   func()
}

func startInstance(t testing.TB, terc, dir string) *instance {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "catalogue.db"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, terc, zap.NewNop())
	if _, err := srv.LoadIndex(); err != nil {
		t.Fatal(err)
	}
	flags := grpcserver.SecurityFlags{DevKeysDir: filepath.Join(dir, "dev"), ClockSkew: 30 * time.Second}
	sec, err := flags.Build(server.Policy)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, Auth: sec.Auth}, zap.NewNop())
	cataloguev1.RegisterCatalogueServiceServer(gs.GRPC(), srv)
	gs.OnShutdown(srv.Shutdown)
	ls, err := gs.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = gs.Serve(ctx, ls); close(done) }()
	key, err := auth.EnsureDevKey(filepath.Join(dir, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, terc: terc, dir: dir, st: st, srv: srv, addr: ls.GRPC.Addr().String(), key: key,
		client: cataloguev1.NewCatalogueServiceClient(conn)}
	var once sync.Once
	in.stop = func() {
		once.Do(func() { conn.Close(); cancel(); <-done; st.Close() })
	}
	t.Cleanup(in.stop)
	return in
}

// peerToken writes a token this instance issues to a peer (role peer, bound to the peer's TERC).
func (in *instance) peerToken(forTERC string) string {
	tok, err := auth.Mint(in.key, auth.TokenRequest{Subject: "peer-" + forTERC, Roles: []auth.Role{auth.RolePeer}, TERC: forTERC})
	if err != nil {
		in.t.Fatal(err)
	}
	path := filepath.Join(in.t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		in.t.Fatal(err)
	}
	return path
}

func (in *instance) editor() context.Context {
	tok, _ := auth.Mint(in.key, auth.TokenRequest{Subject: "org", Roles: []auth.Role{auth.RoleOrganiser}})
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

func (in *instance) create(name string) *cataloguev1.Service {
	in.t.Helper()
	out, err := in.client.CreateService(in.editor(), &cataloguev1.CreateServiceRequest{Service: service(in.terc, name)})
	if err != nil {
		in.t.Fatalf("create on %s: %v", in.terc, err)
	}
	return out
}

func service(terc, name string) *cataloguev1.Service {
	return &cataloguev1.Service{
		DisplayName: name,
		Description: "Usługa testowa federacji.",
		Areas:       []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		Locations: []*cataloguev1.Location{{
			Name: "Siedziba", TerytCode: terc,
			Address:     &typev1.Address{City: "Miasto", PostalCode: "63-200"},
			Coordinates: &typev1.LatLng{Latitude: 51.97, Longitude: 17.5},
		}},
	}
}

// originCount counts the services of an origin held by in.
func (in *instance) originCount(terc string) int {
	_, total := in.srv.Index().List(func(d *search.Doc) bool { return d.Origin == terc }, nil, 0, 1)
	return total
}

// syncer follows peers for the instance until the returned stop is called.
func (in *instance) follow(peers []federation.Peer, opts federation.Options) (*federation.Syncer, func()) {
	if opts.MaxBatch == 0 {
		opts.MaxBatch = in.st.ImportBatchSize() // as the app sizes it: within the storage engine's limits
	}
	s := federation.New(federation.Config{Peers: peers}, in.srv, zap.NewNop(), nil, opts)
	in.srv.SetPeerStatus(s.Status)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	in.t.Cleanup(stop)
	return s, stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var fast = federation.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, CallTimeout: 2 * time.Second, PageSize: 50}

// proxy is an in-process TCP fault injector between an instance and its peer.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	delay time.Duration
	conns []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.reset() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		target := p.target
		p.mu.Unlock()
		u, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			dst.Close()
			return
		}
	}
}

// reset closes every open connection (a connection reset in the middle of whatever was going on).
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.reset()
	}
}

func (p *proxy) setDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

func (p *proxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
	p.reset()
}

func names(in *instance, terc string) map[string]bool {
	out := map[string]bool{}
	ids, _ := in.srv.Index().List(func(d *search.Doc) bool { return d.Origin == terc }, nil, 0, 1<<30)
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func mustEqualSets(t *testing.T, got, want map[string]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("missing %s", k)
		}
	}
}

var _ = fmt.Sprint

var nopLog = zap.NewNop()

func startInstanceB(b *testing.B, terc string) *instance { return startInstance(b, terc, b.TempDir()) }

func (in *instance) peerTokenB(_ *testing.B, forTERC string) string { return in.peerToken(forTERC) }
