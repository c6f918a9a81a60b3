package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/example/workspace/service/webhook"
)

func TestRefused(t *testing.T) {
	refused := []string{"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "169.254.1.1", "0.0.0.0", "0.1.2.3", "100.64.0.1", "100.127.255.255",
		"::", "::1", "fc00::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", "224.0.0.1", "255.255.255.255", "ff02::1"}
	for _, s := range refused {
		if !webhook.Refused(netip.MustParseAddr(s)) {
			t.Errorf("Refused(%s) = false, want true", s)
		}
	}
	allowed := []string{"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"}
	for _, s := range allowed {
		if webhook.Refused(netip.MustParseAddr(s)) {
			t.Errorf("Refused(%s) = true, want false", s)
		}
	}
}

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	r := net.DefaultResolver
	refused := map[string]string{
		"http://93.184.216.34/hook":            "https",
		"https://127.0.0.1/hook":               "loopback",
		"https://10.0.0.5/hook":                "loopback",
		"https://169.254.169.254/latest":       "metadata",
		"https://[::1]:8443/hook":              "loopback",
		"https://[fd00:ec2::254]/":             "metadata",
		"https://localhost/hook":               "resolves to",
		"https://localhost./hook":              "resolves to",
		"ftp://example.com/":                   "https",
		"/relative":                            "absolute",
		"https://user:pw@93.184.216.34/":       "user",
		"https:///nohost":                      "host",
		"https://" + strings.Repeat("a", 2048): "2048",
		"https://no-such-host.invalid/":        "resolve",
	}
	for u, want := range refused {
		err := webhook.CheckURL(ctx, r, u, false)
		var ue *webhook.URLError
		if !errors.As(err, &ue) || !strings.Contains(ue.Reason, want) {
			t.Errorf("CheckURL(%q) = %v, want a URLError containing %q", u, err, want)
		}
	}
	if err := webhook.CheckURL(ctx, r, "https://93.184.216.34/hook", false); err != nil {
		t.Errorf("public https address refused: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/hook", "https://localhost/hook", "http://10.0.0.1/"} {
		if err := webhook.CheckURL(ctx, r, u, true); err != nil {
			t.Errorf("allowPrivate: CheckURL(%q) = %v", u, err)
		}
	}
	if err := webhook.CheckURL(ctx, r, "ftp://127.0.0.1/", true); err == nil {
		t.Error("allowPrivate still requires http or https")
	}
}
