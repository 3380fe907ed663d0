package rest

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// statusBody is the JSON of a google.rpc.Status with the details this test reads.
type statusBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Type    string `json:"@type"`
		Reason  string `json:"reason"`
		Locale  string `json:"locale"`
		Message string `json:"message"`
	} `json:"details"`
}

func (b statusBody) reason() string {
	for _, d := range b.Details {
		if strings.HasSuffix(d.Type, "ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

func (b statusBody) localized() (locale, message string) {
	for _, d := range b.Details {
		if strings.HasSuffix(d.Type, "LocalizedMessage") {
			return d.Locale, d.Message
		}
	}
	return "", ""
}

// TestGatewayErrorsInPolish: the errors the gateway makes itself (no route, wrong method, a body it cannot
// decode, a service it cannot reach) come in Polish when Accept-Language asks for it, with the same reason
// and a LocalizedMessage; English stays the default.
func TestGatewayErrorsInPolish(t *testing.T) {
	// A real handler over a connection to a port where nothing listens: the backend is unreachable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	h, err := New(context.Background(), Conns{Catalogue: cc}, Options{MaxBodyBytes: 1 << 20}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, body, lang string
		wantHTTP                       int
		wantReason, wantMessage        string
		wantLocale                     string
	}{
		{"no route, Polish", "GET", "/v1/nope", "", "pl", 404, "ROUTE_NOT_FOUND",
			"nie ma trasy GET /v1/nope; opis API jest w /openapi.json", "pl"},
		{"no route, English by default", "GET", "/v1/nope", "", "", 404, "ROUTE_NOT_FOUND",
			"no route GET /v1/nope; see /openapi.json for the API", ""},
		{"no route, Polish with a region and q-values", "GET", "/v1/nope", "", "pl-PL;q=0.9, en;q=0.8", 404, "ROUTE_NOT_FOUND",
			"nie ma trasy GET /v1/nope; opis API jest w /openapi.json", "pl"},
		{"no route, English preferred", "GET", "/v1/nope", "", "en, pl;q=0.5", 404, "ROUTE_NOT_FOUND",
			"no route GET /v1/nope; see /openapi.json for the API", ""},
		{"another API version, Polish", "GET", "/v2/services", "", "pl", 404, "ROUTE_NOT_FOUND",
			"nie ma trasy GET /v2/services; opis API jest w /openapi.json", "pl"},
		{"unknown JSON field, Polish", "POST", "/v1/services:search", `{"nope":1}`, "pl", 400, "MALFORMED_REQUEST",
			`nieznane pole "nope" w treści żądania (nazwy pól są w zapisie lowerCamelCase, zob. /openapi.json)`, "pl"},
		{"not JSON, Polish", "POST", "/v1/services:search", `{"query":`, "pl", 400, "MALFORMED_REQUEST",
			"treść żądania jest pusta albo jest uciętym dokumentem JSON", "pl"},
		{"backend unreachable, Polish", "GET", "/v1/areas", "", "pl", 503, "BACKEND_UNAVAILABLE",
			"usługa obsługująca tę trasę jest niedostępna; spróbuj ponownie później", "pl"},
		{"backend unreachable, English", "GET", "/v1/areas", "", "", 503, "BACKEND_UNAVAILABLE",
			"the service behind this route is unavailable; retry later", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.lang != "" {
				r.Header.Set("Accept-Language", c.lang)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var b statusBody
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("%d %s: %v", w.Code, w.Body, err)
			}
			if w.Code != c.wantHTTP || b.reason() != c.wantReason || b.Message != c.wantMessage {
				t.Errorf("got %d %s %q, want %d %s %q", w.Code, b.reason(), b.Message, c.wantHTTP, c.wantReason, c.wantMessage)
			}
			if locale, msg := b.localized(); locale != c.wantLocale || (locale != "" && msg != c.wantMessage) {
				t.Errorf("LocalizedMessage {%q, %q}, want {%q, %q}", locale, msg, c.wantLocale, c.wantMessage)
			}
			if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Accept-Language") {
				t.Errorf("Vary %q does not name Accept-Language", w.Header().Values("Vary"))
			}
		})
	}
}
