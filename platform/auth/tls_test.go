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
	"strings"
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

// TestMTLSIdentity runs a TLS gRPC server that records the principal of each call, with one CA per identity
// kind, and calls it as a peer instance, as an integration, as the gateway, without a client certificate, with
// a certificate naming a kind its CA is not trusted for, and with a certificate from an unknown CA.
func TestMTLSIdentity(t *testing.T) {
	svcCA, peerCA, intCA := newPKI(t), newPKI(t), newPKI(t)
	cas, err := LoadClientCAs(ClientCAFiles{Service: svcCA.caFile, Peer: peerCA.caFile, Integration: intCA.caFile})
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey := svcCA.issue(t, "catalogue", nil, true)
	serverTLS, err := ServerTLS(srvCert, srvKey, cas)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{ClientCAs: cas}
	var seen *Principal
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		seen = a.principalFromPeerCert(ctx)
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)), grpc.UnaryInterceptor(record))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln) //nolint:errcheck // ends with Stop
	defer srv.Stop()

	callAs := func(certFile, keyFile string) (*Principal, error) {
		seen = nil
		ct, err := ClientTLS(certFile, keyFile, svcCA.caFile)
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

	peerCert, peerKey := peerCA.issue(t, "jarocin", []*url.URL{IdentityURI("peer", "3006023")}, false)
	pr, err := callAs(peerCert, peerKey)
	if err != nil || pr == nil || !pr.Has(RolePeer) || pr.TERC != "3006023" || pr.Via != "mtls" {
		t.Fatalf("peer: %+v %v", pr, err)
	}
	intCert, intKey := intCA.issue(t, "ezd", []*url.URL{IdentityURI("integration", "ezd")}, false)
	if pr, err := callAs(intCert, intKey); err != nil || pr == nil || !pr.Has(RoleIntegration) || pr.Subject != "integration:ezd" {
		t.Fatalf("integration from the integration CA: %+v %v", pr, err)
	}
	// A neighbouring gmina's CA, trusted for federation, mints an integration identity: the handshake passes
	// (its CA is trusted), but the certificate proves no integration, nor anything else.
	forged, forgedKey := peerCA.issue(t, "forged", []*url.URL{IdentityURI("integration", "ezd")}, false)
	if pr, err := callAs(forged, forgedKey); err != nil || pr != nil {
		t.Fatalf("integration SAN from the peer CA was honoured: %+v %v", pr, err)
	}
	// Nor may the integration CA (or this instance's own service CA) speak for another gmina.
	for name, ca := range map[string]*pki{"integration": intCA, "service": svcCA} {
		c, k := ca.issue(t, "fake-peer-"+name, []*url.URL{IdentityURI("peer", "3006023")}, false)
		if pr, err := callAs(c, k); err != nil || pr != nil {
			t.Fatalf("peer SAN from the %s CA was honoured: %+v %v", name, pr, err)
		}
	}
	// A certificate naming two identities proves only the one its CA vouches for.
	both, bothKey := intCA.issue(t, "both", []*url.URL{IdentityURI("peer", "3006023"), IdentityURI("integration", "ezd")}, false)
	if pr, err := callAs(both, bothKey); err != nil || pr == nil || pr.Has(RolePeer) || !pr.Has(RoleIntegration) {
		t.Fatalf("two SANs: %+v %v", pr, err)
	}
	// The gateway's certificate authenticates the connection, never a role: its anonymous callers stay anonymous.
	gwCert, gwKey := svcCA.issue(t, "gateway", []*url.URL{IdentityURI("service", "gateway")}, false)
	if pr, err := callAs(gwCert, gwKey); err != nil || pr != nil {
		t.Fatalf("service certificate granted a principal: %+v %v", pr, err)
	}
	badPeer, badKey := peerCA.issue(t, "fake", []*url.URL{IdentityURI("peer", "12345")}, false)
	if pr, err := callAs(badPeer, badKey); err != nil || pr != nil {
		t.Fatalf("peer with invalid TERC must not be identified: %+v %v", pr, err)
	}
	if pr, err := callAs("", ""); err != nil || pr != nil {
		t.Fatalf("no client certificate: %+v %v", pr, err)
	}
	// A certificate signed by another CA is refused in the handshake.
	other := newPKI(t)
	oc, ok := other.issue(t, "intruder", []*url.URL{IdentityURI("peer", "3022053")}, false)
	if _, err := callAs(oc, ok); err == nil {
		t.Fatal("a client certificate from an unknown CA was accepted")
	}
	// Without CAs configured, no certificate proves anything.
	if pr := (*ClientCAs)(nil).Principal(credentials.TLSInfo{}); pr != nil {
		t.Fatalf("nil CAs: %+v", pr)
	}
}

// TestPeerCANotAlsoIntegrationCA: one CA trusted for both kinds would bring back the confusion the split
// removes, so it is refused at start.
func TestPeerCANotAlsoIntegrationCA(t *testing.T) {
	ca := newPKI(t)
	if _, err := LoadClientCAs(ClientCAFiles{Peer: ca.caFile, Integration: ca.caFile}); err == nil || !strings.Contains(err.Error(), "--integration-ca") {
		t.Fatalf("same CA for peers and integrations: %v", err)
	}
	if _, err := LoadClientCAs(ClientCAFiles{Service: ca.caFile, Integration: ca.caFile}); err != nil {
		t.Fatalf("this instance's CA may issue both service and integration certificates: %v", err)
	}
}
