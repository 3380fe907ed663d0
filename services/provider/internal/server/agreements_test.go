package server_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/apierr"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/server"
)

func TestAgreementLifecycle(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	p := h.createProvider(t, validProvider())
	req := &providerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: validAgreement(40), RequestId: "agr-1"}
	a, err := h.client.CreateAgreement(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.GetName(), p.GetName()+"/agreements/") || a.GetStatus() != providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE || a.GetEtag() == "" {
		t.Fatalf("created: %v", a)
	}
	again, err := h.client.CreateAgreement(ctx, req)
	if err != nil || !proto.Equal(again, a) {
		t.Fatalf("repeat with request_id: %v %v", again, err)
	}
	got, err := h.client.GetAgreement(h.as(t, "anonymous"), &providerv1.GetAgreementRequest{Name: a.GetName()})
	if err != nil || !proto.Equal(got, a) {
		t.Fatalf("public get: %v %v", got, err)
	}

	// Reserve 30 of 40, then the capacity may drop to 30 but not to 29, and its unit may not change.
	for i := 0; i < 3; i++ {
		if _, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(i), Units: 10}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(ag *providerv1.Agreement, paths ...string) (*providerv1.Agreement, error) {
		return h.client.UpdateAgreement(ctx, &providerv1.UpdateAgreementRequest{Agreement: ag, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	}
	_, err = update(&providerv1.Agreement{Name: a.GetName(), Capacity: &providerv1.Capacity{Amount: 29}}, "capacity.amount")
	wantErr(t, err, codes.FailedPrecondition, "CAPACITY_BELOW_RESERVED")
	_, err = update(&providerv1.Agreement{Name: a.GetName(), Capacity: &providerv1.Capacity{Amount: 40, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_VISITS,
		Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK}}, "capacity")
	wantErr(t, err, codes.FailedPrecondition, "CAPACITY_IN_USE")
	u, err := update(&providerv1.Agreement{Name: a.GetName(), Etag: a.GetEtag(), Capacity: &providerv1.Capacity{Amount: 30}}, "capacity.amount")
	if err != nil || u.GetCapacity().GetAmount() != 30 || u.GetCapacity().GetUnit() != providerv1.CapacityUnit_CAPACITY_UNIT_HOURS {
		t.Fatalf("capacity to 30: %v %v", u, err)
	}
	_, err = update(&providerv1.Agreement{Name: a.GetName(), Etag: a.GetEtag(), Description: "x"}, "description")
	wantErr(t, err, codes.Aborted, "STALE_ETAG")

	// The service cannot change; the legal basis must suit the provider.
	_, err = update(&providerv1.Agreement{Name: a.GetName(), Service: "services/0194c050-3022-7053-8000-000000000021"}, "service")
	if _, _, _, fields := errorInfo(t, err); fields["agreement.service"] != "IMMUTABLE" {
		t.Fatalf("service change: %v", err)
	}
	if _, err := update(&providerv1.Agreement{Name: a.GetName(), Service: strings.ToUpper(a.GetService()[9:])}, "display_name"); err != nil {
		t.Fatalf("a mask without service ignores it: %v", err)
	}
	_, err = update(&providerv1.Agreement{Name: a.GetName(), LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT}, "legal_basis")
	if _, _, _, fields := errorInfo(t, err); fields["agreement.legal_basis"] != "NOT_ALLOWED" {
		t.Fatalf("in-house for an association: %v", err)
	}

	// Suspending needs a reason; a terminated agreement takes no reservations, keeps the ones held.
	_, err = update(&providerv1.Agreement{Name: a.GetName(), Status: providerv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED}, "status")
	if _, _, _, fields := errorInfo(t, err); fields["agreement.status_reason"] != "REQUIRED" {
		t.Fatalf("termination without reason: %v", err)
	}
	if _, err := update(&providerv1.Agreement{Name: a.GetName(), Status: providerv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED,
		StatusReason: "rozwiązanie za porozumieniem stron"}, "status", "status_reason"); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(99), Units: 1})
	wantErr(t, err, codes.FailedPrecondition, "AGREEMENT_NOT_ACTIVE")

	// Deletes are refused while something depends on them.
	_, err = h.client.DeleteAgreement(ctx, &providerv1.DeleteAgreementRequest{Name: a.GetName()})
	wantErr(t, err, codes.FailedPrecondition, "AGREEMENT_HAS_RESERVATIONS")
	_, err = h.client.DeleteProvider(ctx, &providerv1.DeleteProviderRequest{Name: p.GetName()})
	wantErr(t, err, codes.FailedPrecondition, "PROVIDER_HAS_AGREEMENTS")
	// A kind that no longer suits the agreement's legal basis is refused.
	_, err = h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: p.GetName(), Kind: providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"kind"}},
	})
	if _, _, _, fields := errorInfo(t, err); fields["provider.kind"] != "NOT_ALLOWED" {
		t.Fatalf("kind change against an open-call agreement: %v", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := h.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: a.GetName(), ReferralId: refID(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.client.DeleteAgreement(ctx, &providerv1.DeleteAgreementRequest{Name: a.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.GetAgreement(ctx, &providerv1.GetAgreementRequest{Name: a.GetName()})
	wantErr(t, err, codes.NotFound, "AGREEMENT_NOT_FOUND")
	if _, err := h.client.DeleteProvider(ctx, &providerv1.DeleteProviderRequest{Name: p.GetName()}); err != nil {
		t.Fatal(err)
	}
}

func TestAgreementValidation(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	assoc := h.createProvider(t, validProvider())
	group := validProvider()
	group.Kind, group.Nip, group.Regon, group.Krs = providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, "", "", ""
	informal := h.createProvider(t, group)
	closed := validProvider()
	closed.Status, closed.StatusReason = providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED, "likwidacja"
	closedP := h.createProvider(t, closed)

	mutate := func(f func(a *providerv1.Agreement)) *providerv1.Agreement {
		a := validAgreement(10)
		f(a)
		return a
	}
	cases := []struct {
		name   string
		parent string
		a      *providerv1.Agreement
		code   codes.Code
		field  string
		reason string
	}{
		{"no service", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Service = "" }), codes.InvalidArgument, "agreement.service", "REQUIRED"},
		{"service not a name", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Service = "usługi opiekuńcze" }), codes.InvalidArgument, "agreement.service", "INVALID_FORMAT"},
		{"no legal basis", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.LegalBasis = 0 }), codes.InvalidArgument, "agreement.legal_basis", "REQUIRED"},
		{"no start", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.StartDate = "" }), codes.InvalidArgument, "agreement.start_date", "REQUIRED"},
		{"bad date", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.EndDate = "31.12.2026" }), codes.InvalidArgument, "agreement.end_date", "INVALID_FORMAT"},
		{"end before start", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.EndDate = "2025-12-31" }), codes.InvalidArgument, "agreement.end_date", "INVALID_VALUE"},
		{"open call without end", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.EndDate = "" }), codes.InvalidArgument, "agreement.end_date", "REQUIRED"},
		{"no capacity", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Capacity = nil }), codes.InvalidArgument, "agreement.capacity", "REQUIRED"},
		{"zero capacity", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Capacity.Amount = 0 }), codes.InvalidArgument, "agreement.capacity.amount", "INVALID_VALUE"},
		{"capacity without unit", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Capacity.Unit = 0 }), codes.InvalidArgument, "agreement.capacity.unit", "REQUIRED"},
		{"capacity without period", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Capacity.Period = 0 }), codes.InvalidArgument, "agreement.capacity.period", "REQUIRED"},
		{"no funding", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Funding = nil }), codes.InvalidArgument, "agreement.funding", "REQUIRED"},
		{"EU project without code", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Funding.Source = providerv1.FundingSource_FUNDING_SOURCE_EU_PROJECT }), codes.InvalidArgument, "agreement.funding.project_code", "REQUIRED"},
		{"gmina budget with a project code", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Funding.ProjectCode = "FEWP.06.13" }), codes.InvalidArgument, "agreement.funding.project_code", "NOT_ALLOWED"},
		{"other funding without description", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.Funding.Source = providerv1.FundingSource_FUNDING_SOURCE_OTHER }), codes.InvalidArgument, "agreement.funding.description", "REQUIRED"},
		{"in-house for an association", assoc.GetName(), mutate(func(a *providerv1.Agreement) { a.LegalBasis = providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT }), codes.InvalidArgument, "agreement.legal_basis", "NOT_ALLOWED"},
		{"open call for an informal group", informal.GetName(), validAgreement(10), codes.InvalidArgument, "agreement.legal_basis", "NOT_ALLOWED"},
		{"closed provider", closedP.GetName(), validAgreement(10), codes.FailedPrecondition, "", "PROVIDER_CLOSED"},
		{"unknown provider", "providers/0194c050-0000-7000-8000-000000000000", validAgreement(10), codes.NotFound, "", "PROVIDER_NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rev := h.store.Backend().Revision()
			_, err := h.client.CreateAgreement(ctx, &providerv1.CreateAgreementRequest{Parent: c.parent, Agreement: c.a})
			code, reason, _, fields := errorInfo(t, err)
			if code != c.code {
				t.Fatalf("got %v %s %v, want %v", code, reason, fields, c.code)
			}
			if c.field != "" && (len(fields) != 1 || fields[c.field] != c.reason) {
				t.Fatalf("violations %v, want %s: %s", fields, c.field, c.reason)
			}
			if c.field == "" && reason != c.reason {
				t.Fatalf("reason %s, want %s", reason, c.reason)
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("a refused create wrote something")
			}
		})
	}
	// A volunteer agreement without an end date suits an informal group.
	vol := validAgreement(10)
	vol.LegalBasis, vol.EndDate = providerv1.LegalBasis_LEGAL_BASIS_VOLUNTEER_AGREEMENT, ""
	vol.Funding = &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_OTHER, Description: "praca wolontariuszy"}
	h.createAgreement(t, informal.GetName(), vol)
}

