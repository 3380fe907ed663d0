package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// TestIdentifierAndCodeValidation runs a table of valid and invalid NIP, REGON, KRS, postal codes and TERYT
// codes through CreateProvider: a valid value is stored in canonical form; an invalid one is INVALID_ARGUMENT
// with exactly one violation, of that field, with the precise reason, and the store is unchanged.
func TestIdentifierAndCodeValidation(t *testing.T) {
	h := start(t)
	// A public body needs only a REGON, so NIP and KRS can be tested alone.
	base := func() *providerv1.Provider {
		p := validProvider()
		p.Kind = providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY
		p.Nip, p.Krs = "", ""
		return p
	}
	type tc struct {
		name   string
		set    func(p *providerv1.Provider)
		field  string // "" means valid
		reason string
		stored func(p *providerv1.Provider) string
		want   string
	}
	nip := func(v string) func(*providerv1.Provider) { return func(p *providerv1.Provider) { p.Nip = v } }
	regon := func(v string) func(*providerv1.Provider) { return func(p *providerv1.Provider) { p.Regon = v } }
	krs := func(v string) func(*providerv1.Provider) { return func(p *providerv1.Provider) { p.Krs = v } }
	postal := func(v string) func(*providerv1.Provider) {
		return func(p *providerv1.Provider) { p.Address.PostalCode = v }
	}
	teryt := func(v string) func(*providerv1.Provider) { return func(p *providerv1.Provider) { p.TerytCode = v } }
	getNIP := func(p *providerv1.Provider) string { return p.GetNip() }
	getKRS := func(p *providerv1.Provider) string { return p.GetKrs() }
	getREGON := func(p *providerv1.Provider) string { return p.GetRegon() }
	cases := []tc{
		// NIP: 10 digits, weights 6 5 7 2 3 4 5 6 7, check = sum mod 11 (10 never valid).
		{name: "nip valid", set: nip("8567346215"), stored: getNIP, want: "8567346215"},
		{name: "nip with dashes", set: nip("526-000-12-46"), stored: getNIP, want: "5260001246"},
		{name: "nip with PL prefix and spaces", set: nip("PL 779 000 00 37"), stored: getNIP, want: "7790000037"},
		{name: "nip with en dash and no-break space", set: nip("123–456\u00a032–18"), stored: getNIP, want: "1234563218"},
		{name: "nip bad check digit", set: nip("8567346216"), field: "provider.nip", reason: "BAD_CHECK_DIGIT"},
		{name: "nip sum mod 11 is 10", set: nip("1234567890"), field: "provider.nip", reason: "BAD_CHECK_DIGIT"},
		{name: "nip too short", set: nip("856734621"), field: "provider.nip", reason: "INVALID_LENGTH"},
		{name: "nip too long", set: nip("85673462155"), field: "provider.nip", reason: "INVALID_LENGTH"},
		{name: "nip letters", set: nip("85673462AB"), field: "provider.nip", reason: "NOT_DIGITS"},
		{name: "nip arabic-indic digits", set: nip("٨٥٦٧٣٤٦٢١٥"), field: "provider.nip", reason: "NOT_DIGITS"},
		// REGON: 9 digits (weights 8 9 2 3 4 5 6 7) or 14 (2 4 8 5 0 9 7 3 6 1 2 4 8), check = sum mod 11 mod 10.
		{name: "regon 9 valid", set: regon("123456785"), stored: getREGON, want: "123456785"},
		{name: "regon 14 valid", set: regon("12345678512347"), stored: getREGON, want: "12345678512347"},
		{name: "regon with spaces", set: regon("302 010 370"), stored: getREGON, want: "302010370"},
		{name: "regon 9 bad check digit", set: regon("123456786"), field: "provider.regon", reason: "BAD_CHECK_DIGIT"},
		{name: "regon 14 bad check digit", set: regon("12345678512348"), field: "provider.regon", reason: "BAD_CHECK_DIGIT"},
		{name: "regon 14 with bad 9-digit part", set: regon("12345678612347"), field: "provider.regon", reason: "BAD_CHECK_DIGIT"},
		{name: "regon 13 digits", set: regon("1234567851234"), field: "provider.regon", reason: "INVALID_LENGTH"},
		{name: "regon letters", set: regon("12345678X"), field: "provider.regon", reason: "NOT_DIGITS"},
		// KRS: 10 digits, zero-padded, not all zeros, no check digit.
		{name: "krs valid", set: krs("0000123456"), stored: getKRS, want: "0000123456"},
		{name: "krs without leading zeros", set: krs("654321"), stored: getKRS, want: "0000654321"},
		{name: "krs with prefix", set: krs("KRS 0000111222"), stored: getKRS, want: "0000111222"},
		{name: "krs all zeros", set: krs("0000000000"), field: "provider.krs", reason: "INVALID_CODE"},
		{name: "krs 11 digits", set: krs("00001234567"), field: "provider.krs", reason: "INVALID_LENGTH"},
		{name: "krs letters", set: krs("00001234AB"), field: "provider.krs", reason: "NOT_DIGITS"},
		// Postal code NN-NNN.
		{name: "postal valid", set: postal("63-900"), stored: func(p *providerv1.Provider) string { return p.GetAddress().GetPostalCode() }, want: "63-900"},
		{name: "postal without dash", set: postal("63900"), field: "provider.address.postal_code", reason: "INVALID_LENGTH"},
		{name: "postal with space", set: postal("63 900"), field: "provider.address.postal_code", reason: "INVALID_CODE"},
		{name: "postal letters", set: postal("6a-900"), field: "provider.address.postal_code", reason: "NOT_DIGITS"},
		// TERYT TERC WWPPGGR.
		{name: "teryt valid", set: teryt("3022053"), stored: func(p *providerv1.Provider) string { return p.GetTerytCode() }, want: "3022053"},
		{name: "teryt city with powiat rights", set: teryt("2472011"), stored: func(p *providerv1.Provider) string { return p.GetTerytCode() }, want: "2472011"},
		{name: "teryt type digit 6", set: teryt("3022056"), field: "provider.teryt_code", reason: "INVALID_CODE"},
		{name: "teryt odd voivodeship", set: teryt("3122053"), field: "provider.teryt_code", reason: "INVALID_CODE"},
		{name: "teryt powiat code only", set: teryt("3022"), field: "provider.teryt_code", reason: "INVALID_LENGTH"},
		{name: "teryt letters", set: teryt("30220a3"), field: "provider.teryt_code", reason: "NOT_DIGITS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base()
			c.set(p)
			rev := h.store.Backend().Revision()
			out, err := h.client.CreateProvider(h.admin(t), &providerv1.CreateProviderRequest{Provider: p})
			if c.field == "" {
				if err != nil {
					t.Fatalf("valid value refused: %v", err)
				}
				if got := c.stored(out); got != c.want {
					t.Fatalf("stored %q, want %q", got, c.want)
				}
				return
			}
			code, reason, _, fields := errorInfo(t, err)
			if code != codes.InvalidArgument || reason != "INVALID_FIELDS" {
				t.Fatalf("got %v %s", code, reason)
			}
			if len(fields) != 1 || fields[c.field] != c.reason {
				t.Fatalf("violations %v, want exactly %s: %s", fields, c.field, c.reason)
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("a refused create wrote something")
			}
		})
	}
}

