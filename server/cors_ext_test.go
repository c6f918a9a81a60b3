package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
)

const (
	corsApp   = "https://app.example.com"
	corsOther = "https://evil.example"
	// The values the contract's CORS section lists (issue 12, item 8).
	corsAllowHeaders  = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"
	corsExposeHeaders = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-Id, ETag, Idempotent-Replayed, X-Event-Seq"
)

func corsOrigins(origins ...string) servertest.Config {
	return func(c *server.Config) { c.CORSOrigins = origins }
}

// corsPreflight sends what a browser sends before a cross-origin request
// that is not "simple": OPTIONS, Origin, the method and headers to come, and
// never a key.
func corsPreflight(env *servertest.Env, path, origin, method string, extra ...string) *servertest.Response {
	env.T.Helper()
	headers := append([]string{"Origin", origin, "Access-Control-Request-Method", method,
		"Access-Control-Request-Headers", "authorization,content-type,idempotency-key"}, extra...)
	return env.REST(http.MethodOptions, path, "", "", headers...)
}

func corsHasVary(h http.Header, token string) bool {
	for _, v := range h.Values("Vary") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// TestCORSAllowedOrigin: with --cors-origins naming an origin, its
// preflights are answered 204 without a key, with the route's methods and
// the allowed headers, counting against no limit; its actual requests'
// answers — successes and refusals alike — name it and expose the API's
// headers to its scripts; credentials are never allowed.
func TestCORSAllowedOrigin(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("free")
		for _, c := range []struct{ path, method, methods string }{
			{"/v1/projects", "POST", "GET, HEAD, POST"},
			{"/v1/tasks/task_0000000000000000", "PATCH", "GET, HEAD, PUT, PATCH, DELETE"},
			{"/v1/workspace", "GET", "GET, HEAD"},
			{"/v1/api-keys/key_0000000000000000", "DELETE", "DELETE"},
		} {
			// A preflight that sends a key (browsers never do) is not
			// counted either.
			r := corsPreflight(env, c.path, corsApp, c.method, "Authorization", "Bearer "+key)
			what := "preflight " + c.method + " " + c.path
			if r.Status != http.StatusNoContent || len(r.Body) != 0 {
				t.Errorf("%s: %d %q, want 204 without a body", what, r.Status, r.Body)
			}
			for name, want := range map[string]string{
				"Access-Control-Allow-Origin":  corsApp,
				"Access-Control-Allow-Methods": c.methods,
				"Access-Control-Allow-Headers": corsAllowHeaders,
				"Access-Control-Max-Age":       "7200",
			} {
				if got := r.Header.Get(name); got != want {
					t.Errorf("%s: %s %q, want %q", what, name, got, want)
				}
			}
			for _, absent := range []string{"Access-Control-Allow-Credentials", "X-RateLimit-Remaining", "WWW-Authenticate", "Content-Type"} {
				if v, ok := r.Header[absent]; ok {
					t.Errorf("%s: %s %q, want none", what, absent, v)
				}
			}
			if !corsHasVary(r.Header, "Origin") || !corsHasVary(r.Header, "Access-Control-Request-Method") {
				t.Errorf("%s: Vary %q, want Origin and Access-Control-Request-Method", what, r.Header.Values("Vary"))
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Errorf("%s: no X-Request-Id", what)
			}
		}
		// Seventy preflights on a plan of 60 a minute: none is refused, and
		// the key's first request still finds its whole minute.
		for i := 0; i < 70; i++ {
			if r := corsPreflight(env, "/v1/projects", corsApp, "POST"); r.Status != http.StatusNoContent {
				t.Fatalf("preflight %d: %d %s", i, r.Status, r.Body)
			}
		}

		// The actual requests: a success, a create, an error with a key, and a
		// 401; each readable by the page.
		for _, c := range []struct {
			method, path, key, body string
			status                  int
		}{
			{"GET", "/v1/projects", key, "", 200},
			{"POST", "/v1/projects", key, `{"name":"From the web"}`, 201},
			{"GET", "/v1/projects/proj_0000000000000000", key, "", 404},
			{"GET", "/v1/projects", "", "", 401},
			{"GET", "/v1/projects?bogus=1", key, "", 400},
		} {
			what := c.method + " " + c.path
			r := env.REST(c.method, c.path, c.key, c.body, "Origin", corsApp)
			if r.Status != c.status {
				t.Errorf("%s from %s: %d %s, want %d", what, corsApp, r.Status, r.Body, c.status)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != corsApp {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, corsApp)
			}
			if got := r.Header.Get("Access-Control-Expose-Headers"); got != corsExposeHeaders {
				t.Errorf("%s: Access-Control-Expose-Headers %q, want %q", what, got, corsExposeHeaders)
			}
			if !corsHasVary(r.Header, "Origin") {
				t.Errorf("%s: Vary %q, want Origin", what, r.Header.Values("Vary"))
			}
			if _, ok := r.Header["Access-Control-Allow-Credentials"]; ok {
				t.Errorf("%s: Access-Control-Allow-Credentials is sent", what)
			}
			if c.key != "" && c.method == "GET" && c.path == "/v1/projects" && r.Header.Get("X-RateLimit-Remaining") != "59" {
				t.Errorf("the key's first request after 74 preflights: remaining %q, want 59 (preflights count for nothing)", r.Header.Get("X-RateLimit-Remaining"))
			}
		}
	}, corsOrigins(corsApp))
}

