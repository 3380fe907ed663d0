package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository this module sits in.
const repoRoot = ".."

// bruFile is a .bru file read as its top-level blocks: `name {` ... `}` with the closing brace in column 0.
type bruFile struct {
	path   string
	blocks map[string]string
}

func parseBru(path string) (*bruFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := &bruFile{path: path, blocks: map[string]string{}}
	sc := bufio.NewScanner(f)
	var name string
	var body []string
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case name == "" && strings.TrimSpace(line) == "":
		case name == "" && strings.HasSuffix(line, " {") && !strings.HasPrefix(line, " "):
			name = strings.TrimSuffix(line, " {")
			if _, dup := b.blocks[name]; dup {
				return nil, fmt.Errorf("line %d: block %q twice", n, name)
			}
		case name == "":
			return nil, fmt.Errorf("line %d: %q outside any block", n, line)
		case line == "}":
			b.blocks[name] = strings.Join(body, "\n")
			name, body = "", nil
		default:
			if line != "" && !strings.HasPrefix(line, "  ") {
				return nil, fmt.Errorf("line %d: block %q: content must be indented by two spaces", n, name)
			}
			body = append(body, strings.TrimPrefix(line, "  "))
		}
	}
	if name != "" {
		return nil, fmt.Errorf("block %q is not closed", name)
	}
	return b, sc.Err()
}

// dict reads a block of `key: value` lines.
func (b *bruFile) dict(block string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(b.blocks[block], "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

var httpMethods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

// request returns the method block of a request file.
func (b *bruFile) request() (method string, fields map[string]string, err error) {
	for _, m := range httpMethods {
		if _, ok := b.blocks[m]; ok {
			if method != "" {
				return "", nil, fmt.Errorf("both %s and %s blocks", method, m)
			}
			method = m
		}
	}
	if method == "" {
		return "", nil, fmt.Errorf("no request block (%s)", strings.Join(httpMethods, ", "))
	}
	return method, b.dict(method), nil
}

// openAPIOperations reads the gateway's OpenAPI document into matchers of method and path: a path template's
// parameters take the pattern the document gives them (`{name}` is `services/[^/]+`), so a concrete path of a
// request maps to exactly the operation the gateway routes it to.
func openAPIOperations(t *testing.T) map[string][]*regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "gateway/internal/openapi/cus.swagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name    string `json:"name"`
				In      string `json:"in"`
				Pattern string `json:"pattern"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[string][]*regexp.Regexp{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, methods := range doc.Paths {
		for method, op := range methods {
			patterns := map[string]string{}
			for _, p := range op.Parameters {
				if p.In == "path" {
					patterns[p.Name] = p.Pattern
				}
			}
			var re strings.Builder
			re.WriteString("^")
			last := 0
			for _, m := range param.FindAllStringSubmatchIndex(path, -1) {
				re.WriteString(regexp.QuoteMeta(path[last:m[0]]))
				pat := patterns[path[m[2]:m[3]]]
				if pat == "" {
					pat = "[^/]+"
				}
				re.WriteString("(?:" + pat + ")")
				last = m[1]
			}
			re.WriteString(regexp.QuoteMeta(path[last:]) + "$")
			ops[strings.ToUpper(method)] = append(ops[strings.ToUpper(method)], regexp.MustCompile(re.String()))
		}
	}
	if len(ops["GET"]) == 0 {
		t.Fatal("the OpenAPI document has no GET operations")
	}
	return ops
}

var varRE = regexp.MustCompile(`\{\{([^}]+)\}\}`)

// concretePath turns a request URL into the path the gateway would see: without base URL and query, with each
// variable standing for one path segment.
func concretePath(url string) string {
	p := strings.TrimPrefix(url, "{{baseUrl}}")
	p, _, _ = strings.Cut(p, "?")
	return varRE.ReplaceAllString(p, "x")
}

func matches(ops map[string][]*regexp.Regexp, method, path string) bool {
	return slices.ContainsFunc(ops[strings.ToUpper(method)], func(re *regexp.Regexp) bool { return re.MatchString(path) })
}

type bruRequest struct {
	file   *bruFile
	name   string
	method string
	url    string
}

// readCollection parses every request of the Bruno collection, failing the test on any malformed file.
func readCollection(t *testing.T) (reqs []bruRequest, env map[string]string) {
	t.Helper()
	dir := filepath.Join(repoRoot, "integration/bruno")
	var meta struct {
		Version string `json:"version"`
		Name    string `json:"name"`
		Type    string `json:"type"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "bruno.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.Version != "1" || meta.Type != "collection" || meta.Name == "" {
		t.Fatalf("bruno.json: %+v %v: want version 1, type collection and a name", meta, err)
	}
	envFile, err := parseBru(filepath.Join(dir, "environments/local.bru"))
	if err != nil {
		t.Fatalf("environments/local.bru: %v", err)
	}
	env = envFile.dict("vars")
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".bru") || filepath.Base(filepath.Dir(path)) == "environments" {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := parseBru(path)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		m := f.dict("meta")
		if m["type"] != "http" || m["name"] == "" || m["seq"] == "" {
			t.Errorf("%s: meta %v: want a name, type http and a seq", rel, m)
		}
		if m["name"]+".bru" != filepath.Base(path) {
			t.Errorf("%s: meta name %q differs from the file name (Bruno renames one after the other)", rel, m["name"])
		}
		method, fields, err := f.request()
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		reqs = append(reqs, bruRequest{file: f, name: rel, method: method, url: fields["url"]})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reqs, env
}

