package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// This file holds the machinery of TestOWASPAPITop10 (owasp_test.go): a tally of attempts, each a request
// with a human description and the refusal it must meet, the leak check applied to every answer, and the
// forging of bearer tokens the suite must refuse.

// attempt is one row of an OWASP group: what was tried and what must come back.
type attempt struct {
	what string // human description, logged

	method, path, body string            // a REST call to the gateway (path) ...
	url                string            // ... or to an absolute URL (admin ports); wins over path
	hdr                map[string]string // nil: anonymous

	status    int    // expected HTTP status
	reason    string // expected ErrorInfo reason; "" accepts any (or none, with raw)
	violation string // a BadRequest field violation that must be present
	// violationReason is the reason (BadRequest.FieldViolation.reason) violation must carry; "" accepts any.
	violationReason string
	alt             []int // further acceptable statuses (e.g. 404 or 405 for a method)
	raw             bool  // the answer need not be a google.rpc.Status (CORS preflights, HSDS, deadline answers)

	// piiOK: the caller may legitimately read the test residents' personal data in this answer (their
	// coordinator). Every other answer is scanned for it.
	piiOK bool
	// forbid are further strings that must not be in the answer (another provider's referral names...).
	forbid []string
	// check inspects a 2xx answer; a non-empty result is a failure.
	check func(r httpResult) string
}

// groupCount is the score of one OWASP group.
type groupCount struct {
	tried, refused, allowed, wrong, leaks int
}

// tally counts every attempt of the suite, by group.
type tally struct {
	mu     sync.Mutex
	order  []string
	groups map[string]*groupCount
	pii    []string // the test residents' PESELs, names and streets
	client *http.Client
}

func newTally(pii []string) *tally {
	return &tally{groups: map[string]*groupCount{}, pii: pii, client: &http.Client{Timeout: callTimeout}}
}

func (tl *tally) group(name string) *groupCount {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	g, ok := tl.groups[name]
	if !ok {
		g = &groupCount{}
		tl.groups[name] = g
		tl.order = append(tl.order, name)
	}
	return g
}

