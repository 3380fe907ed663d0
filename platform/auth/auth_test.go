package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cus-suite/cus/platform/apierr"
)

type testKeys struct {
	priv *jose.JSONWebKey
	set  StaticKeys
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	k, err := EnsureDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{priv: k, set: StaticKeys{Keys: []jose.JSONWebKey{k.Public()}}}
}

func verifier(t *testing.T, keys KeySource, now time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{Issuer: DevIssuer, Audience: DevAudience, Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign builds a token with arbitrary claims and header, for attacks the minting helper refuses to make.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func baseClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": DevIssuer, "aud": DevAudience, "sub": "user-1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"roles": []string{"organiser"},
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	c := map[string]any{}
	for kk, vv := range m {
		c[kk] = vv
	}
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestValidTokenGivesPrincipal(t *testing.T) {
	keys := newTestKeys(t)
	tok, err := Mint(keys.priv, TokenRequest{Subject: "org-1", Roles: []Role{RoleOrganiser, "astronaut"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := verifier(t, keys.set, time.Now()).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "org-1" || !p.Has(RoleOrganiser) || len(p.Roles) != 1 || p.Via != "jwt" {
		t.Fatalf("principal = %+v", p)
	}
	prov, _ := Mint(keys.priv, TokenRequest{Subject: "p", Roles: []Role{RoleProvider}, ProviderID: "0194C050-0000-7000-8000-000000000001"})
	pp, err := verifier(t, keys.set, time.Now()).Verify(context.Background(), prov)
	if err != nil || pp.ProviderID != "0194c050-0000-7000-8000-000000000001" {
		t.Fatalf("provider binding: %+v %v", pp, err)
	}
}

// Every attack must be UNAUTHENTICATED; none may yield a principal.
func TestTokenAttacksAreAllRefused(t *testing.T) {
	keys := newTestKeys(t)
	now := time.Now()
	v := verifier(t, keys.set, now)
	kid := keys.priv.KeyID
	ec := keys.priv.Key.(*ecdsa.PrivateKey)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims := baseClaims(now)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + kid + `"}`))
	body, _ := json.Marshal(claims)
	noneTok := header + "." + base64.RawURLEncoding.EncodeToString(body) + "."
	// HS256 "signed" with the public key as the HMAC secret: the classic algorithm-confusion attack.
	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	hsTok := sign(t, pubDER, jose.HS256, kid, claims)
	good := sign(t, ec, jose.ES256, kid, claims)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+DevIssuer+`","aud":"cus","sub":"x","exp":`+big.NewInt(now.Add(time.Hour).Unix()).String()+`,"roles":["admin"]}`)) + "." + parts[2]

	attacks := map[string]struct {
		tok  string
		want *apierr.Error
	}{
		"expired":            {sign(t, ec, jose.ES256, kid, with(claims, "exp", now.Add(-time.Hour).Unix())), ErrTokenExpired},
		"not yet valid":      {sign(t, ec, jose.ES256, kid, with(claims, "nbf", now.Add(time.Hour).Unix())), ErrTokenNotYet},
		"issued in future":   {sign(t, ec, jose.ES256, kid, with(claims, "iat", now.Add(time.Hour).Unix())), ErrTokenNotYet},
		"missing expiry":     {sign(t, ec, jose.ES256, kid, with(claims, "exp", nil)), ErrTokenNoExpiry},
		"alg none":           {noneTok, ErrTokenAlgorithm},
		"HS256 confusion":    {hsTok, ErrTokenAlgorithm},
		"RS256 with RSA key": {sign(t, rsaKey, jose.RS256, kid, claims), nil},
		"wrong issuer":       {sign(t, ec, jose.ES256, kid, with(claims, "iss", "https://evil.example")), ErrTokenIssuer},
		"wrong audience":     {sign(t, ec, jose.ES256, kid, with(claims, "aud", "someone-else")), ErrTokenAudience},
		"bad signature":      {sign(t, other, jose.ES256, kid, claims), ErrTokenSignature},
		"tampered payload":   {tampered, ErrTokenSignature},
		"unknown key id":     {sign(t, ec, jose.ES256, "not-a-key", claims), ErrTokenUnknownKey},
		"no key id":          {sign(t, ec, jose.ES256, "", claims), ErrTokenUnknownKey},
		"no role":            {sign(t, ec, jose.ES256, kid, with(claims, "roles", []string{"astronaut"})), ErrTokenNoRole},
		"provider unbound":   {sign(t, ec, jose.ES256, kid, with(claims, "roles", []string{"provider"})), ErrTokenBinding},
		"peer bad TERC":      {sign(t, ec, jose.ES256, kid, with(with(claims, "roles", []string{"peer"}), "cus_terc", "123")), ErrTokenBinding},
		"garbage":            {"garbage", ErrTokenMalformed},
		"empty segments":     {"..", ErrTokenMalformed},
		"huge":               {strings.Repeat("a", 20000) + ".b.c", ErrTokenMalformed},
	}
	for name, a := range attacks {
		t.Run(name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), a.tok)
			if p != nil || err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			e, ok := apierr.As(err)
			if !ok || e.Kind != apierr.KindUnauthenticated {
				t.Fatalf("err = %v, want UNAUTHENTICATED", err)
			}
			if a.want != nil && !errors.Is(err, a.want) {
				t.Fatalf("err = %v, want %v", err, a.want)
			}
			if strings.Contains(err.Error(), a.tok[:min(len(a.tok), 20)]) && len(a.tok) > 10 {
				t.Fatal("error echoes the token")
			}
		})
	}
}

