package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// The failover proof of issue 11 through the gateway, on the real binaries: a three-member etcd cluster in this
// test process (platform/etcdtest, embed on loopback), two catalogue replica processes on it
// (--storage-engine etcd, each its own data directory, as scripts/run-ha.sh starts them) and one gateway process
// dialling both (round robin, platform/grpcclient). Load goes through the gateway's REST API as an integrator's
// would. The tests assert what must hold (no acknowledged write lost, writes resume, a restarted replica catches
// up) and log the times and error rates, which docs/etcd.md reports:
//
//	cd e2e && go test -count=1 -run 'TestHA' -v .

// haReplica is one catalogue replica process; its addresses and data directory survive a restart.
type haReplica struct {
	name, dataDir   string
	grpcAddr, admin string
	p               *proc
	started         bool
}

type haSuite struct {
	t         *testing.T
	etcd      *etcdtest.Cluster
	endpoints string // the members' client URLs, as --etcd-endpoints takes them
	keysDir   string
	replicas  []*haReplica
	gateway   *proc
	baseURL   string
	client    *http.Client
	admin     string // an admin's bearer token
	// replicaArgs are flags added to every replica's (e.g. a drain period).
	replicaArgs []string
}

// startHA starts the cluster, two catalogue replicas with the demo data (the first loads it into the empty
// cluster, the second finds it there) and the gateway, and returns once the gateway serves the demo service.
// replicaArgs are added to the replicas' flags.
func startHA(t *testing.T, replicaArgs ...string) *haSuite {
	t.Helper()
	// Registered first, so its cleanup (stopping the members) runs after the processes' below.
	c := etcdtest.Start(t, 3)
	var urls []string
	for _, ep := range c.Endpoints() {
		urls = append(urls, "http://"+ep)
	}
	h := &haSuite{t: t, etcd: c, endpoints: strings.Join(urls, ","), keysDir: filepath.Join(t.TempDir(), "dev"),
		client: &http.Client{Timeout: callTimeout}, replicaArgs: replicaArgs}
	t.Cleanup(h.cleanup)
	for i := range 2 {
		r := &haReplica{name: fmt.Sprintf("catalogue%d", i+1), dataDir: t.TempDir()}
		h.replicas = append(h.replicas, r)
		h.startReplica(r)
	}
	for attempt := 1; ; attempt++ {
		addr := freeAddrs(t, 1)[0]
		gw := startProc(t, "gateway", gatewayBin, gatewayArgs(addr, h.replicas[0].grpcAddr+","+h.replicas[1].grpcAddr), nil)
		err := waitListening(gw, "http", addr)
		if err == nil {
			h.gateway, h.baseURL = gw, "http://"+addr
			break
		}
		gw.markEnded()
		_ = gw.cmd.Process.Kill()
		<-gw.done
		if !errors.Is(err, errPortTaken) || attempt == 4 {
			t.Fatalf("start gateway: %v", err)
		}
	}
	// cusctl mints from the development key the first replica created.
	h.admin = (&suite{t: t, keysDir: h.keysDir}).token(t, "admin")
	eventually(t, "the demo service through the gateway", func() bool {
		st, _, err := h.rest(context.Background(), http.MethodGet, "/v1/"+demoServiceName, "")
		return err == nil && st == http.StatusOK
	})
	return h
}

// startReplica starts r (again, after a kill, on the same ports and data directory) and waits until it listens.
func (h *haSuite) startReplica(r *haReplica) {
	t := h.t
	t.Helper()
	for attempt := 1; ; attempt++ {
		if !r.started {
			addrs := freeAddrs(t, 2)
			r.grpcAddr, r.admin = addrs[0], addrs[1]
		}
		// No rate limits: the load and the checks after it are one admin's calls, and what is measured here is
		// the failover, not the limiter (its 429s would count as failures).
		args := append(catalogueArgs(r.dataDir, h.keysDir, r.grpcAddr, r.admin, true),
			"--storage-engine", "etcd", "--etcd-endpoints", h.endpoints, "--rate-per-caller", "0", "--rate-per-address", "0")
		args = append(args, h.replicaArgs...)
		p := startProc(t, r.name, catalogueBin, args, nil)
		err := waitListening(p, "grpc", r.grpcAddr)
		if err == nil {
			r.p, r.started = p, true
			return
		}
		p.markEnded()
		_ = p.cmd.Process.Kill()
		<-p.done
		if !errors.Is(err, errPortTaken) || r.started || attempt == 4 {
			t.Fatalf("start %s: %v\n%s", r.name, err, p.output())
		}
	}
}

