package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTypeScriptClient runs e2e/ts-client: a TypeScript client generated from /openapi.json (openapi-typescript,
// openapi-fetch) walks the README's flows against the full suite, as an organiser and a coordinator. It needs
// node and the compiled walk, so it runs only with CUS_TS_CLIENT=1, which `make ts-client` sets after
// checking schema.d.ts is up to date and compiling (CI runs it; `make test` does not need node).
func TestTypeScriptClient(t *testing.T) {
	if os.Getenv("CUS_TS_CLIENT") == "" {
		t.Skip("set CUS_TS_CLIENT=1 (make ts-client) to run the generated TypeScript client; it needs node")
	}
	walk := filepath.Join(repoRoot, "e2e", "ts-client", "dist", "walk.js")
	if _, err := os.Stat(walk); err != nil {
		t.Fatalf("%v: run make ts-client, which compiles the walk", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	s := startSuite(t, suiteOptions{full: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, walk)
	cmd.Dir = filepath.Dir(walk)
	cmd.Env = append(os.Environ(),
		"CUS_BASE_URL="+s.baseURL,
		"CUS_ORGANISER_TOKEN="+s.token(t, "organiser"),
		"CUS_COORDINATOR_TOKEN="+s.token(t, "coordinator"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", walk, out)
	if err != nil {
		t.Fatalf("the TypeScript client failed: %v", err)
	}
	// The walk ends with its tally; a run that checked nothing must not pass.
	m := regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`).FindStringSubmatch(string(out))
	if m == nil || m[2] != "0" || m[1] == "0" {
		t.Fatalf("no clean tally in the output (%q)", m)
	}
	if strings.Contains(string(out), "not ok") {
		t.Error("a step failed")
	}
}
