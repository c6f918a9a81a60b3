package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// Batch create (issue 12, item 6): POST /v1/tasks:batchCreate and gRPC
// BatchCreateTasks, on both backends.

const batchPath = "/v1/tasks:batchCreate"

// batBody is a batch of n tasks titled prefix0…, in project.
func batBody(project, prefix string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"project_id":%q,"title":"%s%d"}`, project, prefix, i)
	}
	return `{"tasks":[` + strings.Join(items, ",") + `]}`
}

// batTasks checks that r is a 201 whose body is exactly
// {"success":true,"data":{"tasks":[…]}} and returns the tasks.
func batTasks(t *testing.T, what string, r *servertest.Response) []map[string]any {
	t.Helper()
	if r.Status != 201 {
		t.Fatalf("%s: %d %s, want 201", what, r.Status, r.Body)
	}
	var env struct {
		Success *bool           `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &members); err != nil || len(members) != 2 {
		t.Fatalf("%s: body is not {success, data}: %s", what, r.Body)
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.Success == nil || !*env.Success {
		t.Fatalf("%s: not a success envelope: %s", what, r.Body)
	}
	var data map[string][]map[string]any
	if err := json.Unmarshal(env.Data, &data); err != nil || len(data) != 1 || data["tasks"] == nil {
		t.Fatalf("%s: data is not {\"tasks\":[…]}: %s", what, env.Data)
	}
	return data["tasks"]
}

// batTotal is how many tasks the workspace holds (in project, if set).
func batTotal(t *testing.T, c extClients, ctx context.Context, project string) int32 {
	t.Helper()
	resp, err := c.tasks.ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: proto.Int32(1), ProjectId: project})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	return resp.GetPagination().GetTotal()
}

// batGRPCError checks a gRPC error: its code, its ErrorInfo reason and
// details.field, and for a validation error the BadRequest naming the same
// field.
func batGRPCError(t *testing.T, what string, err error, code codes.Code, reason, field string) {
	t.Helper()
	st, info := extErrorInfo(err)
	if st.Code() != code || info.GetReason() != reason || info.GetMetadata()["field"] != field {
		t.Errorf("%s: %v %v, want %v %s with field %q", what, st.Code(), info, code, reason, field)
		return
	}
	if code != codes.InvalidArgument {
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			if v := br.GetFieldViolations(); len(v) != 1 || v[0].GetField() != field {
				t.Errorf("%s: BadRequest %v, want one violation of %q", what, br, field)
			}
			return
		}
	}
	t.Errorf("%s: no BadRequest in %v", what, st.Details())
}