// cleanup stops the gateway, then the replicas still running; each must exit 0 on SIGTERM, on a cluster that
// lost its leader too.
func (h *haSuite) cleanup() {
	procs := []*proc{h.gateway}
	for _, r := range h.replicas {
		procs = append(procs, r.p)
	}
	for _, p := range procs {
		if p != nil {
			p.stop(h.t)
		}
	}
	if h.t.Failed() {
		for _, p := range procs {
			if p != nil {
				h.t.Log(p.output())
			}
		}
	}
}

// rest sends one request to the gateway as the admin; unlike suite.do it never fails the test, so load
// goroutines can call it.
func (h *haSuite) rest(ctx context.Context, method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.baseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+h.admin)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// replicaClient is a gRPC client of one replica alone (not through the gateway); asAdmin gives its calls the
// admin's credentials.
func (h *haSuite) replicaClient(r *haReplica) cataloguev1.CatalogueServiceClient {
	h.t.Helper()
	conn, err := grpcclient.Dial(r.grpcAddr, insecure.NewCredentials())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = conn.Close() })
	return cataloguev1.NewCatalogueServiceClient(conn)
}

func (h *haSuite) asAdmin(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+h.admin)
}

// ---- load ----

// haRequest is one call of a load; create marks a POST /v1/services whose acknowledgement is remembered.
type haRequest struct {
	kind, method, path, body string
}

// haCall is one call made: when it began and ended, its HTTP status (0: no answer) and, for an acknowledged
// create, the name of the service.
type haCall struct {
	kind         string
	began, ended time.Time
	status       int
	failure      string // status and reason of a failed call
	name, word   string // an acknowledged create: its name and the word of its display name
}

func (c haCall) ok() bool { return c.status >= 200 && c.status < 300 }

type haLoad struct {
	mu       sync.Mutex
	calls    []haCall
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// haWord is a word made of letters only, distinct for each (caller, call), so a search finds one create.
func haWord(prefix string, w, i int) string {
	n := w*1_000_000 + i
	var b strings.Builder
	b.WriteString(prefix)
	for {
		b.WriteByte(byte('a' + n%26))
		if n /= 26; n == 0 {
			return b.String()
		}
	}
}

// createRequest is a create of the service "Punkt <word>" with its own request id (AIP-155).
func createRequest(word string) haRequest {
	return haRequest{kind: "create", method: http.MethodPost, path: "/v1/services?requestId=ha-" + word,
		body: `{"displayName":"Punkt ` + word + `","areas":["AREA_SOCIAL_ASSISTANCE"],"targetGroups":["TARGET_GROUP_ALL_RESIDENTS"]}`}
}

// startLoad runs callers goroutines, each sending next(caller, i) in a loop until stopLoad, or until the test
// ends: a test that fails under load (t.Fatal) does not leave them running against stopped processes.
func (h *haSuite) startLoad(callers int, next func(w, i int) (haRequest, string)) *haLoad {
	l := &haLoad{stop: make(chan struct{})}
	h.t.Cleanup(func() { l.stopLoad() })
	for w := range callers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				req, word := next(w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c := haCall{kind: req.kind, began: time.Now()}
				st, body, err := h.rest(ctx, req.method, req.path, req.body)
				cancel()
				c.ended, c.status = time.Now(), st
				switch {
				case err != nil:
					var ue *url.Error // its URL (a request id in it) would make each failure a reason of its own
					if errors.As(err, &ue) {
						err = ue.Err
					}
					c.status, c.failure = 0, "no answer: "+err.Error()
				case !c.ok():
					var e struct {
						Details []struct {
							Reason string `json:"reason"`
						} `json:"details"`
					}
					_ = json.Unmarshal(body, &e)
					c.failure = fmt.Sprint(st)
					for _, d := range e.Details {
						if d.Reason != "" {
							c.failure += " " + d.Reason
						}
					}
				case req.kind == "create":
					var out struct {
						Name string `json:"name"`
					}
					if json.Unmarshal(body, &out) != nil || !strings.HasPrefix(out.Name, "services/") {
						c.status, c.failure = 0, "2xx without a service: "+string(body)
					} else {
						c.name, c.word = out.Name, word
					}
				}
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *haLoad) snapshot() []haCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// stopLoad stops the callers and waits for them; it may be called more than once.
func (l *haLoad) stopLoad() []haCall {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.snapshot()
}

// warmUp lets the load run for 2 s and until n creates have been acknowledged (a slow start, under the race
// detector, must not leave nothing to lose); it stops the load and fails the test after startTimeout.
func (l *haLoad) warmUp(t *testing.T, n int) {
	t.Helper()
	time.Sleep(2 * time.Second)
	for deadline := time.Now().Add(startTimeout); len(acked(l.snapshot())) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			calls := l.stopLoad()
			t.Fatalf("only %d of %d calls acknowledged creates within %s of load: %s", len(acked(calls)), len(calls), startTimeout,
				outageAfter(calls, time.Time{}))
		}
	}
}

