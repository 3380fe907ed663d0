package grpcclient_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cus-suite/cus/platform/grpcclient"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// BenchmarkUnaryCall is what the dialler costs a call, beside a bare grpc.NewClient to the same loopback server:
// the retry machinery (it keeps the request until the answer comes) and, for creates, the request id it fills in.
// Run them side by side: go test -run '^$' -bench UnaryCall -count 4 ./grpcclient/
func BenchmarkUnaryCall(b *testing.B) {
	r := &replica{name: "a"}
	addr := serve(b, r)
	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	dialled, err := grpcclient.Dial(addr, insecure.NewCredentials())
	if err != nil {
		b.Fatal(err)
	}
	defer dialled.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
	}{{"NewClient", plain}, {"grpcclient", dialled}, {"grpcclient-again", dialled}, {"NewClient-again", plain}} {
		c := cataloguev1.NewCatalogueServiceClient(tc.conn)
		b.Run("Get/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.GetService(ctx, &cataloguev1.GetServiceRequest{Name: "services/x"}); err != nil {
					b.Fatal(err)
				}
			}
			r.reset()
		})
		b.Run("Create/"+tc.name, func(b *testing.B) {
			req := &cataloguev1.CreateServiceRequest{Service: &cataloguev1.Service{DisplayName: "Klub Seniora"}}
			for b.Loop() {
				if _, err := c.CreateService(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			r.reset()
		})
	}
}