// refusingCatalogue stands in for the catalogue lookup: it knows one service.
type refusingCatalogue struct{ known string }

func (c refusingCatalogue) LookupService(_ context.Context, service string) (*cataloguev1.Service, error) {
	switch {
	case service == "services/0194c050-3022-7053-8000-0000000000ff":
		return nil, apierr.ErrUnavailable
	case service != c.known:
		return nil, apierr.New(apierr.KindNotFound, "SERVICE_NOT_FOUND", "no such service in the catalogue")
	}
	return &cataloguev1.Service{Name: service}, nil
}

func TestAgreementServiceIsCheckedWhenACheckerIsConfigured(t *testing.T) {
	known := "services/0194c050-3022-7053-8000-000000000020"
	h := start(t, server.WithServiceChecker(refusingCatalogue{known: known}))
	p := h.createProvider(t, validProvider())
	h.createAgreement(t, p.GetName(), validAgreement(5))
	a := validAgreement(5)
	a.Service = "services/0194c050-3022-7053-8000-000000000099"
	_, err := h.client.CreateAgreement(h.admin(t), &providerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: a})
	if _, _, _, fields := errorInfo(t, err); fields["agreement.service"] != "UNKNOWN_REFERENCE" {
		t.Fatalf("unknown service: %v", err)
	}
	a.Service = "services/0194c050-3022-7053-8000-0000000000ff"
	rev := h.store.Backend().Revision()
	_, err = h.client.CreateAgreement(h.admin(t), &providerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: a})
	wantErr(t, err, codes.Unavailable, "UNAVAILABLE")
	if h.store.Backend().Revision() != rev {
		t.Fatal("wrote with the catalogue down")
	}
}

