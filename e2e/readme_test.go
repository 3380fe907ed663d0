package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// The services the README calls, registered in protoregistry.GlobalFiles.
	_ "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	_ "github.com/cus-suite/cus/proto/cus/provider/v1"
	_ "github.com/cus-suite/cus/proto/cus/referral/v1"
	_ "google.golang.org/grpc/health/grpc_health_v1"
)

// The addresses the README's examples use, rewritten to the test suite's.
const readmeHTTP = "http://localhost:8080"

// readmeGRPC are the gRPC addresses of scripts/run.sh the README's grpcurl examples may use, and the service
// each serves.
var readmeGRPC = map[string]string{
	"localhost:7001": "cus.catalogue.v1.CatalogueService",
	"localhost:7002": "cus.provider.v1.ProviderService",
	"localhost:7003": "cus.referral.v1.ReferralService",
}

// Commands of the README's shell blocks that the test does not run, each on purpose: they build, start or
// test the suite itself.
var readmeNotRun = []string{"make run", "make test", "make test-etcd", "make generate", "make verify", "make bench", "make robustness", "make tools", "make clean", ".ci/run"}

// readmeLine is one command of a shell block.
type readmeLine struct {
	no   int
	text string
}

// readmeCommands returns the commands of the ```sh (or bash, shell) blocks of the README.
func readmeCommands(t *testing.T) []readmeLine {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []readmeLine
	inShell, inOther := false, false
	sc := bufio.NewScanner(f)
	for no := 1; sc.Scan(); no++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```") && (inShell || inOther):
			inShell, inOther = false, false
		case strings.HasPrefix(trimmed, "```"):
			switch strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) {
			case "sh", "bash", "shell":
				inShell = true
			default:
				inOther = true
			}
		case inShell && trimmed != "" && !strings.HasPrefix(trimmed, "#"):
			out = append(out, readmeLine{no: no, text: trimmed})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inShell || inOther {
		t.Fatal("README.md has an unterminated code block")
	}
	return out
}

// TestREADMEExamples runs every curl and grpcurl example of the README against a suite started from the
// built binaries; any other command must be listed in readmeNotRun, so no README change is silently skipped.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	lines := readmeCommands(t)
	var curls, grpcurls int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l.text, "curl "):
			curls++
		case strings.HasPrefix(l.text, "bin/grpcurl "):
			grpcurls++
		}
	}
	if curls == 0 || grpcurls == 0 {
		t.Fatalf("found %d curl and %d grpcurl examples in README.md; the block parser is broken", curls, grpcurls)
	}
	// The whole suite, as `make run` starts it, so the examples of every service can be run.
	s := startSuite(t, suiteOptions{full: true})
	conns := map[string]*grpc.ClientConn{}
	for readmeAddr, addr := range map[string]string{"localhost:7001": s.grpcAddr, "localhost:7002": s.providerAddr, "localhost:7003": s.referralAddr} {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns[readmeAddr] = conn
	}

	env := shellEnv{vars: map[string]string{}, subst: cusctlSubst(s)}
	for _, l := range lines {
		name := fmt.Sprintf("line%d", l.no)
		t.Run(name, func(t *testing.T) {
			t.Logf("README.md:%d: %s", l.no, l.text)
			for _, p := range readmeNotRun {
				if l.text == p || strings.HasPrefix(l.text, p+" ") {
					t.Skipf("not run on purpose (%s)", p)
				}
			}
			if bug, ok := readmeKnownBroken(l.text); ok {
				knownBug(t, bug)
			}
			if v, val, ok, err := splitAssignment(l.text, env); ok {
				if err != nil {
					t.Fatalf("README.md:%d: %v", l.no, err)
				}
				env.vars[v] = val
				return
			}
			args, err := shellWords(l.text, env)
			if err != nil {
				t.Fatalf("README.md:%d: %v", l.no, err)
			}
			switch args[0] {
			case "curl":
				c, err := parseCurl(args)
				if err != nil {
					t.Fatalf("README.md:%d: %v", l.no, err)
				}
				runCurl(t, s, c)
			case "bin/grpcurl":
				g, err := parseGrpcurl(args)
				if err != nil {
					t.Fatalf("README.md:%d: %v", l.no, err)
				}
				runGrpcurl(t, conns[g.addr], g)
			default:
				t.Fatalf("README.md:%d: command %q is neither run by this test nor listed in readmeNotRun", l.no, args[0])
			}
		})
	}
}

