package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchFloodDoesNotStarveLists: 300 REST watches of one provider token (the issue saw 270 of them make the
// gateway answer a coordinator's GET /v1/referrals 504 after 30 s: they filled the one HTTP/2 connection the
// gateway held to the referral service). With streams on their own connections, the coordinator's list
// answers while they are open. Functional only: the figure (p50/p99) is make bench-watch's.
func TestWatchFloodDoesNotStarveLists(t *testing.T) {
	s := startSuite(t, suiteOptions{full: true})
	coordinator := s.as(t, "coordinator")
	providers := s.do(t, http.MethodGet, "/v1/providers?pageSize=1", nil, coordinator).wantOK(t)
	ps := list(t, providers, "providers")
	if len(ps) == 0 {
		t.Fatal("no demo provider")
	}
	staff := s.asProvider(t, lastID(str(t, ps[0].(map[string]any), "name")))

	const watches = 300
	// Each watch its own connection, as 300 browser tabs or scripts would have.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// 0 while no answer came (the stream is held), then the HTTP status, or -1 when the request failed.
	status := make([]atomic.Int32, watches)
	for i := range watches {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+"/v1/referrals:watch", nil)
			if err != nil {
				status[i].Store(-1)
				return
			}
			for k, v := range staff {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					status[i].Store(-1)
				}
				return
			}
			defer resp.Body.Close()
			status[i].Store(int32(resp.StatusCode))
			_, _ = io.Copy(io.Discard, resp.Body) // until the test ends
		})
		// Paced under the services' default per-caller rate (50/s, burst 100), so the watches reach the
		// referral service and stay open rather than being refused by the rate limit.
		time.Sleep(16 * time.Millisecond)
	}
	// Give the last ones a moment to be answered (or to be held without an answer).
	time.Sleep(time.Second)

	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	req, err := http.NewRequestWithContext(lctx, http.MethodGet, s.baseURL+"/v1/referrals?pageSize=50", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range coordinator {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the coordinator's list with %d watches of one provider open: %v", watches, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the coordinator's list with %d watches of one provider open: %d %s", watches, resp.StatusCode, b)
	}
	took := time.Since(start)

	counts := map[int32]int{}
	for i := range status {
		counts[status[i].Load()]++
	}
	for code, n := range counts {
		switch code {
		case 0, http.StatusOK, http.StatusTooManyRequests:
		default:
			t.Errorf("%d watches answered %d (want 200, 429, or held open)", n, code)
		}
	}
	t.Logf("watches: %d opened, %d held without an answer yet, %d refused (429); gateway streams open to the referral service: %s; list answered in %v",
		counts[http.StatusOK], counts[0], counts[http.StatusTooManyRequests], gatewayStreamsOpen(t, s, "referral"), took)
}

// gatewayStreamsOpen reads the gateway's cus_gateway_backend_streams_open gauge of a backend ("?" when absent).
func gatewayStreamsOpen(t *testing.T, s *suite, backend string) string {
	t.Helper()
	r := s.get(t, "/metrics")
	prefix := `cus_gateway_backend_streams_open{backend="` + backend + `"} `
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return strconv.Itoa(int(f))
			}
		}
	}
	return "?"
}
