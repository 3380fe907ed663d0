package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cus-suite/cus/bench/internal/stats"
)

// WatchFloodReport is the result of `cusbench watchflood`.
type WatchFloodReport struct {
	Kind      string `json:"kind"`
	WatchURL  string `json:"watch_url"`
	ListURL   string `json:"list_url"`
	Attempted int    `json:"watches_attempted"`
	// Opened answered 200 (the stream is up); Pending had no answer yet when the list was measured (the
	// service holds the stream but has sent nothing); Refused answered 429; Failed answered anything else or
	// could not connect.
	Opened      int    `json:"watches_opened"`
	Pending     int    `json:"watches_pending"`
	Refused     int    `json:"watches_refused"`
	Failed      int    `json:"watches_failed"`
	FirstFailed string `json:"first_failed,omitempty"`
	// StillOpen is how many opened or pending watches were still open after the list run.
	StillOpen  int           `json:"watches_still_open"`
	Requests   int           `json:"list_requests"`
	Errors     int           `json:"list_errors"`
	FirstError string        `json:"first_error,omitempty"`
	Latency    stats.Summary `json:"list_latency"`
	NumCPU     int           `json:"num_cpu"`
	Time       string        `json:"time"`
}

// watch outcomes
const (
	watchPending int32 = iota
	watchOpened
	watchRefused
	watchFailed
	watchEnded // opened or pending, then the stream ended
)

