package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// dial connects as the gateway and the services do (platform/grpcclient): --addr may be one host:port, the
// replicas of a service (host:port,host:port: the load is spread round robin over them) or dns:///name:port, and
// a read that fails UNAVAILABLE on one replica is tried on another. Plaintext: the bench runs on loopback.
func dial(addr string) (*grpc.ClientConn, error) {
	return grpcclient.Dial(addr, insecure.NewCredentials(), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
}

// grpcCommand loads one unary method, or two interleaved (--vs), with closed-loop callers sharing a few
// ClientConns (each one HTTP/2 connection) the same way for every method, so GetService and the health Check
// are compared like for like.
func grpcCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench grpc", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "conns", 64, 10*time.Second, "")
	addr := fs.String("addr", "127.0.0.1:7001", "gRPC address of the catalogue: host:port, host:port,host:port (replicas) or dns:///name:port")
	method := fs.String("method", "getservice", "getservice or health")
	vs := fs.String("vs", "", "a second method (getservice or health) to measure interleaved with --method")
	name := fs.String("name", "", "service name for getservice, services/{id}")
	clientConns := fs.Int("clientconns", 4, "ClientConns (HTTP/2 connections) the callers share round-robin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n := max(1, *clientConns)
	conns := make([]*grpc.ClientConn, n)
	for i := range conns {
		cc, err := dial(*addr)
		if err != nil {
			return err
		}
		defer cc.Close()
		conns[i] = cc
	}
	sharing := fmt.Sprintf("%d callers share %d ClientConn(s) round-robin (caller i uses conn i mod %d), one HTTP/2 connection each; same for every method",
		lf.workers, n, n)
	methods := []string{*method}
	if *vs != "" {
		methods = append(methods, *vs)
	}
	var ts []target
	for i, m := range methods {
		t, err := grpcTarget(m, *name, conns)
		if err != nil {
			return err
		}
		t.desc, t.conns, t.sharing = *addr, n, sharing
		if i == 0 && lf.label != "" {
			t.label = lf.label
		}
		ts = append(ts, t)
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.method)
	}
	fmt.Printf("== %s: %s on %s, %d concurrent callers, warm-up %s, run %s\n", ts[0].label, strings.Join(names, " vs "), *addr,
		lf.workers, lf.warmup, lf.duration)
	fmt.Println("  " + sharing)
	fmt.Println("  " + shareNote())
	_, err := runTargets(ctx, lf, ts)
	return err
}

func grpcTarget(method, name string, conns []*grpc.ClientConn) (target, error) {
	n := len(conns)
	switch method {
	case "getservice":
		if name == "" {
			return target{}, fmt.Errorf("--name is required for getservice")
		}
		clients := make([]cataloguev1.CatalogueServiceClient, n)
		for i, cc := range conns {
			clients[i] = cataloguev1.NewCatalogueServiceClient(cc)
		}
		req := &cataloguev1.GetServiceRequest{Name: name}
		return target{kind: "grpc", label: "grpc-getservice", method: cataloguev1.CatalogueService_GetService_FullMethodName,
			op: func(ctx context.Context, w int) (int, error) {
				s, err := clients[w%n].GetService(ctx, req)
				if err != nil {
					return 0, err
				}
				if s.GetName() != name {
					return 0, fmt.Errorf("GetService returned %q, asked for %q", s.GetName(), name)
				}
				return 0, nil
			}}, nil
	case "health":
		clients := make([]healthpb.HealthClient, n)
		for i, cc := range conns {
			clients[i] = healthpb.NewHealthClient(cc)
		}
		req := &healthpb.HealthCheckRequest{}
		return target{kind: "grpc", label: "grpc-health", method: healthpb.Health_Check_FullMethodName,
			op: func(ctx context.Context, w int) (int, error) {
				resp, err := clients[w%n].Check(ctx, req)
				if err != nil {
					return 0, err
				}
				if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					return 0, fmt.Errorf("health status %s", resp.GetStatus())
				}
				return 0, nil
			}}, nil
	}
	return target{}, fmt.Errorf("method must be getservice or health, got %q", method)
}

// pickCommand prints the name of one real service, the first of ListServices.
func pickCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench pick", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7001", "gRPC address of the catalogue: host:port, host:port,host:port (replicas) or dns:///name:port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cc, err := dial(*addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := cataloguev1.NewCatalogueServiceClient(cc).ListServices(ctx, &cataloguev1.ListServicesRequest{PageSize: 1})
	if err != nil {
		return fmt.Errorf("ListServices: %w", err)
	}
	if len(resp.GetServices()) == 0 {
		return fmt.Errorf("ListServices returned no service; is the catalogue empty?")
	}
	fmt.Println(resp.GetServices()[0].GetName())
	return nil
}
