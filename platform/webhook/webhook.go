// Package webhook is the suite's delivery engine of webhooks: subscriptions to a host service's events, an
// outbox persisted in the host's data file (platform/storage), at-least-once delivery in order per resource with
// exponential backoff, subscriptions disabled after repeated failures and re-enabled where they stopped, a
// bounded delivery log, secret rotation, Standard Webhooks signatures (sign.go), and the operator's allowlist
// with its connect-time SSRF guard (guard.go). It knows no service's types: a host maps its resources to Events
// (Enqueue inside its own write transaction, or a Source followed with a persisted cursor) and its API resource
// to Subscription.
//
// Guarantees: an event fanned out to a subscription stays in the outbox until a delivery of it got a 2xx
// answer, whatever crashes in between (so a receiver may see it twice: dedupe by webhook-id); an event for a
// resource is not sent before the earlier ones for the same resource of the same subscription succeeded;
// different resources go in parallel on a bounded pool of workers.
package webhook

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
)

// The buckets of the engine, declared by the host with its own (storage.Options.Buckets).
const (
	// BucketSubscriptions: subscription id -> Subscription (JSON, sealed by the host's Sealer: it holds the secrets).
	BucketSubscriptions storage.Bucket = "webhook_subscriptions"
	// BucketOutbox: subscription id + "/" + 8-byte sequence -> an event awaiting delivery (JSON).
	BucketOutbox storage.Bucket = "webhook_outbox"
	// BucketLog: subscription id + "/" + 8-byte sequence -> one delivery attempt (JSON, no payload).
	BucketLog storage.Bucket = "webhook_log"
	// BucketMeta: "seq" -> the last sequence; "cursor/<source>" -> a followed source's revision;
	// "pending/<id>", "dropped/<id>" -> counters of a subscription.
	BucketMeta storage.Bucket = "webhook_meta"
)

// Buckets lists the engine's buckets.
var Buckets = []storage.Bucket{BucketSubscriptions, BucketOutbox, BucketLog, BucketMeta}

// State of a subscription.
type State string

// The states.
const (
	StateActive   State = "ACTIVE"
	StateDisabled State = "DISABLED"
)

// Secret is a signing secret; Expire is zero for the current one and set on the previous one during a rotation.
type Secret struct {
	Value  string    `json:"value"`
	Expire time.Time `json:"expire,omitzero"`
}

// Subscription is one webhook. Filter and EventTypes decide which events it gets; Meta is the host's (who owns
// it, in which capacity); the engine keeps the rest. A Filter key "attr" requires every event to carry that
// attribute value; a key "prefix:attr" requires it only of events whose type starts with prefix (e.g.
// "referral.:provider" scopes referral events to one provider and leaves the catalogue's public ones alone).
type Subscription struct {
	ID          string            `json:"id"`
	URL         string            `json:"url"`
	EventTypes  []string          `json:"event_types"`
	Filter      map[string]string `json:"filter,omitempty"`
	Description string            `json:"description,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	State       State             `json:"state"`
	// DisabledReason says why the engine (or a caller) disabled it.
	DisabledReason      string    `json:"disabled_reason,omitempty"`
	DisableTime         time.Time `json:"disable_time,omitzero"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	FirstFailureTime    time.Time `json:"first_failure_time,omitzero"`
	LastSuccessTime     time.Time `json:"last_success_time,omitzero"`
	// Secrets, newest first. Only Create and RotateSecret return them to a caller.
	Secrets    []Secret  `json:"secrets"`
	CreateTime time.Time `json:"create_time"`
	UpdateTime time.Time `json:"update_time"`
	// Version grows with every change (the host's etag).
	Version int64 `json:"version"`

	// Pending and Dropped are read from counters, not stored in the record.
	Pending int64 `json:"-"`
	Dropped int64 `json:"-"`
}

// Wants says whether the subscription gets events of type t: a type listed, or a "prefix.*" covering it.
func (s *Subscription) Wants(t string) bool {
	for _, w := range s.EventTypes {
		if w == t || strings.HasSuffix(w, ".*") && strings.HasPrefix(t, strings.TrimSuffix(w, "*")) {
			return true
		}
	}
	return false
}

func (s *Subscription) matches(ev *Event) bool {
	if !s.Wants(ev.Type) {
		return false
	}
	for k, v := range s.Filter {
		if scope, attr, scoped := strings.Cut(k, ":"); scoped {
			if !strings.HasPrefix(ev.Type, scope) {
				continue
			}
			k = attr
		}
		if ev.Attrs[k] != v {
			return false
		}
	}
	return true
}