// readmeKnownBroken names README examples that fail because of an open bug.
func readmeKnownBroken(line string) (string, bool) {
	if strings.HasPrefix(line, "curl ") && strings.Contains(line, "/v1/changes") && !strings.Contains(line, "Authorization") {
		return "README.md \"Try it\" shows `curl -s 'http://localhost:8080/v1/changes?afterRevision=0&pageSize=3'` " +
			"among the anonymous reads (and the text after it says \"Reading is public\"), but " +
			"services/catalogue/internal/server/policy.go gives ListChanges only to the feed roles (peer, organiser, " +
			"director, admin, integration), so the example answers 401 AUTHENTICATION_REQUIRED; either the example " +
			"needs -H \"Authorization: Bearer $TOKEN\" (after the TOKEN line) or the policy/README wording must change", true
	}
	return "", false
}

// shellEnv expands what the README's commands may use: $NAME of a variable an earlier line assigned, and
// $(bin/cusctl ...) command substitutions.
type shellEnv struct {
	vars map[string]string
	// subst runs a command substitution; nil refuses them.
	subst func(cmd string) (string, error)
}

func (e shellEnv) variable(name string) (string, error) {
	v, ok := e.vars[name]
	if !ok {
		return "", fmt.Errorf("variable $%s is not set by an earlier README line", name)
	}
	return v, nil
}

// expand reads an expansion starting at line[i] == '$' and returns its value and the index of its last byte.
func (e shellEnv) expand(line string, i int) (string, int, error) {
	rest := line[i+1:]
	switch {
	case strings.HasPrefix(rest, "("):
		j := strings.IndexByte(rest, ')')
		if j < 0 || strings.ContainsAny(rest[1:j], "($`") {
			return "", 0, errors.New("unsupported command substitution")
		}
		if e.subst == nil {
			return "", 0, errors.New("command substitution is not allowed here")
		}
		v, err := e.subst(rest[1:j])
		return v, i + 1 + j, err
	case strings.HasPrefix(rest, "{"):
		j := strings.IndexByte(rest, '}')
		if j < 0 || !shellName.MatchString(rest[1:j]) {
			return "", 0, errors.New("unsupported ${...} expansion")
		}
		v, err := e.variable(rest[1:j])
		return v, i + 1 + j, err
	}
	name := shellName.FindString(rest)
	if name == "" {
		return "", 0, fmt.Errorf("unsupported expansion at %q", line[i:])
	}
	v, err := e.variable(name)
	return v, i + len(name), err
}

var (
	shellName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
	shellAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
)

