package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestServiceCRUD walks a service through create, read, masked update with etags, delete and the tombstone.
func TestServiceCRUD(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})

	created := s.createService(t, `{"displayName":"Klub Gier Planszowych","description":"Spotkania w czwartki.",`+
		`"areas":["AREA_CULTURE"],"targetGroups":["TARGET_GROUP_CHILDREN_AND_YOUTH"],`+
		`"originTerc":"9999999","createTime":"2001-01-01T00:00:00Z","etag":"forged"}`)
	name, etag := str(t, created, "name"), str(t, created, "etag")
	if !regexp.MustCompile(`^services/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(name) {
		t.Errorf("name %q is not services/{uuid}", name)
	}
	if etag == "forged" {
		t.Errorf("the client's etag was stored")
	}
	// Output-only fields sent by the client are ignored.
	if got := str(t, created, "originTerc"); got != "3022053" {
		t.Errorf("originTerc %q, want the instance's 3022053 (output-only, set by the server)", got)
	}
	if got := str(t, created, "createTime"); strings.HasPrefix(got, "2001-") || !strings.HasSuffix(got, "Z") {
		t.Errorf("createTime %q: want the server's time in RFC 3339 UTC", got)
	}
	if got := str(t, created, "status"); got != "SERVICE_STATUS_ACTIVE" {
		t.Errorf("status %q, want SERVICE_STATUS_ACTIVE by default", got)
	}

	// A client-chosen id becomes the name; taking it twice is ALREADY_EXISTS.
	const chosen = "0194c050-e2e0-7000-8000-00000000c0de"
	byID := s.edit(t, http.MethodPost, "/v1/services?serviceId="+strings.ToUpper(chosen), `{"displayName":"Wybrany identyfikator","areas":["AREA_CULTURE"]}`).wantOK(t)
	if got := str(t, byID, "name"); got != "services/"+chosen {
		t.Errorf("serviceId %s became %s, want services/%s", strings.ToUpper(chosen), got, chosen)
	}
	if st := s.edit(t, http.MethodPost, "/v1/services?serviceId="+chosen, `{"displayName":"Drugi raz","areas":["AREA_CULTURE"]}`).
		wantStatus(t, http.StatusConflict, "SERVICE_ALREADY_EXISTS"); st.Code != 6 {
		t.Errorf("code %d, want 6 (ALREADY_EXISTS)", st.Code)
	}

	got := s.get(t, "/v1/"+name).wantOK(t)
	if str(t, got, "displayName") != "Klub Gier Planszowych" || str(t, got, "etag") != etag {
		t.Errorf("GET after create: %v", got)
	}

	// A masked update changes the named field only, and the etag.
	upd := s.edit(t, http.MethodPatch, "/v1/"+name+"?updateMask=display_name",
		fmt.Sprintf(`{"displayName":"Klub Gier","description":"ignored, not in the mask","etag":%q}`, etag)).wantOK(t)
	if str(t, upd, "displayName") != "Klub Gier" {
		t.Errorf("displayName after update: %v", upd)
	}
	if str(t, upd, "description") != "Spotkania w czwartki." {
		t.Errorf("a field outside the update mask changed: %v", upd)
	}
	newEtag := str(t, upd, "etag")
	if newEtag == etag {
		t.Errorf("etag unchanged by an update (%q)", etag)
	}
	if str(t, upd, "createTime") != str(t, created, "createTime") {
		t.Errorf("createTime changed by an update")
	}

	// Without updateMask, a REST PATCH updates the fields present in the body (grpc-gateway infers the mask).
	partial := s.edit(t, http.MethodPatch, "/v1/"+name, `{"alternateName":"Planszówki"}`).wantOK(t)
	if str(t, partial, "alternateName") != "Planszówki" || str(t, partial, "displayName") != "Klub Gier" ||
		str(t, partial, "description") != "Spotkania w czwartki." || len(list(t, partial, "areas")) != 1 {
		t.Errorf("PATCH without updateMask touched fields outside the body: %v", partial)
	}
	newEtag = str(t, partial, "etag")
	s.edit(t, http.MethodPatch, "/v1/services/0194c050-3022-7053-8000-00000000ffff?updateMask=display_name", `{"displayName":"X"}`).
		wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")

	// The etag read before the update is stale now.
	stale := s.edit(t, http.MethodPatch, "/v1/"+name+"?updateMask=display_name",
		fmt.Sprintf(`{"displayName":"Lost update","etag":%q}`, etag))
	if st := stale.wantStatus(t, http.StatusConflict, "STALE_ETAG"); st.Code != 10 {
		t.Errorf("stale etag: code %d, want 10 (ABORTED)", st.Code)
	}
	if str(t, s.get(t, "/v1/"+name).wantOK(t), "displayName") != "Klub Gier" {
		t.Errorf("the refused update was applied")
	}
	s.edit(t, http.MethodDelete, "/v1/"+name+"?etag="+url.QueryEscape(etag), "").wantStatus(t, http.StatusConflict, "STALE_ETAG")

	before := s.latestRevision(t)
	del := s.edit(t, http.MethodDelete, "/v1/"+name+"?etag="+url.QueryEscape(newEtag), "")
	if body := del.wantOK(t); len(body) != 0 {
		t.Errorf("DELETE answered %v, want {}", body)
	}
	s.get(t, "/v1/"+name).wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")
	s.edit(t, http.MethodDelete, "/v1/"+name, "").wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")

	// The change feed records the delete as a tombstone.
	feed := s.edit(t, http.MethodGet, fmt.Sprintf("/v1/changes?afterRevision=%d", before), "").wantOK(t)
	changes := list(t, feed, "changes")
	if len(changes) != 1 {
		t.Fatalf("want 1 change after the delete, got %v", feed)
	}
	c := changes[0].(map[string]any)
	if int64Field(t, c, "revision") != before+1 || str(t, c, "type") != "CHANGE_TYPE_DELETE" || str(t, c, "resourceName") != name {
		t.Errorf("tombstone: %v", c)
	}
	if _, ok := c["service"]; ok {
		t.Errorf("a tombstone carries the deleted service: %v", c)
	}
}

// TestRoutingErrors: a route that does not exist is distinguishable from a resource that does not exist.
func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	resourceReasons := regexp.MustCompile(`^(SERVICE|PROGRAMME)_`)
	tests := []struct {
		method, path string
		status       []int
		reasons      []string
	}{
		{"GET", "/v1/nope", []int{404}, []string{"ROUTE_NOT_FOUND"}},
		{"GET", "/v2/services", []int{404}, []string{"ROUTE_NOT_FOUND"}},
		{"GET", "/v1/services/" + demoServiceID + "/extra", []int{404}, []string{"ROUTE_NOT_FOUND"}},
		{"POST", "/v1/services:nope", []int{404}, []string{"ROUTE_NOT_FOUND"}},
		{"GET", "/v1/services/0194c050-3022-7053-8000-00000000ffff", []int{404}, []string{"SERVICE_NOT_FOUND"}},
		{"GET", "/v1/programmes/0194c050-3022-7053-8000-00000000ffff", []int{404}, []string{"PROGRAMME_NOT_FOUND"}},
		{"PUT", "/v1/services", []int{404, 405}, []string{"METHOD_NOT_ALLOWED", "ROUTE_NOT_FOUND"}},
		{"PATCH", "/v1/services", []int{404, 405}, []string{"METHOD_NOT_ALLOWED", "ROUTE_NOT_FOUND"}},
		{"GET", "/v1/services:search", []int{404, 405}, []string{"METHOD_NOT_ALLOWED", "ROUTE_NOT_FOUND"}},
		{"POST", "/v1/services/" + demoServiceID, []int{404, 405}, []string{"METHOD_NOT_ALLOWED", "ROUTE_NOT_FOUND"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body io.Reader
			if tc.method != http.MethodGet {
				body = strings.NewReader(`{}`)
			}
			r := s.do(t, tc.method, tc.path, body, nil)
			if !containsInt(tc.status, r.Status) {
				t.Fatalf("want HTTP %v: %s", tc.status, r)
			}
			st := r.status(t)
			if !containsString(tc.reasons, st.Reason) {
				t.Errorf("reason %q, want one of %v: %s", st.Reason, tc.reasons, r)
			}
			isRoute := !strings.HasPrefix(tc.reasons[0], "SERVICE_") && !strings.HasPrefix(tc.reasons[0], "PROGRAMME_")
			if isRoute && resourceReasons.MatchString(st.Reason) {
				t.Errorf("a routing error carries the resource reason %q", st.Reason)
			}
		})
	}
	t.Run("405 names the allowed methods", func(t *testing.T) {
		r := s.send(t, http.MethodPut, "/v1/services", `{}`)
		if r.Status != http.StatusMethodNotAllowed {
			t.Skipf("answered %d, not 405", r.Status)
		}
		if r.Header.Get("Allow") == "" {
			t.Errorf("405 without an Allow header: %v", r.Header)
		}
	})
}

func containsInt(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func containsString(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// badInputs are requests the API must refuse with 400 and a google.rpc.Status naming the problem.
var badInputs = []struct {
	name, method, path, body string
	reason                   string // ErrorInfo reason, when fixed by the contract
	violation                string // a BadRequest field violation that must be present
	mentions                 string // text the message must contain (for decoding errors without violations)
}{
	{"malformed JSON body", "POST", "/v1/services", `{"displayName":`, "", "", ""},
	{"JSON body not an object", "POST", "/v1/services", `["AREA_CULTURE"]`, "", "", ""},
	{"unknown JSON field", "POST", "/v1/services", `{"displayName":"X","areas":["AREA_CULTURE"],"colour":"red"}`, "", "", "colour"},
	{"unknown enum string", "POST", "/v1/services", `{"displayName":"X","areas":["AREA_NOPE"]}`, "", "", "AREA_NOPE"},
	{"missing displayName", "POST", "/v1/services", `{"areas":["AREA_CULTURE"]}`, "INVALID_FIELDS", "service.display_name", ""},
	{"missing areas", "POST", "/v1/services", `{"displayName":"X"}`, "INVALID_FIELDS", "service.areas", ""},
	{"bad TERC in a location", "POST", "/v1/services", `{"displayName":"X","areas":["AREA_CULTURE"],"locations":[{"terytCode":"3022059"}]}`, "INVALID_FIELDS", "service.locations[0].teryt_code", ""},
	{"bad service id", "POST", "/v1/services?serviceId=abc", `{"displayName":"X","areas":["AREA_CULTURE"]}`, "INVALID_FIELDS", "service_id", ""},
	{"bad request id", "POST", "/v1/services?requestId=" + url.QueryEscape("no spaces please"), `{"displayName":"X","areas":["AREA_CULTURE"]}`, "INVALID_FIELDS", "request_id", ""},
	{"malformed id in path", "GET", "/v1/services/123", "", "INVALID_FIELDS", "name", ""},
	{"malformed id in an update path", "PATCH", "/v1/services/123?updateMask=display_name", `{"displayName":"X"}`, "INVALID_FIELDS", "service.name", ""},
	{"update mask naming an output-only field", "PATCH", "/v1/" + demoServiceName + "?updateMask=create_time", `{"createTime":"2001-01-01T00:00:00Z"}`, "INVALID_FIELDS", "update_mask", ""},
	{"negative pageSize", "GET", "/v1/services?pageSize=-1", "", "INVALID_FIELDS", "page_size", ""},
	{"garbage pageToken", "GET", "/v1/services?pageToken=garbage", "", "INVALID_PAGE_TOKEN", "", ""},
	{"bad filter", "GET", "/v1/services?filter=" + url.QueryEscape("colour = red"), "", "INVALID_FIELDS", "filter", ""},
	{"bad filter value", "GET", "/v1/services?filter=" + url.QueryEscape("area = AREA_NOPE"), "", "INVALID_FIELDS", "filter", ""},
	{"bad orderBy", "GET", "/v1/services?orderBy=colour", "", "INVALID_FIELDS", "order_by", ""},
	{"non-numeric pageSize", "GET", "/v1/services?pageSize=abc", "", "", "", "page_size"},
	{"negative afterRevision", "GET", "/v1/changes?afterRevision=-1", "", "INVALID_FIELDS", "after_revision", ""},
	{"search query too long", "POST", "/v1/services:search", `{"query":"` + strings.Repeat("a", 201) + `"}`, "INVALID_FIELDS", "query", ""},
	{"search radius missing", "POST", "/v1/services:search", `{"near":{"center":{"latitude":51.6,"longitude":16.8}}}`, "INVALID_FIELDS", "near.radius_meters", ""},
}

// TestBadInputIsRejected: each bad request answers 400 with a google.rpc.Status naming the problem, and the
// store is unchanged.
func TestBadInputIsRejected(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	before := s.latestRevision(t)
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			// As an editor, so that the request reaches validation.
			r := s.edit(t, tc.method, tc.path, tc.body)
			st := r.wantStatus(t, http.StatusBadRequest, tc.reason)
			if st.Code != 3 {
				t.Errorf("code %d, want 3 (INVALID_ARGUMENT): %s", st.Code, r)
			}
			if tc.violation != "" && !st.hasViolation(tc.violation) {
				t.Errorf("no field violation for %s (got %v): %s", tc.violation, st.Violations, r)
			}
			if tc.mentions != "" && !strings.Contains(st.Message, tc.mentions) {
				t.Errorf("message %q does not name %s", st.Message, tc.mentions)
			}
		})
	}
	if after := s.latestRevision(t); after != before {
		t.Errorf("refused requests changed the store: revision %d -> %d", before, after)
	}
}

// TestErrorMessagesHaveNoInternals: api-style.md wants short English messages without Go error chains.
func TestErrorMessagesHaveNoInternals(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	// Go error texts: package prefixes (protojson writes "proto:" + a non-breaking space), io errors, stack
	// traces, gRPC client errors, addresses and paths.
	internals := regexp.MustCompile(`strconv\.|\bproto:|\bjson: |unexpected EOF|\.go:\d|goroutine |rpc error: |127\.0\.0\.1|/tmp/|/home/`)
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			r := s.edit(t, tc.method, tc.path, tc.body)
			st := r.status(t)
			if m := internals.FindString(st.Message); m != "" {
				t.Errorf("message leaks internals (%q): %q", m, st.Message)
			}
		})
	}
}

// TestOversizedBody: bodies above --max-body-bytes are refused with 413, with or without Content-Length.
func TestOversizedBody(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	before := s.latestRevision(t)
	big := func(n int) []byte {
		return []byte(`{"displayName":"Duża usługa","areas":["AREA_CULTURE"],"description":"` + strings.Repeat("x", n) + `"}`)
	}
	t.Run("with Content-Length", func(t *testing.T) {
		body := big(maxBodyBytes + 1000)
		r := s.do(t, http.MethodPost, "/v1/services", bytes.NewReader(body), s.as(t, roleEditor))
		r.wantStatus(t, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	})
	t.Run("chunked", func(t *testing.T) {
		// A reader of unknown length: net/http sends it chunked, without Content-Length.
		body := io.MultiReader(bytes.NewReader(big(200 << 10)))
		r := s.do(t, http.MethodPost, "/v1/services", body, s.as(t, roleEditor))
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusBadRequest {
			t.Fatalf("want 413 or 400: %s", r)
		}
		st := r.status(t)
		if r.Status == http.StatusRequestEntityTooLarge && st.Reason != "BODY_TOO_LARGE" {
			t.Errorf("reason %q, want BODY_TOO_LARGE", st.Reason)
		}
	})
	t.Run("chunked search", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(`{"query":"` + strings.Repeat("a", 200<<10) + `"}`))
		r := s.do(t, http.MethodPost, "/v1/services:search", body, nil)
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusBadRequest {
			t.Fatalf("want 413 or 400: %s", r)
		}
		r.status(t)
	})
	t.Run("just below the cap is accepted", func(t *testing.T) {
		body := big(maxBodyBytes - 200)
		if len(body) > maxBodyBytes {
			t.Fatalf("test body of %d bytes is above the cap", len(body))
		}
		r := s.do(t, http.MethodPost, "/v1/services", bytes.NewReader(body), s.as(t, roleEditor))
		// The description is capped at 10,000 characters, so the service is refused, but by validation.
		st := r.wantStatus(t, http.StatusBadRequest, "INVALID_FIELDS")
		if !st.hasViolation("service.description") {
			t.Errorf("want a violation for service.description: %s", r)
		}
	})
	if after := s.latestRevision(t); after != before {
		t.Errorf("oversized requests changed the store: revision %d -> %d", before, after)
	}
}

// TestIdempotentCreate: a repeated requestId returns the first result and creates nothing new, even when the
// repeats race; a different request under the same id is refused.
func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	const body = `{"displayName":"Kawiarenka Obywatelska","areas":["AREA_CIVIC_ACTIVITY"]}`
	before := s.latestRevision(t)
	first := s.edit(t, http.MethodPost, "/v1/services?requestId=e2e-idem-1", body).wantOK(t)
	second := s.edit(t, http.MethodPost, "/v1/services?requestId=e2e-idem-1", body).wantOK(t)
	if str(t, first, "name") != str(t, second, "name") || str(t, first, "etag") != str(t, second, "etag") {
		t.Errorf("repeat returned another result:\n%v\n%v", first, second)
	}
	if after := s.latestRevision(t); after != before+1 {
		t.Errorf("two creates with one requestId moved the revision %d -> %d, want +1", before, after)
	}

	r := s.edit(t, http.MethodPost, "/v1/services?requestId=e2e-idem-1", `{"displayName":"Inna usługa","areas":["AREA_CULTURE"]}`)
	r.wantStatus(t, http.StatusBadRequest, "REQUEST_ID_REUSED")

	// Concurrent repeats of a new request id create one service.
	before = s.latestRevision(t)
	const n = 8
	names := make([]string, n)
	auth := "Bearer " + s.token(t, roleEditor)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Not s.edit: t.Fatal must not be called off the test goroutine.
			req, _ := http.NewRequest(http.MethodPost, s.baseURL+"/v1/services?requestId=e2e-idem-2",
				strings.NewReader(`{"displayName":"Równoległa","areas":["AREA_CULTURE"]}`))
			req.Header.Set("Authorization", auth)
			resp, err := s.client.Do(req)
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var m struct{ Name string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
				t.Errorf("concurrent create: %d %s", resp.StatusCode, b)
			}
			names[i] = m.Name
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if names[i] != names[0] {
			t.Errorf("concurrent repeats returned different services: %v", names)
			break
		}
	}
	if after := s.latestRevision(t); after != before+1 {
		t.Errorf("%d concurrent creates with one requestId moved the revision %d -> %d, want +1", n, before, after)
	}
}

// TestSearch: diacritics are optional, small typos are forgiven, facets are counted.
func TestSearch(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	search := func(t *testing.T, body string) map[string]any {
		t.Helper()
		return s.send(t, http.MethodPost, "/v1/services:search", body).wantOK(t)
	}
	names := func(t *testing.T, m map[string]any) []string {
		t.Helper()
		var out []string
		for _, r := range list(t, m, "results") {
			out = append(out, str(t, r.(map[string]any), "service", "displayName"))
		}
		return out
	}
	t.Run("zlobek finds Żłobek first", func(t *testing.T) {
		got := names(t, search(t, `{"query":"zlobek"}`))
		if len(got) == 0 || !strings.Contains(got[0], "Żłobek") {
			t.Errorf("first result of zlobek: %q", got)
		}
	})
	t.Run("swietlica finds Świetlica", func(t *testing.T) {
		got := names(t, search(t, `{"query":"swietlica"}`))
		found := false
		for _, n := range got {
			found = found || strings.Contains(n, "Świetlica")
		}
		if !found {
			t.Errorf("no Świetlica among %q", got)
		}
	})
	t.Run("typo opiekunak still finds carers", func(t *testing.T) {
		m := search(t, `{"query":"opiekunak"}`)
		got := names(t, m)
		if len(got) == 0 || int64Field(t, m, "totalSize") == 0 {
			t.Fatalf("no results for opiekunak: %v", m)
		}
		found := false
		for _, n := range got {
			found = found || strings.Contains(strings.ToLower(n), "opiek")
		}
		if !found {
			t.Errorf("no opiek* service among %q", got)
		}
	})
	t.Run("facets", func(t *testing.T) {
		m := search(t, `{"query":"senior"}`)
		for _, key := range []string{"areaFacets", "targetGroupFacets"} {
			facets := list(t, m, key)
			if len(facets) == 0 {
				t.Errorf("no %s: %v", key, m)
			}
			for _, f := range facets {
				fm := f.(map[string]any)
				if int64Field(t, fm, "count") <= 0 {
					t.Errorf("%s entry without a positive count: %v", key, fm)
				}
			}
		}
		if !strings.Contains(fmt.Sprint(m["targetGroupFacets"]), "TARGET_GROUP_SENIORS") {
			t.Errorf("senior search has no TARGET_GROUP_SENIORS facet: %v", m["targetGroupFacets"])
		}
	})
	t.Run("pages do not overlap", func(t *testing.T) {
		first := search(t, `{"query":"","pageSize":5}`)
		tok, _ := first["nextPageToken"].(string)
		if tok == "" {
			t.Fatalf("no nextPageToken: %v", first)
		}
		second := search(t, fmt.Sprintf(`{"query":"","pageSize":5,"pageToken":%q}`, tok))
		seen := map[string]bool{}
		for _, m := range []map[string]any{first, second} {
			for _, r := range list(t, m, "results") {
				n := str(t, r.(map[string]any), "service", "name")
				if seen[n] {
					t.Errorf("%s on both pages", n)
				}
				seen[n] = true
			}
		}
		if len(seen) != 10 {
			t.Errorf("two pages of 5 held %d services", len(seen))
		}
		// A token is bound to its query.
		s.send(t, http.MethodPost, "/v1/services:search", fmt.Sprintf(`{"query":"senior","pageSize":5,"pageToken":%q}`, tok)).
			wantStatus(t, http.StatusBadRequest, "INVALID_PAGE_TOKEN")
	})
}

// watchLines opens GET /v1/changes:watch and delivers its lines; the stream ends with ctx.
func (s *suite) watch(ctx context.Context, t *testing.T, after int64) (<-chan string, <-chan error) {
	t.Helper()
	lines := make(chan string, 1000)
	errc := make(chan error, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/changes:watch?afterRevision=%d", s.baseURL, after), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token(t, roleEditor)) // the feed is not public
	go func() {
		defer close(lines)
		resp, err := (&http.Client{}).Do(req) // no client timeout: the stream lives as long as ctx
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			errc <- fmt.Errorf("watch answered %d: %s", resp.StatusCode, b)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				lines <- line
			}
		}
		errc <- sc.Err()
	}()
	return lines, errc
}

// nextLine waits for the next line of a watch, bounded by callTimeout.
func nextLine(t *testing.T, lines <-chan string, errc <-chan error) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("watch stream ended: %v", <-errc)
		}
		return l
	case <-time.After(callTimeout):
		t.Fatalf("no watch line within %s", callTimeout)
	}
	return ""
}

// watchChange decodes one NDJSON line of the watch: {"result":{"change":{...}}}.
func watchChange(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("watch line is not JSON (%v): %s", err, line)
	}
	if len(m) != 1 || m["result"] == nil {
		t.Fatalf(`watch line is not {"result":...}: %s`, line)
	}
	return dig(t, m, "result", "change").(map[string]any)
}

// TestWatchChanges: the REST watch is newline-delimited JSON, delivers new commits, and resumes from a revision.
func TestWatchChanges(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	t.Run("live", func(t *testing.T) {
		latest := s.latestRevision(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lines, errc := s.watch(ctx, t, latest)
		created := s.createService(t, `{"displayName":"Obserwowana usługa","areas":["AREA_CULTURE"]}`)
		c := watchChange(t, nextLine(t, lines, errc))
		if int64Field(t, c, "revision") != latest+1 || str(t, c, "type") != "CHANGE_TYPE_UPSERT" ||
			str(t, c, "resourceName") != str(t, created, "name") || str(t, c, "service", "displayName") != "Obserwowana usługa" {
			t.Errorf("change after revision %d: %v", latest, c)
		}
		// And the next commit follows on the same stream, in order.
		s.edit(t, http.MethodDelete, "/v1/"+str(t, created, "name"), "").wantOK(t)
		c = watchChange(t, nextLine(t, lines, errc))
		if int64Field(t, c, "revision") != latest+2 || str(t, c, "type") != "CHANGE_TYPE_DELETE" {
			t.Errorf("second change: %v", c)
		}
	})
	t.Run("resume from 0", func(t *testing.T) {
		latest := s.latestRevision(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lines, errc := s.watch(ctx, t, 0)
		// The feed keeps the newest change of each resource (the service "live" created was superseded by its
		// delete), so revisions rise with gaps, each at most once, up to the latest.
		for prev := int64(0); prev < latest; {
			c := watchChange(t, nextLine(t, lines, errc))
			got := int64Field(t, c, "revision")
			if got <= prev || got > latest {
				t.Fatalf("revision %d arrived after %d (latest %d): nothing may be repeated or out of order", got, prev, latest)
			}
			prev = got
		}
	})
	t.Run("resume in the middle", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lines, errc := s.watch(ctx, t, 10)
		if got := int64Field(t, watchChange(t, nextLine(t, lines, errc)), "revision"); got != 11 {
			t.Errorf("after revision 10 the first change is %d, want 11", got)
		}
	})
	t.Run("a revision in the future is refused", func(t *testing.T) {
		r := s.edit(t, http.MethodGet, fmt.Sprintf("/v1/changes:watch?afterRevision=%d", s.latestRevision(t)+1000), "")
		if r.Status < 400 || r.Status > 499 {
			t.Fatalf("want a 4xx: %s", r)
		}
		if !strings.Contains(string(r.Body), "REVISION_IN_FUTURE") {
			t.Errorf("no REVISION_IN_FUTURE reason: %s", r)
		}
	})
}

// TestRequestIDs: every response carries X-Request-Id; a plain client id is kept end to end; metadata
// headers cannot forge it.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	t.Run("always present", func(t *testing.T) {
		for _, path := range []string{"/v1/areas", "/v1/nope", "/healthz", "/openapi.json", "/hsds/services", "/v1/services/123"} {
			r := s.get(t, path)
			if id := r.Header.Get("X-Request-Id"); !uuidRE.MatchString(id) {
				t.Errorf("GET %s: X-Request-Id %q, want a generated UUID", path, id)
			}
		}
		a, b := s.get(t, "/v1/areas").Header.Get("X-Request-Id"), s.get(t, "/v1/areas").Header.Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests got the same id %q", a)
		}
	})
	t.Run("client id echoed and forwarded", func(t *testing.T) {
		const id = "e2e-Client.id_42"
		r := s.do(t, http.MethodGet, "/v1/"+demoServiceName, nil, map[string]string{"X-Request-Id": id})
		r.wantOK(t)
		if got := r.Header.Get("X-Request-Id"); got != id {
			t.Errorf("X-Request-Id %q, want %q echoed", got, id)
		}
		if vals := r.Header.Values("X-Request-Id"); len(vals) != 1 {
			t.Errorf("X-Request-Id sent %d times: %q", len(vals), vals)
		}
		// The catalogue logs the call under the same id.
		eventually(t, "the catalogue logging request id "+id, func() bool { return s.catalogue.logged("request_id", id) })
	})
	t.Run("unsafe client id replaced", func(t *testing.T) {
		for _, id := range []string{"has spaces", strings.Repeat("a", 65), "new\\nline", `{"json":1}`} {
			r := s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"X-Request-Id": id})
			if got := r.Header.Get("X-Request-Id"); got == id || !uuidRE.MatchString(got) {
				t.Errorf("client id %q: response id %q, want a generated UUID", id, got)
			}
		}
	})
	t.Run("Grpc-Metadata forgery has no effect", func(t *testing.T) {
		const forged = "forged-by-client"
		r := s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"Grpc-Metadata-X-Request-Id": forged})
		got := r.Header.Get("X-Request-Id")
		if got == forged || !uuidRE.MatchString(got) {
			t.Errorf("X-Request-Id %q after a Grpc-Metadata-X-Request-Id header, want a generated UUID", got)
		}
		r = s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"X-Request-Id": "plain-id", "Grpc-Metadata-X-Request-Id": forged})
		if got := r.Header.Get("X-Request-Id"); got != "plain-id" {
			t.Errorf("X-Request-Id %q, want plain-id", got)
		}
		eventually(t, "the catalogue logging plain-id", func() bool { return s.catalogue.logged("request_id", "plain-id") })
		if strings.Contains(s.catalogue.stderr.String(), forged) || strings.Contains(s.gateway.stderr.String(), forged) {
			t.Errorf("the forged id reached the logs")
		}
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "grpc-metadata-") {
				t.Errorf("response leaks gRPC metadata header %s", k)
			}
		}
	})
}

// TestCORS: only the configured origin is allowed; preflights are answered.
func TestCORS(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	t.Run("allowed origin", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"Origin": allowedCORS})
		r.wantOK(t)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowedCORS {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowedCORS)
		}
		if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Errorf("X-Request-Id not exposed to browsers: %v", r.Header)
		}
		if !containsString(r.Header.Values("Vary"), "Origin") {
			t.Errorf("no Vary: Origin on a per-origin answer: %v", r.Header)
		}
	})
	t.Run("other origin", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"Origin": "https://evil.example"})
		r.wantOK(t)
		for k := range r.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("disallowed origin got %s: %q", k, r.Header.Get(k))
			}
		}
	})
	t.Run("preflight from allowed origin", func(t *testing.T) {
		r := s.do(t, http.MethodOptions, "/v1/services", nil, map[string]string{
			"Origin": allowedCORS, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "content-type, x-request-id",
		})
		if r.Status != http.StatusNoContent {
			t.Fatalf("preflight: want 204: %s", r)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowedCORS {
			t.Errorf("Access-Control-Allow-Origin %q", got)
		}
		methods := strings.ToUpper(r.Header.Get("Access-Control-Allow-Methods"))
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
			if !strings.Contains(methods, m) {
				t.Errorf("Access-Control-Allow-Methods %q lacks %s", methods, m)
			}
		}
		headers := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-request-id"} {
			if !strings.Contains(headers, h) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", headers, h)
			}
		}
	})
	t.Run("preflight from other origin", func(t *testing.T) {
		r := s.do(t, http.MethodOptions, "/v1/services", nil, map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
		})
		if r.Status == http.StatusNoContent || r.Status == http.StatusOK {
			t.Errorf("preflight of a disallowed origin succeeded: %s", r)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("disallowed origin got CORS headers: %v", r.Header)
		}
	})
}

// TestBackendDown: when the catalogue dies, /healthz says so and the REST API answers 503 without internals.
func TestBackendDown(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	h := s.get(t, "/healthz").wantOK(t)
	if str(t, h, "backends", "catalogue") != "SERVING" || str(t, h, "status") != "SERVING" {
		t.Fatalf("healthz of a healthy suite: %v", h)
	}

	s.catalogue.kill(t)

	var last httpResult
	eventually(t, "GET /healthz answering 503", func() bool {
		last = s.get(t, "/healthz")
		return last.Status == http.StatusServiceUnavailable
	})
	h = last.jsonObject(t)
	if str(t, h, "backends", "catalogue") == "SERVING" || str(t, h, "status") == "SERVING" {
		t.Errorf("healthz 503 body still says SERVING: %v", h)
	}

	_, grpcPort, _ := strings.Cut(s.grpcAddr, ":")
	leaks := []string{"connection refused", "dial", "127.0.0.1", grpcPort, "transport", "rpc error"}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/" + demoServiceName, ""},
		{"GET", "/v1/services?pageSize=2", ""},
		{"POST", "/v1/services:search", `{"query":"zlobek"}`},
		{"POST", "/v1/services", `{"displayName":"X","areas":["AREA_CULTURE"]}`},
		{"GET", "/v1/changes:watch?afterRevision=0", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.edit(t, tc.method, tc.path, tc.body)
			if st := r.wantStatus(t, http.StatusServiceUnavailable, "BACKEND_UNAVAILABLE"); st.Code != 14 {
				t.Errorf("code %d, want 14 (UNAVAILABLE)", st.Code)
			}
			for _, l := range leaks {
				if strings.Contains(string(r.Body), l) {
					t.Errorf("503 body leaks %q: %s", l, r)
				}
			}
		})
	}
	t.Run("HSDS", func(t *testing.T) {
		r := s.get(t, "/hsds/services")
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("want 503: %s", r)
		}
		r.status(t)
		for _, l := range leaks {
			if strings.Contains(string(r.Body), l) {
				t.Errorf("503 body leaks %q: %s", l, r)
			}
		}
	})
}

// TestOpenAPIAgreesWithWire: every key the REST API sends is a property of the schema the OpenAPI 3.1 document
// at /openapi.json declares for it, resolving $ref, arrays and anyOf generically.
func TestOpenAPIAgreesWithWire(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	docResp := s.get(t, "/openapi.json")
	doc := docResp.wantOK(t)
	if ct := docResp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/openapi.json Content-Type %q", ct)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("/openapi.json is OpenAPI %q, want 3.1", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/services", "/v1/services/{service}", "/v1/services:search", "/v1/changes", "/v1/changes:watch", "/v1/areas"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("paths lack %s (have %v)", p, keys(paths))
		}
	}
	defs, _ := dig(t, doc, "components", "schemas").(map[string]any)
	if len(defs) == 0 {
		t.Fatal("no components.schemas")
	}
	// The schema of an operation's 200 answer in media type, found by operationId so schema names may change.
	opSchemaOf := func(t *testing.T, opID, media string) map[string]any {
		t.Helper()
		for _, item := range paths {
			for _, op := range item.(map[string]any) {
				o, ok := op.(map[string]any)
				if !ok || o["operationId"] != opID {
					continue
				}
				schema, _ := dig(t, o, "responses", "200", "content", media, "schema").(map[string]any)
				return schema
			}
		}
		t.Fatalf("no operation %s in /openapi.json", opID)
		return nil
	}
	opSchema := func(t *testing.T, opID string) map[string]any {
		t.Helper()
		return opSchemaOf(t, opID, "application/json")
	}
	check := func(t *testing.T, opID string, wire any) {
		t.Helper()
		var problems []string
		checkAgainstSchema(defs, wire, opSchema(t, opID), opID, &problems)
		for _, p := range problems {
			t.Error(p)
		}
	}
	// The demo service has locations, opening hours, a fee with bands and a legal basis: the deepest object.
	svc := s.get(t, "/v1/"+demoServiceName).wantOK(t)
	if len(list(t, svc, "locations")) == 0 {
		t.Fatalf("demo service has no locations: %v", svc)
	}
	check(t, "CatalogueService_GetService", svc)
	if ref := opSchema(t, "CatalogueService_GetService")["$ref"]; ref != "#/components/schemas/v1Service" {
		t.Errorf("GetService answers %v, want the v1Service schema", ref)
	}
	loc, _ := defs["catalogueV1Location"].(map[string]any)
	for k := range list(t, svc, "locations")[0].(map[string]any) {
		if _, ok := dig(t, loc, "properties").(map[string]any)[k]; !ok {
			t.Errorf("location key %q is not a property of catalogueV1Location", k)
		}
	}

	check(t, "CatalogueService_ListServices", s.get(t, "/v1/services?pageSize=1000").wantOK(t))
	check(t, "CatalogueService_SearchServices", s.send(t, http.MethodPost, "/v1/services:search",
		`{"query":"senior","near":{"center":{"latitude":51.6094,"longitude":16.8583},"radiusMeters":30000}}`).wantOK(t))
	check(t, "CatalogueService_ListChanges", s.edit(t, http.MethodGet, "/v1/changes?pageSize=1000", "").wantOK(t))
	check(t, "CatalogueService_ListAreas", s.get(t, "/v1/areas").wantOK(t))
	check(t, "CatalogueService_ListTargetGroups", s.get(t, "/v1/targetGroups").wantOK(t))
	check(t, "CatalogueService_ListProgrammes", s.get(t, "/v1/programmes").wantOK(t))

	var errBody any
	_ = json.Unmarshal(s.get(t, "/v1/services/123").Body, &errBody)
	var problems []string
	checkAgainstSchema(defs, errBody, map[string]any{"$ref": "#/components/schemas/rpcStatus"}, "an error", &problems)

	// The watch's lines agree with the stream schema of its 200 response, documented as application/x-ndjson.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := s.watch(ctx, t, 0)
	var line any
	if err := json.Unmarshal([]byte(nextLine(t, lines, errc)), &line); err != nil {
		t.Fatal(err)
	}
	checkAgainstSchema(defs, line, opSchemaOf(t, "CatalogueService_WatchChanges", "application/x-ndjson"), "watch line", &problems)
	for _, p := range problems {
		t.Error(p)
	}

	// The documented lowerCamelCase is what the wire uses: no snake_case key anywhere in a service.
	var snake []string
	walkKeys(svc, func(k string) {
		if strings.Contains(k, "_") && k != "@type" {
			snake = append(snake, k)
		}
	})
	if len(snake) > 0 {
		t.Errorf("snake_case keys on the wire: %v", snake)
	}
}

// TestOpenAPIRoutesAgreeWithWire: every path and method of the OpenAPI 3.1 document is a live route of the
// full suite, with the access the document states: an anonymous call of an operation with a bearer security
// requirement answers 401, of a public one (security: []) anything but 401/403; and the 3.1 document has
// exactly the operations of the 2.0 one served at /openapi-v2.json, on the same methods.
func TestOpenAPIRoutesAgreeWithWire(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	doc := s.get(t, "/openapi.json").wantOK(t)
	v2 := s.get(t, "/openapi-v2.json").wantOK(t)
	if v2["swagger"] != "2.0" {
		t.Errorf("/openapi-v2.json is not Swagger 2.0: swagger=%v", v2["swagger"])
	}
	opsOf := func(d map[string]any) map[string]string {
		out := map[string]string{}
		for _, item := range d["paths"].(map[string]any) {
			for m, op := range item.(map[string]any) {
				if o, ok := op.(map[string]any); ok {
					out[fmt.Sprint(o["operationId"])] = m
				}
			}
		}
		return out
	}
	ops3, ops2 := opsOf(doc), opsOf(v2)
	for id, m := range ops2 {
		if ops3[id] != m {
			t.Errorf("%s: %s in 2.0, %q in 3.1", id, m, ops3[id])
		}
	}
	for id := range ops3 {
		if _, ok := ops2[id]; !ok {
			t.Errorf("%s is only in 3.1", id)
		}
	}
	if len(ops3) < 70 {
		t.Errorf("only %d operations documented", len(ops3))
	}

	const sampleID = "0194c050-0a5b-7000-8000-00000000dead"
	variable := regexp.MustCompile(`\{[^}]+\}`)
	var checked int
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			o, ok := op.(map[string]any)
			if !ok {
				continue
			}
			concrete := variable.ReplaceAllString(path, sampleID)
			var body io.Reader
			if method != "get" && method != "delete" {
				body = strings.NewReader(`{}`)
			}
			r := s.do(t, strings.ToUpper(method), concrete, body, nil)
			reason := ""
			if r.Status >= 400 {
				reason = unwrapStreamError(t, r).status(t).Reason
			}
			if r.Status == http.StatusMethodNotAllowed || reason == "ROUTE_NOT_FOUND" {
				t.Errorf("documented %s %s is not served: %s", method, path, r)
				continue
			}
			sec, _ := o["security"].([]any)
			public := sec != nil && len(sec) == 0
			switch {
			case !public && r.Status != http.StatusUnauthorized:
				t.Errorf("%s %s needs a bearer token by the document, anonymously it answered %s", method, path, r)
			case public && (r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden):
				t.Errorf("%s %s is public by the document, anonymously it answered %s", method, path, r)
			}
			checked++
		}
	}
	t.Logf("%d documented operations answered as documented", checked)
}

// checkAgainstSchema reports every object key of wire that the schema does not declare. defs are the named
// schemas ($ref "#/components/schemas/X" in OpenAPI 3.1, "#/definitions/X" in Swagger 2.0); a value matching
// any alternative of an anyOf or oneOf passes.
func checkAgainstSchema(defs map[string]any, wire any, schema map[string]any, path string, problems *[]string) {
	for depth := 0; schema["$ref"] != nil; depth++ {
		ref, _ := schema["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok {
			name, ok = strings.CutPrefix(ref, "#/definitions/")
		}
		def, found := defs[name].(map[string]any)
		if !ok || !found || depth > 20 {
			*problems = append(*problems, fmt.Sprintf("%s: unresolvable $ref %q", path, ref))
			return
		}
		schema = def
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, _ := schema[key].([]any)
		if len(alts) == 0 {
			continue
		}
		var first []string
		for i, a := range alts {
			am, _ := a.(map[string]any)
			var p []string
			checkAgainstSchema(defs, wire, am, path, &p)
			if len(p) == 0 {
				return
			}
			if i == 0 {
				first = p
			}
		}
		*problems = append(*problems, fmt.Sprintf("%s: matches no alternative of %s (the first says %v)", path, key, first))
		return
	}
	switch w := wire.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		// additionalProperties (true or a schema) admits undeclared keys, e.g. protobufAny's packed fields.
		open := schema["additionalProperties"] != nil && schema["additionalProperties"] != false
		if props == nil && !open {
			*problems = append(*problems, fmt.Sprintf("%s: the wire has an object, the schema declares no properties", path))
			return
		}
		for k, v := range w {
			p, ok := props[k].(map[string]any)
			if !ok && open {
				continue
			}
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: key %q is not a property of the schema (it has %v)", path, k, keys(props)))
				continue
			}
			checkAgainstSchema(defs, v, p, path+"."+k, problems)
		}
	case []any:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: the wire has an array, the schema is %v", path, schema["type"]))
			return
		}
		for i, v := range w {
			checkAgainstSchema(defs, v, items, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	}
}

func walkKeys(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, v := range x {
			fn(k)
			walkKeys(v, fn)
		}
	case []any:
		for _, v := range x {
			walkKeys(v, fn)
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDocsPage: /docs is the human-readable reference of the same document.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	r := s.get(t, "/docs")
	if r.Status != http.StatusOK {
		t.Fatalf("want 200: %s", r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	page := string(r.Body)
	for _, want := range []string{"<html", "SearchServices", "services:search", "v1Service", "catalogueV1Location", "rpcStatus",
		"Services", "usługa", "Referrals", "skierowanie", "umowa", "bearer", "Authorization: Bearer $TOKEN"} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs lacks %q", want)
		}
	}
	// Every schema of the OpenAPI document is on the page.
	doc := s.get(t, "/openapi.json").wantOK(t)
	defs, _ := dig(t, doc, "components", "schemas").(map[string]any)
	if len(defs) == 0 {
		t.Fatal("no components.schemas in /openapi.json")
	}
	for name := range defs {
		if !strings.Contains(page, name) {
			t.Errorf("/docs lacks the schema %s", name)
		}
	}
	// And the residents' page at / links to it.
	if home := s.get(t, "/"); home.Status != http.StatusOK || !strings.Contains(string(home.Body), `href="/docs"`) {
		t.Errorf("GET / -> %d, want the home page linking /docs", home.Status)
	}
}

// TestHSDS: the HSDS 3.0 read API serves the catalogue in its paginated envelope.
func TestHSDS(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	m := s.get(t, "/hsds/services").wantOK(t)
	for _, k := range []string{"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"} {
		if _, ok := m[k]; !ok {
			t.Errorf("HSDS envelope lacks %s: %v", k, keys(m))
		}
	}
	total := int64Field(t, m, "total_items")
	if total < 40 {
		t.Errorf("total_items %d, want at least 40 (the demo catalogue)", total)
	}
	contents := list(t, m, "contents")
	if len(contents) == 0 || int64(len(contents)) > total {
		t.Fatalf("%d contents for total_items %d", len(contents), total)
	}
	first := contents[0].(map[string]any)
	if str(t, first, "id") == "" || str(t, first, "name") == "" {
		t.Errorf("HSDS service without id or name: %v", first)
	}
	if strings.HasPrefix(str(t, first, "id"), "services/") {
		t.Errorf("HSDS id %q is a resource name, want a bare UUID", first["id"])
	}
	one := s.get(t, "/hsds/services/"+demoServiceID).wantOK(t)
	if str(t, one, "id") != demoServiceID || !strings.Contains(str(t, one, "name"), "Żłobek") {
		t.Errorf("HSDS service %s: id %v name %v", demoServiceID, one["id"], one["name"])
	}
	s.get(t, "/hsds/services/0194c050-3022-7053-8000-00000000ffff").wantStatus(t, http.StatusNotFound, "")
}

// unwrapStreamError turns the {"error": Status} body grpc-gateway writes for a failed server stream into the
// Status itself, so the rest of an assertion can proceed.
func unwrapStreamError(t testing.TB, r httpResult) httpResult {
	t.Helper()
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(r.Body, &wrapped) == nil && len(wrapped.Error) > 0 {
		r.Body = wrapped.Error
	}
	return r
}

// TestStreamErrorsMatchTheDocumentedFormat: /openapi.json documents the error of GET /v1/changes:watch as a
// google.rpc.Status, like every other route; the wire must agree.
func TestStreamErrorsMatchTheDocumentedFormat(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	doc := s.get(t, "/openapi.json").wantOK(t)
	for _, code := range []string{"400", "401", "default"} {
		ref, _ := dig(t, doc, "paths", "/v1/changes:watch", "get", "responses", code, "$ref").(string)
		name, _ := strings.CutPrefix(ref, "#/components/responses/")
		if schema := dig(t, doc, "components", "responses", name, "content", "application/json", "schema", "$ref"); schema != "#/components/schemas/rpcStatus" {
			t.Fatalf("documented %s error of the watch is %v", code, schema)
		}
	}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		reason     string
	}{
		{"anonymous", "/v1/changes:watch?afterRevision=0", nil, 401, "AUTHENTICATION_REQUIRED"},
		{"revision in the future", "/v1/changes:watch?afterRevision=999999", s.as(t, roleEditor), 400, "REVISION_IN_FUTURE"},
		{"negative revision", "/v1/changes:watch?afterRevision=-1", s.as(t, roleEditor), 400, "INVALID_FIELDS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, tc.path, nil, tc.hdr)
			// The status and reason are right, whatever the envelope.
			unwrapStreamError(t, r).wantStatus(t, tc.status, tc.reason)
			r.wantStatus(t, tc.status, tc.reason)
			if tc.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

// TestListPagination: pages of ListServices cover the filtered set exactly once; tokens are bound to their query.
func TestListPagination(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	for _, filter := range []string{"", "area = AREA_SOCIAL_ASSISTANCE", "target_group = TARGET_GROUP_SENIORS AND free_of_charge = true"} {
		t.Run("filter="+filter, func(t *testing.T) {
			base := "/v1/services?pageSize=7&filter=" + url.QueryEscape(filter)
			all := s.get(t, "/v1/services?pageSize=1000&filter="+url.QueryEscape(filter)).wantOK(t)
			total := int64Field(t, all, "totalSize")
			if total == 0 || int64(len(list(t, all, "services"))) != total {
				t.Fatalf("totalSize %d with %d services listed at once", total, len(list(t, all, "services")))
			}
			seen := map[string]bool{}
			var order []string
			tok := ""
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("more than 100 pages")
				}
				m := s.get(t, base+"&pageToken="+url.QueryEscape(tok)).wantOK(t)
				if got := int64Field(t, m, "totalSize"); got != total {
					t.Errorf("page %d: totalSize %d, want %d", pages, got, total)
				}
				for _, v := range list(t, m, "services") {
					n := str(t, v.(map[string]any), "name")
					if seen[n] {
						t.Errorf("%s listed twice", n)
					}
					seen[n] = true
					order = append(order, n)
				}
				tok, _ = m["nextPageToken"].(string)
				if tok == "" {
					break
				}
			}
			if int64(len(seen)) != total {
				t.Errorf("pages held %d services, totalSize %d", len(seen), total)
			}
			for i, v := range list(t, all, "services") {
				if i < len(order) && order[i] != str(t, v.(map[string]any), "name") {
					t.Errorf("paged order differs from the one-page order at %d", i)
					break
				}
			}
		})
	}
	first := s.get(t, "/v1/services?pageSize=5").wantOK(t)
	tok, _ := first["nextPageToken"].(string)
	if tok == "" {
		t.Fatal("no nextPageToken")
	}
	s.get(t, "/v1/services?pageSize=5&orderBy=create_time&pageToken="+url.QueryEscape(tok)).
		wantStatus(t, http.StatusBadRequest, "INVALID_PAGE_TOKEN")
	// Page sizes above the maximum are capped, not refused.
	s.get(t, "/v1/services?pageSize=100000").wantOK(t)
}

// polishKey maps a string to its primary collation key in the Polish alphabet (ą after a, ł after l, ś after
// s, ż last...), case-insensitive; other characters sort before letters.
func polishKey(s string) []int {
	const alphabet = "aąbcćdeęfghijklłmnńoópqrsśtuvwxyzźż"
	var k []int
	for _, r := range strings.ToLower(s) {
		switch i := strings.IndexRune(alphabet, r); {
		case i >= 0:
			k = append(k, 100+utf8.RuneCountInString(alphabet[:i]))
		case unicode.IsDigit(r):
			k = append(k, 50)
		case unicode.IsLetter(r):
			k = append(k, 1000)
		default:
			k = append(k, 0)
		}
	}
	return k
}

// TestPolishOrdering: order_by display_name follows the Polish alphabet, both ways (api-style.md).
func TestPolishOrdering(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	for _, n := range []string{"Łaźnia miejska", "Lato w mieście", "Mleczarnia", "Ćwiczenia oddechowe", "Czytelnia", "Źródło wsparcia", "Zumba"} {
		s.createService(t, fmt.Sprintf(`{"displayName":%q,"areas":["AREA_CULTURE"]}`, n))
	}
	for _, desc := range []bool{false, true} {
		order := "display_name"
		if desc {
			order += " desc"
		}
		m := s.get(t, "/v1/services?pageSize=1000&orderBy="+url.QueryEscape(order)).wantOK(t)
		var names []string
		for _, v := range list(t, m, "services") {
			names = append(names, str(t, v.(map[string]any), "displayName"))
		}
		for i := 1; i < len(names); i++ {
			c := slices.Compare(polishKey(names[i-1]), polishKey(names[i]))
			if (!desc && c > 0) || (desc && c < 0) {
				t.Errorf("orderBy=%s: %q before %q", order, names[i-1], names[i])
			}
		}
	}
}

// TestSchemaCheckerCatchesUnknownKeys keeps checkAgainstSchema honest: an undeclared key, at the top or
// nested behind $ref and arrays, is reported; declared and free-form keys are not.
func TestSchemaCheckerCatchesUnknownKeys(t *testing.T) {
	t.Parallel()
	defs := map[string]any{
		"Svc": map[string]any{"type": "object", "properties": map[string]any{
			"name":      map[string]any{"type": "string"},
			"locations": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/Loc"}},
			"detail":    map[string]any{"$ref": "#/definitions/Any"},
			"either": map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/Loc"},
				map[string]any{"type": "object", "properties": map[string]any{"code": map[string]any{"type": "integer"}}}}},
		}},
		"Loc": map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
		"Any": map[string]any{"type": "object", "properties": map[string]any{"@type": map[string]any{"type": "string"}}, "additionalProperties": true},
	}
	root := map[string]any{"$ref": "#/definitions/Svc"}
	for _, tc := range []struct {
		wire string
		bad  int
	}{
		{`{"name":"a","locations":[{"id":"x"}],"detail":{"@type":"t","reason":"R"}}`, 0},
		{`{"name":"a","colour":"red"}`, 1},
		{`{"locations":[{"id":"x"},{"id":"y","terytCode":"1"}]}`, 1},
		{`{"locations":{"id":"x"}}`, 1},
		{`{"name":{"nested":true}}`, 1},
		{`{"either":{"id":"x"}}`, 0},
		{`{"either":{"code":3}}`, 0},
		{`{"either":{"id":"x","code":3}}`, 1},
	} {
		var wire any
		if err := json.Unmarshal([]byte(tc.wire), &wire); err != nil {
			t.Fatal(err)
		}
		var problems []string
		checkAgainstSchema(defs, wire, root, "w", &problems)
		if len(problems) != tc.bad {
			t.Errorf("%s: %d problems %q, want %d", tc.wire, len(problems), problems, tc.bad)
		}
	}
}
