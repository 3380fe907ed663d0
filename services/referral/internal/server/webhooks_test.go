package server_test

import (
	"context"
	"encoding/json"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/webhook"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// testAllowlist is the harness's --webhook-allow: loopback over http (the receivers of these tests), and a
// name that is never dialled.
var testAllowlist, _ = webhook.ParseAllowlist([]string{"http://127.0.0.1", "hooks.example.org"})

// hookReceiver is a webhook receiver on loopback: it verifies every delivery with the secrets it holds, keeps
// the bodies, and answers as told (a negative status stalls until the sender gives up).
type hookReceiver struct {
	t       *testing.T
	mu      sync.Mutex
	secrets []string
	status  int
	got     []hookDelivery
	srv     *http.Server
	addr    string
	done    chan struct{}
}

type hookDelivery struct {
	ID     string
	Body   string
	Type   string
	Data   map[string]any
	Status int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, status: http.StatusOK}
	r.listen("127.0.0.1:0")
	t.Cleanup(r.close)
	return r
}

func (r *hookReceiver) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	r.done = make(chan struct{})
	srv, done := r.srv, r.done
	go func() { _ = srv.Serve(ln); close(done) }()
}

func (r *hookReceiver) close() {
	if r.srv != nil {
		_ = r.srv.Close()
		<-r.done
		r.srv = nil
	}
}

func (r *hookReceiver) url() string { return "http://" + r.addr + "/cus-hook" }

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(body, &p)
	r.mu.Lock()
	ok := false
	for _, s := range r.secrets {
		ok = ok || webhook.Verify(s, req.Header, body, time.Now(), webhook.DefaultTolerance) == nil
	}
	st := r.status
	r.got = append(r.got, hookDelivery{ID: req.Header.Get(webhook.HeaderID), Body: string(body), Type: p.Type, Data: p.Data, Status: st})
	r.mu.Unlock()
	if !ok {
		r.t.Errorf("a delivery that does not verify: %s", body)
	}
	if st < 0 {
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	w.WriteHeader(st)
}

func (r *hookReceiver) set(status int, secrets ...string) {
	r.mu.Lock()
	r.status = status
	if secrets != nil {
		r.secrets = secrets
	}
	r.mu.Unlock()
}

