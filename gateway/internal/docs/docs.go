// Package docs renders the API reference page served at /docs from the OpenAPI document, once at start-up.
// It needs no JavaScript and no files from the network, so it works on an offline gmina server and prints well.
package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strings"
)

// Options of the page.
type Options struct {
	Title        string
	PublicURL    string
	InstanceName string
}

type swagger struct {
	Info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Paths       map[string]map[string]operation `json:"paths"`
	Definitions map[string]schema               `json:"definitions"`
}

type operation struct {
	Summary     string      `json:"summary"`
	OperationID string      `json:"operationId"`
	Parameters  []parameter `json:"parameters"`
	Tags        []string    `json:"tags"`
	Responses   map[string]struct {
		Schema schema `json:"schema"`
	} `json:"responses"`
}

type parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	Type        string `json:"type"`
	Format      string `json:"format"`
	Pattern     string `json:"pattern"`
	Schema      schema `json:"schema"`
	Items       schema `json:"items"`
}

type schema struct {
	Ref         string            `json:"$ref"`
	Type        string            `json:"type"`
	Format      string            `json:"format"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Properties  map[string]schema `json:"properties"`
	Items       *schema           `json:"items"`
	Enum        []string          `json:"enum"`
	Required    []string          `json:"required"`
	ReadOnly    bool              `json:"readOnly"`
}

type opView struct {
	Method, Path, Anchor, Summary, ID string
	Params                            []paramView
	Body, Response                    string
	Curl                              string
}

type paramView struct{ Name, In, Type, Description string }

type fieldView struct {
	Name, Type, Description string
	Required, ReadOnly      bool
}

type schemaView struct {
	Name, Description string
	Enum              []string
	Fields            []fieldView
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// Render returns the HTML page for an OpenAPI 2 document.
func Render(doc []byte, opts Options) ([]byte, error) {
	var sw swagger
	if err := json.Unmarshal(doc, &sw); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	base := strings.TrimSuffix(opts.PublicURL, "/")
	var ops []opView
	for path, methods := range sw.Paths {
		for method, op := range methods {
			v := opView{Method: strings.ToUpper(method), Summary: op.Summary, ID: op.OperationID}
			// Show resource-name parameters with their pattern, as AIP writes them: {name=services/*}.
			shown := path
			for _, p := range op.Parameters {
				if p.In == "path" && p.Pattern != "" {
					pat := strings.ReplaceAll(p.Pattern, "[^/]+", "*")
					shown = strings.ReplaceAll(shown, "{"+p.Name+"}", "{"+p.Name+"="+pat+"}")
				}
				switch p.In {
				case "body":
					v.Body = refName(p.Schema)
				default:
					t := p.Type
					if t == "array" {
						t = "array of " + p.Items.Type
					}
					v.Params = append(v.Params, paramView{Name: p.Name, In: p.In, Type: t, Description: p.Description})
				}
			}
			v.Path = shown
			v.Anchor = op.OperationID
			if r, ok := op.Responses["200"]; ok {
				v.Response = refName(r.Schema)
			}
			v.Curl = curlExample(base, v.Method, pathParam.ReplaceAllStringFunc(shown, func(s string) string {
				inner := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
				if _, pat, ok := strings.Cut(inner, "="); ok {
					return strings.ReplaceAll(pat, "*", "…")
				}
				return "…"
			}), v.Body != "")
			ops = append(ops, v)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	var schemas []schemaView
	for name, s := range sw.Definitions {
		sv := schemaView{Name: name, Description: firstNonEmpty(s.Description, s.Title), Enum: s.Enum}
		for fname, f := range s.Properties {
			sv.Fields = append(sv.Fields, fieldView{
				Name: fname, Type: typeName(f), Description: firstNonEmpty(f.Description, f.Title),
				Required: contains(s.Required, fname), ReadOnly: f.ReadOnly,
			})
		}
		sort.Slice(sv.Fields, func(i, j int) bool { return sv.Fields[i].Name < sv.Fields[j].Name })
		schemas = append(schemas, sv)
	}
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].Name < schemas[j].Name })
	var buf bytes.Buffer
	err := page.Execute(&buf, map[string]any{
		"Title": opts.Title, "Instance": opts.InstanceName, "Base": base,
		"Info": sw.Info, "Ops": ops, "Schemas": schemas,
	})
	return buf.Bytes(), err
}

func curlExample(base, method, path string, body bool) string {
	var b strings.Builder
	b.WriteString("curl -s")
	if method != "GET" {
		b.WriteString(" -X " + method)
	}
	if body {
		b.WriteString(" -H 'Content-Type: application/json' -d '{…}'")
	}
	b.WriteString(" '" + base + path + "'")
	return b.String()
}

func refName(s schema) string {
	if s.Ref != "" {
		return strings.TrimPrefix(s.Ref, "#/definitions/")
	}
	if s.Type != "" {
		return s.Type
	}
	return ""
}

func typeName(s schema) string {
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/definitions/")
	case s.Type == "array" && s.Items != nil:
		return "array of " + typeName(*s.Items)
	case s.Format != "":
		return s.Type + " (" + s.Format + ")"
	}
	return s.Type
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var page = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;display:flex;color:#1d2733}
nav{width:19rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f8;padding:1rem;box-sizing:border-box;font-size:.85rem}
nav a{display:block;color:#234;text-decoration:none;padding:.1rem 0}
main{padding:1.5rem 2rem;max-width:62rem}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#0f1720;color:#e6edf3;padding:.7rem;border-radius:6px;overflow:auto;white-space:pre-wrap}
.op{border:1px solid #d6dde4;border-radius:8px;padding:1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.2rem;font-weight:700;border-radius:4px;padding:.1rem .4rem;color:#fff;text-align:center}
.GET{background:#2f7d32}.POST{background:#1565c0}.PATCH{background:#8e5a00}.DELETE{background:#b3261e}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #e3e8ed;padding:.3rem;text-align:left;vertical-align:top}
.desc{white-space:pre-wrap}.tag{font-size:.75rem;color:#555}
</style></head><body>
<nav><strong>{{.Title}}</strong>{{if .Instance}}<div class="tag">{{.Instance}}</div>{{end}}
<p><a href="#conventions">Conventions</a><a href="#errors">Errors</a><a href="/openapi.json">openapi.json</a><a href="/hsds/">HSDS 3.0 API</a></p>
<strong>Operations</strong>{{range .Ops}}<a href="#{{.Anchor}}"><span class="tag">{{.Method}}</span> {{.Path}}</a>{{end}}
<strong>Schemas</strong>{{range .Schemas}}<a href="#schema-{{.Name}}">{{.Name}}</a>{{end}}
</nav><main>
<h1>{{.Info.Title}} <small class="tag">{{.Info.Version}}</small></h1>
<p class="desc">{{.Info.Description}}</p>
<h2 id="conventions">Conventions</h2>
<ul>
<li>JSON field names are lowerCamelCase (as in <a href="/openapi.json">openapi.json</a>); requests may also use the proto names (snake_case).</li>
<li>Resource names: <code>services/{uuid}</code>, <code>programmes/{uuid}</code>. Create with an optional client-chosen id (<code>?serviceId=</code>) and an idempotency key (<code>?requestId=</code>).</li>
<li>Updates are <code>PATCH</code> with <code>?updateMask=</code> (proto field names, comma-separated); send the <code>etag</code> you read, a stale one gets <code>409</code> with reason <code>STALE_ETAG</code>.</li>
<li>Lists take <code>pageSize</code> and <code>pageToken</code> and return <code>nextPageToken</code>.</li>
<li>Streams (<code>/v1/changes:watch</code>) are newline-delimited JSON, one <code>{"result": …}</code> per line.</li>
</ul>
<pre>curl -s '{{.Base}}/v1/services?pageSize=5'
curl -s -X POST '{{.Base}}/v1/services:search' -d '{"query":"zlobek"}'</pre>
<h2 id="errors">Errors</h2>
<p>Every error is a <code>google.rpc.Status</code>: <code>code</code>, <code>message</code> and <code>details</code> with an
<code>ErrorInfo</code> (<code>domain</code> "cus.gov.pl", a stable <code>reason</code>) and, for invalid input, a
<code>BadRequest</code> listing each bad field. HTTP codes: 400 invalid argument or failed precondition, 401, 403,
404 (reason <code>ROUTE_NOT_FOUND</code> for an unknown route, <code>SERVICE_NOT_FOUND</code> etc. for a missing
resource), 409 already exists or stale etag, 413 body too large, 429, 503, 504.</p>
<h2>Operations</h2>
{{range .Ops}}<div class="op" id="{{.Anchor}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>
<p class="desc">{{.Summary}}</p>
{{if .Params}}<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td class="desc">{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: <a href="#schema-{{.Body}}">{{.Body}}</a></p>{{end}}
{{if .Response}}<p>Response: <a href="#schema-{{.Response}}">{{.Response}}</a></p>{{end}}
<pre>{{.Curl}}</pre></div>{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><h3>{{.Name}}</h3><p class="desc">{{.Description}}</p>
{{if .Enum}}<p>Values: {{range .Enum}}<code>{{.}}</code> {{end}}</p>{{end}}
{{if .Fields}}<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} <b>required</b>{{end}}{{if .ReadOnly}} <i>output only</i>{{end}}</td><td>{{.Type}}</td><td class="desc">{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}
</main></body></html>
`))