// shellWords splits a command line the way sh does for the simple commands of the README: blanks separate
// words, '...' is literal, "..." allows \" \\ \$ and expansions, a backslash escapes the next character, # starts
// a comment, and $NAME / $(bin/cusctl ...) expand through env. Anything that would need a real shell (pipes,
// redirections, globs, &&, unknown expansions) is refused, so such an example cannot be run half-way by mistake.
// Expanded values are not split into words (as if always quoted).
func shellWords(line string, env shellEnv) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(line)
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				switch line[i] {
				case '\\':
					if i+1 < len(line) && strings.IndexByte(`"\$`+"`", line[i+1]) >= 0 {
						i++
					}
				case '`':
					return nil, errors.New("backquote substitution is not supported")
				case '$':
					v, last, err := env.expand(line, i)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					i = last
					continue
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, errors.New("line continuation is not supported")
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '$':
			v, last, err := env.expand(line, i)
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
			i = last
			inWord = true
		case strings.IndexByte("|&;<>()`*?[]{}~", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not supported by the README runner", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// splitAssignment recognises `NAME=value` lines (value as one shell word); ok is false for other lines.
func splitAssignment(line string, env shellEnv) (name, value string, ok bool, err error) {
	m := shellAssign.FindStringSubmatch(line)
	if m == nil {
		return "", "", false, nil
	}
	words, err := shellWords(m[2], env)
	if err != nil {
		return "", "", true, err
	}
	if len(words) != 1 {
		return "", "", true, fmt.Errorf("assignment to %s is not one word", m[1])
	}
	return m[1], words[0], true, nil
}

// cusctlSubst runs `bin/cusctl ...` (the only command substitution the README may use) with the suite's
// development key directory, which `make run` keeps under var/dev.
func cusctlSubst(s *suite) func(string) (string, error) {
	return func(cmd string) (string, error) {
		args, err := shellWords(cmd, shellEnv{})
		if err != nil {
			return "", err
		}
		if args[0] != "bin/cusctl" {
			return "", fmt.Errorf("command substitution of %q: only bin/cusctl is run", args[0])
		}
		args = args[1:]
		for _, a := range args {
			if a == "--keys-dir" || strings.HasPrefix(a, "--keys-dir=") {
				return "", errors.New("bin/cusctl --keys-dir in the README: the runner sets the suite's key directory itself")
			}
		}
		args = append(args, "--keys-dir", s.keysDir)
		out, err := exec.Command(cusctlBin, args...).Output()
		if err != nil {
			var stderr []byte
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			return "", fmt.Errorf("bin/cusctl %s: %w\n%s", strings.Join(args, " "), err, stderr)
		}
		return strings.TrimRight(string(out), "\n"), nil
	}
}

// curlCommand is a README curl invocation.
type curlCommand struct {
	method   string // from -X, or POST with -d, else GET
	url      string
	body     *string
	output   string // -o; only /dev/null is supported
	writeOut string // -w
	silent   bool
	headers  [][2]string // -H
}

// parseCurl understands exactly the flags the README uses and refuses any other.
func parseCurl(args []string) (curlCommand, error) {
	var c curlCommand
	if len(args) == 0 || args[0] != "curl" {
		return c, errors.New("not a curl command")
	}
	value := func(i int, flag string) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("curl flag %s needs a value", flag)
		}
		return args[i+1], nil
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-s", "--silent":
			c.silent = true
			continue
		case "-X", "--request", "-d", "--data", "-o", "--output", "-w", "--write-out", "-H", "--header":
			v, err := value(i, a)
			if err != nil {
				return c, err
			}
			i++
			switch a {
			case "-X", "--request":
				if c.method != "" {
					return c, errors.New("curl -X given twice")
				}
				c.method = v
			case "-d", "--data":
				if c.body != nil {
					return c, errors.New("curl -d given twice (curl would join the values with &)")
				}
				if strings.HasPrefix(v, "@") {
					return c, fmt.Errorf("curl -d %s reads a file, which the README runner does not support", v)
				}
				c.body = &v
			case "-o", "--output":
				if v != "/dev/null" {
					return c, fmt.Errorf("curl -o %s: only /dev/null is supported", v)
				}
				c.output = v
			case "-w", "--write-out":
				c.writeOut = v
			case "-H", "--header":
				k, hv, ok := strings.Cut(v, ":")
				if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t") {
					return c, fmt.Errorf("curl -H %q is not a \"Name: value\" header", v)
				}
				c.headers = append(c.headers, [2]string{k, strings.TrimSpace(hv)})
			}
			continue
		}
		if strings.HasPrefix(a, "-") {
			return c, fmt.Errorf("curl flag %s is not understood by the README runner; teach parseCurl about it", a)
		}
		if c.url != "" {
			return c, fmt.Errorf("curl has a second URL %q", a)
		}
		c.url = a
	}
	if c.url == "" {
		return c, errors.New("curl has no URL")
	}
	if !strings.HasPrefix(c.url, readmeHTTP+"/") {
		return c, fmt.Errorf("curl URL %q does not start with %s/", c.url, readmeHTTP)
	}
	if c.method == "" {
		c.method = http.MethodGet
		if c.body != nil {
			c.method = http.MethodPost
		}
	}
	return c, nil
}