// TestKindsDecideRequiredIdentifiers checks the table of identifiers each kind must, may or must not have.
func TestKindsDecideRequiredIdentifiers(t *testing.T) {
	h := start(t)
	type ids struct{ nip, regon, krs bool }
	cases := []struct {
		kind providerv1.ProviderKind
		ids  ids
		want map[string]string // field -> reason; empty means valid
	}{
		{providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION, ids{true, true, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION, ids{false, false, true},
			map[string]string{"provider.nip": "REQUIRED_FOR_KIND", "provider.regon": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, ids{true, true, true}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, ids{true, true, false},
			map[string]string{"provider.krs": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY, ids{true, false, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY, ids{false, true, true},
			map[string]string{"provider.nip": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION, ids{true, true, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_CHURCH_ORGANISATION, ids{false, true, false},
			map[string]string{"provider.nip": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, ids{false, true, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, ids{true, true, true},
			map[string]string{"provider.krs": "NOT_ALLOWED"}},
		{providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, ids{true, false, false},
			map[string]string{"provider.regon": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY, ids{false, true, true}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_PUBLIC_BODY, ids{true, false, false},
			map[string]string{"provider.regon": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY, ids{true, true, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY, ids{false, false, false},
			map[string]string{"provider.nip": "REQUIRED_FOR_KIND", "provider.regon": "REQUIRED_FOR_KIND"}},
		{providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, ids{false, false, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, ids{true, true, false}, nil},
		{providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP, ids{false, false, true},
			map[string]string{"provider.krs": "NOT_ALLOWED"}},
		{providerv1.ProviderKind_PROVIDER_KIND_UNSPECIFIED, ids{true, true, true},
			map[string]string{"provider.kind": "REQUIRED"}},
		{providerv1.ProviderKind(42), ids{true, true, true},
			map[string]string{"provider.kind": "INVALID_VALUE"}},
	}
	for _, c := range cases {
		name := strings.TrimPrefix(c.kind.String(), "PROVIDER_KIND_")
		for _, part := range []struct {
			on  bool
			tag string
		}{{c.ids.nip, "nip"}, {c.ids.regon, "regon"}, {c.ids.krs, "krs"}} {
			if part.on {
				name += "+" + part.tag
			}
		}
		t.Run(name, func(t *testing.T) {
			p := validProvider()
			p.Kind = c.kind
			if !c.ids.nip {
				p.Nip = ""
			}
			if !c.ids.regon {
				p.Regon = ""
			}
			if !c.ids.krs {
				p.Krs = ""
			}
			_, err := h.client.CreateProvider(h.admin(t), &providerv1.CreateProviderRequest{Provider: p})
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			code, _, _, fields := errorInfo(t, err)
			if code != codes.InvalidArgument || len(fields) != len(c.want) {
				t.Fatalf("got %v %v, want %v", code, fields, c.want)
			}
			for f, r := range c.want {
				if fields[f] != r {
					t.Fatalf("violations %v, want %v", fields, c.want)
				}
			}
		})
	}
}

// TestDuplicateIdentifiersNameTheExistingProvider: a NIP, KRS or REGON already registered (in any spelling) is
// ALREADY_EXISTS whose metadata names the existing provider and the field; the index follows updates and deletes.
func TestDuplicateIdentifiersNameTheExistingProvider(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	a := h.createProvider(t, validProvider())
	cases := []struct {
		name  string
		set   func(p *providerv1.Provider)
		field string
	}{
		{"same NIP spelled with dashes and PL", func(p *providerv1.Provider) {
			n := a.GetNip()
			p.Nip = "PL" + n[:3] + "-" + n[3:6] + "-" + n[6:8] + "-" + n[8:]
		}, "provider.nip"},
		{"same KRS without leading zeros", func(p *providerv1.Provider) { p.Krs = strings.TrimLeft(a.GetKrs(), "0") }, "provider.krs"},
		{"same REGON", func(p *providerv1.Provider) { p.Regon = a.GetRegon() }, "provider.regon"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validProvider()
			c.set(p)
			rev := h.store.Backend().Revision()
			_, err := h.client.CreateProvider(ctx, &providerv1.CreateProviderRequest{Provider: p})
			code, reason, meta, _ := errorInfo(t, err)
			if code != codes.AlreadyExists || reason != "PROVIDER_ALREADY_REGISTERED" {
				t.Fatalf("got %v %s", code, reason)
			}
			if meta["existing_provider"] != a.GetName() || meta["field"] != c.field {
				t.Fatalf("metadata %v, want existing_provider %s and field %s", meta, a.GetName(), c.field)
			}
			if h.store.Backend().Revision() != rev {
				t.Fatal("a refused create wrote something")
			}
		})
	}

	// An update to another provider's NIP is refused the same way.
	b := h.createProvider(t, validProvider())
	_, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: b.GetName(), Nip: a.GetNip()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nip"}},
	})
	if _, reason, meta, _ := errorInfo(t, err); reason != "PROVIDER_ALREADY_REGISTERED" || meta["existing_provider"] != a.GetName() {
		t.Fatalf("update to a taken NIP: %v", err)
	}

	// A changes its NIP: the old one is free again; the new one is taken.
	oldNIP, newNIP := a.GetNip(), nextNIP()
	if _, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: a.GetName(), Nip: newNIP}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nip"}},
	}); err != nil {
		t.Fatal(err)
	}
	p := validProvider()
	p.Nip = oldNIP
	c := h.createProvider(t, p)
	p = validProvider()
	p.Nip = newNIP
	_, err = h.client.CreateProvider(ctx, &providerv1.CreateProviderRequest{Provider: p})
	wantErr(t, err, codes.AlreadyExists, "PROVIDER_ALREADY_REGISTERED")

	// Deleting a provider frees its identifiers.
	if _, err := h.client.DeleteProvider(ctx, &providerv1.DeleteProviderRequest{Name: c.GetName()}); err != nil {
		t.Fatal(err)
	}
	p = validProvider()
	p.Nip = oldNIP
	h.createProvider(t, p)
}

func TestProviderUpdateMasksEtagsAndRequestIDs(t *testing.T) {
	h := start(t)
	ctx := h.admin(t)
	req := &providerv1.CreateProviderRequest{Provider: validProvider(), RequestId: "0194c050-aaaa-7000-8000-000000000001"}
	first, err := h.client.CreateProvider(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.GetName(), "providers/") || first.GetEtag() == "" || first.GetCreateTime() == nil ||
		first.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE || first.GetAddress().GetCountry() != "PL" {
		t.Fatalf("server fields or defaults missing: %v", first)
	}

	// request_id: a repeat returns the first result and writes nothing; another request under it is refused.
	rev := h.store.Backend().Revision()
	again, err := h.client.CreateProvider(ctx, req)
	if err != nil || !proto.Equal(again, first) || h.store.Backend().Revision() != rev {
		t.Fatalf("repeat: %v %v (revision %d -> %d)", again, err, rev, h.store.Backend().Revision())
	}
	other := proto.Clone(req).(*providerv1.CreateProviderRequest)
	other.Provider.DisplayName = "Inna nazwa"
	_, err = h.client.CreateProvider(ctx, other)
	wantErr(t, err, codes.InvalidArgument, "REQUEST_ID_REUSED")

	// A client-chosen id; taken ids are ALREADY_EXISTS.
	p := validProvider()
	chosen, err := h.client.CreateProvider(ctx, &providerv1.CreateProviderRequest{Provider: p, ProviderId: "0194C050-3022-7053-B000-0000000000AA"})
	if err != nil || chosen.GetName() != "providers/0194c050-3022-7053-b000-0000000000aa" {
		t.Fatalf("chosen id: %v %v", chosen.GetName(), err)
	}
	_, err = h.client.CreateProvider(ctx, &providerv1.CreateProviderRequest{Provider: validProvider(), ProviderId: "0194c050-3022-7053-b000-0000000000aa"})
	wantErr(t, err, codes.AlreadyExists, "PROVIDER_ALREADY_EXISTS")

	// Masked update of a top-level and a nested field under the current etag.
	upd, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: first.GetName(), Etag: first.GetEtag(), DisplayName: "Stowarzyszenie „Sąsiedzi”",
			Address: &typev1.Address{City: "Sarnowa"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "address.city"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if upd.GetDisplayName() != "Stowarzyszenie „Sąsiedzi”" || upd.GetAddress().GetCity() != "Sarnowa" ||
		upd.GetAddress().GetAddress_1() != first.GetAddress().GetAddress_1() || upd.GetNip() != first.GetNip() ||
		upd.GetEtag() == first.GetEtag() || !upd.GetCreateTime().AsTime().Equal(first.GetCreateTime().AsTime()) {
		t.Fatalf("masked update wrong: %v", upd)
	}

	// The old etag is stale now: ABORTED, nothing written.
	rev = h.store.Backend().Revision()
	_, err = h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: first.GetName(), Etag: first.GetEtag(), Description: "x"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	wantErr(t, err, codes.Aborted, "STALE_ETAG")
	_, err = h.client.DeleteProvider(ctx, &providerv1.DeleteProviderRequest{Name: first.GetName(), Etag: first.GetEtag()})
	wantErr(t, err, codes.Aborted, "STALE_ETAG")
	if h.store.Backend().Revision() != rev {
		t.Fatal("a refused update wrote something")
	}

	// Bad masks.
	for _, paths := range [][]string{{"create_time"}, {"no_such_field"}, {"phones.number"}, {"*", "email"}} {
		_, err = h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
			Provider: &providerv1.Provider{Name: first.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
		if _, _, _, fields := errorInfo(t, err); fields["update_mask"] == "" {
			t.Fatalf("mask %v: %v", paths, err)
		}
	}

	// Status: a reason is required when not active, and cleared when active again.
	_, err = h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: first.GetName(), Status: providerv1.ProviderStatus_PROVIDER_STATUS_SUSPENDED},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}},
	})
	if _, _, _, fields := errorInfo(t, err); fields["provider.status_reason"] != "REQUIRED" {
		t.Fatalf("suspension without reason: %v", err)
	}
	susp, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider: &providerv1.Provider{Name: first.GetName(), Status: providerv1.ProviderStatus_PROVIDER_STATUS_SUSPENDED,
			StatusReason: "kontrola wojewody"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status", "status_reason"}},
	})
	if err != nil || susp.GetStatusReason() != "kontrola wojewody" {
		t.Fatalf("suspend: %v %v", susp, err)
	}
	act, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: first.GetName(), Status: providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}},
	})
	if err != nil || act.GetStatusReason() != "" {
		t.Fatalf("reactivate: %v %v", act, err)
	}

	// Without a mask every writable field is replaced; output-only input is ignored.
	repl := validProvider()
	repl.Name, repl.Nip, repl.Regon, repl.Krs = first.GetName(), act.GetNip(), act.GetRegon(), act.GetKrs()
	repl.Description = ""
	repl.CreateTime = nil
	out, err := h.client.UpdateProvider(ctx, &providerv1.UpdateProviderRequest{Provider: repl})
	if err != nil || out.GetDescription() != "" || !out.GetCreateTime().AsTime().Equal(first.GetCreateTime().AsTime()) {
		t.Fatalf("full update: %v %v", out, err)
	}

	// Unknown provider; malformed names.
	_, err = h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: "providers/0194c050-0000-7000-8000-000000000000"})
	wantErr(t, err, codes.NotFound, "PROVIDER_NOT_FOUND")
	for _, name := range []string{"", "providers/", "providers/x", "services/0194c050-0000-7000-8000-000000000000", "providers/0194c050-0000-7000-8000-000000000000/x"} {
		_, err = h.client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: name})
		if _, _, _, fields := errorInfo(t, err); fields["name"] == "" {
			t.Fatalf("name %q: %v", name, err)
		}
	}
}

