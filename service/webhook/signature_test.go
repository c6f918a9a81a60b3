package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignSpecExample(t *testing.T) {
	got, err := Sign([]string{specSecret}, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got != specSig {
		t.Fatalf("Sign = %q, %v; want %q", got, err, specSig)
	}
}

func TestSignTwoAndVerify(t *testing.T) {
	other := "whsec_" + strings.Repeat("QUJD", 8)
	now := time.Unix(specTS, 0)
	sig, err := Sign([]string{other, specSecret}, specID, now, []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Fields(sig); len(parts) != 2 || parts[1] != specSig {
		t.Fatalf("two signatures %q", sig)
	}
	h := http.Header{}
	h.Set(HeaderID, specID)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, sig)
	for _, s := range []string{specSecret, other} {
		if err := Verify(s, h, []byte(specBody), now.Add(4*time.Minute), 5*time.Minute); err != nil {
			t.Errorf("Verify with %s: %v", s, err)
		}
	}
	if err := Verify("whsec_"+strings.Repeat("WFla", 8), h, []byte(specBody), now, 5*time.Minute); err != ErrSignature {
		t.Errorf("Verify with another secret: %v", err)
	}
	if err := Verify(specSecret, h, []byte(specBody+" "), now, 5*time.Minute); err != ErrSignature {
		t.Errorf("Verify of another body: %v", err)
	}
	if err := Verify(specSecret, h, []byte(specBody), now.Add(6*time.Minute), 5*time.Minute); err == nil {
		t.Error("Verify past the tolerance: no error")
	}
	if _, err := Sign([]string{"whsec_not base64!"}, specID, now, nil); err == nil {
		t.Error("Sign with a malformed secret: no error")
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	if e := excerpt([]byte(long)); len(e) > MaxExcerpt || !strings.HasPrefix(long, e) || len(e) < MaxExcerpt-1 {
		t.Errorf("excerpt of %d bytes: %d bytes", len(long), len(e))
	}
	if e := excerpt([]byte("ok\xff\xfe")); e != "ok\uFFFD" {
		t.Errorf("invalid UTF-8: %q", e)
	}
}

func TestDialerRefusesForbiddenAddresses(t *testing.T) {
	c := dialer(false).Control
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "10.1.2.3:443", "169.254.169.254:80", "[fd00:ec2::254]:80", "100.64.0.1:443", "0.0.0.0:443"} {
		if err := c("tcp", a, nil); err != ErrRefusedAddress {
			t.Errorf("%s: %v, want refused", a, err)
		}
	}
	if err := c("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("a public address: %v", err)
	}
	if dialer(true).Control != nil {
		t.Error("allow-private still checks addresses")
	}
}
