package grpcserver

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
)

func parseSecurity(t *testing.T, args ...string) SecurityFlags {
	t.Helper()
	var f SecurityFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.RegisterFlags(fs)
	if err := config.Parse(fs, args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSecurityFlagsValidate: development keys need --dev-mode (a loopback address is also the single-VM
// production layout), development mode excludes a real issuer, and --jwks-file names its issuer.
func TestSecurityFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen string
		args   []string
		want   string // "" valid, else the flag the failure must name
	}{
		{"no issuer: anonymous only", "127.0.0.1:7001", nil, ""},
		{"dev keys with dev mode", "127.0.0.1:7001", []string{"--dev-mode", "--dev-keys-dir", "var/dev"}, ""},
		{"dev keys without dev mode on loopback", "127.0.0.1:7001", []string{"--dev-keys-dir", "var/dev"}, "--dev-keys-dir"},
		{"dev keys off loopback", "0.0.0.0:7001", []string{"--dev-mode", "--dev-keys-dir", "var/dev", "--tls-cert", "c", "--tls-key", "k"}, "--dev-keys-dir"},
		{"dev mode with an issuer", "127.0.0.1:7001", []string{"--dev-mode", "--oidc-issuer", "https://sso.example/realms/cus"}, "--dev-mode"},
		{"dev mode with a jwks file", "127.0.0.1:7001", []string{"--dev-mode", "--oidc-issuer", "https://sso.example/realms/cus", "--jwks-file", "k.json"}, "--dev-mode"},
		{"dev keys beside an issuer", "127.0.0.1:7001", []string{"--dev-mode", "--dev-keys-dir", "d", "--oidc-issuer", "https://sso.example/realms/cus"}, "--dev-keys-dir"},
		{"issuer", "127.0.0.1:7001", []string{"--oidc-issuer", "https://sso.example/realms/cus"}, ""},
		{"jwks file with its issuer", "127.0.0.1:7001", []string{"--oidc-issuer", "https://sso.example/realms/cus", "--jwks-file", "k.json"}, ""},
		{"jwks file without an issuer", "127.0.0.1:7001", []string{"--jwks-file", "k.json"}, "--jwks-file"},
		{"peer CA without TLS", "127.0.0.1:7001", []string{"--peer-ca", "p.pem"}, "--peer-ca"},
		{"integration CA without TLS", "127.0.0.1:7001", []string{"--integration-ca", "i.pem"}, "--integration-ca"},
		{"negative address rate", "127.0.0.1:7001", []string{"--rate-per-address", "-1"}, "--rate-per-address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parseSecurity(t, tc.args...)
			var ch config.Checker
			f.Validate(&ch, tc.listen)
			err := ch.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want+" ") {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// TestJWKSFileTakesTheConfiguredIssuer: keys from a file verify tokens of the configured issuer, and tokens of
// the development issuer signed with the same key are refused (before, --jwks-file forced the dev issuer).
func TestJWKSFileTakesTheConfiguredIssuer(t *testing.T) {
	dir := t.TempDir()
	key, err := auth.EnsureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	jwks := filepath.Join(dir, "issuer-keys.json")
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.Public()}})
	if err := os.WriteFile(jwks, b, 0o600); err != nil {
		t.Fatal(err)
	}
	const issuer = "https://sso.rawicz.example/realms/cus"
	f := parseSecurity(t, "--oidc-issuer", issuer, "--jwks-file", jwks)
	sec, err := f.Build(auth.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := auth.Mint(key, auth.TokenRequest{Subject: "u", Roles: []auth.Role{auth.RoleAdmin}, Issuer: issuer, Audience: "cus"})
	if p, err := sec.Auth.Verifier.Verify(t.Context(), good); err != nil || !p.Has(auth.RoleAdmin) {
		t.Fatalf("token of the configured issuer: %v %v", p, err)
	}
	dev, _ := auth.Mint(key, auth.TokenRequest{Subject: "u", Roles: []auth.Role{auth.RoleAdmin}})
	if _, err := sec.Auth.Verifier.Verify(t.Context(), dev); !errors.Is(err, auth.ErrTokenIssuer) {
		t.Fatalf("token of the development issuer: %v, want %v", err, auth.ErrTokenIssuer)
	}
	noIssuer := parseSecurity(t, "--jwks-file", jwks)
	if _, err := noIssuer.Build(auth.Policy{}); err == nil {
		t.Fatal("Build accepted --jwks-file without --oidc-issuer")
	}
}
