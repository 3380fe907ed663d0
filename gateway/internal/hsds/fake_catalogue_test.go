package hsds

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/google/uuid"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeCatalogue is a small in-memory CatalogueService that follows the contract of catalogue_service.proto
// closely enough to exercise the HSDS handler for real over gRPC: page sizes and their caps, opaque page
// tokens that are refused when the other parameters change, total_size, the AIP-160 filter fields the
// handler uses (area, target_group, provider, update_time), and search with its any-of filters and
// include_inactive.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer

	mu       sync.Mutex
	services []*cataloguev1.Service
	calls    map[string]int
	// taxonomyErr, when set, fails ListAreas once (then clears itself): a catalogue that is briefly down.
	taxonomyErr error
}

func newFakeCatalogue(services ...*cataloguev1.Service) *fakeCatalogue {
	return &fakeCatalogue{services: services, calls: map[string]int{}}
}

func (f *fakeCatalogue) count(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
}

func (f *fakeCatalogue) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeCatalogue) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[string]int{}
}

// internalFailureID makes GetService fail with an internal error whose text must never reach HTTP clients.
const internalFailureID = "00000000-0000-4000-8000-000000000500"

func (f *fakeCatalogue) GetService(_ context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	f.count("GetService")
	if req.GetName() == "services/"+internalFailureID {
		return nil, status.Error(codes.Internal, "bbolt: /var/lib/cus/catalogue.db: page 1234 corrupt")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		if s.GetName() == req.GetName() {
			return proto.Clone(s).(*cataloguev1.Service), nil
		}
	}
	return nil, status.Error(codes.NotFound, "service not found")
}

var clauseRE = regexp.MustCompile(`^(\w+)\s*(=|!=|>=|<=|>|<)\s*(.+)$`)

// polishCollator returns a collator for Polish. A Collator is not safe for concurrent use, and the fakes
// serve concurrent calls, so each sort makes its own.
func polishCollator() *collate.Collator { return collate.New(language.Polish) }

// filterServices applies a ListServices filter (the subset of fields the handler sends).
func filterServices(all []*cataloguev1.Service, filter string) ([]*cataloguev1.Service, error) {
	type pred func(*cataloguev1.Service) bool
	var preds []pred
	if strings.TrimSpace(filter) != "" {
		for _, clause := range strings.Split(filter, " AND ") {
			m := clauseRE.FindStringSubmatch(strings.TrimSpace(clause))
			if m == nil {
				return nil, status.Errorf(codes.InvalidArgument, "cannot parse filter clause %q", clause)
			}
			field, op, val := m[1], m[2], m[3]
			switch field {
			case "area":
				a, ok := cataloguev1.Area_value[val]
				if !ok || op != "=" {
					return nil, status.Errorf(codes.InvalidArgument, "bad area clause %q", clause)
				}
				preds = append(preds, func(s *cataloguev1.Service) bool {
					for _, x := range s.GetAreas() {
						if x == cataloguev1.Area(a) {
							return true
						}
					}
					return false
				})
			case "target_group":
				g, ok := cataloguev1.TargetGroup_value[val]
				if !ok || op != "=" {
					return nil, status.Errorf(codes.InvalidArgument, "bad target_group clause %q", clause)
				}
				preds = append(preds, func(s *cataloguev1.Service) bool {
					for _, x := range s.GetTargetGroups() {
						if x == cataloguev1.TargetGroup(g) {
							return true
						}
					}
					return false
				})
			case "provider":
				name := val
				if unq, err := strconv.Unquote(val); err == nil {
					name = unq
				}
				id, ok := strings.CutPrefix(name, "providers/")
				if op != "=" || !ok || uuid.Validate(id) != nil {
					return nil, status.Errorf(codes.InvalidArgument, "bad provider clause %q", clause)
				}
				preds = append(preds, func(s *cataloguev1.Service) bool {
					return slices.Contains(s.GetProviders(), name)
				})
			case "update_time":
				unq, err := strconv.Unquote(val)
				if err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "update_time must be quoted: %q", clause)
				}
				t, err := time.Parse(time.RFC3339Nano, unq)
				if err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "bad time in %q", clause)
				}
				preds = append(preds, func(s *cataloguev1.Service) bool {
					u := s.GetUpdateTime().AsTime()
					switch op {
					case ">":
						return u.After(t)
					case ">=":
						return !u.Before(t)
					case "<":
						return u.Before(t)
					case "<=":
						return !u.After(t)
					}
					return false
				})
			default:
				return nil, status.Errorf(codes.InvalidArgument, "unknown filter field %q", field)
			}
		}
	}
	var out []*cataloguev1.Service
	for _, s := range all {
		ok := true
		for _, p := range preds {
			ok = ok && p(s)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func sortByName(ss []*cataloguev1.Service) {
	polishCol := polishCollator()
	sort.SliceStable(ss, func(i, j int) bool {
		return polishCol.CompareString(ss[i].GetDisplayName(), ss[j].GetDisplayName()) < 0
	})
}

// Page tokens carry the offset and a key of the other parameters, like a real server's opaque tokens.
func makeToken(offset int, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "|" + key))
}

