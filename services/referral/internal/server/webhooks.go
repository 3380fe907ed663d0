package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/fieldmask"
	"github.com/cus-suite/cus/platform/webhook"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// Webhooks (docs/webhooks.md): subscriptions `webhooks/{uuid}` to referral events (from the referral change
// feed) and catalogue changes (from the catalogue's ListChanges), delivered by platform/webhook from the
// outbox in this service's data file. Who may subscribe to what follows who may read it: referral events
// need a role that reads referrals (coordinator, director; provider staff only the referrals addressed to
// their provider, never drafts); catalogue changes are published data, open to every role that may
// subscribe. The payloads carry no personal data: a referral's name, revision, status, service and provider.

// WebhookOptions configure webhooks.
type WebhookOptions struct {
	// Guard is the operator's allowlist (--webhook-allow); nil or empty refuses every subscription.
	Guard *webhook.Guard
	// Timeout of one delivery. Default 10s.
	Timeout time.Duration
	// MaxFailures consecutive failures spanning FailureWindow disable a webhook. Defaults 20 and 24h.
	MaxFailures   int
	FailureWindow time.Duration
	// Concurrency of deliveries. Default 8.
	Concurrency int
	// CataloguePoll is how often the catalogue's change feed is read while a webhook wants catalogue events.
	// Default 15s.
	CataloguePoll time.Duration
	// BackoffBase and BackoffMax of retries (tests shorten them). Defaults 5s and 1h.
	BackoffBase, BackoffMax time.Duration
	// RotationGrace is the default time the previous secret keeps signing after a rotation. Default 24h.
	RotationGrace time.Duration
}

// The event types.
const (
	EventReferralCreated       = "referral.created"
	EventReferralStatusChanged = "referral.status_changed"
	EventReferralUpdated       = "referral.updated"
	EventServiceChanged        = "catalogue.service.changed"
	EventProgrammeChanged      = "catalogue.programme.changed"
)

var eventTypes = []string{EventReferralCreated, EventReferralStatusChanged, EventReferralUpdated, "referral.*",
	EventServiceChanged, EventProgrammeChanged, "catalogue.*"}

const webhookPrefix = "webhooks/"

// maxRotationGrace caps how long a previous secret may keep signing.
const maxRotationGrace = 7 * 24 * time.Hour

func newWebhooks(s *Server) *webhook.Engine {
	o := s.opts.Webhooks
	if o.MaxFailures <= 0 {
		o.MaxFailures = 20
	}
	if o.FailureWindow == 0 {
		o.FailureWindow = 24 * time.Hour
	}
	return s.st.Webhooks(webhook.Options{Guard: o.Guard, Timeout: o.Timeout, MaxFailures: o.MaxFailures, FailureWindow: max(o.FailureWindow, 0),
		Concurrency: o.Concurrency, BackoffBase: o.BackoffBase, BackoffMax: o.BackoffMax, RotationGrace: o.RotationGrace,
		Logger: s.log.Named("webhooks")})
}

// runWebhooks delivers and follows the feeds until ctx ends; Run joins it, and the store closes after.
func (s *Server) runWebhooks(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.hooks.Run(ctx) })
	wg.Go(func() { _ = s.hooks.Follow(ctx, referralSource{s}) })
	wg.Go(func() { _ = s.hooks.Follow(ctx, catalogueSource{s}) })
	wg.Wait()
}

// --- sources ---

// referralSource is the referral change feed.
type referralSource struct{ s *Server }

func (referralSource) Name() string   { return "referrals" }
func (referralSource) Prefix() string { return "referral." }
func (referralSource) Local() bool    { return true }

func (r referralSource) Latest(context.Context) (int64, error) { return r.s.st.Revision(), nil }

func (r referralSource) Read(_ context.Context, after int64) ([]webhook.Event, int64, error) {
	evs, next, err := r.s.st.ReferralFeed(after, 200)
	if err != nil {
		return nil, after, err
	}
	out := make([]webhook.Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, referralEvent(e))
	}
	return out, next, nil
}

