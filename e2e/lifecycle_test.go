package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCommand runs a binary to completion (bounded by callTimeout) and returns its exit status and output.
func runCommand(t *testing.T, name, bin string, args, env []string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProc(t, name, bin, args, env)
	if !p.waitExit(callTimeout) {
		p.kill(t)
		t.Fatalf("%s %s did not finish within %s:\n%s", name, strings.Join(args, " "), callTimeout, p.output())
	}
	p.markEnded()
	return p.exitCode(), p.stdout.String(), p.stderr.String()
}

// TestRestartKeepsData: what was written survives a graceful restart, without demo data reloading over it.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1 := startSuite(t, suiteOptions{dataDir: dir})
	created := s1.createService(t, `{"displayName":"Punkt Nieodpłatnej Pomocy Prawnej","areas":["AREA_SOCIAL_ASSISTANCE"]}`)
	name := str(t, created, "name")
	s1.edit(t, http.MethodDelete, "/v1/services/0194c050-3022-7053-8000-000000000002", "").wantOK(t)
	rev := s1.latestRevision(t)
	s1.stop(t)

	s2 := startSuite(t, suiteOptions{dataDir: dir, noDemo: true})
	got := s2.get(t, "/v1/"+name).wantOK(t)
	if str(t, got, "etag") != str(t, created, "etag") || str(t, got, "displayName") != str(t, created, "displayName") {
		t.Errorf("after restart: %v, before: %v", got, created)
	}
	s2.get(t, "/v1/"+demoServiceName).wantOK(t)
	s2.get(t, "/v1/services/0194c050-3022-7053-8000-000000000002").wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")
	if after := s2.latestRevision(t); after != rev {
		t.Errorf("latestRevision %d after restart, was %d", after, rev)
	}
	// The search index is rebuilt from the store.
	res := s2.send(t, http.MethodPost, "/v1/services:search", `{"query":"pomocy prawnej"}`).wantOK(t)
	if !strings.Contains(string(mustJSON(t, res)), name) {
		t.Errorf("search after restart does not find %s: %v", name, res)
	}
	// And the next write continues the revision sequence.
	s2.createService(t, `{"displayName":"Po restarcie","areas":["AREA_CULTURE"]}`)
	if after := s2.latestRevision(t); after != rev+1 {
		t.Errorf("first write after restart got revision %d, want %d", after, rev+1)
	}
}

// TestSecondCatalogueOnSameDataDirFailsFast: the data file is locked; a second process says so and exits.
func TestSecondCatalogueOnSameDataDirFailsFast(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	addrs := freeAddrs(t, 2)
	second := startProc(t, "second catalogue", catalogueBin, catalogueArgs(s.dataDir, s.keysDir, addrs[0], addrs[1], true), nil)
	if !second.waitExit(5 * time.Second) {
		second.kill(t)
		t.Fatalf("a second catalogue on the same data dir was still running after 5 s:\n%s", second.output())
	}
	second.markEnded()
	if code := second.exitCode(); code == 0 {
		t.Errorf("second catalogue exited 0:\n%s", second.output())
	}
	if !strings.Contains(second.stderr.String(), "locked") {
		t.Errorf("second catalogue does not say the data is locked:\n%s", second.output())
	}
	// The first one is unaffected.
	s.get(t, "/v1/"+demoServiceName).wantOK(t)
	s.get(t, "/healthz").wantOK(t)
}

