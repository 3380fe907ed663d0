package app

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/platform/auth"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// demoCatalogue answers GetService over gRPC from the catalogue's own demo file
// (services/catalogue/internal/demo/rawicz.json): the services the registry's demo agreements must fit.
type demoCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	services map[string]*cataloguev1.Service
	mu       sync.Mutex
	calls    int
}

func (c *demoCatalogue) GetService(_ context.Context, r *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if s, ok := c.services[r.GetName()]; ok {
		return s, nil
	}
	return nil, status.Error(codes.NotFound, "no such service")
}

// serveDemoCatalogue serves the catalogue demo on loopback until stop (or the test's end).
func serveDemoCatalogue(t *testing.T) (string, func()) {
	t.Helper()
	path := filepath.Join("..", "..", "..", "catalogue", "internal", "demo", "rawicz.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the catalogue demo (%s) is needed: %v", path, err)
	}
	var f struct{ Services []json.RawMessage }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	cat := &demoCatalogue{services: map[string]*cataloguev1.Service{}}
	for _, raw := range f.Services {
		req := &cataloguev1.CreateServiceRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, req); err != nil {
			t.Fatal(err)
		}
		svc := req.GetService()
		svc.Name = "services/" + req.GetServiceId()
		cat.services[svc.GetName()] = svc
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(gs, cat)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	var once sync.Once
	stop := func() { once.Do(func() { gs.Stop(); <-done }) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// TestTheProcessChecksAgreementsAgainstTheCatalogue: the process built by Run (not a test double of the
// checker) asks the catalogue at --catalogue-addr: its demo agreements all fit the catalogue demo; an
// agreement contracting out a service granted by a decyzja is refused; with the catalogue down an agreement
// is UNAVAILABLE and nothing is written.
func TestTheProcessChecksAgreementsAgainstTheCatalogue(t *testing.T) {
	dir := t.TempDir()
	catAddr, stopCatalogue := serveDemoCatalogue(t)
	cfg := testConfig(dir, catAddr)
	grpcAddr, _, stop := serve(t, cfg)
	defer stop()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.TokenRequest{Subject: "organizator", Roles: []auth.Role{auth.RoleOrganiser}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	client := providerv1.NewProviderServiceClient(conn)
	count := func() int32 {
		t.Helper()
		l, err := client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-"})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetTotalSize()
	}
	before := count()
	if before == 0 {
		t.Fatal("the demo agreements were not loaded")
	}

	// Specjalistyczne usługi opiekuńcze (the demo catalogue's service 15) are granted by a decyzja.
	agreement := &providerv1.Agreement{DisplayName: "Specjalistyczne usługi opiekuńcze 2027", Service: "services/0194c050-3022-7053-8000-000000000015",
		LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL, StartDate: "2027-01-01", EndDate: "2027-12-31",
		Capacity: &providerv1.Capacity{Amount: 40, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS, Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK},
		Funding:  &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET}}
	association := "providers/0194c050-3022-7053-b000-000000000004" // Stowarzyszenie „Razem”
	_, err = client.CreateAgreement(ctx, &providerv1.CreateAgreementRequest{Parent: association, Agreement: agreement})
	if status.Code(err) != codes.FailedPrecondition || !violates(err, "agreement.service", "SERVICE_REQUIRES_DECISION") {
		t.Fatalf("contracting out a decyzja service: %v", err)
	}
	if n := count(); n != before {
		t.Fatalf("%d agreements after a refusal, were %d", n, before)
	}

	// The catalogue down: UNAVAILABLE, nothing written.
	stopCatalogue()
	agreement.Service = "services/0194c050-3022-7053-8000-000000000020" // usługi sąsiedzkie: fine when the catalogue answers
	_, err = client.CreateAgreement(ctx, &providerv1.CreateAgreementRequest{Parent: association, Agreement: agreement})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("with the catalogue down: %v", err)
	}
	if n := count(); n != before {
		t.Fatalf("%d agreements with the catalogue down, were %d", n, before)
	}
}

// TestDemoLoadNeedsTheCatalogue: with no catalogue to check them against, the demo agreements are not loaded
// and the process says why, naming the catalogue.
func TestDemoLoadNeedsTheCatalogue(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := testConfig(t.TempDir(), addr)
	cfg.CallTimeout = 100 * time.Millisecond // the demo load waits ten of them for the catalogue
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, cfg, zap.NewNop(), nil)
	if err == nil || !strings.Contains(err.Error(), "catalogue") {
		t.Fatalf("run without a catalogue: %v", err)
	}
}

func TestCatalogueAddressIsPlaintextOnlyOnLoopback(t *testing.T) {
	cfg := testConfig(t.TempDir(), "catalogue.cus.example:7001")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--catalogue-addr (CUS_CATALOGUE_ADDR)") {
		t.Fatalf("plaintext to another host: %v", err)
	}
	cfg.BackendCA = "ca.pem"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("with --backend-ca: %v", err)
	}
	cfg.ClientCert = "client.pem"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--client-cert") {
		t.Fatalf("a certificate without its key: %v", err)
	}
}

func violates(err error, field, reason string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field && v.GetReason() == reason {
					return true
				}
			}
		}
	}
	return false
}

// A stop (SIGTERM: the context ends) while the demo load waits for the catalogue is a clean stop, not a failed
// start: Run returns nil, so a supervisor does not count a crash.
func TestStopWhileTheDemoLoadWaitsIsClean(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(t.TempDir(), addr)
	cfg.CallTimeout = time.Minute // the load would wait ten minutes for the catalogue
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	if err := Run(ctx, cfg, zap.NewNop(), nil); err != nil {
		t.Fatalf("stopped while loading the demo: %v", err)
	}
}
