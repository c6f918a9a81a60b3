package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit/redistest"
)

// get fetches url and returns its status and body.
func get(t *testing.T, env *servertest.Env, url string) (int, string) {
	t.Helper()
	resp, err := env.HTTP.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads the admin listener's /metrics.
func scrape(t *testing.T, env *servertest.Env) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, env, env.AdminURL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// value is the series of name with exactly these labels (among others): a
// counter's or gauge's value, a histogram's sample count. ok is false if
// there is no such series.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, ok bool) {
	f, found := fams[name]
	if !found {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, want := range labels {
			if have[k] != want {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

type series struct {
	name   string
	labels map[string]string
}

// moved scrapes, runs do, scrapes again and checks that each series grew by
// at least its minimum.
func moved(t *testing.T, env *servertest.Env, want map[*series]float64, do func()) {
	t.Helper()
	before := scrape(t, env)
	do()
	after := scrape(t, env)
	for s, min := range want {
		b, _ := value(before, s.name, s.labels)
		a, ok := value(after, s.name, s.labels)
		if !ok {
			t.Errorf("%s%v: no such series after the calls", s.name, s.labels)
			continue
		}
		if a-b < min {
			t.Errorf("%s%v went from %v to %v, want an increase of at least %v", s.name, s.labels, b, a, min)
		}
	}
}

func TestMetricsMoveWithCalls(t *testing.T) {
	env := servertest.Start(t)
	listOK := &series{"grpc_server_handled_total", map[string]string{
		"grpc_service": "workspace.v1.ProjectService", "grpc_method": "ListProjects", "grpc_type": "unary", "grpc_code": "OK"}}
	listLatency := &series{"grpc_server_handling_seconds", map[string]string{
		"grpc_service": "workspace.v1.ProjectService", "grpc_method": "ListProjects"}}
	unauth := &series{"grpc_server_handled_total", map[string]string{
		"grpc_service": "workspace.v1.ProjectService", "grpc_method": "ListProjects", "grpc_code": "Unauthenticated"}}
	allowed := &series{"workspace_ratelimit_decisions_total", map[string]string{"plan": "free", "window": "minute", "decision": "allowed"}}
	storeList := &series{"workspace_store_operation_duration_seconds", map[string]string{"operation": "ListProjects"}}
	storeLookup := &series{"workspace_store_operation_duration_seconds", map[string]string{"operation": "LookupAPIKey"}}

	// A key is looked up once, then served from the key cache for its TTL:
	// a fresh key's three calls make one look-up.
	key := env.NewKey(env.WorkspaceID, "read")
	moved(t, env, map[*series]float64{listOK: 3, listLatency: 3, unauth: 1, allowed: 3, storeList: 3, storeLookup: 1}, func() {
		for range 2 {
			if r := env.REST("GET", "/v1/projects", key, ""); r.Status != http.StatusOK {
				t.Fatalf("GET /v1/projects: %d %s", r.Status, r.Body)
			}
		}
		if _, err := workspacev1.NewProjectServiceClient(env.Conn).ListProjects(env.Ctx(key), &workspacev1.ListProjectsRequest{}); err != nil {
			t.Fatalf("gRPC ListProjects: %v", err)
		}
		if r := env.REST("GET", "/v1/projects", "wsk_notakey", ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("unknown key: %d %s", r.Status, r.Body)
		}
	})

	// Refusals are counted by the window that refused.
	refused := &series{"workspace_ratelimit_decisions_total", map[string]string{"plan": "free", "window": "minute", "decision": "refused"}}
	exhausted := &series{"grpc_server_handled_total", map[string]string{
		"grpc_service": "workspace.v1.ProjectService", "grpc_method": "ListProjects", "grpc_code": "ResourceExhausted"}}
	moved(t, env, map[*series]float64{refused: 1, exhausted: 1}, func() {
		for i := 0; ; i++ {
			r := env.REST("GET", "/v1/projects", env.AdminKey, "")
			if r.Status == http.StatusTooManyRequests {
				return
			}
			if i > 60 {
				t.Fatalf("no 429 after %d calls on the free plan", i)
			}
		}
	})

	// No Redis configured: no fallback series.
	if _, ok := value(scrape(t, env), "workspace_ratelimit_redis_degraded", nil); ok {
		t.Error("workspace_ratelimit_redis_degraded is exported without Redis")
	}
}

func TestMetricsRedisFallbackState(t *testing.T) {
	redis := redistest.Start(t)
	env := servertest.Start(t, func(c *server.Config) { c.RedisURL = redis.URL() })
	degraded := &series{"workspace_ratelimit_redis_degraded", nil}
	fallbacks := &series{"workspace_ratelimit_fallback_decisions_total", nil}

	fams := scrape(t, env)
	if v, ok := value(fams, degraded.name, nil); !ok || v != 0 {
		t.Fatalf("with Redis up: redis_degraded = %v (present %v), want 0", v, ok)
	}
	if _, ok := value(fams, fallbacks.name, nil); !ok {
		t.Fatal("with Redis configured: no fallback_decisions_total series")
	}
	if code, body := get(t, env, env.AdminURL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d %s", code, body)
	}

	redis.Stop()
	moved(t, env, map[*series]float64{fallbacks: 1, degraded: 1}, func() {
		if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Status != http.StatusOK {
			t.Fatalf("GET /v1/projects with Redis down: %d %s", r.Status, r.Body)
		}
	})
	if code, body := get(t, env, env.AdminURL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "redis unreachable") {
		t.Fatalf("/readyz with Redis down: %d %s, want 503 redis unreachable", code, body)
	}
}

func healthStatus(t *testing.T, env *servertest.Env) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(env.Conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("grpc.health.v1.Health/Check: %v", err)
	}
	return resp.GetStatus()
}

func TestHealthFollowsTheStore(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))

	if code, body := get(t, env, env.AdminURL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, env, env.AdminURL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if st := healthStatus(t, env); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health = %v, want SERVING", st)
	}

	spy.FailPing(servertest.ErrInjected)
	code, body := get(t, env, env.AdminURL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Fatalf("/readyz with the store down: %d %s, want 503 store unreachable", code, body)
	}
	if strings.Contains(body, "disk on fire") {
		t.Errorf("/readyz shows the cause: %s", body)
	}
	if st := healthStatus(t, env); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("gRPC health with the store down = %v, want NOT_SERVING", st)
	}
	if code, _ := get(t, env, env.AdminURL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with the store down: %d, want 200 (alive, just not ready)", code)
	}
	if !strings.Contains(env.Logs.String(), `"msg":"not ready"`) {
		t.Error("no log line says the server is not ready")
	}

	spy.FailPing(nil)
	if code, body := get(t, env, env.AdminURL+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz after the store came back: %d %s", code, body)
	}
	if st := healthStatus(t, env); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health after the store came back = %v, want SERVING", st)
	}
}

