package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// startSecured runs the catalogue with the production interceptor chain: dev-key tokens and the Policy.
func startSecured(t *testing.T) (cataloguev1.CatalogueServiceClient, func(auth.TokenRequest) string, *observer.ObservedLogs) {
	t.Helper()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	st, err := store.Open(filepath.Join(dir, "catalogue.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, rawicz, log)
	flags := grpcserver.SecurityFlags{DevKeysDir: filepath.Join(dir, "dev"), ClockSkew: 30 * time.Second}
	sec, err := flags.Build(server.Policy)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, Auth: sec.Auth, Limits: sec.Limits}, log)
	cataloguev1.RegisterCatalogueServiceServer(gs.GRPC(), srv)
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
	t.Cleanup(func() { conn.Close(); cancel(); <-done; st.Close() })
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
	return cataloguev1.NewCatalogueServiceClient(conn), mint, logs
}

// expected is written out by hand, independently of server.Policy, so a change to the policy that is not
// also a decision shows up here.
var expected = map[string]map[auth.Role]bool{}

func init() {
	all := auth.Roles
	allow := func(method string, roles ...auth.Role) {
		expected[method] = map[auth.Role]bool{}
		for _, r := range all {
			expected[method][r] = false
		}
		for _, r := range roles {
			expected[method][r] = true
		}
	}
	for _, m := range []string{"GetService", "ListServices", "SearchServices", "GetProgramme", "ListProgrammes", "ListAreas", "ListTargetGroups", "ExportServices"} {
		allow(m, all...)
	}
	for _, m := range []string{"CreateService", "UpdateService", "DeleteService", "CreateProgramme", "UpdateProgramme", "DeleteProgramme", "ImportServices"} {
		allow(m, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration)
	}
	for _, m := range []string{"ListChanges", "WatchChanges"} {
		allow(m, auth.RolePeer, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration)
	}
	allow("ListPeers", auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin)
}

