package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// benchEnv starts a server whose workspace never hits its rate limit within a
// benchmark (the limiter still runs on every request), with one project and
// one task in it.
func benchEnv(b *testing.B) (env *servertest.Env, key, projectID, taskID string) {
	env = servertest.Start(b)
	// Unlimited for benchmarking: a limiter that counts but always admits
	// would change what is measured, so the enterprise plan and a fresh
	// minute per 1,000 requests keep the real limiter in the path.
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	key = env.AdminKey
	projectID = env.REST("POST", "/v1/projects", key, `{"name":"Bench"}`).JSON(b)["data"].(map[string]any)["id"].(string)
	taskID = env.REST("POST", "/v1/tasks", key, `{"title":"Bench","project_id":"`+projectID+`"}`).JSON(b)["data"].(map[string]any)["id"].(string)
	return env, key, projectID, taskID
}

// addTasks creates n tasks in the project, for a full page to list.
func addTasks(env *servertest.Env, key, projectID string, n int) {
	for i := 0; i < n; i++ {
		env.REST("POST", "/v1/tasks", key, `{"title":"Bench","project_id":"`+projectID+`"}`)
	}
}

// tick moves the fake clock a minute every 900 requests so the enterprise
// minute window (1,000) never fills.
func tick(env *servertest.Env, i int) {
	if i%900 == 899 {
		env.Clock.Advance(60e9)
	}
}

func BenchmarkRESTGetProject(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	benchRESTOn(b, env, "GET", "/v1/projects/"+pid, key, "")
}

func BenchmarkRESTCreateTask(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	benchRESTOn(b, env, "POST", "/v1/tasks", key, `{"title":"Bench task","project_id":"`+pid+`"}`)
}

func BenchmarkRESTUpdateTask(b *testing.B) {
	env, key, _, tid := benchEnv(b)
	benchRESTOn(b, env, "PUT", "/v1/tasks/"+tid, key, `{"status":"completed"}`)
}

func benchRESTOn(b *testing.B, env *servertest.Env, method, path, key, body string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := env.BaseURL + path
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick(env, i)
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, url, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
}

func BenchmarkGRPCGetProject(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	client := workspacev1.NewProjectServiceClient(env.Conn)
	ctx := env.Ctx(key)
	req := &workspacev1.GetProjectRequest{Id: pid}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick(env, i)
		if _, err := client.GetProject(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGRPCCreateTask(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	client := workspacev1.NewTaskServiceClient(env.Conn)
	ctx := env.Ctx(key)
	req := &workspacev1.CreateTaskRequest{Title: "Bench task", ProjectId: pid}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick(env, i)
		if _, err := client.CreateTask(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGRPCListTasks(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	addTasks(env, key, pid, 20)
	client := workspacev1.NewTaskServiceClient(env.Conn)
	ctx := env.Ctx(key)
	limit := int32(20)
	req := &workspacev1.ListTasksRequest{Limit: &limit}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick(env, i)
		if _, err := client.ListTasks(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRESTListTasks(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	addTasks(env, key, pid, 20)
	benchRESTOn(b, env, "GET", "/v1/tasks?limit=20", key, "")
}

// The same REST requests without the network: the public handler called
// directly, so the figures are the server's own request path (gateway,
// in-process channel, interceptors, service, SQLite, envelope) and nothing
// of net/http's connection handling or the client.
func BenchmarkHandlerGetProject(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	benchHandler(b, env, "GET", "/v1/projects/"+pid, key, "")
}

func BenchmarkHandlerListTasks(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	addTasks(env, key, pid, 20)
	benchHandler(b, env, "GET", "/v1/tasks?limit=20", key, "")
}

func BenchmarkHandlerCreateTask(b *testing.B) {
	env, key, pid, _ := benchEnv(b)
	benchHandler(b, env, "POST", "/v1/tasks", key, `{"title":"Bench task","project_id":"`+pid+`"}`)
}

func benchHandler(b *testing.B, env *servertest.Env, method, path, key, body string) {
	h := env.Server.Handler()
	auth := "Bearer " + key
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick(env, i)
		var rd io.Reader = http.NoBody
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Authorization", auth)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status >= 300 {
			b.Fatalf("%s %s: %d", method, path, w.status)
		}
	}
}

// discardWriter is a reusable http.ResponseWriter that keeps the status only.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
