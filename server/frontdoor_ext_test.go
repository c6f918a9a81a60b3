package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// fdError checks that r is the contract's error envelope with status and code.
func fdError(t *testing.T, what string, r *servertest.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", what)
	}
	var body struct {
		Success *bool `json:"success"`
		Error   struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Details map[string]string `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Success == nil || *body.Success ||
		body.Error.Code != code || body.Error.Message == "" || body.Error.Details == nil {
		t.Errorf("%s: body %q, want the error envelope with code %s", what, r.Body, code)
	}
	var generic map[string]any
	_ = json.Unmarshal(r.Body, &generic)
	return generic
}

// TestTrailingDataAfterTheBody sends every write endpoint a valid body with
// something after it: only whitespace may follow the one JSON value, anything
// else is a 400 that changes nothing, counted like any other answer.
func TestTrailingDataAfterTheBody(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	r := env.REST("POST", "/v1/projects", key, `{"name":"base"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the base project: %d %s", r.Status, r.Body)
	}
	pid := r.JSON(t)["data"].(map[string]any)["id"].(string)
	r = env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"base"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the base task: %d %s", r.Status, r.Body)
	}
	tid := r.JSON(t)["data"].(map[string]any)["id"].(string)

	endpoints := []struct {
		method, path, body, list string
	}{
		{"POST", "/v1/projects", `{"name":"ok"}`, "/v1/projects"},
		{"PUT", "/v1/projects/" + pid, `{"name":"ok"}`, ""},
		{"PATCH", "/v1/projects/" + pid, `{"name":"ok"}`, ""},
		{"POST", "/v1/tasks", `{"project_id":"` + pid + `","title":"ok"}`, "/v1/tasks"},
		{"PUT", "/v1/tasks/" + tid, `{"title":"ok"}`, ""},
		{"PATCH", "/v1/tasks/" + tid, `{"title":"ok"}`, ""},
		{"POST", "/v1/api-keys", `{"name":"ok","scopes":["read"]}`, "/v1/api-keys"},
	}
	total := func(path string) float64 {
		r := env.REST("GET", path+"?limit=1", key, "")
		return r.JSON(t)["pagination"].(map[string]any)["total"].(float64)
	}
	for _, e := range endpoints {
		for _, trailer := range []string{" garbage", "{}", `{"name":"b"}`, "\x00", "\n\x00", " ,", "]", "\v", "\u00a0"} {
			what := e.method + " " + e.path + " " + e.body + strings.ReplaceAll(trailer, "\x00", `\0`)
			var before float64
			if e.list != "" {
				before = total(e.list)
			}
			r := env.REST(e.method, e.path, key, e.body+trailer)
			fdError(t, what, r, http.StatusBadRequest, "VALIDATION_ERROR")
			if r.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("%s: no rate-limit headers on the 400", what)
			}
			if e.list != "" && total(e.list) != before {
				t.Errorf("%s: created something", what)
			}
		}
		// Whitespace after the value is JSON's own and stays accepted.
		r := env.REST(e.method, e.path, key, e.body+" \r\n\t")
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Errorf("%s %s with trailing whitespace: %d %s", e.method, e.path, r.Status, r.Body)
		}
	}
	// Nothing of the refused updates landed.
	for _, path := range []string{"/v1/projects/" + pid, "/v1/tasks/" + tid} {
		r := env.REST("GET", path, key, "")
		data := r.JSON(t)["data"].(map[string]any)
		if data["name"] == "b" || data["title"] == "b" {
			t.Errorf("GET %s: %s", path, r.Body)
		}
	}
}

