// Package docs renders the API reference page served at /docs from the OpenAPI 3.1 document, once at start-up:
// operations grouped by resource (with the Polish name of each: usługa, skierowanie, umowa), who may call each
// (the bearer security scheme and its roles), parameters, bodies, errors and every schema. It needs no
// JavaScript and no files from the network, so it works on an offline gmina server and prints well.
package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
)

// Options of the page.
type Options struct {
	Title        string
	PublicURL    string
	InstanceName string
}

type document struct {
	Info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		NamePL      string `json:"x-name-pl"`
	} `json:"tags"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]schema `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type         string `json:"type"`
			Scheme       string `json:"scheme"`
			BearerFormat string `json:"bearerFormat"`
			Description  string `json:"description"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type operation struct {
	Tags        []string              `json:"tags"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	OperationID string                `json:"operationId"`
	Security    []map[string][]string `json:"security"`
	Parameters  []struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Description string `json:"description"`
		Required    bool   `json:"required"`
		Schema      schema `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
	Roles []string `json:"x-cus-roles"`
	GRPC  string   `json:"x-cus-grpc-method"`
}

type schema struct {
	Ref         string            `json:"$ref"`
	Type        any               `json:"type"` // a string, or a list of types in OpenAPI 3.1
	Format      string            `json:"format"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Properties  map[string]schema `json:"properties"`
	Items       *schema           `json:"items"`
	AnyOf       []schema          `json:"anyOf"`
	OneOf       []schema          `json:"oneOf"`
	Enum        []any             `json:"enum"`
	Required    []string          `json:"required"`
	ReadOnly    bool              `json:"readOnly"`
}

type tagView struct {
	Name, NamePL, Description, Anchor string
	Ops                               []opView
}

type opView struct {
	Method, Path, Anchor, Summary, Description, ID, GRPC string
	Public                                               bool
	Roles                                                []string
	Params                                               []paramView
	Body, Response, ResponseMedia                        string
	BodyLink, ResponseLink                               bool // the type is a schema of the document
	Errors                                               []string
	Curl                                                 string
}

type paramView struct {
	Name, In, Type, Description string
	Required                    bool
}

type fieldView struct {
	Name, Type, Description string
	Required, ReadOnly      bool
}

type schemaView struct {
	Name, Description string
	Enum              []string
	Fields            []fieldView
}

type securityView struct{ Name, Scheme, Format, Description string }

// Render returns the HTML page for an OpenAPI 3.1 document.
func Render(doc []byte, opts Options) ([]byte, error) {
	var d document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	base := strings.TrimSuffix(opts.PublicURL, "/")
	byTag := map[string][]opView{}
	for path, methods := range d.Paths {
		for method, raw := range methods {
			if !isMethod(method) {
				continue // path-level parameters, summary, ...
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			v := opView{
				Method: strings.ToUpper(method), Path: path, Anchor: op.OperationID, ID: op.OperationID,
				Summary: op.Summary, Description: op.Description, GRPC: op.GRPC,
				Public: len(op.Security) == 0, Roles: op.Roles,
			}
			for _, p := range op.Parameters {
				v.Params = append(v.Params, paramView{Name: p.Name, In: p.In, Type: typeName(p.Schema), Description: p.Description, Required: p.Required})
			}
			if op.RequestBody != nil {
				for _, c := range op.RequestBody.Content {
					v.Body, v.BodyLink = typeName(c.Schema), c.Schema.Ref != ""
				}
			}
			var codes []string
			for code, r := range op.Responses {
				if code == "200" {
					for media, c := range r.Content {
						v.Response, v.ResponseMedia, v.ResponseLink = typeName(c.Schema), media, c.Schema.Ref != ""
					}
					continue
				}
				codes = append(codes, code)
			}
			sort.Strings(codes)
			v.Errors = codes
			v.Curl = curlExample(base, v.Method, path, v.Body != "", !v.Public)
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], v)
		}
	}
	var groups []tagView
	add := func(name, pl, desc string) {
		ops := byTag[name]
		if len(ops) == 0 {
			return
		}
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		groups = append(groups, tagView{Name: name, NamePL: pl, Description: desc, Anchor: "tag-" + anchor(name), Ops: ops})
		delete(byTag, name)
	}
	for _, t := range d.Tags {
		add(t.Name, t.NamePL, t.Description)
	}
	var rest []string
	for name := range byTag {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		add(name, "", "")
	}

	var schemas []schemaView
	for name, s := range d.Components.Schemas {
		sv := schemaView{Name: name, Description: firstNonEmpty(s.Description, s.Title)}
		for _, e := range s.Enum {
			sv.Enum = append(sv.Enum, fmt.Sprint(e))
		}
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
	var security []securityView
	for name, s := range d.Components.SecuritySchemes {
		security = append(security, securityView{Name: name, Scheme: s.Type + " " + s.Scheme, Format: s.BearerFormat, Description: s.Description})
	}
	sort.Slice(security, func(i, j int) bool { return security[i].Name < security[j].Name })

	var buf bytes.Buffer
	err := page.Execute(&buf, map[string]any{
		"Title": opts.Title, "Instance": opts.InstanceName, "Base": base,
		"Info": d.Info, "Groups": groups, "Schemas": schemas, "Security": security,
	})
	return buf.Bytes(), err
}

func isMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

func curlExample(base, method, path string, body, token bool) string {
	var b strings.Builder
	b.WriteString("curl -s")
	if method != "GET" {
		b.WriteString(" -X " + method)
	}
	if token {
		b.WriteString(` -H "Authorization: Bearer $TOKEN"`)
	}
	if body {
		b.WriteString(" -H 'Content-Type: application/json' -d '{…}'")
	}
	b.WriteString(" '" + base + path + "'")
	return b.String()
}

func typeName(s schema) string {
	switch {
	case s.Ref != "":
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	case s.Items != nil:
		return "array of " + typeName(*s.Items)
	case len(s.AnyOf) > 0 || len(s.OneOf) > 0:
		var names []string
		for _, a := range append(append([]schema(nil), s.AnyOf...), s.OneOf...) {
			names = append(names, typeName(a))
		}
		return "one of " + strings.Join(names, ", ")
	}
	if len(s.Properties) > 0 && s.Type == "object" && s.Title != "" {
		// An inline object (a stream's line, a custom method's body): name its fields.
		var fields []string
		for name, f := range s.Properties {
			fields = append(fields, name+": "+typeName(f))
		}
		sort.Strings(fields)
		return "{" + strings.Join(fields, ", ") + "}"
	}
	t := fmt.Sprint(s.Type)
	if s.Type == nil {
		t = "object"
	}
	if s.Format != "" {
		return t + " (" + s.Format + ")"
	}
	return t
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
nav .grp{margin-top:.6rem;font-weight:700}
main{padding:1.5rem 2rem;max-width:62rem}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#0f1720;color:#e6edf3;padding:.7rem;border-radius:6px;overflow:auto;white-space:pre-wrap}
.op{border:1px solid #d6dde4;border-radius:8px;padding:1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.2rem;font-weight:700;border-radius:4px;padding:.1rem .4rem;color:#fff;text-align:center}
.GET{background:#2f7d32}.POST{background:#1565c0}.PATCH{background:#8e5a00}.DELETE{background:#b3261e}
.auth{display:inline-block;font-size:.8rem;border-radius:4px;padding:.05rem .4rem;margin-left:.4rem;border:1px solid #8a96a3}
.pub{border-color:#2f7d32;color:#1e5b21}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #e3e8ed;padding:.3rem;text-align:left;vertical-align:top}
.desc{white-space:pre-wrap}.tag{font-size:.75rem;color:#555}.pl{color:#555;font-weight:400}
</style></head><body>
<nav aria-label="API reference"><strong>{{.Title}}</strong>{{if .Instance}}<div class="tag">{{.Instance}}</div>{{end}}
<p><a href="#conventions">Conventions</a><a href="#authentication">Authentication</a><a href="#errors">Errors</a><a href="/openapi.json">openapi.json (3.1)</a><a href="/openapi-v2.json">openapi-v2.json (Swagger 2.0)</a><a href="/hsds/">HSDS 3.0 API</a></p>
<strong>Resources</strong>{{range .Groups}}<a class="grp" href="#{{.Anchor}}">{{.Name}}{{if .NamePL}} <span class="pl" lang="pl">· {{.NamePL}}</span>{{end}}</a>{{range .Ops}}<a href="#{{.Anchor}}"><span class="tag">{{.Method}}</span> {{.Path}}</a>{{end}}{{end}}
<strong>Schemas</strong>{{range .Schemas}}<a href="#schema-{{.Name}}">{{.Name}}</a>{{end}}
</nav><main>
<h1>{{.Info.Title}} <small class="tag">{{.Info.Version}}</small></h1>
<p class="desc">{{.Info.Description}}</p>
<h2 id="conventions">Conventions</h2>
<ul>
<li>JSON field names are lowerCamelCase (as in <a href="/openapi.json">openapi.json</a>); requests may also use the proto names (snake_case).</li>
<li>Path parameters hold one id each: <code>/v1/services/{service}</code> is the service named <code>services/{service}</code>, <code>/v1/providers/{provider}/agreements/{agreement}</code> an agreement (umowa) of a provider. Create with an optional client-chosen id (<code>?serviceId=</code>) and an idempotency key (<code>?requestId=</code>).</li>
<li>Updates are <code>PATCH</code> with <code>?updateMask=</code> (proto field names, comma-separated); send the <code>etag</code> you read, a stale one gets <code>409</code> with reason <code>STALE_ETAG</code>.</li>
<li>Lists take <code>pageSize</code> and <code>pageToken</code> and return <code>nextPageToken</code>.</li>
<li>Streams (<code>/v1/changes:watch</code>, <code>/v1/referrals:watch</code>) are newline-delimited JSON (<code>application/x-ndjson</code>), one <code>{"result": …}</code> per line; an error after the first line ends the stream with <code>{"error": Status}</code>.</li>
</ul>
<pre>curl -s '{{.Base}}/v1/services?pageSize=5'
curl -s -X POST '{{.Base}}/v1/services:search' -d '{"query":"zlobek"}'</pre>
<h2 id="authentication">Authentication</h2>
<p>Reading the catalogue and the provider registry is public (marked <span class="auth pub">public</span>). Everything else needs a token of one of the roles listed on the operation (marked <span class="auth">bearer</span>).</p>
{{range .Security}}<table><tr><th>Security scheme</th><th>Type</th><th>Format</th><th>Description</th></tr>
<tr><td><code>{{.Name}}</code></td><td>{{.Scheme}}</td><td>{{.Format}}</td><td class="desc">{{.Description}}</td></tr></table>{{end}}
<h2 id="errors">Errors</h2>
<p>Every error is a <code>google.rpc.Status</code> (<a href="#schema-rpcStatus">rpcStatus</a>): <code>code</code>, <code>message</code> and <code>details</code> with an
<code>ErrorInfo</code> (<code>domain</code> "cus.gov.pl", a stable <code>reason</code>) and, for invalid input, a
<code>BadRequest</code> listing each bad field. HTTP codes: 400 invalid argument or failed precondition, 401, 403,
404 (reason <code>ROUTE_NOT_FOUND</code> for an unknown route, <code>SERVICE_NOT_FOUND</code> etc. for a missing
resource), 409 already exists or stale etag, 413 body too large, 429, 500, 503, 504. Each operation lists the codes it can answer.</p>
{{range .Groups}}<section id="{{.Anchor}}" aria-labelledby="{{.Anchor}}-h"><h2 id="{{.Anchor}}-h">{{.Name}}{{if .NamePL}} <span class="pl" lang="pl">({{.NamePL}})</span>{{end}}</h2>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{range .Ops}}<div class="op" id="{{.Anchor}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>{{if .Public}} <span class="auth pub">public</span>{{else}} <span class="auth">bearer: {{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{end}}</span>{{end}}
<p><strong>{{.Summary}}</strong></p>
<p class="desc">{{.Description}}</p>
<p class="tag">operationId <code>{{.ID}}</code>{{if .GRPC}} · gRPC <code>{{.GRPC}}</code>{{end}}</p>
{{if .Params}}<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} <b>required</b>{{end}}</td><td>{{.In}}</td><td>{{.Type}}</td><td class="desc">{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: {{if .BodyLink}}<a href="#schema-{{.Body}}">{{.Body}}</a>{{else}}<code>{{.Body}}</code>{{end}}</p>{{end}}
{{if .Response}}<p>Response{{if ne .ResponseMedia "application/json"}} (<code>{{.ResponseMedia}}</code>, one per line){{end}}: {{if .ResponseLink}}<a href="#schema-{{.Response}}">{{.Response}}</a>{{else}}<code>{{.Response}}</code>{{end}}</p>{{end}}
<p>Errors: {{range .Errors}}<code>{{.}}</code> {{end}}(<a href="#schema-rpcStatus">rpcStatus</a>)</p>
<pre>{{.Curl}}</pre></div>{{end}}</section>{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><h3>{{.Name}}</h3><p class="desc">{{.Description}}</p>
{{if .Enum}}<p>Values: {{range .Enum}}<code>{{.}}</code> {{end}}</p>{{end}}
{{if .Fields}}<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} <b>required</b>{{end}}{{if .ReadOnly}} <i>output only</i>{{end}}</td><td>{{.Type}}</td><td class="desc">{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}
</main></body></html>
`))
