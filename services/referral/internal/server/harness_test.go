package server_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

const (
	serviceName   = "services/0194c050-3022-7053-8000-000000000014"
	providerA     = "0194c050-3022-7053-b000-000000000001"
	providerB     = "0194c050-3022-7053-b000-000000000002"
	agreementName = "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000001"
)

func i32(v int32) *int32 { return &v }

// fakeCatalogue answers GetService for one service with a banded fee rule.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
}

func (fakeCatalogue) GetService(_ context.Context, r *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	if r.GetName() != serviceName {
		return nil, status.Error(codes.NotFound, "no such service")
	}
	return &cataloguev1.Service{Name: serviceName, DisplayName: "Usługi opiekuńcze", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		Fee: &cataloguev1.FeeRule{PriceGrosze: 3000, Unit: cataloguev1.FeeUnit_FEE_UNIT_HOUR, IncomeBands: []*cataloguev1.IncomeBand{
			{FromPercent: 0, ToPercent: i32(100), PayablePercent: 0},
			{FromPercent: 100, ToPercent: i32(200), PayablePercent: 50},
			{FromPercent: 200, PayablePercent: 100},
		}}}, nil
}

// fakeProvider keeps reservations per referral id, as the provider service does (idempotent).
type fakeProvider struct {
	providerv1.UnimplementedProviderServiceServer
	mu       sync.Mutex
	reserved map[string]int32
	calls    []string
}

// Agreements of provider A the fake knows besides agreementName (active since 2024, open-ended, for serviceName).
const (
	agreementSuspended = "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000091"
	agreementExpired   = "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000092"
	agreementFuture    = "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000093"
	agreementOtherSvc  = "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000094"
	agreementOfB       = "providers/" + providerB + "/agreements/0194c050-3022-7053-c000-000000000095"
)

