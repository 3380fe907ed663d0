package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cus-suite/cus/bench/internal/load"
)

func TestTemplate(t *testing.T) {
	tp, err := parseTemplate(`{"id":"{{.N}}","w":{{ .Worker }},"k":"{{.UUID}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := string(tp.fill(nil, 42, 7))
	re := regexp.MustCompile(`^\{"id":"42","w":7,"k":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$`)
	if !re.MatchString(got) {
		t.Fatalf("fill = %s", got)
	}
	if tp.static() {
		t.Error("static() with placeholders")
	}
	plain, err := parseTemplate(`{"a":1}`)
	if err != nil || !plain.static() || string(plain.fill(nil, 1, 0)) != `{"a":1}` {
		t.Errorf("plain template: %v %q", err, plain.fill(nil, 1, 0))
	}
	for _, bad := range []string{`{{.X}}`, `a {{.N`, `{{}}`} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) accepted", bad)
		}
	}
}

func TestHeaderFlag(t *testing.T) {
	var h headerList
	if err := h.Set("authorization:  Bearer abc "); err != nil {
		t.Fatal(err)
	}
	if h[0].name != "Authorization" || h[0].value != "Bearer abc" {
		t.Errorf("got %+v", h[0])
	}
	if err := h.Set("no colon"); err == nil {
		t.Error("accepted a header without a colon")
	}
	if strings.Contains(h.String(), "abc") {
		t.Error("String() shows the header value (a token)")
	}
}

// TestPostLoad: every request is a distinct POST with the headers and a filled body; non-200s are errors that
// carry the response body.
func TestPostLoad(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer T" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request shape", http.StatusBadRequest)
			return
		}
		key := r.URL.Query().Get("requestId") + string(b)
		mu.Lock()
		dup := seen[key]
		seen[key] = true
		mu.Unlock()
		if dup || fail.Load() {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"message":"duplicate"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	ut, _ := parseTemplate(srv.URL + "/v1/things?requestId={{.UUID}}")
	bt, _ := parseTemplate(`{"n":{{.N}}}`)
	var dials atomic.Int64
	p := &postTarget{client: httpClient(4, &dials), url: ut, body: bt,
		headers: http.Header{"Authorization": {"Bearer T"}, "Content-Type": {"application/json"}}}
	defer p.client.CloseIdleConnections()
	op := func(ctx context.Context, w int) (int, error) { _, err := p.do(ctx, w); return 0, err }

	res := load.Run(context.Background(), load.Config{Workers: 4, Duration: 200 * time.Millisecond}, op)
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("requests %d, errors %d, first %v", res.Requests, res.Errors, res.FirstError)
	}
	if dials.Load() > 4 {
		t.Errorf("%d connections opened for 4 workers", dials.Load())
	}

	fail.Store(true)
	_, err := p.do(context.Background(), 0)
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("non-200: err = %v", err)
	}
}
