package hsds

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeProviders is a small in-memory ProviderService with the RPCs the HSDS handler uses (GetProvider,
// ListProviders, ListAgreements), following provider_service.proto: page sizes and their caps, opaque
// page tokens refused when the other parameters change, total_size, display-name order with Polish
// collation, and exactly the filters the handler is expected to send (anything else is INVALID_ARGUMENT,
// so that a changed filter fails the tests instead of being ignored).
type fakeProviders struct {
	providerv1.UnimplementedProviderServiceServer

	mu         sync.Mutex
	providers  []*providerv1.Provider
	agreements []*providerv1.Agreement
	calls      map[string]int
	// getErr, when set, fails every GetProvider: a registry that answers, but badly.
	getErr error
	// hang, when set, makes GetProvider wait for its caller to give up: a registry that does not answer.
	hang bool
}

func newFakeProviders(providers []*providerv1.Provider, agreements []*providerv1.Agreement) *fakeProviders {
	return &fakeProviders{providers: providers, agreements: agreements, calls: map[string]int{}}
}

func (f *fakeProviders) count(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
}

func (f *fakeProviders) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeProviders) setGetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getErr = err
}

func (f *fakeProviders) setHang(hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = hang
}

func (f *fakeProviders) GetProvider(ctx context.Context, req *providerv1.GetProviderRequest) (*providerv1.Provider, error) {
	f.count("GetProvider")
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	for _, p := range f.providers {
		if p.GetName() == req.GetName() {
			return proto.Clone(p).(*providerv1.Provider), nil
		}
	}
	return nil, status.Error(codes.NotFound, "provider not found")
}