func TestOtherProviderFieldsAreValidated(t *testing.T) {
	h := start(t)
	mutate := func(f func(p *providerv1.Provider)) *providerv1.Provider {
		p := validProvider()
		f(p)
		return p
	}
	cases := []struct {
		name  string
		p     *providerv1.Provider
		field string
	}{
		{"no display name", mutate(func(p *providerv1.Provider) { p.DisplayName = " " }), "provider.display_name"},
		{"display name too long", mutate(func(p *providerv1.Provider) { p.DisplayName = strings.Repeat("ż", 201) }), "provider.display_name"},
		{"bad email", mutate(func(p *providerv1.Provider) { p.Email = "Biuro <biuro@x.pl>" }), "provider.email"},
		{"website without scheme", mutate(func(p *providerv1.Provider) { p.Website = "www.x.pl" }), "provider.website"},
		{"bad phone", mutate(func(p *providerv1.Provider) { p.Phones[0].Number = "call us" }), "provider.phones[0].number"},
		{"unknown phone type", mutate(func(p *providerv1.Provider) { p.Phones[0].Type = "telegraph" }), "provider.phones[0].type"},
		{"accreditation without name", mutate(func(p *providerv1.Provider) { p.Accreditations[0].Name = "" }), "provider.accreditations[0].name"},
		{"accreditation bad date", mutate(func(p *providerv1.Provider) { p.Accreditations[0].ValidFrom = "1.01.2020" }), "provider.accreditations[0].valid_from"},
		{"accreditation ends before it starts", mutate(func(p *providerv1.Provider) { p.Accreditations[0].ValidUntil = "2019-12-31" }), "provider.accreditations[0].valid_until"},
		{"closed without reason", mutate(func(p *providerv1.Provider) { p.Status = providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED }), "provider.status_reason"},
		{"unknown status", mutate(func(p *providerv1.Provider) { p.Status = 9 }), "provider.status"},
		{"bad country", mutate(func(p *providerv1.Provider) { p.Address.Country = "Polska" }), "provider.address.country"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.client.CreateProvider(h.admin(t), &providerv1.CreateProviderRequest{Provider: c.p})
			code, _, _, fields := errorInfo(t, err)
			if code != codes.InvalidArgument || len(fields) != 1 || fields[c.field] == "" {
				t.Fatalf("got %v %v, want one violation of %s", code, fields, c.field)
			}
		})
	}
	if _, err := h.client.CreateProvider(h.admin(t), &providerv1.CreateProviderRequest{}); err == nil {
		t.Fatal("missing provider accepted")
	}
}