// runCurl sends the request the way curl would (a -d body is form-encoded as far as the header goes) and
// asserts a 2xx answer with a JSON body unless the output is discarded.
func runCurl(t *testing.T, s *suite, c curlCommand) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var body io.Reader
	if c.body != nil {
		body = strings.NewReader(*c.body)
	}
	url := s.baseURL + strings.TrimPrefix(c.url, readmeHTTP)
	req, err := http.NewRequestWithContext(ctx, c.method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
	}
	req.Header.Set("User-Agent", "curl/8")
	req.Header.Set("Accept", "*/*")
	for _, h := range c.headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		t.Fatalf("%s %s -> %d, want 2xx: %s", c.method, c.url, resp.StatusCode, b)
	}
	if c.output == "/dev/null" {
		return
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON (%v): %s", c.method, c.url, err, b)
	}
	if _, ok := v.(map[string]any); !ok {
		t.Fatalf("%s %s: body is JSON but not an object: %s", c.method, c.url, b)
	}
}

// grpcurlCommand is a README grpcurl invocation: `bin/grpcurl -plaintext [-d JSON] ADDR (list [SERVICE] | METHOD)`.
type grpcurlCommand struct {
	data        *string
	addr        string
	list        bool
	listService string
	service     string // full name, for a method call
	method      string
}

func parseGrpcurl(args []string) (grpcurlCommand, error) {
	var g grpcurlCommand
	if len(args) == 0 || args[0] != "bin/grpcurl" {
		return g, errors.New("not a grpcurl command")
	}
	plaintext := false
	var pos []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-plaintext":
			plaintext = true
		case a == "-d":
			if i+1 >= len(args) || g.data != nil {
				return g, errors.New("grpcurl -d needs one value")
			}
			v := args[i+1]
			if v == "@" {
				return g, errors.New("grpcurl -d @ (stdin) is not supported by the README runner")
			}
			g.data = &v
			i++
		case strings.HasPrefix(a, "-"):
			return g, fmt.Errorf("grpcurl flag %s is not understood by the README runner; teach parseGrpcurl about it", a)
		default:
			pos = append(pos, a)
		}
	}
	if !plaintext {
		return g, errors.New("grpcurl without -plaintext (TLS) is not supported by the README runner")
	}
	if len(pos) < 2 {
		return g, errors.New("grpcurl needs an address and list or a method")
	}
	g.addr = pos[0]
	if _, ok := readmeGRPC[g.addr]; !ok {
		return g, fmt.Errorf("grpcurl address %q is not one of scripts/run.sh's (localhost:7001, 7002, 7003)", g.addr)
	}
	switch {
	case pos[1] == "list" && len(pos) <= 3:
		g.list = true
		if len(pos) == 3 {
			g.listService = pos[2]
		}
		if g.data != nil {
			return g, errors.New("grpcurl list takes no -d")
		}
	case len(pos) == 2 && strings.Count(pos[1], "/") == 1:
		g.service, g.method, _ = strings.Cut(pos[1], "/")
		if g.service == "" || g.method == "" {
			return g, fmt.Errorf("grpcurl method %q is not package.Service/Method", pos[1])
		}
	default:
		return g, fmt.Errorf("grpcurl verb %q is not understood by the README runner", strings.Join(pos[1:], " "))
	}
	return g, nil
}

