package server_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
)

const (
	openProvider   = "providers/0194c050-3022-7053-b000-000000000001"
	closedProvider = "providers/0194c050-3022-7053-b000-000000000002"
	otherProvider  = "providers/0194c050-3022-7053-b000-000000000003"
	nobody         = "providers/0194c050-3022-7053-b000-0000000000ff"
)

type fakeRegistry struct {
	providerv1.UnimplementedProviderServiceServer
}

func (fakeRegistry) GetProvider(_ context.Context, r *providerv1.GetProviderRequest) (*providerv1.Provider, error) {
	switch r.GetName() {
	case openProvider:
		return &providerv1.Provider{Name: r.GetName(), DisplayName: "Stowarzyszenie „Razem”", Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE}, nil
	case otherProvider:
		return &providerv1.Provider{Name: r.GetName(), DisplayName: "Spółdzielnia Socjalna „Smaki Rawicza”", Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE}, nil
	case closedProvider:
		return &providerv1.Provider{Name: r.GetName(), DisplayName: "Fundacja (zamknięta)", Status: providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED}, nil
	}
	return nil, statusNotFound()
}

func TestServicesNameOnlyKnownOpenProviders(t *testing.T) {
	h := start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	providerv1.RegisterProviderServiceServer(g, fakeRegistry{})
	go g.Serve(ln) //nolint:errcheck // ends with Stop
	conn, _ := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	h.srv.SetProviderDirectory(server.RegistryDirectory{Client: providerv1.NewProviderServiceClient(conn)})

	svc := validService()
	svc.Providers = []string{openProvider}
	created := create(t, h, svc)
	if got := created.GetProviderDisplayNames(); len(got) != 1 || got[0] != "Stowarzyszenie „Razem”" {
		t.Fatalf("display names: %v", got)
	}
	for name, providers := range map[string][]string{"unknown": {nobody}, "closed": {openProvider, closedProvider}} {
		s := validService()
		s.Providers = providers
		rev := h.store.Backend().Revision()
		_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: s})
		code, reason, fields := errorInfo(t, err)
		if code != codes.InvalidArgument || reason != "INVALID_FIELDS" || !strings.HasPrefix(strings.Join(fields, ","), "service.providers[") {
			t.Fatalf("%s provider: %v %s %v", name, code, reason, fields)
		}
		if h.store.Backend().Revision() != rev {
			t.Fatalf("%s provider: something was written", name)
		}
	}
	// Changing the providers refreshes the names; changing anything else keeps them.
	upd, err := h.client.UpdateService(ctx(t), &cataloguev1.UpdateServiceRequest{
		Service: &cataloguev1.Service{Name: created.GetName(), Providers: []string{otherProvider, openProvider}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"providers"}},
	})
	if err != nil || len(upd.GetProviderDisplayNames()) != 2 || !strings.Contains(upd.GetProviderDisplayNames()[0], "Smaki") {
		t.Fatalf("after changing providers: %v %v", upd.GetProviderDisplayNames(), err)
	}
	upd, err = h.client.UpdateService(ctx(t), &cataloguev1.UpdateServiceRequest{
		Service: &cataloguev1.Service{Name: created.GetName(), Description: "nowy opis"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil || len(upd.GetProviderDisplayNames()) != 2 {
		t.Fatalf("names lost on an unrelated update: %v %v", upd.GetProviderDisplayNames(), err)
	}
	// The registry down: UNAVAILABLE, and nothing is written.
	g.Stop()
	rev := h.store.Backend().Revision()
	_, err = h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: svc})
	if code, reason, _ := errorInfo(t, err); code != codes.Unavailable || reason != "PROVIDER_REGISTRY_UNAVAILABLE" {
		t.Fatalf("registry down: %v %s", code, reason)
	}
	if h.store.Backend().Revision() != rev {
		t.Fatal("a service was written while the registry could not confirm its providers")
	}
	// Services without providers do not need the registry.
	if _, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: validService()}); err != nil {
		t.Fatalf("service without providers while the registry is down: %v", err)
	}
}

func statusNotFound() error { return grpcStatusError(codes.NotFound, "provider not found") }
