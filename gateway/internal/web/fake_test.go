package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// fakeCatalogue is a small in-memory CatalogueService over real gRPC that follows the contract closely enough
// for the pages: page sizes, page tokens bound to the other parameters (refused when they change, as the real
// one does), total and facet counts, the filters the pages send, and a "did you mean" from its own words. It
// records every search request, so tests can check what a page asked for.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer

	mu         sync.Mutex
	services   []*cataloguev1.Service
	programmes []*cataloguev1.Programme
	searches   []*cataloguev1.SearchServicesRequest
}

func (f *fakeCatalogue) lastSearch() *cataloguev1.SearchServicesRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.searches) == 0 {
		return nil
	}
	return f.searches[len(f.searches)-1]
}

func (f *fakeCatalogue) searchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.searches)
}

func (f *fakeCatalogue) GetService(_ context.Context, req *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		if s.GetName() == req.GetName() {
			return s, nil
		}
	}
	return nil, grpcErr(codes.NotFound, "SERVICE_NOT_FOUND")
}

func (f *fakeCatalogue) GetProgramme(_ context.Context, req *cataloguev1.GetProgrammeRequest) (*cataloguev1.Programme, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.programmes {
		if p.GetName() == req.GetName() {
			return p, nil
		}
	}
	return nil, grpcErr(codes.NotFound, "PROGRAMME_NOT_FOUND")
}

func (f *fakeCatalogue) ListProgrammes(_ context.Context, req *cataloguev1.ListProgrammesRequest) (*cataloguev1.ListProgrammesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	page, next, err := pageOf(f.programmes, req.GetPageToken(), req.GetPageSize(), 50, 1000, "programmes")
	return &cataloguev1.ListProgrammesResponse{Programmes: page, NextPageToken: next}, err
}

func (f *fakeCatalogue) ListServices(_ context.Context, req *cataloguev1.ListServicesRequest) (*cataloguev1.ListServicesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []*cataloguev1.Service
	for _, s := range f.services {
		switch req.GetFilter() {
		case "":
		case "status = SERVICE_STATUS_ACTIVE":
			if st := s.GetStatus(); st != cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE && st != 0 {
				continue
			}
		default:
			return nil, grpcErr(codes.InvalidArgument, "INVALID_FILTER")
		}
		list = append(list, s)
	}
	page, next, err := pageOf(list, req.GetPageToken(), req.GetPageSize(), 50, 1000, "list"+req.GetFilter())
	return &cataloguev1.ListServicesResponse{Services: page, NextPageToken: next, TotalSize: int32(len(list))}, err
}

func (f *fakeCatalogue) ListAreas(context.Context, *cataloguev1.ListAreasRequest) (*cataloguev1.ListAreasResponse, error) {
	out := &cataloguev1.ListAreasResponse{}
	for v := int32(1); v <= 14; v++ {
		out.Areas = append(out.Areas, &cataloguev1.AreaInfo{Area: cataloguev1.Area(v), Point: v, NamePl: "obszar " + strconv.Itoa(int(v))})
	}
	out.Areas[8].NamePl = "kultura"
	return out, nil
}

func (f *fakeCatalogue) ListTargetGroups(context.Context, *cataloguev1.ListTargetGroupsRequest) (*cataloguev1.ListTargetGroupsResponse, error) {
	out := &cataloguev1.ListTargetGroupsResponse{}
	for v := int32(1); v <= 8; v++ {
		out.TargetGroups = append(out.TargetGroups, &cataloguev1.TargetGroupInfo{TargetGroup: cataloguev1.TargetGroup(v), NamePl: "grupa " + strconv.Itoa(int(v))})
	}
	out.TargetGroups[3].NamePl = "seniorzy"
	return out, nil
}

