// Package convert turns the Swagger 2.0 document protoc-gen-openapiv2 writes (cus.swagger.json) into the
// OpenAPI 3.1 document the gateway serves at /openapi.json (cus.openapi.json). It adds what the 2.0 generator
// cannot know: who may call each operation (docs/authorization.md, as a bearer security scheme), path
// parameters named after the resource ({service}, {referral}) instead of {name_3}, operations grouped by
// resource tags with their Polish names, every error response as a google.rpc.Status, server streams as
// newline-delimited JSON, and examples. It handles any RPC generically: a new one only needs its row in
// docs/authorization.md, which its service's tests already require.
//
// The output is deterministic (maps are written with sorted keys), so `make verify` can regenerate and diff it.
package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const (
	schemaPrefix2 = "#/definitions/"
	schemaPrefix3 = "#/components/schemas/"
	statusSchema  = "rpcStatus" // google.rpc.Status, as protoc-gen-openapiv2 names it
	bearer        = "bearer"
	// The media type of a server stream over grpc-gateway: one JSON object per line.
	ndjson = "application/x-ndjson"
)

type document struct {
	OpenAPI    string                           `json:"openapi"`
	Info       map[string]any                   `json:"info"`
	Servers    []map[string]string              `json:"servers"`
	Tags       []map[string]string              `json:"tags"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components components                       `json:"components"`
}

type components struct {
	Schemas         map[string]any `json:"schemas"`
	Responses       map[string]any `json:"responses"`
	SecuritySchemes map[string]any `json:"securitySchemes"`
}

type operation struct {
	Tags        []string              `json:"tags"`
	Summary     string                `json:"summary,omitempty"`
	Description string                `json:"description,omitempty"`
	OperationID string                `json:"operationId"`
	Security    []map[string][]string `json:"security"`
	Parameters  []map[string]any      `json:"parameters,omitempty"`
	RequestBody map[string]any        `json:"requestBody,omitempty"`
	Responses   map[string]any        `json:"responses"`
	// Roles allowed to call (docs/authorization.md), for readers and tools; "anonymous" marks a public read.
	Roles []string `json:"x-cus-roles"`
	// The gRPC method behind the route, for integrators who use the typed gRPC clients instead.
	GRPC string `json:"x-cus-grpc-method,omitempty"`
}

type swagger struct {
	Info        map[string]any                       `json:"info"`
	Paths       map[string]map[string]map[string]any `json:"paths"`
	Definitions map[string]any                       `json:"definitions"`
	Tags        []struct{ Name, Description string } `json:"tags"`
}

// errorResponses are the shared error responses: HTTP status, component name, and when it happens.
var errorResponses = []struct{ code, name, description string }{
	{"400", "BadRequest", "Invalid input (INVALID_ARGUMENT) or a precondition that does not hold (FAILED_PRECONDITION). " +
		"The ErrorInfo reason is stable (INVALID_FIELDS, MALFORMED_REQUEST, ...); a BadRequest detail names each bad field."},
	{"401", "Unauthenticated", "No token where one is needed, or a token that is invalid or expired (UNAUTHENTICATED; " +
		"reason AUTHENTICATION_REQUIRED or INVALID_TOKEN). Public reads answer this too when a bad token is sent."},
	{"403", "PermissionDenied", "The token is valid but its role may not call this operation, or not on this resource (PERMISSION_DENIED)."},
	{"404", "NotFound", "The resource does not exist (NOT_FOUND, reason SERVICE_NOT_FOUND, REFERRAL_NOT_FOUND, ...). " +
		"An unknown route answers 404 with reason ROUTE_NOT_FOUND."},
	{"409", "Conflict", "The resource already exists (ALREADY_EXISTS) or the etag sent is stale (ABORTED, reason STALE_ETAG): read again and retry."},
	{"412", "PreconditionFailed", "The If-Match header names an etag that is no longer the resource's (ABORTED, reason STALE_ETAG), " +
		"or a weak tag: read the resource again (its ETag header) and retry."},
	{"413", "PayloadTooLarge", "The request body is larger than the gateway accepts (reason BODY_TOO_LARGE)."},
	{"429", "TooManyRequests", "A rate limit or the cap on calls in flight (RESOURCE_EXHAUSTED, reason RATE_LIMITED, OVERLOADED or TOO_MANY_WATCHES): retry later."},
	{"500", "Internal", "An internal error (INTERNAL): logged with the request id, which the message carries."},
	{"503", "Unavailable", "The service behind the route is unavailable (UNAVAILABLE, reason BACKEND_UNAVAILABLE): retry later."},
	{"504", "DeadlineExceeded", "The service did not answer in time (DEADLINE_EXCEEDED)."},
}

var pathVar = regexp.MustCompile(`\{([^}]+)\}`)

// Convert returns the OpenAPI 3.1 document for the 2.0 document v2 and the access table of every RPC.
func Convert(v2 []byte, access map[string]Access) ([]byte, error) {
	var sw swagger
	if err := json.Unmarshal(v2, &sw); err != nil {
		return nil, fmt.Errorf("parse the OpenAPI 2.0 document: %w", err)
	}
	doc := document{
		OpenAPI: "3.1.0",
		Info:    info(sw),
		Servers: []map[string]string{{"url": "/", "description": "The gateway that serves this document."}},
		Paths:   map[string]map[string]*operation{},
		Components: components{
			Schemas:   map[string]any{},
			Responses: map[string]any{},
			SecuritySchemes: map[string]any{bearer: map[string]any{
				"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "A JWT from the gmina's identity provider (Keycloak realm roles: coordinator, organiser, " +
					"director, admin, provider, integration, peer), sent as `Authorization: Bearer <token>`. Operations " +
					"list the roles that may call them in x-cus-roles; public reads need no token. Under `make run`, " +
					"`bin/cusctl token --role organiser` mints a development token.",
			}},
		},
	}
	for name, s := range sw.Definitions {
		doc.Components.Schemas[name] = rewriteRefs(s)
	}
	if err := addStatusSchemas(doc.Components.Schemas); err != nil {
		return nil, err
	}
	for _, e := range errorResponses {
		content := map[string]any{"schema": map[string]any{"$ref": schemaPrefix3 + statusSchema}}
		if ex, ok := statusExamples[e.code]; ok {
			v, err := parseExample(ex)
			if err != nil {
				return nil, fmt.Errorf("example of %s: %w", e.code, err)
			}
			content["example"] = v
		}
		r := map[string]any{"description": e.description, "content": map[string]any{"application/json": content}}
		if e.code == "401" {
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{
				"description": "Bearer, with the error when a token was sent (RFC 6750).", "schema": map[string]any{"type": "string"},
			}}
		}
		doc.Components.Responses[e.name] = r
	}
	doc.Components.Responses["Error"] = map[string]any{
		"description": "Any other error, as a google.rpc.Status.",
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": schemaPrefix3 + statusSchema}}},
	}

	used := map[string]tagInfo{}
	for path2, item := range sw.Paths {
		for method, op2 := range item {
			path3, op, err := convertOperation(path2, method, op2, access)
			if err != nil {
				return nil, err
			}
			t := tagFor(path3)
			used[t.Name] = t
			op.Tags = []string{t.Name}
			if doc.Paths[path3] == nil {
				doc.Paths[path3] = map[string]*operation{}
			}
			if prev, ok := doc.Paths[path3][method]; ok {
				return nil, fmt.Errorf("%s %s: both %s and %s map to it", strings.ToUpper(method), path3, prev.OperationID, op.OperationID)
			}
			doc.Paths[path3][method] = op
		}
	}
	doc.Tags = tagList(used)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func info(sw swagger) map[string]any {
	in := map[string]any{}
	for k, v := range sw.Info {
		in[k] = v
	}
	desc, _ := in["description"].(string)
	var b strings.Builder
	b.WriteString(desc)
	b.WriteString("\n\nAuthentication: reading the catalogue and the provider registry is public; everything else needs " +
		"`Authorization: Bearer <JWT>` of a role listed on the operation (security scheme `bearer`, extension x-cus-roles).\n\n" +
		"Resource names: a resource is named `services/{service}`, `providers/{provider}/agreements/{agreement}`, " +
		"`cases/{case}/plans/{plan}`; a path parameter holds one id segment (a UUID), never a slash. The `name` field " +
		"of a resource in a body is the whole resource name.\n\n" +
		"Streams (`:watch`) answer `application/x-ndjson`: one `{\"result\": ...}` object per line; an error after the " +
		"first line ends the stream with a last line `{\"error\": Status}`.\n\n" +
		"The same API as Swagger 2.0 (as protoc-gen-openapiv2 writes it) is at /openapi-v2.json.")
	for _, t := range sw.Tags {
		b.WriteString("\n\n" + t.Name + ": " + strings.ReplaceAll(t.Description, "\n", " "))
	}
	in["description"] = b.String()
	if lic, ok := in["license"].(map[string]any); ok {
		if name, _ := lic["name"].(string); name == "Apache-2.0" {
			lic["identifier"] = "Apache-2.0" // SPDX, as OpenAPI 3.1 allows
		}
	}
	return in
}