func (f *fakeProviders) ListProviders(_ context.Context, req *providerv1.ListProvidersRequest) (*providerv1.ListProvidersResponse, error) {
	f.count("ListProviders")
	size, err := pageSize(req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	var keep func(*providerv1.Provider) bool
	switch req.GetFilter() {
	case "":
		keep = func(*providerv1.Provider) bool { return true }
	case "status != PROVIDER_STATUS_CLOSED":
		keep = func(p *providerv1.Provider) bool {
			return p.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "the fake does not know the filter %q", req.GetFilter())
	}
	if req.GetOrderBy() != "" {
		return nil, status.Errorf(codes.InvalidArgument, "the fake does not know order_by %q", req.GetOrderBy())
	}
	key := fmt.Sprintf("providers:%q:%d", req.GetFilter(), req.GetPageSize())
	offset, err := readToken(req.GetPageToken(), key)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	var matched []*providerv1.Provider
	for _, p := range f.providers {
		if keep(p) {
			matched = append(matched, p)
		}
	}
	f.mu.Unlock()
	polishCol := polishCollator()
	sort.SliceStable(matched, func(i, j int) bool {
		return polishCol.CompareString(matched[i].GetDisplayName(), matched[j].GetDisplayName()) < 0
	})
	resp := &providerv1.ListProvidersResponse{TotalSize: int32(len(matched))}
	end := min(offset+size, len(matched))
	for _, p := range matched[min(offset, len(matched)):end] {
		resp.Providers = append(resp.Providers, proto.Clone(p).(*providerv1.Provider))
	}
	if end < len(matched) {
		resp.NextPageToken = makeToken(end, key)
	}
	return resp, nil
}

var agreementFilterRE = regexp.MustCompile(`^status = AGREEMENT_STATUS_ACTIVE AND active_on = "(\d{4}-\d{2}-\d{2})"$`)

func (f *fakeProviders) ListAgreements(_ context.Context, req *providerv1.ListAgreementsRequest) (*providerv1.ListAgreementsResponse, error) {
	f.count("ListAgreements")
	size, err := pageSize(req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	m := agreementFilterRE.FindStringSubmatch(req.GetFilter())
	if m == nil {
		return nil, status.Errorf(codes.InvalidArgument, "the fake does not know the filter %q", req.GetFilter())
	}
	day := m[1]
	key := fmt.Sprintf("agreements:%s:%q:%d", req.GetParent(), req.GetFilter(), req.GetPageSize())
	offset, err := readToken(req.GetPageToken(), key)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	var matched []*providerv1.Agreement
	for _, a := range f.agreements {
		parent := a.GetName()[:len("providers/")+36]
		if (req.GetParent() == "providers/-" || parent == req.GetParent()) &&
			a.GetStatus() == providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE &&
			a.GetStartDate() <= day && (a.GetEndDate() == "" || day <= a.GetEndDate()) {
			matched = append(matched, a)
		}
	}
	f.mu.Unlock()
	slices.SortStableFunc(matched, func(a, b *providerv1.Agreement) int {
		return cmp.Compare(a.GetStartDate(), b.GetStartDate())
	})
	resp := &providerv1.ListAgreementsResponse{TotalSize: int32(len(matched))}
	end := min(offset+size, len(matched))
	for _, a := range matched[min(offset, len(matched)):end] {
		resp.Agreements = append(resp.Agreements, proto.Clone(a).(*providerv1.Agreement))
	}
	if end < len(matched) {
		resp.NextPageToken = makeToken(end, key)
	}
	return resp, nil
}

// startProviders serves fake over gRPC on a loopback port and returns a client of it and a function that
// stops the server (the registry going down). Both are closed when the test ends.
func startProviders(t *testing.T, fake *fakeProviders) (providerv1.ProviderServiceClient, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	providerv1.RegisterProviderServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return providerv1.NewProviderServiceClient(conn), srv.Stop
}

// Fixture provider ids. cusProviderID is the provider the fixture care service already names.
const (
	cusProviderID     = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9001"
	coopProviderID    = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9002"
	assocProviderID   = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9003"
	groupProviderID   = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9004"
	closedProviderID  = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9005"
	companyProviderID = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b9006"
	unknownProviderID = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b90ff"
)

// fixtureProviders are six providers of the CUS in Rawicz covering every kind of data the mapping reads:
// a gmina unit with REGON, phones (one with an extension) and a region; a social cooperative with a legal
// name, a 14-digit REGON, KRS, an address without region (the voivodeship comes from TERYT) and an invalid
// e-mail and website; an association without description or address; an informal group without
// identifiers; a closed foundation; and a suspended company.
func fixtureProviders() []*providerv1.Provider {
	return []*providerv1.Provider{
		{
			Name:        "providers/" + cusProviderID,
			DisplayName: "Centrum Usług Społecznych w Rawiczu",
			LegalName:   "Centrum Usług Społecznych w Rawiczu",
			Description: "Gminna jednostka organizacyjna, która organizuje i świadczy usługi społeczne dla mieszkańców gminy Rawicz.",
			Kind:        providerv1.ProviderKind_PROVIDER_KIND_GMINA_UNIT,
			Nip:         "6991234567",
			Regon:       "990302013",
			Address: &typev1.Address{Address_1: "ul. Kamińskiego 5a", City: "Rawicz", PostalCode: "63-900",
				Region: "wielkopolskie", Country: "PL"},
			TerytCode: "3022053",
			Phones: []*typev1.Phone{
				{Number: "+48 65 546 23 00", Type: "voice", Description: "sekretariat, pon.-pt. 7:30-15:30"},
				{Number: "+48 65 546 23 10", Extension: "21", Type: "voice"},
				{Number: ""},
			},
			Email:   "sekretariat@cus.rawicz.example",
			Website: "https://cus.rawicz.example",
			Status:  providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE,
			Accreditations: []*providerv1.Accreditation{
				{Name: "Standard usług opiekuńczych", Issuer: "Wojewoda Wielkopolski", ValidFrom: "2024-01-01"},
			},
			CreateTime: ts("2025-01-02T08:00:00Z"),
			UpdateTime: ts("2026-01-05T08:00:00Z"),
		},
		{
			Name:        "providers/" + coopProviderID,
			DisplayName: "Spółdzielnia Socjalna „Smaki Rawicza”",
			LegalName:   "Spółdzielnia Socjalna „Smaki Rawicza” w Rawiczu",
			Description: "Bistro i catering: posiłki dla seniorów i dzieci, praca dla osób wychodzących z bezrobocia.",
			Kind:        providerv1.ProviderKind_PROVIDER_KIND_SOCIAL_COOPERATIVE,
			Nip:         "8567346215",
			Regon:       "30123456700015",
			Krs:         "0000123456",
			Address:     &typev1.Address{Address_1: "Rynek 7", City: "Rawicz", PostalCode: "63-900"},
			TerytCode:   "3022053",
			Email:       "Smaki Rawicza <bistro@smaki.example>",
			Website:     "smaki.example",
		},
		{
			Name:        "providers/" + assocProviderID,
			DisplayName: "Stowarzyszenie „Razem dla Seniorów”",
			Kind:        providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			Nip:         "6991112233",
			Regon:       "301234567",
			Krs:         "0000654321",
			Status:      providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE,
		},
		{
			Name:        "providers/" + groupProviderID,
			DisplayName: "Wolontariusze z Sarnowy",
			Description: "Sąsiedzka pomoc w zakupach i drobnych naprawach.",
			Kind:        providerv1.ProviderKind_PROVIDER_KIND_INFORMAL_GROUP,
			Address:     &typev1.Address{City: "Sarnowa", PostalCode: "63-900"},
			Phones:      []*typev1.Phone{{Number: "+48 600 700 800", Type: "cell"}},
		},
		{
			Name:         "providers/" + closedProviderID,
			DisplayName:  "Fundacja „Dawna Pomoc”",
			Kind:         providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			Nip:          "6990000000",
			Regon:        "300000000",
			Status:       providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED,
			StatusReason: "likwidacja fundacji",
		},
		{
			Name:         "providers/" + companyProviderID,
			DisplayName:  "Opiekunki Domowe sp. z o.o.",
			Kind:         providerv1.ProviderKind_PROVIDER_KIND_PRIVATE_COMPANY,
			Nip:          "6993334455",
			Regon:        "302223334",
			Krs:          "0000777888",
			Status:       providerv1.ProviderStatus_PROVIDER_STATUS_SUSPENDED,
			StatusReason: "kontrola wojewody do 31.12.2026",
		},
	}
}

// publishedOrder are the ids of the published fixture providers (all but the closed one) by display name.
var publishedOrder = []string{cusProviderID, companyProviderID, coopProviderID, assocProviderID, groupProviderID}

// fixtureAgreements are the agreements of the CUS provider: two in force with different funding (and one
// more repeating one of them), one terminated and one ended, whose funding must not be published.
func fixtureAgreements() []*providerv1.Agreement {
	agr := func(n int, status providerv1.AgreementStatus, start, end string, f *providerv1.Funding) *providerv1.Agreement {
		return &providerv1.Agreement{
			Name:       "providers/" + cusProviderID + "/agreements/" + uuid.NewSHA1(uuid.NameSpaceOID, []byte("agr-"+strconv.Itoa(n))).String(),
			Service:    "services/" + careID,
			Status:     status,
			StartDate:  start,
			EndDate:    end,
			Funding:    f,
			LegalBasis: providerv1.LegalBasis_LEGAL_BASIS_IN_HOUSE_UNIT,
		}
	}
	active, terminated := providerv1.AgreementStatus_AGREEMENT_STATUS_ACTIVE, providerv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED
	budget := &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET}
	return []*providerv1.Agreement{
		agr(1, active, "2024-01-01", "", budget),
		agr(2, active, "2025-01-01", "2099-12-31", &providerv1.Funding{
			Source: providerv1.FundingSource_FUNDING_SOURCE_EU_PROJECT, ProjectCode: "FEWP.06.13-IZ.00-0001/24",
			Description: "Usługi społeczne w gminie Rawicz",
		}),
		agr(3, active, "2025-06-01", "", budget),
		agr(4, terminated, "2024-01-01", "", &providerv1.Funding{
			Source: providerv1.FundingSource_FUNDING_SOURCE_STATE_PROGRAMME, Description: "Program „Senior+”",
		}),
		agr(5, active, "2020-01-01", "2020-12-31", &providerv1.Funding{
			Source: providerv1.FundingSource_FUNDING_SOURCE_OTHER, Description: "Darowizna",
		}),
	}
}

// generatedProviders are n published providers named so that their display-name order is their index
// order, with every third one closed (and so left out): ids returns the published ones in order.
func generatedProviders(n int) (all []*providerv1.Provider, ids []string) {
	for i := range n {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("prov-"+strconv.Itoa(i))).String()
		p := &providerv1.Provider{
			Name:        "providers/" + id,
			DisplayName: fmt.Sprintf("Organizacja %04d", i),
			Kind:        providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
			Nip:         fmt.Sprintf("%010d", 1000000000+i),
			UpdateTime:  ts("2026-01-01T00:00:00Z"),
		}
		if i%3 == 2 {
			p.Status = providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED
		} else {
			ids = append(ids, id)
		}
		all = append(all, p)
	}
	return all, ids
}

// fakeClock is the time of the organization cache, moved by tests.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