// runGrpcurl does what grpcurl does: lists services over server reflection, or resolves a method's service
// over reflection (with every file it depends on) and invokes the method with a request built from -d.
func runGrpcurl(t *testing.T, conn *grpc.ClientConn, g grpcurlCommand) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if g.list {
		services := reflectionList(ctx, t, conn)
		for _, want := range []string{readmeGRPC[g.addr], "grpc.health.v1.Health"} {
			if !slices.Contains(services, want) {
				t.Errorf("server reflection lists %v, want %s among them", services, want)
			}
		}
		if g.listService != "" && !slices.Contains(services, g.listService) {
			t.Errorf("server reflection lists %v, want %s among them", services, g.listService)
		}
		// grpcurl describes what it lists: every service must resolve with all its files.
		for _, svc := range services {
			reflectionFiles(ctx, t, conn, svc)
		}
		return
	}

	// grpcurl knows nothing but what reflection tells it: the service must resolve and link.
	files := reflectionFiles(ctx, t, conn, g.service)
	rd, err := files.FindDescriptorByName(protoreflect.FullName(g.service))
	if err != nil {
		t.Fatalf("service %s is not in the files server reflection returned: %v", g.service, err)
	}
	if sd, ok := rd.(protoreflect.ServiceDescriptor); !ok || sd.Methods().ByName(protoreflect.Name(g.method)) == nil {
		t.Fatalf("server reflection does not describe method %s/%s", g.service, g.method)
	}

	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(g.service))
	if err != nil {
		t.Fatalf("service %s is not among the generated packages: %v", g.service, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		t.Fatalf("%s is a %T, not a service", g.service, d)
	}
	md := sd.Methods().ByName(protoreflect.Name(g.method))
	if md == nil {
		t.Fatalf("service %s has no method %s", g.service, g.method)
	}
	if md.IsStreamingClient() || md.IsStreamingServer() {
		t.Fatalf("%s/%s is a streaming method; the README runner calls unary methods only", g.service, g.method)
	}
	req := dynamicpb.NewMessage(md.Input())
	if g.data != nil {
		if err := protojson.Unmarshal([]byte(*g.data), req); err != nil {
			t.Fatalf("-d %s is not a %s: %v", *g.data, md.Input().FullName(), err)
		}
	}
	resp := dynamicpb.NewMessage(md.Output())
	if err := conn.Invoke(ctx, "/"+g.service+"/"+g.method, req, resp); err != nil {
		t.Fatalf("%s/%s: %v", g.service, g.method, err)
	}
	if md.Output().FullName() != "google.protobuf.Empty" && proto.Size(resp) == 0 {
		t.Errorf("%s/%s answered an empty %s", g.service, g.method, md.Output().FullName())
	}
	out, _ := protojson.Marshal(resp)
	if len(out) > 300 {
		out = append(out[:300:300], "..."...)
	}
	t.Logf("%s", out)
}

// reflectionList lists the services over grpc.reflection.v1.
func reflectionList(ctx context.Context, t *testing.T, conn *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("server reflection (grpc.reflection.v1): %v", err)
	}
	defer stream.CloseSend() //nolint:errcheck
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.GetErrorResponse(); e != nil {
		t.Fatalf("reflection ListServices: %d %s", e.GetErrorCode(), e.GetErrorMessage())
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

// reflectionFiles fetches the file defining symbol and, transitively, every file it imports, the way
// grpcurl does, and links them.
func reflectionFiles(ctx context.Context, t *testing.T, conn *grpc.ClientConn, symbol string) *protoregistry.Files {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("server reflection: %v", err)
	}
	defer stream.CloseSend() //nolint:errcheck
	got := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *reflectionpb.ServerReflectionRequest, what string) {
		if err := stream.Send(req); err != nil {
			t.Fatalf("reflection %s: %v", what, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reflection %s: %v", what, err)
		}
		if e := resp.GetErrorResponse(); e != nil {
			t.Fatalf("reflection %s: %d %s", what, e.GetErrorCode(), e.GetErrorMessage())
		}
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, fd); err != nil {
				t.Fatalf("reflection %s: bad file descriptor: %v", what, err)
			}
			got[fd.GetName()] = fd
		}
	}
	ask(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol},
	}, "symbol "+symbol)
	for {
		var missing []string
		for _, fd := range got {
			for _, dep := range fd.GetDependency() {
				if _, ok := got[dep]; !ok && !slices.Contains(missing, dep) {
					missing = append(missing, dep)
				}
			}
		}
		if len(missing) == 0 {
			break
		}
		for _, name := range missing {
			ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: name},
			}, "file "+name)
			if _, ok := got[name]; !ok {
				t.Fatalf("reflection did not return file %s", name)
			}
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range got {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("the files server reflection returned for %s do not link: %v", symbol, err)
	}
	return files
}

