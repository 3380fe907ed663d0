package grpcserver

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
)

// SecurityFlags are the identity, transport and limit settings every service shares. Exactly one source of
// token keys may be configured: an OIDC issuer (production), a JWKS file, or a development key directory.
type SecurityFlags struct {
	OIDCIssuer    string
	OIDCAudience  string
	JWKSFile      string
	DevKeysDir    string
	RolesClaim    string
	ProviderClaim string
	TERCClaim     string
	ClockSkew     time.Duration
	TLSCert       string
	TLSKey        string
	ClientCA      string
	RatePerCaller float64
	RateBurst     int
	MaxInFlight   int
	// TrustedProxies is a comma-separated list of CIDR prefixes of gateways (see Limits.TrustedProxies).
	TrustedProxies string
}

// RegisterFlags declares the flags on fs.
func (f *SecurityFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.OIDCIssuer, "oidc-issuer", "", "OIDC issuer URL whose tokens are accepted (e.g. https://sso.rawicz.pl/realms/cus)")
	fs.StringVar(&f.OIDCAudience, "oidc-audience", "cus", "audience tokens must be issued for")
	fs.StringVar(&f.JWKSFile, "jwks-file", "", "file with the JWKS of the token issuer, instead of OIDC discovery")
	fs.StringVar(&f.DevKeysDir, "dev-keys-dir", "", "development mode: trust the local key in this directory (created if missing); loopback only")
	fs.StringVar(&f.RolesClaim, "roles-claim", "roles", "dotted path of the token claim holding role names (Keycloak: realm_access.roles)")
	fs.StringVar(&f.ProviderClaim, "provider-claim", "cus_provider_id", "token claim binding provider staff to their provider id")
	fs.StringVar(&f.TERCClaim, "terc-claim", "cus_terc", "token claim binding a peer instance to its TERC code")
	fs.DurationVar(&f.ClockSkew, "clock-skew", 30*time.Second, "clock skew tolerated on token times (at most 5m)")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "server certificate (PEM); required unless listening on loopback")
	fs.StringVar(&f.TLSKey, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&f.ClientCA, "client-ca", "", "CA (PEM) whose client certificates identify services and peers (mTLS)")
	fs.Float64Var(&f.RatePerCaller, "rate-per-caller", 50, "sustained calls per second allowed to one caller (0: unlimited)")
	fs.IntVar(&f.RateBurst, "rate-burst", 100, "calls one caller may make at once above the rate")
	fs.IntVar(&f.MaxInFlight, "max-in-flight", 512, "unary calls handled at once before RESOURCE_EXHAUSTED (0: unlimited)")
	fs.StringVar(&f.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "CIDR prefixes of gateways whose x-forwarded-for is trusted for per-client limits")
}

// Validate checks the settings against the listen address.
func (f *SecurityFlags) Validate(ch *config.Checker, listen string) {
	sources := 0
	for _, s := range []string{f.OIDCIssuer, f.JWKSFile, f.DevKeysDir} {
		if s != "" {
			sources++
		}
	}
	if sources > 1 {
		ch.Fail("oidc-issuer", "set only one of --oidc-issuer, --jwks-file and --dev-keys-dir")
	}
	if f.JWKSFile != "" || f.OIDCIssuer != "" {
		ch.NonEmpty("oidc-audience", f.OIDCAudience)
	}
	if f.DevKeysDir != "" && !auth.IsLoopback(listen) {
		ch.Fail("dev-keys-dir", "development keys are allowed only when listening on loopback, not on %s", listen)
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		ch.Fail("tls-cert", "--tls-cert and --tls-key go together")
	}
	if f.TLSCert == "" && !auth.IsLoopback(listen) {
		ch.Fail("tls-cert", "plaintext is allowed only on loopback; give a certificate to listen on %s", listen)
	}
	if f.ClientCA != "" && f.TLSCert == "" {
		ch.Fail("client-ca", "client certificates need TLS: set --tls-cert and --tls-key")
	}
	if f.ClockSkew < 0 || f.ClockSkew > auth.MaxClockSkew {
		ch.Fail("clock-skew", "must be between 0 and %s", auth.MaxClockSkew)
	}
	if f.RatePerCaller < 0 {
		ch.Fail("rate-per-caller", "must not be negative")
	}
	if f.MaxInFlight < 0 {
		ch.Fail("max-in-flight", "must not be negative")
	}
	if _, err := parsePrefixes(f.TrustedProxies); err != nil {
		ch.Fail("trusted-proxies", "%v", err)
	}
}

// Security is what the flags build: the authenticator, the limits and the transport credentials.
type Security struct {
	Auth    *auth.Authenticator
	Limits  Limits
	Options []grpc.ServerOption
}

// Build loads keys and certificates and returns the security of a service with the given policy.
func (f *SecurityFlags) Build(policy auth.Policy) (*Security, error) {
	s := &Security{
		Auth:   &auth.Authenticator{Policy: policy},
		Limits: Limits{PerCallerRate: f.RatePerCaller, PerCallerBurst: f.RateBurst, MaxInFlight: f.MaxInFlight},
	}
	proxies, err := parsePrefixes(f.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	s.Limits.TrustedProxies = proxies
	vc := auth.VerifierConfig{
		Audience: f.OIDCAudience, ClockSkew: f.ClockSkew,
		RolesClaim: f.RolesClaim, ProviderClaim: f.ProviderClaim, TERCClaim: f.TERCClaim,
	}
	switch {
	case f.OIDCIssuer != "":
		vc.Issuer, vc.Keys = f.OIDCIssuer, auth.NewOIDCKeys(f.OIDCIssuer, nil)
	case f.JWKSFile != "":
		keys, err := auth.LoadKeySetFile(f.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("--jwks-file: %w", err)
		}
		vc.Issuer, vc.Keys = f.OIDCIssuer, keys
		if vc.Issuer == "" {
			vc.Issuer = auth.DevIssuer
		}
	case f.DevKeysDir != "":
		if _, err := auth.EnsureDevKey(f.DevKeysDir); err != nil {
			return nil, fmt.Errorf("--dev-keys-dir: %w", err)
		}
		keys, err := auth.LoadKeySetFile(filepath.Join(f.DevKeysDir, auth.DevPublicKeysFile))
		if err != nil {
			return nil, fmt.Errorf("--dev-keys-dir: %w", err)
		}
		vc.Issuer, vc.Audience, vc.Keys = auth.DevIssuer, auth.DevAudience, keys
	}
	if vc.Keys != nil {
		v, err := auth.NewVerifier(vc)
		if err != nil {
			return nil, err
		}
		s.Auth.Verifier = v
	}
	if f.TLSCert != "" {
		tc, err := auth.ServerTLS(f.TLSCert, f.TLSKey, f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		s.Options = append(s.Options, grpc.Creds(credentials.NewTLS(tc)))
	}
	return s, nil
}

func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8", p)
		}
		out = append(out, pfx)
	}
	return out, nil
}
