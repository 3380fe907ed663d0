package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The integration kit's client examples (integration/examples) and Bruno collection (integration/bruno), run
// against the whole suite as an integrator runs them. An interpreter that is not installed skips its example,
// unless CUS_E2E_EXAMPLES=1 (make examples, as CI runs it) makes that a failure. The C# example is not run:
// Debian has no .NET SDK package.

func TestIntegrationExamples(t *testing.T) {
	required := os.Getenv("CUS_E2E_EXAMPLES") != ""
	s := startSuite(t, suiteOptions{full: true})
	token := s.token(t, roleEditor)

	// A webhook delivery signed here, by the Standard Webhooks rules, for each example to verify: the examples'
	// verifiers are checked against an implementation other than their own.
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	id, ts, body := "msg_e2e_examples", strconv.FormatInt(time.Now().Unix(), 10), `{"type":"service.updated","data":{"name":"services/x"}}`
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	webhookEnv := []string{
		"CUS_WEBHOOK_SECRET=whsec_" + base64.StdEncoding.EncodeToString(key),
		"CUS_WEBHOOK_ID=" + id, "CUS_WEBHOOK_TIMESTAMP=" + ts, "CUS_WEBHOOK_BODY=" + body,
		// A rotated-out signature first: a verifier must try every v1 signature of the header.
		"CUS_WEBHOOK_SIGNATURE=v1,Zm9yZ2Vk v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}

	created := regexp.MustCompile(`(?m)^ok +create (services/[0-9a-f-]{36}), and a retry creates nothing$`)
	for _, ex := range []struct{ name, interpreter, script string }{
		{"python", "python3", "integration/examples/python/cus_example.py"},
		{"php", "php", "integration/examples/php/cus_example.php"},
	} {
		t.Run(ex.name, func(t *testing.T) {
			interpreter, err := exec.LookPath(ex.interpreter)
			if err != nil {
				if required {
					t.Fatalf("%s is not installed (CUS_E2E_EXAMPLES=1 requires it)", ex.interpreter)
				}
				t.Skipf("%s is not installed", ex.interpreter)
			}
			out := runExample(t, interpreter, []string{filepath.Join(repoRoot, ex.script)},
				append([]string{"CUS_BASE_URL=" + s.baseURL, "CUS_TOKEN=" + token}, webhookEnv...))
			m := created.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the example reports no created service:\n%s", out)
			}
			// What the example says it created is there.
			got := s.get(t, "/v1/"+m[1]).wantOK(t)
			if str(t, got, "displayName") != "Kawiarenka Obywatelska" {
				t.Errorf("%s has display name %q", m[1], str(t, got, "displayName"))
			}
			for _, want := range []string{"ok    invalid input: 400 INVALID_FIELDS", "ok    no token: 401", "ok    webhook signature verifies"} {
				if !strings.Contains(out, want) {
					t.Errorf("the example's output lacks %q:\n%s", want, out)
				}
			}
		})
	}

	t.Run("bruno", func(t *testing.T) {
		bru, err := exec.LookPath("bru")
		if err != nil {
			if required {
				t.Fatal("the Bruno CLI (npm @usebruno/cli) is not installed (CUS_E2E_EXAMPLES=1 requires it)")
			}
			t.Skip("the Bruno CLI (npm @usebruno/cli) is not installed")
		}
		out, err := runCmd(filepath.Join(repoRoot, "integration/bruno"), nil, bru, "run", "--env", "local",
			"--env-var", "baseUrl="+s.baseURL, "--env-var", "token="+token, "--env-var", "coordinatorToken="+s.token(t, roleReader))
		if err != nil {
			t.Fatalf("bru run: %v\n%s", err, out)
		}
	})
}

func runExample(t *testing.T, interpreter string, args, env []string) string {
	t.Helper()
	out, err := runCmd("", processEnv(env...), interpreter, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(interpreter), strings.Join(args, " "), err, out)
	}
	return out
}

// runCmd runs a command in dir (env nil: the test's environment) to its end, bounded so that a hung
// interpreter fails the test instead of the whole run.
func runCmd(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
