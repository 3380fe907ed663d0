package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OIDCKeys fetches an issuer's signing keys through OpenID Connect discovery
// (`<issuer>/.well-known/openid-configuration` -> `jwks_uri`), caches them, refreshes them after TTL, and
// refetches at most once per MinRefetch when a token names an unknown key id (key rotation). Keycloak, which
// Polish public bodies commonly run, publishes exactly this.
//
// A fetch is shared (single flight) and runs on its own context with FetchTimeout, never on a caller's: a
// caller may stop waiting at its deadline, the fetch goes on and serves the callers after it. The lock is never
// held across network I/O, so a token with a known key id is verified from the cache at once, even while the
// identity provider is slow, and MinRefetch is spent only by fetches that actually run.
type OIDCKeys struct {
	Issuer       string
	Client       *http.Client
	TTL          time.Duration
	MinRefetch   time.Duration
	FetchTimeout time.Duration
	Now          func() time.Time

	mu        sync.Mutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time // last successful fetch; zero before the first
	triedAt   time.Time // start of the last fetch
	jwksURI   string
	inflight  *fetchCall // the running fetch, or nil
	waiting   int        // callers waiting for the running fetch (tests observe it)
	closed    bool

	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// NewOIDCKeys returns a key source for issuer with sensible defaults (TTL 15 min, refetch at most every 30 s,
// a fetch gives up after 5 s).
func NewOIDCKeys(issuer string, client *http.Client) *OIDCKeys {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &OIDCKeys{Issuer: strings.TrimSuffix(issuer, "/"), Client: client, TTL: 15 * time.Minute,
		MinRefetch: 30 * time.Second, FetchTimeout: 5 * time.Second, Now: time.Now}
}

// Key implements KeySource.
func (o *OIDCKeys) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	o.mu.Lock()
	now := o.Now()
	if k := o.cached(kid); k != nil {
		// A known key never waits: when the cache is stale, refresh it behind this call.
		if now.Sub(o.fetchedAt) > o.TTL {
			o.startFetchLocked(now)
		}
		o.mu.Unlock()
		return k, nil
	}
	// Unknown kid (rotation, or garbage): join the running fetch, or start one unless one started less than
	// MinRefetch ago, so garbage kids cannot make us hammer the identity provider.
	call := o.inflight
	if call == nil {
		call = o.startFetchLocked(now)
	}
	if call == nil {
		err := o.missLocked()
		o.mu.Unlock()
		return nil, err
	}
	o.waiting++
	o.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		o.mu.Lock()
		o.waiting--
		o.mu.Unlock()
		return nil, ctx.Err()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waiting--
	if k := o.cached(kid); k != nil {
		return k, nil
	}
	return nil, o.missLocked()
}

// cached returns the public key of kid from the last fetched set, or nil. Caller holds mu.
func (o *OIDCKeys) cached(kid string) *jose.JSONWebKey {
	if o.fetchedAt.IsZero() {
		return nil
	}
	if k := o.keys.Key(kid); len(k) > 0 {
		pub := k[0].Public()
		return &pub
	}
	return nil
}

// missLocked is the answer for a kid not in the cache: unknown key once we have keys, otherwise unavailable.
func (o *OIDCKeys) missLocked() error {
	if o.fetchedAt.IsZero() {
		return ErrKeysUnavailable
	}
	return ErrTokenUnknownKey
}

// startFetchLocked starts a fetch unless one runs, one started less than MinRefetch ago, or the source is
// closed; it returns the running fetch or nil. Caller holds mu.
func (o *OIDCKeys) startFetchLocked(now time.Time) *fetchCall {
	if o.inflight != nil {
		return o.inflight
	}
	if o.closed || (!o.triedAt.IsZero() && now.Sub(o.triedAt) < o.MinRefetch) {
		return nil
	}
	if o.base == nil {
		o.base, o.cancel = context.WithCancel(context.Background())
	}
	call := &fetchCall{done: make(chan struct{})}
	o.inflight, o.triedAt = call, now
	jwksURI := o.jwksURI
	// Bounded by FetchTimeout and joined by Close, which the server calls at shutdown.
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		timeout := o.FetchTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(o.base, timeout)
		defer cancel()
		set, uri, err := o.fetch(ctx, jwksURI)
		o.mu.Lock()
		if err == nil {
			// The fetch's start is its age: o.Now is not called off the caller's goroutine.
			o.keys, o.jwksURI, o.fetchedAt = set, uri, now
		}
		// On failure the keys we have keep serving while the identity provider is unreachable.
		call.err = err
		o.inflight = nil
		o.mu.Unlock()
		close(call.done)
	}()
	return call
}

// Close stops a running fetch and waits for it; later unknown key ids are answered from the cache only.
func (o *OIDCKeys) Close() {
	o.mu.Lock()
	o.closed = true
	if o.cancel != nil {
		o.cancel()
	}
	o.mu.Unlock()
	o.wg.Wait()
}

// fetch reads the key set, discovering the jwks_uri first when it is not known yet. It runs without the lock.
func (o *OIDCKeys) fetch(ctx context.Context, jwksURI string) (jose.JSONWebKeySet, string, error) {
	if jwksURI == "" {
		var disc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := o.getJSON(ctx, o.Issuer+"/.well-known/openid-configuration", &disc); err != nil {
			return jose.JSONWebKeySet{}, "", err
		}
		if strings.TrimSuffix(disc.Issuer, "/") != o.Issuer {
			return jose.JSONWebKeySet{}, "", fmt.Errorf("discovery document names issuer %q, want %q", disc.Issuer, o.Issuer)
		}
		if !strings.HasPrefix(disc.JWKSURI, "https://") && !strings.HasPrefix(disc.JWKSURI, "http://") {
			return jose.JSONWebKeySet{}, "", errors.New("discovery document has no usable jwks_uri")
		}
		jwksURI = disc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := o.getJSON(ctx, jwksURI, &set); err != nil {
		return jose.JSONWebKeySet{}, "", err
	}
	return set, jwksURI, nil
}

func (o *OIDCKeys) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