// TestInvalidConfigurationIsRefused: a bad setting stops the process before it does anything, with a message
// naming both the flag and its environment variable.
func TestInvalidConfigurationIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		bin        string // "catalogue" or "gateway"
		args, env  []string
		flag, env2 string // what the message must name
	}{
		{"catalogue --instance-terc", "catalogue", []string{"serve", "--instance-terc", "123"}, nil, "--instance-terc", "CUS_INSTANCE_TERC"},
		{"catalogue --instance-terc not a gmina", "catalogue", []string{"serve", "--instance-terc", "3022059"}, nil, "--instance-terc", "CUS_INSTANCE_TERC"},
		{"catalogue --listen", "catalogue", []string{"serve", "--listen", "nonsense"}, nil, "--listen", "CUS_LISTEN"},
		{"catalogue CUS_INSTANCE_TERC", "catalogue", []string{"serve"}, []string{"CUS_INSTANCE_TERC=123"}, "--instance-terc", "CUS_INSTANCE_TERC"},
		{"catalogue CUS_LISTEN", "catalogue", []string{"serve"}, []string{"CUS_LISTEN=nonsense"}, "--listen", "CUS_LISTEN"},
		{"catalogue CUS_SHUTDOWN_GRACE", "catalogue", []string{"serve"}, []string{"CUS_SHUTDOWN_GRACE=soon"}, "--shutdown-grace", "CUS_SHUTDOWN_GRACE"},
		{"catalogue --log-format", "catalogue", []string{"serve", "--log-format", "xml"}, nil, "--log-format", "CUS_LOG_FORMAT"},
		{"catalogue --dev-keys-dir off loopback", "catalogue", []string{"serve", "--dev-mode", "--dev-keys-dir", "DEVKEYS", "--listen", "0.0.0.0:0"}, nil, "--dev-keys-dir", "CUS_DEV_KEYS_DIR"},
		// Loopback is also the single-VM production layout: development keys need the explicit flag.
		{"catalogue --dev-keys-dir without --dev-mode", "catalogue", []string{"serve", "--dev-keys-dir", "DEVKEYS"}, nil, "--dev-mode", "CUS_DEV_KEYS_DIR"},
		{"catalogue CUS_DEV_KEYS_DIR without CUS_DEV_MODE", "catalogue", []string{"serve"}, []string{"CUS_DEV_KEYS_DIR=/tmp/cus-dev-keys"}, "--dev-keys-dir", "CUS_DEV_KEYS_DIR"},
		{"catalogue --dev-mode with --oidc-issuer", "catalogue", []string{"serve", "--dev-mode", "--oidc-issuer", "https://sso.example/realms/cus"}, nil, "--dev-mode", "CUS_DEV_MODE"},
		{"catalogue --dev-mode with --jwks-file", "catalogue", []string{"serve", "--dev-mode", "--oidc-issuer", "https://sso.example/realms/cus", "--jwks-file", "/nonexistent/jwks.json"}, nil, "--dev-mode", "CUS_DEV_MODE"},
		{"catalogue --jwks-file without its issuer", "catalogue", []string{"serve", "--jwks-file", "/nonexistent/jwks.json"}, nil, "--jwks-file", "CUS_JWKS_FILE"},
		{"catalogue --peer-ca without TLS", "catalogue", []string{"serve", "--peer-ca", "/nonexistent/peer-ca.pem"}, nil, "--peer-ca", "CUS_PEER_CA"},
		{"catalogue plaintext off loopback", "catalogue", []string{"serve", "--listen", "0.0.0.0:0"}, nil, "--tls-cert", "CUS_TLS_CERT"},
		{"catalogue --clock-skew", "catalogue", []string{"serve", "--clock-skew", "1h"}, nil, "--clock-skew", "CUS_CLOCK_SKEW"},
		{"catalogue two token sources", "catalogue", []string{"serve", "--dev-mode", "--dev-keys-dir", "DEVKEYS", "--oidc-issuer", "https://sso.example/realms/cus"}, nil, "--oidc-issuer", "CUS_DEV_KEYS_DIR"},
		{"gateway --max-body-bytes", "gateway", []string{"--max-body-bytes", "10"}, nil, "--max-body-bytes", "CUS_MAX_BODY_BYTES"},
		{"gateway --cors-origins", "gateway", []string{"--cors-origins", "app.example"}, nil, "--cors-origins", "CUS_CORS_ORIGINS"},
		{"gateway CUS_PUBLIC_URL", "gateway", nil, []string{"CUS_PUBLIC_URL=localhost:8080"}, "--public-url", "CUS_PUBLIC_URL"},
		{"gateway CUS_LISTEN", "gateway", nil, []string{"CUS_LISTEN=nonsense"}, "--listen", "CUS_LISTEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			dir, keys := filepath.Join(tmp, "data"), filepath.Join(tmp, "dev")
			addrs := freeAddrs(t, 2)
			bin := gatewayBin
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "DEVKEYS", keys))
			}
			// Everything else valid and private to this test, so the bad setting is the only reason to fail.
			env := []string{"CUS_LISTEN=" + addrs[0], "CUS_CATALOGUE_ADDR=" + addrs[1], "CUS_LOG_FORMAT=json"}
			if tc.bin == "catalogue" {
				bin = catalogueBin
				env = []string{"CUS_LISTEN=" + addrs[0], "CUS_ADMIN_LISTEN=" + addrs[1], "CUS_DATA_DIR=" + dir, "CUS_LOG_FORMAT=json"}
			}
			env = append(env, tc.env...) // later entries win in os/exec
			code, stdout, stderr := runCommand(t, tc.bin, bin, args, env)
			if code == 0 {
				t.Fatalf("exited 0 with an invalid configuration:\n%s%s", stderr, stdout)
			}
			if !strings.Contains(stderr, tc.flag) || !strings.Contains(stderr, tc.env2) {
				t.Errorf("message does not name %s and %s:\n%s", tc.flag, tc.env2, stderr)
			}
			for _, d := range []string{dir, keys} {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("an invalid configuration still created %s", d)
				}
			}
		})
	}
}