// acked are the acknowledged creates among calls.
func acked(calls []haCall) []haCall {
	var out []haCall
	for _, c := range calls {
		if c.kind == "create" && c.ok() {
			out = append(out, c)
		}
	}
	return out
}

// haOutage summarises the calls that ended after an event: how many failed and why, when the first success
// begun after the event ended (-1: none yet), when the last failure ended, and the longest call.
type haOutage struct {
	total, failed             int
	byKind                    map[string][2]int // kind: failed, total
	reasons                   map[string]int
	firstSuccess, lastFailure time.Duration
	longest                   time.Duration
}

func outageAfter(calls []haCall, at time.Time) haOutage {
	o := haOutage{byKind: map[string][2]int{}, reasons: map[string]int{}, firstSuccess: -1}
	slices.SortFunc(calls, func(a, b haCall) int { return a.began.Compare(b.began) })
	for _, c := range calls {
		if c.ended.Before(at) {
			continue
		}
		o.total++
		k := o.byKind[c.kind]
		k[1]++
		o.longest = max(o.longest, c.ended.Sub(c.began))
		if !c.ok() {
			o.failed++
			k[0]++
			o.reasons[c.failure]++
			o.lastFailure = max(o.lastFailure, c.ended.Sub(at))
		} else if o.firstSuccess < 0 && c.began.After(at) {
			o.firstSuccess = c.ended.Sub(at)
		}
		o.byKind[c.kind] = k
	}
	return o
}

func (o haOutage) String() string {
	var kinds, reasons []string
	for k, v := range o.byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d/%d", k, v[0], v[1]))
	}
	for r, n := range o.reasons {
		reasons = append(reasons, fmt.Sprintf("%d× %s", n, r))
	}
	sort.Strings(kinds)
	sort.Strings(reasons)
	why, first, last := "", "no call begun after it succeeded", "no call failed"
	if len(reasons) > 0 {
		why = "; why: " + strings.Join(reasons, ", ")
		last = fmt.Sprintf("the last failure ended %v after it", o.lastFailure.Round(time.Millisecond))
	}
	if o.firstSuccess >= 0 {
		first = fmt.Sprintf("the first call begun after it succeeded %v after it", o.firstSuccess.Round(time.Millisecond))
	}
	return fmt.Sprintf("%d of %d calls failed (%.2f%%; failed/total by kind: %s%s); %s, %s, the longest call took %v",
		o.failed, o.total, 100*float64(o.failed)/float64(max(o.total, 1)), strings.Join(kinds, ", "), why, first, last,
		o.longest.Round(time.Millisecond))
}

// runUntilResumed keeps the load going after the event at `at` until a call begun after it has succeeded and
// `after` more has passed, or until bound; it reports whether calls resumed.
func runUntilResumed(l *haLoad, at time.Time, after, bound time.Duration) bool {
	for deadline := at.Add(bound); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if o := outageAfter(l.snapshot(), at); o.firstSuccess >= 0 && time.Since(at) > o.firstSuccess+after {
			return true
		}
	}
	return outageAfter(l.snapshot(), at).firstSuccess >= 0
}

