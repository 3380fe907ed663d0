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

// SecurityFlags are the identity, transport and limit settings every service shares (and how a replica
// drains when it stops). Token keys come from one
// source: an OIDC issuer (production; keys by discovery, or from --jwks-file for that same issuer), or, only
// with --dev-mode, a development key directory.
type SecurityFlags struct {
	OIDCIssuer   string
	OIDCAudience string
	JWKSFile     string
	// DevMode must be set explicitly for development keys to be trusted: a loopback listen address is also
	// the single-VM production layout, so it says nothing about being in development.
	DevMode       bool
	DevKeysDir    string
	RolesClaim    string
	ProviderClaim string
	TERCClaim     string
	ClockSkew     time.Duration
	TLSCert       string
	TLSKey        string
	// ClientCA, PeerCA and IntegrationCA are the CAs of each kind of mTLS identity (cus://service,
	// cus://peer, cus://integration): a certificate names its kind only when issued by that kind's CA.
	ClientCA      string
	PeerCA        string
	IntegrationCA string
	RatePerCaller float64
	RateBurst     int
	// RatePerAddress and RateAddressBurst limit one client address before authentication.
	RatePerAddress   float64
	RateAddressBurst int
	MaxInFlight      int
	// TrustedProxies is a comma-separated list of CIDR prefixes of gateways (see Limits.TrustedProxies).
	TrustedProxies string
	// DrainPeriod is Config.DrainPeriod: how long a stopping replica reports NOT_SERVING while still serving.
	DrainPeriod time.Duration
}

// RegisterFlags declares the flags on fs.
func (f *SecurityFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.OIDCIssuer, "oidc-issuer", "", "OIDC issuer URL whose tokens are accepted (e.g. https://sso.rawicz.pl/realms/cus)")
	fs.StringVar(&f.OIDCAudience, "oidc-audience", "cus", "audience tokens must be issued for")
	fs.StringVar(&f.JWKSFile, "jwks-file", "", "file with the JWKS of the --oidc-issuer, instead of OIDC discovery (offline installations)")
	fs.BoolVar(&f.DevMode, "dev-mode", false, "development mode: allows --dev-keys-dir; never in production")
	fs.StringVar(&f.DevKeysDir, "dev-keys-dir", "", "with --dev-mode: trust the local development key in this directory (created if missing); loopback only")
	fs.StringVar(&f.RolesClaim, "roles-claim", "roles", "dotted path of the token claim holding role names (Keycloak: realm_access.roles)")
	fs.StringVar(&f.ProviderClaim, "provider-claim", "cus_provider_id", "token claim binding provider staff to their provider id")
	fs.StringVar(&f.TERCClaim, "terc-claim", "cus_terc", "token claim binding a peer instance to its TERC code")
	fs.DurationVar(&f.ClockSkew, "clock-skew", 30*time.Second, "clock skew tolerated on token times (at most 5m)")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "server certificate (PEM); required unless listening on loopback")
	fs.StringVar(&f.TLSKey, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&f.ClientCA, "client-ca", "", "CA (PEM) of this instance's services (cus://service/..., e.g. the gateway) presenting client certificates")
	fs.StringVar(&f.PeerCA, "peer-ca", "", "CA (PEM) of peer CUS instances (cus://peer/<TERC>); its certificates identify peers only")
	fs.StringVar(&f.IntegrationCA, "integration-ca", "", "CA (PEM) of the gmina's integration clients (cus://integration/<name>); its certificates identify integrations only")
	fs.Float64Var(&f.RatePerCaller, "rate-per-caller", 50, "sustained calls per second allowed to one authenticated caller (0: unlimited)")
	fs.IntVar(&f.RateBurst, "rate-burst", 100, "calls one caller may make at once above the rate")
	fs.Float64Var(&f.RatePerAddress, "rate-per-address", 100, "sustained calls per second from one client address, checked before authentication (0: unlimited)")
	fs.IntVar(&f.RateAddressBurst, "rate-address-burst", 200, "calls one client address may make at once above its rate")
	fs.IntVar(&f.MaxInFlight, "max-in-flight", 512, "unary calls handled at once before RESOURCE_EXHAUSTED (0: unlimited)")
	fs.DurationVar(&f.DrainPeriod, "drain-period", 0, "on stop, how long to report NOT_SERVING while still serving before ending streams, so callers move to other replicas (0: a single replica; 5s behind a load balancer)")
	fs.StringVar(&f.TrustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "CIDR prefixes of gateways whose x-forwarded-for is trusted for per-client limits")
}

