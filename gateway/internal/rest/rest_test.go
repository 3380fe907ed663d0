package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClientAddressTrustsOnlyConfiguredProxies(t *testing.T) {
	proxies, err := ParsePrefixes("10.0.0.0/8, 192.168.1.1/32")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.9:5000", "", "203.0.113.9:5000"},                // direct client
		{"203.0.113.9:5000", "1.2.3.4", "203.0.113.9:5000"},         // forged header from a client is ignored
		{"10.1.2.3:443", "198.51.100.7", "198.51.100.7:0"},          // behind the ingress
		{"10.1.2.3:443", "1.2.3.4, 198.51.100.7", "198.51.100.7:0"}, // rightmost untrusted hop wins
		{"10.1.2.3:443", "198.51.100.7, 192.168.1.1", "198.51.100.7:0"},
		{"10.1.2.3:443", "garbage", "10.1.2.3:443"},
	}
	for _, c := range cases {
		var gotAddr, gotXFF string
		h := clientAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotAddr, gotXFF = r.RemoteAddr, r.Header.Get("X-Forwarded-For")
		}), proxies)
		r := httptest.NewRequest(http.MethodGet, "/v1/areas", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if gotAddr != c.want || gotXFF != "" {
			t.Errorf("remote %s xff %q: got %s (xff %q), want %s", c.remote, c.xff, gotAddr, gotXFF, c.want)
		}
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix was accepted")
	}
}

func TestDescribeDecodeErrorHasNoGoInternals(t *testing.T) {
	for in, want := range map[string]string{
		`parsing field "page_size": strconv.ParseInt: parsing "abc": invalid syntax`: "query parameter page_size has a value of the wrong type",
		`proto: (line 1:45): unknown field "colour"`:                                 `unknown field "colour" in the request body (field names are lowerCamelCase, see /openapi.json)`,
		`proto: syntax error (line 1:1): unexpected token [`:                         "the request body is not valid JSON",
		`unexpected EOF`: "the request body is empty or truncated JSON",
		`proto: (line 1:24): invalid value for enum field areas: "AREA_NOPE"`: `"AREA_NOPE" is not a value of areas (see /openapi.json for the values)`,
	} {
		if got := describeDecodeError(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// A deadline or cancellation without an ErrorInfo (the gateway's own deadline ran out, or the client went away)
// is answered with our reason and words, never Go's "context deadline exceeded".
func TestBareDeadlineAndCancelGetAReason(t *testing.T) {
	for _, c := range []struct {
		err        error
		httpStatus int
		reason     string
	}{
		{status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error()), http.StatusGatewayTimeout, "DEADLINE_EXCEEDED"},
		{status.Error(codes.Canceled, context.Canceled.Error()), 499, "CANCELLED"},
	} {
		w := httptest.NewRecorder()
		errorHandler(context.Background(), nil, &runtime.JSONPb{}, w, httptest.NewRequest(http.MethodGet, "/v1/areas", nil), c.err)
		body := w.Body.String()
		if w.Code != c.httpStatus || !strings.Contains(body, `"reason":"`+c.reason+`"`) || strings.Contains(body, "context ") {
			t.Errorf("%v: %d %s, want %d with reason %s and no Go text", c.err, w.Code, body, c.httpStatus, c.reason)
		}
	}
}
