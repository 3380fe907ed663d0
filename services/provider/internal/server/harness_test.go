package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/plid"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/provider/internal/server"
	"github.com/cus-suite/cus/services/provider/internal/store"
)

const rawicz = "3022053"

// testNow is the harness's "today" (a Monday in June 2026, in Warsaw), so agreement periods in tests do not
// depend on when the tests run.
var testNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

type harness struct {
	client   providerv1.ProviderServiceClient
	grpcAddr string
	store    *store.Store
	logs     *observer.ObservedLogs
	mint     func(auth.TokenRequest) string

	mu     sync.Mutex
	tokens map[string]string
}

// start runs the real registry: a bbolt file in a temp dir, gRPC on loopback, and the production interceptor
// chain with authentication (development key) and the service's Policy.
func start(t testing.TB, opts ...server.Option) *harness {
	t.Helper()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	st, err := store.Open(filepath.Join(dir, "provider.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, log, append([]server.Option{server.WithClock(func() time.Time { return testNow })}, opts...)...)
	flags := grpcserver.SecurityFlags{DevKeysDir: filepath.Join(dir, "dev"), ClockSkew: 30 * time.Second}
	sec, err := flags.Build(server.Policy)
	if err != nil {
		t.Fatal(err)
	}
	// 5 MiB as in the app's default: an import of 4 MiB must fit.
	gs := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second, MaxRecvMsgBytes: 5 << 20,
		Auth: sec.Auth, Limits: sec.Limits}, log)
	providerv1.RegisterProviderServiceServer(gs.GRPC(), srv)
	ls, err := gs.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gs.Serve(ctx, ls) }()
	conn, err := grpc.NewClient(ls.GRPC.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); cancel(); <-done; st.Close() })
	key, err := auth.EnsureDevKey(filepath.Join(dir, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(r auth.TokenRequest) string {
		tok, err := auth.Mint(key, r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return &harness{client: providerv1.NewProviderServiceClient(conn), grpcAddr: ls.GRPC.Addr().String(), store: st, logs: logs, mint: mint, tokens: map[string]string{}}
}

// as returns a context calling as role (provider staff: bound to providerID).
func (h *harness) as(t testing.TB, role auth.Role, providerID ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	if role == auth.RoleAnonymous {
		return ctx
	}
	req := auth.TokenRequest{Subject: "test-" + string(role), Roles: []auth.Role{role}}
	if role == auth.RoleProvider {
		req.ProviderID = providerID[0]
		req.Subject += "-" + providerID[0]
	}
	if role == auth.RolePeer {
		req.TERC = "3006023"
	}
	h.mu.Lock()
	tok, ok := h.tokens[req.Subject]
	if !ok {
		tok = h.mint(req)
		h.tokens[req.Subject] = tok
	}
	h.mu.Unlock()
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// admin is the context of an admin caller.
func (h *harness) admin(t testing.TB) context.Context { return h.as(t, auth.RoleAdmin) }

// errorInfo returns the code, ErrorInfo reason and metadata, and the violated fields with their reasons.
func errorInfo(t testing.TB, err error) (codes.Code, string, map[string]string, map[string]string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("not a status error: %v", err)
	}
	reason := ""
	var meta map[string]string
	fields := map[string]string{}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() != "cus.gov.pl" {
				t.Errorf("ErrorInfo domain = %q", d.GetDomain())
			}
			reason, meta = d.GetReason(), d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields[v.GetField()] = v.GetReason()
			}
		}
	}
	if reason == "" {
		t.Errorf("error without ErrorInfo: %v", err)
	}
	return st.Code(), reason, meta, fields
}

// violationText is the description of the violation of field, or "".
func violationText(err error, field string) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return v.GetDescription()
				}
			}
		}
	}
	return ""
}