// groupOf is the OWASP item of a subtest: "API1" of "TestOWASPAPITop10/API1_BrokenObjectLevelAuthorization".
func groupOf(t testing.TB) string {
	name := t.Name()
	if i := strings.Index(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.Index(name, "_"); i >= 0 {
		name = name[:i]
	}
	if i := strings.Index(name, "/"); i >= 0 {
		name = name[:i]
	}
	return name
}

// leakIn names the first forbidden string in the answer's body or headers, or "".
func (tl *tally) leakIn(r httpResult, a attempt) string {
	var hb strings.Builder
	for k, vs := range r.Header {
		hb.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	hay := string(r.Body) + "\n" + hb.String()
	if !a.piiOK {
		for _, p := range tl.pii {
			if p != "" && strings.Contains(hay, p) {
				return "personal data " + redact(p)
			}
		}
	}
	for _, f := range a.forbid {
		if f != "" && strings.Contains(hay, f) {
			return f
		}
	}
	return ""
}

// redact shows enough of a personal value to recognise it in a report without writing it out whole.
func redact(s string) string {
	r := []rune(s)
	if len(r) <= 3 {
		return "***"
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-3)
}

// send performs a row's request; a 429 RATE_LIMITED the row does not expect (the suite makes hundreds of
// calls as a few principals) is waited out and retried, so the per-caller limit cannot make a row flaky.
func (tl *tally) send(t testing.TB, s *suite, a attempt) (httpResult, error) {
	t.Helper()
	target := a.url
	if target == "" {
		target = s.baseURL + a.path
	}
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		var body io.Reader
		if a.body != "" {
			body = strings.NewReader(a.body)
		}
		req, err := http.NewRequestWithContext(ctx, a.method, target, body)
		if err != nil {
			cancel()
			return httpResult{}, err
		}
		if a.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range a.hdr {
			req.Header.Set(k, v)
		}
		resp, err := tl.client.Do(req)
		if err != nil {
			cancel()
			return httpResult{}, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err != nil {
			return httpResult{}, err
		}
		r := httpResult{Method: a.method, URL: target, Status: resp.StatusCode, Header: resp.Header, Body: b}
		if r.Status == http.StatusTooManyRequests && a.status != http.StatusTooManyRequests && try < 8 &&
			bytes.Contains(b, []byte("RATE_LIMITED")) {
			time.Sleep(time.Second)
			continue
		}
		return r, nil
	}
}

// run tries one row, logs what was tried and what came back, and counts it.
func (tl *tally) run(t *testing.T, s *suite, a attempt) httpResult {
	t.Helper()
	g := tl.group(groupOf(t))
	r, err := tl.send(t, s, a)
	verdict := tl.judge(r, err, a)
	tl.count(t, g, a.what+answered(r, err, a), a.status, verdict, tl.leakOf(r, err, a), r.String())
	return r
}

// answered describes the answer for the log: its status and reason, beside the expected ones.
func answered(r httpResult, err error, a attempt) string {
	want := fmt.Sprint(a.status)
	if a.reason != "" {
		want += " " + a.reason
	}
	if err != nil {
		return " (want " + want + ", no answer)"
	}
	got := fmt.Sprint(r.Status)
	if st, perr := parseStatus(r); perr == nil && r.Status >= 400 {
		got += " " + st.Reason
	}
	return " (want " + want + ", got " + got + ")"
}

func (tl *tally) leakOf(r httpResult, err error, a attempt) string {
	if err != nil {
		return ""
	}
	return tl.leakIn(r, a)
}

// judge compares an answer with the row's expectation; "" when it matches.
func (tl *tally) judge(r httpResult, err error, a attempt) string {
	if err != nil {
		return "no answer: " + err.Error()
	}
	if r.Status != a.status && !containsInt(a.alt, r.Status) {
		return fmt.Sprintf("HTTP %d, want %d", r.Status, a.status)
	}
	if r.Status < 400 {
		if a.check != nil {
			return a.check(r)
		}
		return ""
	}
	st, perr := parseStatus(r)
	if perr != nil {
		if a.raw {
			return ""
		}
		return perr.Error()
	}
	if a.reason != "" && st.Reason != a.reason {
		return fmt.Sprintf("reason %q, want %s", st.Reason, a.reason)
	}
	if a.violation != "" && !st.hasViolation(a.violation) {
		return fmt.Sprintf("violations %v lack %s", st.Violations, a.violation)
	}
	if a.violationReason != "" {
		if got := violationReasons(r.Body)[a.violation]; !containsString(got, a.violationReason) {
			return fmt.Sprintf("the violation of %s has reasons %v, want %s", a.violation, got, a.violationReason)
		}
	}
	if internals := internalsIn(r.Body); internals != "" {
		return "the error shows internals: " + internals
	}
	return ""
}

// count records one row's result.
func (tl *tally) count(t *testing.T, g *groupCount, what string, want int, verdict, leak, got string) {
	t.Helper()
	tl.mu.Lock()
	g.tried++
	n := g.tried
	switch {
	case verdict != "":
		g.wrong++
	case leak != "": // a right code carrying a leak is no success: it counts among the leaks only
	case want >= 400:
		g.refused++
	default:
		g.allowed++
	}
	if leak != "" {
		g.leaks++
	}
	tl.mu.Unlock()
	outcome := "as expected"
	if verdict != "" {
		outcome = "WRONG: " + verdict
	}
	t.Logf("#%d tried: %s: %s", n, what, outcome)
	if verdict != "" {
		t.Errorf("%s: %s\n  answer: %s", what, verdict, got)
	}
	if leak != "" {
		t.Errorf("LEAK %s: the answer carries %s\n  answer: %s", what, leak, got)
	}
}

// outcome records a row checked by the test itself (a stream, a scan): refused says whether it was a
// refusal row (true) or an allowed one; problem is "" when it went as expected.
func (tl *tally) outcome(t *testing.T, what string, refusal bool, problem, leak string) {
	t.Helper()
	want := 200
	if refusal {
		want = 400
	}
	tl.count(t, tl.group(groupOf(t)), what, want, problem, leak, "(checked by the test)")
}

// grpcWant is the HTTP status the gateway gives a gRPC code (runtime.HTTPStatusFromCode).
var grpcWant = map[codes.Code]int{
	codes.OK: 200, codes.InvalidArgument: 400, codes.FailedPrecondition: 400, codes.OutOfRange: 400,
	codes.Unauthenticated: 401, codes.PermissionDenied: 403, codes.NotFound: 404, codes.AlreadyExists: 409,
	codes.Aborted: 409, codes.ResourceExhausted: 429, codes.Unavailable: 503, codes.DeadlineExceeded: 504,
	codes.Internal: 500, codes.Unimplemented: 501,
}

// runGRPC tries one row directly against a service's gRPC port (bypassing the gateway, as any client on the
// network could).
func (tl *tally) runGRPC(t *testing.T, what string, want codes.Code, reason string, call func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var err error
	for try := 0; try < 8; try++ {
		err = call(ctx)
		if want != codes.ResourceExhausted && grpcReason(err) == "RATE_LIMITED" {
			time.Sleep(time.Second)
			continue
		}
		break
	}
	got := status.Code(err)
	verdict := ""
	switch {
	case got != want:
		verdict = fmt.Sprintf("gRPC %s, want %s", got, want)
	case reason != "" && grpcReason(err) != reason:
		verdict = fmt.Sprintf("reason %q, want %s", grpcReason(err), reason)
	}
	leak := ""
	if err != nil {
		for _, p := range tl.pii {
			if strings.Contains(err.Error(), p) {
				leak = "personal data " + redact(p)
			}
		}
	}
	tl.count(t, tl.group(groupOf(t)), fmt.Sprintf("%s (gRPC; want %s %s, got %s %s)", what, want, reason, status.Code(err), grpcReason(err)),
		grpcWant[want], verdict, leak, fmt.Sprint(err))
}

// grpcReason is the ErrorInfo reason of a gRPC error, or "". The detail is decoded from its wire form
// (google.rpc.ErrorInfo: field 1 is the reason), which keeps this module's dependencies as they are.
func grpcReason(err error) string {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return ""
	}
	for _, d := range st.Proto().GetDetails() {
		if d.GetTypeUrl() != "type.googleapis.com/google.rpc.ErrorInfo" {
			continue
		}
		b := d.GetValue()
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return ""
			}
			b = b[n:]
			if num == 1 && typ == protowire.BytesType {
				v, n := protowire.ConsumeBytes(b)
				if n < 0 {
					return ""
				}
				return string(v)
			}
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ""
			}
			b = b[n:]
		}
	}
	return ""
}

