package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/app"
)

func TestServiceLifecycle(t *testing.T) {
	h := start(t)
	c := ctx(t)
	created := create(t, h, validService())
	if !strings.HasPrefix(created.GetName(), "services/") || created.GetEtag() == "" || created.GetCreateTime() == nil {
		t.Fatalf("server fields not set: %v", created)
	}
	if created.GetOriginTerc() != rawicz || created.GetStatus() != cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE {
		t.Fatalf("defaults not applied: origin %q status %v", created.GetOriginTerc(), created.GetStatus())
	}
	if created.GetLocations()[0].GetId() == "" || created.GetFee().GetCurrency() != "PLN" {
		t.Fatal("location id or currency default missing")
	}
	got, err := h.client.GetService(c, &cataloguev1.GetServiceRequest{Name: created.GetName()})
	if err != nil || !proto.Equal(got, created) {
		t.Fatalf("get = %v, %v", got, err)
	}

	// Update one field under the current etag.
	patch := &cataloguev1.Service{Name: created.GetName(), DisplayName: "Klub Seniora „Nad Stawem”", Etag: created.GetEtag()}
	updated, err := h.client.UpdateService(c, &cataloguev1.UpdateServiceRequest{Service: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetDisplayName() != patch.GetDisplayName() || updated.GetDescription() != created.GetDescription() || updated.GetEtag() == created.GetEtag() {
		t.Fatalf("masked update wrong: %v", updated)
	}
	if !updated.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
		t.Fatal("create_time changed on update")
	}

	// The old etag is stale now: ABORTED, and nothing changes.
	rev := h.store.Backend().Revision()
	_, err = h.client.UpdateService(c, &cataloguev1.UpdateServiceRequest{Service: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
	if code, reason, _ := errorInfo(t, err); code != codes.Aborted || reason != "STALE_ETAG" {
		t.Fatalf("stale etag: %v %v", code, reason)
	}
	if h.store.Backend().Revision() != rev {
		t.Fatal("a refused update wrote something")
	}
	_, err = h.client.DeleteService(c, &cataloguev1.DeleteServiceRequest{Name: created.GetName(), Etag: created.GetEtag()})
	if code, _, _ := errorInfo(t, err); code != codes.Aborted {
		t.Fatalf("delete with stale etag: %v", err)
	}
	if _, err := h.client.DeleteService(c, &cataloguev1.DeleteServiceRequest{Name: created.GetName(), Etag: updated.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.GetService(c, &cataloguev1.GetServiceRequest{Name: created.GetName()})
	if code, reason, _ := errorInfo(t, err); code != codes.NotFound || reason != "SERVICE_NOT_FOUND" {
		t.Fatalf("after delete: %v %v", code, reason)
	}
	res, err := h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{Query: "klub seniora"})
	if err != nil || res.GetTotalSize() != 0 {
		t.Fatalf("deleted service still found: %v %v", res, err)
	}
}

func TestUpdateWithoutMaskReplacesWritableFields(t *testing.T) {
	h := start(t)
	created := create(t, h, validService())
	repl := validService()
	repl.Name = created.GetName()
	repl.Description = ""
	repl.OriginTerc = "1209033" // output only: ignored
	out, err := h.client.UpdateService(ctx(t), &cataloguev1.UpdateServiceRequest{Service: repl})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetDescription() != "" || out.GetOriginTerc() != rawicz {
		t.Fatalf("full update: description %q origin %q", out.GetDescription(), out.GetOriginTerc())
	}
}

func TestBadInputIsRefusedPreciselyAndChangesNothing(t *testing.T) {
	h := start(t)
	existing := create(t, h, validService())
	mutate := func(f func(s *cataloguev1.Service)) *cataloguev1.Service {
		s := validService()
		f(s)
		return s
	}
	long := strings.Repeat("ż", 201)
	cases := []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
		field  string
	}{
		{"missing service", func() error {
			_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "service"},
		{"missing display name", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.DisplayName = "  " })), codes.InvalidArgument, "INVALID_FIELDS", "service.display_name"},
		{"display name too long", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.DisplayName = long })), codes.InvalidArgument, "INVALID_FIELDS", "service.display_name"},
		{"no area", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Areas = nil })), codes.InvalidArgument, "INVALID_FIELDS", "service.areas"},
		{"unknown area value", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Areas = []cataloguev1.Area{99} })), codes.InvalidArgument, "INVALID_FIELDS", "service.areas[0]"},
		{"unknown target group", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.TargetGroups = []cataloguev1.TargetGroup{42} })), codes.InvalidArgument, "INVALID_FIELDS", "service.target_groups[0]"},
		{"unknown status", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Status = 17 })), codes.InvalidArgument, "INVALID_FIELDS", "service.status"},
		{"bad TERC", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Locations[0].TerytCode = "3022059" })), codes.InvalidArgument, "INVALID_FIELDS", "service.locations[0].teryt_code"},
		{"bad postal code", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Locations[0].Address.PostalCode = "63900" })), codes.InvalidArgument, "INVALID_FIELDS", "service.locations[0].address.postal_code"},
		{"bad latitude", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Locations[0].Coordinates.Latitude = 91 })), codes.InvalidArgument, "INVALID_FIELDS", "service.locations[0].coordinates.latitude"},
		{"closing before opening", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Locations[0].OpeningHours[0].ClosesAt = "09:00" })), codes.InvalidArgument, "INVALID_FIELDS", "service.locations[0].opening_hours[0].closes_at"},
		{"bad clock", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Locations[0].OpeningHours[0].OpensAt = "25:00" })), codes.InvalidArgument, "INVALID_FIELDS", "service.locations[0].opening_hours[0].opens_at"},
		{"bad email", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Email = "Klub <klub@x.pl>" })), codes.InvalidArgument, "INVALID_FIELDS", "service.email"},
		{"bad url", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Url = "javascript:alert(1)" })), codes.InvalidArgument, "INVALID_FIELDS", "service.url"},
		{"ages crossed", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.MaximumAge = i32(18) })), codes.InvalidArgument, "INVALID_FIELDS", "service.maximum_age"},
		{"fee bands not from 0", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Fee.IncomeBands[0].FromPercent = 10 })), codes.InvalidArgument, "INVALID_FIELDS", "service.fee.income_bands[0].from_percent"},
		{"fee bands gap", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Fee.IncomeBands[1].FromPercent = 160 })), codes.InvalidArgument, "INVALID_FIELDS", "service.fee.income_bands[1].from_percent"},
		{"fee payable above 100", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Fee.IncomeBands[1].PayablePercent = 120 })), codes.InvalidArgument, "INVALID_FIELDS", "service.fee.income_bands[1].payable_percent"},
		{"fee without unit", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Fee.Unit = 0 })), codes.InvalidArgument, "INVALID_FIELDS", "service.fee.unit"},
		{"fee in euro", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Fee.Currency = "EUR" })), codes.InvalidArgument, "INVALID_FIELDS", "service.fee.currency"},
		{"bad provider name", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Providers = []string{"provider/1"} })), codes.InvalidArgument, "INVALID_FIELDS", "service.providers[0]"},
		{"bad phone", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Phones[0].Number = "call me" })), codes.InvalidArgument, "INVALID_FIELDS", "service.phones[0].number"},
		{"bad language", createWith(h, t, mutate(func(s *cataloguev1.Service) { s.Languages = []string{"Polish"} })), codes.InvalidArgument, "INVALID_FIELDS", "service.languages[0]"},
		{"bad service id", func() error {
			_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: validService(), ServiceId: "not-a-uuid"})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "service_id"},
		{"taken service id", func() error {
			id := strings.TrimPrefix(existing.GetName(), "services/")
			_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: validService(), ServiceId: id})
			return err
		}, codes.AlreadyExists, "SERVICE_ALREADY_EXISTS", ""},
		{"bad request id", func() error {
			_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: validService(), RequestId: "a b"})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "request_id"},
		{"malformed name on get", func() error {
			_, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{Name: "services/123"})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "name"},
		{"missing name on get", func() error {
			_, err := h.client.GetService(ctx(t), &cataloguev1.GetServiceRequest{})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "name"},
		{"unknown service on update", func() error {
			_, err := h.client.UpdateService(ctx(t), &cataloguev1.UpdateServiceRequest{Service: &cataloguev1.Service{Name: "services/0194c050-0000-7000-8000-000000000000"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
			return err
		}, codes.NotFound, "SERVICE_NOT_FOUND", ""},
		{"mask names output-only field", updateMask(h, t, existing, "create_time"), codes.InvalidArgument, "INVALID_FIELDS", "update_mask"},
		{"mask names unknown field", updateMask(h, t, existing, "colour"), codes.InvalidArgument, "INVALID_FIELDS", "update_mask"},
		{"mask names a field inside a list", updateMask(h, t, existing, "locations.name"), codes.InvalidArgument, "INVALID_FIELDS", "update_mask"},
		{"update makes the service invalid", updateMask(h, t, existing, "areas"), codes.InvalidArgument, "INVALID_FIELDS", "service.areas"},
		{"negative page size", func() error {
			_, err := h.client.ListServices(ctx(t), &cataloguev1.ListServicesRequest{PageSize: -1})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "page_size"},
		{"garbage page token", func() error {
			_, err := h.client.ListServices(ctx(t), &cataloguev1.ListServicesRequest{PageToken: "%%%"})
			return err
		}, codes.InvalidArgument, "INVALID_PAGE_TOKEN", ""},
		{"bad filter field", listFilter(h, t, "colour = red"), codes.InvalidArgument, "INVALID_FIELDS", "filter"},
		{"bad filter value", listFilter(h, t, "area = AREA_NOPE"), codes.InvalidArgument, "INVALID_FIELDS", "filter"},
		{"bad filter syntax", listFilter(h, t, "area ="), codes.InvalidArgument, "INVALID_FIELDS", "filter"},
		{"filter with OR", listFilter(h, t, "area = AREA_CULTURE OR area = AREA_HOUSING"), codes.InvalidArgument, "INVALID_FIELDS", "filter"},
		{"bad time in filter", listFilter(h, t, `update_time > "yesterday"`), codes.InvalidArgument, "INVALID_FIELDS", "filter"},
		{"bad order_by", func() error {
			_, err := h.client.ListServices(ctx(t), &cataloguev1.ListServicesRequest{OrderBy: "price"})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "order_by"},
		{"search query too long", searchWith(h, t, &cataloguev1.SearchServicesRequest{Query: strings.Repeat("a", 201)}), codes.InvalidArgument, "INVALID_FIELDS", "query"},
		{"search unknown area", searchWith(h, t, &cataloguev1.SearchServicesRequest{Areas: []cataloguev1.Area{0}}), codes.InvalidArgument, "INVALID_FIELDS", "areas[0]"},
		{"search bad terc", searchWith(h, t, &cataloguev1.SearchServicesRequest{TercCodes: []string{"12"}}), codes.InvalidArgument, "INVALID_FIELDS", "terc_codes[0]"},
		{"search bad age", searchWith(h, t, &cataloguev1.SearchServicesRequest{Age: i32(-3)}), codes.InvalidArgument, "INVALID_FIELDS", "age"},
		{"search radius zero", searchWith(h, t, &cataloguev1.SearchServicesRequest{Near: &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: 51.6, Longitude: 16.8}}}), codes.InvalidArgument, "INVALID_FIELDS", "near.radius_meters"},
		{"search centre missing", searchWith(h, t, &cataloguev1.SearchServicesRequest{Near: &cataloguev1.GeoFilter{RadiusMeters: 10}}), codes.InvalidArgument, "INVALID_FIELDS", "near.center"},
		{"search negative page size", searchWith(h, t, &cataloguev1.SearchServicesRequest{PageSize: -5}), codes.InvalidArgument, "INVALID_FIELDS", "page_size"},
		{"search bad page token", searchWith(h, t, &cataloguev1.SearchServicesRequest{PageToken: "eyJvIjoxfQ"}), codes.InvalidArgument, "INVALID_PAGE_TOKEN", ""},
		{"negative after_revision", func() error {
			_, err := h.client.ListChanges(ctx(t), &cataloguev1.ListChangesRequest{AfterRevision: -1})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "after_revision"},
		{"after_revision in the future", func() error {
			_, err := h.client.ListChanges(ctx(t), &cataloguev1.ListChangesRequest{AfterRevision: 1 << 40})
			return err
		}, codes.OutOfRange, "REVISION_IN_FUTURE", ""},
		{"programme with unknown service", func() error {
			_, err := h.client.CreateProgramme(ctx(t), &cataloguev1.CreateProgrammeRequest{Programme: &cataloguev1.Programme{
				DisplayName: "PUS", Services: []string{"services/0194c050-0000-7000-8000-000000000000"}}})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "programme.services[0]"},
		{"programme dates crossed", func() error {
			_, err := h.client.CreateProgramme(ctx(t), &cataloguev1.CreateProgrammeRequest{Programme: &cataloguev1.Programme{
				DisplayName: "PUS", StartDate: "2026-01-01", EndDate: "2025-12-31"}})
			return err
		}, codes.InvalidArgument, "INVALID_FIELDS", "programme.end_date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := h.store.Backend().Revision()
			before, _, err := h.store.GetService(strings.TrimPrefix(existing.GetName(), "services/"))
			if err != nil {
				t.Fatal(err)
			}
			err = tc.call()
			if err == nil {
				t.Fatal("accepted")
			}
			code, reason, fields := errorInfo(t, err)
			if code != tc.code || reason != tc.reason {
				t.Fatalf("got %v %s (%v), want %v %s", code, reason, err, tc.code, tc.reason)
			}
			if tc.field != "" && !slices.Contains(fields, tc.field) {
				t.Fatalf("violations %v do not name %s (%v)", fields, tc.field, err)
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("a refused request changed the store")
			}
			after, _, _ := h.store.GetService(strings.TrimPrefix(existing.GetName(), "services/"))
			if !proto.Equal(before, after) {
				t.Fatal("a refused request changed the existing service")
			}
		})
	}
}

func createWith(h *harness, t *testing.T, s *cataloguev1.Service) func() error {
	return func() error {
		_, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: s})
		return err
	}
}

func updateMask(h *harness, t *testing.T, existing *cataloguev1.Service, path string) func() error {
	return func() error {
		patch := &cataloguev1.Service{Name: existing.GetName()}
		_, err := h.client.UpdateService(ctx(t), &cataloguev1.UpdateServiceRequest{Service: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}})
		return err
	}
}