func tagList(used map[string]tagInfo) []map[string]string {
	var out []map[string]string
	emit := func(t tagInfo) {
		m := map[string]string{"name": t.Name, "description": t.Description}
		if t.Polish != "" {
			m["description"] = "Po polsku: " + t.Polish + ". " + t.Description
			m["x-name-pl"] = t.Polish
		}
		out = append(out, m)
		delete(used, t.Name)
	}
	for _, t := range tags {
		if _, ok := used[t.Name]; ok {
			emit(t.tagInfo)
		}
	}
	var rest []string
	for name := range used {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		emit(used[name])
	}
	return out
}

// convertOperation converts one 2.0 operation on path2 and returns its 3.1 path.
func convertOperation(path2, method string, op2 map[string]any, access map[string]Access) (string, *operation, error) {
	id, _ := op2["operationId"].(string)
	a, ok := access[id]
	if !ok {
		return "", nil, fmt.Errorf("%s %s (%s): no row in docs/authorization.md; add the RPC to its service's Policy and table",
			strings.ToUpper(method), path2, id)
	}
	op := &operation{OperationID: id, Roles: a.Roles, GRPC: a.Method, Security: []map[string][]string{}}
	if op.Roles == nil {
		op.Roles = []string{}
	}
	if !a.Public() {
		op.Security = []map[string][]string{{bearer: {}}}
	}
	text, _ := op2["summary"].(string)
	if d, _ := op2["description"].(string); d != "" {
		text = strings.TrimSpace(text + "\n\n" + d)
	}
	op.Summary = firstSentence(text)
	op.Description = text + "\n\n" + accessSentence(a)

	params2, _ := op2["parameters"].([]any)
	var pathParams, bodyParam map[string]any
	pathParams = map[string]any{}
	for _, p := range params2 {
		pm, _ := p.(map[string]any)
		switch pm["in"] {
		case "path":
			pathParams[fmt.Sprint(pm["name"])] = pm
		case "body":
			bodyParam = pm
		}
	}
	path3, params, err := convertPath(path2, pathParams)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", id, err)
	}
	op.Parameters = params
	for _, p := range params2 {
		pm, _ := p.(map[string]any)
		if pm["in"] == "query" || pm["in"] == "header" {
			op.Parameters = append(op.Parameters, convertParam(pm))
		}
	}
	if method == "patch" {
		op.Parameters = patchParameters(op.Parameters)
	}
	conditional := conditionalHeader(method, path3, len(pathParams) > 0)
	if conditional != nil {
		op.Parameters = append(op.Parameters, conditional)
	}
	if bodyParam != nil {
		body := rewriteRefs(bodyParam["schema"])
		if m, ok := body.(map[string]any); ok && method == "patch" {
			// A PATCH sends only the fields it changes: the message's required fields are required on create.
			delete(m, "required")
		}
		media := map[string]any{"schema": body}
		if ex, ok := requestExamples[id]; ok {
			v, err := parseExample(ex)
			if err != nil {
				return "", nil, fmt.Errorf("request example of %s: %w", id, err)
			}
			media["example"] = v
		}
		op.RequestBody = map[string]any{"required": true, "content": map[string]any{"application/json": media}}
		if d, _ := bodyParam["description"].(string); d != "" {
			op.RequestBody["description"] = d
		}
	}

	op.Responses = map[string]any{}
	responses2, _ := op2["responses"].(map[string]any)
	ok200, _ := responses2["200"].(map[string]any)
	if ok200 == nil {
		return "", nil, fmt.Errorf("%s: no 200 response", id)
	}
	schema := rewriteRefs(ok200["schema"])
	desc, _ := ok200["description"].(string)
	media := map[string]any{"schema": schema}
	if ex, ok := responseExamples[id]; ok {
		v, err := parseExample(ex)
		if err != nil {
			return "", nil, fmt.Errorf("response example of %s: %w", id, err)
		}
		media["example"] = v
	}
	if strings.Contains(desc, "streaming") {
		op.Responses["200"] = map[string]any{
			"description": "A stream of newline-delimited JSON (application/x-ndjson): each line is one object of this " +
				"schema, {\"result\": ...} while the stream runs; an error after the first line ends the stream with a last " +
				"line {\"error\": google.rpc.Status}. An error before the first line is an ordinary error response.",
			"content": map[string]any{ndjson: media},
		}
	} else {
		ok := map[string]any{"description": "OK.", "content": map[string]any{"application/json": media}}
		if method == "get" || method == "patch" {
			ok["headers"] = map[string]any{"ETag": etagHeader}
		}
		op.Responses["200"] = ok
		if method == "get" {
			op.Responses["304"] = map[string]any{
				"description": "Not Modified: the If-None-Match header named the current ETag; no body.",
				"headers":     map[string]any{"ETag": etagHeader},
			}
		}
	}
	codes := []string{"400", "401"}
	if !a.Public() {
		codes = append(codes, "403")
	}
	if len(pathParams) > 0 {
		codes = append(codes, "404")
	}
	// A conflict needs something to conflict with: a resource created, changed or moved between states.
	// Queries by POST (services:search, residents:lookup) have none.
	if _, custom := collectionOf(path3); method == "patch" || method == "delete" ||
		method == "post" && (custom == "" || len(pathParams) > 0) {
		codes = append(codes, "409")
	}
	if conditional != nil && conditional["name"] == "If-Match" {
		codes = append(codes, "412")
	}
	if bodyParam != nil {
		codes = append(codes, "413")
	}
	codes = append(codes, "429", "500", "503", "504")
	for _, c := range codes {
		for _, e := range errorResponses {
			if e.code == c {
				op.Responses[c] = map[string]any{"$ref": "#/components/responses/" + e.name}
			}
		}
	}
	op.Responses["default"] = map[string]any{"$ref": "#/components/responses/Error"}
	return path3, op, nil
}

