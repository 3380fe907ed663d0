package convert

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// generated converts the repository's 2.0 document with the repository's authorization tables, as make
// generate does.
func generated(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	v2, err := os.ReadFile("../cus.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile("../../../../docs/authorization.md")
	if err != nil {
		t.Fatal(err)
	}
	access, err := ParseAuthorization(md)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = Convert(v2, access)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return raw, doc
}

type op struct {
	path, method string
	m            map[string]any
}

func operations(doc map[string]any) map[string]op {
	out := map[string]op{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			m := o.(map[string]any)
			out[m["operationId"].(string)] = op{path, method, m}
		}
	}
	return out
}

func TestDeterministicAndCommitted(t *testing.T) {
	a, _ := generated(t)
	b, _ := generated(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same input differ")
	}
	committed, err := os.ReadFile("../cus.openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, committed) {
		t.Error("cus.openapi.json is not what the generator writes: run make generate")
	}
}

func TestPathsNamedAfterResources(t *testing.T) {
	_, doc := generated(t)
	ops := operations(doc)
	want := map[string]string{
		"CatalogueService_GetService":                "/v1/services/{service}",
		"CatalogueService_UpdateService":             "/v1/services/{service}",
		"CatalogueService_SearchServices":            "/v1/services:search",
		"ProviderService_GetAgreement":               "/v1/providers/{provider}/agreements/{agreement}",
		"ProviderService_ReserveCapacity":            "/v1/providers/{provider}/agreements/{agreement}:reserve",
		"ProviderService_GetAvailability":            "/v1/providers/{provider}/agreements/{agreement}/availability",
		"ReferralService_SendReferral":               "/v1/referrals/{referral}:send",
		"ReferralService_GetPlan":                    "/v1/cases/{case}/plans/{plan}",
		"ReferralService_ListConsents":               "/v1/residents/{resident}/consents",
		"ReferralService_WithdrawConsent":            "/v1/residents/{resident}/consents/{consent}:withdraw",
		"ReferralService_VerifyAuditChain":           "/v1/auditEntries:verify",
		"CatalogueService_WatchChanges":              "/v1/changes:watch",
		"ReferralService_ListOverduePlans":           "/v1/plans:overdue",
		"ProviderService_ListReservations":           "/v1/providers/{provider}/agreements/{agreement}/reservations",
		"CatalogueService_DeleteProgramme":           "/v1/programmes/{programme}",
		"ReferralService_MarkReferralEnteredInError": "/v1/referrals/{referral}:markEnteredInError",
	}
	for id, path := range want {
		if got := ops[id].path; got != path {
			t.Errorf("%s at %q, want %q", id, got, path)
		}
	}
	bad := regexp.MustCompile(`\{[^}]*[._=/][^}]*\}|\{name`)
	for id, o := range ops {
		if bad.MatchString(o.path) {
			t.Errorf("%s: path %s still has a resource-name variable", id, o.path)
		}
		// Every variable of the path is a declared, required path parameter, and no other is declared.
		declared := map[string]bool{}
		params, _ := o.m["parameters"].([]any)
		for _, p := range params {
			pm := p.(map[string]any)
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = true
				if pm["required"] != true || !strings.Contains(pm["description"].(string), "id of the") {
					t.Errorf("%s: path parameter %v is not required or not documented as an id segment", id, pm)
				}
			}
			if pm["in"] == "body" {
				t.Errorf("%s: a 2.0 body parameter survived", id)
			}
		}
		for _, m := range pathVar.FindAllStringSubmatch(o.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: {%s} of %s is not declared", id, m[1], o.path)
			}
			delete(declared, m[1])
		}
		if len(declared) > 0 {
			t.Errorf("%s: path parameters %v are not in %s", id, declared, o.path)
		}
	}
}

func TestSecurityFollowsTheAuthorizationTables(t *testing.T) {
	_, doc := generated(t)
	ops := operations(doc)
	for _, tc := range []struct {
		id     string
		public bool
		role   string
	}{
		{"CatalogueService_GetService", true, "anonymous"},
		{"CatalogueService_SearchServices", true, "anonymous"},
		{"ProviderService_ListProviders", true, "anonymous"},
		{"CatalogueService_CreateService", false, "organiser"},
		{"CatalogueService_WatchChanges", false, "peer"},
		{"ReferralService_GetStatistics", false, "coordinator"},
		{"ReferralService_ListReferrals", false, "provider"},
	} {
		o := ops[tc.id].m
		sec, _ := o["security"].([]any)
		if sec == nil {
			t.Errorf("%s: no security (public reads need an explicit [])", tc.id)
			continue
		}
		if got := len(sec) == 0; got != tc.public {
			t.Errorf("%s: public %v, want %v (security %v)", tc.id, got, tc.public, sec)
		}
		if !tc.public && sec[0].(map[string]any)["bearer"] == nil {
			t.Errorf("%s: security %v does not name the bearer scheme", tc.id, sec)
		}
		roles, _ := o["x-cus-roles"].([]any)
		if !strings.Contains(" "+strings.Join(toStrings(roles), " ")+" ", " "+tc.role+" ") {
			t.Errorf("%s: roles %v lack %s", tc.id, roles, tc.role)
		}
	}
	// And generally: public exactly when anonymous may call.
	for id, o := range ops {
		sec, _ := o.m["security"].([]any)
		anon := strings.Contains(" "+strings.Join(toStrings(o.m["x-cus-roles"].([]any)), " ")+" ", " anonymous ")
		if anon != (len(sec) == 0) {
			t.Errorf("%s: security %v disagrees with roles %v", id, sec, o.m["x-cus-roles"])
		}
	}
	scheme := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["bearer"].(map[string]any)
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" || scheme["bearerFormat"] != "JWT" {
		t.Errorf("bearer scheme %v", scheme)
	}
}

