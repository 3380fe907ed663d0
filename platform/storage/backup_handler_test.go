package storage

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/auth"
)

// TestBackupNeedsAnAdminToken: the backup endpoint, guarded as the services wire it, refuses a caller without
// a token (401) and a coordinator (403), and gives an admin a bbolt file that opens at the service's revision.
func TestBackupNeedsAnAdminToken(t *testing.T) {
	dir := t.TempDir()
	be := open(t, filepath.Join(dir, "d.db"))
	defer be.Close()
	for _, k := range []string{"a", "b", "c"} {
		if err := put(be, k); err != nil {
			t.Fatal(err)
		}
	}
	key, err := auth.EnsureDevKey(filepath.Join(dir, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Issuer: auth.DevIssuer, Audience: auth.DevAudience,
		Keys: auth.StaticKeys{Keys: []jose.JSONWebKey{key.Public()}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(auth.RequireAdmin(v, BackupHandler(be, "d.db", zap.NewNop())))
	defer srv.Close()
	token := func(role auth.Role) string {
		tok, err := auth.Mint(key, auth.TokenRequest{Subject: "u-" + string(role), Roles: []auth.Role{role}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	get := func(authz string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, tc := range []struct {
		name, authz string
		status      int
		reason      string
	}{
		{"no token", "", http.StatusUnauthorized, "AUTHENTICATION_REQUIRED"},
		{"not a bearer", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized, "AUTHORIZATION_MALFORMED"},
		{"garbage token", "Bearer x.y.z", http.StatusUnauthorized, "TOKEN_MALFORMED"},
		{"coordinator", "Bearer " + token(auth.RoleCoordinator), http.StatusForbidden, "ADMIN_REQUIRED"},
		{"director", "Bearer " + token(auth.RoleDirector), http.StatusForbidden, "ADMIN_REQUIRED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(tc.authz)
			var st struct {
				Code    int `json:"code"`
				Details []struct {
					Reason string `json:"reason"`
				} `json:"details"`
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q, want %d JSON", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
			}
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.Details) != 1 || st.Details[0].Reason != tc.reason {
				t.Fatalf("body: %+v %v, want reason %s", st, err, tc.reason)
			}
		})
	}

	resp := get("Bearer " + token(auth.RoleAdmin))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin: %d", resp.StatusCode)
	}
	copyPath := filepath.Join(dir, "copy.db")
	b, err := io.ReadAll(resp.Body)
	if err != nil || os.WriteFile(copyPath, b, 0o600) != nil {
		t.Fatalf("read backup: %v", err)
	}
	if rev, _ := strconv.ParseInt(resp.Header.Get("X-Revision"), 10, 64); rev != be.Revision() {
		t.Fatalf("X-Revision %q, want %d", resp.Header.Get("X-Revision"), be.Revision())
	}
	restored := open(t, copyPath)
	defer restored.Close()
	if restored.Revision() != be.Revision() {
		t.Fatalf("backup at revision %d, want %d", restored.Revision(), be.Revision())
	}
}