// etagHeader is the ETag response header the gateway sets (gateway/internal/rest/etag.go): the body's etag in
// quotes for one resource, a hash of the body for a list.
var etagHeader = map[string]any{
	"description": "A strong entity tag: the resource's etag field in quotes, or for a list a hash of the body.",
	"schema":      map[string]any{"type": "string"},
}

// conditionalHeader documents the conditional request header the gateway honours on an operation: If-None-Match
// on reads (304 when unchanged), If-Match on changes of one resource (PATCH, DELETE and custom methods on it;
// 412 when stale). Streams and queries by POST have none.
func conditionalHeader(method, path3 string, onResource bool) map[string]any {
	_, custom := collectionOf(path3)
	switch {
	case method == "get" && !strings.HasSuffix(path3, ":watch"):
		return map[string]any{
			"name": "If-None-Match", "in": "header", "required": false,
			"description": "An ETag from an earlier answer: 304 Not Modified with no body when it is still current.",
			"schema":      map[string]any{"type": "string"},
		}
	case onResource && (method == "patch" || method == "delete" || method == "post" && custom != ""):
		return map[string]any{
			"name": "If-Match", "in": "header", "required": false,
			"description": "The ETag the change is based on (the resource's etag in quotes): 412 Precondition Failed " +
				"when the resource changed since. Sent with an etag in the body, both must be the same.",
			"schema": map[string]any{"type": "string"},
		}
	}
	return nil
}

