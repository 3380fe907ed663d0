// Package e2e tests the CUS suite end to end: the catalogue and gateway binaries are built once, started as
// real processes on loopback ports with their own data directories, and driven over HTTP and gRPC the way an
// integrator or an operator would.
//
// Environment knobs:
//
//	CUS_E2E_RACE=1        build the binaries with -race (a data race then fails the exit-code assertions)
//	CUS_E2E_KNOWN_BUGS=1  run the assertions of known product bugs instead of skipping them
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	cataloguePkg = "github.com/cus-suite/cus/services/catalogue/cmd/catalogue"
	providerPkg  = "github.com/cus-suite/cus/services/provider/cmd/provider"
	referralPkg  = "github.com/cus-suite/cus/services/referral/cmd/referral"
	gatewayPkg   = "github.com/cus-suite/cus/gateway/cmd/gateway"
	cusctlPkg    = "github.com/cus-suite/cus/platform/cmd/cusctl"

	// Bounds of the waits below. They are generous on purpose: a loaded 2-core CI machine must not flake.
	startTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
	callTimeout  = 30 * time.Second

	maxBodyBytes = 65536
	allowedCORS  = "https://app.example"
	errorDomain  = "cus.gov.pl"

	// A service of the demo catalogue (CUS Rawicz) that the README uses too.
	demoServiceID   = "0194c050-3022-7053-8000-000000000001"
	demoServiceName = "services/" + demoServiceID
)

var (
	repoRoot     string
	catalogueBin string
	providerBin  string
	referralBin  string
	gatewayBin   string
	cusctlBin    string
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "cus-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	args := []string{"build"}
	if os.Getenv("CUS_E2E_RACE") != "" {
		args = append(args, "-race")
	}
	args = append(args, "-o", dir+string(os.PathSeparator), cataloguePkg, providerPkg, referralPkg, gatewayPkg, cusctlPkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root // go.work applies
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	catalogueBin = filepath.Join(dir, "catalogue")
	providerBin = filepath.Join(dir, "provider")
	referralBin = filepath.Join(dir, "referral")
	gatewayBin = filepath.Join(dir, "gateway")
	cusctlBin = filepath.Join(dir, "cusctl")
	return m.Run()
}

// findRepoRoot walks up from the working directory to the directory holding go.work.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work found above the working directory")
		}
		dir = parent
	}
}

// knownBug skips the rest of a test that reproduces an open product bug, so the suite stays green while the
// assertion below the call keeps documenting (and, with CUS_E2E_KNOWN_BUGS=1, reproducing) the bug.
func knownBug(t *testing.T, description string) {
	t.Helper()
	if os.Getenv("CUS_E2E_KNOWN_BUGS") == "" {
		t.Skip("BUG: " + description)
	}
}

// ---- processes ----

// logBuffer collects a process's output; safe for the copying goroutines of os/exec and the test to share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is one started binary.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout logBuffer
	stderr logBuffer
	done   chan struct{} // closed when the process has exited and its output is collected

	mu      sync.Mutex
	ended   bool // stopped or killed by the test: no further exit assertions
	waitErr error
}