func (r referralSource) Wait(ctx context.Context, after int64) { r.s.st.WaitChange(ctx, after) }

// referralData is the payload's data of a referral event: what provider staff may read of it, and nothing of
// the resident.
type referralData struct {
	Name           string `json:"name"`
	Revision       int64  `json:"revision"`
	Etag           string `json:"etag"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus,omitempty"`
	Service        string `json:"service"`
	Provider       string `json:"provider"`
	UpdateTime     string `json:"updateTime"`
}

// referralEvent maps a change of the feed to an event: created when its history's first transition is this
// change, status_changed when its last transition is, otherwise updated.
func referralEvent(e *referralv1.ReferralEvent) webhook.Event {
	r := e.GetReferral()
	typ, prev := EventReferralUpdated, ""
	if h := r.GetHistory(); len(h) > 0 {
		last := h[len(h)-1]
		if last.GetTime().AsTime().Equal(r.GetUpdateTime().AsTime()) {
			typ = EventReferralStatusChanged
			if last.GetFrom() == referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED {
				typ = EventReferralCreated
			} else {
				prev = last.GetFrom().String()
			}
		}
	}
	data, _ := json.Marshal(referralData{Name: r.GetName(), Revision: e.GetRevision(), Etag: r.GetEtag(), Status: r.GetStatus().String(),
		PreviousStatus: prev, Service: r.GetService(), Provider: r.GetProvider(), UpdateTime: r.GetUpdateTime().AsTime().Format(time.RFC3339Nano)})
	visible := "false"
	if r.GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT {
		visible = "true"
	}
	return webhook.Event{ID: "msg_referral_" + strconv.FormatInt(e.GetRevision(), 10), Type: typ, Resource: r.GetName(),
		Time: r.GetUpdateTime().AsTime(), Attrs: map[string]string{"provider": r.GetProvider(), "visible_to_provider": visible}, Data: data}
}

// catalogueSource is the catalogue's change feed, read with the service's token.
type catalogueSource struct{ s *Server }

func (catalogueSource) Name() string   { return "catalogue" }
func (catalogueSource) Prefix() string { return "catalogue." }
func (catalogueSource) Local() bool    { return false }

func (c catalogueSource) list(ctx context.Context, after int64, n int32) (*cataloguev1.ListChangesResponse, error) {
	cctx, cancel := c.s.outgoing(ctx)
	defer cancel()
	resp, err := c.s.catalogue.ListChanges(cctx, &cataloguev1.ListChangesRequest{AfterRevision: after, PageSize: n})
	if status.Code(err) == codes.OutOfRange {
		return nil, fmt.Errorf("%w: %w", webhook.ErrCursorLost, err)
	}
	return resp, err
}

func (c catalogueSource) Latest(ctx context.Context) (int64, error) {
	resp, err := c.list(ctx, 0, 1)
	return resp.GetLatestRevision(), err
}

type catalogueData struct {
	Name       string `json:"name"`
	Revision   int64  `json:"revision"`
	Deleted    bool   `json:"deleted"`
	ChangeTime string `json:"changeTime"`
}

func (c catalogueSource) Read(ctx context.Context, after int64) ([]webhook.Event, int64, error) {
	resp, err := c.list(ctx, after, 200)
	if err != nil {
		return nil, after, err
	}
	var out []webhook.Event
	for _, ch := range resp.GetChanges() {
		typ := ""
		switch {
		case strings.HasPrefix(ch.GetResourceName(), "services/"):
			typ = EventServiceChanged
		case strings.HasPrefix(ch.GetResourceName(), "programmes/"):
			typ = EventProgrammeChanged
		default:
			continue
		}
		data, _ := json.Marshal(catalogueData{Name: ch.GetResourceName(), Revision: ch.GetRevision(),
			Deleted: ch.GetType() == cataloguev1.ChangeType_CHANGE_TYPE_DELETE, ChangeTime: ch.GetChangeTime().AsTime().Format(time.RFC3339Nano)})
		out = append(out, webhook.Event{ID: "msg_catalogue_" + strconv.FormatInt(ch.GetRevision(), 10), Type: typ, Resource: ch.GetResourceName(),
			Time: ch.GetChangeTime().AsTime(), Data: data})
	}
	return out, max(resp.GetNextAfterRevision(), after), nil
}