func TestListProvidersFiltersOrdersAndPages(t *testing.T) {
	h := start(t)
	ctx := h.as(t, "anonymous")
	names := []string{"Żłobek Miejski", "Zakład Aktywności", "Łączy Nas Pasja", "Lokalna Grupa", "Ośrodek Kultury", "Fundacja Ćma"}
	for i, n := range names {
		p := validProvider()
		p.DisplayName = n
		if i%2 == 0 {
			p.Kind = providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY
		}
		h.createProvider(t, p)
	}
	all, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range all.GetProviders() {
		got = append(got, p.GetDisplayName())
	}
	want := []string{"Fundacja Ćma", "Lokalna Grupa", "Łączy Nas Pasja", "Ośrodek Kultury", "Zakład Aktywności", "Żłobek Miejski"}
	if strings.Join(got, "|") != strings.Join(want, "|") || all.GetTotalSize() != 6 {
		t.Fatalf("Polish order: got %v", got)
	}
	f, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{Filter: `kind = PROVIDER_KIND_SOCIAL_ECONOMY_ENTITY AND display_name = "ż*"`})
	if err != nil || f.GetTotalSize() != 1 || f.GetProviders()[0].GetDisplayName() != "Żłobek Miejski" {
		t.Fatalf("filter: %v %v", f, err)
	}
	nip := all.GetProviders()[2].GetNip()
	byNIP, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{Filter: "nip = PL" + nip[:3] + "-" + nip[3:]})
	if err != nil || byNIP.GetTotalSize() != 1 || byNIP.GetProviders()[0].GetNip() != nip {
		t.Fatalf("filter by NIP: %v %v", byNIP, err)
	}
	// Pages of 4 then 2, in the same order; the token is bound to the query.
	p1, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{PageSize: 4, OrderBy: "display_name desc"})
	if err != nil || len(p1.GetProviders()) != 4 || p1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	p2, err := h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{PageSize: 4, OrderBy: "display_name desc", PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetProviders()) != 2 || p2.GetNextPageToken() != "" || p2.GetProviders()[1].GetDisplayName() != "Fundacja Ćma" {
		t.Fatalf("page 2: %v %v", p2, err)
	}
	_, err = h.client.ListProviders(ctx, &providerv1.ListProvidersRequest{PageSize: 4, PageToken: p1.GetNextPageToken()})
	wantErr(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN")
	for _, bad := range []*providerv1.ListProvidersRequest{
		{PageSize: -1}, {Filter: "colour = red"}, {Filter: "kind = FOUNDATION"}, {Filter: "kind ="}, {Filter: "kind = PROVIDER_KIND_GMINA_UNIT OR status = PROVIDER_STATUS_ACTIVE"},
		{Filter: `create_time > "yesterday"`}, {OrderBy: "nip"}, {OrderBy: "display_name sideways"},
	} {
		if _, err := h.client.ListProviders(ctx, bad); err == nil {
			t.Fatalf("accepted %v", bad)
		} else if code, _, _, _ := errorInfo(t, err); code != codes.InvalidArgument {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}
