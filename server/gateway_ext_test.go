package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// TestHeaderSpellingOnTheWire reads the raw response, since Go's client
// canonicalises names: the seed spells them X-RateLimit-*.
func TestHeaderSpellingOnTheWire(t *testing.T) {
	env := servertest.Start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+env.AdminKey+"\r\nTE: trailers\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	head := string(raw[:strings.Index(string(raw), "\r\n\r\n")])
	for _, line := range []string{"X-RateLimit-Limit: 60", "X-RateLimit-Remaining: 59", "X-RateLimit-Reset: ", "Content-Type: application/json", "X-Request-Id: req_"} {
		if !strings.Contains(head, "\r\n"+line) {
			t.Errorf("response head lacks %q:\n%s", line, head)
		}
	}
	for _, bad := range []string{"Grpc-Metadata", "Trailer", "WWW-Authenticate"} {
		if strings.Contains(head, bad) {
			t.Errorf("response head has %s:\n%s", bad, head)
		}
	}
}

func TestRequestID(t *testing.T) {
	env := servertest.Start(t)
	r := env.REST("GET", "/v1/projects", env.AdminKey, "", "X-Request-Id", "client-trace.42:a_b")
	if got := r.Header.Get("X-Request-Id"); got != "client-trace.42:a_b" {
		t.Errorf("sane client id: X-Request-Id = %q", got)
	}
	if !strings.Contains(env.Logs.String(), `"request_id":"client-trace.42:a_b"`) {
		t.Errorf("the access log does not carry the client's request id")
	}
	for _, insane := range []string{"has space", strings.Repeat("a", 129), "semi;colon", "é"} {
		r := env.REST("GET", "/v1/projects", env.AdminKey, "", "X-Request-Id", insane)
		if got := r.Header.Get("X-Request-Id"); got == insane || !requestID.MatchString(got) {
			t.Errorf("insane client id %q: X-Request-Id = %q, want a fresh one", insane, got)
		}
	}
	// gRPC returns the id as metadata: the client's own, or a new one.
	projects := workspacev1.NewProjectServiceClient(env.Conn)
	var header metadata.MD
	ctx := metadata.AppendToOutgoingContext(env.Ctx(env.AdminKey), "x-request-id", "grpc-side-1")
	if _, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := header.Get("x-request-id"); len(got) != 1 || got[0] != "grpc-side-1" {
		t.Errorf("gRPC x-request-id = %v", got)
	}
	header = nil
	if _, err := projects.ListProjects(env.Ctx(env.AdminKey), &workspacev1.ListProjectsRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := header.Get("x-request-id"); len(got) != 1 || !requestID.MatchString(got[0]) {
		t.Errorf("gRPC x-request-id without one sent = %v", got)
	}
}

func TestGatewayRefusals(t *testing.T) {
	env := servertest.Start(t)
	key := env.AdminKey
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
		limited                       bool // carries rate-limit headers
	}{
		{"unknown route", "GET", "/v1/nope", key, "", 404, "NOT_FOUND", "", true},
		{"unknown route, no key", "GET", "/v1/nope", "", "", 401, "UNAUTHORIZED", "", false},
		{"outside the API", "GET", "/favicon.ico", "", "", 404, "NOT_FOUND", "", false},
		{"root", "GET", "/", "", "", 404, "NOT_FOUND", "", false},
		{"wrong method", "DELETE", "/v1/projects", key, "", 405, "METHOD_NOT_ALLOWED", "", true},
		{"wrong method on an item", "POST", "/v1/tasks/task_x", key, "{}", 405, "METHOD_NOT_ALLOWED", "", true},
		{"malformed JSON", "POST", "/v1/projects", key, `{"name":`, 400, "VALIDATION_ERROR", "", true},
		{"not an object", "POST", "/v1/projects", key, `["name"]`, 400, "VALIDATION_ERROR", "", true},
		{"unknown field", "POST", "/v1/projects", key, `{"name":"a","colour":"red"}`, 400, "VALIDATION_ERROR", "colour", true},
		{"mass assignment of id", "POST", "/v1/projects", key, `{"name":"a","id":"proj_mine"}`, 400, "VALIDATION_ERROR", "id", true},
		{"mass assignment of created_at", "POST", "/v1/tasks", key, `{"title":"a","created_at":"2020-01-01T00:00:00Z"}`, 400, "VALIDATION_ERROR", "created_at", true},
		{"wrong type", "POST", "/v1/projects", key, `{"name":42}`, 400, "VALIDATION_ERROR", "name", true},
		{"wrong type in a list", "POST", "/v1/api-keys", key, `{"scopes":[1]}`, 400, "VALIDATION_ERROR", "scopes", true},
		{"bad time", "POST", "/v1/tasks", key, `{"title":"a","project_id":"p","due_at":"tomorrow"}`, 400, "VALIDATION_ERROR", "due_at", true},
		{"bad query value", "GET", "/v1/tasks?limit=ten", key, "", 400, "VALIDATION_ERROR", "limit", true},
		{"body too large", "POST", "/v1/projects", key, big, 413, "PAYLOAD_TOO_LARGE", "", true},
		{"body too large, no key", "POST", "/v1/projects", "", big, 401, "UNAUTHORIZED", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.REST(c.method, c.path, c.key, c.body)
			if r.Status != c.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, c.status)
			}
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Request-Id") == "" {
				t.Errorf("headers = %v", r.Header)
			}
			body := r.JSON(t)
			e := body["error"].(map[string]any)
			details := toStrings(e["details"])
			if body["success"] != false || e["code"] != c.code || e["message"] == "" || details["field"] != c.field {
				t.Errorf("body = %s, want code %s field %q", r.Body, c.code, c.field)
			}
			if got := r.Header.Get("X-RateLimit-Limit") != ""; got != c.limited {
				t.Errorf("rate-limit headers present = %v, want %v", got, c.limited)
			}
		})
	}
	// Nothing above was created.
	if r := env.REST("GET", "/v1/projects", key, ""); !strings.Contains(compact(t, string(r.Body)), `"total":0`) {
		t.Errorf("refused requests created something: %s", r.Body)
	}
}

// TestBodyLimitWithoutContentLength streams a chunked body past the limit.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	env := servertest.Start(t)
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `{"name":"`)
		chunk := strings.Repeat("y", 64<<10)
		for i := 0; i < 40; i++ { // 2.5 MiB
			if _, err := io.WriteString(pw, chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", env.BaseURL+"/v1/projects", pr)
	req.Header.Set("Authorization", "Bearer "+env.AdminKey)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), `"PAYLOAD_TOO_LARGE"`) {
		t.Errorf("chunked oversized body: %d %s", resp.StatusCode, b)
	}
	_ = pr.CloseWithError(io.ErrClosedPipe)
}