// processEnv is the test's environment without CUS_ variables (so a developer's settings cannot leak into the
// processes under test), plus extra.
func processEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startProc starts a binary; it never waits for readiness.
func startProc(t testing.TB, name, path string, args, extraEnv []string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = processEnv(extraEnv...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status after the process ended: -1 when it died of a signal.
func (p *proc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// waitExit waits up to d for the process to end on its own.
func (p *proc) waitExit(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) output() string {
	return fmt.Sprintf("---- %s stderr ----\n%s---- %s stdout ----\n%s", p.name, p.stderr.String(), p.name, p.stdout.String())
}

func (p *proc) markEnded() (already bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	already, p.ended = p.ended, true
	return already
}

// stop sends SIGTERM and asserts a clean exit (status 0) within stopTimeout: graceful shutdown is part of
// the contract. A process that already died on its own is reported.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	if p.markEnded() {
		return
	}
	if p.exited() {
		t.Errorf("%s exited on its own before it was stopped (status %d)", p.name, p.exitCode())
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.waitExit(stopTimeout) {
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit within %s of SIGTERM", p.name, stopTimeout)
		return
	}
	if code := p.exitCode(); code != 0 {
		t.Errorf("%s exited with status %d after SIGTERM, want 0", p.name, code)
	}
}

// kill ends the process with SIGKILL (a crash, as far as the rest of the suite can tell).
func (p *proc) kill(t testing.TB) {
	t.Helper()
	p.markEnded()
	_ = p.cmd.Process.Kill()
	if !p.waitExit(stopTimeout) {
		t.Fatalf("%s did not die of SIGKILL", p.name)
	}
}

// ---- ports ----

// freeAddrs reserves n distinct loopback ports by binding and releasing them. Another process may still take
// one in between; startSuite retries on "address already in use".
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve a port: %v", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

var errPortTaken = errors.New("address already in use")

// ---- the suite: a catalogue and a gateway (and, with full, the provider registry and the referral service) ----

type suiteOptions struct {
	// dataDir of the catalogue; a fresh temporary directory when empty.
	dataDir string
	// keysDir is the catalogue's --dev-keys-dir (tokens are minted with cusctl from it); a fresh temporary
	// directory when empty.
	keysDir string
	// noDemo starts the catalogue without --demo-data.
	noDemo bool
	// viaEnv passes the whole configuration as CUS_ environment variables instead of flags.
	viaEnv bool
	// catalogueEnv and gatewayEnv are extra environment variables of the processes; referralEnv too (with full).
	catalogueEnv, gatewayEnv, referralEnv []string
	// full also starts the provider registry and the referral service (each with its own data directory,
	// the same development key directory and demo data, as scripts/run.sh does) and makes the gateway serve
	// their REST routes (--provider-addr, --referral-addr).
	full bool
}

type suite struct {
	t         testing.TB
	dataDir   string
	keysDir   string
	grpcAddr  string
	adminAddr string
	httpAddr  string
	baseURL   string
	catalogue *proc
	gateway   *proc
	client    *http.Client

	// With suiteOptions.full: the provider registry and the referral service.
	providerAddr, providerAdmin string
	referralAddr, referralAdmin string
	provider, referral          *proc

	tokenMu sync.Mutex
	tokens  map[string]string // by role
}

// startSuite starts a catalogue (with full, also the provider registry and the referral service) and a gateway
// in front of them, and returns once GET /healthz answers 200. On cleanup every process gets SIGTERM and must
// exit 0; their output is printed when the test failed.
func startSuite(t *testing.T, opts suiteOptions) *suite {
	t.Helper()
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	if opts.keysDir == "" {
		opts.keysDir = filepath.Join(t.TempDir(), "dev")
	}
	for attempt := 1; ; attempt++ {
		s, err := tryStartSuite(t, opts)
		if err == nil {
			return s
		}
		if errors.Is(err, errPortTaken) && attempt < 4 {
			t.Logf("attempt %d: %v; retrying on other ports", attempt, err)
			continue
		}
		t.Fatalf("start suite: %v", err)
	}
}

func catalogueArgs(dataDir, keysDir, grpcAddr, adminAddr string, demo bool) []string {
	args := []string{"serve", "--data-dir", dataDir, "--dev-mode", "--dev-keys-dir", keysDir, "--listen", grpcAddr, "--admin-listen", adminAddr, "--log-format", "json"}
	if demo {
		args = append(args, "--demo-data")
	}
	return args
}

func gatewayArgs(httpAddr, catalogueAddr string) []string {
	return []string{"--listen", httpAddr, "--catalogue-addr", catalogueAddr, "--public-url", "http://" + httpAddr,
		"--cors-origins", allowedCORS, "--log-format", "json", "--max-body-bytes", strconv.Itoa(maxBodyBytes),
		// The public micro-cache answers repeated anonymous reads without the catalogue; these tests look at
		// what reaches the catalogue (request ids, limits), so it is off here and tested on its own.
		"--public-cache-ttl", "0"}
}

// flagsToEnv turns "--data-dir X --demo-data" into CUS_DATA_DIR=X CUS_DEMO_DATA=true, the documented
// equivalence of flags and environment variables.
func flagsToEnv(args []string) []string {
	var env []string
	for i := 0; i < len(args); i++ {
		name := strings.TrimPrefix(args[i], "--")
		key := "CUS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			env = append(env, key+"="+args[i+1])
			i++
		} else {
			env = append(env, key+"=true")
		}
	}
	return env
}

// providerArgs and referralArgs are the flags scripts/run.sh gives the two services (JSON logs here).
func providerArgs(dataDir, keysDir, grpcAddr, adminAddr string) []string {
	return []string{"serve", "--data-dir", dataDir, "--listen", grpcAddr, "--admin-listen", adminAddr,
		"--dev-mode", "--dev-keys-dir", keysDir, "--demo-data", "--log-format", "json"}
}

func referralArgs(dataDir, keysDir, grpcAddr, adminAddr, catalogueAddr, providerAddr string) []string {
	return []string{"serve", "--data-dir", dataDir, "--listen", grpcAddr, "--admin-listen", adminAddr,
		"--catalogue-addr", catalogueAddr, "--provider-addr", providerAddr,
		"--pesel-key-file", filepath.Join(keysDir, "pesel-index.key"),
		"--dev-mode", "--dev-keys-dir", keysDir, "--demo-data", "--log-format", "json"}
}

func tryStartSuite(t *testing.T, opts suiteOptions) (*suite, error) {
	t.Helper()
	n := 3
	if opts.full {
		n = 7
	}
	addrs := freeAddrs(t, n)
	s := &suite{
		t: t, dataDir: opts.dataDir, keysDir: opts.keysDir, grpcAddr: addrs[0], adminAddr: addrs[1], httpAddr: addrs[2],
		baseURL: "http://" + addrs[2],
		client:  &http.Client{Timeout: callTimeout},
	}
	catArgs, catEnv := catalogueArgs(s.dataDir, s.keysDir, s.grpcAddr, s.adminAddr, !opts.noDemo), opts.catalogueEnv
	gwArgs, gwEnv := gatewayArgs(s.httpAddr, s.grpcAddr), opts.gatewayEnv
	var provArgs, refArgs, provEnv, refEnv []string
	var serviceToken string
	if opts.full {
		s.providerAddr, s.providerAdmin, s.referralAddr, s.referralAdmin = addrs[3], addrs[4], addrs[5], addrs[6]
		// Each service its own data directory, beside (not inside) the catalogue's.
		base := t.TempDir()
		provArgs = append(providerArgs(filepath.Join(base, "provider"), s.keysDir, s.providerAddr, s.providerAdmin), "--catalogue-addr", s.grpcAddr)
		refArgs = referralArgs(filepath.Join(base, "referral"), s.keysDir, s.referralAddr, s.referralAdmin, s.grpcAddr, s.providerAddr)
		// As scripts/run.sh: the referral service presents its own identity (role integration) downstream.
		serviceToken = filepath.Join(base, "referral-service.token")
		refArgs = append(refArgs, "--service-token-file", serviceToken)
		gwArgs = append(gwArgs, "--provider-addr", s.providerAddr, "--referral-addr", s.referralAddr)
	}
	if opts.viaEnv {
		catArgs, catEnv = []string{"serve"}, append(flagsToEnv(catArgs[1:]), catEnv...)
		gwArgs, gwEnv = nil, append(flagsToEnv(gwArgs), gwEnv...)
		if opts.full {
			provArgs, provEnv = []string{"serve"}, flagsToEnv(provArgs[1:])
			refArgs, refEnv = []string{"serve"}, flagsToEnv(refArgs[1:])
		}
	}
	s.catalogue = startProc(t, "catalogue", catalogueBin, catArgs, catEnv)
	if err := waitListening(s.catalogue, "grpc", s.grpcAddr); err != nil {
		s.abandon()
		return nil, err
	}
	// The catalogue has created the development key by now; the other services share it, started one after
	// the other as scripts/run.sh does.
	if opts.full {
		s.provider = startProc(t, "provider", providerBin, provArgs, provEnv)
		if err := waitListening(s.provider, "grpc", s.providerAddr); err != nil {
			s.abandon()
			return nil, err
		}
		tok := s.mint(t, "referral-service", "--role", "integration", "--subject", "referral-service")
		if err := os.WriteFile(serviceToken, []byte(tok), 0o600); err != nil {
			s.abandon()
			return nil, err
		}
		s.referral = startProc(t, "referral", referralBin, refArgs, append(refEnv, opts.referralEnv...))
		if err := waitListening(s.referral, "grpc", s.referralAddr); err != nil {
			s.abandon()
			return nil, err
		}
	}
	s.gateway = startProc(t, "gateway", gatewayBin, gwArgs, gwEnv)
	if err := waitListening(s.gateway, "http", s.httpAddr); err != nil {
		s.abandon()
		return nil, err
	}
	if err := s.waitHealthy(); err != nil {
		s.abandon()
		return nil, err
	}
	t.Cleanup(s.cleanup)
	return s, nil
}

// procs are the suite's processes in stop order: the gateway first, the catalogue last. Processes not
// started (yet) are left out.
func (s *suite) procs() []*proc {
	var out []*proc
	for _, p := range []*proc{s.gateway, s.referral, s.provider, s.catalogue} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// abandon ends the processes of a start that failed, and prints their output.
func (s *suite) abandon() {
	for _, p := range s.procs() {
		if p == nil {
			continue
		}
		p.markEnded()
		_ = p.cmd.Process.Kill()
		<-p.done
		s.t.Log(p.output())
	}
}

func (s *suite) cleanup() {
	s.stop(s.t)
	if s.t.Failed() {
		for _, p := range s.procs() {
			s.t.Log(p.output())
		}
	}
}

// stop stops the gateway, then the referral service and the provider registry (when started), then the
// catalogue, asserting each exits 0 on SIGTERM. Idempotent.
func (s *suite) stop(t testing.TB) {
	t.Helper()
	for _, p := range s.procs() {
		p.stop(t)
	}
}

// waitListening waits until the process logged that it listens on addr (a JSON log line with key = addr) and
// addr accepts connections, or the process exits. The log line proves the port is this process's and not
// another test's that happened to take it.
func waitListening(p *proc, key, addr string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return exitedEarly(p)
		}
		if p.logged(key, addr) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %s", p.name, addr, startTimeout)
}

// logged reports whether the process wrote a JSON log line with key = value.
func (p *proc) logged(key, value string) bool {
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m[key] == value {
			return true
		}
	}
	return false
}

