package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// httpClient is a keep-alive HTTP/1.1 client that opens at most conns connections and keeps all of them idle
// between requests, so a closed-loop run with conns workers uses exactly conns connections. dials counts them.
func httpClient(conns int, dials *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
}

// get fetches u and returns the body; anything but 200 is an error.
func get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, body)
	}
	return body, nil
}

// httpTarget prepares the closed-loop GET load on u, the same for the gateway and the bare server: every
// response must be a 200 with a body as long as the first one.
func httpTarget(ctx context.Context, kind, label, u string, conns int) (target, func(), error) {
	if _, err := url.ParseRequestURI(u); err != nil {
		return target{}, nil, fmt.Errorf("--url: %w", err)
	}
	dials := new(atomic.Int64)
	c := httpClient(conns, dials)
	first, err := get(ctx, c, u)
	if err != nil {
		c.CloseIdleConnections()
		return target{}, nil, err
	}
	want := len(first)
	op := func(ctx context.Context, _ int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %s", resp.Status)
		}
		if int(n) != want {
			return 0, fmt.Errorf("body of %d bytes, the first one had %d", n, want)
		}
		return 0, nil
	}
	t := target{kind: kind, label: label, desc: u, method: "GET", conns: conns, bodyBytes: want, op: op, dials: dials.Load}
	return t, c.CloseIdleConnections, nil
}

// bareServer fetches from once and serves exactly that body with Content-Type application/json from a plain
// net/http handler in this process: the ceiling a JSON API of that response size can reach here. It returns
// the URL to load (same path as from) and a function that stops the server.
func bareServer(ctx context.Context, from string) (string, int, func(), error) {
	var dials atomic.Int64
	c := httpClient(1, &dials)
	body, err := get(ctx, c, from)
	c.CloseIdleConnections()
	if err != nil {
		return "", 0, nil, err
	}
	src, err := url.Parse(from)
	if err != nil {
		return "", 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + src.RequestURI(), len(body), func() { _ = srv.Close() }, nil
}

// httpCommand loads a URL; with --vs-bare it also loads a bare net/http handler serving the same body,
// interleaved with it, and reports both (labels --label and "bare").
func httpCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench http", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "conns", 64, 10*time.Second, "rest")
	u := fs.String("url", "", "URL to GET (must answer 200)")
	vsBare := fs.Bool("vs-bare", false, "also measure a bare net/http handler serving the same body, interleaved")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *u == "" {
		return fmt.Errorf("--url is required")
	}
	t, closeIdle, err := httpTarget(ctx, "http", lf.label, *u, lf.workers)
	if err != nil {
		return err
	}
	defer closeIdle()
	ts := []target{t}
	fmt.Printf("== %s: GET %s, %d keep-alive connections, closed loop, warm-up %s, run %s\n", lf.label, *u, lf.workers, lf.warmup, lf.duration)
	if *vsBare {
		bu, n, stop, err := bareServer(ctx, *u)
		if err != nil {
			return err
		}
		defer stop()
		b, closeIdle, err := httpTarget(ctx, "bare", "bare", bu, lf.workers)
		if err != nil {
			return err
		}
		defer closeIdle()
		b.desc = bu + " (body of " + *u + ")"
		b.selfName = "generator+bare server"
		ts = append(ts, b)
		fmt.Printf("== bare: GET %s, an in-process net/http handler serving the same %d bytes, same client settings\n", bu, n)
	}
	fmt.Println("  " + shareNote())
	_, err = runTargets(ctx, lf, ts)
	return err
}

// bareCommand measures only the bare handler serving the body of --body-from.
func bareCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench bare", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "conns", 64, 10*time.Second, "bare")
	from := fs.String("body-from", "", "URL whose response body the bare handler serves")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("--body-from is required")
	}
	bu, n, stop, err := bareServer(ctx, *from)
	if err != nil {
		return err
	}
	defer stop()
	b, closeIdle, err := httpTarget(ctx, "bare", lf.label, bu, lf.workers)
	if err != nil {
		return err
	}
	defer closeIdle()
	b.desc = bu + " (body of " + *from + ")"
	b.selfName = "generator+bare server"
	fmt.Printf("== %s: GET %s, an in-process net/http handler serving the %d-byte body of %s, %d keep-alive connections, warm-up %s, run %s\n",
		lf.label, bu, n, *from, lf.workers, lf.warmup, lf.duration)
	fmt.Println("  " + shareNote())
	_, err = runTargets(ctx, lf, []target{b})
	return err
}

// waitCommand polls a URL until it answers 200.
func waitCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench wait", flag.ContinueOnError)
	u := fs.String("url", "", "URL that must answer 200")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var dials atomic.Int64
	c := httpClient(1, &dials)
	c.Timeout = time.Second
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for {
		_, err := get(ctx, c, *u)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", *u, *timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
