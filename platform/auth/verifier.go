package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
)

// Errors of authentication. The messages say what was wrong with the token (an integrator needs that to fix
// their client) but never echo the token.
var (
	ErrTokenMalformed  = apierr.New(apierr.KindUnauthenticated, "TOKEN_MALFORMED", "the bearer token is not a well-formed signed JWT")
	ErrTokenAlgorithm  = apierr.New(apierr.KindUnauthenticated, "TOKEN_ALGORITHM_REFUSED", "the bearer token is signed with an algorithm that is not accepted")
	ErrTokenUnknownKey = apierr.New(apierr.KindUnauthenticated, "TOKEN_UNKNOWN_KEY", "the bearer token is signed with an unknown key")
	ErrTokenSignature  = apierr.New(apierr.KindUnauthenticated, "TOKEN_SIGNATURE_INVALID", "the bearer token's signature is not valid")
	ErrTokenIssuer     = apierr.New(apierr.KindUnauthenticated, "TOKEN_ISSUER_REFUSED", "the bearer token comes from an issuer that is not accepted")
	ErrTokenAudience   = apierr.New(apierr.KindUnauthenticated, "TOKEN_AUDIENCE_REFUSED", "the bearer token is not meant for this service (audience)")
	ErrTokenExpired    = apierr.New(apierr.KindUnauthenticated, "TOKEN_EXPIRED", "the bearer token has expired")
	ErrTokenNotYet     = apierr.New(apierr.KindUnauthenticated, "TOKEN_NOT_YET_VALID", "the bearer token is not valid yet")
	ErrTokenNoExpiry   = apierr.New(apierr.KindUnauthenticated, "TOKEN_WITHOUT_EXPIRY", "the bearer token has no expiry (exp)")
	ErrTokenNoRole     = apierr.New(apierr.KindUnauthenticated, "TOKEN_WITHOUT_ROLE", "the bearer token grants no role of this suite")
	ErrTokenBinding    = apierr.New(apierr.KindUnauthenticated, "TOKEN_BINDING_INVALID", "the bearer token's provider or TERC binding is missing or malformed")
	ErrKeysUnavailable = apierr.New(apierr.KindUnavailable, "IDENTITY_KEYS_UNAVAILABLE", "the identity provider's keys cannot be fetched; retry later")
)

// MaxClockSkew bounds the leeway a configuration may grant for exp, nbf and iat.
const MaxClockSkew = 5 * time.Minute

// KeySource finds the public key of a key id.
type KeySource interface {
	// Key returns the key with id kid, or ErrTokenUnknownKey (or ErrKeysUnavailable).
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, error)
}

// VerifierConfig describes what a valid token is.
type VerifierConfig struct {
	// Issuer must equal the token's iss.
	Issuer string
	// Audience must be one of the token's aud.
	Audience string
	// Algorithms accepted; default ES256, RS256, PS256. "none" and HMAC algorithms are never accepted.
	Algorithms []string
	// ClockSkew tolerated on exp, nbf and iat; default 30s, at most MaxClockSkew.
	ClockSkew time.Duration
	// RolesClaim is the dotted path of the claim holding role names, e.g. "realm_access.roles" (Keycloak realm
	// roles) or "roles". Default "roles".
	RolesClaim string
	// ProviderClaim holds the provider id of provider staff. Default "cus_provider_id".
	ProviderClaim string
	// TERCClaim holds the TERC code of a peer. Default "cus_terc".
	TERCClaim string
	// Keys verifies signatures.
	Keys KeySource
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verifier checks bearer tokens.
type Verifier struct {
	cfg  VerifierConfig
	algs []jose.SignatureAlgorithm
}

var allowedAlgorithms = map[string]jose.SignatureAlgorithm{
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"EdDSA": jose.EdDSA,
}

// NewVerifier validates the configuration and returns a verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: issuer and audience are required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("auth: a key source is required")
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = 30 * time.Second
	}
	if cfg.ClockSkew < 0 || cfg.ClockSkew > MaxClockSkew {
		return nil, fmt.Errorf("auth: clock skew must be between 0 and %s", MaxClockSkew)
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"ES256", "RS256", "PS256"}
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.ProviderClaim == "" {
		cfg.ProviderClaim = "cus_provider_id"
	}
	if cfg.TERCClaim == "" {
		cfg.TERCClaim = "cus_terc"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg}
	for _, a := range cfg.Algorithms {
		alg, ok := allowedAlgorithms[a]
		if !ok {
			return nil, fmt.Errorf("auth: algorithm %q is not allowed (asymmetric algorithms only)", a)
		}
		v.algs = append(v.algs, alg)
	}
	return v, nil
}