// TestREADMERunnerRefusesWhatItDoesNotUnderstand keeps the runner honest: an example it cannot run exactly
// must fail the README test rather than be skipped or run half-way.
func TestREADMERunnerRefusesWhatItDoesNotUnderstand(t *testing.T) {
	t.Parallel()
	bad := []string{
		`curl -s -i 'http://localhost:8080/v1/areas'`,
		`curl -s --compressed 'http://localhost:8080/v1/areas'`,
		`curl -sS 'http://localhost:8080/v1/areas'`,
		`curl -s 'http://localhost:8080/v1/areas' | jq .`,
		`curl -s -o out.json 'http://localhost:8080/v1/areas'`,
		`curl -s 'http://example.com/v1/areas'`,
		`curl -s -d @body.json 'http://localhost:8080/v1/services'`,
		`curl -s "http://localhost:8080/v1/services?pageSize=$N"`,
		`curl -s 'http://localhost:8080/v1/areas' 'http://localhost:8080/v1/targetGroups'`,
		`curl -s -X`,
		`curl -s 'http://localhost:8080/v1/areas`,
		`bin/grpcurl localhost:7001 list`,
		`bin/grpcurl -plaintext -max-time 3 localhost:7001 list`,
		`bin/grpcurl -plaintext localhost:7001 describe cus.catalogue.v1.CatalogueService`,
		`bin/grpcurl -plaintext localhost:9999 list`,
		`bin/grpcurl -plaintext -d @ localhost:7001 grpc.health.v1.Health/Check`,
		`make tools && bin/grpcurl -plaintext localhost:7001 list`,
	}
	env := shellEnv{vars: map[string]string{"TOKEN": "t0k"}, subst: func(cmd string) (string, error) {
		if !strings.HasPrefix(cmd, "bin/cusctl ") {
			return "", errors.New("refused")
		}
		return "minted", nil
	}}
	bad = append(bad,
		`curl -s -H "Authorization: Bearer $UNSET" 'http://localhost:8080/v1/areas'`,
		`curl -s -H "Authorization: Bearer $(rm -rf /tmp/x)" 'http://localhost:8080/v1/areas'`,
		`curl -s -H 'NoColon' 'http://localhost:8080/v1/areas'`,
		`TOKEN=$(bin/cusctl token --role organiser) && echo $TOKEN`,
	)
	for _, line := range bad {
		var words []string
		_, _, isAssign, err := splitAssignment(line, env)
		if !isAssign {
			words, err = shellWords(line, env)
		}
		if err == nil && !isAssign {
			switch words[0] {
			case "curl":
				_, err = parseCurl(words)
			case "bin/grpcurl":
				_, err = parseGrpcurl(words)
			default:
				err = errors.New("unknown command")
			}
		}
		if err == nil {
			t.Errorf("runner accepted %s", line)
		}
	}

	c, err := parseCurl(must(shellWords(`curl -s -o /dev/null -w '%{http_code}\n' -X PATCH 'http://localhost:8080/v1/x?a=b' -d '{"a":"it''s"}'`, env)))
	if err != nil {
		t.Fatal(err)
	}
	if c.method != "PATCH" || c.url != "http://localhost:8080/v1/x?a=b" || c.body == nil || *c.body != `{"a":"its"}` ||
		c.output != "/dev/null" || c.writeOut != `%{http_code}\n` || !c.silent {
		t.Errorf("parsed %+v", c)
	}
	c, err = parseCurl(must(shellWords(`curl -s -d '{}' -H "Authorization: Bearer $TOKEN" -H "X-Request-Id: ${TOKEN}-2" 'http://localhost:8080/v1/services:search'`, env)))
	if err != nil || c.method != http.MethodPost {
		t.Errorf("curl -d without -X must POST: %+v %v", c, err)
	}
	if len(c.headers) != 2 || c.headers[0] != [2]string{"Authorization", "Bearer t0k"} || c.headers[1] != [2]string{"X-Request-Id", "t0k-2"} {
		t.Errorf("headers %q", c.headers)
	}
	if name, val, ok, err := splitAssignment(`TOKEN=$(bin/cusctl token --role organiser)`, env); !ok || err != nil || name != "TOKEN" || val != "minted" {
		t.Errorf("assignment: %q %q %v %v", name, val, ok, err)
	}
	g, err := parseGrpcurl(must(shellWords(`bin/grpcurl -plaintext -d '{"name":"services/x"}' localhost:7001 cus.catalogue.v1.CatalogueService/GetService`, env)))
	if err != nil || g.service != "cus.catalogue.v1.CatalogueService" || g.method != "GetService" || g.data == nil || *g.data != `{"name":"services/x"}` {
		t.Errorf("parsed %+v %v", g, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