func listFilter(h *harness, t *testing.T, filter string) func() error {
	return func() error {
		_, err := h.client.ListServices(ctx(t), &cataloguev1.ListServicesRequest{Filter: filter})
		return err
	}
}

func searchWith(h *harness, t *testing.T, req *cataloguev1.SearchServicesRequest) func() error {
	return func() error {
		_, err := h.client.SearchServices(ctx(t), req)
		return err
	}
}

func TestCreateIsIdempotentByRequestID(t *testing.T) {
	h := start(t)
	c := ctx(t)
	req := &cataloguev1.CreateServiceRequest{Service: validService(), RequestId: "0194c050-aaaa-7000-8000-000000000001"}
	var wg sync.WaitGroup
	names := make([]string, 8)
	for i := range names {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := h.client.CreateService(c, req)
			if err != nil {
				t.Error(err)
				return
			}
			names[i] = out.GetName()
		}(i)
	}
	wg.Wait()
	for _, n := range names {
		if n != names[0] {
			t.Fatalf("retries created different services: %v", names)
		}
	}
	list, err := h.client.ListServices(c, &cataloguev1.ListServicesRequest{})
	if err != nil || list.GetTotalSize() != 1 {
		t.Fatalf("services after retries = %d, %v", list.GetTotalSize(), err)
	}
	other := proto.Clone(req).(*cataloguev1.CreateServiceRequest)
	other.Service.DisplayName = "Inna usługa"
	_, err = h.client.CreateService(c, other)
	if code, reason, _ := errorInfo(t, err); code != codes.InvalidArgument || reason != "REQUEST_ID_REUSED" {
		t.Fatalf("reuse: %v %s", code, reason)
	}
}

