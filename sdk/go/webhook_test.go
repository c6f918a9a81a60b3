package sdk_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	sdk "github.com/example/sdk"
)

// An independent implementation (the Standard Webhooks reference library)
// signs; VerifyWebhook accepts exactly what it should.
func TestVerifyWebhookAgainstTheReferenceLibrary(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	const other = "whsec_c2Vjb25kIHNlY3JldCBvZiB0d2VudHk0Ynl0"
	ref, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second) // the reference library checks against time.Now
	body := []byte(`{"id":"evt_1","seq":"7","type":"task.created"}`)
	sig, err := ref.Sign("evt_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	clock := func(d time.Duration) sdk.WebhookOption { return sdk.WithClock(func() time.Time { return at.Add(d) }) }

	if err := sdk.VerifyWebhook(secret, h, body, clock(0)); err != nil {
		t.Fatalf("valid delivery refused: %v", err)
	}
	// Either of two secrets, in either order; the prefix is optional.
	if err := sdk.VerifyWebhook(other, h, body, clock(0), sdk.WithSecret(secret)); err != nil {
		t.Errorf("second secret: %v", err)
	}
	if err := sdk.VerifyWebhook(secret[len("whsec_"):], h, body, clock(0)); err != nil {
		t.Errorf("secret without prefix: %v", err)
	}
	// Two signatures in the header (a rotation's overlap): either matches.
	two := h.Clone()
	two.Set("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,ignored "+sig)
	if err := sdk.VerifyWebhook(secret, two, body, clock(0)); err != nil {
		t.Errorf("signature second in the list: %v", err)
	}
	// The reference library accepts what VerifyWebhook accepts.
	if err := ref.Verify(body, h); err != nil {
		t.Errorf("reference library refuses its own delivery: %v", err)
	}

	refusals := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		opts   []sdk.WebhookOption
		want   error
	}{
		{"tampered body", secret, h, []byte(`{"id":"evt_1","seq":"8","type":"task.created"}`), []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookSignature},
		{"wrong secret", other, h, body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookSignature},
		{"5 min 1 s late", secret, h, body, []sdk.WebhookOption{clock(5*time.Minute + time.Second)}, sdk.ErrWebhookTimestamp},
		{"5 min 1 s early", secret, h, body, []sdk.WebhookOption{clock(-5*time.Minute - time.Second)}, sdk.ErrWebhookTimestamp},
		{"no id", secret, without(h, "webhook-id"), body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookHeaders},
		{"no signature", secret, without(h, "webhook-signature"), body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookHeaders},
		{"bad timestamp", secret, with(h, "webhook-timestamp", "soon"), body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookHeaders},
		{"other id", secret, with(h, "webhook-id", "evt_2"), body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookSignature},
		{"v2 only", secret, with(h, "webhook-signature", "v2"+sig[2:]), body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookSignature},
		{"bad secret", "whsec_!!!", h, body, []sdk.WebhookOption{clock(0)}, sdk.ErrWebhookSecret},
	}
	for _, r := range refusals {
		err := sdk.VerifyWebhook(r.secret, r.h, r.body, r.opts...)
		var we *sdk.WebhookError
		if !errors.As(err, &we) || !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want a *WebhookError of %v", r.name, err, r.want)
		}
	}
	// At the edge of the tolerance it still verifies.
	if err := sdk.VerifyWebhook(secret, h, body, clock(5*time.Minute)); err != nil {
		t.Errorf("exactly 5 minutes late: %v", err)
	}
}

func without(h http.Header, k string) http.Header { c := h.Clone(); c.Del(k); return c }
func with(h http.Header, k, v string) http.Header { c := h.Clone(); c.Set(k, v); return c }
