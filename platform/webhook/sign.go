package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signing as the Standard Webhooks specification (standardwebhooks.com) says, so a receiver can verify with any
// of its libraries: the headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature, which holds
// one or more space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per secret in force. The
// secret is "whsec_" + base64 of random bytes; the HMAC key is the decoded bytes.

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// The header names of a signed delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretBytes is the length of a new secret's key: 24 bytes (192 bits), within the 24..64 the spec recommends.
const secretBytes = 24

// NewSecret returns a new random secret "whsec_<base64>".
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// decodeSecret returns the HMAC key of a secret.
func decodeSecret(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook: malformed secret (want whsec_<base64>)")
	}
	return k, nil
}

// Sign returns "v1,<base64 signature>" of one message under one secret.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignatureHeader returns the webhook-signature value for the secrets in force: one signature each, so a
// receiver that still holds the previous secret during a rotation verifies as well as one holding the new.
func SignatureHeader(secrets []string, id string, timestamp int64, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, timestamp, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp    = errors.New("webhook: timestamp outside the tolerance")
	ErrBadSignature = errors.New("webhook: no signature matches the secret")
)

// DefaultTolerance is how far a delivery's timestamp may be from the receiver's clock (the spec's 5 minutes).
const DefaultTolerance = 5 * time.Minute

// Verify checks a received delivery as a receiver does: the timestamp within tolerance of now (against replays)
// and at least one v1 signature of the header matching secret. Receivers in Go can use it as is; docs/webhooks.md
// shows the same in PHP, Python and JavaScript.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrTimestamp, tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
