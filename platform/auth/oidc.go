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
type OIDCKeys struct {
	Issuer     string
	Client     *http.Client
	TTL        time.Duration
	MinRefetch time.Duration
	Now        func() time.Time

	mu        sync.Mutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
	triedAt   time.Time
	jwksURI   string
}

// NewOIDCKeys returns a key source for issuer with sensible defaults (TTL 15 min, refetch at most every 30 s).
func NewOIDCKeys(issuer string, client *http.Client) *OIDCKeys {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &OIDCKeys{Issuer: strings.TrimSuffix(issuer, "/"), Client: client, TTL: 15 * time.Minute, MinRefetch: 30 * time.Second, Now: time.Now}
}

// Key implements KeySource.
func (o *OIDCKeys) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.Now()
	stale := o.fetchedAt.IsZero() || now.Sub(o.fetchedAt) > o.TTL
	if !stale {
		if k := o.keys.Key(kid); len(k) > 0 {
			pub := k[0].Public()
			return &pub, nil
		}
	}
	// Unknown kid or stale cache: refetch, but not more often than MinRefetch, so garbage kids cannot make us
	// hammer the identity provider.
	if !o.triedAt.IsZero() && now.Sub(o.triedAt) < o.MinRefetch {
		if k := o.keys.Key(kid); len(k) > 0 {
			pub := k[0].Public()
			return &pub, nil
		}
		if o.fetchedAt.IsZero() {
			return nil, ErrKeysUnavailable
		}
		return nil, ErrTokenUnknownKey
	}
	o.triedAt = now
	if err := o.fetch(ctx); err != nil {
		if !o.fetchedAt.IsZero() {
			// Keep serving with the keys we have while the identity provider is unreachable.
			if k := o.keys.Key(kid); len(k) > 0 {
				pub := k[0].Public()
				return &pub, nil
			}
			return nil, ErrTokenUnknownKey
		}
		return nil, ErrKeysUnavailable
	}
	o.fetchedAt = now
	if k := o.keys.Key(kid); len(k) > 0 {
		pub := k[0].Public()
		return &pub, nil
	}
	return nil, ErrTokenUnknownKey
}

func (o *OIDCKeys) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if o.jwksURI == "" {
		var disc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := o.getJSON(ctx, o.Issuer+"/.well-known/openid-configuration", &disc); err != nil {
			return err
		}
		if strings.TrimSuffix(disc.Issuer, "/") != o.Issuer {
			return fmt.Errorf("discovery document names issuer %q, want %q", disc.Issuer, o.Issuer)
		}
		if !strings.HasPrefix(disc.JWKSURI, "https://") && !strings.HasPrefix(disc.JWKSURI, "http://") {
			return errors.New("discovery document has no usable jwks_uri")
		}
		o.jwksURI = disc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := o.getJSON(ctx, o.jwksURI, &set); err != nil {
		return err
	}
	o.keys = set
	return nil
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