func (r *hookReceiver) all() []hookDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// ok lists "type status" of the successful deliveries of a resource, in order.
func (r *hookReceiver) ok(resource string) []string {
	var out []string
	for _, d := range r.all() {
		if d.Status >= 200 && d.Status < 300 && d.Data["name"] == resource {
			s, _ := d.Data["status"].(string)
			out = append(out, strings.TrimSpace(d.Type+" "+strings.TrimPrefix(s, "REFERRAL_STATUS_")))
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastHooks(o *server.Options) {
	o.Webhooks.BackoffBase, o.Webhooks.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	o.Webhooks.Timeout = 2 * time.Second
	o.Webhooks.CataloguePoll = 20 * time.Millisecond
}

// A coordinator's webhook gets every change of a referral, signed, in order, with no personal data.
func TestWebhookDeliversReferralEventsSignedInOrder(t *testing.T) {
	h := start(t, fastHooks)
	rcv := newHookReceiver(t)
	w, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{
		Url: rcv.url(), EventTypes: []string{"referral.*"}, Description: "system dziedzinowy"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.GetSecret(), webhook.SecretPrefix) || w.GetState() != referralv1.WebhookState_WEBHOOK_STATE_ACTIVE || w.GetOwner() != "u-coordinator" {
		t.Fatalf("created %v", w)
	}
	rcv.set(http.StatusOK, w.GetSecret())
	p := pesel(t, "850101", 1234)
	res, con, kase := h.seed(t, p, 100000, 2)
	ref := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: ref.GetName()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.AcceptReferral(h.prov(t), &referralv1.AcceptReferralRequest{Name: ref.GetName()}); err != nil {
		t.Fatal(err)
	}
	want := []string{"referral.created REQUESTED", "referral.status_changed RECEIVED", "referral.status_changed ACCEPTED"}
	eventually(t, "three events", func() bool { return len(rcv.ok(ref.GetName())) == 3 })
	if got := rcv.ok(ref.GetName()); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, d := range rcv.all() {
		for _, personal := range []string{p, "Anna", "Testowa", res, "600 000 000"} {
			if strings.Contains(d.Body, personal) {
				t.Fatalf("payload carries personal data %q: %s", personal, d.Body)
			}
		}
		if d.Data["provider"] != "providers/"+providerA || d.Data["service"] != serviceName {
			t.Fatalf("payload %s", d.Body)
		}
	}
	last := rcv.all()[2]
	if last.Data["previousStatus"] != "REFERRAL_STATUS_RECEIVED" {
		t.Fatalf("status change without the previous status: %s", last.Body)
	}
	// The secret is shown once: never by Get or List.
	got, err := h.client.GetWebhook(h.coord(t), &referralv1.GetWebhookRequest{Name: w.GetName()})
	if err != nil || got.GetSecret() != "" {
		t.Fatalf("get: %v, secret %q", err, got.GetSecret())
	}
	list, err := h.client.ListWebhooks(h.coord(t), &referralv1.ListWebhooksRequest{})
	if err != nil || len(list.GetWebhooks()) != 1 || list.GetWebhooks()[0].GetSecret() != "" {
		t.Fatalf("list: %v %v", err, list)
	}
	log, err := h.client.ListWebhookDeliveries(h.coord(t), &referralv1.ListWebhookDeliveriesRequest{Parent: w.GetName()})
	if err != nil || len(log.GetDeliveries()) != 3 || !log.GetDeliveries()[0].GetSuccess() || log.GetDeliveries()[0].GetHttpStatus() != 200 {
		t.Fatalf("delivery log: %v %v", err, log)
	}
}

// Provider staff get the referrals addressed to their provider, not drafts, not another provider's; they
// cannot widen that; an integration principal may subscribe to catalogue changes only.
func TestWebhookScopeFollowsWhoMayRead(t *testing.T) {
	h := start(t, fastHooks)
	rcv := newHookReceiver(t)
	w, err := h.client.CreateWebhook(h.prov(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(), EventTypes: []string{"referral.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if w.GetProvider() != "providers/"+providerA {
		t.Fatalf("provider staff's webhook scoped to %q", w.GetProvider())
	}
	rcv.set(http.StatusOK, w.GetSecret())
	res, con, kase := h.seed(t, pesel(t, "850101", 2345), 100000, 2)
	draft := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)
	ofB, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerB, Agreement: agreementOfB,
		Status: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.SendReferral(h.coord(t), &referralv1.SendReferralRequest{Name: draft.GetName()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the sent referral", func() bool { return len(rcv.ok(draft.GetName())) == 1 })
	// The feed is in revision order and the draft was sent after B's referral was made: had B's been
	// delivered it would be here by now.
	for _, d := range rcv.all() {
		if d.Data["name"] == ofB.GetName() || d.Data["status"] == "REFERRAL_STATUS_DRAFT" {
			t.Fatalf("provider A's webhook got %s", d.Body)
		}
	}
	if got := rcv.ok(draft.GetName()); got[0] != "referral.status_changed REQUESTED" {
		t.Fatalf("got %v", got)
	}

	_, err = h.client.CreateWebhook(h.prov(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(),
		EventTypes: []string{"referral.*"}, Provider: "providers/" + providerB}})
	if status.Code(err) != codes.InvalidArgument || !violates(err, "webhook.provider") {
		t.Fatalf("provider staff subscribing to another provider: %v", err)
	}
	integ := h.as(t, auth.RoleIntegration, "")
	_, err = h.client.CreateWebhook(integ, &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(), EventTypes: []string{"referral.created"}}})
	if status.Code(err) != codes.InvalidArgument || !violates(err, "webhook.event_types") {
		t.Fatalf("integration subscribing to referrals: %v", err)
	}
	if _, err := h.client.CreateWebhook(integ, &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(),
		EventTypes: []string{"catalogue.*"}}}); err != nil {
		t.Fatalf("integration subscribing to the catalogue: %v", err)
	}
	_, err = h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(), EventTypes: []string{"referral.deleted"}}})
	if !violates(err, "webhook.event_types[0]") {
		t.Fatalf("unknown event type: %v", err)
	}
}