// checkAcked asserts that every acknowledged create is readable through the gateway and from each running
// replica directly.
func (h *haSuite) checkAcked(t *testing.T, creates []haCall) {
	t.Helper()
	type reader struct {
		name string
		get  func(ctx context.Context, name string) error
	}
	readers := []reader{{"the gateway", func(ctx context.Context, name string) error {
		st, body, err := h.rest(ctx, http.MethodGet, "/v1/"+name, "")
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("%d %s", st, body)
		}
		return err
	}}}
	for _, r := range h.replicas {
		if r.p == nil || r.p.exited() {
			continue
		}
		c := h.replicaClient(r)
		readers = append(readers, reader{r.name + " directly", func(ctx context.Context, name string) error {
			_, err := c.GetService(h.asAdmin(ctx), &cataloguev1.GetServiceRequest{Name: name})
			return err
		}})
	}
	var mu sync.Mutex
	var missing []string
	work := make(chan haCall)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				for _, rd := range readers {
					ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
					err := rd.get(ctx, c.name)
					cancel()
					if err != nil {
						mu.Lock()
						missing = append(missing, fmt.Sprintf("%s (acknowledged at %s) from %s: %v", c.name, c.ended.Format(time.RFC3339Nano), rd.name, err))
						mu.Unlock()
					}
				}
			}
		}()
	}
	for _, c := range creates {
		work <- c
	}
	close(work)
	wg.Wait()
	if len(missing) > 0 {
		t.Errorf("%d reads of acknowledged creates failed (of %d creates × %d readers), e.g.:\n%s", len(missing), len(creates), len(readers),
			strings.Join(missing[:min(10, len(missing))], "\n"))
	}
}

// ---- the tests ----

// The etcd leader is killed while 16 REST callers create services through the gateway: every create the
// gateway acknowledged is readable afterwards, through the gateway and from each replica, and creates succeed
// again within a generous bound. The time from the kill to the first create begun after it that succeeded, the
// failures and the longest create are logged.
func TestHAEtcdLeaderKillUnderRESTCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster, two catalogue replicas and the gateway")
	}
	h := startHA(t)
	const callers = 16
	l := h.startLoad(callers, func(w, i int) (haRequest, string) {
		word := haWord("hal", w, i)
		return createRequest(word), word
	})
	l.warmUp(t, 4*callers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	leader, err := h.etcd.WaitLeader(ctx)
	cancel()
	if err != nil {
		l.stopLoad()
		t.Fatal(err)
	}
	killed := time.Now()
	h.etcd.Kill(leader)
	resumed := runUntilResumed(l, killed, 3*time.Second, 30*time.Second)
	calls := l.stopLoad()
	o := outageAfter(calls, killed)
	before := len(acked(calls)) - (o.byKind["create"][1] - o.byKind["create"][0])
	if !resumed {
		t.Fatalf("no create begun after the etcd leader (member %d) was killed succeeded within 30 s: %s", leader, o)
	}
	t.Logf("etcd leader (member %d of 3) killed under %d REST callers creating services through the gateway (two catalogue replicas): "+
		"%d creates acknowledged before the kill, %d after; after the kill %s", leader, callers, before, len(acked(calls))-before, o)
	h.logMemory(t)
	h.checkAcked(t, acked(calls))
}

// logMemory logs the resident memory (VmRSS, and of it RssAnon: heap and stacks) of each replica process and
// of the gateway: what a replica costs (Linux only; elsewhere nothing is logged).
func (h *haSuite) logMemory(t *testing.T) {
	t.Helper()
	procs := []*proc{h.gateway}
	for _, r := range h.replicas {
		if r.p != nil {
			procs = append(procs, r.p)
		}
	}
	for _, p := range procs {
		if p == nil || p.cmd == nil || p.cmd.Process == nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		var rss, anon string
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				rss = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				anon = strings.TrimSpace(v)
			}
		}
		t.Logf("memory of %s: VmRSS %s (RssAnon %s)", p.name, rss, anon)
	}
}