func exitedEarly(p *proc) error {
	out := p.stderr.String()
	if strings.Contains(out, "address already in use") {
		return fmt.Errorf("%s: %w", p.name, errPortTaken)
	}
	return fmt.Errorf("%s exited early with status %d:\n%s", p.name, p.exitCode(), out)
}

// waitHealthy polls GET /healthz until it answers 200.
func (s *suite) waitHealthy() error {
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: 5 * time.Second}
	last := "no answer"
	for time.Now().Before(deadline) {
		for _, p := range s.procs() {
			if p.exited() {
				return exitedEarly(p)
			}
		}
		resp, err := client.Get(s.baseURL + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("GET /healthz did not answer 200 within %s; last: %s", startTimeout, last)
}

// ---- HTTP helpers ----

type httpResult struct {
	Method string
	URL    string
	Status int
	Header http.Header
	Body   []byte
}

func (r httpResult) String() string {
	b := r.Body
	if len(b) > 2000 {
		b = append(b[:2000:2000], "..."...)
	}
	return fmt.Sprintf("%s %s -> %d %s", r.Method, r.URL, r.Status, b)
}

// do sends a request to the gateway. body is sent as is (nil for none); hdr are extra headers.
func (s *suite) do(t testing.TB, method, path string, body io.Reader, hdr map[string]string) httpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.baseURL+path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return httpResult{Method: method, URL: path, Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (s *suite) get(t testing.TB, path string) httpResult {
	return s.do(t, http.MethodGet, path, nil, nil)
}

func (s *suite) send(t testing.TB, method, path, body string) httpResult {
	return s.do(t, method, path, strings.NewReader(body), nil)
}

// jsonObject decodes the body as one JSON object.
func (r httpResult) jsonObject(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r)
	}
	if dec.More() {
		t.Fatalf("body has data after the JSON object: %s", r)
	}
	return m
}

