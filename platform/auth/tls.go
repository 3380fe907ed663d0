package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
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
// Each kind has its own CA (ClientCAs): a SAN is honoured only when the certificate verifies against the CA of
// its kind, so the CA of a neighbouring gmina, trusted to identify its instance as a peer, cannot mint an
// integration identity of this gmina. Certificates without a SAN honoured this way authenticate nobody (the call
// continues as anonymous or with its token).
const identityScheme = "cus"

// Identity kinds of a cus:// SAN.
const (
	KindService     = "service"
	KindPeer        = "peer"
	KindIntegration = "integration"
)

// ClientCAFiles name the PEM files of the CAs of each identity kind; empty means no client of that kind.
type ClientCAFiles struct {
	Service     string // --client-ca
	Peer        string // --peer-ca
	Integration string // --integration-ca
}

// ClientCAs are the CA pools of each identity kind, and their union, which the TLS handshake accepts.
type ClientCAs struct {
	byKind map[string]*x509.CertPool
	union  *x509.CertPool
}

// LoadClientCAs reads the CA files. A CA may not be trusted both for peers and for integrations: peers are
// other gminas' CAs, and one of them must never be able to speak as a system of this gmina.
func LoadClientCAs(files ClientCAFiles) (*ClientCAs, error) {
	c := &ClientCAs{byKind: map[string]*x509.CertPool{}}
	seen := map[string]string{} // raw CA certificate -> kind
	for _, k := range []struct{ kind, flag, file string }{
		{KindService, "client-ca", files.Service}, {KindPeer, "peer-ca", files.Peer}, {KindIntegration, "integration-ca", files.Integration},
	} {
		if k.file == "" {
			continue
		}
		certs, err := loadCerts(k.file)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", k.flag, err)
		}
		pool := x509.NewCertPool()
		for _, cert := range certs {
			if other, ok := seen[string(cert.Raw)]; ok && (other == KindPeer && k.kind == KindIntegration) {
				return nil, fmt.Errorf("--%s: CA %q is also trusted for peers (--peer-ca); a peer's CA must not issue integration identities", k.flag, cert.Subject.CommonName)
			}
			seen[string(cert.Raw)] = k.kind
			pool.AddCert(cert)
			if c.union == nil {
				c.union = x509.NewCertPool()
			}
			c.union.AddCert(cert)
		}
		c.byKind[k.kind] = pool
	}
	return c, nil
}

// Principal maps the verified client certificate of a connection to a principal, or nil: its cus:// SAN is
// honoured only if the certificate verifies against the CA pool of the SAN's kind.
func (c *ClientCAs) Principal(ti credentials.TLSInfo) *Principal {
	if c == nil || len(ti.State.VerifiedChains) == 0 || len(ti.State.PeerCertificates) == 0 {
		return nil
	}
	leaf := ti.State.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, cert := range ti.State.PeerCertificates[1:] {
		inter.AddCert(cert)
	}
	for _, u := range leaf.URIs {
		kind, name, ok := parseIdentity(u)
		if !ok {
			continue
		}
		pool := c.byKind[kind]
		if pool == nil {
			continue
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			continue
		}
		switch kind {
		case KindPeer:
			if plid.ValidateTERC(name) != nil {
				continue
			}
			return &Principal{Subject: "peer:" + name, Roles: []Role{RolePeer}, TERC: name, Via: "mtls"}
		case KindIntegration:
			return &Principal{Subject: "integration:" + name, Roles: []Role{RoleIntegration}, Via: "mtls"}
		case KindService:
			// A service of this instance (the gateway) proves only that the connection is ours; it acts for its
			// callers, whose token (or its absence) decides what they may do. Granting the certificate a role
			// would let every anonymous user behind the gateway act with it.
			return nil
		}
	}
	return nil
}

func parseIdentity(u *url.URL) (kind, name string, ok bool) {
	if u.Scheme != identityScheme {
		return "", "", false
	}
	kind, name = u.Host, strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return kind, name, true
}

// IdentityURI builds the SAN of an identity, for certificate tooling and tests.
func IdentityURI(kind, name string) *url.URL {
	return &url.URL{Scheme: identityScheme, Host: kind, Path: "/" + name}
}

// ServerTLS loads a server certificate and, when cas holds any CA, verifies client certificates signed by one
// of them if presented (callers with bearer tokens need none). Which identity a certificate proves is decided
// per call by ClientCAs.Principal.
func ServerTLS(certFile, keyFile string, cas *ClientCAs) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cas != nil && cas.union != nil {
		cfg.ClientCAs = cas.union
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
	certs, err := loadCerts(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func loadCerts(file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA file %s: %w", file, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("CA file has no PEM certificates")
	}
	return out, nil
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