// A URL outside the operator's allowlist is INVALID_ARGUMENT naming webhook.url, on create and on update.
func TestWebhookURLOutsideAllowlistRefused(t *testing.T) {
	h := start(t)
	for _, u := range []string{"https://evil.example.net/hook", "http://hooks.example.org/hook", "http://169.254.169.254/latest/meta-data", "not a url"} {
		_, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: u, EventTypes: []string{"referral.*"}}})
		if status.Code(err) != codes.InvalidArgument || !violates(err, "webhook.url") {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on webhook.url", u, err)
		}
	}
	w, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: "https://hooks.example.org/cus", EventTypes: []string{"referral.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.client.UpdateWebhook(h.coord(t), &referralv1.UpdateWebhookRequest{Webhook: &referralv1.Webhook{Name: w.GetName(), Url: "https://10.0.0.1/"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"url"}}})
	if status.Code(err) != codes.InvalidArgument || !violates(err, "webhook.url") {
		t.Fatalf("update to a URL outside the allowlist: %v", err)
	}
	// With no allowlist at all, webhooks are off, and the error says which flag turns them on.
	h2 := start(t, func(o *server.Options) { o.Webhooks.Guard = nil })
	_, err = h2.client.CreateWebhook(h2.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: "https://hooks.example.org/cus", EventTypes: []string{"referral.*"}}})
	if !violates(err, "webhook.url") || !strings.Contains(status.Convert(err).String()+errText(err), "--webhook-allow") {
		t.Fatalf("without an allowlist: %v", err)
	}
}

