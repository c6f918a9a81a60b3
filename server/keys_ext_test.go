package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/auth"
)

var keyFormat = regexp.MustCompile(`^wsk_[0-9A-Za-z]{38}$`)

func TestKeyChecksumRefusesWithoutLookup(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	if !keyFormat.MatchString(env.AdminKey) {
		t.Fatalf("admin key %q does not have the key format", env.AdminKey)
	}
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Status != 200 {
		t.Fatalf("valid key: %d", r.Status)
	}
	before := spy.Lookups.Load()
	// Every one-character change of the random part or the checksum.
	for i := len("wsk_"); i < len(env.AdminKey); i++ {
		b := []byte(env.AdminKey)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		for _, bad := range []string{string(b), env.AdminKey[:i], env.AdminKey + "x"} {
			if r := env.REST("GET", "/v1/projects", bad, ""); r.Status != 401 {
				t.Fatalf("key changed at %d: %d, want 401", i, r.Status)
			}
		}
	}
	if n := spy.Lookups.Load() - before; n != 0 {
		t.Errorf("malformed keys caused %d store look-ups, want 0", n)
	}
	// A well-formed key that does not exist is looked up, and refused.
	stranger, _, _ := auth.NewKey()
	if r := env.REST("GET", "/v1/projects", stranger, ""); r.Status != 401 {
		t.Fatalf("unknown well-formed key: %d, want 401", r.Status)
	}
	if spy.Lookups.Load() != before+1 {
		t.Errorf("look-ups = %d, want one for the well-formed key", spy.Lookups.Load()-before)
	}
}

func TestKeyLifecycle(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	admin := env.AdminKey

	// Create: the secret once, never cached, scopes normalised.
	r := env.REST("POST", "/v1/api-keys", admin, `{"name":"CI","scopes":["write","read","read"],"expires_at":"2026-03-10T13:00:00Z"}`)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control on a new key = %q, want no-store", got)
	}
	k := r.JSON(t)["data"].(map[string]any)
	secret, _ := k["key"].(string)
	if !keyFormat.MatchString(secret) || k["prefix"] != secret[:12] || strings.Join(toList(k["scopes"]), ",") != "read,write" {
		t.Fatalf("created key = %v", k)
	}
	if k["expires_at"] != "2026-03-10T13:00:00Z" || k["last_used_at"] != nil || k["revoked_at"] != nil {
		t.Errorf("created key times = %v", k)
	}
	id := k["id"].(string)

	// Use it: last_used_at is written once per minute at most, not per call.
	touches := spy.Touches.Load()
	for i := 0; i < 10; i++ {
		if r := env.REST("GET", "/v1/projects", secret, ""); r.Status != 200 {
			t.Fatalf("using the new key: %d %s", r.Status, r.Body)
		}
	}
	if n := spy.Touches.Load() - touches; n != 1 {
		t.Errorf("10 calls in a minute wrote last_used_at %d times, want 1", n)
	}
	env.Clock.Advance(time.Minute)
	env.REST("GET", "/v1/projects", secret, "")
	if n := spy.Touches.Load() - touches; n != 2 {
		t.Errorf("after a minute, writes = %d, want 2", n)
	}

	// Listing never shows a secret or its hash.
	list := env.REST("GET", "/v1/api-keys", admin, "")
	sum := sha256.Sum256([]byte(secret))
	for _, leak := range []string{secret, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]), `"key"`} {
		if strings.Contains(string(list.Body), leak) {
			t.Errorf("key list contains %q: %s", leak, list.Body)
		}
	}
	var listed map[string]any
	for _, item := range list.JSON(t)["data"].([]any) {
		if m := item.(map[string]any); m["id"] == id {
			listed = m
		}
	}
	if listed == nil || listed["last_used_at"] != "2026-03-10T12:01:30Z" {
		t.Errorf("listed key = %v, want last_used_at 2026-03-10T12:01:30Z", listed)
	}

	// The read/write key cannot manage keys.
	if r := env.REST("GET", "/v1/api-keys", secret, ""); r.Status != 403 {
		t.Errorf("non-admin listing keys: %d, want 403", r.Status)
	}

	// Expiry: refused from expires_at on.
	env.Clock.Set(time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC))
	if r := env.REST("GET", "/v1/projects", secret, ""); r.Status != 401 || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("expired key: %d %s, want 401", r.Status, r.Body)
	}

	// Revocation: effective on the very next request, on both surfaces.
	live := env.NewKey(env.WorkspaceID, "read")
	liveID := ""
	for _, item := range env.REST("GET", "/v1/api-keys?limit=100", admin, "").JSON(t)["data"].([]any) {
		if m := item.(map[string]any); strings.HasPrefix(live, m["prefix"].(string)) {
			liveID = m["id"].(string)
		}
	}
	if r := env.REST("GET", "/v1/projects", live, ""); r.Status != 200 {
		t.Fatalf("live key: %d", r.Status)
	}
	if r := env.REST("DELETE", "/v1/api-keys/"+liveID, admin, ""); r.Status != 200 || compact(t, string(r.Body)) != `{"success":true,"data":{"id":"`+liveID+`","deleted":true}}` {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := env.REST("GET", "/v1/projects", live, ""); r.Status != 401 || !strings.Contains(string(r.Body), "revoked") {
		t.Errorf("revoked key over REST: %d %s, want 401", r.Status, r.Body)
	}

	// Bad input.
	for _, body := range []string{`{"scopes":[]}`, `{"scopes":["root"]}`, `{"scopes":"read"}`, `{"scopes":["read"],"expires_at":"2020-01-01T00:00:00Z"}`} {
		r := env.REST("POST", "/v1/api-keys", admin, body)
		field := toStrings(r.JSON(t)["error"].(map[string]any)["details"])["field"]
		if r.Status != 400 || (field != "scopes" && field != "expires_at") {
			t.Errorf("create key %s: %d %s, want 400 naming the field", body, r.Status, r.Body)
		}
	}

	// Neither the secrets nor their hashes ever reach the log.
	logs := env.Logs.String()
	for _, s := range []string{secret, live, admin} {
		h := sha256.Sum256([]byte(s))
		for _, leak := range []string{s, s[4:], hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:])} {
			if strings.Contains(logs, leak) {
				t.Errorf("the log contains a secret or its hash (%q)", leak[:8])
			}
		}
	}
	if !strings.Contains(logs, `"key_id":"`+id+`"`) {
		t.Errorf("the log does not name the key id")
	}
}