// One of two catalogue replicas is killed (SIGKILL: a crash, its connections reset) under mixed REST load
// through the gateway: searches, reads and creates. The error rate after the kill and the time until calls
// succeed again are logged. The replica is then started again on its data directory: it catches up (a create
// acknowledged while it was down is readable and found by its search), the gateway sends it calls again, and
// every acknowledged create is readable through the gateway and from both replicas.
func TestHACatalogueReplicaKillUnderRESTLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster, two catalogue replicas and the gateway")
	}
	h := startHA(t)
	const callers = 12
	l := h.startLoad(callers, func(w, i int) (haRequest, string) {
		switch i % 4 {
		case 0:
			word := haWord("hak", w, i)
			return createRequest(word), word
		case 1:
			return haRequest{kind: "search", method: http.MethodPost, path: "/v1/services:search", body: `{"query":"senior","pageSize":10}`}, ""
		case 2:
			return haRequest{kind: "search", method: http.MethodPost, path: "/v1/services:search", body: `{"pageSize":20}`}, ""
		default:
			return haRequest{kind: "get", method: http.MethodGet, path: "/v1/" + demoServiceName}, ""
		}
	})
	l.warmUp(t, callers)
	victim := h.replicas[0]
	killed := time.Now()
	victim.p.kill(t)
	resumed := runUntilResumed(l, killed, 3*time.Second, 30*time.Second)
	calls := l.stopLoad()
	o := outageAfter(calls, killed)
	if !resumed {
		t.Fatalf("no call begun after %s was killed succeeded within 30 s: %s", victim.name, o)
	}
	t.Logf("%s killed (SIGKILL) under %d REST callers through the gateway (round robin over two replicas; a create, two searches and a get in four calls): after the kill %s",
		victim.name, callers, o)
	var meanwhile []haCall // acknowledged while the victim was down
	for _, c := range acked(calls) {
		if c.began.After(killed) {
			meanwhile = append(meanwhile, c)
		}
	}
	if len(meanwhile) == 0 {
		t.Fatalf("no create acknowledged while %s was down: %s", victim.name, o)
	}

	restarted := time.Now()
	h.startReplica(victim)
	c := h.replicaClient(victim)
	last := meanwhile[len(meanwhile)-1]
	eventually(t, victim.name+" after its restart finding a create made while it was down", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := c.SearchServices(h.asAdmin(ctx), &cataloguev1.SearchServicesRequest{Query: last.word, PageSize: 10})
		if err != nil {
			return false
		}
		for _, r := range res.GetResults() {
			if r.GetService().GetName() == last.name {
				return true
			}
		}
		return false
	})
	caughtUp := time.Since(restarted)
	// The gateway balances onto the restarted replica again: a read through the gateway reaches it (its log,
	// fresh since the restart, records each call; the test has sent it no GetService of its own yet).
	eventually(t, "the gateway sending calls to "+victim.name+" again", func() bool {
		st, _, err := h.rest(context.Background(), http.MethodGet, "/v1/"+demoServiceName, "")
		return err == nil && st == http.StatusOK &&
			strings.Contains(victim.p.stderr.String(), `"method":"/cus.catalogue.v1.CatalogueService/GetService"`)
	})
	t.Logf("%s started again on its data directory: its search found a create acknowledged while it was down %v after the restart began, "+
		"and a read through the gateway reached it %v after; %d creates acknowledged in all, %d while it was down",
		victim.name, caughtUp.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond), len(acked(calls)), len(meanwhile))
	h.checkAcked(t, acked(calls))
}

// A test that fails while its load runs (a t.Fatal between startLoad and stopLoad, as when killing the victim
// fails) still stops the load's callers and waits for them when it ends.
func TestHALoadStopsWhenItsTestEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) }))
	defer srv.Close()
	var l *haLoad
	t.Run("ends under load", func(t *testing.T) {
		h := &haSuite{t: t, baseURL: srv.URL, client: srv.Client()}
		l = h.startLoad(2, func(int, int) (haRequest, string) {
			return haRequest{kind: "get", method: http.MethodGet, path: "/v1/" + demoServiceName}, ""
		})
		// Returns without stopLoad, as t.Fatal does.
	})
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		l.stopLoad()
		t.Fatal("the load's callers still ran a minute after their test ended")
	}
	l.stopLoad() // a second stop is harmless
}
