package rest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cus-suite/cus/gateway/internal/web"
)

func TestPublicCache(t *testing.T) {
	calls := 0
	body := "v1"
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/services/0194c050-3022-7053-8000-000000000099" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(body))
	})
	c := newPublicCache(time.Second, 100)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	h := c.middleware(backend)
	get := func(path, auth string) string {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	const svc = "/v1/services/0194c050-3022-7053-8000-000000000001"
	get(svc, "")
	body = "v2"
	if got := get(svc, ""); got != "v1" || calls != 1 {
		t.Fatalf("second anonymous read: %q after %d calls, want the cached v1", got, calls)
	}
	if got := get(svc, "Bearer x"); got != "v2" || calls != 2 {
		t.Fatal("a request with credentials was answered from the cache")
	}
	now = now.Add(1100 * time.Millisecond)
	if got := get(svc, ""); got != "v2" {
		t.Fatalf("after the TTL: %q", got)
	}
	// A write through the gateway drops the copy at once.
	body = "v3"
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPatch, svc, nil))
	if got := get(svc, ""); got != "v3" {
		t.Fatalf("after a write: %q", got)
	}
	// Errors and uncacheable routes are never cached.
	get("/v1/services/0194c050-3022-7053-8000-000000000099", "")
	get("/v1/services/0194c050-3022-7053-8000-000000000099", "")
	before := calls
	get("/v1/services?pageSize=1", "")
	get("/v1/services?pageSize=1", "")
	if calls != before+2 {
		t.Fatal("a list was cached")
	}
	if newPublicCache(0, 10).middleware(backend) == nil {
		t.Fatal("disabled cache must pass through")
	}
}

// The residents' pages share the cache with their own path matcher: a page without a query is kept with the
// page's own Cache-Control; search results and pages with figures in the query always go through.
func TestPublicCacheOfPages(t *testing.T) {
	calls := 0
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write([]byte("<p>strona</p>"))
	})
	c := newPublicCache(time.Second, 100)
	c.match = web.Cacheable
	h := c.middleware(pages)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	const page = "/uslugi/0194c050-3022-7053-8000-000000000001"
	get(page)
	if w := get(page); calls != 1 || w.Header().Get("Cache-Control") != "public, max-age=60" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("a cached page: %d calls, Cache-Control %q", calls, w.Header().Get("Cache-Control"))
	}
	for _, p := range []string{page + "?dochod=1200&osoby=3", "/szukaj?q=zlobek", "/szukaj"} {
		before := calls
		get(p)
		get(p)
		if calls != before+2 {
			t.Errorf("%s was cached", p)
		}
	}
}