// wantOK asserts a 200 with a JSON object body and returns it.
func (r httpResult) wantOK(t testing.TB) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("want 200: %s", r)
	}
	return r.jsonObject(t)
}

// apiStatus is a google.rpc.Status JSON body with its ErrorInfo and BadRequest details unpacked.
type apiStatus struct {
	Code       int
	Message    string
	Reason     string
	Domain     string
	Violations []string // BadRequest field violations: the fields
	Types      []string // @type of every detail
}

// wantStatus asserts the HTTP status, a JSON google.rpc.Status body and, when reason is not empty, its
// ErrorInfo reason in the suite's domain.
func (r httpResult) wantStatus(t testing.TB, httpStatus int, reason string) apiStatus {
	t.Helper()
	if r.Status != httpStatus {
		t.Fatalf("want HTTP %d: %s", httpStatus, r)
	}
	st := r.status(t)
	if reason != "" && st.Reason != reason {
		t.Fatalf("want reason %s, got %q: %s", reason, st.Reason, r)
	}
	return st
}

// status parses the body as google.rpc.Status with an ErrorInfo in the suite's domain.
func (r httpResult) status(t testing.TB) apiStatus {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json: %s", ct, r)
	}
	var raw struct {
		Code    *int              `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("error body is not a google.rpc.Status (%v): %s", err, r)
	}
	if raw.Code == nil || *raw.Code == 0 {
		t.Fatalf("error body has no non-zero code: %s", r)
	}
	if strings.TrimSpace(raw.Message) == "" {
		t.Errorf("error body has no message: %s", r)
	}
	st := apiStatus{Code: *raw.Code, Message: raw.Message}
	infos, err := st.readDetails(raw.Details)
	if err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if infos != 1 {
		t.Fatalf("want exactly one ErrorInfo detail, got %d: %s", infos, r)
	}
	if st.Domain != errorDomain {
		t.Errorf("ErrorInfo domain %q, want %q: %s", st.Domain, errorDomain, r)
	}
	if st.Reason == "" || strings.ToUpper(st.Reason) != st.Reason || strings.ContainsAny(st.Reason, " -.") {
		t.Errorf("ErrorInfo reason %q is not UPPER_SNAKE: %s", st.Reason, r)
	}
	return st
}

// readDetails fills st from a status's details (their types, the ErrorInfo's reason and domain, the BadRequest's
// fields) and returns how many ErrorInfo details there were.
func (st *apiStatus) readDetails(details []json.RawMessage) (infos int, err error) {
	for _, d := range details {
		var detail struct {
			Type            string `json:"@type"`
			Reason          string `json:"reason"`
			Domain          string `json:"domain"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		}
		if err := json.Unmarshal(d, &detail); err != nil {
			return infos, fmt.Errorf("detail %s: %w", d, err)
		}
		st.Types = append(st.Types, detail.Type)
		switch detail.Type {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			infos++
			st.Reason, st.Domain = detail.Reason, detail.Domain
		case "type.googleapis.com/google.rpc.BadRequest":
			for _, v := range detail.FieldViolations {
				st.Violations = append(st.Violations, v.Field)
			}
		}
	}
	return infos, nil
}