func errText(err error) string {
	var b strings.Builder
	for _, d := range status.Convert(err).Details() {
		b.WriteString(strings.ReplaceAll(toJSON(d), "\n", " "))
	}
	return b.String()
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// Who sees and changes a webhook: its owner; admin, coordinator and director read every one; only the owner
// or an admin changes it; only the owner rotates its secret. Others get NOT_FOUND.
func TestWebhookOwnership(t *testing.T) {
	h := start(t)
	mine, err := h.client.CreateWebhook(h.prov(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: "https://hooks.example.org/a", EventTypes: []string{"referral.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	tokB := h.mint(auth.TokenRequest{Subject: "u-other-provider", Roles: []auth.Role{auth.RoleProvider}, ProviderID: providerB})
	provB := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tokB)
	if _, err := h.client.GetWebhook(provB, &referralv1.GetWebhookRequest{Name: mine.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another provider's staff reading: %v", err)
	}
	other := h.as(t, auth.RoleIntegration, "")
	if _, err := h.client.GetWebhook(other, &referralv1.GetWebhookRequest{Name: mine.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another principal reading: %v", err)
	}
	if _, err := h.client.DeleteWebhook(other, &referralv1.DeleteWebhookRequest{Name: mine.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another principal deleting: %v", err)
	}
	if l, _ := h.client.ListWebhooks(other, &referralv1.ListWebhooksRequest{}); len(l.GetWebhooks()) != 0 {
		t.Fatalf("another principal lists %v", l)
	}
	if _, err := h.client.GetWebhook(h.coord(t), &referralv1.GetWebhookRequest{Name: mine.GetName()}); err != nil {
		t.Fatalf("a coordinator reads every webhook: %v", err)
	}
	if _, err := h.client.EnableWebhook(h.coord(t), &referralv1.EnableWebhookRequest{Name: mine.GetName()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a coordinator changing another's webhook: %v", err)
	}
	admin := h.as(t, auth.RoleAdmin, "")
	if _, err := h.client.RotateWebhookSecret(admin, &referralv1.RotateWebhookSecretRequest{Name: mine.GetName()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("an admin rotating another's secret (it would see it): %v", err)
	}
	rot, err := h.client.RotateWebhookSecret(h.prov(t), &referralv1.RotateWebhookSecretRequest{Name: mine.GetName(), PreviousSecretGrace: durationpb.New(time.Hour)})
	if err != nil || rot.GetSecret() == mine.GetSecret() || !strings.HasPrefix(rot.GetSecret(), webhook.SecretPrefix) || rot.GetPreviousSecretExpireTime() == nil {
		t.Fatalf("rotate: %v %v", err, rot)
	}
	if _, err := h.client.DeleteWebhook(admin, &referralv1.DeleteWebhookRequest{Name: mine.GetName(), Etag: rot.GetEtag()}); err != nil {
		t.Fatalf("an admin deletes a webhook left behind: %v", err)
	}
	if _, err := h.client.GetWebhook(h.prov(t), &referralv1.GetWebhookRequest{Name: mine.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("deleted: %v", err)
	}
}

// Failing deliveries disable the webhook, with the reason and the log showing why; events keep coming into
// its outbox; EnableWebhook delivers them from where it stopped.
func TestWebhookDisabledAndEnabledWithoutLoss(t *testing.T) {
	h := start(t, fastHooks, func(o *server.Options) { o.Webhooks.MaxFailures, o.Webhooks.FailureWindow = 2, -1 })
	rcv := newHookReceiver(t)
	w, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(), EventTypes: []string{"referral.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	rcv.set(http.StatusInternalServerError, w.GetSecret())
	res, con, kase := h.seed(t, pesel(t, "850101", 3456), 100000, 2)
	ref := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	eventually(t, "disabled", func() bool {
		g, _ := h.client.GetWebhook(h.coord(t), &referralv1.GetWebhookRequest{Name: w.GetName()})
		return g.GetState() == referralv1.WebhookState_WEBHOOK_STATE_DISABLED
	})
	g, _ := h.client.GetWebhook(h.coord(t), &referralv1.GetWebhookRequest{Name: w.GetName()})
	if !strings.Contains(g.GetDisabledReason(), "HTTP 500") || g.GetConsecutiveFailures() != 2 {
		t.Fatalf("disabled webhook %v", g)
	}
	log, _ := h.client.ListWebhookDeliveries(h.coord(t), &referralv1.ListWebhookDeliveriesRequest{Parent: w.GetName()})
	if len(log.GetDeliveries()) != 2 || log.GetDeliveries()[0].GetHttpStatus() != 500 || log.GetDeliveries()[0].GetAttempt() != 2 ||
		log.GetDeliveries()[0].GetLatency() == nil {
		t.Fatalf("log %v", log)
	}
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: ref.GetName()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new event kept", func() bool {
		g, _ := h.client.GetWebhook(h.coord(t), &referralv1.GetWebhookRequest{Name: w.GetName()})
		return g.GetPendingEvents() == 2
	})
	rcv.set(http.StatusNoContent)
	if _, err := h.client.EnableWebhook(h.coord(t), &referralv1.EnableWebhookRequest{Name: w.GetName()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both delivered", func() bool { return len(rcv.ok(ref.GetName())) == 2 })
	if got := rcv.ok(ref.GetName()); !slices.Equal(got, []string{"referral.created REQUESTED", "referral.status_changed RECEIVED"}) {
		t.Fatalf("after enabling: %v", got)
	}
	// Disabling by its owner: nothing is delivered until enabled again.
	d, err := h.client.UpdateWebhook(h.coord(t), &referralv1.UpdateWebhookRequest{Webhook: &referralv1.Webhook{Name: w.GetName(),
		State: referralv1.WebhookState_WEBHOOK_STATE_DISABLED}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"state"}}})
	if err != nil || d.GetState() != referralv1.WebhookState_WEBHOOK_STATE_DISABLED {
		t.Fatalf("disable: %v %v", err, d)
	}
}

// The service stops while a delivery is in flight (the receiver stalls): after a restart on the same data
// file every event is delivered, the interrupted one again with its webhook-id, in order.
func TestWebhookServiceRestartMidDeliveryLosesNothing(t *testing.T) {
	h := start(t, fastHooks)
	rcv := newHookReceiver(t)
	w, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(), EventTypes: []string{"referral.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	rcv.set(-1, w.GetSecret()) // stall
	res, con, kase := h.seed(t, pesel(t, "850101", 4567), 100000, 2)
	ref := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: ref.GetName()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first delivery in flight", func() bool { return len(rcv.all()) == 1 })
	h.stop()

	// The same data file, a new process.
	st, err := store.Open(filepath.Join(h.dir, "referral.db"), testKey, zap.NewNop(), store.WithDataKeys(testRing))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nowhere, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer nowhere.Close()
	opts := server.Options{Webhooks: server.WebhookOptions{Guard: testAllowlist}}
	fastHooks(&opts)
	srv := server.New(st, cataloguev1.NewCatalogueServiceClient(nowhere), providerv1.NewProviderServiceClient(nowhere), zap.NewNop(), opts)
	rcv.set(http.StatusOK)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "both events after the restart", func() bool { return len(rcv.ok(ref.GetName())) == 2 })
	all := rcv.all()
	if all[0].ID != all[1].ID || all[1].Type != "referral.created" {
		t.Fatalf("the interrupted delivery must come again with its id first: %+v", all)
	}
	if got := rcv.ok(ref.GetName()); !slices.Equal(got, []string{"referral.created REQUESTED", "referral.status_changed RECEIVED"}) {
		t.Fatalf("after the restart: %v", got)
	}
}

// The secret is sealed in the data file, like the residents' records.
func TestWebhookSecretNotInDataFileInClear(t *testing.T) {
	h := start(t)
	w, err := h.client.CreateWebhook(h.coord(t), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: "https://hooks.example.org/a", EventTypes: []string{"catalogue.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.stop()
	enginetest.BboltOnly(t, "reads the data file's bytes")
	b, err := os.ReadFile(filepath.Join(h.dir, "referral.db"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(w.GetSecret(), webhook.SecretPrefix)
	if strings.Contains(string(b), key) || strings.Contains(string(b), "hooks.example.org") {
		t.Fatal("the webhook record is in the data file in clear")
	}
}

// changeCatalogue is a catalogue with a change feed in memory.
type changeCatalogue struct {
	fakeCatalogue
	mu      sync.Mutex
	changes []*cataloguev1.Change
	calls   int
}

func (c *changeCatalogue) ListChanges(_ context.Context, r *cataloguev1.ListChangesRequest) (*cataloguev1.ListChangesResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	out := &cataloguev1.ListChangesResponse{NextAfterRevision: r.GetAfterRevision(), LatestRevision: int64(len(c.changes))}
	for _, ch := range c.changes {
		if ch.GetRevision() > r.GetAfterRevision() && len(out.Changes) < int(max(r.GetPageSize(), 1)) {
			out.Changes = append(out.Changes, ch)
			out.NextAfterRevision = ch.GetRevision()
		}
	}
	return out, nil
}

func (c *changeCatalogue) add(name string, typ cataloguev1.ChangeType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, &cataloguev1.Change{Revision: int64(len(c.changes) + 1), Type: typ, ResourceName: name, ChangeTime: timestamppb.Now()})
}

func (c *changeCatalogue) called() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Catalogue changes are followed from the catalogue's change feed (from its newest revision when the first
// webhook wants them), and delivered to an integration's webhook.
func TestWebhookCatalogueChanges(t *testing.T) {
	cat := &changeCatalogue{}
	cat.add("services/0194c050-3022-7053-8000-0000000000aa", cataloguev1.ChangeType_CHANGE_TYPE_UPSERT) // before: not replayed
	h := startWith(t, cat, fastHooks)
	rcv := newHookReceiver(t)
	w, err := h.client.CreateWebhook(h.as(t, auth.RoleIntegration, ""), &referralv1.CreateWebhookRequest{Webhook: &referralv1.Webhook{Url: rcv.url(),
		EventTypes: []string{"catalogue.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	rcv.set(http.StatusOK, w.GetSecret())
	eventually(t, "the catalogue followed", func() bool { return cat.called() >= 2 })
	cat.add("services/0194c050-3022-7053-8000-0000000000bb", cataloguev1.ChangeType_CHANGE_TYPE_UPSERT)
	cat.add("programmes/0194c050-3022-7053-9000-0000000000cc", cataloguev1.ChangeType_CHANGE_TYPE_DELETE)
	eventually(t, "two catalogue events", func() bool { return len(rcv.all()) == 2 })
	got := rcv.all()
	// Different resources: delivered in parallel, in either order.
	slices.SortFunc(got, func(a, b hookDelivery) int { return strings.Compare(b.Type, a.Type) })
	if got[0].Type != "catalogue.service.changed" || got[0].Data["name"] != "services/0194c050-3022-7053-8000-0000000000bb" ||
		got[1].Type != "catalogue.programme.changed" || got[1].Data["deleted"] != true {
		t.Fatalf("catalogue events %+v", got)
	}
}
