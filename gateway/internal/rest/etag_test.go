package rest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// versionedCatalogue keeps services in memory with the etag rules of the catalogue service (AIP-154: every
// write makes a new etag; a write given a stale one is ABORTED STALE_ETAG, like apierr.ErrStaleEtag), so the
// gateway's headers are tested against the behaviour they map, over real gRPC and HTTP.
type versionedCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu       sync.Mutex
	rev      int64
	services map[string]*cataloguev1.Service
	writes   int // calls that reached the service with an etag to check
}

func (c *versionedCatalogue) etag() string { c.rev++; return "r" + strconv.FormatInt(c.rev, 36) }

func stale() error {
	return gatewayError(codes.Aborted, staleEtagReason, "the etag does not match the current version; read the resource again and retry", "")
}

func (c *versionedCatalogue) GetService(_ context.Context, r *cataloguev1.GetServiceRequest) (*cataloguev1.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[r.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such service")
	}
	return proto.Clone(s).(*cataloguev1.Service), nil
}

func (c *versionedCatalogue) ListServices(context.Context, *cataloguev1.ListServicesRequest) (*cataloguev1.ListServicesResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &cataloguev1.ListServicesResponse{}
	for _, s := range c.services {
		out.Services = append(out.Services, proto.Clone(s).(*cataloguev1.Service))
	}
	slices.SortFunc(out.Services, func(a, b *cataloguev1.Service) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

func (c *versionedCatalogue) CreateService(_ context.Context, r *cataloguev1.CreateServiceRequest) (*cataloguev1.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := proto.Clone(r.GetService()).(*cataloguev1.Service)
	s.Name, s.Etag = "services/0194c050-3022-7053-8000-00000000000"+strconv.Itoa(len(c.services)+1), c.etag()
	c.services[s.Name] = s
	return s, nil
}

func (c *versionedCatalogue) UpdateService(_ context.Context, r *cataloguev1.UpdateServiceRequest) (*cataloguev1.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[r.GetService().GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such service")
	}
	if e := r.GetService().GetEtag(); e != "" {
		c.writes++
		if e != s.GetEtag() {
			return nil, stale()
		}
	}
	s.DisplayName, s.Etag = r.GetService().GetDisplayName(), c.etag()
	return proto.Clone(s).(*cataloguev1.Service), nil
}

func (c *versionedCatalogue) DeleteService(_ context.Context, r *cataloguev1.DeleteServiceRequest) (*emptypb.Empty, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[r.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such service")
	}
	if e := r.GetEtag(); e != "" {
		c.writes++
		if e != s.GetEtag() {
			return nil, stale()
		}
	}
	delete(c.services, r.GetName())
	return &emptypb.Empty{}, nil
}

// conditionalGateway is the gateway's whole handler (rest.New) over a versionedCatalogue on loopback gRPC.
func conditionalGateway(t *testing.T, cacheTTL time.Duration) (*httptest.Server, *versionedCatalogue) {
	t.Helper()
	cat := &versionedCatalogue{services: map[string]*cataloguev1.Service{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(gs, cat)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h, err := New(context.Background(), Conns{Catalogue: conn}, Options{MaxBodyBytes: 1 << 20, CORSOrigins: []string{"*"}, PublicCacheTTL: cacheTTL}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, cat
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func (a answer) reason() string {
	var st struct {
		Code    int `json:"code"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	_ = json.Unmarshal([]byte(a.body), &st)
	for _, d := range st.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, hdr ...string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func createTestService(t *testing.T, srv *httptest.Server) (name, etag string) {
	t.Helper()
	a := call(t, srv, http.MethodPost, "/v1/services", `{"displayName":"Klub Seniora"}`)
	var s struct{ Name, Etag string }
	if a.code != http.StatusOK || json.Unmarshal([]byte(a.body), &s) != nil {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	return s.Name, s.Etag
}

// GET of a resource carries its etag as a strong ETag; If-None-Match that matches (weakly, or `*`) is 304
// without a body, also when the answer comes from the public cache.
func TestGetAnswersETagAndNotModified(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Minute} {
		t.Run("cache "+ttl.String(), func(t *testing.T) {
			srv, _ := conditionalGateway(t, ttl)
			name, etag := createTestService(t, srv)
			got := call(t, srv, http.MethodGet, "/v1/"+name, "")
			if got.code != http.StatusOK || got.header.Get("ETag") != `"`+etag+`"` {
				t.Fatalf("GET: %d ETag %q, want 200 %q", got.code, got.header.Get("ETag"), `"`+etag+`"`)
			}
			for _, c := range []struct {
				ifNoneMatch string
				want        int
			}{
				{`"` + etag + `"`, http.StatusNotModified},
				{`W/"` + etag + `"`, http.StatusNotModified},
				{`"r0", "` + etag + `"`, http.StatusNotModified},
				{`*`, http.StatusNotModified},
				{`"r0"`, http.StatusOK},
				{etag, http.StatusOK}, // not an entity tag (no quotes): ignored
			} {
				a := call(t, srv, http.MethodGet, "/v1/"+name, "", "If-None-Match", c.ifNoneMatch)
				if a.code != c.want || (c.want == http.StatusNotModified && (a.body != "" || a.header.Get("ETag") == "")) ||
					(c.want == http.StatusOK && !strings.Contains(a.body, etag)) {
					t.Errorf("If-None-Match %s: %d %q (ETag %q), want %d", c.ifNoneMatch, a.code, a.body, a.header.Get("ETag"), c.want)
				}
			}
		})
	}
}

// A list has no etag field: its ETag is a hash of the body, so a 304 is exact and any change shows.
func TestListETagIsAHashOfTheBody(t *testing.T) {
	srv, _ := conditionalGateway(t, 0)
	name, etag := createTestService(t, srv)
	first := call(t, srv, http.MethodGet, "/v1/services", "")
	tag := first.header.Get("ETag")
	if first.code != http.StatusOK || !strings.HasPrefix(tag, `"h`) || !strings.Contains(first.body, name) {
		t.Fatalf("list: %d ETag %q %s", first.code, tag, first.body)
	}
	if a := call(t, srv, http.MethodGet, "/v1/services", "", "If-None-Match", tag); a.code != http.StatusNotModified || a.body != "" {
		t.Fatalf("unchanged list: %d %q", a.code, a.body)
	}
	if a := call(t, srv, http.MethodPatch, "/v1/"+name, `{"displayName":"Klub Seniora „Wrzos”"}`, "If-Match", `"`+etag+`"`); a.code != http.StatusOK {
		t.Fatalf("update: %d %s", a.code, a.body)
	}
	after := call(t, srv, http.MethodGet, "/v1/services", "", "If-None-Match", tag)
	if after.code != http.StatusOK || after.header.Get("ETag") == tag || !strings.Contains(after.body, "Wrzos") {
		t.Fatalf("changed list: %d ETag %q (was %q) %s", after.code, after.header.Get("ETag"), tag, after.body)
	}
}

// If-Match becomes the request's etag on PATCH and DELETE: a stale one is 412 with the service's
// google.rpc.Status, a current one goes through; it must agree with an etag in the body.
func TestIfMatchOnPatchAndDelete(t *testing.T) {
	srv, cat := conditionalGateway(t, 0)
	name, first := createTestService(t, srv)
	upd := call(t, srv, http.MethodPatch, "/v1/"+name, `{"displayName":"Klub Seniora „Wrzos”"}`, "If-Match", `"`+first+`"`)
	var s struct{ Etag string }
	if upd.code != http.StatusOK || json.Unmarshal([]byte(upd.body), &s) != nil || s.Etag == first || upd.header.Get("ETag") != `"`+s.Etag+`"` {
		t.Fatalf("PATCH with the current If-Match: %d ETag %q %s", upd.code, upd.header.Get("ETag"), upd.body)
	}
	current := s.Etag
	writes := cat.writes
	for _, c := range []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		reason                   string
		reachesService           bool
	}{
		{"stale If-Match on PATCH", http.MethodPatch, "/v1/" + name, `{"displayName":"Zgubiona zmiana"}`, []string{"If-Match", `"` + first + `"`}, http.StatusPreconditionFailed, "STALE_ETAG", true},
		{"stale If-Match on DELETE", http.MethodDelete, "/v1/" + name, "", []string{"If-Match", `"` + first + `"`}, http.StatusPreconditionFailed, "STALE_ETAG", true},
		{"stale etag in the body keeps 409", http.MethodPatch, "/v1/" + name, `{"displayName":"X","etag":"` + first + `"}`, nil, http.StatusConflict, "STALE_ETAG", true},
		{"body and If-Match differ", http.MethodPatch, "/v1/" + name, `{"displayName":"X","etag":"` + first + `"}`, []string{"If-Match", `"` + current + `"`}, http.StatusBadRequest, "INVALID_FIELDS", false},
		{"weak If-Match never matches", http.MethodPatch, "/v1/" + name, `{"displayName":"X"}`, []string{"If-Match", `W/"` + current + `"`}, http.StatusPreconditionFailed, "STALE_ETAG", false},
		{"the empty tag never matches", http.MethodPatch, "/v1/" + name, `{"displayName":"Bez warunku"}`, []string{"If-Match", `""`}, http.StatusPreconditionFailed, "STALE_ETAG", false},
		{"the empty tag on DELETE", http.MethodDelete, "/v1/" + name, "", []string{"If-Match", `""`}, http.StatusPreconditionFailed, "STALE_ETAG", false},
		{"several tags", http.MethodDelete, "/v1/" + name, "", []string{"If-Match", `"` + current + `", "r0"`}, http.StatusBadRequest, "PRECONDITION_UNSUPPORTED", false},
		{"not an entity tag", http.MethodDelete, "/v1/" + name, "", []string{"If-Match", current}, http.StatusBadRequest, "MALFORMED_REQUEST", false},
		{"If-Match on a create", http.MethodPost, "/v1/services", `{"displayName":"Nowa"}`, []string{"If-Match", `"` + current + `"`}, http.StatusBadRequest, "PRECONDITION_UNSUPPORTED", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := cat.writes
			a := call(t, srv, c.method, c.path, c.body, c.hdr...)
			if a.code != c.code || a.reason() != c.reason {
				t.Fatalf("%d %s, want %d %s", a.code, a.body, c.code, c.reason)
			}
			if reached := cat.writes > before; reached != c.reachesService {
				t.Fatalf("reached the service: %v, want %v", reached, c.reachesService)
			}
		})
	}
	if got := call(t, srv, http.MethodGet, "/v1/"+name, ""); !strings.Contains(got.body, "Wrzos") || got.header.Get("ETag") != `"`+current+`"` {
		t.Fatalf("a refused write changed the service: %s", got.body)
	}
	if cat.writes <= writes {
		t.Fatal("no write reached the service")
	}
	// The same etag in both, then DELETE with the current one.
	both := call(t, srv, http.MethodPatch, "/v1/"+name, `{"displayName":"Klub","etag":"`+current+`"}`, "If-Match", `"`+current+`"`)
	if both.code != http.StatusOK {
		t.Fatalf("same etag in body and If-Match: %d %s", both.code, both.body)
	}
	if a := call(t, srv, http.MethodDelete, "/v1/"+name, "", "If-Match", both.header.Get("ETag")); a.code != http.StatusOK {
		t.Fatalf("DELETE with the current If-Match: %d %s", a.code, a.body)
	}
}

// Browsers may send the conditional headers and read the ETag.
func TestCORSAllowsConditionalHeaders(t *testing.T) {
	srv, _ := conditionalGateway(t, 0)
	pre := call(t, srv, http.MethodOptions, "/v1/services", "", "Origin", "https://gmina.example", "Access-Control-Request-Method", "PATCH")
	for _, h := range []string{"If-Match", "If-None-Match"} {
		if !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("preflight does not allow %s: %q", h, pre.header.Get("Access-Control-Allow-Headers"))
		}
	}
	name, _ := createTestService(t, srv)
	if got := call(t, srv, http.MethodGet, "/v1/"+name, "", "Origin", "https://gmina.example"); !strings.Contains(got.header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("ETag is not exposed: %q", got.header.Get("Access-Control-Expose-Headers"))
	}
}

func TestParseEntityTags(t *testing.T) {
	for _, c := range []struct {
		in   string
		tags []entityTag
		any  bool
		ok   bool
	}{
		{`"r2s"`, []entityTag{{value: "r2s"}}, false, true},
		{`W/"r2s"`, []entityTag{{weak: true, value: "r2s"}}, false, true},
		{` "a" , W/"b",`, []entityTag{{value: "a"}, {weak: true, value: "b"}}, false, true},
		{`"a,b"`, []entityTag{{value: "a,b"}}, false, true},
		{`*`, nil, true, true},
		{`r2s`, nil, false, false},
		{`"r2s`, nil, false, false},
		{`"a" "b"`, nil, false, false},
		{``, nil, false, false},
	} {
		tags, any, ok := parseEntityTags(c.in)
		if !slices.Equal(tags, c.tags) || any != c.any || ok != c.ok {
			t.Errorf("%q: %v %v %v, want %v %v %v", c.in, tags, any, ok, c.tags, c.any, c.ok)
		}
	}
}
