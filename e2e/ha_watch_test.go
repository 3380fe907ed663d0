package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// haWatch is a REST client following GET /v1/changes:watch through the gateway: the revisions of the lines it
// read, the error line if one came, and the longest pause between two lines.
type haWatch struct {
	mu       sync.Mutex
	revs     []int64
	errLine  string
	err      error
	last     time.Time
	maxPause time.Duration
	pauseAt  int64 // the revision after the longest pause
	done     chan struct{}
}

func (h *haSuite) watchREST(ctx context.Context, after int64) *haWatch {
	h.t.Helper()
	w := &haWatch{done: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/changes:watch?afterRevision=%d", h.baseURL, after), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.admin)
	go func() {
		defer close(w.done)
		resp, err := (&http.Client{}).Do(req) // no client timeout: the stream lives as long as ctx
		if err != nil {
			w.fail(err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			w.fail(fmt.Errorf("watch answered %d", resp.StatusCode))
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var m struct {
				Result *struct {
					Change struct {
						Revision string `json:"revision"`
					} `json:"change"`
				} `json:"result"`
				Error json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil || m.Result == nil {
				w.mu.Lock()
				w.errLine = line
				w.mu.Unlock()
				return
			}
			rev, err := strconv.ParseInt(m.Result.Change.Revision, 10, 64)
			if err != nil {
				w.fail(fmt.Errorf("revision of %s: %w", line, err))
				return
			}
			w.mu.Lock()
			now := time.Now()
			if !w.last.IsZero() && now.Sub(w.last) > w.maxPause {
				w.maxPause, w.pauseAt = now.Sub(w.last), rev
			}
			w.last = now
			w.revs = append(w.revs, rev)
			w.mu.Unlock()
		}
		w.fail(sc.Err())
	}()
	return w
}

func (w *haWatch) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
}

func (w *haWatch) seen() (revs []int64, errLine string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.revs), w.errLine, w.err
}

// feed lists the whole change feed through the gateway (GET /v1/changes, page by page): its revisions.
func (h *haSuite) feed(t *testing.T) []int64 {
	t.Helper()
	var revs []int64
	after := int64(0)
	for {
		st, body, err := h.rest(context.Background(), http.MethodGet, fmt.Sprintf("/v1/changes?afterRevision=%d&pageSize=1000", after), "")
		if err != nil || st != http.StatusOK {
			t.Fatalf("list changes after %d: %d %v %s", after, st, err, body)
		}
		var page struct {
			Changes []struct {
				Revision string `json:"revision"`
			} `json:"changes"`
			NextAfterRevision string `json:"nextAfterRevision"`
			HasMore           bool   `json:"hasMore"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			rev, err := strconv.ParseInt(c.Revision, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			revs = append(revs, rev)
		}
		if !page.HasMore {
			return revs
		}
		if after, err = strconv.ParseInt(page.NextAfterRevision, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
}

// watchEnds counts the WatchChanges calls a replica's log records as ended, by their code.
func watchEnds(log string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var e struct {
			Method string `json:"method"`
			Code   string `json:"code"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Method == "/cus.catalogue.v1.CatalogueService/WatchChanges" {
			out[e.Code]++
		}
	}
	return out
}

// issue 11: a replica that stops drains its streams and hands its clients over without losing an event. A REST
// client follows GET /v1/changes:watch through the gateway (round robin over two catalogue replicas on one etcd
// cluster) while a writer creates services through the gateway; both replicas are stopped gracefully (SIGTERM,
// a 1 s drain period) and started again, one after the other, as a rolling upgrade does, so the replica serving
// the watch is drained at least once; then each is killed (SIGKILL) and started again in the same way, so the
// watch also crosses a replica whose connection breaks. The NDJSON stream goes on without an error line, and it holds every
// change of the feed (listed afterwards) exactly once, in order: the gateway re-opened the watch on the other
// replica from the last revision it had sent (grpcclient.WithWatchResume). Without that, the stream ends with
// {"error": UNAVAILABLE SHUTTING_DOWN} at the first stop of the replica serving it. The longest pause between
// two lines is logged.
func TestHAWatchAcrossRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster, two catalogue replicas and the gateway")
	}
	h := startHA(t, "--drain-period", "1s")
	// Both replicas ready first: the first may still be loading the demo data, and a stop then is not a drain.
	ready := func(r *haReplica) func() bool {
		return func() bool {
			resp, err := h.client.Get("http://" + r.admin + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
	}
	for _, r := range h.replicas {
		eventually(t, r.name+" ready", ready(r))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := h.watchREST(ctx, 0)

	var wrote, failed atomic.Int64
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			case <-time.After(20 * time.Millisecond):
			}
			r := createRequest(haWord("haw", 0, i))
			wctx, wcancel := context.WithTimeout(ctx, callTimeout)
			st, _, err := h.rest(wctx, r.method, r.path, r.body)
			wcancel()
			if err == nil && st == http.StatusOK {
				wrote.Add(1)
			} else {
				failed.Add(1)
			}
		}
	}()
	progress := func(what string, n int64) {
		t.Helper()
		from := wrote.Load()
		eventually(t, what, func() bool { return wrote.Load() >= from+n })
	}
	progress("creates through the gateway before the restarts", 20)

	var logs []string
	// First a rolling upgrade (SIGTERM, each replica's drain), then each replica crashing (SIGKILL: the gateway
	// sees its connection break, not a SHUTTING_DOWN), each started again before the other goes.
	for _, crash := range []bool{false, true} {
		for _, r := range h.replicas {
			old := r.p
			stopped := time.Now()
			failed := t.Failed()
			how := "SIGTERM"
			if crash {
				how = "SIGKILL"
				old.kill(t)
			} else {
				old.stop(t) // NOT_SERVING, the drain period, then its streams end UNAVAILABLE SHUTTING_DOWN
				logs = append(logs, old.stderr.String())
			}
			if !failed && t.Failed() {
				t.Log(old.output())
			}
			t.Logf("%s stopped (%s) in %v", r.name, how, time.Since(stopped).Round(time.Millisecond))
			progress("creates through the gateway while "+r.name+" is down", 10)
			h.startReplica(r)
			eventually(t, r.name+" ready again", ready(r))
			// The gateway balances onto it again before the other one stops (as a rolling upgrade waits for the
			// new pod's readiness): a read through the gateway reaches it.
			eventually(t, "the gateway sending calls to "+r.name+" again", func() bool {
				st, _, err := h.rest(context.Background(), http.MethodGet, "/v1/"+demoServiceName, "")
				return err == nil && st == http.StatusOK &&
					strings.Contains(r.p.stderr.String(), `"method":"/cus.catalogue.v1.CatalogueService/GetService"`)
			})
			progress("creates through the gateway after "+r.name+" is back", 10)
		}
	}
	close(stopWriter)
	<-writerDone

	feed := h.feed(t)
	eventually(t, "the watch reaching the end of the feed", func() bool {
		revs, errLine, err := w.seen()
		return errLine != "" || err != nil || (len(revs) > 0 && revs[len(revs)-1] >= feed[len(feed)-1])
	})
	cancel()
	<-w.done
	revs, errLine, _ := w.seen()
	if errLine != "" {
		t.Fatalf("the NDJSON stream ended with %s after %d changes", errLine, len(revs))
	}
	if !slices.Equal(revs, feed) {
		var dup, missing int
		got := map[int64]int{}
		for _, r := range revs {
			if got[r]++; got[r] == 2 {
				dup++
			}
		}
		for _, r := range feed {
			if got[r] == 0 {
				missing++
			}
		}
		t.Errorf("the watch read %d changes, the feed has %d: %d twice, %d missing, in order: %v",
			len(revs), len(feed), dup, missing, slices.IsSorted(revs))
	}
	handedOver := 0
	for _, l := range logs {
		handedOver += watchEnds(l)["Unavailable"]
	}
	if handedOver == 0 {
		t.Error("no replica stopped with SIGTERM ended a WatchChanges with UNAVAILABLE: the watch was never drained off one")
	}
	w.mu.Lock()
	pause, at := w.maxPause, w.pauseAt
	w.mu.Unlock()
	t.Logf("rolling restart (SIGTERM) then crash (SIGKILL) of each replica in turn under a writer through the gateway (%d creates acknowledged, %d failed): "+
		"the REST watch read all %d changes of the feed once each, in order, across %d drain hand-over(s) and the crashes; its longest pause "+
		"between two lines was %v (before revision %d; a create every 20 ms)",
		wrote.Load(), failed.Load(), len(feed), handedOver, pause.Round(time.Millisecond), at)
}