// Event is one thing that happened, fanned out to the subscriptions that want it.
type Event struct {
	// ID is the webhook-id receivers dedupe by; the engine assigns one when empty.
	ID string `json:"id"`
	// Type, e.g. "referral.status_changed".
	Type string `json:"type"`
	// Resource orders delivery: events of one resource go out in the order they were enqueued.
	Resource string `json:"resource"`
	// Time the event happened.
	Time time.Time `json:"time"`
	// Attrs are matched against subscriptions' filters; never sent.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Data is the payload's "data" object. It must hold nothing a subscriber may not read.
	Data json.RawMessage `json:"data"`
}

// pending is an outbox entry.
type pending struct {
	Event       Event     `json:"event"`
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// Attempt is one line of a subscription's delivery log. It carries no payload (the payload may name a
// resident's referral): the event's id, type and resource, what the receiver answered and how fast.
type Attempt struct {
	Seq        int64         `json:"seq"`
	EventID    string        `json:"event_id"`
	EventType  string        `json:"event_type"`
	Resource   string        `json:"resource"`
	Time       time.Time     `json:"time"`
	Attempt    int           `json:"attempt"`
	HTTPStatus int           `json:"http_status,omitempty"`
	Latency    time.Duration `json:"latency"`
	Error      string        `json:"error,omitempty"`
	Success    bool          `json:"success"`
}

// Sealer encrypts the subscription records (they hold the signing secrets) the way the host encrypts its
// other records: the engine stores Seal's output and gives it back to Open with the same bucket and key.
type Sealer interface {
	Seal(b storage.Bucket, key, plain []byte) ([]byte, error)
	Open(b storage.Bucket, key, sealed []byte) ([]byte, error)
}

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	// Guard is the allowlist; nil allows nothing.
	Guard *Guard
	// Sealer of subscription records; nil stores them as they are (tests of the engine only).
	Sealer Sealer
	// Timeout of one delivery (connect, TLS, request, answer). Default 10s.
	Timeout time.Duration
	// Concurrency: deliveries in flight at once, across subscriptions. Default 8.
	Concurrency int
	// BackoffBase and BackoffMax: the wait before retry n is BackoffBase*2^(n-1), capped at BackoffMax, with
	// jitter (between half and all of it). Defaults 5s and 1h.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxFailures consecutive failed deliveries, spanning at least FailureWindow, disable a subscription.
	// Defaults 15 and 0 (the count alone).
	MaxFailures   int
	FailureWindow time.Duration
	// LogSize: delivery log lines kept per subscription. Default 100.
	LogSize int
	// MaxPending: events kept per subscription awaiting delivery (a disabled one keeps collecting them, to
	// resume without loss when re-enabled); beyond it new events for it are dropped and counted. Default 10000.
	MaxPending int
	// RotationGrace: how long the previous secret still signs after a rotation. Default 24h.
	RotationGrace time.Duration
	// UserAgent of deliveries. Default "CUS-Webhooks/1".
	UserAgent string
	Logger    *zap.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Engine delivers the webhooks of one host.
type Engine struct {
	be     *storage.Backend
	opts   Options
	log    *zap.Logger
	client *http.Client

	wakeMu sync.Mutex
	wakeCh chan struct{}
}

// New returns an engine storing in be, which must have been opened with Buckets declared.
func New(be *storage.Backend, opts Options) *Engine {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 5 * time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = time.Hour
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 15
	}
	if opts.LogSize <= 0 {
		opts.LogSize = 100
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10000
	}
	if opts.RotationGrace <= 0 {
		opts.RotationGrace = 24 * time.Hour
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "CUS-Webhooks/1"
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Guard == nil {
		opts.Guard = &Guard{}
	}
	return &Engine{be: be, opts: opts, log: opts.Logger, client: opts.Guard.Client(opts.Timeout), wakeCh: make(chan struct{})}
}

// Errors of the engine.
var (
	ErrNotFound = apierr.New(apierr.KindNotFound, "WEBHOOK_NOT_FOUND", "no such webhook")
	ErrActive   = apierr.New(apierr.KindFailedPrecondition, "WEBHOOK_ACTIVE", "the webhook is already active")
)

// CheckURL validates a target URL against the allowlist, as an INVALID_ARGUMENT naming field.
func (e *Engine) CheckURL(field, raw string) error {
	if _, err := e.opts.Guard.CheckURL(raw); err != nil {
		return apierr.Invalid(field, err.Error())
	}
	return nil
}

// Poke wakes the delivery loop: call it after committing a transaction that called Enqueue.
func (e *Engine) Poke() {
	e.wakeMu.Lock()
	close(e.wakeCh)
	e.wakeCh = make(chan struct{})
	e.wakeMu.Unlock()
}

func (e *Engine) woken() <-chan struct{} {
	e.wakeMu.Lock()
	defer e.wakeMu.Unlock()
	return e.wakeCh
}

// --- records ---

func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func seqKey(id string, seq int64) []byte { return append([]byte(id+"/"), u64(seq)...) }

func nextSeq(tx storage.Tx) int64 {
	var n int64
	if v := tx.Get(BucketMeta, []byte("seq")); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n++
	_ = tx.Put(BucketMeta, []byte("seq"), u64(n))
	return n
}

func counter(tx storage.ReadTx, name, id string) int64 {
	if v := tx.Get(BucketMeta, []byte(name+"/"+id)); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func addCounter(tx storage.Tx, name, id string, d int64) error {
	n := max(counter(tx, name, id)+d, 0)
	if n == 0 {
		return tx.Delete(BucketMeta, []byte(name+"/"+id))
	}
	return tx.Put(BucketMeta, []byte(name+"/"+id), u64(n))
}

func (e *Engine) putSub(tx storage.Tx, s *Subscription) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if e.opts.Sealer != nil {
		if b, err = e.opts.Sealer.Seal(BucketSubscriptions, []byte(s.ID), b); err != nil {
			return err
		}
	}
	return tx.Put(BucketSubscriptions, []byte(s.ID), b)
}

func (e *Engine) decodeSub(tx storage.ReadTx, k, v []byte) (*Subscription, error) {
	if e.opts.Sealer != nil {
		var err error
		if v, err = e.opts.Sealer.Open(BucketSubscriptions, k, v); err != nil {
			return nil, err
		}
	}
	s := &Subscription{}
	if err := json.Unmarshal(v, s); err != nil {
		return nil, err
	}
	s.Pending, s.Dropped = counter(tx, "pending", s.ID), counter(tx, "dropped", s.ID)
	return s, nil
}

func (e *Engine) getSub(tx storage.ReadTx, id string) (*Subscription, error) {
	v := tx.Get(BucketSubscriptions, []byte(id))
	if v == nil {
		return nil, ErrNotFound.With("resource", id)
	}
	return e.decodeSub(tx, []byte(id), v)
}

// inForce returns the secrets that sign now, newest first.
func (s *Subscription) inForce(now time.Time) []string {
	var out []string
	for _, sec := range s.Secrets {
		if sec.Expire.IsZero() || now.Before(sec.Expire) {
			out = append(out, sec.Value)
		}
	}
	return out
}

// --- subscriptions ---

// Create stores a new subscription (ID given or a new UUIDv7; URL checked; State ACTIVE) with a new secret,
// which the returned copy's Secrets[0] holds: the only time, with RotateSecret, that a caller sees it.
func (e *Engine) Create(ctx context.Context, s Subscription) (*Subscription, error) {
	if err := e.CheckURL("webhook.url", s.URL); err != nil {
		return nil, err
	}
	if s.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		s.ID = id.String()
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	now := e.opts.Now().UTC()
	s.Secrets = []Secret{{Value: secret}}
	s.State, s.DisabledReason, s.DisableTime, s.ConsecutiveFailures, s.FirstFailureTime = StateActive, "", time.Time{}, 0, time.Time{}
	s.CreateTime, s.UpdateTime, s.Version = now, now, 1
	err = e.be.Update(ctx, func(tx storage.Tx) error {
		if tx.Get(BucketSubscriptions, []byte(s.ID)) != nil {
			return apierr.New(apierr.KindAlreadyExists, "WEBHOOK_EXISTS", "a webhook with this id exists").With("resource", s.ID)
		}
		return e.putSub(tx, &s)
	})
	if err != nil {
		return nil, err
	}
	e.Poke() // a follower idle until a subscription wants its source
	return &s, nil
}

// Get reads a subscription (secrets included: the host must not show them).
func (e *Engine) Get(id string) (s *Subscription, err error) {
	err = e.be.View(func(tx storage.ReadTx) error {
		s, err = e.getSub(tx, id)
		return err
	})
	return s, err
}

// List returns up to limit subscriptions with ids after `after` for which keep (nil: all) is true, and whether
// more follow.
func (e *Engine) List(after string, limit int, keep func(*Subscription) bool) (out []*Subscription, more bool, err error) {
	err = e.be.View(func(tx storage.ReadTx) error {
		return tx.Scan(BucketSubscriptions, []byte(after+"\x00"), func(k, v []byte) (bool, error) {
			s, err := e.decodeSub(tx, k, v)
			if err != nil {
				return false, err
			}
			if keep != nil && !keep(s) {
				return true, nil
			}
			if len(out) == limit {
				more = true
				return false, nil
			}
			out = append(out, s)
			return true, nil
		})
	})
	return out, more, err
}

// Update applies mutate to a subscription in one transaction (the URL, when changed, is checked again); mutate
// may change URL, EventTypes, Filter, Description and Meta, and may set State to DISABLED (a pause by the
// owner); re-enabling goes through Enable.
func (e *Engine) Update(ctx context.Context, id string, mutate func(*Subscription) error) (out *Subscription, err error) {
	err = e.be.Update(ctx, func(tx storage.Tx) error {
		s, err := e.getSub(tx, id)
		if err != nil {
			return err
		}
		before := *s
		if err := mutate(s); err != nil {
			return err
		}
		if s.URL != before.URL {
			if err := e.CheckURL("webhook.url", s.URL); err != nil {
				return err
			}
		}
		// What the engine keeps is not the caller's to change.
		s.ID, s.Secrets, s.CreateTime, s.ConsecutiveFailures, s.FirstFailureTime, s.LastSuccessTime =
			before.ID, before.Secrets, before.CreateTime, before.ConsecutiveFailures, before.FirstFailureTime, before.LastSuccessTime
		switch {
		case s.State == StateDisabled && before.State != StateDisabled:
			s.DisableTime = e.opts.Now().UTC()
			if s.DisabledReason == "" {
				s.DisabledReason = "disabled by a caller"
			}
		case s.State != StateDisabled && before.State == StateDisabled:
			s.State, s.DisabledReason, s.DisableTime = before.State, before.DisabledReason, before.DisableTime // Enable does that
		default:
			s.State, s.DisabledReason, s.DisableTime = before.State, before.DisabledReason, before.DisableTime
		}
		s.UpdateTime, s.Version = e.opts.Now().UTC(), before.Version+1
		out = s
		return e.putSub(tx, s)
	})
	return out, err
}

// Delete removes a subscription with its outbox and delivery log.
func (e *Engine) Delete(ctx context.Context, id string) error {
	return e.be.Update(ctx, func(tx storage.Tx) error {
		if tx.Get(BucketSubscriptions, []byte(id)) == nil {
			return ErrNotFound.With("resource", id)
		}
		for _, b := range []storage.Bucket{BucketOutbox, BucketLog} {
			var keys [][]byte
			if err := tx.ScanPrefix(b, []byte(id+"/"), func(k, _ []byte) (bool, error) {
				keys = append(keys, append([]byte(nil), k...))
				return true, nil
			}); err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.Delete(b, k); err != nil {
					return err
				}
			}
		}
		_ = tx.Delete(BucketMeta, []byte("pending/"+id))
		_ = tx.Delete(BucketMeta, []byte("dropped/"+id))
		return tx.Delete(BucketSubscriptions, []byte(id))
	})
}

