package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/grpcserver"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

const rawicz = "3022053"

type harness struct {
	client cataloguev1.CatalogueServiceClient
	srv    *server.Server
	store  *store.Store
	logs   *observer.ObservedLogs
	dir    string
}

// start runs the real catalogue (bbolt file in a temp dir, gRPC on loopback, the platform's interceptors).
func start(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	st, err := store.Open(filepath.Join(dir, "catalogue.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, rawicz, log)
	if _, err := srv.LoadIndex(); err != nil {
		t.Fatal(err)
	}
	gs := grpcserver.New(grpcserver.Config{Addr: "127.0.0.1:0", ShutdownGrace: time.Second}, log)
	cataloguev1.RegisterCatalogueServiceServer(gs.GRPC(), srv)
	gs.OnShutdown(srv.Shutdown)
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
	t.Cleanup(func() {
		conn.Close()
		cancel()
		<-done
		st.Close()
	})
	return &harness{client: cataloguev1.NewCatalogueServiceClient(conn), srv: srv, store: st, logs: logs, dir: dir}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func i32(v int32) *int32 { return &v }

// validService is a complete, valid service; tests change one thing at a time.
func validService() *cataloguev1.Service {
	return &cataloguev1.Service{
		DisplayName:            "Klub Seniora „Pod Lipami”",
		Description:            "Spotkania, zajęcia ruchowe i warsztaty dla seniorów z gminy.",
		Url:                    "https://cus.rawicz.example/klub-seniora",
		Email:                  "klub@cus.rawicz.example",
		Phones:                 []*typev1.Phone{{Number: "+48 65 546 23 00", Type: "voice"}},
		ApplicationProcess:     "Zgłoszenie telefoniczne lub w CUS, pokój 12.",
		EligibilityDescription: "Mieszkańcy gminy w wieku 60+.",
		MinimumAge:             i32(60),
		Languages:              []string{"pl"},
		Areas:                  []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, cataloguev1.Area_AREA_CIVIC_ACTIVITY},
		TargetGroups:           []cataloguev1.TargetGroup{cataloguev1.TargetGroup_TARGET_GROUP_SENIORS},
		Locations: []*cataloguev1.Location{{
			Name:        "Dom Kultury",
			Address:     &typev1.Address{Address_1: "ul. Rynek 1", City: "Rawicz", PostalCode: "63-900", Region: "wielkopolskie"},
			TerytCode:   rawicz,
			Coordinates: &typev1.LatLng{Latitude: 51.6094, Longitude: 16.8583},
			OpeningHours: []*cataloguev1.OpeningHours{
				{Day: cataloguev1.Weekday_WEEKDAY_MONDAY, OpensAt: "10:00", ClosesAt: "14:00"},
				{Day: cataloguev1.Weekday_WEEKDAY_THURSDAY, OpensAt: "10:00", ClosesAt: "14:00"},
			},
		}},
		Fee: &cataloguev1.FeeRule{
			PriceGrosze: 500, Unit: cataloguev1.FeeUnit_FEE_UNIT_VISIT,
			LegalBasis: &typev1.Resolution{Number: "XLII/345/2022", AdoptedOn: "2022-05-30"},
			IncomeBands: []*cataloguev1.IncomeBand{
				{FromPercent: 0, ToPercent: i32(150), PayablePercent: 0},
				{FromPercent: 150, PayablePercent: 100},
			},
		},
	}
}

// errorInfo returns the code, ErrorInfo reason and violated fields of an error.
func errorInfo(t *testing.T, err error) (codes.Code, string, []string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	reason := ""
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() != "cus.gov.pl" {
				t.Errorf("ErrorInfo domain = %q", d.GetDomain())
			}
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if reason == "" {
		t.Errorf("error without ErrorInfo: %v", err)
	}
	return st.Code(), reason, fields
}

func create(t *testing.T, h *harness, svc *cataloguev1.Service) *cataloguev1.Service {
	t.Helper()
	out, err := h.client.CreateService(ctx(t), &cataloguev1.CreateServiceRequest{Service: svc})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return out
}

// newServerOver builds a second server over the harness's store, as a restart would.
func newServerOver(t *testing.T, h *harness) *server.Server {
	t.Helper()
	return server.New(h.store, rawicz, zap.NewNop())
}

func grpcStatusError(c codes.Code, msg string) error { return status.Error(c, msg) }
