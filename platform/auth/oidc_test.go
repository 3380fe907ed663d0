package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// slowIssuer is an httptest OIDC issuer whose JWKS endpoint serves the current set and, while gate is set,
// blocks until the gate is opened; it counts JWKS fetches.
type slowIssuer struct {
	srv     *httptest.Server
	current atomic.Value // jose.JSONWebKeySet
	fetches atomic.Int32
	entered chan struct{}

	mu   sync.Mutex
	gate chan struct{}
}

func newSlowIssuer(t *testing.T, set StaticKeys) *slowIssuer {
	t.Helper()
	is := &slowIssuer{entered: make(chan struct{}, 100)}
	is.current.Store(jose.JSONWebKeySet(set))
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/realms/cus/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL + "/realms/cus", "jwks_uri": is.srv.URL + "/realms/cus/certs"})
		case "/realms/cus/certs":
			is.fetches.Add(1)
			is.mu.Lock()
			gate := is.gate
			is.mu.Unlock()
			is.entered <- struct{}{}
			if gate != nil {
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
			_ = json.NewEncoder(w).Encode(is.current.Load())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// block makes the next fetches wait until the returned func is called.
func (is *slowIssuer) block() (release func()) {
	g := make(chan struct{})
	is.mu.Lock()
	is.gate = g
	is.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			is.mu.Lock()
			is.gate = nil
			is.mu.Unlock()
			close(g)
		})
	}
}

// keysFor returns a key source on the issuer with a controllable clock, with the first key set already fetched.
func keysFor(t *testing.T, is *slowIssuer, kid string) (*OIDCKeys, *atomic.Int64) {
	t.Helper()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	keys := NewOIDCKeys(is.srv.URL+"/realms/cus", is.srv.Client())
	keys.FetchTimeout = 30 * time.Second
	keys.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	t.Cleanup(keys.Close)
	if _, err := keys.Key(context.Background(), kid); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	<-is.entered
	return keys, &clock
}

func advance(clock *atomic.Int64, d time.Duration) { clock.Add(int64(d)) }

// TestOIDCKnownKidNeverWaitsForAFetch: while a JWKS fetch hangs (a slow identity provider), a token signed
// with a key already known is verified from the cache at once, whether the fetch was started by an unknown kid
// or by the cache going stale.
func TestOIDCKnownKidNeverWaitsForAFetch(t *testing.T) {
	k1 := newTestKeys(t)
	is := newSlowIssuer(t, k1.set)
	keys, clock := keysFor(t, is, k1.priv.KeyID)
	release := is.block()
	defer release()

	// An unknown kid starts a fetch that hangs.
	advance(clock, time.Minute)
	garbage := make(chan error, 1)
	go func() {
		_, err := keys.Key(context.Background(), "garbage")
		garbage <- err
	}()
	<-is.entered
	// The known kid answers while the fetch hangs (the lock is not held over the network). If it waited, it
	// would wait for the release below, which comes only after it answered: the test would hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if k, err := keys.Key(ctx, k1.priv.KeyID); err != nil || k.KeyID != k1.priv.KeyID {
		t.Fatalf("known kid during a hanging fetch: %v %v", k, err)
	}
	// Stale cache: the known kid is still served at once, the refresh runs behind it.
	advance(clock, time.Hour)
	if _, err := keys.Key(ctx, k1.priv.KeyID); err != nil {
		t.Fatalf("known kid with a stale cache: %v", err)
	}
	release()
	if err := <-garbage; !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("garbage kid: %v", err)
	}
}

// TestOIDCShortDeadlineDoesNotSpendTheRefetch: a caller with a 2 ms deadline and a garbage kid stops waiting,
// but the fetch it started goes on with its own timeout, so the next caller, with the key the issuer rotated
// to, gets it (before, the fetch died with the caller's context and the refetch slot was spent for 30 s).
func TestOIDCShortDeadlineDoesNotSpendTheRefetch(t *testing.T) {
	k1, k2 := newTestKeys(t), newTestKeys(t)
	is := newSlowIssuer(t, k1.set)
	keys, clock := keysFor(t, is, k1.priv.KeyID)

	is.current.Store(jose.JSONWebKeySet{Keys: append(append([]jose.JSONWebKey{}, k1.set.Keys...), k2.set.Keys...)})
	advance(clock, time.Minute)
	release := is.block()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
	defer cancel()
	if _, err := keys.Key(ctx, "garbage"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("garbage kid with a 2 ms deadline: %v", err)
	}
	<-is.entered // the fetch reached the issuer, and is still running
	release()
	k, err := keys.Key(context.Background(), k2.priv.KeyID)
	if err != nil || k.KeyID != k2.priv.KeyID {
		t.Fatalf("rotated key after a short-deadline caller: %v %v", k, err)
	}
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (the first, and one for the rotation)", n)
	}
}

// TestOIDCConcurrentUnknownKidsShareOneFetch: N callers with unknown kids at once cause one fetch, and all of
// them get the rotated key it brings.
func TestOIDCConcurrentUnknownKidsShareOneFetch(t *testing.T) {
	k1, k2 := newTestKeys(t), newTestKeys(t)
	is := newSlowIssuer(t, k1.set)
	keys, clock := keysFor(t, is, k1.priv.KeyID)
	keys.MinRefetch = 0 // even without the rate limit, concurrent callers share the running fetch

	is.current.Store(jose.JSONWebKeySet(k2.set))
	advance(clock, time.Minute)
	release := is.block()
	defer release()
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := keys.Key(context.Background(), k2.priv.KeyID)
			errs <- err
		}()
	}
	<-is.entered
	// Wait until every caller waits on the fetch, then let it finish.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		keys.mu.Lock()
		w := keys.waiting
		keys.mu.Unlock()
		if w == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callers waiting", w, n)
		}
	}
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("caller: %v", err)
		}
	}
	if got := is.fetches.Load(); got != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (the first, and one shared by %d callers)", got, n)
	}
}

// TestOIDCClosedSourceServesTheCache: after Close (server shutdown) no fetch starts; known keys still verify.
func TestOIDCClosedSourceServesTheCache(t *testing.T) {
	k1 := newTestKeys(t)
	is := newSlowIssuer(t, k1.set)
	keys, clock := keysFor(t, is, k1.priv.KeyID)
	keys.Close()
	advance(clock, time.Hour)
	if _, err := keys.Key(context.Background(), k1.priv.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Key(context.Background(), "other"); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatal(err)
	}
	if is.fetches.Load() != 1 {
		t.Fatalf("fetches after Close: %d", is.fetches.Load())
	}
}
