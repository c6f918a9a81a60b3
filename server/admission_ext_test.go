package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// admRequest sends a REST request with every Authorization value given (none
// for an empty list), each as a header line of its own.
func admRequest(t *testing.T, env *servertest.Env, method, path, body string, authorization ...string) *servertest.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var admRateLimitHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

// TestTwoAuthorizationHeaders (issue 15, item 5): a request carrying two
// Authorization headers, or two authorization metadata entries, is refused
// with 400 VALIDATION_ERROR naming the header, on every route and on both
// surfaces, whichever of the two is valid; it is counted against no one.
func TestTwoAuthorizationHeaders(t *testing.T) {
	env := servertest.Start(t)
	good := "Bearer " + env.AdminKey
	for _, c := range []struct {
		name, method, path, body string
		values                   []string
	}{
		{"two valid keys", "GET", "/v1/projects", "", []string{good, good}},
		{"valid first", "GET", "/v1/projects", "", []string{good, "Bearer wsk_someoneelse"}},
		{"valid second", "POST", "/v1/projects", `{"name":"p"}`, []string{"Bearer wsk_someoneelse", good}},
		// A value that is not valid gRPC metadata is dropped by grpc-gateway
		// before the call: the check must see the request's own headers.
		{"one not ASCII", "GET", "/v1/projects", "", []string{good, "Bearer wsk_\u00e9"}},
		{"an empty one", "GET", "/v1/projects", "", []string{good, ""}},
		{"unknown route", "GET", "/v1/nope", "", []string{good, good}},
		{"outside /v1", "GET", "/v2/projects", "", []string{good, good}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := admRequest(t, env, c.method, c.path, c.body, c.values...)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			code, _, details := extRESTError(t, r)
			if code != "VALIDATION_ERROR" || !extDetailsEqual(details, map[string]string{"field": "authorization"}) {
				t.Errorf("error %s %v, want VALIDATION_ERROR with details.field authorization", code, details)
			}
			for _, h := range admRateLimitHeaders {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("%s: %q on a request whose caller is not known", h, v)
				}
			}
		})
	}
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Remaining") != "59" {
		t.Errorf("the first single-key request: %d, remaining %q; want 200 and 59 (the refusals counted nothing)", r.Status, r.Header.Get("X-RateLimit-Remaining"))
	}

	ctx := metadata.AppendToOutgoingContext(env.Ctx(env.AdminKey), "authorization", "Bearer wsk_someoneelse")
	var header metadata.MD
	_, err := workspacev1.NewProjectServiceClient(env.Conn).ListProjects(ctx, &workspacev1.ListProjectsRequest{}, grpc.Header(&header))
	st, info := extErrorInfo(err)
	if st.Code() != codes.InvalidArgument || info == nil || info.GetReason() != "VALIDATION_ERROR" || info.GetMetadata()["field"] != "authorization" {
		t.Fatalf("gRPC with two authorization entries: %v (info %v), want INVALID_ARGUMENT, VALIDATION_ERROR, field authorization", err, info)
	}
	var bad *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			bad = b
		}
	}
	if bad == nil || len(bad.GetFieldViolations()) != 1 || bad.GetFieldViolations()[0].GetField() != "authorization" {
		t.Errorf("gRPC BadRequest %v, want one violation of field authorization", bad)
	}
	if v := header.Get("x-ratelimit-remaining"); len(v) != 0 {
		t.Errorf("gRPC x-ratelimit-remaining %v on a refused caller", v)
	}
}

