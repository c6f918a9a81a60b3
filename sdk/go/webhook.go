package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookTolerance is how far a delivery's webhook-timestamp may be from the
// verifier's clock, either way: older deliveries are refused as replays.
const WebhookTolerance = 5 * time.Minute

// The reasons a delivery is refused; a *WebhookError wraps one of them
// (errors.Is).
var (
	// ErrWebhookHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is missing, or the timestamp is not a number.
	ErrWebhookHeaders = errors.New("missing or malformed webhook headers")
	// ErrWebhookTimestamp: the timestamp is more than the tolerance away.
	ErrWebhookTimestamp = errors.New("webhook timestamp outside the tolerance")
	// ErrWebhookSignature: no v1 signature matches any of the secrets.
	ErrWebhookSignature = errors.New("no matching webhook signature")
	// ErrWebhookSecret: a secret is not "whsec_" and base64.
	ErrWebhookSecret = errors.New("webhook secret is not whsec_ followed by base64")
)

// WebhookError is why VerifyWebhook refused a delivery: one of the
// ErrWebhook* reasons.
type WebhookError struct {
	Reason error
}

func (e *WebhookError) Error() string { return "webhook verification failed: " + e.Reason.Error() }

// Unwrap makes errors.Is(err, ErrWebhookSignature) and the like work.
func (e *WebhookError) Unwrap() error { return e.Reason }

// WebhookOption adjusts VerifyWebhook.
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	secrets   []string
	now       func() time.Time
	tolerance time.Duration
}

// WithSecret accepts deliveries signed by another secret too: during a
// rotation's 24 hours, the old one and the new one.
func WithSecret(secret string) WebhookOption {
	return func(c *webhookConfig) { c.secrets = append(c.secrets, secret) }
}

// WithClock sets the clock the timestamp is compared with (tests).
func WithClock(now func() time.Time) WebhookOption { return func(c *webhookConfig) { c.now = now } }

// WithTolerance replaces WebhookTolerance.
func WithTolerance(d time.Duration) WebhookOption { return func(c *webhookConfig) { c.tolerance = d } }

// VerifyWebhook checks that a delivery (its headers and its raw body, as
// received: do not re-encode it) was signed with secret ("whsec_…", as the
// endpoint's creation or rotation answered it) by the Standard Webhooks
// scheme: an HMAC-SHA256 over "webhook-id.webhook-timestamp.body", one of
// the space-separated "v1,<base64>" entries of webhook-signature, compared
// in constant time; and that webhook-timestamp is within WebhookTolerance of
// now. It returns nil or a *WebhookError. The webhook-id is the event's id,
// the same on every retry: receivers drop the deliveries whose id they have
// already processed.
func VerifyWebhook(secret string, header http.Header, body []byte, opts ...WebhookOption) error {
	c := webhookConfig{secrets: []string{secret}, now: time.Now, tolerance: WebhookTolerance}
	for _, o := range opts {
		o(&c)
	}
	keys := make([][]byte, 0, len(c.secrets))
	for _, s := range c.secrets {
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(k) == 0 {
			return &WebhookError{ErrWebhookSecret}
		}
		keys = append(keys, k)
	}
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return &WebhookError{ErrWebhookHeaders}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &WebhookError{ErrWebhookHeaders}
	}
	if d := c.now().Sub(time.Unix(sec, 0)); d > c.tolerance || d < -c.tolerance {
		return &WebhookError{ErrWebhookTimestamp}
	}
	for _, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, entry := range strings.Fields(sigs) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return &WebhookError{ErrWebhookSignature}
}
