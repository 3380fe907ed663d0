package grpcclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// Over TLS each replica of a list is verified against the host it is listed as: one replica's certificate
// names only "localhost", the other's only 127.0.0.1, and both are called. (Verifying every replica against the
// first one's name would refuse the second.)
func TestListVerifiesEachReplicaByItsName(t *testing.T) {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CUS test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(r *replica, dns []string, ips []net.IP) string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: r.name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			DNSNames: dns, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12,
		})))
		cataloguev1.RegisterCatalogueServiceServer(s, r)
		healthpb.RegisterHealthServer(s, health.NewServer())
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Serve(l) }()
		t.Cleanup(s.Stop)
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}
	a, b := &replica{name: "a"}, &replica{name: "b"}
	pa := serve(a, []string{"localhost"}, nil)
	pb := serve(b, nil, []net.IP{net.ParseIP("127.0.0.1")})

	creds, err := grpcclient.Credentials(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpcclient.Dial("localhost:"+pa+",127.0.0.1:"+pb, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := cataloguev1.NewCatalogueServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(a.seen()) == 0 || len(b.seen()) == 0 {
		if _, err := c.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{}, grpc.WaitForReady(true)); err != nil {
			t.Fatalf("a call over TLS: %v (a answered %d, b %d)", err, len(a.seen()), len(b.seen()))
		}
	}
}