// TestRateLimitHeadersOnEveryAnswerToAKnownKey (issue 15, item 9): outside
// /v1 too, a request with a known key is admitted like any other: counted,
// with the rate-limit headers on its 404; an unknown key gets the 401 it gets
// everywhere, and a request without a key is a plain 404.
func TestRateLimitHeadersOnEveryAnswerToAKnownKey(t *testing.T) {
	env := servertest.Start(t)
	for i, path := range []string{"/v2/projects", "/", "/nowhere", "/v1x"} {
		r := env.REST("GET", path, env.AdminKey, "")
		if code, _, _ := extRESTError(t, r); r.Status != http.StatusNotFound || code != "NOT_FOUND" {
			t.Errorf("GET %s with a key: %d %s, want the 404 envelope", path, r.Status, r.Body)
		}
		for _, h := range admRateLimitHeaders {
			if r.Header.Get(h) == "" {
				t.Errorf("GET %s with a known key: no %s", path, h)
			}
		}
		if got, want := r.Header.Get("X-RateLimit-Remaining"), []string{"59", "58", "57", "56"}[i]; got != want {
			t.Errorf("GET %s: X-RateLimit-Remaining %q, want %q (every such answer is counted)", path, got, want)
		}
	}
	r := env.REST("GET", "/v2/projects", "", "")
	if r.Status != http.StatusNotFound || r.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("GET /v2/projects without a key: %d, X-RateLimit-Limit %q; want a plain 404", r.Status, r.Header.Get("X-RateLimit-Limit"))
	}
	r = env.REST("GET", "/v2/projects", "wsk_notakey", "")
	if code, _, _ := extRESTError(t, r); r.Status != http.StatusUnauthorized || code != "UNAUTHORIZED" {
		t.Errorf("GET /v2/projects with a bad key: %d %s, want 401", r.Status, r.Body)
	}
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Header.Get("X-RateLimit-Remaining") != "55" {
		t.Errorf("after four 404s outside /v1 and a 401: remaining %q, want 55", r.Header.Get("X-RateLimit-Remaining"))
	}
}

// TestEvery401CarriesWWWAuthenticate (issue 15, item 10; RFC 6750 §3): every
// REST 401, from the chain or from the gateway's own refusals, challenges
// with Bearer; error="invalid_token" when a bearer token was sent, and never
// the error's message. Other answers carry no challenge. (gRPC has no such
// header: its UNAUTHENTICATED status is the whole answer.)
func TestEvery401CarriesWWWAuthenticate(t *testing.T) {
	env := servertest.Start(t)
	revoked := env.NewKey(env.WorkspaceID, "read")
	id := env.REST("GET", "/v1/api-keys", env.AdminKey, "").JSON(t)["data"].([]any)
	var revokedID string
	for _, k := range id {
		if k := k.(map[string]any); strings.HasPrefix(revoked, k["prefix"].(string)) && k["prefix"] != "" {
			revokedID = k["id"].(string)
		}
	}
	if r := env.REST("DELETE", "/v1/api-keys/"+revokedID, env.AdminKey, ""); r.Status != http.StatusOK {
		t.Fatalf("revoking: %d %s", r.Status, r.Body)
	}
	const plain, invalid = `Bearer realm="workspace"`, `Bearer realm="workspace", error="invalid_token"`
	for _, c := range []struct {
		name, method, path, body, authorization, want string
	}{
		{"no key", "GET", "/v1/projects", "", "", plain},
		{"another scheme", "GET", "/v1/projects", "", "Basic dXNlcjpwYXNz", plain},
		{"malformed key", "GET", "/v1/projects", "", "Bearer wsk_notakey", invalid},
		{"revoked key", "GET", "/v1/projects", "", "Bearer " + revoked, invalid},
		{"a write", "POST", "/v1/tasks", `{"title":"t"}`, "Bearer wsk_notakey", invalid},
		{"unknown route, refused by the gateway", "GET", "/v1/nope", "", "", plain},
		{"bad JSON, refused by the gateway", "POST", "/v1/projects", `{"name":`, "Bearer wsk_notakey", invalid},
		{"wrong method, refused by the gateway", "DELETE", "/v1/projects", "", "Bearer " + revoked, invalid},
		{"outside /v1", "GET", "/v2/projects", "", "Bearer wsk_notakey", invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			var values []string
			if c.authorization != "" {
				values = []string{c.authorization}
			}
			r := admRequest(t, env, c.method, c.path, c.body, values...)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
			}
			if got := r.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != c.want {
				t.Errorf("WWW-Authenticate %q, want exactly %q", got, c.want)
			}
			_, message, _ := extRESTError(t, r)
			if strings.Contains(r.Header.Get("WWW-Authenticate"), message) {
				t.Errorf("the challenge repeats the message %q", message)
			}
		})
	}
	for _, c := range []struct{ method, path, key string }{
		{"GET", "/v1/projects", env.AdminKey},                        // 200
		{"GET", "/v1/api-keys", env.NewKey(env.WorkspaceID, "read")}, // 403
		{"GET", "/v2/projects", ""},                                  // 404
		{"GET", "/v1/openapi.json", ""},                              // public
	} {
		if r := env.REST(c.method, c.path, c.key, ""); r.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s %s: %d with WWW-Authenticate %q; only 401s challenge", c.method, c.path, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
}