// parseStatus is the harness's status() without failing the test: the body as a google.rpc.Status with one
// ErrorInfo in the suite's domain.
func parseStatus(r httpResult) (apiStatus, error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return apiStatus{}, fmt.Errorf("error Content-Type %q, want application/json", ct)
	}
	var raw struct {
		Code    *int              `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	body := r.Body
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 { // a stream's error
		body = wrapped.Error
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Code == nil || *raw.Code == 0 {
		return apiStatus{}, fmt.Errorf("the error body is not a google.rpc.Status (%w)", err)
	}
	st := apiStatus{Code: *raw.Code, Message: raw.Message}
	infos, err := st.readDetails(raw.Details)
	if err != nil {
		return apiStatus{}, err
	}
	if infos != 1 {
		return st, fmt.Errorf("want exactly one ErrorInfo detail, got %d", infos)
	}
	if st.Domain != errorDomain {
		return st, fmt.Errorf("ErrorInfo domain %q, want %q", st.Domain, errorDomain)
	}
	return st, nil
}

// internalsIn names Go internals an error body must never show: stack traces, source paths, wrapped
// transport errors.
func internalsIn(body []byte) string {
	for _, s := range []string{"goroutine ", ".go:", "runtime.", "panic", "rpc error:", "/home/", "/usr/local/go",
		"github.com/", "bbolt", "proto:", "transport:", "nil pointer"} {
		if bytes.Contains(body, []byte(s)) {
			return s
		}
	}
	return ""
}

// violationReasons maps each field of an error body's BadRequest violations to their reasons (the harness's
// apiStatus keeps the fields only).
func violationReasons(body []byte) map[string][]string {
	var raw struct {
		Details []struct {
			Type            string `json:"@type"`
			FieldViolations []struct {
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	out := map[string][]string{}
	if json.Unmarshal(body, &raw) != nil {
		return out
	}
	for _, d := range raw.Details {
		for _, v := range d.FieldViolations {
			out[v.Field] = append(out[v.Field], v.Reason)
		}
	}
	return out
}

// summary logs a line per group and the totals, and fails on any wrong answer or leak.
func (tl *tally) summary(t *testing.T) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	order := append([]string(nil), tl.order...)
	sort.SliceStable(order, func(i, j int) bool { return apiNumber(order[i]) < apiNumber(order[j]) })
	var total groupCount
	for _, name := range order {
		g := tl.groups[name]
		t.Logf("%-6s tried %3d, refused with the right code %3d, allowed as expected %3d, wrong %d, leaks %d",
			name, g.tried, g.refused, g.allowed, g.wrong, g.leaks)
		total.tried += g.tried
		total.refused += g.refused
		total.allowed += g.allowed
		total.wrong += g.wrong
		total.leaks += g.leaks
	}
	t.Logf("OWASP API Security Top 10 (2023): tried %d, refused with the right code %d, allowed as expected %d, wrong %d, leaks %d",
		total.tried, total.refused, total.allowed, total.wrong, total.leaks)
	if total.wrong != 0 || total.leaks != 0 {
		t.Errorf("%d attempts answered wrongly and %d leaked (see above)", total.wrong, total.leaks)
	}
}

func apiNumber(name string) int {
	var n int
	if _, err := fmt.Sscanf(name, "API%d", &n); err != nil {
		return 100
	}
	return n
}

// ---- forged tokens ----

// devSigner is the suite's development signing key, read from its key directory: with it the test signs
// tokens that are well signed but wrong in one claim, which cusctl will not mint.
type devSigner struct {
	key *ecdsa.PrivateKey
	kid string
	pub []byte // the JWKS file: what an attacker would use as an HMAC secret
}

func loadDevSigner(t testing.TB, keysDir string) *devSigner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(keysDir, "dev-signing-key.jwk.json"))
	if err != nil {
		t.Fatalf("read the development key: %v", err)
	}
	var jwk struct {
		Crv string `json:"crv"`
		D   string `json:"d"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &jwk); err != nil || jwk.Crv != "P-256" {
		t.Fatalf("development key is not a P-256 JWK (%v)", err)
	}
	d, err := base64.RawURLEncoding.DecodeString(jwk.D)
	if err != nil {
		t.Fatalf("development key d: %v", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatalf("development key: %v", err)
	}
	pub, err := os.ReadFile(filepath.Join(keysDir, "dev-jwks.json"))
	if err != nil {
		t.Fatalf("read the development JWKS: %v", err)
	}
	return &devSigner{key: key, kid: jwk.Kid, pub: pub}
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// claims are valid development claims of role, for a test to spoil one.
func (d *devSigner) claims(role string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": "https://cus.invalid/dev", "aud": []string{"cus"}, "sub": "owasp-" + role,
		"iat": now.Unix(), "nbf": now.Add(-time.Second).Unix(), "exp": now.Add(time.Hour).Unix(),
		"roles": []string{role},
	}
}

