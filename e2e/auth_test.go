package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// mintToken runs cusctl against a key directory; used for tokens the suite must not trust.
func mintToken(t *testing.T, keysDir string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCommand(t, "cusctl", cusctlBin, append(append([]string{"token"}, args...), "--keys-dir", keysDir), nil)
	if code != 0 {
		t.Fatalf("cusctl token %v: status %d: %s", args, code, stderr)
	}
	return strings.TrimSpace(stdout)
}

// TestAuthorization: reading is public, editing needs an editor's token, the change feed a feed role; bad
// credentials are refused, never treated as anonymous (docs/authorization.md).
func TestAuthorization(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	before := s.latestRevision(t)
	const create = `{"displayName":"Usługa z tokenem","areas":["AREA_CULTURE"]}`
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	foreign := mintToken(t, filepath.Join(t.TempDir(), "other-dev"), "--role", roleEditor)
	expired := mintToken(t, s.keysDir, "--role", roleEditor, "--ttl", "-1h")
	peer := mintToken(t, s.keysDir, "--role", "peer", "--terc", "3006023")

	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          map[string]string
		status       int
		reason       string
	}{
		{"anonymous list", "GET", "/v1/services?pageSize=1", "", nil, 200, ""},
		{"anonymous search", "POST", "/v1/services:search", `{"query":"senior"}`, nil, 200, ""},
		{"anonymous get", "GET", "/v1/" + demoServiceName, "", nil, 200, ""},
		{"anonymous create", "POST", "/v1/services", create, nil, 401, "AUTHENTICATION_REQUIRED"},
		{"anonymous update", "PATCH", "/v1/" + demoServiceName + "?updateMask=display_name", `{"displayName":"Przejęta"}`, nil, 401, "AUTHENTICATION_REQUIRED"},
		{"anonymous delete", "DELETE", "/v1/" + demoServiceName, "", nil, 401, "AUTHENTICATION_REQUIRED"},
		{"anonymous change feed", "GET", "/v1/changes", "", nil, 401, "AUTHENTICATION_REQUIRED"},
		{"anonymous watch", "GET", "/v1/changes:watch?afterRevision=0", "", nil, 401, "AUTHENTICATION_REQUIRED"},
		{"coordinator create", "POST", "/v1/services", create, s.as(t, roleReader), 403, "ROLE_NOT_ALLOWED"},
		{"coordinator delete", "DELETE", "/v1/" + demoServiceName, "", s.as(t, roleReader), 403, "ROLE_NOT_ALLOWED"},
		{"coordinator change feed", "GET", "/v1/changes", "", s.as(t, roleReader), 403, "ROLE_NOT_ALLOWED"},
		{"coordinator reads", "GET", "/v1/" + demoServiceName, "", s.as(t, roleReader), 200, ""},
		{"peer change feed", "GET", "/v1/changes?pageSize=1", "", bearer(peer), 200, ""},
		{"peer create", "POST", "/v1/services", create, bearer(peer), 403, "ROLE_NOT_ALLOWED"},
		{"not a bearer token", "POST", "/v1/services", create, map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, 401, "AUTHORIZATION_MALFORMED"},
		{"garbage token on a public read", "GET", "/v1/" + demoServiceName, "", bearer("garbage"), 401, ""},
		{"token of another issuer key", "POST", "/v1/services", create, bearer(foreign), 401, ""},
		{"token of another key on a public read", "GET", "/v1/services?pageSize=1", "", bearer(foreign), 401, ""},
		{"expired token", "POST", "/v1/services", create, bearer(expired), 401, ""},
		{"token in Grpc-Metadata-Authorization", "POST", "/v1/services", create, map[string]string{"Grpc-Metadata-Authorization": "Bearer " + s.token(t, roleEditor)}, 401, "AUTHENTICATION_REQUIRED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := s.do(t, tc.method, tc.path, body, tc.hdr)
			if tc.status == 200 {
				r.wantOK(t)
				return
			}
			if strings.Contains(tc.path, ":watch") {
				r = unwrapStreamError(t, r) // see TestStreamErrorsMatchTheDocumentedFormat
			}
			st := r.wantStatus(t, tc.status, tc.reason)
			want := map[int]int{401: 16, 403: 7}[tc.status]
			if st.Code != want {
				t.Errorf("code %d, want %d", st.Code, want)
			}
			if tc.status == 401 && r.Header.Get("WWW-Authenticate") == "" && !strings.Contains(tc.path, ":watch") {
				t.Errorf("401 without WWW-Authenticate: %v", r.Header)
			}
		})
	}
	if after := s.latestRevision(t); after != before {
		t.Errorf("refused calls changed the catalogue: revision %d -> %d", before, after)
	}
	s.createService(t, create) // and the editor may

	t.Run("401 challenge is a Bearer challenge", func(t *testing.T) {
		r := s.send(t, http.MethodPost, "/v1/services", create)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("want 401: %s", r)
		}
		if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
			t.Errorf("WWW-Authenticate %q is not a Bearer challenge", ch)
		}
	})

	t.Run("gRPC enforces the same policy", func(t *testing.T) {
		conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := cataloguev1.NewCatalogueServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		req := &cataloguev1.CreateServiceRequest{Service: &cataloguev1.Service{
			DisplayName: "Przez gRPC", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE},
		}}
		if _, err := client.CreateService(ctx, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("anonymous gRPC CreateService: %v, want Unauthenticated", err)
		}
		ro := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.token(t, roleReader))
		if _, err := client.CreateService(ro, req); status.Code(err) != codes.PermissionDenied {
			t.Errorf("coordinator gRPC CreateService: %v, want PermissionDenied", err)
		}
		rw := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.token(t, roleEditor))
		svc, err := client.CreateService(rw, req)
		if err != nil {
			t.Fatalf("editor gRPC CreateService: %v", err)
		}
		// Visible over REST at once.
		s.get(t, "/v1/"+svc.GetName()).wantOK(t)
	})
}