func toStrings(l []any) []string {
	var out []string
	for _, v := range l {
		out = append(out, v.(string))
	}
	return out
}

func TestEveryOperationDocumentsItsErrors(t *testing.T) {
	_, doc := generated(t)
	comps := doc["components"].(map[string]any)["responses"].(map[string]any)
	for id, o := range operations(doc) {
		responses := o.m["responses"].(map[string]any)
		want := []string{"200", "400", "401", "429", "500", "503", "504", "default"}
		if sec, _ := o.m["security"].([]any); len(sec) > 0 {
			want = append(want, "403")
		}
		if strings.Contains(o.path, "{") {
			want = append(want, "404")
		}
		if o.m["requestBody"] != nil {
			want = append(want, "413")
		}
		for _, code := range want {
			r, ok := responses[code].(map[string]any)
			if !ok {
				t.Errorf("%s: no %s response", id, code)
				continue
			}
			if code == "200" {
				continue
			}
			ref, _ := r["$ref"].(string)
			c, ok := comps[strings.TrimPrefix(ref, "#/components/responses/")].(map[string]any)
			if !ok {
				t.Errorf("%s: %s response %v does not resolve", id, code, r)
				continue
			}
			schema := c["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
			if schema["$ref"] != "#/components/schemas/rpcStatus" {
				t.Errorf("%s: %s is %v, want google.rpc.Status", id, code, schema)
			}
		}
	}
	// The Status names its details: ErrorInfo and BadRequest among them.
	details := doc["components"].(map[string]any)["schemas"].(map[string]any)["rpcStatus"].(map[string]any)["properties"].(map[string]any)["details"].(map[string]any)
	b, _ := json.Marshal(details)
	for _, want := range []string{"googleRpcErrorInfo", "googleRpcBadRequest"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Status details %s lack %s", b, want)
		}
	}
}