// patchParameters documents updateMask on a PATCH: grpc-gateway reads it from the query and infers it from the
// body when absent, so protoc-gen-openapiv2 leaves it out, but integrators need it to clear a field.
func patchParameters(params []map[string]any) []map[string]any {
	for _, p := range params {
		if p["name"] == "updateMask" || p["name"] == "update_mask" {
			return params
		}
	}
	return append(params, map[string]any{
		"name": "updateMask", "in": "query", "required": false,
		"description": "The fields to update, proto field names separated by commas (`display_name,locations`, " +
			"`fee.price_grosze`); lists are replaced as a whole. Absent: the fields present in the body. " +
			"A field in the mask but not in the body is cleared.",
		"schema": map[string]any{"type": "string"},
	})
}

// convertPath turns a grpc-gateway path whose variables hold resource names (/v1/{name_3}:reserve with
// name_3 = providers/[^/]+/agreements/[^/]+) into one with a variable per id segment
// (/v1/providers/{provider}/agreements/{agreement}:reserve), and returns the path parameters.
func convertPath(path2 string, params2 map[string]any) (string, []map[string]any, error) {
	var params []map[string]any
	seen := map[string]bool{}
	var failure error
	path3 := pathVar.ReplaceAllStringFunc(path2, func(v string) string {
		name2 := v[1 : len(v)-1]
		p, _ := params2[name2].(map[string]any)
		pattern, _ := p["pattern"].(string)
		if pattern == "" {
			// A plain variable: one segment already; only make the name a valid identifier.
			name := uniqueName(strings.ReplaceAll(name2, ".", "_"), seen)
			params = append(params, pathParam(name, fmt.Sprint(p["description"])))
			return "{" + name + "}"
		}
		segs := strings.Split(strings.ReplaceAll(pattern, "[^/]+", "*"), "/")
		template := make([]string, len(segs))
		var names []string
		for i, s := range segs {
			switch s {
			case "*":
				if i == 0 {
					failure = fmt.Errorf("pattern %q of %s starts with a wildcard: no collection to name it after", pattern, name2)
					return v
				}
				name := uniqueName(singular(segs[i-1]), seen)
				names = append(names, name)
				template[i] = "{" + name + "}"
			default:
				if strings.ContainsAny(s, "[]*+.()") {
					failure = fmt.Errorf("pattern %q of %s: segment %q is neither a literal nor one id", pattern, name2, s)
					return v
				}
				template[i] = s
			}
		}
		resource := strings.Join(template, "/")
		orig, _ := p["description"].(string)
		for _, n := range names {
			d := fmt.Sprintf("The id of the %s: the segment after the collection in the resource name `%s` "+
				"(one segment, never a slash).", n, resource)
			if orig != "" {
				// What the proto says of the whole name (e.g. that `-` stands for every parent).
				d += " The proto field " + name2 + ": " + strings.Join(strings.Fields(orig), " ")
			}
			params = append(params, pathParam(n, d))
		}
		return resource
	})
	return path3, params, failure
}

