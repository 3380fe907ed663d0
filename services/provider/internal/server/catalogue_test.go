package server_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/server"
)

// Services of the fake catalogue below.
const (
	svcOpen     = "services/0194c050-3022-7053-8000-000000000020" // validAgreement's service
	svcDecision = "services/0194c050-3022-7053-8000-000000000029" // granted by a decyzja
	svcDefunct  = "services/0194c050-3022-7053-8000-000000000060"
	svcInactive = "services/0194c050-3022-7053-8000-000000000061"
)

// catalogueServer is a catalogue over real gRPC that answers GetService for a few services and records
// whether a call carried a token.
type catalogueServer struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu        sync.Mutex
	withToken int
}

func (c *catalogueServer) GetService(ctx context.Context, r *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("authorization")) > 0 {
		c.mu.Lock()
		c.withToken++
		c.mu.Unlock()
	}
	svc := &cataloguev1.Service{Name: r.GetName(), Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE}
	switch r.GetName() {
	case svcOpen:
	case svcDecision:
		svc.RequiresDecision = true
	case svcDefunct:
		svc.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT
	case svcInactive:
		svc.Status = cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE
	default:
		return nil, status.Error(codes.NotFound, "no such service")
	}
	return svc, nil
}

// serveCatalogue runs c on loopback; stop ends it (idempotent).
func serveCatalogue(t *testing.T, c *catalogueServer) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(gs, c)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	var once sync.Once
	stop = func() { once.Do(func() { gs.Stop(); <-done }) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func gminaUnit() *providerv1.Provider {
	p := validProvider()
	p.DisplayName, p.LegalName = "Centrum Usług Społecznych (test)", "Centrum Usług Społecznych (test)"
	p.Kind, p.Nip, p.Krs = providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, "", ""
	return p
}

// TestAgreementsAreCheckedAgainstTheCatalogue runs the registry with the catalogue-backed checker the process
// uses (CatalogueServices over gRPC): a service the catalogue lacks, one no longer offered, and one granted by
// a decyzja on anything but an in-house agreement are refused with nothing written; the catalogue down is
// UNAVAILABLE with nothing written.
func TestAgreementsAreCheckedAgainstTheCatalogue(t *testing.T) {
	cat := &catalogueServer{}
	addr, stopCatalogue := serveCatalogue(t, cat)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h := start(t, server.WithServiceChecker(server.CatalogueServices{Client: cataloguev1.NewCatalogueServiceClient(conn), Timeout: 2 * time.Second, Log: zap.NewNop()}))
	assoc := h.createProvider(t, validProvider())
	unit := h.createProvider(t, gminaUnit())
	inHouse := func(service string) *providerv1.Agreement {
		a := validAgreement(10)
		a.Service, a.LegalBasis, a.EndDate = service, providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT, ""
		return a
	}
	openCall := func(service string) *providerv1.Agreement {
		a := validAgreement(10)
		a.Service = service
		return a
	}

	for _, c := range []struct {
		name          string
		parent        string
		a             *providerv1.Agreement
		code          codes.Code
		field, reason string // empty: created
	}{
		{"an ordinary service, contracted out", assoc.GetName(), openCall(svcOpen), codes.OK, "", ""},
		{"an inactive service (agreements are signed ahead)", assoc.GetName(), openCall(svcInactive), codes.OK, "", ""},
		{"a decyzja service, in-house", unit.GetName(), inHouse(svcDecision), codes.OK, "", ""},
		{"a decyzja service, contracted out", assoc.GetName(), openCall(svcDecision), codes.FailedPrecondition, "agreement.service", "SERVICE_REQUIRES_DECISION"},
		{"a decyzja service, public procurement", assoc.GetName(), func() *providerv1.Agreement {
			a := openCall(svcDecision)
			a.LegalBasis = providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT
			return a
		}(), codes.FailedPrecondition, "agreement.service", "SERVICE_REQUIRES_DECISION"},
		{"a defunct service", unit.GetName(), inHouse(svcDefunct), codes.FailedPrecondition, "agreement.service", "SERVICE_DEFUNCT"},
		{"a service not in the catalogue", assoc.GetName(), openCall("services/0194c050-3022-7053-8000-0000000000ee"), codes.InvalidArgument, "agreement.service", "UNKNOWN_REFERENCE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rev := h.store.Backend().Revision()
			_, err := h.client.CreateAgreement(h.admin(t), &providerv1.CreateAgreementRequest{Parent: c.parent, Agreement: c.a})
			if c.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			code, reason, _, fields := errorInfo(t, err)
			if code != c.code || fields[c.field] != c.reason || len(fields) != 1 {
				t.Fatalf("got %v %s %v, want %v with %s: %s", code, reason, fields, c.code, c.field, c.reason)
			}
			if c.code == codes.FailedPrecondition && reason != c.reason {
				t.Fatalf("reason %s, want %s", reason, c.reason)
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("a refused agreement was written")
			}
		})
	}

	// The in-house agreement on the decyzja service cannot be turned into a contract: a gmina unit delivers
	// in-house only (LegalBasisFits), and no other kind may hold an in-house agreement.
	list, err := h.client.ListAgreements(h.admin(t), &providerv1.ListAgreementsRequest{Parent: unit.GetName()})
	if err != nil || len(list.GetAgreements()) != 1 {
		t.Fatalf("the unit's agreements: %v %v", list, err)
	}
	patch := &providerv1.Agreement{Name: list.GetAgreements()[0].GetName(), LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_PROCUREMENT, EndDate: "2026-12-31"}
	_, err = h.client.UpdateAgreement(h.admin(t), &providerv1.UpdateAgreementRequest{Agreement: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"legal_basis", "end_date"}}})
	if _, _, _, fields := errorInfo(t, err); fields["agreement.legal_basis"] != "NOT_ALLOWED" {
		t.Fatalf("contracting out by update: %v", err)
	}

	// The registry's callers' tokens stay with the registry: the catalogue read is anonymous.
	cat.mu.Lock()
	if cat.withToken != 0 {
		t.Errorf("%d catalogue calls carried a token", cat.withToken)
	}
	cat.mu.Unlock()

	// The catalogue down: UNAVAILABLE, nothing written.
	stopCatalogue()
	rev := h.store.Backend().Revision()
	_, err = h.client.CreateAgreement(h.admin(t), &providerv1.CreateAgreementRequest{Parent: assoc.GetName(), Agreement: openCall(svcOpen)})
	wantErr(t, err, codes.Unavailable, "CATALOGUE_UNAVAILABLE")
	if h.store.Backend().Revision() != rev {
		t.Fatal("wrote with the catalogue down")
	}
}
