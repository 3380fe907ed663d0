package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/server"
)

// expected is written out by hand, independently of server.Policy, so a change to the policy that is not also
// a decision shows up here.
var expected = map[string]map[auth.Role]bool{}

func init() {
	allow := func(method string, roles ...auth.Role) {
		expected[method] = map[auth.Role]bool{}
		for _, r := range auth.Roles {
			expected[method][r] = false
		}
		for _, r := range roles {
			expected[method][r] = true
		}
	}
	for _, m := range []string{"GetProvider", "ListProviders", "GetAgreement", "ListAgreements", "ExportProviders", "ExportAgreements"} {
		allow(m, auth.Roles...)
	}
	for _, m := range []string{"CreateProvider", "DeleteProvider", "ImportProviders", "CreateAgreement", "UpdateAgreement", "DeleteAgreement", "ListChanges"} {
		allow(m, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration)
	}
	allow("UpdateProvider", auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider)
	allow("ReserveCapacity", auth.RoleCoordinator, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider)
	allow("ReleaseCapacity", auth.RoleCoordinator, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider)
	allow("ListReservations", auth.RoleCoordinator, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider)
	for _, m := range []string{"GetAvailability", "ListAvailability"} {
		allow(m, auth.RoleCoordinator, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider)
	}
}

func TestEveryRPCWithEveryRole(t *testing.T) {
	h := start(t)
	methods := providerv1.ProviderService_ServiceDesc.Methods
	if len(expected) != len(methods)+len(providerv1.ProviderService_ServiceDesc.Streams) {
		t.Fatalf("expectations cover %d methods, the service has %d", len(expected), len(methods))
	}
	// Provider staff are bound to the provider the calls name, so only the policy can refuse them.
	const pid = "0194c050-0000-7000-8000-0000000000aa"
	prov := "providers/" + pid
	agr := prov + "/agreements/0194c050-0000-7000-8000-0000000000bb"
	c := h.client
	calls := map[string]func(ctx context.Context) error{
		"GetProvider": func(ctx context.Context) error {
			_, err := c.GetProvider(ctx, &providerv1.GetProviderRequest{Name: prov})
			return err
		},
		"ListProviders": func(ctx context.Context) error {
			_, err := c.ListProviders(ctx, &providerv1.ListProvidersRequest{})
			return err
		},
		"CreateProvider": func(ctx context.Context) error {
			_, err := c.CreateProvider(ctx, &providerv1.CreateProviderRequest{Provider: validProvider()})
			return err
		},
		"UpdateProvider": func(ctx context.Context) error {
			_, err := c.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{Provider: &providerv1.Provider{Name: prov, Email: "a@b.example"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}})
			return err
		},
		"DeleteProvider": func(ctx context.Context) error {
			_, err := c.DeleteProvider(ctx, &providerv1.DeleteProviderRequest{Name: prov})
			return err
		},
		"ImportProviders": func(ctx context.Context) error {
			_, err := c.ImportProviders(ctx, &providerv1.ImportProvidersRequest{Source: &providerv1.ImportProvidersRequest_Csv{Csv: "nazwa;forma_prawna\nGrupa;grupa nieformalna\n"}, DryRun: true})
			return err
		},
		"GetAgreement": func(ctx context.Context) error {
			_, err := c.GetAgreement(ctx, &providerv1.GetAgreementRequest{Name: agr})
			return err
		},
		"ListAgreements": func(ctx context.Context) error {
			_, err := c.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-"})
			return err
		},
		"ExportProviders": func(ctx context.Context) error {
			_, err := c.ExportProviders(ctx, &providerv1.ExportProvidersRequest{Format: "csv"})
			return err
		},
		"ExportAgreements": func(ctx context.Context) error {
			_, err := c.ExportAgreements(ctx, &providerv1.ExportAgreementsRequest{})
			return err
		},
		"CreateAgreement": func(ctx context.Context) error {
			_, err := c.CreateAgreement(ctx, &providerv1.CreateAgreementRequest{Parent: prov, Agreement: validAgreement(5)})
			return err
		},
		"UpdateAgreement": func(ctx context.Context) error {
			_, err := c.UpdateAgreement(ctx, &providerv1.UpdateAgreementRequest{Agreement: &providerv1.Agreement{Name: agr},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
			return err
		},
		"DeleteAgreement": func(ctx context.Context) error {
			_, err := c.DeleteAgreement(ctx, &providerv1.DeleteAgreementRequest{Name: agr})
			return err
		},
		"ReserveCapacity": func(ctx context.Context) error {
			_, err := c.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: agr, ReferralId: refID(1), Units: 1})
			return err
		},
		"ReleaseCapacity": func(ctx context.Context) error {
			_, err := c.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: agr, ReferralId: refID(1)})
			return err
		},
		"GetAvailability": func(ctx context.Context) error {
			_, err := c.GetAvailability(ctx, &providerv1.GetAvailabilityRequest{Name: agr + "/availability"})
			return err
		},
		"ListAvailability": func(ctx context.Context) error {
			_, err := c.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-"})
			return err
		},
		"ListReservations": func(ctx context.Context) error {
			_, err := c.ListReservations(ctx, &providerv1.ListReservationsRequest{Parent: "providers/-/agreements/-"})
			return err
		},
		"ListChanges": func(ctx context.Context) error {
			_, err := c.ListChanges(ctx, &providerv1.ListChangesRequest{})
			return err
		},
	}
	allowed, denied := 0, 0
	for method, byRole := range expected {
		call, ok := calls[method]
		if !ok {
			t.Fatalf("no call for %s", method)
		}
		for _, role := range auth.Roles {
			err := call(h.as(t, role, pid))
			code := status.Code(err)
			if byRole[role] {
				allowed++
				if code == codes.PermissionDenied || code == codes.Unauthenticated {
					t.Errorf("%s as %s: refused (%v), want allowed", method, role, err)
				}
				continue
			}
			denied++
			want, reason := codes.PermissionDenied, "ROLE_NOT_ALLOWED"
			if role == auth.RoleAnonymous {
				want, reason = codes.Unauthenticated, "AUTHENTICATION_REQUIRED"
			}
			if code != want {
				t.Errorf("%s as %s: %v, want %v", method, role, err, want)
			} else if _, r, _, _ := errorInfo(t, err); r != reason {
				t.Errorf("%s as %s: reason %s, want %s", method, role, r, reason)
			}
		}
	}
	t.Logf("RPC x role matrix: %d calls, %d allowed, %d denied", allowed+denied, allowed, denied)
	for _, e := range h.logs.All() {
		for _, tok := range h.tokens {
			if strings.Contains(e.Message, tok) || strings.Contains(toString(e.ContextMap()), tok) {
				t.Fatal("a bearer token reached the logs")
			}
		}
	}
}