func pathParam(name, description string) map[string]any {
	return map[string]any{
		"name": name, "in": "path", "required": true, "description": description,
		"schema": map[string]any{"type": "string", "pattern": "^[^/]+$"},
	}
}

func uniqueName(name string, seen map[string]bool) string {
	out := name
	for i := 2; seen[out]; i++ {
		out = name + strconv.Itoa(i)
	}
	seen[out] = true
	return out
}

// singular names the id of one member of a collection: services -> service, auditEntries -> auditEntry.
func singular(collection string) string {
	switch {
	case strings.HasSuffix(collection, "ies"):
		return strings.TrimSuffix(collection, "ies") + "y"
	case strings.HasSuffix(collection, "sses"):
		return strings.TrimSuffix(collection, "es")
	case strings.HasSuffix(collection, "s"):
		return strings.TrimSuffix(collection, "s")
	}
	return collection + "Id"
}

// convertParam turns a 2.0 query parameter into 3.1: type, format, items, enum and default move into schema.
func convertParam(p map[string]any) map[string]any {
	out := map[string]any{}
	schema := map[string]any{}
	for k, v := range p {
		switch k {
		case "name", "in", "description", "required":
			out[k] = v
		case "collectionFormat":
			if v == "multi" {
				// grpc-gateway reads a repeated field from repeated keys: ?areas=A&areas=B.
				out["style"], out["explode"] = "form", true
			}
		case "items":
			schema[k] = rewriteRefs(v)
		default:
			if !strings.HasPrefix(k, "x-") {
				schema[k] = v
			}
		}
	}
	out["schema"] = schema
	return out
}

// rewriteRefs returns v with every $ref into #/definitions/ pointing into #/components/schemas/.
func rewriteRefs(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				out[k] = schemaPrefix3 + strings.TrimPrefix(s, schemaPrefix2)
				continue
			}
			out[k] = rewriteRefs(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = rewriteRefs(val)
		}
		return out
	}
	return v
}