// TestBrunoCollectionMatchesOpenAPI: every request of the collection is an operation of the gateway's OpenAPI
// document, is well formed (auth, body, query parameters as Bruno keeps them) and uses only variables that the
// environment or an earlier request defines.
func TestBrunoCollectionMatchesOpenAPI(t *testing.T) {
	ops := openAPIOperations(t)
	reqs, env := readCollection(t)
	if len(reqs) < 10 {
		t.Fatalf("%d requests in the collection, want the README flows (at least 10)", len(reqs))
	}
	for _, v := range []string{"baseUrl", "token"} {
		if _, ok := env[v]; !ok {
			t.Errorf("environments/local.bru defines no %q", v)
		}
	}
	// Variables a request sets for later ones: vars:post-response keys and bru.setVar calls.
	defined := map[string]bool{}
	for k := range env {
		defined[k] = true
	}
	setVar := regexp.MustCompile(`bru\.setVar\("([^"]+)"`)
	for _, r := range reqs {
		for k := range r.file.dict("vars:post-response") {
			defined[k] = true
		}
		for _, m := range setVar.FindAllStringSubmatch(r.file.blocks["script:pre-request"]+r.file.blocks["script:post-response"], -1) {
			defined[m[1]] = true
		}
	}
	for _, r := range reqs {
		t.Run(r.name, func(t *testing.T) {
			if !strings.HasPrefix(r.url, "{{baseUrl}}/") {
				t.Errorf("url %q does not start with {{baseUrl}}/", r.url)
			}
			if p := concretePath(r.url); !matches(ops, r.method, p) {
				t.Errorf("%s %s is not an operation of gateway/internal/openapi/cus.swagger.json", strings.ToUpper(r.method), p)
			}
			fields := r.file.dict(r.method)
			switch fields["auth"] {
			case "none":
			case "bearer":
				if tok := r.file.dict("auth:bearer")["token"]; !varRE.MatchString(tok) {
					t.Errorf("auth:bearer token %q: want a variable such as {{token}}, never a token in the file", tok)
				}
			default:
				t.Errorf("auth %q: want none or bearer", fields["auth"])
			}
			switch fields["body"] {
			case "none":
			case "json":
				body := varRE.ReplaceAllString(r.file.blocks["body:json"], "x")
				if !json.Valid([]byte(body)) {
					t.Errorf("body:json is not JSON:\n%s", r.file.blocks["body:json"])
				}
			default:
				t.Errorf("body %q: want none or json", fields["body"])
			}
			// Bruno keeps params:query and the URL's query in step; a mismatch means a hand edit went wrong.
			_, query, _ := strings.Cut(r.url, "?")
			var inURL []string
			if query != "" {
				inURL = strings.Split(query, "&")
			}
			var inBlock []string
			for line := range strings.SplitSeq(r.file.blocks["params:query"], "\n") {
				if k, v, ok := strings.Cut(line, ": "); ok {
					inBlock = append(inBlock, k+"="+v)
				}
			}
			if !slices.Equal(inURL, inBlock) {
				t.Errorf("url query %v differs from params:query %v", inURL, inBlock)
			}
			var all strings.Builder
			for _, body := range r.file.blocks {
				all.WriteString(body + "\n")
			}
			for _, m := range varRE.FindAllStringSubmatch(all.String(), -1) {
				if !defined[m[1]] {
					t.Errorf("variable {{%s}} is defined neither in environments/local.bru nor by a request", m[1])
				}
			}
		})
	}
}

// TestBrunoCollectionCoversTheREADME: every REST call of the README's examples has a request in the
// collection, so the collection stays "the README flows" when the README grows.
func TestBrunoCollectionCoversTheREADME(t *testing.T) {
	ops := openAPIOperations(t)
	reqs, _ := readCollection(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`'http://localhost:8080(/v1/[^'?]*)`)
	verb := regexp.MustCompile(`-X ([A-Z]+)`)
	found := 0
	for line := range strings.SplitSeq(string(readme), "\n") {
		u := url.FindStringSubmatch(line)
		if !strings.HasPrefix(line, "curl ") || u == nil {
			continue
		}
		method, path := "GET", u[1]
		if v := verb.FindStringSubmatch(line); v != nil {
			method = v[1]
		}
		var op *regexp.Regexp
		for _, re := range ops[method] {
			if re.MatchString(path) {
				op = re
			}
		}
		if op == nil {
			continue // not an operation of the OpenAPI document (another check's business)
		}
		found++
		covered := slices.ContainsFunc(reqs, func(r bruRequest) bool {
			return strings.EqualFold(r.method, method) && op.MatchString(concretePath(r.url))
		})
		if !covered {
			t.Errorf("README's %s %s has no request in integration/bruno: add one", method, path)
		}
	}
	if found < 5 {
		t.Fatalf("found %d REST calls in README.md, want the examples of its Try it section", found)
	}
}