func TestNotReadyAsSoonAsShutdownStarts(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	// A create held inside the store keeps the HTTP drain, and so the whole
	// shutdown, open until the test has checked /readyz; an open Watch stream
	// tells the test when shutdown has started.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	watch, err := healthpb.NewHealthClient(env.Conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch status: %v, %v; want SERVING", m.GetStatus(), err)
	}
	hold := spy.HoldCreateProject()
	defer hold.Release()
	created := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", env.BaseURL+"/v1/projects", strings.NewReader(`{"name":"in flight"}`))
		req.Header.Set("Authorization", "Bearer "+env.AdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			created <- 0
			return
		}
		resp.Body.Close()
		created <- resp.StatusCode
	}()
	<-hold.Entered

	stopped := make(chan error, 1)
	go func() { stopped <- env.Stop() }()
	if m, err := watch.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch status once shutdown starts: %v, %v; want NOT_SERVING", m.GetStatus(), err)
	}
	code, body := get(t, env, env.AdminURL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("/readyz during shutdown: %d %s, want 503 shutting down", code, body)
	}
	hold.Release()
	if code := <-created; code != http.StatusCreated {
		t.Errorf("the create in flight at shutdown: %d, want 201", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestPprofOnlyOnTheAdminListener(t *testing.T) {
	env := servertest.Start(t)
	if code, body := get(t, env, env.AdminURL+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("admin /debug/pprof/: %d", code)
	}
	if code, _ := get(t, env, env.AdminURL+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Fatalf("admin /debug/pprof/goroutine: %d", code)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine", "/metrics", "/healthz", "/readyz"} {
		r := env.REST("GET", path, "", "")
		if r.Status != http.StatusNotFound || r.JSON(t)["error"].(map[string]any)["code"] != "NOT_FOUND" {
			t.Errorf("public %s: %d %s, want the 404 envelope", path, r.Status, r.Body)
		}
	}
	if code, _ := get(t, env, env.AdminURL+"/v1/projects"); code != http.StatusNotFound {
		t.Errorf("admin /v1/projects: %d, want 404 (the API is not on the admin port)", code)
	}
}

func TestAdminListenerOffByDefault(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) { c.AdminAddr = "" })
	if a := env.Server.AdminAddr(); a != "" {
		t.Fatalf("AdminAddr() = %q with Config.AdminAddr empty, want \"\"", a)
	}
}