// Enable re-activates a disabled subscription: its failure count starts again, and the events kept while it
// was disabled are delivered from where it stopped, in order, at once.
func (e *Engine) Enable(ctx context.Context, id string) (out *Subscription, err error) {
	err = e.be.Update(ctx, func(tx storage.Tx) error {
		s, err := e.getSub(tx, id)
		if err != nil {
			return err
		}
		if s.State == StateActive {
			return ErrActive.With("resource", id)
		}
		s.State, s.DisabledReason, s.DisableTime, s.ConsecutiveFailures, s.FirstFailureTime = StateActive, "", time.Time{}, 0, time.Time{}
		s.UpdateTime, s.Version = e.opts.Now().UTC(), s.Version+1
		// Due now: the backoff of the failures before the disabling is over.
		type kv struct {
			k []byte
			p pending
		}
		var due []kv
		if err := tx.ScanPrefix(BucketOutbox, []byte(id+"/"), func(k, v []byte) (bool, error) {
			var p pending
			if err := json.Unmarshal(v, &p); err != nil {
				return false, err
			}
			if !p.NextAttempt.IsZero() {
				p.NextAttempt = time.Time{}
				due = append(due, kv{append([]byte(nil), k...), p})
			}
			return true, nil
		}); err != nil {
			return err
		}
		for _, d := range due {
			b, _ := json.Marshal(d.p)
			if err := tx.Put(BucketOutbox, d.k, b); err != nil {
				return err
			}
		}
		out = s
		return e.putSub(tx, s)
	})
	if err == nil {
		e.Poke()
	}
	return out, err
}