func readToken(token, key string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, status.Error(codes.InvalidArgument, "malformed page token")
	}
	off, k, ok := strings.Cut(string(raw), "|")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || k != key {
		return 0, status.Error(codes.InvalidArgument, "page token was issued for other parameters")
	}
	return n, nil
}

func pageSize(requested, def, maxSize int32) (int, error) {
	switch {
	case requested < 0:
		return 0, status.Error(codes.InvalidArgument, "page_size must not be negative")
	case requested == 0:
		return int(def), nil
	case requested > maxSize:
		return int(maxSize), nil
	}
	return int(requested), nil
}

func (f *fakeCatalogue) ListServices(_ context.Context, req *cataloguev1.ListServicesRequest) (*cataloguev1.ListServicesResponse, error) {
	f.count("ListServices")
	size, err := pageSize(req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("list:%q:%d", req.GetFilter(), req.GetPageSize())
	offset, err := readToken(req.GetPageToken(), key)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	matched, err := filterServices(f.services, req.GetFilter())
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sortByName(matched)
	resp := &cataloguev1.ListServicesResponse{TotalSize: int32(len(matched))}
	end := min(offset+size, len(matched))
	for _, s := range matched[min(offset, len(matched)):end] {
		resp.Services = append(resp.Services, proto.Clone(s).(*cataloguev1.Service))
	}
	if end < len(matched) {
		resp.NextPageToken = makeToken(end, key)
	}
	return resp, nil
}

func (f *fakeCatalogue) SearchServices(_ context.Context, req *cataloguev1.SearchServicesRequest) (*cataloguev1.SearchServicesResponse, error) {
	f.count("SearchServices")
	if len([]rune(req.GetQuery())) > 200 {
		return nil, status.Error(codes.InvalidArgument, "query is longer than 200 characters")
	}
	size, err := pageSize(req.GetPageSize(), 20, 100)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("search:%q:%v:%v:%v:%d", req.GetQuery(), req.GetAreas(), req.GetTargetGroups(),
		req.GetIncludeInactive(), req.GetPageSize())
	offset, err := readToken(req.GetPageToken(), key)
	if err != nil {
		return nil, err
	}
	q := fold(strings.TrimSpace(req.GetQuery()))
	var matched []*cataloguev1.Service
	f.mu.Lock()
	for _, s := range f.services {
		st := s.GetStatus()
		if !req.GetIncludeInactive() && st != cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE &&
			st != cataloguev1.ServiceStatus_SERVICE_STATUS_UNSPECIFIED {
			continue
		}
		if q != "" && !strings.Contains(fold(s.GetDisplayName()+" "+s.GetAlternateName()+" "+s.GetDescription()), q) {
			continue
		}
		if len(req.GetAreas()) > 0 && !anyArea(s.GetAreas(), req.GetAreas()) {
			continue
		}
		if len(req.GetTargetGroups()) > 0 && !anyGroup(s.GetTargetGroups(), req.GetTargetGroups()) {
			continue
		}
		matched = append(matched, s)
	}
	f.mu.Unlock()
	sortByName(matched) // stands in for relevance: any stable order will do
	resp := &cataloguev1.SearchServicesResponse{TotalSize: int32(len(matched))}
	end := min(offset+size, len(matched))
	for _, s := range matched[min(offset, len(matched)):end] {
		resp.Results = append(resp.Results, &cataloguev1.SearchResult{Service: proto.Clone(s).(*cataloguev1.Service), Score: 1})
	}
	if end < len(matched) {
		resp.NextPageToken = makeToken(end, key)
	}
	return resp, nil
}

func anyArea(have, want []cataloguev1.Area) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func anyGroup(have, want []cataloguev1.TargetGroup) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// areaNames are the 14 areas of art. 2 ust. 1, in the order of the act.
var areaNames = [][2]string{
	{"polityka prorodzinna", "family policy"},
	{"wspieranie rodziny", "family support"},
	{"system pieczy zastępczej", "foster care"},
	{"pomoc społeczna", "social assistance"},
	{"promocja i ochrona zdrowia", "health promotion and protection"},
	{"wspieranie osób niepełnosprawnych", "support of persons with disabilities"},
	{"edukacja publiczna", "public education"},
	{"przeciwdziałanie bezrobociu", "counteracting unemployment"},
	{"kultura", "culture"},
	{"kultura fizyczna i turystyka", "physical culture and tourism"},
	{"pobudzanie aktywności obywatelskiej", "civic activity"},
	{"mieszkalnictwo", "housing"},
	{"ochrona środowiska", "environmental protection"},
	{"reintegracja zawodowa i społeczna", "vocational and social reintegration"},
}

var groupNames = [][2]string{
	{"dzieci do lat 3", "children under 3"},
	{"dzieci i młodzież", "children and youth"},
	{"rodziny", "families"},
	{"seniorzy", "seniors"},
	{"osoby z niepełnosprawnościami", "persons with disabilities"},
	{"opiekunowie", "carers"},
	{"osoby bezrobotne", "unemployed persons"},
	{"wszyscy mieszkańcy", "all residents"},
}

// The term ids stand in for the catalogue's own stable UUIDs.
func areaTermID(a cataloguev1.Area) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("test-area-"+a.String())).String()
}

