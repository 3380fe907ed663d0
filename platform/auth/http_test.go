package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRequireAdminWithoutIssuer: a service with no token issuer refuses every backup, even one presenting a
// token, and names why.
func TestRequireAdminWithoutIssuer(t *testing.T) {
	reached := false
	h := RequireAdmin(nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	k := newTestKeys(t)
	tok, _ := Mint(k.priv, TokenRequest{Subject: "a", Roles: []Role{RoleAdmin}, TTL: time.Hour})
	for _, authz := range []string{"", "Bearer " + tok} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/backup", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" || reached {
			t.Fatalf("%q: %d %s (handler reached: %v)", authz, rec.Code, rec.Body, reached)
		}
	}
}