// RotateSecret gives the subscription a new secret and keeps the previous one signing for grace (0: the
// engine's RotationGrace; negative: not at all), so receivers switch without a failed delivery. Older secrets
// are dropped. The returned copy's Secrets[0] is the new secret.
func (e *Engine) RotateSecret(ctx context.Context, id string, grace time.Duration) (out *Subscription, err error) {
	if grace == 0 {
		grace = e.opts.RotationGrace
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	now := e.opts.Now().UTC()
	err = e.be.Update(ctx, func(tx storage.Tx) error {
		s, err := e.getSub(tx, id)
		if err != nil {
			return err
		}
		next := []Secret{{Value: secret}}
		if grace > 0 && len(s.Secrets) > 0 {
			next = append(next, Secret{Value: s.Secrets[0].Value, Expire: now.Add(grace)})
		}
		s.Secrets = next
		s.UpdateTime, s.Version = now, s.Version+1
		out = s
		return e.putSub(tx, s)
	})
	return out, err
}

// Deliveries returns a subscription's delivery log, newest first, before sequence `before` (0: from the
// newest), at most limit lines, and whether older ones follow.
func (e *Engine) Deliveries(id string, before int64, limit int) (out []Attempt, more bool, err error) {
	err = e.be.View(func(tx storage.ReadTx) error {
		if tx.Get(BucketSubscriptions, []byte(id)) == nil {
			return ErrNotFound.With("resource", id)
		}
		var all []Attempt
		if err := tx.ScanPrefix(BucketLog, []byte(id+"/"), func(_, v []byte) (bool, error) {
			var a Attempt
			if err := json.Unmarshal(v, &a); err != nil {
				return false, err
			}
			if before == 0 || a.Seq < before {
				all = append(all, a)
			}
			return true, nil
		}); err != nil {
			return err
		}
		slices.Reverse(all)
		if len(all) > limit {
			all, more = all[:limit], true
		}
		out = all
		return nil
	})
	return out, more, err
}

// --- the outbox ---

// Enqueue fans ev out to the subscriptions that want it, inside the host's write transaction tx: the event is
// in the outbox if and only if the change that caused it committed. Call Poke after the commit.
func (e *Engine) Enqueue(tx storage.Tx, ev Event) error {
	if ev.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		ev.ID = "msg_" + strings.ReplaceAll(id.String(), "-", "")
	}
	if ev.Time.IsZero() {
		ev.Time = e.opts.Now().UTC()
	}
	var subs []*Subscription
	if err := tx.Scan(BucketSubscriptions, nil, func(k, v []byte) (bool, error) {
		s, err := e.decodeSub(tx, k, v)
		if err != nil {
			return false, err
		}
		if s.matches(&ev) {
			subs = append(subs, s)
		}
		return true, nil
	}); err != nil {
		return err
	}
	for _, s := range subs {
		if s.Pending >= int64(e.opts.MaxPending) {
			if err := addCounter(tx, "dropped", s.ID, 1); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(pending{Event: ev})
		if err != nil {
			return err
		}
		if err := tx.Put(BucketOutbox, seqKey(s.ID, nextSeq(tx)), b); err != nil {
			return err
		}
		if err := addCounter(tx, "pending", s.ID, 1); err != nil {
			return err
		}
	}
	return nil
}

// Source is a host's change feed the engine follows with a persisted cursor (Follow).
type Source interface {
	// Name keys the cursor; stable across restarts.
	Name() string
	// Prefix of the event types it produces, e.g. "catalogue.".
	Prefix() string
	// Local says the feed is the host's own (cheap to read): it is followed always, so a subscription gets
	// every change committed after it was made. A remote feed is read only while a subscription wants its
	// events, from its newest revision when the first one does (its changes before then are not replayed).
	Local() bool
	// Latest is the newest revision, where following starts when there is no cursor.
	Latest(ctx context.Context) (int64, error)
	// Read returns the events after a revision (a bounded batch) and the revision they reach. A cursor the
	// source can no longer serve (compacted away) is an error wrapping ErrCursorLost.
	Read(ctx context.Context, after int64) (events []Event, next int64, err error)
	// Wait returns when more may be readable after after, or when ctx ends.
	Wait(ctx context.Context, after int64)
}

// ErrCursorLost: the source no longer has the changes after the cursor; following restarts at Latest, and
// what was missed is logged.
var ErrCursorLost = errors.New("webhook: the source's changes after the cursor are gone")

// Follow reads src from its persisted cursor and enqueues its events, moving the cursor in the same
// transaction, until ctx ends: after a crash it resumes where the last commit left it, and nothing is fanned
// out twice or lost. Run it under the host's worker group.
func (e *Engine) Follow(ctx context.Context, src Source) error {
	key := []byte("cursor/" + src.Name())
	failures := 0
	for ctx.Err() == nil {
		cursor, ok, wanted, err := e.cursor(key, src.Prefix())
		if err == nil {
			switch {
			case !wanted && !src.Local():
				if ok {
					err = e.be.Update(ctx, func(tx storage.Tx) error { return tx.Delete(BucketMeta, key) })
				}
				if err == nil {
					// Until a subscription wants it: Create pokes.
					wake := e.woken()
					t := time.NewTimer(5 * time.Second)
					select {
					case <-ctx.Done():
					case <-wake:
					case <-t.C:
					}
					t.Stop()
					continue
				}
			case !ok:
				var latest int64
				if latest, err = src.Latest(ctx); err == nil {
					if err = e.be.Update(ctx, func(tx storage.Tx) error { return tx.Put(BucketMeta, key, u64(latest)) }); err == nil {
						continue
					}
				}
			default:
				err = e.pump(ctx, src, key, cursor)
			}
		}
		if errors.Is(err, ErrCursorLost) {
			e.log.Error("webhook source lost its place: events in between are not delivered", zap.String("source", src.Name()),
				zap.Int64("cursor", cursor), zap.Error(err))
			_ = e.be.Update(ctx, func(tx storage.Tx) error { return tx.Delete(BucketMeta, key) })
			continue
		}
		if err != nil && ctx.Err() == nil {
			failures++
			e.log.Warn("webhook source not read", zap.String("source", src.Name()), zap.Error(err))
			e.sleep(ctx, e.backoff(failures, time.Second, time.Minute))
			continue
		}
		failures = 0
	}
	return nil
}

func (e *Engine) cursor(key []byte, prefix string) (cursor int64, ok, wanted bool, err error) {
	err = e.be.View(func(tx storage.ReadTx) error {
		if v := tx.Get(BucketMeta, key); len(v) == 8 {
			cursor, ok = int64(binary.BigEndian.Uint64(v)), true
		}
		return tx.Scan(BucketSubscriptions, nil, func(k, v []byte) (bool, error) {
			s, err := e.decodeSub(tx, k, v)
			if err != nil {
				return false, err
			}
			for _, t := range s.EventTypes {
				if strings.HasPrefix(t, prefix) {
					wanted = true
				}
			}
			return !wanted, nil
		})
	})
	return cursor, ok, wanted, err
}

// pump moves one batch from src into the outbox, or waits for one.
func (e *Engine) pump(ctx context.Context, src Source, key []byte, cursor int64) error {
	evs, next, err := src.Read(ctx, cursor)
	if err != nil {
		return err
	}
	if len(evs) == 0 && next == cursor {
		src.Wait(ctx, cursor)
		return nil
	}
	err = e.be.Update(ctx, func(tx storage.Tx) error {
		// One follower per source; a cursor moved meanwhile (a second process cannot: the file is locked)
		// would mean a bug, so the batch is not enqueued twice.
		if v := tx.Get(BucketMeta, key); len(v) != 8 || int64(binary.BigEndian.Uint64(v)) != cursor {
			return fmt.Errorf("webhook: cursor of %s moved under the follower", src.Name())
		}
		for _, ev := range evs {
			if err := e.Enqueue(tx, ev); err != nil {
				return err
			}
		}
		return tx.Put(BucketMeta, key, u64(next))
	})
	if err == nil && len(evs) > 0 {
		e.Poke()
	}
	return err
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// backoff is base*2^(n-1) capped at max, then a random point in its upper half (jitter, so receivers that
// failed together are not retried together).
func (e *Engine) backoff(n int, base, maxD time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

// --- delivery ---

type job struct {
	sub  string
	key  []byte
	item pending
}

// Run delivers the outbox until ctx ends, at most Concurrency deliveries at a time, and returns after the
// deliveries in flight ended (a delivery cut short by ctx is not recorded and is made again after a restart).
// Run it under the host's worker group, joined before the data file closes.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	busy := map[string]bool{} // sub id + "\x00" + resource in flight
	slots := e.opts.Concurrency
	for {
		wake := e.woken()
		mu.Lock()
		free := slots
		mu.Unlock()
		jobs, next, err := e.due(busy, &mu, free)
		if err != nil && ctx.Err() == nil {
			e.log.Error("webhook outbox not read", zap.Error(err))
		}
		for _, j := range jobs {
			k := j.sub + "\x00" + j.item.Event.Resource
			mu.Lock()
			busy[k] = true
			slots--
			mu.Unlock()
			wg.Go(func() {
				e.deliver(ctx, j)
				mu.Lock()
				delete(busy, k)
				slots++
				mu.Unlock()
				e.Poke()
			})
		}
		wait := time.Minute
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// scanLimit bounds the outbox entries of one subscription looked at per round.
const scanLimit = 1000

// due finds up to free deliveries to make now: the oldest outbox entry of each (subscription, resource) that
// is not in flight and whose backoff is over. next is the earliest time a waiting one becomes due.
func (e *Engine) due(busy map[string]bool, mu *sync.Mutex, free int) (jobs []job, next time.Time, err error) {
	if free <= 0 {
		return nil, time.Time{}, nil
	}
	now := e.opts.Now()
	mu.Lock()
	inFlight := make(map[string]bool, len(busy))
	for k := range busy {
		inFlight[k] = true
	}
	mu.Unlock()
	err = e.be.View(func(tx storage.ReadTx) error {
		var active []string
		if err := tx.Scan(BucketSubscriptions, nil, func(k, v []byte) (bool, error) {
			// Only the pending counter is needed to skip idle ones before opening the record.
			if counter(tx, "pending", string(k)) == 0 {
				return true, nil
			}
			s, err := e.decodeSub(tx, k, v)
			if err != nil {
				return false, err
			}
			if s.State == StateActive {
				active = append(active, s.ID)
			}
			return true, nil
		}); err != nil {
			return err
		}
		for _, id := range active {
			seen := map[string]bool{}
			n := 0
			if err := tx.ScanPrefix(BucketOutbox, []byte(id+"/"), func(k, v []byte) (bool, error) {
				n++
				var p pending
				if err := json.Unmarshal(v, &p); err != nil {
					return false, err
				}
				r := p.Event.Resource
				if seen[r] {
					return n < scanLimit, nil // an earlier event of this resource goes first
				}
				seen[r] = true
				if inFlight[id+"\x00"+r] {
					return n < scanLimit, nil
				}
				if p.NextAttempt.After(now) {
					if next.IsZero() || p.NextAttempt.Before(next) {
						next = p.NextAttempt
					}
					return n < scanLimit, nil
				}
				jobs = append(jobs, job{sub: id, key: append([]byte(nil), k...), item: p})
				return len(jobs) < free && n < scanLimit, nil
			}); err != nil {
				return err
			}
			if len(jobs) >= free {
				break
			}
		}
		return nil
	})
	return jobs, next, err
}

// payload is the body of a delivery.
type payload struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// respLimit bounds the answer read from a receiver.
const respLimit = 64 << 10

// deliver makes one attempt and records its outcome.
func (e *Engine) deliver(ctx context.Context, j job) {
	s, err := e.Get(j.sub)
	if err != nil || s.State != StateActive {
		return
	}
	now := e.opts.Now()
	a := Attempt{EventID: j.item.Event.ID, EventType: j.item.Event.Type, Resource: j.item.Event.Resource, Time: now.UTC(), Attempt: j.item.Attempts + 1}
	status, err := e.post(ctx, s, j.item.Event, now)
	a.Latency = e.opts.Now().Sub(now)
	a.HTTPStatus = status
	if ctx.Err() != nil {
		return // shutting down: not an outcome; delivered again after the restart
	}
	switch {
	case err != nil:
		a.Error = err.Error()
	case status >= 200 && status < 300:
		a.Success = true
	default:
		a.Error = "HTTP " + strconv.Itoa(status)
	}
	if err := e.record(context.WithoutCancel(ctx), j, a); err != nil {
		e.log.Error("webhook delivery outcome not recorded", zap.String("webhook", j.sub), zap.String("event_id", a.EventID), zap.Error(err))
	}
}

func (e *Engine) post(ctx context.Context, s *Subscription, ev Event, now time.Time) (int, error) {
	u, err := e.opts.Guard.CheckURL(s.URL)
	if err != nil {
		// The allowlist changed since the subscription was made.
		return 0, fmt.Errorf("target no longer allowed: %w", err)
	}
	body, err := json.Marshal(payload{Type: ev.Type, Timestamp: ev.Time.UTC().Format(time.RFC3339Nano), Data: ev.Data})
	if err != nil {
		return 0, err
	}
	ts := now.Unix()
	sig, err := SignatureHeader(s.inForce(now), ev.ID, ts, body)
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", e.opts.UserAgent)
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, cleanErr(err)
	}
	defer resp.Body.Close()
	// Read (a bounded part of) the answer so the connection can be reused; its content is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, respLimit))
	return resp.StatusCode, nil
}

// cleanErr drops the URL net/http puts in its errors (it may carry a token in its query): the log shows the
// cause only.
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	return err
}

// record writes an attempt's outcome: the log line (the log trimmed to LogSize), the outbox entry deleted on
// success or its next attempt scheduled, the subscription's failure count, and its disabling when due.
func (e *Engine) record(ctx context.Context, j job, a Attempt) error {
	return e.be.Update(ctx, func(tx storage.Tx) error {
		s, err := e.getSub(tx, j.sub)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil // deleted meanwhile
			}
			return err
		}
		a.Seq = nextSeq(tx)
		b, _ := json.Marshal(a)
		if err := tx.Put(BucketLog, seqKey(s.ID, a.Seq), b); err != nil {
			return err
		}
		if err := e.trimLog(tx, s.ID); err != nil {
			return err
		}
		now := e.opts.Now().UTC()
		if a.Success {
			if tx.Get(BucketOutbox, j.key) != nil {
				if err := tx.Delete(BucketOutbox, j.key); err != nil {
					return err
				}
				if err := addCounter(tx, "pending", s.ID, -1); err != nil {
					return err
				}
			}
			s.ConsecutiveFailures, s.FirstFailureTime, s.LastSuccessTime = 0, time.Time{}, now
			return e.putSub(tx, s)
		}
		if v := tx.Get(BucketOutbox, j.key); v != nil {
			p := j.item
			p.Attempts++
			p.NextAttempt = now.Add(e.backoff(p.Attempts, e.opts.BackoffBase, e.opts.BackoffMax))
			pb, _ := json.Marshal(p)
			if err := tx.Put(BucketOutbox, j.key, pb); err != nil {
				return err
			}
		}
		s.ConsecutiveFailures++
		if s.FirstFailureTime.IsZero() {
			s.FirstFailureTime = now
		}
		if s.State == StateActive && (a.HTTPStatus == http.StatusGone ||
			s.ConsecutiveFailures >= e.opts.MaxFailures && now.Sub(s.FirstFailureTime) >= e.opts.FailureWindow) {
			s.State, s.DisableTime, s.Version = StateDisabled, now, s.Version+1
			if a.HTTPStatus == http.StatusGone {
				s.DisabledReason = "the receiver answered 410 Gone"
			} else {
				s.DisabledReason = fmt.Sprintf("%d consecutive failed deliveries since %s; last: %s",
					s.ConsecutiveFailures, s.FirstFailureTime.Format(time.RFC3339), a.Error)
			}
			e.log.Warn("webhook disabled after failed deliveries", zap.String("webhook", s.ID), zap.Int("failures", s.ConsecutiveFailures))
		}
		return e.putSub(tx, s)
	})
}

func (e *Engine) trimLog(tx storage.Tx, id string) error {
	var keys [][]byte
	if err := tx.ScanPrefix(BucketLog, []byte(id+"/"), func(k, _ []byte) (bool, error) {
		keys = append(keys, append([]byte(nil), k...))
		return true, nil
	}); err != nil {
		return err
	}
	for len(keys) > e.opts.LogSize {
		if err := tx.Delete(BucketLog, keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}