// TestBatchCreateTasks: 201 with the tasks in the order sent, each stored as
// POST /v1/tasks stores one, on both surfaces.
func TestBatchCreateTasks(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		c := extNewClients(env)
		ctx := env.Ctx(key)
		p1 := c.mustProject(t, ctx, "one").GetId()
		p2 := c.mustProject(t, ctx, "two").GetId()

		body := fmt.Sprintf(`{"tasks":[
			{"project_id":%q,"title":"  first  ","description":"d1"},
			{"project_id":%q,"title":"second","status":"in_progress","due_at":"2030-01-02T03:04:05Z"},
			{"project_id":%q,"title":"third","status":"completed"},
			{"project_id":%q,"title":"fourth","due_at":null},
			{"project_id":%q,"title":"fifth","status":"todo","description":""}]}`, p1, p2, p1, p2, p1)
		got := batTasks(t, "REST batch", env.REST("POST", batchPath, key, body))
		want := []struct {
			project, title, status, due string
			completed                   bool
		}{
			{p1, "first", "todo", "", false},
			{p2, "second", "in_progress", "2030-01-02T03:04:05Z", false},
			{p1, "third", "completed", "", true},
			{p2, "fourth", "todo", "", false},
			{p1, "fifth", "todo", "", false},
		}
		if len(got) != len(want) {
			t.Fatalf("REST batch: %d tasks, want %d", len(got), len(want))
		}
		seen := map[string]bool{}
		for i, w := range want {
			g := got[i]
			id, _ := g["id"].(string)
			if !ids.Valid(ids.Task, id) || seen[id] {
				t.Errorf("task %d: id %q is not a fresh task id", i, id)
			}
			seen[id] = true
			due, _ := g["due_at"].(string)
			if g["project_id"] != w.project || g["title"] != w.title || g["status"] != w.status || due != w.due ||
				(g["completed_at"] != nil) != w.completed {
				t.Errorf("task %d: %v, want %+v", i, g, w)
			}
			// Each is what GET /v1/tasks/{id} answers, byte for byte.
			one := env.REST("GET", "/v1/tasks/"+id, key, "")
			wantBody, _ := json.Marshal(map[string]any{"success": true, "data": g})
			var gotBody map[string]any
			_ = json.Unmarshal(one.Body, &gotBody)
			again, _ := json.Marshal(gotBody)
			if one.Status != 200 || string(again) != string(wantBody) {
				t.Errorf("GET task %d: %d %s, want %s", i, one.Status, one.Body, wantBody)
			}
		}
		// Newest first: as if created one by one, in the order sent.
		list := env.REST("GET", "/v1/tasks?project_id="+p1, key, "").JSON(t)["data"].([]any)
		var titles []string
		for _, it := range list {
			titles = append(titles, it.(map[string]any)["title"].(string))
		}
		if strings.Join(titles, ",") != "fifth,third,first" {
			t.Errorf("project one lists %v, want fifth,third,first", titles)
		}

		// gRPC: the same RPC, the same order.
		var header metadata.MD
		resp, err := c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{Tasks: []*workspacev1.CreateTaskRequest{
			{ProjectId: p2, Title: "g0", DueAt: timestamppb.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))},
			{ProjectId: p1, Title: "g1", Status: "completed"},
			{ProjectId: p2, Title: "g2"},
		}}, grpc.Header(&header))
		if err != nil {
			t.Fatalf("gRPC BatchCreateTasks: %v", err)
		}
		if len(resp.GetTasks()) != 3 {
			t.Fatalf("gRPC: %d tasks, want 3", len(resp.GetTasks()))
		}
		for i, task := range resp.GetTasks() {
			if task.GetTitle() != "g"+strconv.Itoa(i) || seen[task.GetId()] || !ids.Valid(ids.Task, task.GetId()) {
				t.Errorf("gRPC task %d: %v", i, task)
			}
			seen[task.GetId()] = true
			stored, err := c.tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: task.GetId()})
			if err != nil || !proto.Equal(stored.GetTask(), task) {
				t.Errorf("gRPC task %d: stored %v, %v; answered %v", i, stored.GetTask(), err, task)
			}
		}
		if resp.GetTasks()[1].GetCompletedAt() == nil || resp.GetTasks()[0].GetDueAt().AsTime().Year() != 2031 {
			t.Errorf("gRPC tasks: %v", resp.GetTasks())
		}
		if len(header.Get("x-ratelimit-remaining")) != 1 {
			t.Errorf("gRPC header metadata: %v", header)
		}
		if n := batTotal(t, c, ctx, ""); n != 8 {
			t.Errorf("the workspace holds %d tasks, want 8", n)
		}
	})
}