func (f *fakeCatalogue) SearchServices(_ context.Context, req *cataloguev1.SearchServicesRequest) (*cataloguev1.SearchServicesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches = append(f.searches, proto.Clone(req).(*cataloguev1.SearchServicesRequest))
	words := strings.Fields(fold(req.GetQuery()))
	var hits []*cataloguev1.SearchResult
	areaCnt, groupCnt := map[cataloguev1.Area]int32{}, map[cataloguev1.TargetGroup]int32{}
	for _, s := range f.services {
		if st := s.GetStatus(); st != 0 && st != cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE {
			continue
		}
		text := fold(s.GetDisplayName() + " " + s.GetDescription())
		ok := true
		for _, w := range words {
			if !strings.Contains(text, w) && suggestWord(w, text) == "" {
				ok = false
			}
		}
		if req.GetFreeOfCharge() && s.GetFee().GetPriceGrosze() > 0 {
			ok = false
		}
		if len(req.GetTercCodes()) > 0 && !slices.Contains(req.GetTercCodes(), s.GetOriginTerc()) {
			ok = false
		}
		if req.Age != nil && ((s.MinimumAge != nil && req.GetAge() < s.GetMinimumAge()) || (s.MaximumAge != nil && req.GetAge() > s.GetMaximumAge())) {
			ok = false
		}
		var dist *int32
		if n := req.GetNear(); n != nil {
			best := math.Inf(1)
			for _, l := range s.GetLocations() {
				if c := l.GetCoordinates(); c != nil {
					best = min(best, metres(n.GetCenter().GetLatitude(), n.GetCenter().GetLongitude(), c.GetLatitude(), c.GetLongitude()))
				}
			}
			if best > float64(n.GetRadiusMeters()) {
				ok = false
			} else {
				d := int32(best)
				dist = &d
			}
		}
		if !ok {
			continue
		}
		inAreas := len(req.GetAreas()) == 0 || slices.ContainsFunc(s.GetAreas(), func(a cataloguev1.Area) bool { return slices.Contains(req.GetAreas(), a) })
		inGroups := len(req.GetTargetGroups()) == 0 || slices.ContainsFunc(s.GetTargetGroups(), func(g cataloguev1.TargetGroup) bool { return slices.Contains(req.GetTargetGroups(), g) })
		if inGroups {
			for _, a := range s.GetAreas() {
				areaCnt[a]++
			}
		}
		if inAreas {
			for _, g := range s.GetTargetGroups() {
				groupCnt[g]++
			}
		}
		if inAreas && inGroups {
			hits = append(hits, &cataloguev1.SearchResult{Service: s, DistanceMeters: dist})
		}
	}
	key := proto.Clone(req).(*cataloguev1.SearchServicesRequest)
	key.PageSize, key.PageToken = 0, ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(key)
	page, next, err := pageOf(hits, req.GetPageToken(), req.GetPageSize(), 20, 100, string(b))
	if err != nil {
		return nil, err
	}
	resp := &cataloguev1.SearchServicesResponse{Results: page, NextPageToken: next, TotalSize: int32(len(hits))}
	for a := cataloguev1.Area(1); a <= 14; a++ {
		if areaCnt[a] > 0 {
			resp.AreaFacets = append(resp.AreaFacets, &cataloguev1.AreaFacet{Area: a, Count: areaCnt[a]})
		}
	}
	for g := cataloguev1.TargetGroup(1); g <= 8; g++ {
		if groupCnt[g] > 0 {
			resp.TargetGroupFacets = append(resp.TargetGroupFacets, &cataloguev1.TargetGroupFacet{TargetGroup: g, Count: groupCnt[g]})
		}
	}
	// "Did you mean": each word absent from every service replaced by a word one edit away, if there is one.
	all := ""
	for _, s := range f.services {
		all += " " + fold(s.GetDisplayName()+" "+s.GetDescription())
	}
	changed, out := false, slices.Clone(words)
	for i, w := range words {
		if !strings.Contains(all, w) {
			if sw := suggestWord(w, all); sw != "" {
				out[i], changed = sw, true
			}
		}
	}
	if changed {
		resp.SuggestedQuery = strings.Join(out, " ")
	}
	return resp, nil
}

// suggestWord returns a word of text one deletion, insertion or substitution away from w, or "".
func suggestWord(w, text string) string {
	for _, t := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' || r == '.' }) {
		if t != w && len(w) >= 4 && editsWithinOne(w, t) {
			return t
		}
	}
	return ""
}

func editsWithinOne(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if len(ra) == len(rb) {
		return string(ra[i+min(1, len(ra)-i):]) == string(rb[i+min(1, len(rb)-i):])
	}
	return string(ra[i:]) == string(rb[i+1:])
}

func metres(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371008.8
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lng2-lng1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// pageOf pages a list with tokens that carry the offset and the query they belong to.
func pageOf[T any](list []T, token string, size, def, maxSize int32, query string) ([]T, string, error) {
	switch {
	case size < 0:
		return nil, "", grpcErr(codes.InvalidArgument, "INVALID_PAGE_SIZE")
	case size == 0:
		size = def
	case size > maxSize:
		size = maxSize
	}
	off := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		o, q, found := strings.Cut(string(raw), "|")
		n, aerr := strconv.Atoi(o)
		if err != nil || !found || aerr != nil || q != query || n < 0 {
			return nil, "", grpcErr(codes.InvalidArgument, "INVALID_PAGE_TOKEN")
		}
		off = n
	}
	off = min(off, len(list))
	end := min(off+int(size), len(list))
	next := ""
	if end < len(list) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end) + "|" + query))
	}
	return list[off:end], next, nil
}

// fakeProviders answers GetProvider from a map.
type fakeProviders struct {
	providerv1.UnimplementedProviderServiceServer
	byName map[string]*providerv1.Provider
}

func (f *fakeProviders) GetProvider(_ context.Context, req *providerv1.GetProviderRequest) (*providerv1.Provider, error) {
	if p, ok := f.byName[req.GetName()]; ok {
		return p, nil
	}
	return nil, status.Error(codes.NotFound, "no such provider")
}

// serveGRPC starts a gRPC server on loopback with the given registrations and returns a client connection.
func serveGRPC(t testing.TB, register func(*grpc.Server)) (*grpc.ClientConn, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Stop()
			<-done
		}
	}
	t.Cleanup(func() { conn.Close(); stop() })
	return conn, stop
}

// grpcErr is an error as the services send it: a status with an ErrorInfo naming the reason.
func grpcErr(code codes.Code, reason string) error {
	st, err := status.New(code, fmt.Sprintf("fake: %s", reason)).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "cus.gov.pl"})
	if err != nil {
		return status.Error(code, reason)
	}
	return st.Err()
}