func (c catalogueSource) Wait(ctx context.Context, _ int64) {
	poll := c.s.opts.Webhooks.CataloguePoll
	if poll <= 0 {
		poll = 15 * time.Second
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// --- who may ---

// Meta keys of a subscription: the owner's roles and provider when it was created, which bound what it gets.
const (
	metaRoles    = "roles"
	metaProvider = "provider_id"
)

func readsAllReferrals(roles string) bool {
	for r := range strings.SplitSeq(roles, ",") {
		if auth.Role(r) == auth.RoleCoordinator || auth.Role(r) == auth.RoleDirector {
			return true
		}
	}
	return false
}

// managesWebhooks: may read every webhook (admin, coordinator, director).
func managesWebhooks(p *auth.Principal) bool {
	return p.Has(auth.RoleAdmin) || p.Has(auth.RoleCoordinator) || p.Has(auth.RoleDirector)
}

func canSeeWebhook(p *auth.Principal, w *webhook.Subscription) bool {
	return w.Owner == p.Subject || managesWebhooks(p)
}

// canChangeWebhook: its owner, or an admin (who runs the instance: a webhook left behind by someone gone).
func canChangeWebhook(p *auth.Principal, w *webhook.Subscription) bool {
	return w.Owner == p.Subject || p.Has(auth.RoleAdmin)
}

// scope validates event types and the provider filter for an owner, and returns the subscription's filter.
func scope(meta map[string]string, types []string, provider string) (map[string]string, error) {
	var v apierr.Violations
	if len(types) == 0 {
		v.Add("webhook.event_types", "required: one or more of %s", strings.Join(eventTypes, ", "))
	}
	wantsReferrals := false
	for i, t := range types {
		switch {
		case !slices.Contains(eventTypes, t):
			v.Add(fmt.Sprintf("webhook.event_types[%d]", i), "unknown event type %q; known: %s", t, strings.Join(eventTypes, ", "))
		case strings.HasPrefix(t, "referral."):
			wantsReferrals = true
		}
	}
	roles, own := meta[metaRoles], meta[metaProvider]
	filter := map[string]string{}
	switch {
	case readsAllReferrals(roles):
		if provider != "" {
			if _, err := domain.IDFromName("webhook.provider", domain.ProviderPrefix, provider); err != nil {
				return nil, err
			}
			filter["referral.:provider"] = provider
		}
	case own != "" && strings.Contains(roles, string(auth.RoleProvider)):
		mine := domain.ProviderPrefix + strings.ToLower(own)
		if provider != "" && provider != mine {
			v.Add("webhook.provider", "provider staff subscribe only to referrals addressed to their provider, %s", mine)
		}
		// Drafts are never the provider's to see.
		filter["referral.:provider"], filter["referral.:visible_to_provider"] = mine, "true"
	default:
		if wantsReferrals {
			v.Add("webhook.event_types", "referral events need a role that reads referrals (coordinator, director, provider staff); this caller may subscribe to catalogue.* events")
		}
		if provider != "" {
			v.Add("webhook.provider", "only with referral events")
		}
	}
	return filter, v.Err()
}

// --- mapping ---

func webhookName(id string) string { return webhookPrefix + id }

func webhookEtag(w *webhook.Subscription) string { return "w" + strconv.FormatInt(w.Version, 36) }

func tsOpt(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// toProto maps a subscription; the secret only when withSecret (Create, RotateSecret).
func toProto(w *webhook.Subscription, withSecret bool) *referralv1.Webhook {
	out := &referralv1.Webhook{Name: webhookName(w.ID), Url: w.URL, EventTypes: w.EventTypes, Provider: w.Filter["referral.:provider"],
		Description: w.Description, DisabledReason: w.DisabledReason, DisableTime: tsOpt(w.DisableTime), Owner: w.Owner,
		ConsecutiveFailures: int32(min(w.ConsecutiveFailures, 1<<30)), PendingEvents: w.Pending, DroppedEvents: w.Dropped,
		LastSuccessTime: tsOpt(w.LastSuccessTime), CreateTime: tsOpt(w.CreateTime), UpdateTime: tsOpt(w.UpdateTime), Etag: webhookEtag(w)}
	out.State = referralv1.WebhookState_WEBHOOK_STATE_ACTIVE
	if w.State == webhook.StateDisabled {
		out.State = referralv1.WebhookState_WEBHOOK_STATE_DISABLED
	}
	if len(w.Secrets) > 1 {
		out.PreviousSecretExpireTime = tsOpt(w.Secrets[1].Expire)
	}
	if withSecret && len(w.Secrets) > 0 {
		out.Secret = w.Secrets[0].Value
	}
	return out
}

// webhookFor reads a webhook the caller may see (NOT_FOUND otherwise, as if it did not exist).
func (s *Server) webhookFor(ctx context.Context, field, name string, change bool) (*webhook.Subscription, error) {
	id, err := domain.IDFromName(field, webhookPrefix, name)
	if err != nil {
		return nil, err
	}
	w, err := s.hooks.Get(id)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	if !canSeeWebhook(p, w) || change && !canChangeWebhook(p, w) {
		if canSeeWebhook(p, w) {
			return nil, apierr.New(apierr.KindPermissionDenied, "NOT_WEBHOOK_OWNER", "only its owner or an admin may change a webhook")
		}
		return nil, webhook.ErrNotFound.With("resource", name)
	}
	return w, nil
}

// auditWebhook records a change of a webhook (who subscribed whom to what: a flow of referral data).
func (s *Server) auditWebhook(ctx context.Context, action, name, reason string) {
	if err := s.st.Audit(context.WithoutCancel(ctx), entry(ctx, action, name, referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, reason)); err != nil {
		s.log.Error("audit entry not written", zap.String("action", action), zap.Error(err))
	}
}

// --- RPCs ---

// CreateWebhook implements the RPC.
func (s *Server) CreateWebhook(ctx context.Context, req *referralv1.CreateWebhookRequest) (*referralv1.Webhook, error) {
	in := req.GetWebhook()
	if in == nil {
		return nil, apierr.Invalid("webhook", "required")
	}
	id := ""
	if req.GetWebhookId() != "" {
		if uuid.Validate(req.GetWebhookId()) != nil {
			return nil, apierr.Invalid("webhook_id", "must be a UUID")
		}
		id = strings.ToLower(req.GetWebhookId())
	}
	if len(in.GetDescription()) > 200 {
		return nil, apierr.Invalid("webhook.description", "at most 200 characters")
	}
	if err := s.hooks.CheckURL("webhook.url", in.GetUrl()); err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	meta := map[string]string{metaRoles: roleString(p), metaProvider: p.ProviderID}
	filter, err := scope(meta, in.GetEventTypes(), in.GetProvider())
	if err != nil {
		return nil, err
	}
	w, err := s.hooks.Create(ctx, webhook.Subscription{ID: id, URL: in.GetUrl(), EventTypes: slices.Clone(in.GetEventTypes()), Filter: filter,
		Description: in.GetDescription(), Owner: p.Subject, Meta: meta})
	if err != nil {
		return nil, err
	}
	s.auditWebhook(ctx, "CreateWebhook", webhookName(w.ID), "subscribed "+strings.Join(w.EventTypes, ","))
	return toProto(w, true), nil
}

// GetWebhook implements the RPC.
func (s *Server) GetWebhook(ctx context.Context, req *referralv1.GetWebhookRequest) (*referralv1.Webhook, error) {
	w, err := s.webhookFor(ctx, "name", req.GetName(), false)
	if err != nil {
		return nil, err
	}
	return toProto(w, false), nil
}

// ListWebhooks implements the RPC.
func (s *Server) ListWebhooks(ctx context.Context, req *referralv1.ListWebhooksRequest) (*referralv1.ListWebhooksResponse, error) {
	n, err := pageSize(req.GetPageSize(), 50, 500)
	if err != nil {
		return nil, err
	}
	after := req.GetPageToken()
	if after != "" && uuid.Validate(after) != nil {
		return nil, apierr.ErrInvalidPageToken
	}
	p := auth.FromContext(ctx)
	ws, more, err := s.hooks.List(after, n, func(w *webhook.Subscription) bool { return canSeeWebhook(p, w) })
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListWebhooksResponse{}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, toProto(w, false))
	}
	if more {
		out.NextPageToken = ws[len(ws)-1].ID
	}
	return out, nil
}

var webhookUpdatable = fieldmask.Rules{OutputOnly: map[string]bool{"disabled_reason": true, "disable_time": true, "secret": true, "owner": true,
	"consecutive_failures": true, "pending_events": true, "dropped_events": true, "last_success_time": true,
	"previous_secret_expire_time": true, "create_time": true, "update_time": true}}

// UpdateWebhook implements the RPC.
func (s *Server) UpdateWebhook(ctx context.Context, req *referralv1.UpdateWebhookRequest) (*referralv1.Webhook, error) {
	patch := req.GetWebhook()
	if patch == nil {
		return nil, apierr.Invalid("webhook", "required")
	}
	w, err := s.webhookFor(ctx, "webhook.name", patch.GetName(), true)
	if err != nil {
		return nil, err
	}
	paths, err := webhookUpdatable.Paths("update_mask", patch, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	masked := map[string]bool{}
	defaulted := len(req.GetUpdateMask().GetPaths()) == 0 || slices.Equal(req.GetUpdateMask().GetPaths(), []string{"*"})
	for _, p := range paths {
		masked[p.Top()] = true
	}
	if defaulted {
		masked = map[string]bool{"url": true, "event_types": true, "provider": true, "description": true}
	}
	if masked["state"] && patch.GetState() != referralv1.WebhookState_WEBHOOK_STATE_DISABLED {
		return nil, apierr.Invalid("webhook.state", "only DISABLED may be set; EnableWebhook re-enables")
	}
	if len(patch.GetDescription()) > 200 {
		return nil, apierr.Invalid("webhook.description", "at most 200 characters")
	}
	etag := patch.GetEtag()
	out, err := s.hooks.Update(ctx, w.ID, func(cur *webhook.Subscription) error {
		if etag != "" && etag != webhookEtag(cur) {
			return apierr.ErrStaleEtag
		}
		types, provider := cur.EventTypes, cur.Filter["referral.:provider"]
		if masked["event_types"] {
			types = slices.Clone(patch.GetEventTypes())
		}
		if masked["provider"] {
			provider = patch.GetProvider()
		}
		filter, err := scope(cur.Meta, types, provider)
		if err != nil {
			return err
		}
		cur.EventTypes, cur.Filter = types, filter
		if masked["url"] {
			cur.URL = patch.GetUrl()
		}
		if masked["description"] {
			cur.Description = patch.GetDescription()
		}
		if masked["state"] {
			cur.State, cur.DisabledReason = webhook.StateDisabled, "disabled by "+auth.FromContext(ctx).Subject
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.auditWebhook(ctx, "UpdateWebhook", webhookName(w.ID), "updated")
	return toProto(out, false), nil
}

// DeleteWebhook implements the RPC.
func (s *Server) DeleteWebhook(ctx context.Context, req *referralv1.DeleteWebhookRequest) (*emptypb.Empty, error) {
	w, err := s.webhookFor(ctx, "name", req.GetName(), true)
	if err != nil {
		return nil, err
	}
	if req.GetEtag() != "" && req.GetEtag() != webhookEtag(w) {
		return nil, apierr.ErrStaleEtag
	}
	if err := s.hooks.Delete(ctx, w.ID); err != nil {
		return nil, err
	}
	s.auditWebhook(ctx, "DeleteWebhook", webhookName(w.ID), "deleted")
	return &emptypb.Empty{}, nil
}

// EnableWebhook implements the RPC.
func (s *Server) EnableWebhook(ctx context.Context, req *referralv1.EnableWebhookRequest) (*referralv1.Webhook, error) {
	w, err := s.webhookFor(ctx, "name", req.GetName(), true)
	if err != nil {
		return nil, err
	}
	out, err := s.hooks.Enable(ctx, w.ID)
	if err != nil {
		return nil, err
	}
	s.auditWebhook(ctx, "EnableWebhook", webhookName(w.ID), "enabled")
	return toProto(out, false), nil
}

// RotateWebhookSecret implements the RPC. Only the owner: the response shows the new secret.
func (s *Server) RotateWebhookSecret(ctx context.Context, req *referralv1.RotateWebhookSecretRequest) (*referralv1.Webhook, error) {
	w, err := s.webhookFor(ctx, "name", req.GetName(), true)
	if err != nil {
		return nil, err
	}
	if w.Owner != auth.FromContext(ctx).Subject {
		return nil, apierr.New(apierr.KindPermissionDenied, "NOT_WEBHOOK_OWNER", "only the webhook's owner rotates its secret (the response shows it)")
	}
	grace := time.Duration(0) // the default
	if g := req.GetPreviousSecretGrace(); g != nil {
		if err := g.CheckValid(); err != nil || g.AsDuration() < 0 || g.AsDuration() > maxRotationGrace {
			return nil, apierr.Invalid("previous_secret_grace", "between 0 and 7 days")
		}
		grace = g.AsDuration()
		if grace == 0 {
			grace = -1 // at once
		}
	}
	out, err := s.hooks.RotateSecret(ctx, w.ID, grace)
	if err != nil {
		return nil, err
	}
	s.auditWebhook(ctx, "RotateWebhookSecret", webhookName(w.ID), "secret rotated")
	return toProto(out, true), nil
}

// ListWebhookDeliveries implements the RPC.
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *referralv1.ListWebhookDeliveriesRequest) (*referralv1.ListWebhookDeliveriesResponse, error) {
	w, err := s.webhookFor(ctx, "parent", req.GetParent(), false)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(req.GetPageSize(), 50, 100)
	if err != nil {
		return nil, err
	}
	var before int64
	if t := req.GetPageToken(); t != "" {
		if before, err = strconv.ParseInt(t, 10, 64); err != nil || before <= 0 {
			return nil, apierr.ErrInvalidPageToken
		}
	}
	log, more, err := s.hooks.Deliveries(w.ID, before, n)
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListWebhookDeliveriesResponse{}
	for _, a := range log {
		out.Deliveries = append(out.Deliveries, &referralv1.WebhookDelivery{EventId: a.EventID, EventType: a.EventType, Resource: a.Resource,
			AttemptTime: tsOpt(a.Time), Attempt: int32(min(a.Attempt, 1<<30)), HttpStatus: int32(a.HTTPStatus), Latency: durationpb.New(a.Latency),
			Error: a.Error, Success: a.Success})
	}
	if more && len(log) > 0 {
		out.NextPageToken = strconv.FormatInt(log[len(log)-1].Seq, 10)
	}
	return out, nil
}