func TestClockSkewIsBounded(t *testing.T) {
	keys := newTestKeys(t)
	if _, err := NewVerifier(VerifierConfig{Issuer: "i", Audience: "a", Keys: keys.set, ClockSkew: time.Hour}); err == nil {
		t.Fatal("an hour of clock skew was accepted")
	}
	if _, err := NewVerifier(VerifierConfig{Issuer: "i", Audience: "a", Keys: keys.set, Algorithms: []string{"HS256"}}); err == nil {
		t.Fatal("HS256 was accepted as an algorithm")
	}
	now := time.Now()
	v := verifier(t, keys.set, now)
	ec := keys.priv.Key.(*ecdsa.PrivateKey)
	// Expired 10 s ago: within the default 30 s skew.
	tok := sign(t, ec, jose.ES256, keys.priv.KeyID, with(baseClaims(now), "exp", now.Add(-10*time.Second).Unix()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("within skew: %v", err)
	}
}

func TestOIDCDiscoveryCachingAndRotation(t *testing.T) {
	k1 := newTestKeys(t)
	k2 := newTestKeys(t)
	var current atomic.Value
	current.Store(jose.JSONWebKeySet(k1.set))
	var fetches atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/realms/cus/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL + "/realms/cus", "jwks_uri": srv.URL + "/realms/cus/certs"})
		case "/realms/cus/certs":
			fetches.Add(1)
			_ = json.NewEncoder(w).Encode(current.Load())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Now()
	keys := NewOIDCKeys(srv.URL+"/realms/cus", srv.Client())
	t.Cleanup(keys.Close)
	keys.Now = func() time.Time { return now }
	v, err := NewVerifier(VerifierConfig{Issuer: srv.URL + "/realms/cus", Audience: "cus", RolesClaim: "realm_access.roles", Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(k testKeys) string {
		ec := k.priv.Key.(*ecdsa.PrivateKey)
		c := with(with(baseClaims(now), "iss", srv.URL+"/realms/cus"), "roles", nil)
		c["realm_access"] = map[string]any{"roles": []string{"coordinator", "offline_access"}}
		return sign(t, ec, jose.ES256, k.priv.KeyID, c)
	}
	for i := 0; i < 5; i++ {
		p, err := v.Verify(context.Background(), mint(k1))
		if err != nil || !p.Has(RoleCoordinator) {
			t.Fatalf("Keycloak-style token: %+v %v", p, err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("keys fetched %d times, want 1 (cached)", fetches.Load())
	}
	// Rotation: the issuer now signs with k2. The first unknown kid triggers a refetch once MinRefetch passed.
	current.Store(jose.JSONWebKeySet(k2.set))
	now = now.Add(time.Minute)
	if _, err := v.Verify(context.Background(), mint(k2)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// Garbage kids do not make us hammer the issuer.
	before := fetches.Load()
	for i := 0; i < 20; i++ {
		ec := k2.priv.Key.(*ecdsa.PrivateKey)
		_, _ = v.Verify(context.Background(), sign(t, ec, jose.ES256, "random-"+string(rune('a'+i)), with(baseClaims(now), "iss", srv.URL+"/realms/cus")))
	}
	if fetches.Load()-before > 1 {
		t.Fatalf("unknown kids caused %d fetches", fetches.Load()-before)
	}
}

func TestIssuerDownGivesUnavailableNotAccepted(t *testing.T) {
	keys := NewOIDCKeys("http://127.0.0.1:1/realms/none", nil)
	t.Cleanup(keys.Close)
	v, _ := NewVerifier(VerifierConfig{Issuer: "http://127.0.0.1:1/realms/none", Audience: "cus", Keys: keys})
	k := newTestKeys(t)
	tok, _ := Mint(k.priv, TokenRequest{Subject: "x", Roles: []Role{RoleAdmin}, Issuer: "http://127.0.0.1:1/realms/none", Audience: "cus"})
	p, err := v.Verify(context.Background(), tok)
	if p != nil || !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("p=%v err=%v", p, err)
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{Service: "cus.catalogue.v1.CatalogueService", Methods: map[string][]Role{
		"GetService":    {RoleAnonymous},
		"CreateService": {RoleOrganiser, RoleAdmin},
	}}
	org := &Principal{Subject: "o", Roles: []Role{RoleOrganiser}}
	prov := &Principal{Subject: "p", Roles: []Role{RoleProvider}}
	cases := []struct {
		method string
		who    *Principal
		want   error
	}{
		{"/cus.catalogue.v1.CatalogueService/GetService", Anonymous(), nil},
		{"/cus.catalogue.v1.CatalogueService/GetService", prov, nil},
		{"/cus.catalogue.v1.CatalogueService/CreateService", org, nil},
		{"/cus.catalogue.v1.CatalogueService/CreateService", Anonymous(), ErrAuthenticationRequired},
		{"/cus.catalogue.v1.CatalogueService/CreateService", prov, ErrRoleNotAllowed},
		{"/cus.catalogue.v1.CatalogueService/DeleteService", org, ErrMethodNotInPolicy},
		{"/cus.other.v1.Other/GetService", org, ErrMethodNotInPolicy},
		{"/grpc.health.v1.Health/Check", Anonymous(), nil},
	}
	for _, c := range cases {
		if err := p.Check(c.method, c.who); !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("%s as %v: %v, want %v", c.method, c.who.Roles, err, c.want)
		}
	}
	md := p.Markdown()
	if !strings.Contains(md, "| CreateService |") || !strings.Contains(md, "| GetService | yes | yes |") {
		t.Fatalf("markdown:\n%s", md)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:7001": true, "[::1]:7001": true, "localhost:1": true, "0.0.0.0:7001": false, ":7001": false, "10.0.0.5:7001": false, "junk": false} {
		if IsLoopback(addr) != want {
			t.Errorf("%s: %v", addr, !want)
		}
	}
}
