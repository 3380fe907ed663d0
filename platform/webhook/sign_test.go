package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification's reference libraries: a signature computed here must be
// the one every receiver library computes.
func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSecret()
	if !strings.HasPrefix(secret, SecretPrefix) || secret == other {
		t.Fatalf("secrets %q %q", secret, other)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"referral.created"}`)
	sig, err := SignatureHeader([]string{other, secret}, "msg_1", now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(id, ts, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		return h
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, c := range []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"either secret of a rotation", secret, hdr("msg_1", ts, sig), body, now, nil},
		{"the other one too", other, hdr("msg_1", ts, sig), body, now, nil},
		{"changed body", secret, hdr("msg_1", ts, sig), []byte(`{"type":"referral.createdX"}`), now, ErrBadSignature},
		{"changed id", secret, hdr("msg_2", ts, sig), body, now, ErrBadSignature},
		{"replayed late", secret, hdr("msg_1", ts, sig), body, now.Add(6 * time.Minute), ErrTimestamp},
		{"from the future", secret, hdr("msg_1", ts, sig), body, now.Add(-6 * time.Minute), ErrTimestamp},
		{"no signature", secret, hdr("msg_1", ts, ""), body, now, ErrNoSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.secret, c.h, c.body, c.now, DefaultTolerance); !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}
