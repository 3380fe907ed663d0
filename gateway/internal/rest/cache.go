package rest

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// publicCache is a micro-cache of anonymous reads of single public catalogue resources (a service, a
// programme, the taxonomies). A resident's app reads the same few services many times a second; answering those
// from memory for a moment (TTL, 1 s by default) spares the catalogue and the JSON encoding, and costs a bounded
// staleness for anonymous readers only. A request with credentials always goes through (its token must be
// checked), and a write through this gateway drops the cached copy of what it changed at once.
type publicCache struct {
	ttl time.Duration
	max int
	now func() time.Time
	// match tells the cacheable paths: the REST reads by default, the residents' pages for theirs.
	match func(path string) bool

	mu sync.RWMutex
	m  map[string]cachedResponse
}

type cachedResponse struct {
	body  []byte
	ctype string
	etag  string // the ETag header (etag.go), replayed so a cached answer can be revalidated
	// cacheControl is the handler's own Cache-Control (the residents' pages set theirs), kept on hits.
	cacheControl string
	expires      time.Time
	stored       time.Time
}

// Routes whose anonymous GET answers are the same for every anonymous caller.
var cacheable = regexp.MustCompile(`^/v1/(services/[0-9a-fA-F-]{36}|programmes/[0-9a-fA-F-]{36}|areas|targetGroups)$`)

func newPublicCache(ttl time.Duration, max int) *publicCache {
	return &publicCache{ttl: ttl, max: max, now: time.Now, match: cacheable.MatchString, m: map[string]cachedResponse{}}
}

func (c *publicCache) middleware(next http.Handler) http.Handler {
	if c == nil || c.ttl <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.match(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A write (or anything else) to the resource: the cached copy is no longer to be trusted.
			c.mu.Lock()
			delete(c.m, r.URL.Path)
			c.mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("Authorization") != "" || r.URL.RawQuery != "" {
			next.ServeHTTP(w, r)
			return
		}
		now := c.now()
		c.mu.RLock()
		e, ok := c.m[r.URL.Path]
		c.mu.RUnlock()
		if ok && now.Before(e.expires) {
			h := w.Header()
			h.Set("Content-Type", e.ctype)
			if e.etag != "" {
				h.Set("ETag", e.etag)
			}
			if e.cacheControl != "" {
				h.Set("Cache-Control", e.cacheControl)
			} else {
				h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(c.ttl.Seconds())))
			}
			h.Set("Age", strconv.Itoa(int(now.Sub(e.stored).Seconds())))
			h.Set("Content-Length", strconv.Itoa(len(e.body)))
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(e.body)
			}
			return
		}
		rec := &capture{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK && r.Method == http.MethodGet && rec.buf.Len() > 0 && rec.buf.Len() <= 256<<10 {
			c.store(r.URL.Path, cachedResponse{
				body: bytes.Clone(rec.buf.Bytes()), ctype: rec.Header().Get("Content-Type"), etag: rec.Header().Get("ETag"),
				cacheControl: rec.Header().Get("Cache-Control"),
				stored:       now, expires: now.Add(c.ttl),
			})
		}
	})
}

func (c *publicCache) store(key string, e cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := c.max / 10
		for k := range c.m {
			if n <= 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
	c.m[key] = e
}

// capture passes a response through while keeping a copy of its body.
type capture struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	c.buf.Write(b)
	return c.ResponseWriter.Write(b)
}