func (st apiStatus) hasViolation(field string) bool {
	for _, f := range st.Violations {
		if f == field {
			return true
		}
	}
	return false
}

// str reads a string at a path of nested JSON objects ("service", "displayName").
func str(t testing.TB, m map[string]any, path ...string) string {
	t.Helper()
	v := dig(t, m, path...)
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s is %T (%v), want a string", strings.Join(path, "."), v, v)
	}
	return s
}

func dig(t testing.TB, m map[string]any, path ...string) any {
	t.Helper()
	var cur any = m
	for i, k := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", strings.Join(path[:i], "."), cur)
		}
		cur, ok = obj[k]
		if !ok {
			t.Fatalf("no %s in %v", strings.Join(path[:i+1], "."), m)
		}
	}
	return cur
}

func list(t testing.TB, m map[string]any, key string) []any {
	t.Helper()
	v, ok := m[key]
	if !ok {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%s is %T, want an array", key, v)
	}
	return l
}

// int64Field reads a proto int64 from JSON: a decimal string (proto JSON) or a number; absent means 0.
func int64Field(t testing.TB, m map[string]any, key string) int64 {
	t.Helper()
	v, ok := m[key]
	if !ok {
		return 0
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case float64:
		return int64(x)
	default:
		t.Fatalf("%s is %T, want an integer", key, v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q is not an integer", key, s)
	}
	return n
}

// Roles used by the tests (docs/authorization.md): organisers edit the catalogue and read the change feed.
const (
	roleEditor = "organiser"
	roleReader = "coordinator" // a staff role that may read but not edit or follow the feed
)

// token mints (once per suite and role) a development bearer token with cusctl, as the README does.
func (s *suite) token(t testing.TB, role string) string {
	t.Helper()
	return s.mint(t, role, "--role", role)
}

// providerToken mints (once per suite and provider) a token of the provider role bound to providerID (a uuid).
func (s *suite) providerToken(t testing.TB, providerID string) string {
	t.Helper()
	return s.mint(t, "provider:"+providerID, "--role", "provider", "--provider-id", providerID)
}

// asProvider returns the headers of provider staff of providerID.
func (s *suite) asProvider(t testing.TB, providerID string) map[string]string {
	t.Helper()
	return map[string]string{"Authorization": "Bearer " + s.providerToken(t, providerID)}
}

// mint runs cusctl token with args, caching the token under key.
func (s *suite) mint(t testing.TB, key string, args ...string) string {
	t.Helper()
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if tok, ok := s.tokens[key]; ok {
		return tok
	}
	role := strings.Join(args, " ")
	p := startProc(t, "cusctl", cusctlBin, append(append([]string{"token"}, args...), "--keys-dir", s.keysDir), nil)
	if !p.waitExit(callTimeout) {
		p.kill(t)
		t.Fatalf("cusctl token did not finish")
	}
	p.markEnded()
	tok := strings.TrimSpace(p.stdout.String())
	if p.exitCode() != 0 || tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("cusctl token %s: status %d\n%s", role, p.exitCode(), p.output())
	}
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	s.tokens[key] = tok
	return tok
}

