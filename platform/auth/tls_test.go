package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CUS test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), ca: ca, caKey: key}
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue makes a leaf certificate with the given SAN URIs (client) or IP (server).
func (p *pki) issue(t *testing.T, name string, uris []*url.URL, server bool) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		URIs: uris, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
}

// TestMTLSIdentity runs a TLS gRPC server that records the principal of each call, and calls it as a peer
// instance, as an integration, without a client certificate, and with a certificate from another CA.
func TestMTLSIdentity(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "catalogue", nil, true)
	serverTLS, err := ServerTLS(srvCert, srvKey, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	var seen *Principal
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen = principalFromPeerCert(ctx)
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)), grpc.UnaryInterceptor(record))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln) //nolint:errcheck // ends with Stop
	defer srv.Stop()

	callAs := func(certFile, keyFile, caFile string) (*Principal, error) {
		seen = nil
		ct, err := ClientTLS(certFile, keyFile, caFile)
		if err != nil {
			return nil, err
		}
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(ct)))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return seen, err
	}

	peerCert, peerKey := p.issue(t, "jarocin", []*url.URL{IdentityURI("peer", "3006023")}, false)
	pr, err := callAs(peerCert, peerKey, p.caFile)
	if err != nil || pr == nil || !pr.Has(RolePeer) || pr.TERC != "3006023" || pr.Via != "mtls" {
		t.Fatalf("peer: %+v %v", pr, err)
	}
	intCert, intKey := p.issue(t, "ezd", []*url.URL{IdentityURI("integration", "ezd")}, false)
	if pr, err := callAs(intCert, intKey, p.caFile); err != nil || !pr.Has(RoleIntegration) {
		t.Fatalf("integration: %+v %v", pr, err)
	}
	// The gateway's certificate authenticates the connection, never a role: its anonymous callers stay anonymous.
	gwCert, gwKey := p.issue(t, "gateway", []*url.URL{IdentityURI("service", "gateway")}, false)
	if pr, err := callAs(gwCert, gwKey, p.caFile); err != nil || pr != nil {
		t.Fatalf("service certificate granted a principal: %+v %v", pr, err)
	}
	badPeer, badKey := p.issue(t, "fake", []*url.URL{IdentityURI("peer", "12345")}, false)
	if pr, err := callAs(badPeer, badKey, p.caFile); err != nil || pr != nil {
		t.Fatalf("peer with invalid TERC must not be identified: %+v %v", pr, err)
	}
	if pr, err := callAs("", "", p.caFile); err != nil || pr != nil {
		t.Fatalf("no client certificate: %+v %v", pr, err)
	}
	// A certificate signed by another CA is refused in the handshake.
	other := newPKI(t)
	oc, ok := other.issue(t, "intruder", []*url.URL{IdentityURI("peer", "3022053")}, false)
	if _, err := callAs(oc, ok, p.caFile); err == nil {
		t.Fatal("a client certificate from an unknown CA was accepted")
	}
}