func TestAuthorizationHeaderForms(t *testing.T) {
	env := servertest.Start(t)
	for header, want := range map[string]int{
		"Bearer " + env.AdminKey: 200,
		"bearer " + env.AdminKey: 200,
		"Basic " + env.AdminKey:  401,
		env.AdminKey:             401,
		"Bearer":                 401,
		"Bearer ":                401,
	} {
		r := env.REST("GET", "/v1/projects", "", "", "Authorization", header)
		if r.Status != want {
			t.Errorf("Authorization %q: %d, want %d", header[:min(len(header), 10)], r.Status, want)
		}
	}
}

func toList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestKeyCache(t *testing.T) {
	var spy *servertest.Spy
	const ttl = 200 * time.Millisecond
	env := servertest.Start(t, servertest.WithSpy(&spy), func(c *server.Config) { c.KeyCacheTTL = ttl })
	key := env.NewKey(env.WorkspaceID, "read")
	before := spy.Lookups.Load()
	for i := 0; i < 20; i++ {
		if r := env.REST("GET", "/v1/projects", key, ""); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	if n := spy.Lookups.Load() - before; n != 1 {
		t.Errorf("20 requests within the cache TTL looked the key up %d times, want 1", n)
	}

	// Revoked behind this server's back (the CLI, another replica): refused
	// once the cached entry is older than the TTL, and not before the store
	// said so.
	var id string
	for _, item := range env.REST("GET", "/v1/api-keys?limit=100", env.AdminKey, "").JSON(t)["data"].([]any) {
		if m := item.(map[string]any); strings.HasPrefix(key, m["prefix"].(string)) {
			id = m["id"].(string)
		}
	}
	revoked := time.Now()
	if _, err := env.Server.Store().RevokeAPIKey(context.Background(), env.WorkspaceID, id, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(ttl + 2*time.Second)
	for env.REST("GET", "/v1/projects", key, "").Status != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("a key revoked in the store was still accepted %v later (cache TTL %v)", time.Since(revoked), ttl)
		}
	}
	t.Logf("refused %v after a revocation behind the server's back (TTL %v)", time.Since(revoked).Round(time.Millisecond), ttl)
}
