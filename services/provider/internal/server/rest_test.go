package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// TestRESTMapping drives the registry through grpc-gateway as the suite's gateway configures it (lowerCamelCase
// JSON, unknown fields refused), over a real gRPC connection: the paths, bodies and masks of docs/provider.md.
func TestRESTMapping(t *testing.T) {
	h := start(t)
	p, a := h.providerWithAgreement(t, 10)
	pid := strings.TrimPrefix(p.GetName(), "providers/")

	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}))
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := providerv1.RegisterProviderServiceHandler(context.Background(), mux, conn); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	token := func(role auth.Role, providerID string) string {
		return h.mint(auth.TokenRequest{Subject: "rest-" + string(role), Roles: []auth.Role{role}, ProviderID: providerID})
	}
	do := func(method, path, tok, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	coord, org := token(auth.RoleCoordinator, ""), token(auth.RoleOrganiser, "")

	if code, out := do("GET", "/v1/"+p.GetName(), "", ""); code != 200 || out["displayName"] != p.GetDisplayName() {
		t.Fatalf("get: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/providers/-/agreements?filter=status%20%3D%20AGREEMENT_STATUS_ACTIVE", "", ""); code != 200 || out["totalSize"] != float64(1) {
		t.Fatalf("list agreements: %d %v", code, out)
	}
	code, out := do("POST", "/v1/"+a.GetName()+":reserve", coord, `{"referralId": "`+refID(1)+`", "units": 4}`)
	if code != 200 || out["availability"].(map[string]any)["available"] != float64(6) {
		t.Fatalf("reserve: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/"+a.GetName()+":reserve", coord, `{"referralId": "`+refID(2)+`", "units": 7}`); code != 400 {
		t.Fatalf("exhausted: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/"+a.GetName()+"/availability", coord, ""); code != 200 || out["reserved"] != float64(4) {
		t.Fatalf("availability: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/providers/-/availability?service="+a.GetService()+"&onlyAccepting=true", coord, ""); code != 200 || out["totalSize"] != float64(1) {
		t.Fatalf("list availability: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/"+a.GetName()+"/reservations", coord, ""); code != 200 || out["totalSize"] != float64(1) {
		t.Fatalf("reservations: %d %v", code, out)
	}
	if code, _ := do("GET", "/v1/"+a.GetName()+"/availability", "", ""); code != 401 {
		t.Fatalf("anonymous availability: %d", code)
	}
	if code, out := do("POST", "/v1/"+a.GetName()+":release", coord, `{"referralId": "`+refID(1)+`"}`); code != 200 || out["released"] != true {
		t.Fatalf("release: %d %v", code, out)
	}
	// Provider staff PATCH their own record: the gateway derives the mask from the body's keys.
	staff := token(auth.RoleProvider, pid)
	if code, out := do("PATCH", "/v1/"+p.GetName(), staff, `{"email": "nowy@sasiedzi.example", "address": {"city": "Sarnowa"}}`); code != 200 ||
		out["email"] != "nowy@sasiedzi.example" || out["address"].(map[string]any)["address1"] != p.GetAddress().GetAddress_1() {
		t.Fatalf("staff patch: %d %v", code, out)
	}
	if code, _ := do("PATCH", "/v1/"+p.GetName(), staff, `{"status": "PROVIDER_STATUS_CLOSED"}`); code != 403 {
		t.Fatalf("staff closing their provider: %d", code)
	}
	// A duplicate NIP is 409; the import takes the file as a JSON string.
	dup := `{"displayName": "Duplikat", "kind": "PROVIDER_KIND_PRIVATE_COMPANY", "nip": "` + p.GetNip() + `", "regon": "` + nextREGON() + `"}`
	if code, _ := do("POST", "/v1/providers", org, dup); code != 409 {
		t.Fatalf("duplicate NIP: %d", code)
	}
	csv, _ := json.Marshal("\uFEFFNazwa;Forma prawna\r\nWolontariusze z Izbic;grupa nieformalna\r\n")
	code, out = do("POST", "/v1/providers:import", org, `{"csv": `+string(csv)+`, "dryRun": true}`)
	if code != 200 || out["createdCount"] != float64(1) || out["dryRun"] != true {
		t.Fatalf("import: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/providerChanges?afterRevision=0&pageSize=2", org, ""); code != 200 || out["hasMore"] != true {
		t.Fatalf("changes: %d %v", code, out)
	}
}
