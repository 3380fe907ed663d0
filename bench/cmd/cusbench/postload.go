package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A template is a string with placeholders filled anew for every request, so that each request of a load of
// creates makes a new resource (or carries a new idempotency key):
//
//	{{.N}}       a sequence number, 1, 2, 3, ... over the whole process (probe, warm-up and timed run)
//	{{.UUID}}    a random version-4 UUID
//	{{.Worker}}  the number of the worker sending the request (0-based)
//
// Anything else between {{ and }} is an error.
type template struct {
	lits  []string // len(lits) == len(holes)+1
	holes []hole
}

type hole int

const (
	holeN hole = iota
	holeUUID
	holeWorker
)

var holeNames = map[string]hole{".N": holeN, ".UUID": holeUUID, ".Worker": holeWorker}

func parseTemplate(s string) (*template, error) {
	t := &template{}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.lits = append(t.lits, rest)
			return t, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %.60q", rest[i:])
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		h, ok := holeNames[name]
		if !ok {
			return nil, fmt.Errorf("unknown placeholder {{%s}} (known: {{.N}}, {{.UUID}}, {{.Worker}})", name)
		}
		t.lits = append(t.lits, rest[:i])
		t.holes = append(t.holes, h)
		rest = rest[i+j+2:]
	}
}

// static reports whether the template has no placeholder.
func (t *template) static() bool { return len(t.holes) == 0 }

// fill appends the template with n and worker w to dst.
func (t *template) fill(dst []byte, n int64, w int) []byte {
	for i, h := range t.holes {
		dst = append(dst, t.lits[i]...)
		switch h {
		case holeN:
			dst = strconv.AppendInt(dst, n, 10)
		case holeUUID:
			dst = appendUUID(dst)
		case holeWorker:
			dst = strconv.AppendInt(dst, int64(w), 10)
		}
	}
	return append(dst, t.lits[len(t.lits)-1]...)
}

// appendUUID appends a random version-4 UUID.
func appendUUID(dst []byte) []byte {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0x0f])
	}
	return dst
}

// headerList is the repeatable --header "Name: value" flag.
type headerList []struct{ name, value string }

func (h *headerList) String() string {
	var parts []string
	for _, e := range *h {
		parts = append(parts, e.name+": ...")
	}
	return strings.Join(parts, ", ")
}

func (h *headerList) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q is not \"Name: value\"", s)
	}
	*h = append(*h, struct{ name, value string }{http.CanonicalHeaderKey(name), strings.TrimSpace(value)})
	return nil
}

// postTarget sends POSTs built from the URL and body templates; only a 200 counts as done, anything else is an
// error that carries the status and the start of the response body.
type postTarget struct {
	client  *http.Client
	url     *template
	body    *template
	headers http.Header
	seq     atomic.Int64
}

// do sends one request for worker w and returns the response body.
func (p *postTarget) do(ctx context.Context, w int) ([]byte, error) {
	n := p.seq.Add(1)
	u := string(p.url.fill(nil, n, w))
	body := p.body.fill(nil, n, w)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return rb, fmt.Errorf("POST %s (request %d): %s: %.300s", u, n, resp.Status, bytes.TrimSpace(rb))
	}
	return rb, nil
}

// postCommand runs closed-loop POST load: every worker sends its next POST as soon as its previous one answered.
func postCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench post", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "conns", 64, 10*time.Second, "post")
	u := fs.String("url", "", "URL template to POST to (placeholders {{.N}}, {{.UUID}}, {{.Worker}})")
	body := fs.String("body", "", "request body template (same placeholders)")
	bodyFile := fs.String("body-file", "", "read the body template from this file instead of --body")
	contentType := fs.String("content-type", "application/json", "Content-Type of the requests")
	var headers headerList
	fs.Var(&headers, "header", `extra request header "Name: value" (repeatable), e.g. "Authorization: Bearer T"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *u == "" {
		return errors.New("--url is required")
	}
	if *bodyFile != "" {
		if *body != "" {
			return errors.New("--body and --body-file are exclusive")
		}
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		*body = string(b)
	}
	ut, err := parseTemplate(*u)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if _, err := url.ParseRequestURI(string(ut.fill(nil, 1, 0))); err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	bt, err := parseTemplate(*body)
	if err != nil {
		return fmt.Errorf("--body: %w", err)
	}
	h := http.Header{}
	if *contentType != "" {
		h.Set("Content-Type", *contentType)
	}
	for _, e := range headers {
		h.Add(e.name, e.value)
	}
	dials := new(atomic.Int64)
	p := &postTarget{client: httpClient(lf.workers, dials), url: ut, body: bt, headers: h}
	defer p.client.CloseIdleConnections()

	// One probe request first: a wrong token, path or body fails here, with the server's answer, before any load.
	first, err := p.do(ctx, 0)
	if err != nil {
		return fmt.Errorf("probe request failed: %w", err)
	}
	vary := "every request identical"
	if !ut.static() || !bt.static() {
		vary = "URL/body templated per request"
	}
	fmt.Printf("== %s: POST %s, %d keep-alive connections, closed loop, %s, warm-up %s, run %s\n",
		lf.label, *u, lf.workers, vary, lf.warmup, lf.duration)
	fmt.Printf("  probe: 200, %d-byte response\n", len(first))
	fmt.Println("  " + shareNote())
	op := func(ctx context.Context, w int) (int, error) {
		_, err := p.do(ctx, w)
		return 0, err
	}
	t := target{kind: "post", label: lf.label, desc: *u, method: "POST", conns: lf.workers, op: op, dials: dials.Load}
	reps, err := runTargets(ctx, lf, []target{t})
	if len(reps) == 1 {
		fmt.Printf("  %-22s %d requests sent in all (probe and warm-up included), %d connections opened\n", "", p.seq.Load(), dials.Load())
	}
	return err
}