// requestLines are the access-log lines of one request id.
func requestLines(t *testing.T, env *servertest.Env, requestID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(env.Logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if m["msg"] == "request" && m["request_id"] == requestID {
			out = append(out, m)
		}
	}
	return out
}

func TestAccessLogLines(t *testing.T) {
	env := servertest.Start(t)
	cases := []struct {
		name, method, path, body string
		want                     map[string]any
	}{
		{"call", "GET", "/v1/projects/proj_0000000000000000", "", map[string]any{
			"rpc": "/workspace.v1.ProjectService/GetProject", "http_route": "GET /v1/projects/{id}",
			"http_status": float64(404), "code": "NotFound", "level": "INFO"}},
		{"put served as patch", "PUT", "/v1/projects/proj_0000000000000000", `{"name":"x"}`, map[string]any{
			"rpc": "/workspace.v1.ProjectService/UpdateProject", "http_route": "PUT /v1/projects/{id}", "http_status": float64(404)}},
		{"create", "POST", "/v1/projects", `{"name":"Logged"}`, map[string]any{
			"http_route": "POST /v1/projects", "http_status": float64(201), "code": "OK"}},
		{"unknown route, refused by the gateway", "GET", "/v1/nope", "", map[string]any{
			"http_route": "GET /v1/nope", "http_status": float64(404), "code": "NotFound"}},
		{"bad JSON, refused by the gateway", "POST", "/v1/projects", `{"name":`, map[string]any{
			"http_route": "POST /v1/projects", "http_status": float64(400), "code": "InvalidArgument"}},
		{"wrong method, refused by the gateway", "DELETE", "/v1/projects", "", map[string]any{
			"http_route": "DELETE /v1/projects", "http_status": float64(405)}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := "log-test-" + string(rune('a'+i))
			env.REST(c.method, c.path, env.AdminKey, c.body, "X-Request-Id", id)
			lines := requestLines(t, env, id)
			if len(lines) != 1 {
				t.Fatalf("%d log lines for the request, want exactly 1: %v", len(lines), lines)
			}
			l := lines[0]
			for k, v := range c.want {
				if l[k] != v {
					t.Errorf("%s = %v, want %v (line %v)", k, l[k], v, l)
				}
			}
			for _, k := range []string{"workspace_id", "key_id", "duration_ms", "ratelimit_remaining"} {
				if _, ok := l[k]; !ok {
					t.Errorf("line has no %s: %v", k, l)
				}
			}
			if l["workspace_id"] != env.WorkspaceID {
				t.Errorf("workspace_id = %v, want %s", l["workspace_id"], env.WorkspaceID)
			}
		})
	}

	// A non-API path and a gRPC call get one line each too; the gRPC one has
	// no HTTP route.
	env.REST("GET", "/nowhere", "", "", "X-Request-Id", "log-test-nowhere")
	if lines := requestLines(t, env, "log-test-nowhere"); len(lines) != 1 || lines[0]["http_status"] != float64(404) {
		t.Errorf("non-API path: lines %v, want one with http_status 404", lines)
	}
	ctx := env.Ctx(env.AdminKey)
	if _, err := workspacev1.NewProjectServiceClient(env.Conn).ListProjects(metadataWithID(ctx, "log-test-grpc"), &workspacev1.ListProjectsRequest{}); err != nil {
		t.Fatal(err)
	}
	if lines := requestLines(t, env, "log-test-grpc"); len(lines) != 1 || lines[0]["http_route"] != nil || lines[0]["code"] != "OK" {
		t.Errorf("gRPC call: lines %v, want one with code OK and no http_route", lines)
	}
	// A gRPC client cannot pass itself off as a REST route.
	spoof := metadata.AppendToOutgoingContext(metadataWithID(ctx, "log-test-spoof"), "x-http-route", "GET /v1/forged")
	if _, err := workspacev1.NewProjectServiceClient(env.Conn).ListProjects(spoof, &workspacev1.ListProjectsRequest{}); err != nil {
		t.Fatal(err)
	}
	if lines := requestLines(t, env, "log-test-spoof"); len(lines) != 1 || lines[0]["http_route"] != nil {
		t.Errorf("gRPC call with a forged route: lines %v, want one without http_route", lines)
	}

	if strings.Contains(env.Logs.String(), env.AdminKey) {
		t.Error("the log contains the secret key")
	}
}