// TestBatchCreateAllOrNothing: one bad item fails the whole batch, named by
// details.field (tasks[i].…), and nothing of it is stored; a project the
// workspace does not have is the 404 POST /v1/tasks answers, naming the item.
func TestBatchCreateAllOrNothing(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		_, otherKey := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		c := extNewClients(env)
		ctx := env.Ctx(key)
		p := c.mustProject(t, ctx, "mine").GetId()
		foreign := c.mustProject(t, env.Ctx(otherKey), "theirs").GetId()
		random := ids.New(ids.Project)

		// What the single create answers for a foreign project, to mirror.
		single := env.REST("POST", "/v1/tasks", key, fmt.Sprintf(`{"project_id":%q,"title":"x"}`, foreign))
		inpCheckError(t, "single create, foreign project", single, 404, "NOT_FOUND", "project_id")

		item := func(project, title, extra string) string {
			return fmt.Sprintf(`{"project_id":%q,"title":%q%s}`, project, title, extra)
		}
		good := func(i int) string { return item(p, "ok"+strconv.Itoa(i), "") }
		batch := func(n int, bad map[int]string) string {
			items := make([]string, n)
			for i := range items {
				items[i] = good(i)
				if b, ok := bad[i]; ok {
					items[i] = b
				}
			}
			return `{"tasks":[` + strings.Join(items, ",") + `]}`
		}
		long := strings.Repeat("x", 501)
		for _, tc := range []struct {
			name   string
			body   string
			status int
			code   string
			field  string
		}{
			{"blank title", batch(5, map[int]string{3: item(p, "   ", "")}), 400, "VALIDATION_ERROR", "tasks[3].title"},
			{"long title", batch(5, map[int]string{0: item(p, long, "")}), 400, "VALIDATION_ERROR", "tasks[0].title"},
			{"no project", batch(5, map[int]string{4: `{"title":"t"}`}), 400, "VALIDATION_ERROR", "tasks[4].project_id"},
			{"bad status", batch(5, map[int]string{1: item(p, "t", `,"status":"later"`)}), 400, "VALIDATION_ERROR", "tasks[1].status"},
			{"NUL in description", batch(3, map[int]string{2: item(p, "t", `,"description":"a\u0000b"`)}), 400, "VALIDATION_ERROR", "tasks[2].description"},
			{"two bad items: the first", batch(5, map[int]string{1: item(p, "", ""), 3: item(p, "t", `,"status":"x"`)}), 400, "VALIDATION_ERROR", "tasks[1].title"},
			{"a bad field before a missing project", batch(5, map[int]string{0: item(foreign, "t", ""), 4: item(p, "", "")}), 400, "VALIDATION_ERROR", "tasks[4].title"},
			{"foreign project in the middle", batch(5, map[int]string{2: item(foreign, "t", "")}), 404, "NOT_FOUND", "tasks[2].project_id"},
			{"random project last", batch(5, map[int]string{4: item(random, "t", "")}), 404, "NOT_FOUND", "tasks[4].project_id"},
			{"malformed project id", batch(5, map[int]string{1: item("proj_short", "t", "")}), 404, "NOT_FOUND", "tasks[1].project_id"},
			{"two missing projects: the first", batch(5, map[int]string{3: item(random, "t", ""), 1: item(foreign, "t", "")}), 404, "NOT_FOUND", "tasks[1].project_id"},
			{"a foreign project before a malformed id", batch(5, map[int]string{3: item("bogus", "t", ""), 1: item(foreign, "t", "")}), 404, "NOT_FOUND", "tasks[1].project_id"},
			{"a malformed id before a foreign project", batch(5, map[int]string{1: item("bogus", "t", ""), 3: item(foreign, "t", "")}), 404, "NOT_FOUND", "tasks[1].project_id"},
			{"a NUL in a project id", `{"tasks":[` + good(0) + `,{"project_id":"proj_\u0000aaaaaaaaaaaaaaaaaa","title":"t"}]}`, 404, "NOT_FOUND", "tasks[1].project_id"},
			// Bodies that do not decode name the item's field too.
			{"title of the wrong type", `{"tasks":[` + good(0) + `,{"project_id":"` + p + `","title":5}]}`, 400, "VALIDATION_ERROR", "tasks[1].title"},
			{"due_at not a time", `{"tasks":[{"project_id":"` + p + `","title":"t","due_at":"tomorrow"}]}`, 400, "VALIDATION_ERROR", "tasks[0].due_at"},
			{"unknown field in an item", `{"tasks":[` + good(0) + `,` + good(1) + `,{"project_id":"` + p + `","titel":"t"}]}`, 400, "VALIDATION_ERROR", "tasks[2].titel"},
			{"server-set field in an item", `{"tasks":[{"project_id":"` + p + `","title":"t","id":"task_mine0000000000000"}]}`, 400, "VALIDATION_ERROR", "tasks[0].id"},
			{"an item that is no object", `{"tasks":[` + good(0) + `,7]}`, 400, "VALIDATION_ERROR", "tasks[1]"},
			{"tasks not an array", `{"tasks":{"title":"t"}}`, 400, "VALIDATION_ERROR", "tasks"},
			{"unknown member", `{"task":[` + good(0) + `]}`, 400, "VALIDATION_ERROR", "task"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := env.REST("POST", batchPath, key, tc.body)
				inpCheckError(t, "REST", r, tc.status, tc.code, tc.field)
				if n := batTotal(t, c, ctx, ""); n != 0 {
					t.Fatalf("after a refused batch the workspace holds %d tasks, want 0", n)
				}
				if tc.status == 404 {
					if msg := r.JSON(t)["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "Project not found") {
						t.Errorf("message %q does not say what single create says", msg)
					}
				}
			})
		}
		// The other workspace's project stays as it was: nothing leaked in.
		if n := batTotal(t, c, env.Ctx(otherKey), foreign); n != 0 {
			t.Errorf("the foreign project holds %d tasks", n)
		}

		t.Run("gRPC", func(t *testing.T) {
			req := func(bad int, spoil func(*workspacev1.CreateTaskRequest)) *workspacev1.BatchCreateTasksRequest {
				r := &workspacev1.BatchCreateTasksRequest{}
				for i := range 5 {
					item := &workspacev1.CreateTaskRequest{ProjectId: p, Title: "g" + strconv.Itoa(i)}
					if i == bad {
						spoil(item)
					}
					r.Tasks = append(r.Tasks, item)
				}
				return r
			}
			_, err := c.tasks.BatchCreateTasks(ctx, req(3, func(r *workspacev1.CreateTaskRequest) { r.Title = " " }))
			batGRPCError(t, "blank title", err, codes.InvalidArgument, "VALIDATION_ERROR", "tasks[3].title")
			_, err = c.tasks.BatchCreateTasks(ctx, req(2, func(r *workspacev1.CreateTaskRequest) { r.ProjectId = foreign }))
			batGRPCError(t, "foreign project", err, codes.NotFound, "NOT_FOUND", "tasks[2].project_id")
			_, err = c.tasks.BatchCreateTasks(ctx, req(0, func(r *workspacev1.CreateTaskRequest) {
				r.DueAt = &timestamppb.Timestamp{Seconds: 1 << 62}
			}))
			batGRPCError(t, "due_at out of range", err, codes.InvalidArgument, "VALIDATION_ERROR", "tasks[0].due_at")
			if n := batTotal(t, c, ctx, ""); n != 0 {
				t.Errorf("after refused gRPC batches the workspace holds %d tasks, want 0", n)
			}
		})
	})
}