// TestCORSOriginNotAllowed: an origin the operator did not name gets no CORS
// header, so the browser keeps the answers from its page; its preflight gets
// what any OPTIONS gets (401 without a key), and requests without an Origin
// (curl, SDKs) are served as before.
func TestCORSOriginNotAllowed(t *testing.T) {
	env := servertest.Start(t, corsOrigins(corsApp, "http://127.0.0.1:5173"))
	for _, origin := range []string{corsOther, "https://app.example.com.evil.example", "null", "http://127.0.0.1:5174"} {
		r := corsPreflight(env, "/v1/projects", origin, "POST")
		if r.Status != http.StatusUnauthorized {
			t.Errorf("preflight from %s: %d %s, want the API's 401", origin, r.Status, r.Body)
		}
		get := env.REST("GET", "/v1/projects", env.AdminKey, "", "Origin", origin)
		if get.Status != http.StatusOK {
			t.Errorf("GET from %s: %d", origin, get.Status)
		}
		for _, resp := range []*servertest.Response{r, get} {
			for name := range resp.Header {
				if strings.HasPrefix(name, "Access-Control-") {
					t.Errorf("answer to %s carries %s", origin, name)
				}
			}
			// A cache must not give this answer to an allowed origin.
			if !corsHasVary(resp.Header, "Origin") {
				t.Errorf("answer to %s: Vary %q, want Origin", origin, resp.Header.Values("Vary"))
			}
		}
	}
	// The second origin of the list is allowed, as written.
	if r := corsPreflight(env, "/v1/projects", "http://127.0.0.1:5173", "POST"); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" {
		t.Errorf("preflight from the second origin: %d %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
	// No Origin: not a CORS request.
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a request without Origin got Access-Control-Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	// An OPTIONS from an allowed origin that is no preflight (no
	// Access-Control-Request-Method) is the API's 405 or 401, marked.
	r := env.REST(http.MethodOptions, "/v1/projects", env.AdminKey, "", "Origin", corsApp)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Access-Control-Allow-Origin") != corsApp || r.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("OPTIONS without Access-Control-Request-Method: %d, Allow-Origin %q, Allow %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Allow"))
	}

	// The preflights are logged, with the status sent (after Stop, which
	// waits for every handler and so for every line).
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	logs := env.Logs.String()
	if !strings.Contains(logs, `"http_route":"OPTIONS /v1/projects","http_status":204`) {
		t.Errorf("no log line of a 204 preflight:\n%s", logs)
	}
}

// TestCORSAnyOrigin: "*" allows every origin, answered with "*" (no
// credentials are involved: keys are bearer tokens), a "null" origin too.
func TestCORSAnyOrigin(t *testing.T) {
	env := servertest.Start(t, corsOrigins("*"))
	for _, origin := range []string{corsApp, corsOther, "null"} {
		r := corsPreflight(env, "/v1/tasks", origin, "POST")
		if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight from %s: %d, Allow-Origin %q; want 204 and *", origin, r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
		if g := env.REST("GET", "/v1/tasks", env.AdminKey, "", "Origin", origin); g.Header.Get("Access-Control-Allow-Origin") != "*" || g.Header.Get("Access-Control-Expose-Headers") != corsExposeHeaders {
			t.Errorf("GET from %s: Allow-Origin %q, Expose %q", origin, g.Header.Get("Access-Control-Allow-Origin"), g.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	// A path the API does not have: the preflight passes, the request is
	// the 404 the page can read.
	if r := corsPreflight(env, "/v1/nowhere", corsApp, "GET"); r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight of an unknown path: %d, methods %q; want 204 and none", r.Status, r.Header.Get("Access-Control-Allow-Methods"))
	}
}

// TestCORSOffByDefault: without origins, no header is added and a preflight
// is today's 401 with its challenge; the Settings page is no CORS resource
// either way.
func TestCORSOffByDefault(t *testing.T) {
	env := servertest.Start(t)
	r := corsPreflight(env, "/v1/projects", corsApp, "POST")
	if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("preflight without --cors-origins: %d, want 401 with its challenge", r.Status)
	}
	g := env.REST("GET", "/v1/projects", env.AdminKey, "", "Origin", corsApp)
	for _, resp := range []*servertest.Response{r, g} {
		for name := range resp.Header {
			if strings.HasPrefix(name, "Access-Control-") || name == "Vary" {
				t.Errorf("without --cors-origins an answer carries %s", name)
			}
		}
	}
	page := servertest.Start(t, corsOrigins("*"))
	if r := page.REST("GET", "/settings/api", "", "", "Origin", corsApp); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the Settings page is served with Access-Control-Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
}

// A bad entry stops the start, naming it.
func TestCORSBadOriginRefusedAtStart(t *testing.T) {
	for _, bad := range [][]string{{"https://app.example.com/path"}, {"null"}, {"app.example.com"}, {"https://ok.example,ftp://x"}} {
		_, err := server.New(context.Background(), server.Config{
			HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: t.TempDir() + "/w.db", CORSOrigins: bad,
		})
		if err == nil || !strings.Contains(err.Error(), "CORS origin") {
			t.Errorf("CORSOrigins %q: %v, want an error naming the CORS origin", bad, err)
		}
	}
}