// Close ends the key source's background work (a running key fetch), at server shutdown.
func (v *Verifier) Close() {
	if c, ok := v.cfg.Keys.(interface{ Close() }); ok {
		c.Close()
	}
}

// maxTokenBytes refuses absurd tokens before any parsing work.
const maxTokenBytes = 16 << 10

// Verify checks a compact JWS and returns its principal.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, ErrTokenMalformed
	}
	// Read the header's alg first, so a refused algorithm ("none", HS256 key confusion) is named as such.
	var hdr struct {
		Alg string `json:"alg"`
	}
	head, _, _ := strings.Cut(raw, ".")
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg == "" {
		return nil, ErrTokenMalformed
	}
	if !slices.Contains(v.algs, jose.SignatureAlgorithm(hdr.Alg)) {
		return nil, ErrTokenAlgorithm
	}
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		return nil, ErrTokenMalformed
	}
	if len(tok.Headers) != 1 {
		return nil, ErrTokenMalformed
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, ErrTokenUnknownKey
	}
	key, err := v.cfg.Keys.Key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != tok.Headers[0].Algorithm {
		// A key published for one algorithm must not verify another (algorithm confusion).
		return nil, ErrTokenAlgorithm
	}
	var std jwt.Claims
	var custom map[string]any
	if err := tok.Claims(key.Key, &std, &custom); err != nil {
		return nil, ErrTokenSignature
	}
	now := v.cfg.Now()
	if std.Issuer != v.cfg.Issuer {
		return nil, ErrTokenIssuer
	}
	if !std.Audience.Contains(v.cfg.Audience) {
		return nil, ErrTokenAudience
	}
	if std.Expiry == nil {
		return nil, ErrTokenNoExpiry
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now}, v.cfg.ClockSkew); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, ErrTokenExpired
		case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
			return nil, ErrTokenNotYet
		}
		return nil, ErrTokenMalformed
	}
	p, err := v.principal(std.Subject, custom)
	if err != nil {
		return nil, err
	}
	p.Expiry = std.Expiry.Time()
	return p, nil
}

func (v *Verifier) principal(sub string, claims map[string]any) (*Principal, error) {
	p := &Principal{Subject: sub, Via: "jwt"}
	for _, r := range stringsAt(claims, v.cfg.RolesClaim) {
		role := Role(r)
		if ValidRole(role) && role != RoleAnonymous && !p.Has(role) {
			p.Roles = append(p.Roles, role)
		}
	}
	if len(p.Roles) == 0 || sub == "" {
		return nil, ErrTokenNoRole
	}
	if s, ok := claims[v.cfg.ProviderClaim].(string); ok {
		p.ProviderID = strings.ToLower(s)
	}
	if s, ok := claims[v.cfg.TERCClaim].(string); ok {
		p.TERC = s
	}
	if scope, ok := claims["scope"].(string); ok {
		p.Scopes = strings.Fields(scope)
	}
	// A provider role without its provider, or a peer without a valid TERC, would be unbound: refuse.
	if p.Has(RoleProvider) && !isUUID(p.ProviderID) {
		return nil, ErrTokenBinding
	}
	if p.Has(RolePeer) && plid.ValidateTERC(p.TERC) != nil {
		return nil, ErrTokenBinding
	}
	return p, nil
}

// stringsAt reads a string or a list of strings at a dotted claim path.
func stringsAt(claims map[string]any, path string) []string {
	var cur any = claims
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	switch v := cur.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// StaticKeys is a fixed key set (development mode, tests, or keys distributed as a file).
type StaticKeys jose.JSONWebKeySet

// Key implements KeySource.
func (s StaticKeys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	set := jose.JSONWebKeySet(s)
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, ErrTokenUnknownKey
	}
	k := keys[0].Public()
	return &k, nil
}

// ParseKeySet reads a JWKS document.
func ParseKeySet(b []byte) (StaticKeys, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return StaticKeys{}, fmt.Errorf("auth: key set is not a JWKS document: %w", err)
	}
	for _, k := range set.Keys {
		if !k.Valid() || k.KeyID == "" {
			return StaticKeys{}, fmt.Errorf("auth: key %q in the key set is not valid or has no key id", k.KeyID)
		}
	}
	return StaticKeys(set), nil
}