// TestBatchCreateLimits: 1 to 100 tasks. None, or 101, is a 400 naming
// tasks, on both surfaces; 1 and 100 are created.
func TestBatchCreateLimits(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		c := extNewClients(env)
		ctx := env.Ctx(key)
		p := c.mustProject(t, ctx, "limits").GetId()

		for _, body := range []string{`{"tasks":[]}`, `{}`, `{"tasks":null}`, batBody(p, "t", 101)} {
			what := body
			if len(what) > 40 {
				what = what[:40] + "…"
			}
			inpCheckError(t, what, env.REST("POST", batchPath, key, body), 400, "VALIDATION_ERROR", "tasks")
		}
		_, err := c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{})
		batGRPCError(t, "gRPC, no task", err, codes.InvalidArgument, "VALIDATION_ERROR", "tasks")
		over := &workspacev1.BatchCreateTasksRequest{}
		for i := range 101 {
			over.Tasks = append(over.Tasks, &workspacev1.CreateTaskRequest{ProjectId: p, Title: "t" + strconv.Itoa(i)})
		}
		_, err = c.tasks.BatchCreateTasks(ctx, over)
		batGRPCError(t, "gRPC, 101 tasks", err, codes.InvalidArgument, "VALIDATION_ERROR", "tasks")
		if n := batTotal(t, c, ctx, ""); n != 0 {
			t.Fatalf("after refused batches: %d tasks, want 0", n)
		}

		if got := batTasks(t, "one task", env.REST("POST", batchPath, key, batBody(p, "one", 1))); len(got) != 1 {
			t.Errorf("one task: %d created", len(got))
		}
		got := batTasks(t, "100 tasks", env.REST("POST", batchPath, key, batBody(p, "hundred", 100)))
		if len(got) != 100 {
			t.Fatalf("100 tasks: %d created", len(got))
		}
		for i, task := range got {
			if task["title"] != "hundred"+strconv.Itoa(i) {
				t.Fatalf("task %d of 100 is %v: out of order", i, task["title"])
			}
		}
		resp, err := c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{Tasks: over.Tasks[:100]})
		if err != nil || len(resp.GetTasks()) != 100 {
			t.Fatalf("gRPC, 100 tasks: %d, %v", len(resp.GetTasks()), err)
		}
		if n := batTotal(t, c, ctx, ""); n != 201 {
			t.Errorf("the workspace holds %d tasks, want 201", n)
		}
	})
}