func toString(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(" ")
	}
	return b.String()
}

// TestProviderStaffSeeAndChangeOnlyTheirOwn: provider B's staff cannot read, release or change anything of
// provider A's that is not public, by any path; what they may not see answers exactly like what does not exist.
func TestProviderStaffSeeAndChangeOnlyTheirOwn(t *testing.T) {
	h := start(t)
	admin := h.admin(t)
	coord := h.as(t, auth.RoleCoordinator)
	pa, aa := h.providerWithAgreement(t, 10)
	pb, ab := h.providerWithAgreement(t, 10)
	idB := strings.TrimPrefix(pb.GetName(), "providers/")
	for _, a := range []*providerv1.Agreement{aa, ab} {
		if _, err := h.client.ReserveCapacity(coord, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(7), Units: 3}); err != nil {
			t.Fatal(err)
		}
	}
	asB := h.as(t, auth.RoleProvider, idB)
	ghost := pa.GetName() + "/agreements/0194c050-0000-7000-8000-000000000000"
	same := func(what string, hidden, missing error) {
		t.Helper()
		hs, ms := status.Convert(hidden), status.Convert(missing)
		if hs.Code() != codes.NotFound || hs.Code() != ms.Code() || hs.Message() != ms.Message() {
			t.Fatalf("%s: hidden %v, missing %v; want the same NOT_FOUND", what, hidden, missing)
		}
		_, hr, _, _ := errorInfo(t, hidden)
		_, mr, _, _ := errorInfo(t, missing)
		if hr != mr {
			t.Fatalf("%s: reasons %s and %s differ", what, hr, mr)
		}
	}

	// Availability of A's agreement.
	_, errHidden := h.client.GetAvailability(asB, &providerv1.GetAvailabilityRequest{Name: aa.GetName() + "/availability"})
	_, errMissing := h.client.GetAvailability(asB, &providerv1.GetAvailabilityRequest{Name: ghost + "/availability"})
	same("GetAvailability", errHidden, errMissing)
	// Reservations of A's agreement, of all A's agreements.
	_, errHidden = h.client.ListReservations(asB, &providerv1.ListReservationsRequest{Parent: aa.GetName()})
	_, errMissing = h.client.ListReservations(asB, &providerv1.ListReservationsRequest{Parent: ghost})
	same("ListReservations", errHidden, errMissing)
	_, errHidden = h.client.ListReservations(asB, &providerv1.ListReservationsRequest{Parent: pa.GetName() + "/agreements/-"})
	_, errMissing = h.client.ListReservations(asB, &providerv1.ListReservationsRequest{Parent: "providers/0194c050-0000-7000-8000-000000000000/agreements/-"})
	same("ListReservations of a provider", errHidden, errMissing)
	// Reserving on A's agreement.
	_, errHidden = h.client.ReserveCapacity(asB, &providerv1.ReserveCapacityRequest{Name: aa.GetName(), ReferralId: refID(8), Units: 1})
	_, errMissing = h.client.ReserveCapacity(asB, &providerv1.ReserveCapacityRequest{Name: ghost, ReferralId: refID(8), Units: 1})
	same("ReserveCapacity", errHidden, errMissing)
	// Releasing A's reservation.
	_, errHidden = h.client.ReleaseCapacity(asB, &providerv1.ReleaseCapacityRequest{Name: aa.GetName(), ReferralId: refID(7)})
	_, errMissing = h.client.ReleaseCapacity(asB, &providerv1.ReleaseCapacityRequest{Name: ghost, ReferralId: refID(7)})
	same("ReleaseCapacity", errHidden, errMissing)
	if av := availabilityOf(t, h, aa.GetName()); av.GetReserved() != 3 {
		t.Fatalf("B released A's units: %v", av)
	}
	// Availability of A by parent.
	_, errHidden = h.client.ListAvailability(asB, &providerv1.ListAvailabilityRequest{Parent: pa.GetName()})
	_, errMissing = h.client.ListAvailability(asB, &providerv1.ListAvailabilityRequest{Parent: "providers/0194c050-0000-7000-8000-000000000000"})
	same("ListAvailability of a provider", errHidden, errMissing)

	// The wildcards show B only its own, with or without a service filter.
	av, err := h.client.ListAvailability(asB, &providerv1.ListAvailabilityRequest{Parent: "providers/-", Service: aa.GetService()})
	if err != nil || av.GetTotalSize() != 1 || av.GetAvailabilities()[0].GetProvider() != pb.GetName() {
		t.Fatalf("B's availability list: %v %v", av, err)
	}
	rs, err := h.client.ListReservations(asB, &providerv1.ListReservationsRequest{Parent: "providers/-/agreements/-"})
	if err != nil || rs.GetTotalSize() != 1 || !strings.HasPrefix(rs.GetReservations()[0].GetName(), ab.GetName()+"/") {
		t.Fatalf("B's reservation list: %v %v", rs, err)
	}
	// The public records stay public.
	if _, err := h.client.GetAgreement(asB, &providerv1.GetAgreementRequest{Name: aa.GetName()}); err != nil {
		t.Fatal(err)
	}

	// Updating A's record is refused; nothing changes.
	_, err = h.client.UpdateProvider(asB, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: pa.GetName(), Email: "przejete@b.example"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}},
	})
	wantErr(t, err, codes.PermissionDenied, "NOT_OWN_PROVIDER")
	if got, _ := h.client.GetProvider(admin, &providerv1.GetProviderRequest{Name: pa.GetName()}); got.GetEmail() != pa.GetEmail() || got.GetEtag() != pa.GetEtag() {
		t.Fatal("B changed A")
	}

	// B's own record: contact fields yes, status and identifiers no (one violation per field).
	_, err = h.client.UpdateProvider(asB, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: pb.GetName(), Status: providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED, Nip: nextNIP(), Email: "x@b.example"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status", "nip", "email"}},
	})
	code, reason, _, fields := errorInfo(t, err)
	if code != codes.PermissionDenied || reason != "FIELD_NOT_WRITABLE" || len(fields) != 2 ||
		fields["provider.status"] != "NOT_WRITABLE_BY_PROVIDER" || fields["provider.nip"] != "NOT_WRITABLE_BY_PROVIDER" {
		t.Fatalf("forbidden fields: %v %s %v", code, reason, fields)
	}
	upd, err := h.client.UpdateProvider(asB, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: pb.GetName(), Email: "nowy@b.example",
			Accreditations: []*providerv1.Accreditation{{Name: "Standard usług opiekuńczych", Issuer: "Wojewoda Wielkopolski", ValidFrom: "2026-01-01"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "accreditations"}},
	})
	if err != nil || upd.GetEmail() != "nowy@b.example" || len(upd.GetAccreditations()) != 1 || upd.GetStatus() != pb.GetStatus() {
		t.Fatalf("own contact update: %v %v", upd, err)
	}
	// Without a mask (the whole record sent back), changing a field staff may not change is refused,
	// and sending the record back with only contact changes is fine.
	whole, _ := h.client.GetProvider(asB, &providerv1.GetProviderRequest{Name: pb.GetName()})
	whole.DisplayName = "Nowa nazwa"
	_, err = h.client.UpdateProvider(asB, &providerv1.UpdateProviderRequest{Provider: whole})
	if _, reason, _, fields := errorInfo(t, err); reason != "FIELD_NOT_WRITABLE" || len(fields) != 1 || fields["provider.display_name"] == "" {
		t.Fatalf("no-mask change of display_name: %v %v", reason, fields)
	}
	whole, _ = h.client.GetProvider(asB, &providerv1.GetProviderRequest{Name: pb.GetName()})
	whole.Website = "https://nowa-strona.example"
	if _, err := h.client.UpdateProvider(asB, &providerv1.UpdateProviderRequest{Provider: whole}); err != nil {
		t.Fatalf("no-mask change of the website: %v", err)
	}

	// Their own capacity: visible, reservable (an accepted referral) and releasable (a rejected one).
	if _, err := h.client.ReserveCapacity(asB, &providerv1.ReserveCapacityRequest{Name: ab.GetName(), ReferralId: refID(8), Units: 1}); err != nil {
		t.Fatalf("B reserves on its own: %v", err)
	}
	if _, err := h.client.GetAvailability(asB, &providerv1.GetAvailabilityRequest{Name: ab.GetName() + "/availability"}); err != nil {
		t.Fatal(err)
	}
	rel, err := h.client.ReleaseCapacity(asB, &providerv1.ReleaseCapacityRequest{Name: ab.GetName(), ReferralId: refID(7)})
	if err != nil || !rel.GetReleased() {
		t.Fatalf("B releases its own: %v %v", rel, err)
	}

}

func TestBadTokensAreUnauthenticated(t *testing.T) {
	h := start(t)
	expired := h.mint(auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}, TTL: -time.Hour})
	other, _ := auth.EnsureDevKey(t.TempDir())
	foreign, _ := auth.Mint(other, auth.TokenRequest{Subject: "x", Roles: []auth.Role{auth.RoleAdmin}})
	for name, header := range map[string]string{
		"expired":     "Bearer " + expired,
		"foreign key": "Bearer " + foreign,
		"garbage":     "Bearer garbage",
		"basic auth":  "Basic dXNlcjpwYXNz",
	} {
		t.Run(name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", header)
			// Even a public method refuses a bad token: failed credentials are an error, not anonymity.
			_, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{})
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
		t.Fatalf("docs/authorization.md does not contain the provider registry's table; it must read:\n%s", want)
	}
}
