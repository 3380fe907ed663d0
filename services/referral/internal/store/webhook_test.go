package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cus-suite/cus/platform/webhook"
)

// A webhook's secret is sealed with the data keys and moves with the records when the primary key changes:
// after Reencrypt the old key may go, and the subscription (and its secret) still reads.
func TestWebhookSecretsSurviveKeyRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	guard, _ := webhook.ParseAllowlist([]string{"hooks.example.org"})
	s := openStore(t, path, testRing(t, "k1"))
	w, err := s.Webhooks(webhook.Options{Guard: guard}).Create(context.Background(),
		webhook.Subscription{URL: "https://hooks.example.org/a", EventTypes: []string{"referral.*"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openStore(t, path, testRing(t, "k1", "k2"))
	moved, err := s.Reencrypt(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if moved[string(webhook.BucketSubscriptions)] != 1 {
		t.Fatalf("re-encrypted %v: the webhook record was left under the old key", moved)
	}
	s.Close()

	s = openStore(t, path, testRing(t, "k2"))
	defer s.Close()
	got, err := s.Webhooks(webhook.Options{Guard: guard}).Get(w.ID)
	if err != nil || got.Secrets[0].Value != w.Secrets[0].Value {
		t.Fatalf("after rotation: %v %+v", err, got)
	}
}
