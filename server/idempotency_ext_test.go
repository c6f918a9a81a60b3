package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// idxData returns the data object of a success envelope.
func idxData(t *testing.T, r *servertest.Response) map[string]any {
	t.Helper()
	d, ok := r.JSON(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("status %d: no data object: %s", r.Status, r.Body)
	}
	return d
}

func idxProjectTotal(t *testing.T, env *servertest.Env, key string) float64 {
	t.Helper()
	r := env.REST("GET", "/v1/projects?limit=1", key, "")
	if r.Status != 200 {
		t.Fatalf("list projects: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["pagination"].(map[string]any)["total"].(float64)
}

func idxCheckError(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if got, _, _ := extRESTError(t, r); got != code {
		t.Errorf("%s: error.code %q, want %q", what, got, code)
	}
}

func TestIdempotentCreate(t *testing.T) {
	env := servertest.Start(t)
	wsID, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
	c := extNewClients(env)

	body := `{"name":"Launch","description":"only once"}`
	first := env.REST("POST", "/v1/projects", key, body, "Idempotency-Key", "launch-1")
	if first.Status != 201 || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first create: %d %v %s", first.Status, first.Header, first.Body)
	}
	// The same request again, spelled differently (member order, spacing):
	// the original response, marked as replayed; nothing created twice.
	for i := range 3 {
		env.Clock.Advance(time.Second) // a replay must not show a new time
		again := env.REST("POST", "/v1/projects", key, `{ "description": "only once", "name": "Launch" }`, "Idempotency-Key", "launch-1")
		if again.Status != 201 || string(again.Body) != string(first.Body) {
			t.Fatalf("retry %d: %d %s, want 201 %s", i, again.Status, again.Body, first.Body)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("X-RateLimit-Limit") == "" || again.Header.Get("X-Request-Id") == "" {
			t.Errorf("retry %d headers: %v", i, again.Header)
		}
	}
	if n := idxProjectTotal(t, env, key); n != 1 {
		t.Errorf("projects after a create and 3 retries: %v, want 1", n)
	}
	id := idxData(t, first)["id"].(string)

	t.Run("gRPC retry of a REST create", func(t *testing.T) {
		var header metadata.MD
		ctx := metadata.AppendToOutgoingContext(env.Ctx(key), "idempotency-key", "launch-1")
		resp, err := c.projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "Launch", Description: "only once"}, grpc.Header(&header))
		if err != nil || resp.GetProject().GetId() != id {
			t.Fatalf("gRPC retry: %v %v, want project %s", resp, err, id)
		}
		if v := header.Get("idempotent-replayed"); len(v) != 1 || v[0] != "true" {
			t.Errorf("gRPC replay header metadata: %v", header)
		}
	})

	t.Run("same key, different body: 422", func(t *testing.T) {
		r := env.REST("POST", "/v1/projects", key, `{"name":"Launch v2"}`, "Idempotency-Key", "launch-1")
		idxCheckError(t, "REST", r, 422, "IDEMPOTENCY_KEY_REUSED")
		ctx := metadata.AppendToOutgoingContext(env.Ctx(key), "idempotency-key", "launch-1")
		_, err := c.projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "Launch v2"})
		st, info := extErrorInfo(err)
		if st.Code() != codes.FailedPrecondition || info.GetReason() != "IDEMPOTENCY_KEY_REUSED" {
			t.Errorf("gRPC: %v %v, want FAILED_PRECONDITION IDEMPOTENCY_KEY_REUSED", st.Code(), info)
		}
		// The same key on another create method is another request too.
		r = env.REST("POST", "/v1/tasks", key, fmt.Sprintf(`{"project_id":%q,"title":"t"}`, id), "Idempotency-Key", "launch-1")
		idxCheckError(t, "another method", r, 422, "IDEMPOTENCY_KEY_REUSED")
	})

	t.Run("keys are scoped to the workspace", func(t *testing.T) {
		_, otherKey := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		r := env.REST("POST", "/v1/projects", otherKey, body, "Idempotency-Key", "launch-1")
		if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" || idxData(t, r)["id"] == id {
			t.Errorf("same key in another workspace: %d %v %s", r.Status, r.Header, r.Body)
		}
		// And another key of the same workspace shares them.
		second := env.NewKey(wsID, "write")
		r = env.REST("POST", "/v1/projects", second, body, "Idempotency-Key", "launch-1")
		if r.Status != 201 || idxData(t, r)["id"] != id {
			t.Errorf("same key through another API key of the workspace: %d %s", r.Status, r.Body)
		}
	})

	t.Run("a key without the scope gets 403, not a replay", func(t *testing.T) {
		reader := env.NewKey(wsID, "read")
		r := env.REST("POST", "/v1/projects", reader, body, "Idempotency-Key", "launch-1")
		idxCheckError(t, "read key", r, 403, "FORBIDDEN")
	})

	t.Run("a failed create leaves the key free", func(t *testing.T) {
		r := env.REST("POST", "/v1/projects", key, `{"name":"   "}`, "Idempotency-Key", "fix-and-retry")
		idxCheckError(t, "invalid create", r, 400, "VALIDATION_ERROR")
		r = env.REST("POST", "/v1/projects", key, `{"name":"Fixed"}`, "Idempotency-Key", "fix-and-retry")
		if r.Status != 201 {
			t.Errorf("corrected retry under the same key: %d %s", r.Status, r.Body)
		}
	})

	t.Run("tasks too", func(t *testing.T) {
		tb := fmt.Sprintf(`{"project_id":%q,"title":"Once"}`, id)
		a := env.REST("POST", "/v1/tasks", key, tb, "Idempotency-Key", "task-once")
		b := env.REST("POST", "/v1/tasks", key, tb, "Idempotency-Key", "task-once")
		if a.Status != 201 || b.Status != 201 || string(a.Body) != string(b.Body) || b.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("task create and retry: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
		}
	})

	t.Run("invalid keys: 400", func(t *testing.T) {
		for _, k := range []string{"", strings.Repeat("k", 256), "naïve", "tab\there"} {
			r := env.REST("POST", "/v1/projects", key, `{"name":"x"}`, "Idempotency-Key", k)
			idxCheckError(t, fmt.Sprintf("key %q", k), r, 400, "VALIDATION_ERROR")
			if _, _, d := extRESTError(t, r); d["field"] != "idempotency-key" {
				t.Errorf("key %q: details %v", k, d)
			}
		}
		ok := env.REST("POST", "/v1/projects", key, `{"name":"longest"}`, "Idempotency-Key", strings.Repeat("k", 255))
		if ok.Status != 201 {
			t.Errorf("a 255-character key: %d %s", ok.Status, ok.Body)
		}
		ctx := metadata.AppendToOutgoingContext(env.Ctx(key), "idempotency-key", "a", "idempotency-key", "b")
		_, err := c.projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "two keys"})
		if st, info := extErrorInfo(err); st.Code() != codes.InvalidArgument || info.GetMetadata()["field"] != "idempotency-key" {
			t.Errorf("two keys over gRPC: %v", err)
		}
	})

	t.Run("not accepted on API key creation", func(t *testing.T) {
		r := env.REST("POST", "/v1/api-keys", key, `{"name":"k","scopes":["read"]}`, "Idempotency-Key", "new-key")
		idxCheckError(t, "create key with Idempotency-Key", r, 400, "VALIDATION_ERROR")
		if strings.Contains(string(r.Body), "wsk_") {
			t.Errorf("refusal carries a key: %s", r.Body)
		}
	})

	t.Run("ignored on reads and deletes", func(t *testing.T) {
		if r := env.REST("GET", "/v1/projects/"+id, key, "", "Idempotency-Key", "launch-1"); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("GET with a key: %d %v", r.Status, r.Header)
		}
	})

	t.Run("expires after 24 hours", func(t *testing.T) {
		env.Clock.Advance(24*time.Hour + time.Minute)
		r := env.REST("POST", "/v1/projects", key, body, "Idempotency-Key", "launch-1")
		if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" || idxData(t, r)["id"] == id {
			t.Errorf("after 24 h: %d %v %s, want a new project", r.Status, r.Header, r.Body)
		}
	})
}