func groupTermID(g cataloguev1.TargetGroup) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("test-group-"+g.String())).String()
}

func (f *fakeCatalogue) ListAreas(context.Context, *cataloguev1.ListAreasRequest) (*cataloguev1.ListAreasResponse, error) {
	f.count("ListAreas")
	f.mu.Lock()
	err := f.taxonomyErr
	f.taxonomyErr = nil
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.ListAreasResponse{}
	for i, n := range areaNames {
		a := cataloguev1.Area(i + 1)
		resp.Areas = append(resp.Areas, &cataloguev1.AreaInfo{
			Area: a, TermId: areaTermID(a), Point: int32(i + 1), NamePl: n[0], NameEn: n[1],
		})
	}
	return resp, nil
}

func (f *fakeCatalogue) ListTargetGroups(context.Context, *cataloguev1.ListTargetGroupsRequest) (*cataloguev1.ListTargetGroupsResponse, error) {
	f.count("ListTargetGroups")
	resp := &cataloguev1.ListTargetGroupsResponse{}
	for i, n := range groupNames {
		g := cataloguev1.TargetGroup(i + 1)
		resp.TargetGroups = append(resp.TargetGroups, &cataloguev1.TargetGroupInfo{
			TargetGroup: g, TermId: groupTermID(g), NamePl: n[0], NameEn: n[1],
		})
	}
	return resp, nil
}

// startCatalogue serves fake over gRPC on a loopback port and returns a client of it. The server and the
// connection are closed when the test ends.
func startCatalogue(t *testing.T, fake *fakeCatalogue) (cataloguev1.CatalogueServiceClient, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return cataloguev1.NewCatalogueServiceClient(conn), srv.Stop
}

// Fixture ids.
const (
	careID     = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b0001"
	clubID     = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b0002"
	nurseryID  = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b0003"
	legalAidID = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b0004"
	cusLocID   = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b1001"
	clubLocID  = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b1002"
	nursLoc1ID = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b1003"
	nursLoc2ID = "0195f3a2-7c1e-7a10-9a52-3f6a1c0b1004"
)

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func hours(day cataloguev1.Weekday, opens, closes, note string) *cataloguev1.OpeningHours {
	return &cataloguev1.OpeningHours{Day: day, OpensAt: opens, ClosesAt: closes, Description: note}
}

func weekdays(opens, closes string) []*cataloguev1.OpeningHours {
	var out []*cataloguev1.OpeningHours
	for d := cataloguev1.Weekday_WEEKDAY_MONDAY; d <= cataloguev1.Weekday_WEEKDAY_FRIDAY; d++ {
		out = append(out, hours(d, opens, closes, ""))
	}
	return out
}