// TestBatchCreateCountsOnce: a batch is one request against the rate limit,
// however many tasks it holds, on both surfaces; on the free plan (60 a
// minute) a batch of 100 is one of the 60.
func TestBatchCreateCountsOnce(t *testing.T) {
	env := servertest.Start(t)
	_, key := env.NewWorkspace(ratelimit.Free.Name, "admin")
	c := extNewClients(env)
	ctx := env.Ctx(key)
	p := c.mustProject(t, ctx, "quota").GetId() // request 1
	remaining := func(r *servertest.Response) int {
		t.Helper()
		n, err := strconv.Atoi(r.Header.Get("X-RateLimit-Remaining"))
		if err != nil {
			t.Fatalf("X-RateLimit-Remaining %q: %v", r.Header.Get("X-RateLimit-Remaining"), err)
		}
		return n
	}
	before := remaining(env.REST("GET", "/v1/workspace", key, "")) // request 2
	if before != 58 {
		t.Fatalf("after 2 requests: %d remaining, want 58", before)
	}
	r := env.REST("POST", batchPath, key, batBody(p, "q", 100))
	batTasks(t, "batch of 100", r)
	if got := remaining(r); got != 57 {
		t.Errorf("a batch of 100: %d remaining, want 57", got)
	}
	var header metadata.MD
	items := make([]*workspacev1.CreateTaskRequest, 100)
	for i := range items {
		items[i] = &workspacev1.CreateTaskRequest{ProjectId: p, Title: "g"}
	}
	if _, err := c.tasks.BatchCreateTasks(ctx, &workspacev1.BatchCreateTasksRequest{Tasks: items}, grpc.Header(&header)); err != nil {
		t.Fatalf("gRPC batch: %v", err)
	}
	if got := header.Get("x-ratelimit-remaining"); len(got) != 1 || got[0] != "56" {
		t.Errorf("gRPC batch of 100: remaining %v, want 56", got)
	}
	// The workspace's usage says the same: 4 requests, 200 tasks.
	usage := env.REST("GET", "/v1/workspace", key, "") // request 5
	if got := remaining(usage); got != 55 {
		t.Errorf("after 5 requests: %d remaining, want 55", got)
	}
	if n := batTotal(t, c, ctx, ""); n != 200 {
		t.Errorf("%d tasks, want 200", n)
	}
}

// TestBatchCreateIdempotent: a batch sent again with its Idempotency-Key gets
// the first response again, marked Idempotent-Replayed, and creates nothing
// twice; the key with another batch is a 422; a gRPC retry gets the same
// tasks.
func TestBatchCreateIdempotent(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
		c := extNewClients(env)
		ctx := env.Ctx(key)
		p := c.mustProject(t, ctx, "import").GetId()

		body := batBody(p, "import", 10)
		first := env.REST("POST", batchPath, key, body, "Idempotency-Key", "import-1")
		tasks := batTasks(t, "first", first)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("first answer marked replayed: %v", first.Header)
		}
		for i := range 2 {
			env.Clock.Advance(time.Second)
			again := env.REST("POST", batchPath, key, strings.ReplaceAll(body, ",", " , "), "Idempotency-Key", "import-1")
			if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry %d: %d %v %s, want the first 201 replayed", i, again.Status, again.Header, again.Body)
			}
		}
		if n := batTotal(t, c, ctx, ""); n != 10 {
			t.Errorf("after a batch of 10 and 2 retries: %d tasks, want 10", n)
		}

		r := env.REST("POST", batchPath, key, batBody(p, "other", 10), "Idempotency-Key", "import-1")
		idxCheckError(t, "same key, another batch", r, 422, "IDEMPOTENCY_KEY_REUSED")

		items := make([]*workspacev1.CreateTaskRequest, 10)
		for i := range items {
			items[i] = &workspacev1.CreateTaskRequest{ProjectId: p, Title: "import" + strconv.Itoa(i)}
		}
		var header metadata.MD
		resp, err := c.tasks.BatchCreateTasks(metadata.AppendToOutgoingContext(ctx, "idempotency-key", "import-1"),
			&workspacev1.BatchCreateTasksRequest{Tasks: items}, grpc.Header(&header))
		if err != nil {
			t.Fatalf("gRPC retry of the REST batch: %v", err)
		}
		for i, task := range resp.GetTasks() {
			if task.GetId() != tasks[i]["id"] {
				t.Errorf("gRPC retry: task %d is %s, want %s", i, task.GetId(), tasks[i]["id"])
			}
		}
		if v := header.Get("idempotent-replayed"); len(v) != 1 || v[0] != "true" {
			t.Errorf("gRPC replay header metadata: %v", header)
		}

		// A refused batch leaves its key free for the corrected one.
		bad := env.REST("POST", batchPath, key, `{"tasks":[{"project_id":"`+p+`","title":""}]}`, "Idempotency-Key", "import-2")
		inpCheckError(t, "invalid batch", bad, 400, "VALIDATION_ERROR", "tasks[0].title")
		batTasks(t, "corrected batch under the same key", env.REST("POST", batchPath, key, batBody(p, "fixed", 2), "Idempotency-Key", "import-2"))
		if n := batTotal(t, c, ctx, ""); n != 12 {
			t.Errorf("%d tasks, want 12", n)
		}
	})
}