// TestIdempotentCreateInFlight: a retry that arrives while the first request
// still runs gets 409, and the first then completes and is replayed. The
// first create is held inside the store, so no timing is involved.
func TestIdempotentCreateInFlight(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	hold := spy.HoldCreateProject()
	defer hold.Release()
	body := `{"name":"Slow"}`

	firstDone := make(chan *servertest.Response, 1)
	go func() {
		firstDone <- env.REST("POST", "/v1/projects", env.AdminKey, body, "Idempotency-Key", "slow-1")
	}()
	<-hold.Entered // the first request holds the key and is inside CreateProject

	r := env.REST("POST", "/v1/projects", env.AdminKey, body, "Idempotency-Key", "slow-1")
	idxCheckError(t, "retry while the first runs", r, 409, "CONFLICT")
	ctx := metadata.AppendToOutgoingContext(env.Ctx(env.AdminKey), "idempotency-key", "slow-1")
	_, err := extNewClients(env).projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "Slow"})
	if st, info := extErrorInfo(err); st.Code() != codes.AlreadyExists || info.GetReason() != "CONFLICT" {
		t.Errorf("gRPC retry while the first runs: %v", err)
	}
	// A different body is still a 422, in flight or not.
	idxCheckError(t, "other body while the first runs",
		env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"Other"}`, "Idempotency-Key", "slow-1"), 422, "IDEMPOTENCY_KEY_REUSED")

	hold.Release()
	first := <-firstDone
	if first.Status != 201 {
		t.Fatalf("first request: %d %s", first.Status, first.Body)
	}
	again := env.REST("POST", "/v1/projects", env.AdminKey, body, "Idempotency-Key", "slow-1")
	if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after the first finished: %d %s, want the first response %s", again.Status, again.Body, first.Body)
	}
	if n := idxProjectTotal(t, env, env.AdminKey); n != 1 {
		t.Errorf("projects: %v, want 1", n)
	}
}

// TestIdempotentCreateOtherReplica: a retry that lands on another server over
// the same database (here a second in-process server on the same SQLite file;
// cmd/workspaced's replica test does it with PostgreSQL) gets the original
// response.
func TestIdempotentCreateOtherReplica(t *testing.T) {
	db := t.TempDir() + "/shared.db"
	env := servertest.Start(t, func(c *server.Config) { c.Database = db })
	other, err := server.New(context.Background(), server.Config{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: db,
		Logger: slog.New(slog.DiscardHandler), Now: env.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- other.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("second server: %v", err)
		}
	}()

	body := `{"name":"Replicated"}`
	first := env.REST("POST", "/v1/projects", env.AdminKey, body, "Idempotency-Key", "across")
	if first.Status != 201 {
		t.Fatalf("create on A: %d %s", first.Status, first.Body)
	}
	retry := *env
	retry.BaseURL = "http://" + other.HTTPAddr()
	again := retry.REST("POST", "/v1/projects", env.AdminKey, body, "Idempotency-Key", "across")
	if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry on B: %d %v %s, want %s", again.Status, again.Header, again.Body, first.Body)
	}
	conn, err := grpc.NewClient(other.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gctx := metadata.AppendToOutgoingContext(env.Ctx(env.AdminKey), "idempotency-key", "across")
	resp, err := workspacev1.NewProjectServiceClient(conn).CreateProject(gctx, &workspacev1.CreateProjectRequest{Name: "Replicated"})
	if err != nil || resp.GetProject().GetId() != idxData(t, first)["id"] {
		t.Errorf("gRPC retry on B: %v %v", resp, err)
	}
	list, err := workspacev1.NewProjectServiceClient(conn).ListProjects(env.Ctx(env.AdminKey), &workspacev1.ListProjectsRequest{Limit: proto.Int32(10)})
	if err != nil || list.GetPagination().GetTotal() != 1 {
		t.Errorf("projects seen from B: %v %v, want 1", list, err)
	}
}