// TestConfigurationFromEnvironment: the whole suite runs configured by CUS_ variables alone, and a flag
// beats its variable.
func TestConfigurationFromEnvironment(t *testing.T) {
	t.Parallel()
	t.Run("env only", func(t *testing.T) {
		t.Parallel()
		s := startSuite(t, suiteOptions{viaEnv: true})
		// CUS_LISTEN and friends were obeyed, or the harness would not have found the processes on their
		// ports; CUS_DEMO_DATA and CUS_DATA_DIR too:
		s.get(t, "/v1/"+demoServiceName).wantOK(t)
		if _, err := os.Stat(filepath.Join(s.dataDir, "catalogue.db")); err != nil {
			t.Errorf("no data file under CUS_DATA_DIR: %v", err)
		}
		// CUS_MAX_BODY_BYTES and CUS_CORS_ORIGINS:
		s.do(t, http.MethodPost, "/v1/services", strings.NewReader(strings.Repeat(" ", maxBodyBytes+1)), nil).
			wantStatus(t, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
		r := s.do(t, http.MethodGet, "/v1/areas", nil, map[string]string{"Origin": allowedCORS})
		if r.Header.Get("Access-Control-Allow-Origin") != allowedCORS {
			t.Errorf("CUS_CORS_ORIGINS not applied: %v", r.Header)
		}
	})
	t.Run("flag beats env", func(t *testing.T) {
		t.Parallel()
		s := startSuite(t, suiteOptions{
			catalogueEnv: []string{"CUS_LISTEN=nonsense", "CUS_LOG_FORMAT=xml", "CUS_DATA_DIR="},
			gatewayEnv:   []string{"CUS_LISTEN=nonsense", "CUS_MAX_BODY_BYTES=1"},
		})
		s.get(t, "/v1/"+demoServiceName).wantOK(t)
	})
	t.Run("env beats default", func(t *testing.T) {
		t.Parallel()
		s := startSuite(t, suiteOptions{catalogueEnv: []string{"CUS_INSTANCE_TERC=1465011"}})
		created := s.createService(t, `{"displayName":"Usługa warszawska","areas":["AREA_CULTURE"]}`)
		if got := str(t, created, "originTerc"); got != "1465011" {
			t.Errorf("originTerc %q, want CUS_INSTANCE_TERC=1465011", got)
		}
	})
}

// TestBackupAndRestore: the backup endpoint gives the data file only to an admin token (not to any process
// that reaches the admin address); a backup taken while serving restores into a new data directory with the
// same services and revision.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	kept := s.createService(t, `{"displayName":"Przed kopią","areas":["AREA_HOUSING"]}`)
	rev := s.latestRevision(t)
	backup := filepath.Join(t.TempDir(), "catalogue.bak")

	// `curl 127.0.0.1:9101/backup`: 401 without a token, 403 with a token of another role, JSON both.
	for _, tc := range []struct {
		role   string
		status int
		reason string
	}{{"", http.StatusUnauthorized, "AUTHENTICATION_REQUIRED"}, {"coordinator", http.StatusForbidden, "ADMIN_REQUIRED"}, {"organiser", http.StatusForbidden, "ADMIN_REQUIRED"}} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.adminAddr+"/backup", nil)
		if tc.role != "" {
			req.Header.Set("Authorization", "Bearer "+s.token(t, tc.role))
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := httpResult{Method: http.MethodGet, URL: "/backup", Status: resp.StatusCode, Header: resp.Header, Body: body}
		r.wantStatus(t, tc.status, tc.reason)
	}
	// /metrics stays open to monitoring.
	if resp, err := s.client.Get("http://" + s.adminAddr + "/metrics"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// The backup command without a token says what it needs.
	code, stdout, stderr := runCommand(t, "backup", catalogueBin,
		[]string{"backup", "--admin-url", "http://" + s.adminAddr, "--out", backup}, nil)
	if code == 0 || !strings.Contains(stderr+stdout, "CUS_TOKEN_FILE") {
		t.Fatalf("backup without a token exited %d:\n%s%s", code, stderr, stdout)
	}
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if err := os.WriteFile(tokenFile, []byte(s.token(t, "admin")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCommand(t, "backup", catalogueBin,
		[]string{"backup", "--admin-url", "http://" + s.adminAddr, "--out", backup}, []string{"CUS_TOKEN_FILE=" + tokenFile})
	if code != 0 {
		t.Fatalf("backup exited %d:\n%s%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, fmt.Sprint(rev)) {
		t.Errorf("backup output does not name revision %d: %q", rev, stdout)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Size() == 0 {
		t.Fatalf("backup file: %v", err)
	}
	if _, err := os.Stat(backup + ".part"); err == nil {
		t.Errorf("backup left its .part file behind")
	}
	after := s.createService(t, `{"displayName":"Po kopii","areas":["AREA_HOUSING"]}`)

	t.Run("restore refuses a running service's data", func(t *testing.T) {
		code, stdout, stderr := runCommand(t, "restore", catalogueBin, []string{"restore", "--from", backup, "--data-dir", s.dataDir}, nil)
		if code == 0 {
			t.Errorf("restore over a running catalogue's data exited 0:\n%s%s", stderr, stdout)
		}
		s.get(t, "/v1/"+str(t, after, "name")).wantOK(t)
	})
	s.stop(t)

	dir := filepath.Join(t.TempDir(), "restored")
	code, stdout, stderr = runCommand(t, "restore", catalogueBin, []string{"restore", "--from", backup, "--data-dir", dir}, nil)
	if code != 0 {
		t.Fatalf("restore exited %d:\n%s%s", code, stderr, stdout)
	}
	r := startSuite(t, suiteOptions{dataDir: dir, noDemo: true})
	got := r.get(t, "/v1/"+str(t, kept, "name")).wantOK(t)
	if str(t, got, "etag") != str(t, kept, "etag") {
		t.Errorf("restored service %v, backed up %v", got, kept)
	}
	r.get(t, "/v1/"+demoServiceName).wantOK(t)
	r.get(t, "/v1/"+str(t, after, "name")).wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")
	if got := r.latestRevision(t); got != rev {
		t.Errorf("restored latestRevision %d, backed up at %d", got, rev)
	}
	list := r.get(t, "/v1/services?pageSize=1000").wantOK(t)
	if int64Field(t, list, "totalSize") < 40 {
		t.Errorf("restored catalogue lists %v services", list["totalSize"])
	}
}

// TestLogsAreJSONLines: both processes log one JSON object per line, with the request id that ties the
// gateway's access log to the catalogue's, and never the query string or body (they may hold personal data).
func TestLogsAreJSONLines(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	const secret = "Kowalski85010112345"
	s.do(t, http.MethodGet, "/v1/"+demoServiceName, nil, map[string]string{"X-Request-Id": "e2e-log-ok"}).wantOK(t)
	s.do(t, http.MethodGet, "/v1/services/0194c050-3022-7053-8000-00000000ffff", nil, map[string]string{"X-Request-Id": "e2e-log-nf"}).
		wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")
	s.do(t, http.MethodPost, "/v1/services:search", strings.NewReader(`{"query":"`+secret+`"}`), map[string]string{"X-Request-Id": "e2e-log-body"}).wantOK(t)
	s.do(t, http.MethodGet, "/v1/services?filter="+secret, nil, map[string]string{"X-Request-Id": "e2e-log-query"})
	s.stop(t) // flush everything

	type want struct {
		p      *proc
		fields map[string]any
	}
	for _, w := range []want{
		{s.catalogue, map[string]any{"request_id": "e2e-log-ok", "method": "/cus.catalogue.v1.CatalogueService/GetService", "code": "OK"}},
		{s.catalogue, map[string]any{"request_id": "e2e-log-nf", "method": "/cus.catalogue.v1.CatalogueService/GetService", "code": "NotFound"}},
		{s.catalogue, map[string]any{"request_id": "e2e-log-body", "method": "/cus.catalogue.v1.CatalogueService/SearchServices", "code": "OK"}},
		{s.gateway, map[string]any{"request_id": "e2e-log-ok", "method": "GET", "path": "/v1/" + demoServiceName, "status": float64(200)}},
		{s.gateway, map[string]any{"request_id": "e2e-log-nf", "method": "GET", "status": float64(404)}},
		{s.gateway, map[string]any{"request_id": "e2e-log-query", "method": "GET", "path": "/v1/services"}},
	} {
		found := false
		for _, line := range logLines(t, w.p) {
			match := true
			for k, v := range w.fields {
				match = match && line[k] == v
			}
			found = found || match
		}
		if !found {
			t.Errorf("%s logged no line with %v", w.p.name, w.fields)
		}
	}
	for _, p := range []*proc{s.catalogue, s.gateway} {
		lines := logLines(t, p)
		if len(lines) == 0 {
			t.Errorf("%s logged nothing", p.name)
		}
		for _, l := range lines {
			for _, k := range []string{"level", "time", "msg", "service"} {
				if _, ok := l[k]; !ok {
					t.Errorf("%s log line without %q: %v", p.name, k, l)
				}
			}
			if ts, _ := l["time"].(string); ts != "" {
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
					t.Errorf("%s log time %q is not RFC 3339", p.name, ts)
				}
			}
		}
		if strings.Contains(p.stderr.String(), secret) {
			t.Errorf("%s logged a query string or body (found %q)", p.name, secret)
		}
	}
}

// TestShutdownEndsWatchStreams: stopping the catalogue ends open watches with a SHUTTING_DOWN status (so
// clients reconnect and resume) instead of holding the shutdown for its whole grace period.
func TestShutdownEndsWatchStreams(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	latest := s.latestRevision(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := s.watch(ctx, t, latest-1)
	watchChange(t, nextLine(t, lines, errc)) // the stream is up

	s.catalogue.stop(t) // asserts exit 0 within the bound
	var last string
	timeout := time.After(callTimeout)
drain:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break drain
			}
			last = l
		case <-timeout:
			t.Fatalf("the watch stream did not end within %s after the catalogue stopped", callTimeout)
		}
	}
	if !strings.Contains(last, `"error"`) || !strings.Contains(last, "SHUTTING_DOWN") {
		t.Errorf("the last line of the stream is not a SHUTTING_DOWN error: %s", last)
	}
}

// TestGatewayShutdownEndsWatchStreams: stopping the gateway with a REST watch open must still exit 0; it
// should end the stream rather than wait out its grace period and cut the connection.
func TestGatewayShutdownEndsWatchStreams(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	latest := s.latestRevision(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := s.watch(ctx, t, latest-1)
	watchChange(t, nextLine(t, lines, errc))

	s.gateway.stop(t) // asserts exit 0 within the bound
	select {
	case <-errc:
	case <-time.After(callTimeout):
		t.Fatalf("the watch stream did not end after the gateway stopped")
	}
	for _, l := range logLines(t, s.gateway) {
		if l["level"] == "warn" || l["level"] == "error" {
			t.Errorf("gateway shutdown was not clean: %v", l)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogsStayJSONWhenAWatcherLeaves: a client that disconnects from a REST watch must not make the gateway
// write anything but JSON log lines.
func TestLogsStayJSONWhenAWatcherLeaves(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	// Several watchers leave mid-stream: whether the gateway's next write fails depends on timing, so one
	// departure alone does not always show the problem.
	for i := 1; i <= 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		lines, errc := s.watch(ctx, t, 0)
		watchChange(t, nextLine(t, lines, errc))
		cancel() // the client goes away mid-stream
		eventually(t, "the gateway logging the end of the watch", func() bool {
			return strings.Count(s.gateway.stderr.String(), `"path":"/v1/changes:watch"`) >= i
		})
	}
	logLines(t, s.gateway) // fails on any line that is not a JSON object
}