// as returns the headers of a caller with role (plus extra header pairs).
func (s *suite) as(t testing.TB, role string, kv ...string) map[string]string {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + s.token(t, role)}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// edit sends a request as an editor (organiser).
func (s *suite) edit(t testing.TB, method, path, body string) httpResult {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return s.do(t, method, path, r, s.as(t, roleEditor))
}

// latestRevision is the newest revision of the catalogue, read from the change feed (as an editor: the feed
// is not public).
func (s *suite) latestRevision(t testing.TB) int64 {
	t.Helper()
	m := s.edit(t, http.MethodGet, "/v1/changes?pageSize=1", "").wantOK(t)
	return int64Field(t, m, "latestRevision")
}

// createService creates a service over REST as an editor and returns the created resource.
func (s *suite) createService(t testing.TB, body string) map[string]any {
	t.Helper()
	m := s.edit(t, http.MethodPost, "/v1/services", body).wantOK(t)
	if !strings.HasPrefix(str(t, m, "name"), "services/") || str(t, m, "etag") == "" {
		t.Fatalf("created service has no name or etag: %v", m)
	}
	return m
}

// logLines parses a process's stderr as JSON lines; a line that is not a JSON object fails the test.
func logLines(t testing.TB, p *proc) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m == nil {
			t.Errorf("%s log line is not a JSON object: %q", p.name, line)
			continue
		}
		out = append(out, m)
	}
	return out
}

// eventually polls cond until it returns true, bounded by startTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
