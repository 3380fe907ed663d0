package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/webhook"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

func TestWebhookFlagsValidated(t *testing.T) {
	for _, c := range []struct {
		set  func(*Config)
		flag string
	}{
		{func(c *Config) { c.WebhookAllow = "http://hooks.example.org" }, "webhook-allow"}, // plain http off loopback
		{func(c *Config) { c.WebhookAllow = "https://*bad.org/" }, "webhook-allow"},
		{func(c *Config) { c.WebhookTimeout = -time.Second }, "webhook-timeout"},
		{func(c *Config) { c.WebhookMaxFailures = -1 }, "webhook-max-failures"},
	} {
		cfg := testConfig(t.TempDir())
		c.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: %v, want an error naming --%s", cfg.WebhookAllow, err, c.flag)
		}
	}
	cfg := testConfig(t.TempDir())
	cfg.WebhookAllow = "hooks.example.org, https://crm.gmina.pl/cus/, http://127.0.0.1:8085, 10.0.0.0/8"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The process wires the flags to the workers: with --webhook-allow, a webhook made over gRPC receives the
// change of a demo referral, signed with the secret CreateWebhook returned.
func TestWebhookDeliveredByTheProcess(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var secret string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, b, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		bodies = append(bodies, string(b))
	}))
	defer rcv.Close()

	cfg := testConfig(t.TempDir())
	cfg.WebhookAllow = "http://127.0.0.1"
	addr, _, stop := serve(t, cfg)
	defer stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := referralv1.NewReferralServiceClient(conn)
	key, err := auth.EnsureDevKey(cfg.Security.DevKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	as := func(r auth.TokenRequest) context.Context {
		tok, err := auth.Mint(key, r)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	coord := as(auth.TokenRequest{Subject: "koordynator", Roles: []auth.Role{auth.RoleCoordinator}})
	w, err := c.CreateWebhook(coord, &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.URL + "/hook", EventTypes: []string{"referral.status_changed"}}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = w.GetSecret()
	mu.Unlock()
	list, err := c.ListReferrals(coord, &referralv1.ListReferralsRequest{Status: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED})
	if err != nil || len(list.GetReferrals()) == 0 {
		t.Fatalf("no requested demo referral: %v", err)
	}
	ref := list.GetReferrals()[0]
	prov := as(auth.TokenRequest{Subject: "swiadczeniodawca", Roles: []auth.Role{auth.RoleProvider}, ProviderID: strings.TrimPrefix(ref.GetProvider(), "providers/")})
	if _, err := c.ReceiveReferral(prov, &referralv1.ReceiveReferralRequest{Name: ref.GetName()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(bodies[0], `"type":"referral.status_changed"`) || !strings.Contains(bodies[0], ref.GetName()) ||
		!strings.Contains(bodies[0], "REFERRAL_STATUS_RECEIVED") {
		t.Fatalf("delivery %s", bodies[0])
	}
}
