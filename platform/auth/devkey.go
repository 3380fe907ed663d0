package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Development mode: `make run` works with no identity server. A local ES256 key signs tokens minted by
// `cusctl token`; the services verify them with the public half, exactly as they verify an OIDC issuer's tokens.

// DevIssuer and DevAudience are the issuer and audience of development tokens.
const (
	DevIssuer   = "https://cus.invalid/dev"
	DevAudience = "cus"
)

// Dev key file names inside the key directory.
const (
	DevPrivateKeyFile = "dev-signing-key.jwk.json"
	DevPublicKeysFile = "dev-jwks.json"
)

// EnsureDevKey creates a development signing key in dir unless one exists, and returns the private key.
func EnsureDevKey(dir string) (*jose.JSONWebKey, error) {
	path := filepath.Join(dir, DevPrivateKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		var k jose.JSONWebKey
		if err := json.Unmarshal(b, &k); err != nil || k.IsPublic() {
			return nil, fmt.Errorf("%s is not a private JWK", path)
		}
		return &k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pubDER, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	sum := sha256.Sum256(pubDER)
	k := jose.JSONWebKey{Key: priv, KeyID: "dev-" + hex.EncodeToString(sum[:6]), Algorithm: "ES256", Use: "sig"}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	pub, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, DevPublicKeysFile), pub, 0o644); err != nil {
		return nil, err
	}
	return &k, nil
}

// TokenRequest describes a token to mint.
type TokenRequest struct {
	Subject    string
	Roles      []Role
	ProviderID string
	TERC       string
	Scopes     []string
	TTL        time.Duration
	Issuer     string
	Audience   string
}

// Mint signs a token with key. It is for development and tests; production tokens come from the issuer.
func Mint(key *jose.JSONWebKey, r TokenRequest) (string, error) {
	if r.Issuer == "" {
		r.Issuer = DevIssuer
	}
	if r.Audience == "" {
		r.Audience = DevAudience
	}
	if r.TTL == 0 {
		r.TTL = 12 * time.Hour
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	roles := make([]string, len(r.Roles))
	for i, role := range r.Roles {
		roles[i] = string(role)
	}
	custom := map[string]any{"roles": roles}
	if r.ProviderID != "" {
		custom["cus_provider_id"] = r.ProviderID
	}
	if r.TERC != "" {
		custom["cus_terc"] = r.TERC
	}
	if len(r.Scopes) > 0 {
		s := ""
		for i, sc := range r.Scopes {
			if i > 0 {
				s += " "
			}
			s += sc
		}
		custom["scope"] = s
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: r.Issuer, Subject: r.Subject, Audience: jwt.Audience{r.Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
		Expiry: jwt.NewNumericDate(now.Add(r.TTL)),
	}).Claims(custom).Serialize()
}

// LoadKeySetFile reads a JWKS file (the public half of the development key, or keys distributed by hand).
func LoadKeySetFile(path string) (StaticKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return StaticKeys{}, err
	}
	return ParseKeySet(b)
}