func TestStreamsAreNewlineDelimitedJSON(t *testing.T) {
	_, doc := generated(t)
	ops := operations(doc)
	for _, id := range []string{"CatalogueService_WatchChanges", "ReferralService_WatchReferrals"} {
		content := ops[id].m["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)
		media, ok := content["application/x-ndjson"].(map[string]any)
		if !ok || len(content) != 1 {
			t.Errorf("%s: 200 content %v, want only application/x-ndjson", id, keysOf(content))
			continue
		}
		props := media["schema"].(map[string]any)["properties"].(map[string]any)
		if props["result"] == nil || props["error"].(map[string]any)["$ref"] != "#/components/schemas/rpcStatus" {
			t.Errorf("%s: line schema %v, want {result, error: Status}", id, props)
		}
	}
	if _, ok := ops["CatalogueService_ListChanges"].m["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"]; !ok {
		t.Error("a unary list is not application/json")
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTagsPerResourceWithPolishNames(t *testing.T) {
	_, doc := generated(t)
	declared := map[string]map[string]any{}
	for _, tg := range doc["tags"].([]any) {
		m := tg.(map[string]any)
		declared[m["name"].(string)] = m
	}
	for id, o := range operations(doc) {
		tags := o.m["tags"].([]any)
		if len(tags) != 1 || declared[tags[0].(string)] == nil {
			t.Errorf("%s: tags %v not one declared tag", id, tags)
		}
	}
	// Every resource of the committed document has its Polish name: a collection added without a line in
	// tags.go would be grouped under a bare English tag, unreadable to a gmina's staff.
	for name, m := range declared {
		if pl, _ := m["x-name-pl"].(string); pl == "" {
			t.Errorf("tag %s has no Polish name (x-name-pl): add its line to tags.go", name)
		}
	}
	for tag, pl := range map[string]string{"Services": "usługa", "Referrals": "skierowanie", "Agreements": "umowa", "Webhooks": "webhook",
		"Plans": "IPUS", "Programmes": "PUS", "Residents": "mieszkaniec", "Consents": "zgoda", "Cases": "sprawa"} {
		if got, _ := declared[tag]["x-name-pl"].(string); !strings.Contains(got, pl) {
			t.Errorf("tag %s: Polish name %q, want it to contain %q", tag, got, pl)
		}
	}
	ops := operations(doc)
	for id, tag := range map[string]string{"ReferralService_SendReferral": "Referrals", "ProviderService_ReserveCapacity": "Capacity",
		"CatalogueService_ListAreas": "Taxonomy", "ReferralService_ListOverduePlans": "Plans"} {
		if got := ops[id].m["tags"].([]any)[0]; got != tag {
			t.Errorf("%s tagged %v, want %s", id, got, tag)
		}
	}
}

// A new RPC (another engineer's webhook, say) needs nothing but its row in docs/authorization.md.
func TestNewRPCIsConvertedGenerically(t *testing.T) {
	v2 := []byte(`{"swagger":"2.0","info":{"title":"t","version":"v1"},"paths":{
	  "/v1/{name}:ping":{"post":{"operationId":"HookService_PingWebhook","summary":"Pings a webhook. Then reports.",
	    "parameters":[{"name":"name","in":"path","required":true,"type":"string","pattern":"webhooks/[^/]+"},
	                  {"name":"body","in":"body","required":true,"schema":{"$ref":"#/definitions/v1PingRequest"}}],
	    "responses":{"200":{"description":"A successful response.","schema":{"$ref":"#/definitions/v1PingRequest"}},
	                 "default":{"description":"err","schema":{"$ref":"#/definitions/rpcStatus"}}}}},
	  "/v1/webhooks":{"get":{"operationId":"HookService_ListWebhooks","parameters":[
	    {"name":"kinds","in":"query","required":false,"type":"array","items":{"type":"string"},"collectionFormat":"multi"}],
	    "responses":{"200":{"description":"A successful response.","schema":{"$ref":"#/definitions/v1PingRequest"}}}}}},
	  "definitions":{"v1PingRequest":{"type":"object","properties":{"note":{"type":"string"}}},
	    "rpcStatus":{"type":"object","properties":{"code":{"type":"integer"},"details":{"type":"array","items":{"$ref":"#/definitions/protobufAny"}}}},
	    "protobufAny":{"type":"object","additionalProperties":{}}}}`)
	md := []byte("## Tables\n\n### cus.hook.v1.HookService\n\n| method | anonymous | organiser | notes |\n|---|---|---|---|\n" +
		"| ListWebhooks | yes | yes |  |\n| PingWebhook |  | yes | only your own |\n")
	access, err := ParseAuthorization(md)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Convert(v2, access)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ops := operations(doc)
	ping := ops["HookService_PingWebhook"]
	if ping.path != "/v1/webhooks/{webhook}:ping" {
		t.Errorf("path %s", ping.path)
	}
	if ping.m["tags"].([]any)[0] != "Webhooks" || ping.m["x-cus-grpc-method"] != "cus.hook.v1.HookService/PingWebhook" {
		t.Errorf("tag %v, gRPC %v", ping.m["tags"], ping.m["x-cus-grpc-method"])
	}
	if sec := ping.m["security"].([]any); len(sec) != 1 || !strings.Contains(ping.m["description"].(string), "only your own") {
		t.Errorf("security %v, description %q", sec, ping.m["description"])
	}
	if ping.m["summary"] != "Pings a webhook." {
		t.Errorf("summary %q", ping.m["summary"])
	}
	if ping.m["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["$ref"] != "#/components/schemas/v1PingRequest" {
		t.Errorf("request body %v", ping.m["requestBody"])
	}
	list := ops["HookService_ListWebhooks"]
	if sec := list.m["security"].([]any); len(sec) != 0 {
		t.Errorf("public list has security %v", sec)
	}
	q := list.m["parameters"].([]any)[0].(map[string]any)
	if q["explode"] != true || q["schema"].(map[string]any)["type"] != "array" || q["type"] != nil {
		t.Errorf("repeated query parameter %v", q)
	}

	// Without its row, the generator refuses, naming the RPC.
	delete(access, "HookService_PingWebhook")
	if _, err := Convert(v2, access); err == nil || !strings.Contains(err.Error(), "HookService_PingWebhook") {
		t.Errorf("missing authorization row: %v", err)
	}
}

func TestParseAuthorizationRejectsBrokenTables(t *testing.T) {
	for name, md := range map[string]string{
		"no tables":      "# Authorization\n\nnothing here\n",
		"ragged row":     "### cus.x.v1.X\n\n| method | anonymous |\n|---|---|\n| Get | yes | extra |\n",
		"no method head": "### cus.x.v1.X\n\n| verb | anonymous |\n|---|---|\n| Get | yes |\n",
	} {
		if _, err := ParseAuthorization([]byte(md)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestExamplesUseDocumentedFields: every key of every example is a property of the schema it illustrates, so
// an example cannot teach an integrator a field the API does not have. (make lint-openapi also validates the
// values against the schemas with Redocly.)
func TestExamplesUseDocumentedFields(t *testing.T) {
	_, doc := generated(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var check func(path string, v any, schema map[string]any)
	check = func(path string, v any, schema map[string]any) {
		for depth := 0; schema["$ref"] != nil && depth < 20; depth++ {
			schema = schemas[strings.TrimPrefix(schema["$ref"].(string), "#/components/schemas/")].(map[string]any)
		}
		switch x := v.(type) {
		case map[string]any:
			props, _ := schema["properties"].(map[string]any)
			if props == nil && schema["additionalProperties"] != nil {
				return
			}
			for k, val := range x {
				p, ok := props[k].(map[string]any)
				if !ok {
					t.Errorf("%s: %q is not a property", path, k)
					continue
				}
				check(path+"."+k, val, p)
			}
		case []any:
			items, _ := schema["items"].(map[string]any)
			for _, val := range x {
				if items == nil {
					t.Errorf("%s: an array where the schema has none", path)
					return
				}
				if len(items) == 1 && items["anyOf"] != nil {
					return
				}
				check(path+"[]", val, items)
			}
		}
	}
	n := 0
	for id, o := range operations(doc) {
		if rb, ok := o.m["requestBody"].(map[string]any); ok {
			media := rb["content"].(map[string]any)["application/json"].(map[string]any)
			if ex, ok := media["example"]; ok {
				check(id+" request", ex, media["schema"].(map[string]any))
				n++
			}
		}
		for _, media := range o.m["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any) {
			m := media.(map[string]any)
			if ex, ok := m["example"]; ok {
				check(id+" response", ex, m["schema"].(map[string]any))
				n++
			}
		}
	}
	if n < len(requestExamples)+len(responseExamples) {
		t.Errorf("%d examples placed, want %d: an example names an operation that does not exist", n, len(requestExamples)+len(responseExamples))
	}
}

// A PATCH documents updateMask (grpc-gateway reads it, protoc-gen-openapiv2 leaves it out) and requires no
// field of the body: a partial update sends only what changes.
func TestPatchDocumentsUpdateMaskAndPartialBodies(t *testing.T) {
	_, doc := generated(t)
	n := 0
	for id, o := range operations(doc) {
		if o.method != "patch" {
			continue
		}
		n++
		found := false
		for _, p := range o.m["parameters"].([]any) {
			pm := p.(map[string]any)
			found = found || pm["name"] == "updateMask" && pm["in"] == "query"
		}
		if !found {
			t.Errorf("%s: no updateMask query parameter", id)
		}
		schema := o.m["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		if schema["required"] != nil {
			t.Errorf("%s: the PATCH body requires %v", id, schema["required"])
		}
	}
	if n < 5 {
		t.Errorf("only %d PATCH operations", n)
	}
}

// The gateway answers conditional requests (gateway/internal/rest/etag.go): reads take If-None-Match and may
// answer 304, changes of one resource take If-Match and may answer 412. The document must say so.
func TestConditionalHeadersAreDocumented(t *testing.T) {
	_, doc := generated(t)
	header := func(o map[string]any, name string) bool {
		ps, _ := o["parameters"].([]any)
		for _, p := range ps {
			pm := p.(map[string]any)
			if pm["name"] == name && pm["in"] == "header" {
				return true
			}
		}
		return false
	}
	cases := []struct {
		id, header, code string
	}{
		{"CatalogueService_GetService", "If-None-Match", "304"},
		{"CatalogueService_ListServices", "If-None-Match", "304"},
		{"CatalogueService_UpdateService", "If-Match", "412"},
		{"CatalogueService_DeleteService", "If-Match", "412"},
		{"ReferralService_ReceiveReferral", "If-Match", "412"},
	}
	ops := operations(doc)
	for _, c := range cases {
		o, ok := ops[c.id]
		if !ok {
			t.Fatalf("no operation %s", c.id)
		}
		if !header(o.m, c.header) {
			t.Errorf("%s: no %s header parameter", c.id, c.header)
		}
		if _, ok := o.m["responses"].(map[string]any)[c.code]; !ok {
			t.Errorf("%s: no %s response", c.id, c.code)
		}
	}
	for _, id := range []string{"CatalogueService_SearchServices", "CatalogueService_CreateService", "CatalogueService_WatchChanges"} {
		o := ops[id]
		if header(o.m, "If-Match") || header(o.m, "If-None-Match") {
			t.Errorf("%s: a conditional header on an operation that has no resource to compare", id)
		}
	}
}