// watchFloodCommand opens many REST watches with one token, each on its own connection as separate clients
// would, then times a list of another caller while they are open.
func watchFloodCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench watchflood", flag.ContinueOnError)
	base := fs.String("url", "", "base URL of the gateway, e.g. http://127.0.0.1:8080")
	watchPath := fs.String("watch-path", "/v1/referrals:watch", "path of the watch")
	listPath := fs.String("list-path", "/v1/referrals?pageSize=50", "path of the timed list")
	var watchHeaders, listHeaders headerList
	fs.Var(&watchHeaders, "watch-header", `request header of the watches "Name: value" (repeatable)`)
	fs.Var(&listHeaders, "list-header", `request header of the list "Name: value" (repeatable)`)
	watches := fs.Int("watches", 300, "watches to open")
	parallel := fs.Int("parallel", 50, "watches being opened at once")
	settle := fs.Duration("settle", 3*time.Second, "after the last watch was sent, time the answers get before the list is timed")
	requests := fs.Int("requests", 200, "timed list requests, one after the other")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of one list request")
	out := fs.String("out", "", "also write the JSON result to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := url.ParseRequestURI(*base + *watchPath); err != nil || *base == "" {
		return fmt.Errorf("--url: %q is not a base URL", *base)
	}
	if *watches < 1 || *parallel < 1 || *requests < 1 {
		return errors.New("--watches, --parallel and --requests must be positive")
	}
	rep := &WatchFloodReport{Kind: "watchflood", WatchURL: *base + *watchPath, ListURL: *base + *listPath,
		Attempted: *watches, NumCPU: runtime.NumCPU(), Time: time.Now().UTC().Format(time.RFC3339)}

	// Every watch its own connection: a watch holds its HTTP/1.1 connection for as long as it lasts.
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	wc := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, DisableKeepAlives: true,
		DisableCompression: true}}
	defer wc.CloseIdleConnections()
	wctx, endWatches := context.WithCancel(ctx)
	defer endWatches()
	state := make([]atomic.Int32, *watches)
	var firstFailed atomic.Pointer[string]
	fail := func(i int, msg string) {
		state[i].Store(watchFailed)
		firstFailed.CompareAndSwap(nil, &msg)
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, *parallel)
	fmt.Printf("== watch flood: %d × GET %s (%d at once), then %d × GET %s one after the other\n",
		*watches, *watchPath, *parallel, *requests, *listPath)
	for i := range *watches {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			released := false
			release := func() {
				if !released {
					released = true
					<-slots
				}
			}
			defer release()
			req, err := http.NewRequestWithContext(wctx, http.MethodGet, *base+*watchPath, nil)
			if err != nil {
				fail(i, err.Error())
				return
			}
			for _, h := range watchHeaders {
				req.Header.Add(h.name, h.value)
			}
			// A service that holds a watch without sending anything leaves it pending: let the next one go
			// after a moment rather than waiting for an answer that may never come.
			type answer struct {
				resp *http.Response
				err  error
			}
			ans := make(chan answer, 1)
			wg.Go(func() {
				resp, err := wc.Do(req)
				ans <- answer{resp, err}
			})
			var a answer
			select {
			case a = <-ans:
			case <-time.After(200 * time.Millisecond):
				release()
				a = <-ans
			}
			if a.err != nil {
				if wctx.Err() != nil {
					state[i].CompareAndSwap(watchPending, watchEnded)
					return
				}
				fail(i, a.err.Error())
				return
			}
			defer a.resp.Body.Close()
			switch a.resp.StatusCode {
			case http.StatusOK:
				state[i].Store(watchOpened)
				release()
				_, _ = io.Copy(io.Discard, bufio.NewReader(a.resp.Body)) // until the stream or the run ends
				state[i].Store(watchEnded)
			case http.StatusTooManyRequests:
				state[i].Store(watchRefused)
			default:
				b, _ := io.ReadAll(io.LimitReader(a.resp.Body, 300))
				fail(i, fmt.Sprintf("%s: %s", a.resp.Status, b))
			}
		})
	}
	time.Sleep(*settle)
	count := func() (opened, pending, refused, failed, ended int) {
		for i := range state {
			switch state[i].Load() {
			case watchOpened:
				opened++
			case watchPending:
				pending++
			case watchRefused:
				refused++
			case watchFailed:
				failed++
			case watchEnded:
				ended++
			}
		}
		return
	}
	var ended int
	rep.Opened, rep.Pending, rep.Refused, rep.Failed, ended = count()
	rep.Opened += ended // opened, then ended before the list run: still counts as opened
	if p := firstFailed.Load(); p != nil {
		rep.FirstFailed = *p
	}
	fmt.Printf("  watches: %d attempted, %d opened (200), %d pending (no answer yet), %d refused (429), %d failed\n",
		rep.Attempted, rep.Opened-ended, rep.Pending, rep.Refused, rep.Failed)
	if ended > 0 {
		fmt.Printf("  (%d more answered 200 and have ended already)\n", ended)
	}

	// The list, as another caller, while the watches are open.
	lc := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, MaxIdleConnsPerHost: 1,
		DisableCompression: true}, Timeout: *timeout}
	defer lc.CloseIdleConnections()
	list := func() (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *base+*listPath, nil)
		if err != nil {
			return 0, err
		}
		for _, h := range listHeaders {
			req.Header.Add(h.name, h.value)
		}
		start := time.Now()
		resp, err := lc.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return took, err
		}
		if resp.StatusCode != http.StatusOK {
			return took, fmt.Errorf("%s: %.300s", resp.Status, b)
		}
		return took, nil
	}
	if _, err := list(); err != nil { // the connection is opened here, not in a timed request
		rep.FirstError = err.Error()
	}
	var samples []time.Duration
	for range *requests {
		took, err := list()
		rep.Requests++
		if err != nil {
			rep.Errors++
			if rep.FirstError == "" {
				rep.FirstError = err.Error()
			}
			continue
		}
		samples = append(samples, took)
	}
	rep.Latency = stats.Summarize(samples)
	o, p, _, _, _ := count()
	rep.StillOpen = o + p
	endWatches()
	wg.Wait()

	l := rep.Latency
	fmt.Printf("  list: %d requests, %d errors; p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d watches still open after it)\n",
		rep.Requests, rep.Errors, stats.Ms(l.P50), stats.Ms(l.P99), stats.Ms(l.Max), rep.StillOpen)
	if rep.FirstFailed != "" {
		fmt.Printf("  first failed watch: %s\n", rep.FirstFailed)
	}
	if rep.FirstError != "" {
		fmt.Printf("  first list error: %s\n", rep.FirstError)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Printf("RESULT %s\n", b)
	if *out != "" {
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if rep.Errors > 0 {
		return fmt.Errorf("watchflood: %d of %d list requests failed; first: %s", rep.Errors, rep.Requests, rep.FirstError)
	}
	return nil
}