func TestListPaginationFilterAndPolishOrder(t *testing.T) {
	h := start(t)
	c := ctx(t)
	names := []string{"Żłobek", "Zajęcia", "Łaźnia", "Lekcje", "Ćwiczenia", "Cukiernia", "Świetlica", "Szkoła", "Apteka", "Ąkademia"}
	for i, n := range names {
		s := validService()
		s.DisplayName = n
		if i%2 == 0 {
			s.Areas = []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE}
		}
		create(t, h, s)
	}
	var got []string
	tok := ""
	for page := 0; ; page++ {
		resp, err := h.client.ListServices(c, &cataloguev1.ListServicesRequest{PageSize: 3, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetTotalSize() != int32(len(names)) {
			t.Fatalf("total = %d", resp.GetTotalSize())
		}
		for _, s := range resp.GetServices() {
			got = append(got, s.GetDisplayName())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
		if page > 10 {
			t.Fatal("pagination does not end")
		}
	}
	want := []string{"Apteka", "Ąkademia", "Cukiernia", "Ćwiczenia", "Lekcje", "Łaźnia", "Szkoła", "Świetlica", "Zajęcia", "Żłobek"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Polish order:\n got %v\nwant %v", got, want)
	}
	culture, err := h.client.ListServices(c, &cataloguev1.ListServicesRequest{Filter: "area = AREA_CULTURE AND origin_terc = 3022053", OrderBy: "display_name desc"})
	if err != nil || culture.GetTotalSize() != 5 || culture.GetServices()[0].GetDisplayName() != "Żłobek" {
		t.Fatalf("filtered list: %v %v", culture, err)
	}
	// A token is bound to its query.
	first, _ := h.client.ListServices(c, &cataloguev1.ListServicesRequest{PageSize: 2})
	_, err = h.client.ListServices(c, &cataloguev1.ListServicesRequest{PageSize: 2, PageToken: first.GetNextPageToken(), Filter: "area = AREA_CULTURE"})
	if code, reason, _ := errorInfo(t, err); code != codes.InvalidArgument || reason != "INVALID_PAGE_TOKEN" {
		t.Fatalf("token reused for another filter: %v %s", code, reason)
	}
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	recent, err := h.client.ListServices(c, &cataloguev1.ListServicesRequest{Filter: fmt.Sprintf("update_time > %q", since)})
	if err != nil || recent.GetTotalSize() != int32(len(names)) {
		t.Fatalf("update_time filter: %v %v", recent.GetTotalSize(), err)
	}
}

func TestSearchThroughTheServer(t *testing.T) {
	h := start(t)
	c := ctx(t)
	zl := validService()
	zl.DisplayName = "Żłobek Miejski"
	zl.Areas = []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_POLICY}
	zl.TargetGroups = []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3}
	zl.MinimumAge, zl.MaximumAge = i32(0), i32(3)
	zl.Fee = nil
	create(t, h, zl)
	create(t, h, validService())
	for _, q := range []string{"zlobek", "ŻŁOBEK", "zlobke", "żłobek miejski"} {
		res, err := h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetResults()) == 0 || res.GetResults()[0].GetService().GetDisplayName() != "Żłobek Miejski" {
			t.Fatalf("query %q: %v", q, res.GetResults())
		}
	}
	res, err := h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{FreeOfCharge: true})
	if err != nil || res.GetTotalSize() != 1 {
		t.Fatalf("free filter: %v %v", res.GetTotalSize(), err)
	}
	res, err = h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{Age: i32(70)})
	if err != nil || res.GetTotalSize() != 1 || res.GetResults()[0].GetService().GetDisplayName() == "Żłobek Miejski" {
		t.Fatalf("age filter: %v %v", res, err)
	}
	res, err = h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{
		Near: &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: 51.6094, Longitude: 16.8583}, RadiusMeters: 500},
	})
	if err != nil || res.GetTotalSize() != 2 || res.GetResults()[0].DistanceMeters == nil {
		t.Fatalf("geo filter: %v %v", res, err)
	}
	// Monday 11:00 in Warsaw (10:00 UTC in winter) the demo hours are open; Sunday they are not.
	monday := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	res, err = h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{OpenAt: timestamppb.New(monday)})
	if err != nil || res.GetTotalSize() != 2 {
		t.Fatalf("open on Monday: %v %v", res.GetTotalSize(), err)
	}
	res, err = h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{OpenAt: timestamppb.New(monday.Add(-24 * time.Hour))})
	if err != nil || res.GetTotalSize() != 0 {
		t.Fatalf("open on Sunday: %v %v", res.GetTotalSize(), err)
	}
	res, err = h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{Areas: []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_POLICY}})
	if err != nil || res.GetTotalSize() != 1 || len(res.GetAreaFacets()) < 2 {
		t.Fatalf("facets should count other areas too: %v %v", res.GetAreaFacets(), err)
	}
	// Pages concatenate to the whole result.
	all := map[string]bool{}
	tok := ""
	for {
		page, err := h.client.SearchServices(c, &cataloguev1.SearchServicesRequest{PageSize: 1, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.GetResults() {
			all[r.GetService().GetName()] = true
		}
		if tok = page.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(all) != 2 {
		t.Fatalf("paged search saw %d services", len(all))
	}
}

func TestChangeFeedListAndWatchResume(t *testing.T) {
	h := start(t)
	c := ctx(t)
	a := create(t, h, validService())
	b := create(t, h, validService())
	if _, err := h.client.DeleteService(c, &cataloguev1.DeleteServiceRequest{Name: a.GetName()}); err != nil {
		t.Fatal(err)
	}
	// The log is key-compacted: a's create (1) was superseded by its delete (3), so the feed is 2, then 3.
	page, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{PageSize: 1})
	if err != nil || len(page.GetChanges()) != 1 || page.GetChanges()[0].GetRevision() != 2 || !page.GetHasMore() || page.GetLatestRevision() != 3 {
		t.Fatalf("first page: %v %v", page, err)
	}
	rest, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{AfterRevision: page.GetNextAfterRevision()})
	if err != nil || len(rest.GetChanges()) != 1 || rest.GetHasMore() {
		t.Fatalf("second page: %v %v", rest, err)
	}
	tomb := rest.GetChanges()[0]
	if tomb.GetType() != cataloguev1.ChangeType_CHANGE_TYPE_DELETE || tomb.GetResourceName() != a.GetName() || tomb.GetService() != nil {
		t.Fatalf("tombstone: %v", tomb)
	}
	// Watch from revision 1: receives 2 and 3, then a live change, in order, once each.
	wctx, cancel := context.WithCancel(c)
	defer cancel()
	stream, err := h.client.WatchChanges(wctx, &cataloguev1.WatchChangesRequest{AfterRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for len(revs) < 2 {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, m.GetChange().GetRevision())
	}
	patch := &cataloguev1.Service{Name: b.GetName(), Description: "nowy opis"}
	if _, err := h.client.UpdateService(c, &cataloguev1.UpdateServiceRequest{Service: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	revs = append(revs, m.GetChange().GetRevision())
	if fmt.Sprint(revs) != "[2 3 4]" || m.GetChange().GetService().GetDescription() != "nowy opis" {
		t.Fatalf("watch revisions %v, last %v", revs, m.GetChange())
	}
	cancel()
	// Reconnect after the last revision seen: nothing twice, nothing missed.
	stream, err = h.client.WatchChanges(c, &cataloguev1.WatchChangesRequest{AfterRevision: 3})
	if err != nil {
		t.Fatal(err)
	}
	m, err = stream.Recv()
	if err != nil || m.GetChange().GetRevision() != 4 {
		t.Fatalf("resume: %v %v", m, err)
	}
	// From the start, the feed is the current state: a's tombstone and b's newest version only.
	all, err := h.client.ListChanges(c, &cataloguev1.ListChangesRequest{})
	if err != nil || len(all.GetChanges()) != 2 || all.GetChanges()[0].GetRevision() != 3 || all.GetChanges()[1].GetService().GetDescription() != "nowy opis" {
		t.Fatalf("full feed: %v %v", all, err)
	}
}

func TestWatchEndsOnShutdownWithUnavailable(t *testing.T) {
	h := start(t)
	create(t, h, validService())
	stream, err := h.client.WatchChanges(ctx(t), &cataloguev1.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	h.srv.Shutdown()
	_, err = stream.Recv()
	if errors.Is(err, io.EOF) {
		t.Fatal("stream ended without telling the client to reconnect")
	}
	if code, reason, _ := errorInfo(t, err); code != codes.Unavailable || reason != "SHUTTING_DOWN" {
		t.Fatalf("got %v %s", code, reason)
	}
}

func TestProgrammes(t *testing.T) {
	h := start(t)
	c := ctx(t)
	svc := create(t, h, validService())
	p, err := h.client.CreateProgramme(c, &cataloguev1.CreateProgrammeRequest{Programme: &cataloguev1.Programme{
		DisplayName: "Program usług społecznych Gminy Rawicz na lata 2025-2027",
		Resolution:  &typev1.Resolution{Number: "XV/120/2025", AdoptedOn: "2025-03-27"},
		StartDate:   "2025-04-01", EndDate: "2027-12-31",
		Services: []string{svc.GetName()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := h.client.ListProgrammes(c, &cataloguev1.ListProgrammesRequest{})
	if err != nil || len(list.GetProgrammes()) != 1 || !proto.Equal(list.GetProgrammes()[0], p) {
		t.Fatalf("list: %v %v", list, err)
	}
	upd, err := h.client.UpdateProgramme(c, &cataloguev1.UpdateProgrammeRequest{
		Programme:  &cataloguev1.Programme{Name: p.GetName(), Etag: p.GetEtag(), AccessCriteria: "mieszkańcy gminy"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"access_criteria"}},
	})
	if err != nil || upd.GetAccessCriteria() != "mieszkańcy gminy" || len(upd.GetServices()) != 1 {
		t.Fatalf("update: %v %v", upd, err)
	}
	if _, err := h.client.DeleteProgramme(c, &cataloguev1.DeleteProgrammeRequest{Name: p.GetName(), Etag: p.GetEtag()}); err == nil {
		t.Fatal("delete with stale etag accepted")
	}
	if _, err := h.client.DeleteProgramme(c, &cataloguev1.DeleteProgrammeRequest{Name: p.GetName()}); err != nil {
		t.Fatal(err)
	}
}

func TestTaxonomy(t *testing.T) {
	h := start(t)
	areas, err := h.client.ListAreas(ctx(t), &cataloguev1.ListAreasRequest{})
	if err != nil || len(areas.GetAreas()) != 14 || areas.GetAreas()[1].GetNamePl() != "wspieranie rodziny" {
		t.Fatalf("areas: %v %v", areas, err)
	}
	groups, err := h.client.ListTargetGroups(ctx(t), &cataloguev1.ListTargetGroupsRequest{})
	if err != nil || len(groups.GetTargetGroups()) != 8 {
		t.Fatalf("groups: %v %v", groups, err)
	}
}

// The demo catalogue goes through the same handlers as clients, so every entry passes every rule.
func TestDemoCatalogueLoads(t *testing.T) {
	h := start(t)
	n, err := app.LoadDemo(ctx(t), h.srv, rawicz)
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("demo has %d services, want at least 40", n)
	}
	areas, err := h.client.SearchServices(ctx(t), &cataloguev1.SearchServicesRequest{IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(areas.GetAreaFacets()) != 14 {
		t.Fatalf("demo covers %d areas, want all 14", len(areas.GetAreaFacets()))
	}
}

func TestJarocinDemoCatalogueLoads(t *testing.T) {
	h := start(t)
	n, err := app.LoadDemo(ctx(t), h.srv, "3006023")
	if err != nil || n < 20 {
		t.Fatalf("Jarocin demo: %d services, %v", n, err)
	}
}

func TestRestartRebuildsIndexFromStore(t *testing.T) {
	h := start(t)
	create(t, h, validService())
	// A fresh server over the same store finds the service.
	srv2 := newServerOver(t, h)
	n, err := srv2.LoadIndex()
	if err != nil || n != 1 {
		t.Fatalf("reindexed %d, %v", n, err)
	}
}