// loopbackClient is an HTTP client whose connections come from ip (another loopback address), so the suite
// sees it as a distinct client.
func loopbackClient(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", "127.0.0.1:1") // probe that the address can be bound at all
	if err == nil {
		c.Close()
	} else if strings.Contains(err.Error(), "assign requested address") {
		t.Skipf("cannot bind %s on this machine: %v", ip, err)
	}
	return &http.Client{Timeout: callTimeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

// flood keeps GETting url from client with 8 workers until stop is closed, counting answers by status.
func flood(client *http.Client, url string, stop <-chan struct{}, counts *sync.Map, wg *sync.WaitGroup) {
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n, _ := counts.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
}

func count(counts *sync.Map, status int) int64 {
	n, ok := counts.Load(status)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// TestRateLimits: one flooding client gets 429 RATE_LIMITED; others, and the health check, are unaffected;
// X-Forwarded-For from the client cannot escape the limit.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	a, b := loopbackClient(t, "127.0.0.2"), loopbackClient(t, "127.0.0.3")

	// during floods path from client a and, once a is being refused, runs check.
	during := func(t *testing.T, path string, check func(t *testing.T)) {
		t.Helper()
		stop := make(chan struct{})
		var counts sync.Map
		var wg sync.WaitGroup
		flood(a, s.baseURL+path, stop, &counts, &wg)
		defer func() { close(stop); wg.Wait() }()
		eventually(t, "the flooding client being refused with 429", func() bool { return count(&counts, http.StatusTooManyRequests) > 0 })
		check(t)
	}
	get := func(c *http.Client, path string, hdr ...string) httpResult {
		r := httpResult{Method: http.MethodGet, URL: path}
		req, _ := http.NewRequest(http.MethodGet, s.baseURL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			r.Body = []byte(err.Error())
			return r
		}
		defer resp.Body.Close()
		r.Body, _ = io.ReadAll(resp.Body)
		r.Status, r.Header = resp.StatusCode, resp.Header
		return r
	}

	t.Run("REST", func(t *testing.T) {
		during(t, "/v1/areas", func(t *testing.T) {
			// The refusal is a proper status.
			var refused httpResult
			eventually(t, "a 429 for the flooding client", func() bool {
				refused = get(a, "/v1/areas")
				return refused.Status == http.StatusTooManyRequests
			})
			if st := refused.wantStatus(t, http.StatusTooManyRequests, "RATE_LIMITED"); st.Code != 8 {
				t.Errorf("code %d, want 8 (RESOURCE_EXHAUSTED)", st.Code)
			}
			// Another client is not affected.
			for i := range 10 {
				if r := get(b, "/v1/areas"); r.Status != http.StatusOK {
					t.Errorf("other client, request %d: %s", i, r)
				}
			}
			// Claiming to be someone else does not help: the gateway's own view of the client counts.
			refusedSpoofed := 0
			for i := range 10 {
				if r := get(a, "/v1/areas", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)); r.Status == http.StatusTooManyRequests {
					refusedSpoofed++
				}
			}
			if refusedSpoofed == 0 {
				t.Errorf("a flooding client escaped its limit with X-Forwarded-For")
			}
			// Health is infrastructure: never limited.
			if r := get(b, "/healthz"); r.Status != http.StatusOK {
				t.Errorf("/healthz during a flood: %s", r)
			}
		})
	})

	t.Run("HSDS", func(t *testing.T) {
		during(t, "/hsds/services?per_page=1", func(t *testing.T) {
			var other, health []int
			for range 10 {
				other = append(other, get(b, "/hsds/services?per_page=1").Status)
				health = append(health, get(b, "/healthz").Status)
			}
			for i := range other {
				if other[i] != http.StatusOK || health[i] != http.StatusOK {
					t.Errorf("while one client floods /hsds, another gets /hsds %v and /healthz %v, want all 200", other, health)
					break
				}
			}
		})
	})
}

// TestHSDSRequestIDs: a request id sent to the HSDS API reaches the catalogue's logs like one sent to /v1.
func TestHSDSRequestIDs(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	r := s.do(t, http.MethodGet, "/hsds/services/"+demoServiceID, nil, map[string]string{"X-Request-Id": "e2e-hsds-1"})
	r.wantOK(t)
	if got := r.Header.Get("X-Request-Id"); got != "e2e-hsds-1" {
		t.Errorf("X-Request-Id %q, want e2e-hsds-1 echoed", got)
	}
	eventually(t, "the catalogue logging GetService", func() bool {
		return strings.Contains(s.catalogue.stderr.String(), "/cus.catalogue.v1.CatalogueService/GetService")
	})
	if !s.catalogue.logged("request_id", "e2e-hsds-1") {
		t.Errorf("the catalogue did not log the HSDS call under request id e2e-hsds-1")
	}
}