func TestEveryRPCWithEveryRole(t *testing.T) {
	client, mint, logs := startSecured(t)
	// Every method of the service is in the expectations, and nothing else.
	methods := cataloguev1.CatalogueService_ServiceDesc.Methods
	streams := cataloguev1.CatalogueService_ServiceDesc.Streams
	if len(expected) != len(methods)+len(streams) {
		t.Fatalf("expectations cover %d methods, the service has %d", len(expected), len(methods)+len(streams))
	}
	tokens := map[auth.Role]string{}
	for _, r := range auth.Roles {
		switch r {
		case auth.RoleAnonymous:
		case auth.RoleProvider:
			tokens[r] = mint(auth.TokenRequest{Subject: "p1", Roles: []auth.Role{r}, ProviderID: "0194c050-0000-7000-8000-0000000000aa"})
		case auth.RolePeer:
			tokens[r] = mint(auth.TokenRequest{Subject: "jarocin", Roles: []auth.Role{r}, TERC: "3006023"})
		default:
			tokens[r] = mint(auth.TokenRequest{Subject: "u-" + string(r), Roles: []auth.Role{r}})
		}
	}
	calls := map[string]func(ctx context.Context) error{
		"GetService": func(ctx context.Context) error {
			_, err := client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: "services/0194c050-0000-7000-8000-000000000000"})
			return err
		},
		"ListServices": func(ctx context.Context) error {
			_, err := client.ListServices(ctx, &cataloguev1.ListServicesRequest{})
			return err
		},
		"SearchServices": func(ctx context.Context) error {
			_, err := client.SearchServices(ctx, &cataloguev1.SearchServicesRequest{Query: "klub"})
			return err
		},
		"GetProgramme": func(ctx context.Context) error {
			_, err := client.GetProgramme(ctx, &cataloguev1.GetProgrammeRequest{Name: "programmes/0194c050-0000-7000-8000-000000000000"})
			return err
		},
		"ListProgrammes": func(ctx context.Context) error {
			_, err := client.ListProgrammes(ctx, &cataloguev1.ListProgrammesRequest{})
			return err
		},
		"ListAreas": func(ctx context.Context) error {
			_, err := client.ListAreas(ctx, &cataloguev1.ListAreasRequest{})
			return err
		},
		"ListTargetGroups": func(ctx context.Context) error {
			_, err := client.ListTargetGroups(ctx, &cataloguev1.ListTargetGroupsRequest{})
			return err
		},
		"CreateService": func(ctx context.Context) error {
			_, err := client.CreateService(ctx, &cataloguev1.CreateServiceRequest{Service: validService()})
			return err
		},
		"UpdateService": func(ctx context.Context) error {
			_, err := client.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{
				Service:    &cataloguev1.Service{Name: "services/0194c050-0000-7000-8000-000000000000"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
			})
			return err
		},
		"DeleteService": func(ctx context.Context) error {
			_, err := client.DeleteService(ctx, &cataloguev1.DeleteServiceRequest{Name: "services/0194c050-0000-7000-8000-000000000000"})
			return err
		},
		"CreateProgramme": func(ctx context.Context) error {
			_, err := client.CreateProgramme(ctx, &cataloguev1.CreateProgrammeRequest{Programme: &cataloguev1.Programme{DisplayName: "PUS"}})
			return err
		},
		"UpdateProgramme": func(ctx context.Context) error {
			_, err := client.UpdateProgramme(ctx, &cataloguev1.UpdateProgrammeRequest{
				Programme:  &cataloguev1.Programme{Name: "programmes/0194c050-0000-7000-8000-000000000000"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
			})
			return err
		},
		"DeleteProgramme": func(ctx context.Context) error {
			_, err := client.DeleteProgramme(ctx, &cataloguev1.DeleteProgrammeRequest{Name: "programmes/0194c050-0000-7000-8000-000000000000"})
			return err
		},
		"ExportServices": func(ctx context.Context) error {
			_, err := client.ExportServices(ctx, &cataloguev1.ExportServicesRequest{Format: "csv"})
			return err
		},
		"ImportServices": func(ctx context.Context) error {
			_, err := client.ImportServices(ctx, &cataloguev1.ImportServicesRequest{Content: []byte("Nazwa usługi;Obszar\nKlub;kultura\n"), DryRun: true})
			return err
		},
		"ListPeers": func(ctx context.Context) error {
			_, err := client.ListPeers(ctx, &cataloguev1.ListPeersRequest{})
			return err
		},
		"ListChanges": func(ctx context.Context) error {
			_, err := client.ListChanges(ctx, &cataloguev1.ListChangesRequest{})
			return err
		},
		"WatchChanges": func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			s, err := client.WatchChanges(ctx, &cataloguev1.WatchChangesRequest{})
			if err != nil {
				return err
			}
			for {
				if _, err := s.Recv(); err != nil {
					if status.Code(err) == codes.DeadlineExceeded {
						return nil // admitted: the stream was open until our deadline
					}
					return err
				}
			}
		},
	}
	allowed, denied := 0, 0
	for method, byRole := range expected {
		call, ok := calls[method]
		if !ok {
			t.Fatalf("no call for %s", method)
		}
		for _, role := range auth.Roles {
			ctx := context.Background()
			if tok := tokens[role]; tok != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
			}
			err := call(ctx)
			code := status.Code(err)
			refused := code == codes.PermissionDenied || code == codes.Unauthenticated
			if byRole[role] {
				allowed++
				if refused {
					t.Errorf("%s as %s: refused (%v), want allowed", method, role, err)
				}
			} else {
				denied++
				want := codes.PermissionDenied
				if role == auth.RoleAnonymous {
					want = codes.Unauthenticated
				}
				if code != want {
					t.Errorf("%s as %s: %v, want %v", method, role, err, want)
				}
			}
		}
	}
	t.Logf("RPC x role matrix: %d calls, %d allowed, %d denied", allowed+denied, allowed, denied)
	for _, e := range logs.All() {
		for _, tok := range tokens {
			if strings.Contains(e.Message, tok) || strings.Contains(toString(e.ContextMap()), tok) {
				t.Fatal("a bearer token reached the logs")
			}
		}
	}
}

func toString(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString("=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(" ")
	}
	return b.String()
}

func TestBadTokensAreUnauthenticatedOverGRPC(t *testing.T) {
	client, mint, _ := startSecured(t)
	expired := mint(auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}, TTL: -time.Hour})
	other, _ := auth.EnsureDevKey(t.TempDir())
	foreign, _ := auth.Mint(other, auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}})
	for name, header := range map[string]string{
		"expired":        "Bearer " + expired,
		"foreign key":    "Bearer " + foreign,
		"garbage":        "Bearer garbage",
		"basic auth":     "Basic dXNlcjpwYXNz",
		"empty bearer":   "Bearer ",
		"wrong audience": "Bearer " + mint(auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}, Audience: "other"}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", header)
			// Even a public method refuses a bad token: presenting credentials that fail is an error, not anonymity.
			_, err := client.ListAreas(ctx, &cataloguev1.ListAreasRequest{})
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestAuthorizationDocMatchesPolicy(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "docs", "authorization.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := server.Policy.Markdown()
	if !strings.Contains(string(b), want) {
		if os.Getenv("UPDATE_DOCS") == "1" {
			t.Logf("paste into docs/authorization.md:\n%s", want)
		}
		t.Fatalf("docs/authorization.md does not contain the catalogue's table; it must read:\n%s", want)
	}
}