// fdSend sends a request with exactly the given headers (env.REST always
// types a body as JSON).
func fdSend(t *testing.T, env *servertest.Env, method, path, key, body string, header http.Header) *servertest.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// TestContentTypeOfTheBody: a body typed as anything but JSON is a 415 in the
// envelope, after authentication and the rate limit (a known key gets its
// headers, an unknown one its 401) and before the body is read; JSON in its
// spellings, and a body with no Content-Type at all, are accepted.
func TestContentTypeOfTheBody(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	count := func() float64 {
		r := env.REST("GET", "/v1/projects?limit=1", key, "")
		return r.JSON(t)["pagination"].(map[string]any)["total"].(float64)
	}
	ct := func(values ...string) http.Header { return http.Header{"Content-Type": values} }

	refused := []struct {
		header http.Header
		body   string
	}{
		{ct("text/plain"), `{"name":"ok"}`},
		{ct("text/plain; charset=utf-8"), `{"name":"ok"}`},
		{ct("application/xml"), `<project><name>ok</name></project>`},
		{ct("text/xml"), `{"name":"ok"}`},
		{ct("application/x-www-form-urlencoded"), `name=ok`},
		{ct("application/x-www-form-urlencoded"), `{"name":"ok"}`},
		{ct("multipart/form-data; boundary=x"), "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nok\r\n--x--\r\n"},
		{ct("application/octet-stream"), `{"name":"ok"}`},
		{ct("application/jsonx"), `{"name":"ok"}`},
		{ct("application/+json"), `{"name":"ok"}`},
		{ct("text/json"), `{"name":"ok"}`},
		{ct("json"), `{"name":"ok"}`},
		{ct(";;;"), `{"name":"ok"}`},
		{ct("application/json; charset=iso-8859-1"), `{"name":"ok"}`},
		{ct("application/json; charset=utf-16"), `{"name":"ok"}`},
		{ct("application/json", "text/plain"), `{"name":"ok"}`},
		{ct("application/json", "application/json"), `{"name":"ok"}`},
	}
	before := count()
	for _, c := range refused {
		what := "POST /v1/projects with Content-Type " + strings.Join(c.header["Content-Type"], " + ")
		r := fdSend(t, env, "POST", "/v1/projects", key, c.body, c.header)
		fdError(t, what, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		if r.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("%s: a known key's 415 lacks the rate-limit headers: %v", what, r.Header)
		}
	}
	// Refused on its header, before the body is read: the client announces
	// 2 MiB and sends none of it, and still gets its answer (a 415, not the
	// 413 that reading would lead to).
	c := fdDial(t, env)
	fmt.Fprintf(c, "POST /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", key, 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	fdError(t, "2 MiB announced as text/plain", &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b},
		http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	if after := count(); after != before {
		t.Errorf("refused bodies created %v projects", after-before)
	}
	// Every write endpoint checks it.
	r := env.REST("POST", "/v1/projects", key, `{"name":"target"}`)
	pid := r.JSON(t)["data"].(map[string]any)["id"].(string)
	for _, e := range []struct{ method, path string }{
		{"PUT", "/v1/projects/" + pid}, {"PATCH", "/v1/projects/" + pid}, {"POST", "/v1/tasks"},
		{"PUT", "/v1/tasks/task_x"}, {"PATCH", "/v1/tasks/task_x"}, {"POST", "/v1/api-keys"},
	} {
		r := fdSend(t, env, e.method, e.path, key, `{"name":"x"}`, ct("text/plain"))
		fdError(t, e.method+" "+e.path+" text/plain", r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	}
	// Authentication comes first: no key or an unknown one is a 401.
	fdError(t, "no key, text/plain", fdSend(t, env, "POST", "/v1/projects", "", `{"name":"ok"}`, ct("text/plain")),
		http.StatusUnauthorized, "UNAUTHORIZED")
	fdError(t, "unknown key, text/plain", fdSend(t, env, "POST", "/v1/projects", "wsk_nope", `{"name":"ok"}`, ct("text/plain")),
		http.StatusUnauthorized, "UNAUTHORIZED")

	accepted := []http.Header{
		ct("application/json"),
		ct("application/json; charset=utf-8"),
		ct("Application/JSON; Charset=UTF-8"),
		ct("application/json;charset=\"utf-8\""),
		ct("application/merge-patch+json"),
		ct("application/vnd.workspace+json; version=1"),
		{}, // no Content-Type: curl -d users forget it
		ct(""),
	}
	for i, h := range accepted {
		r := fdSend(t, env, "POST", "/v1/projects", key, `{"name":"typed"}`, h)
		if r.Status != http.StatusCreated {
			t.Errorf("POST /v1/projects with Content-Type %q: %d %s", h["Content-Type"], r.Status, r.Body)
		}
		r = fdSend(t, env, "PATCH", "/v1/projects/"+pid, key, `{"description":"typed"}`, h)
		if r.Status != http.StatusOK {
			t.Errorf("case %d: PATCH with Content-Type %q: %d %s", i, h["Content-Type"], r.Status, r.Body)
		}
	}
	// No body, nothing to type: a stray header on a GET or DELETE is ignored.
	if r := fdSend(t, env, "GET", "/v1/projects/"+pid, key, "", ct("text/plain")); r.Status != http.StatusOK {
		t.Errorf("GET with Content-Type text/plain and no body: %d %s", r.Status, r.Body)
	}
	if r := fdSend(t, env, "DELETE", "/v1/projects/"+pid, key, "", ct("application/xml")); r.Status != http.StatusOK {
		t.Errorf("DELETE with Content-Type application/xml and no body: %d %s", r.Status, r.Body)
	}
}

// fdDial opens a raw TCP connection to the REST port, for requests that Go's
// client would not send or would not let the test see as sent.
func fdDial(t *testing.T, env *servertest.Env) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(env.BaseURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMethodNotAllowedNamesAllow tries every method on every path of
// CONTRACT §4: a method the path takes is routed (never a 405), any other is
// a 405 envelope whose Allow header lists exactly the path's methods, HEAD
// wherever GET is. OPTIONS is a 405 too, with the same Allow.
func TestMethodNotAllowedNamesAllow(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	paths := []struct {
		path  string
		allow string
	}{
		{"/v1/projects", "GET, HEAD, POST"},
		{"/v1/projects/proj_00000000000000000000", "GET, HEAD, PUT, PATCH, DELETE"},
		{"/v1/tasks", "GET, HEAD, POST"},
		{"/v1/tasks:batchCreate", "POST"},
		{"/v1/tasks/task_00000000000000000000", "GET, HEAD, PUT, PATCH, DELETE"},
		{"/v1/api-keys", "GET, HEAD, POST"},
		{"/v1/api-keys/key_00000000000000000000", "DELETE"},
		{"/v1/workspace", "GET, HEAD"},
		{"/v1/openapi.json", "GET, HEAD"},
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"}
	for _, p := range paths {
		allowed := strings.Split(p.allow, ", ")
		for _, m := range methods {
			body := ""
			if m == "POST" || m == "PUT" || m == "PATCH" {
				body = `{}`
			}
			r := env.REST(m, p.path, key, body)
			what := m + " " + p.path
			if slices.Contains(allowed, m) {
				if r.Status == http.StatusMethodNotAllowed {
					t.Errorf("%s: 405, but the path takes %s (Allow %q)", what, m, r.Header.Get("Allow"))
				}
				continue
			}
			if r.Status != http.StatusMethodNotAllowed {
				t.Errorf("%s: %d, want 405; %s", what, r.Status, r.Body)
				continue
			}
			if got := r.Header.Values("Allow"); len(got) != 1 || got[0] != p.allow {
				t.Errorf("%s: Allow %q, want %q", what, got, p.allow)
			}
			if m == "HEAD" {
				continue // no body to check
			}
			fdError(t, what, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
			if !strings.Contains(string(r.Body), "Method "+m+" is not allowed") {
				t.Errorf("%s: the message does not name the client's method: %s", what, r.Body)
			}
		}
	}
}

// TestHeadAnswersLikeGet: HEAD on a GET route is the GET without its body —
// same status, same headers (Content-Length, the rate-limit headers, the
// request id), counted as a read, logged as HEAD — and its errors are the
// GET's errors.
func TestHeadAnswersLikeGet(t *testing.T) {
	env := servertest.Start(t)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key := env.AdminKey
	r := env.REST("POST", "/v1/projects", key, `{"name":"headed","description":"`+strings.Repeat("d", 3000)+`"}`)
	pid := r.JSON(t)["data"].(map[string]any)["id"].(string)
	for i := range 3 {
		env.REST("POST", "/v1/tasks", key, fmt.Sprintf(`{"project_id":%q,"title":"t%d"}`, pid, i))
	}
	_, readKey := env.NewWorkspace("free", "read")

	for _, c := range []struct {
		path, key   string
		rateLimited bool
	}{
		{"/v1/projects", key, true}, // over 2 KiB: the length is not net/http's buffer's
		{"/v1/projects/" + pid, key, true},
		{"/v1/projects/proj_00000000000000000000", key, true}, // 404
		{"/v1/tasks?project_id=" + pid, key, true},
		{"/v1/tasks?limit=0", key, true}, // 400
		{"/v1/workspace", key, true},
		{"/v1/workspace", readKey, true}, // a read: the read scope is enough
		{"/v1/api-keys", readKey, true},  // 403, as for GET
		{"/v1/projects", "", false},      // 401
		{"/v1/openapi.json", "", false},
		{"/v2/projects", key, false}, // 404 of no route
	} {
		get := env.REST("GET", c.path, c.key, "")
		head := env.REST("HEAD", c.path, c.key, "")
		what := "HEAD " + c.path
		if head.Status != get.Status {
			t.Errorf("%s: %d, GET answers %d", what, head.Status, get.Status)
		}
		if len(head.Body) != 0 {
			t.Errorf("%s: a body of %d bytes", what, len(head.Body))
		}
		// A refusal that names the request's method names HEAD.
		want := len(strings.ReplaceAll(string(get.Body), "GET /", "HEAD /"))
		if cl := head.Header.Get("Content-Length"); cl != fmt.Sprint(want) {
			t.Errorf("%s: Content-Length %q, the GET's body is %d bytes", what, cl, want)
		}
		for _, h := range []string{"Content-Type", "X-RateLimit-Limit", "Cache-Control"} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("%s: %s %q, GET has %q", what, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
		if head.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", what)
		}
		if c.rateLimited && head.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("%s: no rate-limit headers", what)
		}
	}

	// Each HEAD is counted like the GET it stands for.
	_, freeKey := env.NewWorkspace("free", "read")
	first := env.REST("HEAD", "/v1/workspace", freeKey, "")
	second := env.REST("HEAD", "/v1/workspace", freeKey, "")
	if first.Header.Get("X-RateLimit-Remaining") != "59" || second.Header.Get("X-RateLimit-Remaining") != "58" {
		t.Errorf("HEAD is not counted: remaining %q then %q", first.Header.Get("X-RateLimit-Remaining"), second.Header.Get("X-RateLimit-Remaining"))
	}
	if !strings.Contains(env.Logs.String(), `"http_route":"HEAD /v1/workspace"`) {
		t.Errorf("the access log does not name the HEAD")
	}
}

// TestNetHTTPRefusalsInTheEnvelope sends, over raw TCP, requests that
// net/http refuses before any handler runs. Each answer is the contract's
// envelope (Content-Type application/json, X-Request-Id, a Content-Length
// that frames it), closes the connection as net/http's own did, and is
// logged; no key is checked, since nothing of the request could be read.
func TestNetHTTPRefusalsInTheEnvelope(t *testing.T) {
	env := servertest.Start(t)
	auth := "Authorization: Bearer " + env.AdminKey + "\r\n"
	cases := []struct {
		name, request string
		status        int
		code          string
		message       string
	}{
		{"bad percent-escape", "GET /v1/projects/%zz HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400, "VALIDATION_ERROR", "request line or URL"},
		{"no Host", "GET /v1/projects HTTP/1.1\r\n" + auth + "\r\n", 400, "VALIDATION_ERROR", "missing required Host header"},
		{"bad header name", "GET /v1/projects HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "VALIDATION_ERROR", "invalid header name"},
		{"not HTTP", "hello\r\n\r\n", 400, "VALIDATION_ERROR", ""},
		{"unknown Transfer-Encoding", "POST /v1/projects HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "VALIDATION_ERROR", "Transfer-Encoding"},
		{"HTTP/2.0 as text", "GET /v1/projects HTTP/2.0\r\nHost: x\r\n\r\n", 400, "VALIDATION_ERROR", "HTTP version"},
		{"unknown Expect", "GET /v1/projects HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n" + auth + "\r\n", 400, "VALIDATION_ERROR", "Expect"},
		{"headers of 100 KiB", "GET /v1/projects HTTP/1.1\r\nHost: x\r\n" + auth + "X-Padding: " + strings.Repeat("p", 100<<10) + "\r\n\r\n", 431, "HEADERS_TOO_LARGE", ""},
		{"100 KB request line", "GET /v1/projects?q=" + strings.Repeat("q", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, "HEADERS_TOO_LARGE", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := fdDial(t, env)
			if _, err := io.WriteString(conn, c.request); err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(conn) // to the server's close
			if err != nil {
				t.Fatalf("reading the answer: %v (got %q)", err, raw)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
			if err != nil {
				t.Fatalf("not an HTTP response: %v\n%s", err, raw)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			if !strings.HasSuffix(string(raw), string(body)) || len(raw) != len(head)+4+len(body) {
				t.Errorf("Content-Length does not frame the answer: %q", raw)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
			}
			if !resp.Close {
				t.Errorf("the answer does not say Connection: close: %q", head)
			}
			r := &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
			got := fdError(t, c.name, r, c.status, c.code)
			errObj, _ := got["error"].(map[string]any)
			if msg, _ := errObj["message"].(string); !strings.Contains(msg, c.message) {
				t.Errorf("message %q does not say %q", msg, c.message)
			}
			if strings.Contains(string(raw), "text/plain") {
				t.Errorf("net/http's plain-text answer leaked: %q", raw)
			}
			id := resp.Header.Get("X-Request-Id")
			if !requestID.MatchString(id) {
				t.Errorf("X-Request-Id %q", id)
			}
			if !strings.Contains(env.Logs.String(), `"request_id":"`+id+`"`) {
				t.Errorf("no log line for request %s", id)
			}
		})
	}
}

// TestNetHTTPRefusalOnAKeptAliveConnection: the rewrite applies to
// net/http's answer wherever it comes on a connection, and to nothing else —
// a handler's own 400 on the same connection is untouched and keeps the
// connection open.
func TestNetHTTPRefusalOnAKeptAliveConnection(t *testing.T) {
	env := servertest.Start(t)
	conn := fdDial(t, env)
	rd := bufio.NewReader(conn)
	send := func(req string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	auth := "Authorization: Bearer " + env.AdminKey + "\r\n"
	if r := send("GET /v1/projects HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"); r.StatusCode != 200 || r.Close {
		t.Fatalf("first request: %d, close %v", r.StatusCode, r.Close)
	}
	// The handler's 400: the gateway's, with rate-limit headers, connection kept.
	r := send("POST /v1/projects HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"name\"")
	if r.StatusCode != 400 || r.Close || r.Header.Get("X-RateLimit-Remaining") == "" {
		t.Fatalf("the handler's 400: %d, close %v, %v", r.StatusCode, r.Close, r.Header)
	}
	r = send("GET /v1/projects/%zz HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n")
	b, _ := io.ReadAll(r.Body)
	fdError(t, "bad escape after two requests", &servertest.Response{Status: r.StatusCode, Header: r.Header, Body: b}, 400, "VALIDATION_ERROR")
	if !r.Close {
		t.Errorf("net/http's refusal closes the connection; the answer should say so")
	}
}

// TestNewRefusalsMatchTheDocument validates real 415 and 431 answers against
// the OpenAPI document, as TestOpenAPIMatchesTheWire does for the other rows.
func TestNewRefusalsMatchTheDocument(t *testing.T) {
	env := servertest.Start(t)
	doc := loadSpec(t)
	doc.Servers = openapi3.Servers{{URL: env.BaseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"p"}`)
	pid := r.JSON(t)["data"].(map[string]any)["id"].(string)
	for _, c := range []struct {
		method, path, body string
		header             []string
		status             int
	}{
		{"POST", "/v1/projects", `{"name":"x"}`, []string{"Content-Type", "text/plain"}, 415},
		{"PATCH", "/v1/projects/" + pid, `name=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"POST", "/v1/api-keys", `<k/>`, []string{"Content-Type", "application/xml"}, 415},
		{"GET", "/v1/projects", "", []string{"X-Padding", strings.Repeat("p", 100<<10)}, 431},
		{"POST", "/v1/tasks", `{"title":"x"}`, []string{"X-Padding", strings.Repeat("p", 100<<10)}, 431},
	} {
		what := fmt.Sprintf("%s %s → %d", c.method, c.path, c.status)
		r := env.REST(c.method, c.path, env.AdminKey, c.body, c.header...)
		if r.Status != c.status {
			t.Errorf("%s: got %d %s", what, r.Status, r.Body)
			continue
		}
		req, _ := http.NewRequest(c.method, env.BaseURL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s: not an operation of the document: %v", what, err)
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 r.Status,
			Header:                 r.Header,
			Body:                   io.NopCloser(bytes.NewReader(r.Body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			t.Errorf("%s does not match the document: %v\n%s", what, err, r.Body)
		}
	}
}