// addStatusSchemas documents the details a google.rpc.Status of this API carries: ErrorInfo (always, domain
// cus.gov.pl and a stable reason), BadRequest (field violations of invalid input), LocalizedMessage, or
// any other packed message.
func addStatusSchemas(schemas map[string]any) error {
	st, ok := schemas[statusSchema].(map[string]any)
	if !ok {
		return fmt.Errorf("the 2.0 document has no %s schema", statusSchema)
	}
	typed := func(typeURL, description string, props map[string]any, required ...string) map[string]any {
		props["@type"] = map[string]any{"type": "string", "const": typeURL}
		return map[string]any{"type": "object", "description": description, "properties": props,
			"required": append([]string{"@type"}, required...)}
	}
	str := func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	schemas["googleRpcErrorInfo"] = typed("type.googleapis.com/google.rpc.ErrorInfo",
		"Why the request failed: a stable UPPER_SNAKE reason to branch on, in the domain cus.gov.pl.",
		map[string]any{
			"reason":   str("Stable machine-readable reason, e.g. SERVICE_NOT_FOUND, STALE_ETAG, INVALID_FIELDS."),
			"domain":   str("Always cus.gov.pl."),
			"metadata": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "Context of the error (e.g. the resource name)."},
		}, "reason", "domain")
	schemas["googleRpcFieldViolation"] = map[string]any{
		"type": "object", "description": "One bad field of the request.",
		"properties": map[string]any{
			"field":            str("Path of the field in the request, proto names: service.display_name, locations[0].address.postal_code."),
			"description":      str("What is wrong with it."),
			"reason":           str("A stable UPPER_SNAKE reason, when the API defines one."),
			"localizedMessage": map[string]any{"$ref": schemaPrefix3 + "googleRpcLocalizedMessageBody"},
		},
	}
	schemas["googleRpcBadRequest"] = typed("type.googleapis.com/google.rpc.BadRequest",
		"The fields of invalid input, each with what is wrong.",
		map[string]any{"fieldViolations": map[string]any{"type": "array", "items": map[string]any{"$ref": schemaPrefix3 + "googleRpcFieldViolation"}}},
		"fieldViolations")
	schemas["googleRpcLocalizedMessageBody"] = map[string]any{
		"type": "object", "description": "A message in a locale (pl-PL for residents and staff).",
		"properties": map[string]any{"locale": str("BCP 47 locale, e.g. pl-PL."), "message": str("The message in that locale.")},
	}
	schemas["googleRpcLocalizedMessage"] = typed("type.googleapis.com/google.rpc.LocalizedMessage",
		"The error message in a locale (pl-PL).",
		map[string]any{"locale": str("BCP 47 locale, e.g. pl-PL."), "message": str("The message in that locale.")})
	props, _ := st["properties"].(map[string]any)
	if props == nil {
		return fmt.Errorf("%s has no properties", statusSchema)
	}
	st["description"] = "google.rpc.Status: every error of the API. code is the gRPC code, message says what is wrong " +
		"in English, details carry an ErrorInfo and, for invalid input, a BadRequest."
	props["code"] = map[string]any{"type": "integer", "format": "int32", "description": "The gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, ...)."}
	props["details"] = map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{
		map[string]any{"$ref": schemaPrefix3 + "googleRpcErrorInfo"},
		map[string]any{"$ref": schemaPrefix3 + "googleRpcBadRequest"},
		map[string]any{"$ref": schemaPrefix3 + "googleRpcLocalizedMessage"},
		map[string]any{"$ref": schemaPrefix3 + "protobufAny"},
	}}}
	return nil
}

func parseExample(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// firstSentence is the summary of a proto comment: its first sentence, across the comment's line breaks.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i] // the first paragraph at most
	}
	s = strings.Join(strings.Fields(s), " ")
	for from := 0; ; {
		i := strings.Index(s[from:], ". ")
		if i < 0 {
			return s
		}
		end := from + i
		word := s[strings.LastIndexAny(s[:end], " (")+1 : end]
		if !abbreviations[strings.ToLower(word)] {
			return s[:end+1]
		}
		from = end + 2
	}
}

// abbreviations do not end a sentence: "art. 2 ust. 1", "e.g. a".
var abbreviations = map[string]bool{"art": true, "ust": true, "pkt": true, "e.g": true, "i.e": true, "no": true, "nr": true, "poz": true}

func accessSentence(a Access) string {
	if a.Public() {
		return "Public: no token needed."
	}
	s := "Needs a bearer token of the role " + strings.Join(a.Roles, ", ") + "."
	if len(a.Roles) > 1 {
		s = "Needs a bearer token of one of the roles " + strings.Join(a.Roles, ", ") + "."
	}
	if len(a.Roles) == 0 {
		s = "No role may call it over REST."
	}
	if a.Note != "" {
		s += " Note: " + a.Note + "."
	}
	return s
}