func (d *devSigner) header() map[string]any {
	return map[string]any{"alg": "ES256", "typ": "JWT", "kid": d.kid}
}

// es256 signs header.claims with the development key.
func (d *devSigner) es256(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	input := b64json(header) + "." + b64json(claims)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, d.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hs256 signs with an HMAC secret (the key-confusion attack: the public key as the secret).
func hs256(header, claims map[string]any, secret []byte) string {
	input := b64json(header) + "." + b64json(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// unsigned is an "alg": "none" token.
func unsigned(claims map[string]any) string {
	return b64json(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64json(claims) + "."
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// ---- gRPC ----

func dialGRPC(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// withToken adds a bearer token to a gRPC call's context ("" leaves it anonymous).
func withToken(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// ---- scanning files for personal data ----

// scanTree names every file under root holding one of needles (as bytes), with the needle redacted.
func scanTree(root string, needles []string) ([]string, int, error) {
	var found []string
	files := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if info.IsDir() || !info.Mode().IsRegular() {
			return nil
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if n != "" && bytes.Contains(b, []byte(n)) {
				found = append(found, fmt.Sprintf("%s holds %s", path, redact(n)))
			}
		}
		return nil
	})
	return found, files, err
}

// flagValue is the value of --name in a process's arguments.
func flagValue(p *proc, name string) string {
	args := p.cmd.Args
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--"+name {
			return args[i+1]
		}
	}
	return ""
}

// expiredAdmin is an admin token of the suite's development key that expired an hour ago.
func expiredAdmin(t testing.TB, s *suite) string {
	t.Helper()
	d := loadDevSigner(t, s.keysDir)
	c := d.claims("admin")
	c["exp"] = time.Now().Add(-time.Hour).Unix()
	c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
	return d.es256(t, d.header(), c)
}

// containsAll says whether s holds every one of subs.
func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// containsAny is the first of subs that s holds, or "".
func containsAny(s string, subs []string) string {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}