// fixtureServices are four services of a CUS in Rawicz that together fill every field the mapping reads:
// fees with income bands and exemption, a flat fee, free services, locations with and without region,
// hours with notes and "24:00", phones with numeric and non-numeric extensions, accessibility, languages,
// ages including 0, and all statuses but inactive.
func fixtureServices() []*cataloguev1.Service {
	to := func(n int32) *int32 { return &n }
	age := func(n int32) *int32 { return &n }
	care := &cataloguev1.Service{
		Name:          "services/" + careID,
		DisplayName:   "Usługi opiekuńcze w miejscu zamieszkania",
		AlternateName: "Opieka domowa",
		Description: "Pomoc w codziennych czynnościach, opieka higieniczna i zalecona przez lekarza pielęgnacja " +
			"osób, które z powodu wieku lub choroby jej potrzebują, a rodzina nie może jej zapewnić.",
		Status: cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE,
		Url:    "https://cus.rawicz.pl/uslugi/opiekuncze",
		Email:  "opieka@cus.rawicz.pl",
		Phones: []*typev1.Phone{
			{Number: "+48 65 546 23 00", Extension: "12", Type: "voice", Description: "sekretariat, pon.-pt. 7:30-15:30"},
			{Number: "+48 600 100 200", Extension: "12a", Type: "cell"},
			{Number: "+48 65 546 23 01", Extension: "012", Type: "fax"},
		},
		ApplicationProcess:     "Wniosek w CUS, pokój 12, lub przez ePUAP; wywiad środowiskowy w ciągu 14 dni.",
		EligibilityDescription: "Osoby samotne lub osoby, którym rodzina nie może zapewnić pomocy.",
		MinimumAge:             age(18),
		Languages:              []string{"pl", "uk", "PL"},
		Accreditations:         []string{"Standard usług opiekuńczych 2023", " ", "Certyfikat Dostępności"},
		ServiceAreas: []*cataloguev1.GeographicArea{
			{Name: "Gmina Rawicz", Description: "Cała gmina, w tym sołectwa.", TerytCode: "3022053"},
		},
		Locations: []*cataloguev1.Location{{
			Id:          cusLocID,
			Name:        "Centrum Usług Społecznych w Rawiczu",
			Description: "Parter, wejście od ul. Kamińskiego.",
			Address: &typev1.Address{Address_1: "ul. Kamińskiego 8", City: "Rawicz", PostalCode: "63-900",
				Region: "wielkopolskie", Country: "pl"},
			TerytCode:   "3022053",
			Coordinates: &typev1.LatLng{Latitude: 51.6097, Longitude: 16.8580},
			Accessibility: &cataloguev1.Accessibility{
				WheelchairAccessible: true,
				Description:          "winda, toaleta dla osób z niepełnosprawnościami, pętla indukcyjna",
				Url:                  "https://cus.rawicz.pl/deklaracja-dostepnosci",
			},
			OpeningHours: append(weekdays("07:30", "15:30"),
				hours(cataloguev1.Weekday_WEEKDAY_TUESDAY, "15:30", "17:00", "po wcześniejszym umówieniu")),
		}},
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, cataloguev1.Area_AREA_DISABILITY_SUPPORT},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS, cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES},
		Providers:    []string{"providers/0195f3a2-7c1e-7a10-9a52-3f6a1c0b9001"},
		OriginTerc:   "3022053",
		Fee: &cataloguev1.FeeRule{
			PriceGrosze: 3550,
			Currency:    "PLN",
			Unit:        cataloguev1.FeeUnit_FEE_UNIT_HOUR,
			LegalBasis:  &typev1.Resolution{Number: "XLII/345/2022", AdoptedOn: "2022-03-24"},
			IncomeBands: []*cataloguev1.IncomeBand{
				{FromPercent: 0, ToPercent: to(100), PayablePercent: 0},
				{FromPercent: 100, ToPercent: to(150), PayablePercent: 10},
				{FromPercent: 150, ToPercent: to(250), PayablePercent: 35},
				{FromPercent: 250, PayablePercent: 100},
			},
			Description: "Odpłatność zależy od dochodu na osobę w rodzinie.",
		},
		CreateTime: ts("2025-06-01T08:00:00Z"),
		UpdateTime: ts("2026-01-10T10:00:00Z"),
		Etag:       "W/\"3\"",
	}
	club := &cataloguev1.Service{
		Name:        "services/" + clubID,
		DisplayName: "Klub Seniora „Pod Lipami”",
		Description: "Spotkania, zajęcia ruchowe, wycieczki i warsztaty dla seniorów.",
		Status:      cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED,
		MinimumAge:  age(60),
		Languages:   []string{"pl"},
		Locations: []*cataloguev1.Location{{
			Id:        clubLocID,
			Name:      "Dom Kultury",
			Address:   &typev1.Address{Address_1: "Rynek 1", City: "Rawicz", PostalCode: "63-900"},
			TerytCode: "3022053",
			OpeningHours: []*cataloguev1.OpeningHours{
				hours(cataloguev1.Weekday_WEEKDAY_WEDNESDAY, "10:00", "14:00", ""),
				hours(cataloguev1.Weekday_WEEKDAY_MONDAY, "10:00", "14:00", ""),
				hours(cataloguev1.Weekday_WEEKDAY_SATURDAY, "18:00", "24:00", "potańcówka"),
			},
		}},
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE, cataloguev1.Area_AREA_CIVIC_ACTIVITY},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS},
		CreateTime:   ts("2025-09-01T08:00:00Z"),
		UpdateTime:   ts("2026-02-15T12:30:00Z"),
	}
	nursery := &cataloguev1.Service{
		Name:        "services/" + nurseryID,
		DisplayName: "Żłobek Miejski „Promyk”",
		Description: "Opieka nad dziećmi od 20. tygodnia życia do 3 lat, 10 godzin dziennie.",
		Status:      cataloguev1.ServiceStatus_SERVICE_STATUS_UNSPECIFIED,
		Url:         "https://zlobek.rawicz.pl/",
		Email:       "not an e-mail",
		MinimumAge:  age(0),
		MaximumAge:  age(3),
		Phones:      []*typev1.Phone{{Number: "+48 65 545 11 22"}, {Number: ""}},
		Locations: []*cataloguev1.Location{
			{
				Id:           nursLoc1ID,
				Name:         "Żłobek, budynek A",
				Address:      &typev1.Address{Address_1: "ul. Szkolna 4", Address_2: "budynek A", City: "Rawicz", PostalCode: "63-900", Region: "wielkopolskie"},
				TerytCode:    "3022053",
				OpeningHours: weekdays("06:30", "16:30"),
			},
			{
				Id:          nursLoc2ID,
				Name:        "Żłobek, filia w Sarnowie",
				TerytCode:   "3022053",
				Coordinates: &typev1.LatLng{Latitude: 51.6311, Longitude: 16.8902},
			},
		},
		Areas:        []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_POLICY},
		TargetGroups: []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3, cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES},
		Fee: &cataloguev1.FeeRule{
			PriceGrosze: 60000,
			Unit:        cataloguev1.FeeUnit_FEE_UNIT_MONTH,
			LegalBasis:  &typev1.Resolution{Number: "XX/150/2024"},
		},
		CreateTime: ts("2025-01-15T08:00:00Z"),
		UpdateTime: ts("2026-03-01T00:00:00Z"),
	}
	legalAid := &cataloguev1.Service{
		Name:        "services/" + legalAidID,
		DisplayName: "Punkt nieodpłatnej pomocy prawnej",
		Status:      cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT,
		Areas:       []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE},
		TargetGroups: []cataloguev1.TargetGroup{
			cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS,
		},
		Fee:        &cataloguev1.FeeRule{LegalBasis: &typev1.Resolution{Number: "V/40/2019", AdoptedOn: "2019-02-28"}},
		UpdateTime: ts("2025-12-01T09:15:30.5Z"),
	}
	return []*cataloguev1.Service{care, club, nursery, legalAid}
}

// generatedServices are n plain services named so that their display-name order is their index order.
func generatedServices(n int) []*cataloguev1.Service {
	var out []*cataloguev1.Service
	for i := range n {
		out = append(out, &cataloguev1.Service{
			Name:        "services/" + uuid.NewSHA1(uuid.NameSpaceOID, []byte("gen-"+strconv.Itoa(i))).String(),
			DisplayName: fmt.Sprintf("Usługa %04d", i),
			Areas:       []cataloguev1.Area{cataloguev1.Area(i%14 + 1)},
			UpdateTime:  timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)),
		})
	}
	return out
}