func TestPanicAnsweredWith500AndLoggedWithStack(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	spy.PanicCreateProject("kaboom: secret internals")

	r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"p"}`, "X-Request-Id", "panic-test")
	if r.Status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", r.Status, r.Body)
	}
	e := r.JSON(t)["error"].(map[string]any)
	if e["code"] != "INTERNAL_ERROR" || e["details"].(map[string]any)["request_id"] != "panic-test" {
		t.Fatalf("error %v, want INTERNAL_ERROR with details.request_id panic-test", e)
	}
	if strings.Contains(string(r.Body), "kaboom") {
		t.Fatalf("the panic leaked to the client: %s", r.Body)
	}

	var panicLine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(env.Logs.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		if m["msg"] == "panic" && m["request_id"] == "panic-test" {
			panicLine = m
		}
	}
	if panicLine == nil {
		t.Fatalf("no panic line in the log:\n%s", env.Logs.String())
	}
	if stack, _ := panicLine["stack"].(string); !strings.Contains(stack, "servertest.(*Spy).CreateProject") {
		t.Errorf("the panic line's stack does not show where it happened:\n%s", stack)
	}
	lines := requestLines(t, env, "panic-test")
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["code"] != "Internal" || lines[0]["http_status"] != float64(500) {
		t.Errorf("request line %v, want one ERROR line with code Internal and http_status 500", lines)
	}

	// The server goes on serving.
	spy.PanicCreateProject(nil)
	if r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"p"}`); r.Status != http.StatusCreated {
		t.Fatalf("after the panic: %d %s", r.Status, r.Body)
	}
}

func TestSettingsPageServed(t *testing.T) {
	env := servertest.Start(t)
	for _, c := range []struct{ path, contentType, contains string }{
		{"/settings/api", "text/html; charset=utf-8", "Generate New Key"},
		{"/settings/api/app.js", "text/javascript; charset=utf-8", "sessionStorage"},
		{"/settings/api/style.css", "text/css; charset=utf-8", "font-family"},
	} {
		r := env.REST("GET", c.path, "", "")
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != c.contentType || !strings.Contains(string(r.Body), c.contains) {
			t.Errorf("GET %s: %d %s", c.path, r.Status, r.Header.Get("Content-Type"))
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", c.path, h, got, want)
			}
		}
	}
	page := string(env.REST("GET", "/settings/api", "", "", "X-Request-Id", "settings-page").Body)
	if lines := requestLines(t, env, "settings-page"); len(lines) != 1 || lines[0]["http_route"] != "GET /settings/api" || lines[0]["http_status"] != float64(200) {
		t.Errorf("settings page request: log lines %v, want one with its route and status 200", lines)
	}
	for _, tag := range strings.Split(page, "<script")[1:] {
		if !strings.HasPrefix(strings.TrimSpace(tag), "src=") {
			t.Errorf("inline script in the page: <script%s", tag[:min(len(tag), 40)])
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/settings"}, {"GET", "/settings/api/"}, {"GET", "/settings/api/nope.js"}, {"POST", "/settings/api"},
	} {
		r := env.REST(c.method, c.path, "", "")
		if r.Status != http.StatusNotFound || r.JSON(t)["error"].(map[string]any)["code"] != "NOT_FOUND" {
			t.Errorf("%s %s: %d %s, want the 404 envelope", c.method, c.path, r.Status, r.Body)
		}
	}
}

func metadataWithID(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-request-id", id)
}
