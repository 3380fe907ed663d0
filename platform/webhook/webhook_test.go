package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/storage"
)

func itoa(n int) string { return strconv.Itoa(n) }

// --- a receiver on loopback that verifies signatures, and can fail, stall, stop and restart ---

type delivered struct {
	ID, Type, Resource string
	N                  int
	Sigs               int
	Verified           []string // the secrets that verify it
	Status             int
	At                 time.Time
}

type receiver struct {
	t       testing.TB
	mu      sync.Mutex
	secrets []string
	// answer decides the status of a delivery (count: earlier deliveries of the same id); a negative status
	// stalls until the request is abandoned.
	answer func(d delivered, count int) int
	got    []delivered
	addr   string
	srv    *http.Server
	done   chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, answer: func(delivered, int) int { return http.StatusNoContent }}
	r.start("127.0.0.1:0")
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	r.done = make(chan struct{})
	srv, done := r.srv, r.done
	go func() { _ = srv.Serve(ln); close(done) }()
}

func (r *receiver) stop() {
	if r.srv != nil {
		_ = r.srv.Close()
		<-r.done
		r.srv = nil
	}
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := req.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Resource string `json:"resource"`
			N        int    `json:"n"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("receiver: body %q: %v", body, err)
	}
	d := delivered{ID: req.Header.Get(HeaderID), Type: p.Type, Resource: p.Data.Resource, N: p.Data.N,
		Sigs: len(strings.Fields(req.Header.Get(HeaderSignature))), At: time.Now()}
	r.mu.Lock()
	for _, s := range r.secrets {
		if Verify(s, req.Header, body, time.Now(), DefaultTolerance) == nil {
			d.Verified = append(d.Verified, s)
		}
	}
	count := 0
	for _, g := range r.got {
		if g.ID == d.ID {
			count++
		}
	}
	d.Status = r.answer(d, count)
	r.got = append(r.got, d)
	r.mu.Unlock()
	if len(d.Verified) == 0 {
		r.t.Errorf("delivery %s verifies with no secret the receiver holds", d.ID)
	}
	if d.Status < 0 {
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	w.WriteHeader(d.Status)
}

func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	r.secrets = s
	r.mu.Unlock()
}

func (r *receiver) setAnswer(f func(d delivered, count int) int) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

func (r *receiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// succeeded lists the N of successful deliveries of a resource, in the order they were received.
func (r *receiver) succeeded(resource string) []int {
	var out []int
	for _, d := range r.deliveries() {
		if d.Resource == resource && d.Status >= 200 && d.Status < 300 {
			out = append(out, d.N)
		}
	}
	return out
}

// --- the engine under test, on a real bbolt file ---

func openBackend(t *testing.T, path string) *storage.Backend {
	t.Helper()
	be, err := storage.Open(path, storage.Options{Buckets: Buckets})
	if err != nil {
		t.Fatal(err)
	}
	return be
}

type running struct {
	e      *Engine
	be     *storage.Backend
	cancel context.CancelFunc
	done   chan struct{}
}

// startEngine runs an engine's delivery loop; stop joins it (the backend stays open).
func startEngine(t *testing.T, be *storage.Backend, opts Options) *running {
	t.Helper()
	if opts.Guard == nil {
		g, err := ParseAllowlist([]string{"http://127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		opts.Guard = g
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase, opts.BackoffMax = 40*time.Millisecond, 200*time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	e := New(be, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{e: e, be: be, cancel: cancel, done: make(chan struct{})}
	go func() { _ = e.Run(ctx); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

func (r *running) enqueue(t *testing.T, evs ...Event) {
	t.Helper()
	if err := r.be.Update(context.Background(), func(tx storage.Tx) error {
		for _, ev := range evs {
			if err := r.e.Enqueue(tx, ev); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.e.Poke()
}

func ev(resource string, n int) Event {
	return Event{Type: "thing.changed", Resource: resource, Attrs: map[string]string{"owner": "a"},
		Data: json.RawMessage(fmt.Sprintf(`{"resource":%q,"n":%d}`, resource, n))}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subscribe(t *testing.T, e *Engine, url string) *Subscription {
	t.Helper()
	s, err := e.Create(context.Background(), Subscription{URL: url, EventTypes: []string{"thing.*"}, Owner: "u-test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func equalInts(a []int, b ...int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// Events of one resource are delivered in order, each only after the earlier one succeeded (a failing event
// holds back the later ones of its resource, not those of others); failures are retried with backoff.
func TestDeliversInOrderPerResourceWithRetries(t *testing.T) {
	rcv := newReceiver(t)
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	r := startEngine(t, be, Options{Concurrency: 4})
	sub := subscribe(t, r.e, rcv.url())
	rcv.setSecrets(sub.Secrets[0].Value)
	// Every event of resource a fails twice, then succeeds; b always succeeds.
	rcv.setAnswer(func(d delivered, count int) int {
		if d.Resource == "a" && count < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	r.enqueue(t, ev("a", 1), ev("a", 2), ev("a", 3), ev("b", 1), ev("b", 2))
	waitFor(t, "every event delivered", func() bool { return len(rcv.succeeded("a")) == 3 && len(rcv.succeeded("b")) == 2 })
	waitFor(t, "the outbox empty", func() bool { s, _ := r.e.Get(sub.ID); return s.Pending == 0 })

	if got := rcv.succeeded("a"); !equalInts(got, 1, 2, 3) {
		t.Fatalf("resource a delivered in order %v", got)
	}
	if got := rcv.succeeded("b"); !equalInts(got, 1, 2) {
		t.Fatalf("resource b delivered in order %v", got)
	}
	// No event of a was tried before the previous one of a succeeded.
	okA := 0
	var bDone, aDone time.Time
	for _, d := range rcv.deliveries() {
		if d.Resource == "a" {
			if d.N > okA+1 {
				t.Fatalf("a%d tried before a%d succeeded", d.N, okA+1)
			}
			if d.Status == http.StatusOK {
				okA = d.N
				aDone = d.At
			}
		}
		if d.Resource == "b" && d.N == 2 {
			bDone = d.At
		}
	}
	if !bDone.Before(aDone) {
		t.Fatalf("b (never failing) waited for a's retries: b done %v, a done %v", bDone, aDone)
	}
	// The log: three attempts of a1, two HTTP 500 then success, spaced by at least the backoff's lower bound.
	log, _, err := r.e.Deliveries(sub.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var a1 []Attempt
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Resource == "a" && log[i].EventID == firstID(rcv, "a", 1) {
			a1 = append(a1, log[i])
		}
	}
	if len(a1) != 3 || a1[0].HTTPStatus != 500 || a1[0].Error != "HTTP 500" || a1[1].Attempt != 2 || !a1[2].Success {
		t.Fatalf("log of a1: %+v", a1)
	}
	if gap := a1[1].Time.Sub(a1[0].Time); gap < 20*time.Millisecond {
		t.Fatalf("retry after %v, before the backoff (at least half of 40ms)", gap)
	}
	if gap := a1[2].Time.Sub(a1[1].Time); gap < 40*time.Millisecond {
		t.Fatalf("second retry after %v, before the doubled backoff (at least half of 80ms)", gap)
	}
	s, _ := r.e.Get(sub.ID)
	if s.ConsecutiveFailures != 0 || s.State != StateActive {
		t.Fatalf("after delivery: pending %d, failures %d, state %s", s.Pending, s.ConsecutiveFailures, s.State)
	}
}

func firstID(r *receiver, resource string, n int) string {
	for _, d := range r.deliveries() {
		if d.Resource == resource && d.N == n {
			return d.ID
		}
	}
	return ""
}

// Repeated failures disable a subscription, naming why; events keep coming into its outbox; enabling it
// delivers them all, in order, from where it stopped.
func TestDisabledAfterFailuresThenEnableResumes(t *testing.T) {
	rcv := newReceiver(t)
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	r := startEngine(t, be, Options{MaxFailures: 3})
	sub := subscribe(t, r.e, rcv.url())
	rcv.setSecrets(sub.Secrets[0].Value)
	rcv.setAnswer(func(delivered, int) int { return http.StatusServiceUnavailable })
	r.enqueue(t, ev("x", 1))
	waitFor(t, "the subscription disabled", func() bool {
		s, _ := r.e.Get(sub.ID)
		return s.State == StateDisabled
	})
	s, _ := r.e.Get(sub.ID)
	if !strings.Contains(s.DisabledReason, "3 consecutive failed deliveries") || !strings.Contains(s.DisabledReason, "HTTP 503") {
		t.Fatalf("reason %q", s.DisabledReason)
	}
	tries := len(rcv.deliveries())
	if tries != 3 {
		t.Fatalf("%d attempts before disabling, want 3", tries)
	}
	r.enqueue(t, ev("x", 2), ev("x", 3))
	time.Sleep(300 * time.Millisecond) // longer than any backoff: nothing may go to a disabled subscription
	if n := len(rcv.deliveries()); n != tries {
		t.Fatalf("%d deliveries to a disabled subscription", n-tries)
	}
	if s, _ := r.e.Get(sub.ID); s.Pending != 3 {
		t.Fatalf("pending %d while disabled, want 3", s.Pending)
	}
	rcv.setAnswer(func(delivered, int) int { return http.StatusOK })
	if _, err := r.e.Enable(context.Background(), sub.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kept events delivered", func() bool { return len(rcv.succeeded("x")) == 3 })
	if got := rcv.succeeded("x"); !equalInts(got, 1, 2, 3) {
		t.Fatalf("after enabling: %v", got)
	}
	if _, err := r.e.Enable(context.Background(), sub.ID); !errors.Is(err, ErrActive) {
		t.Fatalf("enabling an active webhook: %v", err)
	}
}

// A receiver that stalls beyond the timeout is a failed attempt ("timed out"), retried.
func TestStallTimesOutAndIsRetried(t *testing.T) {
	rcv := newReceiver(t)
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	r := startEngine(t, be, Options{Timeout: 150 * time.Millisecond})
	sub := subscribe(t, r.e, rcv.url())
	rcv.setSecrets(sub.Secrets[0].Value)
	rcv.setAnswer(func(_ delivered, count int) int {
		if count == 0 {
			return -1 // stall
		}
		return http.StatusOK
	})
	r.enqueue(t, ev("s", 1))
	waitFor(t, "delivered after the stall", func() bool { log, _, _ := r.e.Deliveries(sub.ID, 0, 10); return len(log) == 2 })
	log, _, _ := r.e.Deliveries(sub.ID, 0, 10)
	if len(log) != 2 || log[1].Error != "timed out" || log[1].Latency < 150*time.Millisecond || !log[0].Success {
		t.Fatalf("log %+v", log)
	}
}

// A receiver that is down (connection refused) and comes back on the same address gets everything.
func TestReceiverStoppedAndRestarted(t *testing.T) {
	rcv := newReceiver(t)
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	r := startEngine(t, be, Options{})
	sub := subscribe(t, r.e, rcv.url())
	rcv.setSecrets(sub.Secrets[0].Value)
	addr := rcv.addr
	rcv.stop()
	r.enqueue(t, ev("r", 1), ev("r", 2))
	waitFor(t, "failed attempts while the receiver is down", func() bool {
		log, _, _ := r.e.Deliveries(sub.ID, 0, 10)
		return len(log) >= 2
	})
	log, _, _ := r.e.Deliveries(sub.ID, 0, 10)
	if log[0].Success || !strings.Contains(log[0].Error, "refused") {
		t.Fatalf("attempt while down: %+v", log[0])
	}
	rcv.start(addr)
	waitFor(t, "delivered after the restart", func() bool { return len(rcv.succeeded("r")) == 2 })
	if got := rcv.succeeded("r"); !equalInts(got, 1, 2) {
		t.Fatalf("order after restart: %v", got)
	}
}

// During a rotation both secrets sign; after the grace only the new one does.
func TestRotationSignsWithBothSecretsUntilGraceEnds(t *testing.T) {
	rcv := newReceiver(t)
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	r := startEngine(t, be, Options{})
	sub := subscribe(t, r.e, rcv.url())
	old := sub.Secrets[0].Value
	rot, err := r.e.RotateSecret(context.Background(), sub.ID, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cur := rot.Secrets[0].Value
	if cur == old || len(rot.Secrets) != 2 || rot.Secrets[1].Value != old {
		t.Fatalf("rotated secrets %+v", rot.Secrets)
	}
	rcv.setSecrets(old, cur)
	r.enqueue(t, ev("k", 1))
	waitFor(t, "delivery during the grace", func() bool { return len(rcv.succeeded("k")) == 1 })
	d := rcv.deliveries()[0]
	if d.Sigs != 2 || len(d.Verified) != 2 {
		t.Fatalf("during the grace: %d signatures, verified by %d secrets; want both", d.Sigs, len(d.Verified))
	}
	time.Sleep(time.Until(rot.Secrets[1].Expire) + 10*time.Millisecond)
	r.enqueue(t, ev("k", 2))
	waitFor(t, "delivery after the grace", func() bool { return len(rcv.succeeded("k")) == 2 })
	d = rcv.deliveries()[1]
	if d.Sigs != 1 || len(d.Verified) != 1 || d.Verified[0] != cur {
		t.Fatalf("after the grace: %d signatures, verified by %v; want the new secret only", d.Sigs, d.Verified)
	}
}

// The engine stops (a crash, a restart) while a delivery is in flight: after the restart the event is
// delivered again with the same webhook-id, and nothing is lost.
func TestStopMidDeliveryLosesNothing(t *testing.T) {
	rcv := newReceiver(t)
	path := filepath.Join(t.TempDir(), "h.db")
	be := openBackend(t, path)
	r := startEngine(t, be, Options{Timeout: 5 * time.Second})
	sub := subscribe(t, r.e, rcv.url())
	rcv.setSecrets(sub.Secrets[0].Value)
	rcv.setAnswer(func(_ delivered, count int) int {
		if count == 0 {
			return -1 // hangs until the engine gives up on it
		}
		return http.StatusOK
	})
	r.enqueue(t, ev("c", 1), ev("c", 2))
	waitFor(t, "the first delivery in flight", func() bool { return len(rcv.deliveries()) == 1 })
	r.stop()
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}

	be = openBackend(t, path)
	defer be.Close()
	startEngine(t, be, Options{})
	waitFor(t, "both delivered after the restart", func() bool { return len(rcv.succeeded("c")) == 2 })
	got := rcv.deliveries()
	if got[0].ID != got[1].ID || got[1].N != 1 {
		t.Fatalf("after the restart the interrupted event must come again with its id: %+v", got)
	}
	if ns := rcv.succeeded("c"); !equalInts(ns, 1, 2) {
		t.Fatalf("order %v", ns)
	}
}

func TestFilterAndPendingCap(t *testing.T) {
	be := openBackend(t, filepath.Join(t.TempDir(), "h.db"))
	defer be.Close()
	g, _ := ParseAllowlist([]string{"hooks.example.org"})
	e := New(be, Options{Guard: g, MaxPending: 2})
	ctx := context.Background()
	mine, err := e.Create(ctx, Subscription{URL: "https://hooks.example.org/a", EventTypes: []string{"thing.changed"}, Filter: map[string]string{"owner": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.Create(ctx, Subscription{URL: "https://hooks.example.org/b", EventTypes: []string{"thing.changed"}, Filter: map[string]string{"owner": "b"}})
	none, _ := e.Create(ctx, Subscription{URL: "https://hooks.example.org/c", EventTypes: []string{"other.*"}})
	// A scoped filter constrains only the events of its prefix: other.* events pass, thing.* ones of owner b do not.
	scoped, _ := e.Create(ctx, Subscription{URL: "https://hooks.example.org/d", EventTypes: []string{"thing.*", "other.*"},
		Filter: map[string]string{"thing.:owner": "b"}})
	if _, err := e.Create(ctx, Subscription{URL: "https://evil.example.net/", EventTypes: []string{"thing.changed"}}); err == nil ||
		!strings.Contains(fmt.Sprint(err), "allowlist") {
		t.Fatalf("a target outside the allowlist: %v", err)
	}
	r := &running{e: e, be: be}
	r.enqueue(t, ev("p", 1), ev("p", 2), ev("p", 3), Event{Type: "other.happened", Resource: "o", Data: json.RawMessage(`{}`)})
	for _, c := range []struct {
		id               string
		pending, dropped int64
	}{{mine.ID, 2, 1}, {other.ID, 0, 0}, {none.ID, 1, 0}, {scoped.ID, 1, 0}} {
		s, _ := e.Get(c.id)
		if s.Pending != c.pending || s.Dropped != c.dropped {
			t.Errorf("%s: pending %d dropped %d, want %d %d", s.URL, s.Pending, s.Dropped, c.pending, c.dropped)
		}
	}
	if err := e.Delete(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(mine.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	_ = be.View(func(tx storage.ReadTx) error {
		_ = tx.ScanPrefix(BucketOutbox, []byte(mine.ID+"/"), func(k, _ []byte) (bool, error) {
			t.Errorf("outbox entry %q left after delete", k)
			return true, nil
		})
		return nil
	})
}

// memSource is a change feed in memory.
type memSource struct {
	mu     sync.Mutex
	events []Event // revision = index + 1
	reads  int
}

func (m *memSource) Name() string   { return "mem" }
func (m *memSource) Prefix() string { return "thing." }
func (m *memSource) Local() bool    { return false }
func (m *memSource) Latest(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.events)), nil
}

func (m *memSource) Read(_ context.Context, after int64) ([]Event, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if after > int64(len(m.events)) {
		return nil, after, nil
	}
	return append([]Event(nil), m.events[after:]...), int64(len(m.events)), nil
}

func (m *memSource) Wait(ctx context.Context, _ int64) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Millisecond):
	}
}

func (m *memSource) add(evs ...Event) {
	m.mu.Lock()
	m.events = append(m.events, evs...)
	m.mu.Unlock()
}

// Following a source: it starts at the source's newest revision (nothing older is replayed to a new
// subscription), moves its cursor in the transaction that enqueues, and after a restart continues from it:
// nothing fanned out twice, nothing skipped.
func TestFollowPersistsItsCursor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	be := openBackend(t, path)
	g, _ := ParseAllowlist([]string{"hooks.example.org"})
	e := New(be, Options{Guard: g})
	sub, err := e.Create(context.Background(), Subscription{URL: "https://hooks.example.org/a", EventTypes: []string{"thing.*"}})
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{}
	src.add(ev("old", 1), ev("old", 2))
	follow := func(e *Engine) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = e.Follow(ctx, src); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := follow(e)
	waitFor(t, "the cursor set at the newest revision", func() bool {
		c, ok, _, _ := e.cursor([]byte("cursor/mem"), "thing.")
		return ok && c == 2
	})
	src.add(ev("f", 1), ev("f", 2), ev("f", 3))
	waitFor(t, "three events enqueued", func() bool { s, _ := e.Get(sub.ID); return s.Pending == 3 })
	stop()
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	src.add(ev("f", 4))
	be = openBackend(t, path)
	defer be.Close()
	e = New(be, Options{Guard: g})
	stop = follow(e)
	defer stop()
	waitFor(t, "the fourth enqueued after the restart", func() bool { s, _ := e.Get(sub.ID); return s.Pending >= 4 })
	time.Sleep(50 * time.Millisecond)
	var resources []string
	_ = be.View(func(tx storage.ReadTx) error {
		return tx.ScanPrefix(BucketOutbox, []byte(sub.ID+"/"), func(_, v []byte) (bool, error) {
			var p pending
			_ = json.Unmarshal(v, &p)
			resources = append(resources, p.Event.Resource+string(p.Event.Data))
			return true, nil
		})
	})
	if len(resources) != 4 || strings.Contains(strings.Join(resources, " "), "old") {
		t.Fatalf("outbox %v: want f1..f4 once each, nothing of before the subscription", resources)
	}
}

type xorSealer struct{}

func (xorSealer) Seal(_ storage.Bucket, _, p []byte) ([]byte, error) { return xor(p), nil }
func (xorSealer) Open(_ storage.Bucket, _, v []byte) ([]byte, error) { return xor(v), nil }
func xor(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ 0x5a
	}
	return out
}

// Subscription records go through the host's Sealer: the secret is not in the data file in clear.
func TestSubscriptionsAreSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	be := openBackend(t, path)
	g, _ := ParseAllowlist([]string{"hooks.example.org"})
	e := New(be, Options{Guard: g, Sealer: xorSealer{}})
	sub, err := e.Create(context.Background(), Subscription{URL: "https://hooks.example.org/a", EventTypes: []string{"thing.*"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Get(sub.ID)
	if err != nil || got.Secrets[0].Value != sub.Secrets[0].Value {
		t.Fatalf("read back: %v %+v", err, got)
	}
	_ = be.View(func(tx storage.ReadTx) error {
		if v := tx.Get(BucketSubscriptions, []byte(sub.ID)); strings.Contains(string(v), "whsec_") {
			t.Errorf("secret stored in clear")
		}
		return nil
	})
}
