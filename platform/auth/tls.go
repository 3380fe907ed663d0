package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"google.golang.org/grpc/credentials"

	"github.com/cus-suite/cus/platform/plid"
)

// Service and peer identities over mTLS come from a URI SAN of the client certificate:
//
//	cus://service/<name>        another service of this instance (e.g. cus://service/gateway): transport only,
//	                            no role; the caller's token decides
//	cus://peer/<TERC>           another CUS instance, bound to its gmina (e.g. cus://peer/3006023)
//	cus://integration/<name>    a machine identity of a gmina system
//
// Certificates without such a SAN authenticate nobody (the call continues as anonymous or with its token).
const identityScheme = "cus"

// PrincipalFromTLS maps a verified client certificate to a principal, or nil.
func PrincipalFromTLS(ti credentials.TLSInfo) *Principal {
	chains := ti.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return nil
	}
	return principalFromCert(chains[0][0])
}

func principalFromCert(cert *x509.Certificate) *Principal {
	for _, u := range cert.URIs {
		if u.Scheme != identityScheme {
			continue
		}
		kind, name := u.Host, strings.TrimPrefix(u.Path, "/")
		if name == "" || strings.Contains(name, "/") {
			continue
		}
		switch kind {
		case "peer":
			if plid.ValidateTERC(name) != nil {
				continue
			}
			return &Principal{Subject: "peer:" + name, Roles: []Role{RolePeer}, TERC: name, Via: "mtls"}
		case "integration":
			return &Principal{Subject: "integration:" + name, Roles: []Role{RoleIntegration}, Via: "mtls"}
		case "service":
			// A service of this instance (the gateway) proves only that the connection is ours; it acts for its
			// callers, whose token (or its absence) decides what they may do. Granting the certificate a role
			// would let every anonymous user behind the gateway act with it.
			return nil
		}
	}
	return nil
}

// IdentityURI builds the SAN of an identity, for certificate tooling and tests.
func IdentityURI(kind, name string) *url.URL {
	return &url.URL{Scheme: identityScheme, Host: kind, Path: "/" + name}
}

// ServerTLS loads a server certificate and, when clientCAFile is given, verifies client certificates signed by
// it if presented (callers with bearer tokens need none).
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pool, err := loadPool(clientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// ClientTLS loads a client certificate (optional) and the CA that signs servers.
func ClientTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("CA file has no PEM certificates")
	}
	return pool, nil
}

// IsLoopback reports whether a listen address binds only the loopback interface, where plaintext is tolerated
// in development.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