// Validate checks the settings against the listen address.
func (f *SecurityFlags) Validate(ch *config.Checker, listen string) {
	if f.JWKSFile != "" && f.OIDCIssuer == "" {
		ch.Fail("jwks-file", "needs --oidc-issuer naming the issuer whose tokens the keys sign (no discovery is done)")
	}
	if f.JWKSFile != "" || f.OIDCIssuer != "" {
		ch.NonEmpty("oidc-audience", f.OIDCAudience)
	}
	if f.DevMode && (f.OIDCIssuer != "" || f.JWKSFile != "") {
		ch.Fail("dev-mode", "development mode cannot be combined with --oidc-issuer or --jwks-file")
	}
	if f.DevKeysDir != "" && !f.DevMode {
		ch.Fail("dev-keys-dir", "development keys are trusted only with --dev-mode (never in production: anyone holding the key mints any role)")
	}
	if f.DevKeysDir != "" && (f.OIDCIssuer != "" || f.JWKSFile != "") {
		ch.Fail("dev-keys-dir", "set either --dev-keys-dir or --oidc-issuer, not both")
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
	for _, ca := range []struct{ flag, file string }{{"client-ca", f.ClientCA}, {"peer-ca", f.PeerCA}, {"integration-ca", f.IntegrationCA}} {
		if ca.file != "" && f.TLSCert == "" {
			ch.Fail(ca.flag, "client certificates need TLS: set --tls-cert and --tls-key")
		}
	}
	if f.ClockSkew < 0 || f.ClockSkew > auth.MaxClockSkew {
		ch.Fail("clock-skew", "must be between 0 and %s", auth.MaxClockSkew)
	}
	if f.RatePerCaller < 0 {
		ch.Fail("rate-per-caller", "must not be negative")
	}
	if f.RatePerAddress < 0 {
		ch.Fail("rate-per-address", "must not be negative")
	}
	if f.RateBurst < 0 {
		ch.Fail("rate-burst", "must not be negative")
	}
	if f.RateAddressBurst < 0 {
		ch.Fail("rate-address-burst", "must not be negative")
	}
	if f.MaxInFlight < 0 {
		ch.Fail("max-in-flight", "must not be negative")
	}
	if f.DrainPeriod < 0 || f.DrainPeriod > time.Minute {
		ch.Fail("drain-period", "must be between 0 and 1m, got %s", f.DrainPeriod)
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

// Build loads keys and certificates and returns the security of a service with the given policy. It trusts a
// configuration Validate accepted (the binaries validate before they build): development keys, for one, are
// refused there without --dev-mode.
func (f *SecurityFlags) Build(policy auth.Policy) (*Security, error) {
	s := &Security{
		Auth: &auth.Authenticator{Policy: policy},
		Limits: Limits{
			PerAddressRate: f.RatePerAddress, PerAddressBurst: f.RateAddressBurst,
			PerCallerRate: f.RatePerCaller, PerCallerBurst: f.RateBurst, MaxInFlight: f.MaxInFlight,
		},
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
	case f.JWKSFile != "":
		// The keys of the configured issuer, distributed as a file: tokens must still name that issuer.
		if f.OIDCIssuer == "" {
			return nil, fmt.Errorf("--jwks-file needs --oidc-issuer")
		}
		keys, err := auth.LoadKeySetFile(f.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("--jwks-file: %w", err)
		}
		vc.Issuer, vc.Keys = f.OIDCIssuer, keys
	case f.OIDCIssuer != "":
		vc.Issuer, vc.Keys = f.OIDCIssuer, auth.NewOIDCKeys(f.OIDCIssuer, nil)
	case f.DevKeysDir != "":
		// Validate refuses this without --dev-mode (and off loopback) before Build runs.
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
		cas, err := auth.LoadClientCAs(auth.ClientCAFiles{Service: f.ClientCA, Peer: f.PeerCA, Integration: f.IntegrationCA})
		if err != nil {
			return nil, err
		}
		tc, err := auth.ServerTLS(f.TLSCert, f.TLSKey, cas)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		s.Auth.ClientCAs = cas
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