func TestListAgreementsAndChanges(t *testing.T) {
	h := start(t)
	ctx := h.as(t, "anonymous")
	p1, _ := h.providerWithAgreement(t, 10)
	p2 := h.createProvider(t, validProvider())
	late := validAgreement(5)
	late.StartDate, late.EndDate = "2027-01-01", "2027-12-31"
	late.Service = "services/0194c050-3022-7053-8000-000000000021"
	h.createAgreement(t, p2.GetName(), late)
	h.createAgreement(t, p2.GetName(), validAgreement(7))

	all, err := h.client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-"})
	if err != nil || all.GetTotalSize() != 3 {
		t.Fatalf("all: %v %v", all, err)
	}
	if all.GetAgreements()[2].GetStartDate() != "2027-01-01" {
		t.Fatal("default order is start_date")
	}
	mine, err := h.client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: p1.GetName()})
	if err != nil || mine.GetTotalSize() != 1 {
		t.Fatalf("one provider: %v %v", mine, err)
	}
	for filter, want := range map[string]int32{
		`service = "services/0194c050-3022-7053-8000-000000000021"`: 1,
		`active_on = "2026-06-15"`:                                  2,
		`end_date >= 2027-01-01`:                                    1,
		`status = AGREEMENT_STATUS_ACTIVE AND legal_basis != LEGAL_BASIS_PUBLIC_PROCUREMENT`: 3,
		`funding_source = FUNDING_SOURCE_EU_PROJECT`:                                         0,
	} {
		res, err := h.client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-", Filter: filter})
		if err != nil || res.GetTotalSize() != want {
			t.Fatalf("filter %s: %d, %v (want %d)", filter, res.GetTotalSize(), err, want)
		}
	}
	_, err = h.client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/0194c050-0000-7000-8000-000000000000"})
	wantErr(t, err, codes.NotFound, "PROVIDER_NOT_FOUND")

	// The change feed has every provider and agreement write, in order, and pages by revision.
	admin := h.admin(t)
	feed, err := h.client.ListChanges(admin, &providerv1.ListChangesRequest{PageSize: 2})
	if err != nil || len(feed.GetChanges()) != 2 || !feed.GetHasMore() || feed.GetChanges()[0].GetProvider().GetName() != p1.GetName() {
		t.Fatalf("feed: %v %v", feed, err)
	}
	rest, err := h.client.ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: feed.GetNextAfterRevision()})
	if err != nil || len(rest.GetChanges()) != 3 || rest.GetHasMore() || rest.GetLatestRevision() != 5 {
		t.Fatalf("rest of feed: %v %v", rest, err)
	}
	_, err = h.client.ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: 99})
	wantErr(t, err, codes.OutOfRange, "REVISION_IN_FUTURE")
	// After compaction (the retention window), a cursor below the point is told to resync; one at it goes on.
	if _, err := h.store.Backend().CompactChanges(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: 2})
	wantErr(t, err, codes.OutOfRange, "CHANGES_COMPACTED")
	if rest, err := h.client.ListChanges(admin, &providerv1.ListChangesRequest{AfterRevision: 3}); err != nil || len(rest.GetChanges()) != 2 {
		t.Fatalf("feed after the compaction point: %v %v", rest, err)
	}
}