var fakeAgreements = map[string]*providerv1.Agreement{
	agreementName: {Service: serviceName, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2024-01-01"},
	agreementSuspended: {Service: serviceName, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_SUSPENDED, StartDate: "2024-01-01",
		StatusReason: "kontrola"},
	agreementExpired:  {Service: serviceName, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2020-01-01", EndDate: "2020-12-31"},
	agreementFuture:   {Service: serviceName, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2099-01-01"},
	agreementOtherSvc: {Service: "services/0194c050-3022-7053-8000-000000000099", Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2024-01-01"},
	agreementOfB:      {Service: serviceName, Status: providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, StartDate: "2024-01-01"},
}

func (f *fakeProvider) GetAgreement(_ context.Context, r *providerv1.GetAgreementRequest) (*providerv1.Agreement, error) {
	a, ok := fakeAgreements[r.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such agreement")
	}
	out := proto.Clone(a).(*providerv1.Agreement)
	out.Name = r.GetName()
	return out, nil
}

func (f *fakeProvider) ReserveCapacity(ctx context.Context, r *providerv1.ReserveCapacityRequest) (*providerv1.ReserveCapacityResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("authorization")) == 0 {
		return nil, status.Error(codes.Unauthenticated, "no token")
	}
	f.calls = append(f.calls, "reserve "+r.GetReferralId())
	_, had := f.reserved[r.GetReferralId()]
	f.reserved[r.GetReferralId()] = r.GetUnits()
	return &providerv1.ReserveCapacityResponse{AlreadyReserved: had}, nil
}

func (f *fakeProvider) ReleaseCapacity(_ context.Context, r *providerv1.ReleaseCapacityRequest) (*providerv1.ReleaseCapacityResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "release "+r.GetReferralId())
	_, had := f.reserved[r.GetReferralId()]
	delete(f.reserved, r.GetReferralId())
	return &providerv1.ReleaseCapacityResponse{Released: had}, nil
}

func (f *fakeProvider) held(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.reserved[id]
	return ok
}

// serveFake runs a gRPC server with the given registration on loopback; stop ends it.
func serveFake(t testing.TB, register func(*grpc.Server)) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	register(gs)
	go gs.Serve(ln) //nolint:errcheck // ends with Stop
	var once sync.Once
	stop = func() { once.Do(gs.Stop) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

type harness struct {
	client       referralv1.ReferralServiceClient
	store        *store.Store
	provider     *fakeProvider
	stopProvider func()
	stopCatalog  func()
	logs         *observer.ObservedLogs
	dir          string
	mint         func(auth.TokenRequest) string
	server       *server.Server
	// stop shuts the service down (workers joined, last audit summary and anchor written) and closes the store.
	stop func()
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

var testKey = []byte("0123456789abcdef0123456789abcdef-test-only")

// testRing is the data key ring of the tests' stores.
var testRing, _ = store.KeyRingOf("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})

// start runs the real referral service (bbolt in a temp dir, gRPC on loopback, the production interceptor
// chain with dev-key tokens and the Policy) in front of fake catalogue and provider servers.
func start(t testing.TB, options ...func(*server.Options)) *harness {
	t.Helper()
	return startWith(t, fakeCatalogue{}, options...)
}

// startWith is start with cat serving the catalogue instead of fakeCatalogue.
func startWith(t testing.TB, cat cataloguev1.CatalogueServiceServer, options ...func(*server.Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	st, err := store.Open(filepath.Join(dir, "referral.db"), testKey, log, store.WithDataKeys(testRing))
	if err != nil {
		t.Fatal(err)
	}
	catAddr, stopCat := serveFake(t, func(s *grpc.Server) { cataloguev1.RegisterCatalogueServiceServer(s, cat) })
	fp := &fakeProvider{reserved: map[string]int32{}}
	provAddr, stopProv := serveFake(t, func(s *grpc.Server) { providerv1.RegisterProviderServiceServer(s, fp) })
	opts := server.Options{CallTimeout: time.Second, Webhooks: server.WebhookOptions{Guard: testAllowlist}}
	for _, o := range options {
		o(&opts)
	}
	srv := server.New(st, cataloguev1.NewCatalogueServiceClient(dial(t, catAddr)), providerv1.NewProviderServiceClient(dial(t, provAddr)), log, opts)
	flags := grpcserver.SecurityFlags{DevKeysDir: filepath.Join(dir, "dev"), ClockSkew: 30 * time.Second}
	sec, err := flags.Build(server.Policy)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, Auth: sec.Auth, Limits: sec.Limits}, log,
		append(srv.AuditDenials(sec.Auth.Verifier), server.RedactForProviders()...)...)
	referralv1.RegisterReferralServiceServer(gs.GRPC(), srv)
	gs.OnShutdown(srv.Shutdown)
	ls, err := gs.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gs.Serve(ctx, ls) }()
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorkers := context.WithCancel(context.Background())
	workers := make(chan struct{})
	go func() { srv.Run(wctx); close(workers) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			conn.Close()
			cancel()
			<-done
			stopWorkers()
			<-workers
			st.Close()
		})
	}
	t.Cleanup(stop)
	key, err := auth.EnsureDevKey(filepath.Join(dir, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(r auth.TokenRequest) string {
		tok, err := auth.Mint(key, r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return &harness{client: referralv1.NewReferralServiceClient(conn), store: st, provider: fp, stopProvider: stopProv, stopCatalog: stopCat, logs: logs, dir: dir, mint: mint,
		server: srv, stop: stop}
}

// as returns a context calling as role (provider staff bound to providerID).
func (h *harness) as(t testing.TB, role auth.Role, providerID string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	if role == auth.RoleAnonymous {
		return ctx
	}
	terc := ""
	if role == auth.RolePeer {
		terc = "3006023"
	}
	tok := h.mint(auth.TokenRequest{Subject: "u-" + string(role), Roles: []auth.Role{role}, ProviderID: providerID, TERC: terc})
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func (h *harness) coord(t testing.TB) context.Context { return h.as(t, auth.RoleCoordinator, "") }
func (h *harness) prov(t *testing.T) context.Context  { return h.as(t, auth.RoleProvider, providerA) }

// pesel makes a valid-format fictional PESEL for a birth date and serial.
func pesel(t testing.TB, yymmdd string, serial int) string {
	first := fmt.Sprintf("%s%04d", yymmdd, serial)
	d, err := plid.PESELCheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(d)
}

// seed creates a resident (with PESEL), a consent and a case; it returns their names.
func (h *harness) seed(t testing.TB, p string, income int32, household int32) (resident, consent, kase string) {
	t.Helper()
	ctx := h.coord(t)
	r, err := h.client.CreateResident(ctx, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{
		GivenName: "Anna", FamilyName: "Testowa", Pesel: p, Phone: "+48 600 000 000", HouseholdSize: household,
		MonthlyIncomePerPersonGrosze: income, TerytCode: "3022053"}})
	if err != nil {
		t.Fatalf("create resident: %v", err)
	}
	c, err := h.client.CreateConsent(ctx, &referralv1.CreateConsentRequest{Parent: r.GetName(), Consent: &referralv1.Consent{
		Basis: referralv1.LegalBasis_LEGAL_BASIS_CONSENT, Purpose: "skierowanie do usług", GivenDate: "2026-01-10",
		Scope: []referralv1.DataScope{referralv1.DataScope_DATA_SCOPE_NAME, referralv1.DataScope_DATA_SCOPE_CONTACT}}})
	if err != nil {
		t.Fatalf("create consent: %v", err)
	}
	k, err := h.client.CreateCase(ctx, &referralv1.CreateCaseRequest{Case: &referralv1.Case{Resident: r.GetName(), DocumentReference: "CUS.ZO.1.2026",
		Needs: []*referralv1.AssessedNeed{{Area: cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, Description: "pomoc w codziennych czynnościach"}}}})
	if err != nil {
		t.Fatalf("create case: %v", err)
	}
	return r.GetName(), c.GetName(), k.GetName()
}

func (h *harness) refer(t *testing.T, resident, consent, kase string, st referralv1.ReferralStatus) *referralv1.Referral {
	t.Helper()
	r, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: resident, Consent: consent, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName, Status: st}})
	if err != nil {
		t.Fatalf("create referral: %v", err)
	}
	return r
}
