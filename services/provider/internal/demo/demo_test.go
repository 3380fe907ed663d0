package demo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

var (
	providerIDRE  = regexp.MustCompile(`^0194c050-3022-7053-b000-0000000000\d\d$`)
	agreementIDRE = regexp.MustCompile(`^0194c050-3022-7053-c000-0000000000\d\d$`)
)

// TestDemoRegistryIsValidAndFictional: every demo provider and agreement passes the rules, the identifiers are
// visibly fictional (NIP prefix 000, KRS above any issued), and every agreement covers a service of the demo
// catalogue.
func TestDemoRegistryIsValidAndFictional(t *testing.T) {
	providers, agreements, err := Rawicz()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]providerv1.ProviderKind{}
	seenKinds := map[providerv1.ProviderKind]bool{}
	for _, req := range providers {
		p := proto.Clone(req.GetProvider()).(*providerv1.Provider)
		if !providerIDRE.MatchString(req.GetProviderId()) {
			t.Errorf("provider id %q", req.GetProviderId())
		}
		domain.NormaliseProvider(p)
		var v domain.Violations
		domain.ValidateProvider(p, "", &v)
		if v.Len() > 0 {
			t.Errorf("%s: %v", p.GetDisplayName(), v.List())
		}
		if n := p.GetNip(); n != "" && !strings.HasPrefix(n, "000") {
			t.Errorf("%s: NIP %s is not visibly fictional", p.GetDisplayName(), n)
		}
		if k := p.GetKrs(); k != "" && k < "0009000000" {
			t.Errorf("%s: KRS %s may have been issued", p.GetDisplayName(), k)
		}
		kinds["providers/"+req.GetProviderId()] = p.GetKind()
		seenKinds[p.GetKind()] = true
	}
	for _, k := range []providerv1.ProviderKind{providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT, providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
		providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE, providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP} {
		if !seenKinds[k] {
			t.Errorf("no demo provider of kind %v", k)
		}
	}
	catalogue := catalogueServices(t)
	for _, req := range agreements {
		a := proto.Clone(req.GetAgreement()).(*providerv1.Agreement)
		if !agreementIDRE.MatchString(req.GetAgreementId()) {
			t.Errorf("agreement id %q", req.GetAgreementId())
		}
		domain.NormaliseAgreement(a)
		var v domain.Violations
		domain.ValidateAgreement(a, "", &v)
		if v.Len() > 0 {
			t.Errorf("%s: %v", a.GetDisplayName(), v.List())
		}
		kind, ok := kinds[req.GetParent()]
		if !ok {
			t.Errorf("%s: unknown parent %s", a.GetDisplayName(), req.GetParent())
		}
		if fits, why := domain.LegalBasisFits(kind, a.GetLegalBasis()); !fits {
			t.Errorf("%s: %s", a.GetDisplayName(), why)
		}
		svc, ok := catalogue[a.GetService()]
		if !ok {
			t.Errorf("%s: %s is not a service of the demo catalogue", a.GetDisplayName(), a.GetService())
			continue
		}
		// The catalogue's rules, as CreateAgreement applies them (the demo is loaded through it).
		if err := domain.CheckServiceOffered(svc, "service"); err != nil {
			t.Errorf("%s: %v", a.GetDisplayName(), err)
		}
		if err := domain.CheckNotContractedOut(a, svc, "service"); err != nil {
			t.Errorf("%s: %v", a.GetDisplayName(), err)
		}
	}
}

// catalogueServices reads the services of the catalogue's demo data, which the agreements must cover.
func catalogueServices(t *testing.T) map[string]*cataloguev1.Service {
	t.Helper()
	path := filepath.Join("..", "..", "..", "catalogue", "internal", "demo", "rawicz.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the demo catalogue (%s) is needed to check the agreements' services: %v", path, err)
	}
	var f struct{ Services []json.RawMessage }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]*cataloguev1.Service{}
	for _, raw := range f.Services {
		req := &cataloguev1.CreateServiceRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, req); err != nil {
			t.Fatal(err)
		}
		out["services/"+req.GetServiceId()] = req.GetService()
	}
	return out
}