// wantErr checks the code and reason of an error.
func wantErr(t testing.TB, err error, code codes.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %v %s", code, reason)
	}
	c, r, _, _ := errorInfo(t, err)
	if c != code || r != reason {
		t.Fatalf("got %v %s (%v), want %v %s", c, r, err, code, reason)
	}
}

var idSeq atomic.Int64

// nextNIP returns a fresh valid NIP; nextREGON and nextKRS likewise, so tests never collide on identifiers.
func nextNIP() string {
	for {
		first := fmt.Sprintf("7%08d", idSeq.Add(1))
		if c, err := plid.NIPCheckDigit(first); err == nil {
			return first + string(c)
		}
	}
}

func nextREGON() string {
	first := fmt.Sprintf("6%07d", idSeq.Add(1))
	c, _ := plid.REGONCheckDigit(first)
	return first + string(c)
}

func nextKRS() string { return fmt.Sprintf("%010d", 500000+idSeq.Add(1)) }

// validProvider is a complete, valid association; tests change one thing at a time.
func validProvider() *providerv1.Provider {
	return &providerv1.Provider{
		DisplayName: "Stowarzyszenie „Sąsiedzi” w Rawiczu",
		LegalName:   "Stowarzyszenie Pomocy Sąsiedzkiej „Sąsiedzi” w Rawiczu",
		Description: "Pomoc sąsiedzka dla seniorów.",
		Kind:        providerv1.ProviderKind_PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION,
		Nip:         nextNIP(),
		Regon:       nextREGON(),
		Krs:         nextKRS(),
		Address:     &typev1.Address{Address_1: "ul. Lipowa 3", City: "Rawicz", PostalCode: "63-900", Region: "wielkopolskie"},
		TerytCode:   rawicz,
		Phones:      []*typev1.Phone{{Number: "+48 65 546 11 22", Type: "voice"}},
		Email:       "biuro@sasiedzi.example",
		Website:     "https://sasiedzi.example",
		Accreditations: []*providerv1.Accreditation{{
			Name: "Status organizacji pożytku publicznego", Issuer: "Sąd Rejonowy Poznań", ValidFrom: "2020-01-01",
		}},
	}
}

// validAgreement is a valid open-call agreement for a demo catalogue service.
func validAgreement(capacity int32) *providerv1.Agreement {
	return &providerv1.Agreement{
		DisplayName:     "Usługi sąsiedzkie 2026",
		ReferenceNumber: "CUS.524.7.2026",
		Service:         "services/0194c050-3022-7053-8000-000000000020",
		LegalBasis:      providerv1.LegalBasis_LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL,
		StartDate:       "2026-01-01",
		EndDate:         "2026-12-31",
		Capacity: &providerv1.Capacity{Amount: capacity, Unit: providerv1.CapacityUnit_CAPACITY_UNIT_HOURS,
			Period: providerv1.CapacityPeriod_CAPACITY_PERIOD_WEEK},
		Funding: &providerv1.Funding{Source: providerv1.FundingSource_FUNDING_SOURCE_GMINA_BUDGET},
	}
}

func (h *harness) createProvider(t testing.TB, p *providerv1.Provider) *providerv1.Provider {
	t.Helper()
	out, err := h.client.CreateProvider(h.admin(t), &providerv1.CreateProviderRequest{Provider: p})
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	return out
}

func (h *harness) createAgreement(t testing.TB, provider string, a *providerv1.Agreement) *providerv1.Agreement {
	t.Helper()
	out, err := h.client.CreateAgreement(h.admin(t), &providerv1.CreateAgreementRequest{Parent: provider, Agreement: a})
	if err != nil {
		t.Fatalf("create agreement: %v", err)
	}
	return out
}

// providerWithAgreement registers a provider with one agreement of the given capacity.
func (h *harness) providerWithAgreement(t testing.TB, capacity int32) (*providerv1.Provider, *providerv1.Agreement) {
	t.Helper()
	p := h.createProvider(t, validProvider())
	return p, h.createAgreement(t, p.GetName(), validAgreement(capacity))
}
