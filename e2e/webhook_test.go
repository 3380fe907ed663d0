package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifyStandardWebhook checks a delivery the way docs/webhooks.md tells a receiver to, written here from the
// specification rather than with the suite's own code: v1, base64 HMAC-SHA256 keyed with the decoded secret
// over id.timestamp.body, one of the space-separated signatures.
func verifyStandardWebhook(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// A gmina system subscribes over REST through the gateway (the referral service started with
// CUS_WEBHOOK_ALLOW), an organiser changes the catalogue, and the system receives the change, signed with the
// secret the subscription returned; a URL outside the allowlist is a 400 naming webhook.url.
func TestWebhookThroughGateway(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var secret string
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !verifyStandardWebhook(secret, r.Header, b) {
			t.Errorf("a delivery that does not verify: %s", b)
		}
		got = append(got, string(b))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	s := startSuite(t, suiteOptions{full: true, referralEnv: []string{"CUS_WEBHOOK_ALLOW=http://127.0.0.1", "CUS_WEBHOOK_CATALOGUE_POLL=100ms"}})
	integ := s.as(t, "integration")

	refused := s.do(t, http.MethodPost, "/v1/webhooks", strings.NewReader(`{"url":"https://evil.example.net/hook","eventTypes":["catalogue.*"]}`), integ)
	if refused.Status != http.StatusBadRequest || !strings.Contains(string(refused.Body), `"field":"webhook.url"`) {
		t.Fatalf("a URL outside the allowlist: %s", refused)
	}
	created := s.do(t, http.MethodPost, "/v1/webhooks", strings.NewReader(`{"url":"`+rcv.URL+`/hook","eventTypes":["catalogue.*"]}`), integ).wantOK(t)
	mu.Lock()
	secret = str(t, created, "secret")
	mu.Unlock()
	name := str(t, created, "name")
	if read := s.do(t, http.MethodGet, "/v1/"+name, nil, integ).wantOK(t); read["secret"] != nil {
		t.Fatalf("the secret is shown again: %v", read)
	}
	// The follower starts at the catalogue's newest revision once a webhook wants it; give it one poll.
	time.Sleep(500 * time.Millisecond)
	svc := s.createService(t, `{"displayName":"Klub Seniora Webhook","areas":["AREA_CIVIC_ACTIVITY"],"targetGroups":["TARGET_GROUP_ALL_RESIDENTS"]}`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, b := range got {
			if strings.Contains(b, str(t, svc, "name")) && strings.Contains(b, `"type":"catalogue.service.changed"`) {
				n++
			}
		}
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery of %s; referral log:\n%s", str(t, svc, "name"), s.referral.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	log := s.do(t, http.MethodGet, "/v1/"+name+"/deliveries", nil, integ).wantOK(t)
	ds := objects(t, log, "deliveries")
	if len(ds) == 0 || ds[0]["success"] != true {
		t.Fatalf("delivery log %v", log)
	}
}
