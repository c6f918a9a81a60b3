package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// Item 2: every time RFC 3339 writes, years 0001 to 9999, is stored and
// given back unchanged by both backends — on task create and update, on key
// create — where SQLite, counting int64 nanoseconds, answered 500 outside
// 1677-09-21…2262-04-11.
func TestTimesAcrossTheRFC3339Range(t *testing.T) {
	times := []string{
		"0001-01-01T00:00:00Z",
		"1600-02-29T12:00:00Z", // a leap day of the proleptic Gregorian calendar
		"1677-09-21T00:12:43Z", // just before int64 nanoseconds begin
		"1969-12-31T23:59:59Z", // before the epoch
		"2262-04-11T23:47:17Z", // just after int64 nanoseconds end
		"2300-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
	}
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise) // more requests than a free minute allows
		key := env.AdminKey
		pid := inpData(t, "create project", env.REST("POST", "/v1/projects", key, `{"name":"Dates"}`), 201)["id"].(string)
		dueAt := map[string]string{} // task id → the due_at it must have
		for i, at := range times {
			task := inpData(t, "create with due_at "+at,
				env.REST("POST", "/v1/tasks", key, `{"project_id":"`+pid+`","title":"t","due_at":"`+at+`"}`), 201)
			id := task["id"].(string)
			if task["due_at"] != at {
				t.Errorf("create with due_at %s answered due_at %v", at, task["due_at"])
			}
			if got := inpData(t, "get", env.REST("GET", "/v1/tasks/"+id, key, ""), 200)["due_at"]; got != at {
				t.Errorf("task created with due_at %s reads back %v", at, got)
			}
			// Updates move it to another time of the range, by PUT and by PATCH.
			next := times[(i+1)%len(times)]
			method := []string{"PUT", "PATCH"}[i%2]
			got := inpData(t, method+" due_at "+next,
				env.REST(method, "/v1/tasks/"+id, key, `{"due_at":"`+next+`"}`), 200)["due_at"]
			if got != next {
				t.Errorf("%s due_at %s answered due_at %v", method, next, got)
			}
			dueAt[id] = next
		}
		list := env.REST("GET", "/v1/tasks?project_id="+pid+"&limit=100", key, "")
		if list.Status != 200 {
			t.Fatalf("list: %d %s", list.Status, list.Body)
		}
		for _, v := range list.JSON(t)["data"].([]any) {
			task := v.(map[string]any)
			if want := dueAt[task["id"].(string)]; task["due_at"] != want {
				t.Errorf("listed task %s has due_at %v, want %s", task["id"], task["due_at"], want)
			}
		}

		// A key may expire at any future time of the range, and works until then.
		for _, at := range []string{"2262-04-11T23:47:17Z", "2300-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
			k := inpData(t, "create key expiring "+at,
				env.REST("POST", "/v1/api-keys", key, `{"name":"far","scopes":["read"],"expires_at":"`+at+`"}`), 201)
			if k["expires_at"] != at {
				t.Errorf("key created with expires_at %s answered %v", at, k["expires_at"])
			}
			if r := env.REST("GET", "/v1/projects", k["key"].(string), ""); r.Status != 200 {
				t.Errorf("key expiring %s: GET /v1/projects %d %s", at, r.Status, r.Body)
			}
		}
		keys := env.REST("GET", "/v1/api-keys?limit=100", key, "")
		if keys.Status != 200 || !strings.Contains(string(keys.Body), `"expires_at":"9999-12-31T23:59:59Z"`) {
			t.Errorf("key list: %d %s, want the key expiring in 9999", keys.Status, keys.Body)
		}

		// gRPC reaches the same store through the same code.
		tasks := workspacev1.NewTaskServiceClient(env.Conn)
		ctx := env.Ctx(key)
		for _, at := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
			created, err := tasks.CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: pid, Title: "g", DueAt: timestamppb.New(at)})
			if err != nil {
				t.Fatalf("gRPC CreateTask due %s: %v", at, err)
			}
			got, err := tasks.GetTask(ctx, &workspacev1.GetTaskRequest{Id: created.GetTask().GetId()})
			if err != nil || !got.GetTask().GetDueAt().AsTime().Equal(at) {
				t.Errorf("gRPC task due %s reads back %v, %v", at, got.GetTask().GetDueAt(), err)
			}
		}
	})
}
